"""Keeps the details panel's Builds tab current with the template it shows.

The records come from the engine on request, not with every progress tick: they are asked for
when a template is shown, when its build starts, changes phase or ends, and every
``FOLLOW_MS`` while it runs and the tab is on screen (its layers' bytes and its log move). The
badge's words (phase, percentage, time left) go with a running record, which cannot estimate
them itself. Widgets here only show; the service does the asking.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer

from in10nt_desktop.ui.status_badge import badge_text

if TYPE_CHECKING:
    from in10nt_desktop.app.protocols import TemplatesCommands
    from in10nt_desktop.app.template_rows import TemplateRow
    from in10nt_desktop.ui.details_panel import DetailsPanel

FOLLOW_MS = 1000     # a running build's record is asked again this often while its Builds tab shows
CLOSE_RETRIES = 5    # a finished template's record still "building" is asked again this many times
CLOSE_WAIT_MS = 300


class BuildsFollower(QObject):
    def __init__(self, details: DetailsPanel, templates: TemplatesCommands, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._details = details
        self._templates = templates
        self._retries = 0
        self._follow = QTimer(self)
        self._follow.setInterval(FOLLOW_MS)
        self._follow.timeout.connect(self._on_follow)
        builds = details.builds
        templates.builds_loaded.connect(builds.show_records)
        templates.builds_loaded.connect(self._on_loaded)
        templates.build_log_loaded.connect(builds.show_log)
        builds.record_selected.connect(lambda tid, record: templates.load_build_log(
            tid, record.build_id, record.log_from, record.log_to))
        details.row_shown.connect(self._on_row)

    def _on_row(self, row: TemplateRow | None, previous: TemplateRow | None) -> None:
        builds = self._details.builds
        if row is None:
            builds.clear()
            self._follow.stop()
            return
        changed = previous is None or previous.template_id != row.template_id or previous.status != row.status \
            or previous.build_count != row.build_count or previous.phase != row.phase
        if changed:
            if previous is None or previous.template_id != row.template_id:
                builds.clear(row.template_id)
            self._templates.load_builds(row.template_id)
        builds.set_live(badge_text(row) if row.building else "")
        if not row.building:
            self._follow.stop()
        elif changed or not self._follow.isActive():
            # (Re)started: after a load here, the timer's next ask is FOLLOW_MS later, not a moment later.
            self._follow.start()

    def _on_follow(self) -> None:
        row = self._details.row
        if row is not None and row.building:
            self._details.builds.set_live(badge_text(row))  # its elapsed time moves even when the row does not
            if self._details.builds.isVisible():
                self._templates.load_builds(row.template_id)

    def _on_loaded(self, template_id: str, records: list[object]) -> None:
        """The engine closes a build's record a moment after the template's status changes: a record
        still "building" for a finished template is asked again shortly (a few times at most)."""
        row = self._templates.store.get(template_id)
        newest = records[0] if records else None
        if row is None or row.building or getattr(newest, "result", None) != "building":
            self._retries = 0
            return
        if self._retries < CLOSE_RETRIES:
            self._retries += 1
            QTimer.singleShot(CLOSE_WAIT_MS, self, lambda: self._templates.load_builds(template_id))

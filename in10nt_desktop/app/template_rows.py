"""The templates the window shows: compact rows, and the store that holds them by ID.

Rows (app/template_row.py) are built straight from the server's JSON, without pydantic. The
store keeps rows by template ID and never orders them: the table model owns the order
(ui/templates_model.py). It announces what happened, once per batch: rows ``added``, rows
``changed`` (as ``(old, new)`` pairs, so a status change repaints one cell), rows ``removed``,
or a ``reset``; and ``stale_changed`` when rows stopped (or started) being confirmed by the server.
``loading_changed`` tells when a list load starts and ends: while one runs, pages of rows arrive
many times a second, and the table may gather them (see ui/templates_model.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.app.template_row import TemplateRow, as_row

if TYPE_CHECKING:
    from in10nt_desktop.api import TemplateData

__all__ = ["TemplateRow", "TemplateStore", "as_row"]


class TemplateStore(QObject):
    reset = Signal()               # everything was replaced (or cleared)
    added = Signal(list)           # list[TemplateRow]: rows new to the store
    changed = Signal(list)         # list[tuple[TemplateRow, TemplateRow]]: (old, new) for rows replaced
    removed = Signal(list)         # list[TemplateRow]: rows gone
    stale_changed = Signal(bool)   # the store's flag (rows' own flags may have changed with it)
    loading_changed = Signal(bool)  # a list load started (True) or ended (False)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.by_id: dict[str, TemplateRow] = {}
        # Kept up to date at every write: the monitor and the window ask on each tick and change.
        self._building: set[str] = set()
        self.stale = False
        self.loaded = False
        self.loading = False  # a list load is running: rows arrive a page at a time

    def _track(self, row: TemplateRow) -> None:
        if row.status == "building":
            self._building.add(row.template_id)
        else:
            self._building.discard(row.template_id)

    # -- reading -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self.by_id

    def __iter__(self) -> Iterator[TemplateRow]:
        return iter(list(self.by_id.values()))

    @property
    def rows(self) -> list[TemplateRow]:
        """Every row, in no particular order (the table model owns the order)."""
        return list(self.by_id.values())

    def get(self, template_id: str) -> TemplateRow | None:
        return self.by_id.get(template_id)

    def names(self) -> set[str]:
        return {row.name for row in self.by_id.values()}

    def building_ids(self) -> list[str]:
        return sorted(self._building)

    @property
    def building_count(self) -> int:
        return len(self._building)

    @property
    def stalled_count(self) -> int:
        by_id = self.by_id
        return sum(1 for tid in self._building if by_id[tid].stalled)

    @property
    def queued_count(self) -> int:
        """Builds waiting for a slot (counted over the building rows only: few, even in a big list)."""
        by_id = self.by_id
        return sum(1 for tid in self._building if by_id[tid].phase == "queued")

    # -- writing -----------------------------------------------------------------------------------
    def replace_all(self, rows: Iterable[TemplateRow | TemplateData | Mapping[str, Any]], *, loaded: bool = True,
                    stale: bool = False) -> None:
        fresh = [as_row(r) for r in rows]
        for row in fresh:
            row.stale = stale
        self.by_id = {row.template_id: row for row in fresh}
        self._building = {row.template_id for row in fresh if row.status == "building"}
        self.loaded = loaded
        self.reset.emit()
        self.set_stale(stale)

    def clear(self) -> None:
        self.by_id, self._building, self.loaded = {}, set(), False
        self.reset.emit()

    def upsert(self, rows: Iterable[TemplateRow]) -> list[tuple[TemplateRow, TemplateRow]]:
        """Add new rows and replace those that changed; a row object the store already holds is left alone.

        Returns ``(old, new)`` for every row whose status changed (for build notifications).
        """
        by_id = self.by_id
        new: list[TemplateRow] = []
        changed: list[tuple[TemplateRow, TemplateRow]] = []
        refreshed = False
        building = self._building
        for row in rows:
            tid = row.template_id
            old = by_id.get(tid)
            if old is None:  # most rows of a first load: no comparison, nothing to untrack
                by_id[tid] = row
                new.append(row)
                if row.status == "building":
                    building.add(tid)
                continue
            if old is row:
                continue
            if old.same_as(row):
                if old.stale and not row.stale:
                    old.stale, refreshed = False, True
                continue
            by_id[tid] = row
            self._track(row)
            changed.append((old, row))
        if changed:
            self.changed.emit(changed)
        if new:
            self.added.emit(new)
        if refreshed:
            self.stale_changed.emit(self.stale)
        return [(old, row) for old, row in changed if old.status != row.status]

    def add(self, template: TemplateRow | TemplateData | Mapping[str, Any]) -> TemplateRow:
        row = as_row(template)
        self.upsert([row])
        return self.by_id[row.template_id]

    def merge(self, templates: Iterable[TemplateRow | TemplateData | Mapping[str, Any]], *,
              complete: bool) -> list[tuple[TemplateRow, TemplateRow]]:
        """Apply an answer; ``complete``: rows missing from it were deleted elsewhere."""
        rows = [as_row(t) for t in templates]
        transitions = self.upsert(rows)
        if complete:
            seen = {row.template_id for row in rows}
            self.remove_many([tid for tid in self.by_id if tid not in seen])
            self.loaded = True
            self.set_stale(False)
        return transitions

    def apply_status(self, info: Any) -> tuple[TemplateRow, TemplateRow] | None:
        """A ``/status`` answer (the SDK's ``StatusInfo``); returns ``(old, new)`` when the status changed."""
        old = self.by_id.get(info.template_id)
        if old is None:
            return None
        progress = (info.progress.current, info.progress.total) if info.progress is not None else None
        updated = info.updated_at.isoformat().replace("+00:00", "Z") if info.updated_at else None
        fresh = old.with_status(info.status, info.error, progress, updated, info.phase, info.queue_position)
        transitions = self.upsert([fresh])
        return transitions[0] if transitions else None

    def remove(self, template_id: str) -> bool:
        row = self.by_id.pop(template_id, None)
        if row is None:
            return False
        self._building.discard(template_id)
        self.removed.emit([row])
        return True

    def remove_many(self, template_ids: Iterable[str]) -> None:
        gone = [row for row in (self.by_id.pop(tid, None) for tid in template_ids) if row is not None]
        if gone:
            self._building.difference_update(row.template_id for row in gone)
            self.removed.emit(gone)

    def set_loading(self, loading: bool) -> None:
        if loading != self.loading:
            self.loading = loading
            self.loading_changed.emit(loading)

    def _mark(self, template_ids: Iterable[str], stale: bool) -> bool:
        """Set these rows' stale flags; True when any flipped."""
        flipped = False
        for template_id in template_ids:
            row = self.by_id.get(template_id)
            if row is not None and row.stale != stale:
                row.stale, flipped = stale, True
        return flipped

    def set_stale(self, stale: bool, ids: Iterable[str] | None = None) -> None:
        """Mark rows as not confirmed by the server lately (offline): badges say so, data stays.

        Without ``ids`` only the store's flag changes; with them, those rows' flags too.
        """
        flipped = ids is not None and self._mark(ids, stale)
        if stale != self.stale or flipped:
            self.stale = stale
            self.stale_changed.emit(stale)

    def refresh_stale(self, template_ids: Iterable[str]) -> None:
        """These rows were confirmed by an answer: drop their stale mark (one repaint for all)."""
        if self._mark(template_ids, False):
            self.stale_changed.emit(self.stale)

"""Container templates: the store the window shows, and the commands that change it.

Rows come only from the server (a list, a ``GET``, an event): an action never assumes what
happened, it waits for the answer. A template that was building and is now ``ready`` or
``failed`` is announced once through ``build_finished``, whichever way the news arrived.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import In10ntClient, In10ntError, NotFoundError, TemplateData
from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app.connection import Connection
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.errors import ErrorReporter
from in10nt_desktop.app.services import BulkResult, stale_for
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore

MAX_LOG_PAGES = 50  # a build log page is a few hundred lines: 50 is far beyond any real build


class TemplatesService(QObject):
    created = Signal(object)              # TemplateRow, created here
    build_finished = Signal(object)       # TemplateRow that went from building to ready or failed
    removed_elsewhere = Signal(str, str)  # template id, name: deleted by another client
    bulk_finished = Signal(str, object)   # what, BulkResult
    loaded = Signal()                     # a full list answer was applied
    builds_loaded = Signal(str, list)     # template id, list[BuildRecord] newest first ([] if the server keeps none)
    build_log_loaded = Signal(str, str, list)  # template id, build id, list[str] formatted lines
    rebuilt = Signal(object)              # TemplateRow: a rebuild started (same row, a new build)

    def __init__(self, connection: Connection, errors: ErrorReporter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self._errors = errors
        self.store = TemplateStore(self)
        self._deleting: set[str] = set()  # deletes asked here: their removal is not news from elsewhere
        connection.state_changed.connect(self._on_state)

    def _on_state(self, state: str, _sentence: str) -> None:
        self.store.set_stale(stale_for(state), [r.template_id for r in self.store.rows])

    def clear(self) -> None:
        self.store.clear()

    # -- what the server says --------------------------------------------------------------------
    def reload(self) -> None:
        self._c.spawn(self._reload(), name="templates")

    async def _reload(self) -> bool:
        try:
            templates = await self._c.call(lambda c: c.templates.list())
        except In10ntError as exc:
            self._errors.report(exc, "Loading templates")
            return False
        self.apply_list(templates)
        return True

    def apply_list(self, templates: Sequence[TemplateData]) -> None:
        """A complete list: rows missing from it were deleted elsewhere."""
        if not self.store.loaded:
            self.store.replace_all(templates)
        else:
            known = {r.template_id: r.name for r in self.store.rows}
            self._announce(self.store.merge(templates, complete=True))
            for template_id in set(known) - {t.template_id for t in templates} - self._deleting:
                self.removed_elsewhere.emit(template_id, known[template_id])
        self.store.set_stale(stale_for(self._c.state.value))
        self.loaded.emit()

    def apply(self, template: TemplateData) -> None:
        """One template as the server now has it (an event, a ``GET``)."""
        self._announce(self.store.merge([template], complete=False))

    def forget(self, template_id: str) -> None:
        """The server says the template is gone."""
        row = self.store.get(template_id)
        if row is not None and self.store.remove(template_id) and template_id not in self._deleting:
            self.removed_elsewhere.emit(template_id, row.name)

    def _announce(self, transitions: list[tuple[TemplateRow, TemplateRow]]) -> None:
        for old, new in transitions:
            if old.building and not new.building:
                self.build_finished.emit(new)

    # -- commands --------------------------------------------------------------------------------
    def create(self, draft: TemplateDraft) -> None:
        self._c.spawn(self._create(draft))

    async def _create(self, draft: TemplateDraft) -> None:
        try:
            auth = draft.registry_auth()
            template = await self._c.call(lambda c: c.templates.create(
                name=draft.name, image=draft.image, registry_type=draft.registry_type,
                description=draft.description, registry_auth=auth))
        except (In10ntError, FieldError) as exc:
            self._errors.report(exc, f"Creating {draft.name}")
            return
        row = self.store.add(template)
        self.created.emit(row)

    def delete(self, ids: Iterable[str]) -> None:
        self._c.spawn(self._delete(list(ids)))

    async def _delete(self, ids: list[str]) -> None:
        done, failed = [], []
        self._deleting.update(ids)
        try:
            for template_id in ids:  # keep going: one failure must not stop the rest
                row = self.store.get(template_id)
                label = row.name if row else template_id
                try:
                    await self._c.call(functools.partial(_delete_template, template_id=template_id))
                except NotFoundError as exc:
                    if row is None:  # never a row here: an ID nobody knows is an error, not a success
                        failed.append((label, str(exc)))
                        continue
                    # a row the user saw, deleted elsewhere meanwhile: gone is what was asked for
                except In10ntError as exc:
                    failed.append((label, str(exc)))
                    continue
                self.store.remove(template_id)
                done.append(label)
        finally:
            self._deleting.difference_update(ids)
        self.bulk_finished.emit("template", BulkResult(done, failed))

    # -- build history (the local engine's records; the hosted service has none) -----------------
    def load_builds(self, template_id: str) -> None:
        self._c.spawn(self._load_builds(template_id), name="builds")

    async def _load_builds(self, template_id: str) -> None:
        try:
            records = await self._c.call(lambda c: c.templates.builds(template_id))
        except NotFoundError:
            records = []  # a server without build records (or the template went): nothing to show
        except In10ntError as exc:
            self._errors.report(exc, "Loading the build history")
            return
        self.builds_loaded.emit(template_id, list(records))

    def load_build_log(self, template_id: str, build_id: str, log_from: int, log_to: int | None) -> None:
        self._c.spawn(self._load_build_log(template_id, build_id, log_from, log_to), name="build-log")

    async def _load_build_log(self, template_id: str, build_id: str, log_from: int, log_to: int | None) -> None:
        lines: list[str] = []
        after = max(0, log_from - 1)
        for _ in range(MAX_LOG_PAGES):  # bounded: a log is read in pages, at most this many
            try:
                page = await self._c.call(lambda c, a=after: c.templates.logs(template_id, a))  # type: ignore[misc]
            except In10ntError as exc:
                lines.append(f"(the log could not be read: {exc})")
                break
            for line in page.lines:
                if log_to is not None and line.n > log_to:
                    break
                lines.append(f"{line.at.astimezone():%H:%M:%S}  {line.text}" if line.at else line.text)
            if not page.lines or page.next == after or (log_to is not None and page.next >= log_to):
                break
            after = page.next
        self.build_log_loaded.emit(template_id, build_id, lines)

    def rebuild(self, template_id: str, draft: TemplateDraft | None = None) -> None:
        """Build the same template again (same ID, a new record); ``draft`` carries credentials when needed."""
        self._c.spawn(self._rebuild(template_id, draft))

    async def _rebuild(self, template_id: str, draft: TemplateDraft | None) -> None:
        row = self.store.get(template_id)
        label = row.name if row is not None else template_id
        try:
            auth = draft.registry_auth() if draft is not None else None
            template = await self._c.call(lambda c: c.templates.rebuild(template_id, registry_auth=auth))
        except (In10ntError, FieldError) as exc:
            self._errors.report(exc, f"Rebuilding {label}")
            if isinstance(exc, NotFoundError):
                self.forget(template_id)
            return
        self.apply(template)
        fresh = self.store.get(template_id)
        if fresh is not None:
            self.rebuilt.emit(fresh)

    def check_gone(self, template_id: str) -> None:
        """An action met "not found" for this template: ask the server, and drop the row if so."""
        self._c.spawn(self._check_gone(template_id))

    async def _check_gone(self, template_id: str) -> None:
        try:
            template = await self._c.call(lambda c: c.templates.get(template_id))
        except NotFoundError:
            self.forget(template_id)
            return
        except In10ntError:
            return
        self.apply(template)


async def _delete_template(client: In10ntClient, template_id: str) -> None:
    await client.templates.delete(template_id)

"""Container templates: the store the window shows, and the commands that change it.

Rows come only from the server (a list, a ``GET``, an event): an action never assumes what
happened, it waits for the answer. A template that was building and is now ``ready`` or
``failed`` is announced once through ``build_finished``, whichever way the news arrived.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import In10ntError, NotFoundError
from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app.connection import Connection
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.errors import ErrorReporter
from in10nt_desktop.app.services import BulkResult, stale_for
from in10nt_desktop.app.template_loader import TemplateLoader, Transitions
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore, as_row

if TYPE_CHECKING:  # the window paints before httpx and pydantic are loaded
    from in10nt_desktop.api import In10ntClient, TemplateData

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
    page_loaded = Signal(int)             # a page of the list was applied: the rows now held

    def __init__(self, connection: Connection, errors: ErrorReporter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self._errors = errors
        self.store = TemplateStore(self)
        self.loader = TemplateLoader(self.store, connection.call)
        self._deleting: set[str] = set()  # deletes asked here: their removal is not news from elsewhere
        connection.state_changed.connect(self._on_state)

    def _on_state(self, state: str, _sentence: str) -> None:
        stale = stale_for(state)
        if stale != self.store.stale:
            self.store.set_stale(stale, list(self.store.by_id))

    def clear(self) -> None:
        self.loader.forget()
        self.store.clear()

    def show_cached(self, rows: Sequence[TemplateRow]) -> None:
        """The last session's rows, shown stale until the server answers (an empty store only)."""
        if not len(self.store):
            self.store.replace_all(rows, loaded=False, stale=True)

    # -- what the server says --------------------------------------------------------------------
    def reload(self, then: Callable[[], None] | None = None) -> None:
        """Load the list; ``then`` runs once the first page is on screen (or the load failed)."""
        self._c.spawn(self.load(then), name="templates")

    async def load(self, then: Callable[[], None] | None = None) -> bool:
        """Load the list (paged, see app/template_loader.py); False when the server could not be asked."""
        try:
            await self.load_list(then)
        except In10ntError as exc:
            self._errors.report(exc, "Loading templates")
            return False
        return True

    async def load_list(self, then: Callable[[], None] | None = None) -> None:
        """``load`` for callers that handle the failure themselves (the polling monitor backs off)."""
        known = {tid: row.name for tid, row in self.store.by_id.items()} if self.store.loaded else {}

        def on_page(number: int) -> None:
            self.page_loaded.emit(len(self.store))
            if number == 0 and then is not None:
                then()

        try:
            gone = await self.loader.load(self._announce, on_page)
        except In10ntError:
            if then is not None and not self.loader.told:  # failed: the rest is still worth asking for
                then()
            raise  # (cancelled: a reconnect or quitting; nothing more is started)
        for template_id in gone - self._deleting:
            if template_id in known:
                self.removed_elsewhere.emit(template_id, known[template_id])
        self.store.set_stale(stale_for(self._c.state.value))
        self.loaded.emit()

    def apply(self, template: TemplateRow | TemplateData | Mapping[str, Any]) -> None:
        """One template as the server now has it (an event, a ``GET``)."""
        row = as_row(template)
        self.loader.note_event(row.template_id)
        self._announce(self.store.upsert([row]))

    def forget(self, template_id: str) -> None:
        """The server says the template is gone."""
        self.loader.note_event(template_id)
        row = self.store.get(template_id)
        if row is not None and self.store.remove(template_id) and template_id not in self._deleting:
            self.removed_elsewhere.emit(template_id, row.name)

    def _announce(self, transitions: Transitions) -> None:
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
        self.loader.note_event(template.template_id)
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
                self.loader.note_event(template_id)
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

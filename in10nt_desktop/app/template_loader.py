"""Loading the template list into the store: in pages, cheaply when nothing changed, never stalling.

* **Pages.** The list is asked for newest first, ``PAGE_SIZE`` rows at a time (the local engine
  pages, ours; a server that ignores ``limit`` answers the whole list in one page). Each page is
  applied as it arrives, so the first screenful shows after one round trip, whatever the total.
* **Off the GUI thread.** Rows are built from the JSON in the SDK's worker thread, and compared
  there with the rows the store holds: a row that did not change comes back as the very object
  the store has, so applying a 10,000-row answer with 100 changes costs the GUI thread 100 row
  replacements and one identity check per row. A whole-list answer is applied ``APPLY_CHUNK``
  rows per turn of the event loop.
* **Unchanged answers.** Each page's validator (the server's ETag, or a hash of the body) is
  kept with the IDs it held; asked again, an unchanged page is a 304 or a hash compare, and
  nothing is parsed.
* **Events meanwhile.** A template that an event changed or deleted during the load keeps what
  the event said: the event is newer than, or as new as, any page (every write is published).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore

if TYPE_CHECKING:
    from in10nt_desktop.api import In10ntClient, TemplatePage

PAGE_SIZE = 1000     # rows per request: ~400 kB of JSON, parsed in a few ms
APPLY_CHUNK = 1000   # rows handed to the store (and the table) per turn of the event loop
Call = Callable[[Callable[["In10ntClient"], Awaitable[Any]]], Awaitable[Any]]
Transitions = list[tuple[TemplateRow, TemplateRow]]


@dataclass(frozen=True)
class PageMemo:
    """What a page said last time: asked again with its validator, an unchanged page costs nothing."""

    after: str | None
    validator: str | None
    ids: list[str]
    next: str | None


class _Reader:
    """Runs in the SDK's worker thread for a big page: builds each row and compares it there."""

    def __init__(self, by_id: dict[str, TemplateRow]) -> None:
        self._by_id = by_id   # only read here (a dict lookup is safe from another thread)
        self.ids: list[str] = []

    def __call__(self, item: dict[str, Any]) -> TemplateRow:
        row = TemplateRow.from_json(item)
        self.ids.append(row.template_id)
        old = self._by_id.get(row.template_id)
        return old if old is not None and old.same_as(row) else row


async def _read(client: In10ntClient, *, after: str | None, validator: str | None,
                reader: _Reader) -> TemplatePage[TemplateRow]:
    return await client.templates.list_page(limit=PAGE_SIZE, after=after, order="desc", if_none_match=validator,
                                            row=reader)


class TemplateLoader:
    """One load at a time; ``touched`` collects IDs that events changed while it runs."""

    def __init__(self, store: TemplateStore, call: Call) -> None:
        self._store = store
        self._call = call
        self._memo: list[PageMemo] = []
        self.touched: set[str] | None = None   # None: no load running
        self.told = False                       # the current load's first page was announced
        self._lock = asyncio.Lock()              # one load at a time (a reload and a poll may ask together)

    @property
    def loading(self) -> bool:
        return self.touched is not None

    def forget(self) -> None:
        """Another server, or the store was cleared: nothing remembered applies."""
        self._memo = []

    def note_event(self, template_id: str) -> None:
        if self.touched is not None:
            self.touched.add(template_id)

    async def load(self, on_transitions: Callable[[Transitions], None],
                   first_page: Callable[[], None] | None = None) -> set[str]:
        """Load the whole list; returns the IDs the server no longer has (already removed from the store).

        ``first_page`` is called once the first page is applied.
        """
        async with self._lock:
            self.touched, self.told = set(), False
            try:
                return await self._load(on_transitions, first_page)
            finally:
                self.touched = None

    async def _load(self, on_transitions: Callable[[Transitions], None],
                    first_page: Callable[[], None] | None) -> set[str]:
        known = set(self._store.by_id)
        seen: set[str] = set()
        memo: list[PageMemo] = []
        after: str | None = None
        while True:
            remembered = self._memo[len(memo)] if len(memo) < len(self._memo) else None
            if remembered is not None and remembered.after != after:
                remembered = None
            reader = _Reader(self._store.by_id)
            page = await self._call(functools.partial(
                _read, after=after, validator=remembered.validator if remembered else None, reader=reader))
            if page.not_modified and remembered is not None:
                ids, next_after = remembered.ids, remembered.next
            else:
                ids, next_after = reader.ids, page.next
                await self._apply(page.rows, on_transitions)
            seen.update(ids)
            if self._store.stale:
                self._store.refresh_stale(ids)
            memo.append(PageMemo(after, page.validator, ids, next_after))
            if not self.told:
                self.told = True
                if first_page is not None:
                    first_page()
            if next_after is None:
                break
            after = next_after
        touched = self.touched or set()
        gone = [tid for tid in known - seen if tid not in touched]
        self._store.remove_many(gone)
        self._memo = memo
        self._store.loaded = True
        self._store.set_stale(False)
        return set(gone)

    async def _apply(self, rows: list[TemplateRow], on_transitions: Callable[[Transitions], None]) -> None:
        store = self._store
        for start in range(0, len(rows), APPLY_CHUNK):
            if start:
                await asyncio.sleep(0)  # a whole-list answer: let the window paint between chunks
            touched = self.touched or set()
            chunk = rows[start:start + APPLY_CHUNK]
            by_id = store.by_id
            fresh = [row for row in chunk if by_id.get(row.template_id) is not row
                     and row.template_id not in touched]
            if fresh:
                transitions = store.upsert(fresh)
                if transitions:
                    on_transitions(transitions)

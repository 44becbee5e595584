"""Loading the template list into the store: in pages, cheaply when nothing changed, never stalling.

* **Pages.** The list is asked for newest first, ``PAGE_SIZE`` rows first (a few screenfuls: one
  short round trip), then ``NEXT_PAGE_SIZE`` at a time (the local engine pages, ours; a server that
  ignores ``limit`` answers the whole list in one page). Each page is applied as it arrives, so the
  first screenful shows after one round trip, whatever the total; the next page is asked for as
  soon as the current one's answer is in, before it is parsed (the server works meanwhile), and
  never more than one ahead.
* **In slices.** Rows are built from the JSON as the SDK reads it, a ~128 kB piece per turn of the
  event loop, and compared right there with the rows the store holds: a row that did not change comes
  back as the very object the store has, so applying a 10,000-row answer with 100 changes is 100
  row replacements and one identity check per row. A whole-list answer is applied
  ``APPLY_CHUNK`` rows per turn of the event loop.
* **Unchanged answers.** Each page's validator (the server's ETag, or a hash of the body) is
  kept with the IDs it held; asked again, an unchanged page is a 304 or a hash compare, and
  nothing is parsed.
* **No collector passes.** The cyclic garbage collector is paused while pages are read and
  applied (for ``COLLECTOR_PAUSE`` seconds at most): rows hold no reference cycles, but each new
  row counts towards its next pass, and with 100,000 rows its passes took ~15% of the load. A
  load makes no cyclic garbage (measured: none in 100,000 rows), and the collector resumes when
  it ends.
* **Events meanwhile.** A template that an event changed or deleted during the load keeps what
  the event said: the event is newer than, or as new as, any page (every write is published).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore

if TYPE_CHECKING:
    from in10nt_desktop.api import In10ntClient, TemplatePage

PAGE_SIZE = 200      # rows in the first request (~85 kB of JSON): the first screenfuls, after one short round trip
NEXT_PAGE_SIZE = 5000  # rows per later request: fewer round trips (each page is parsed in slices anyway)
APPLY_CHUNK = 1000   # rows handed to the store per turn (the table gathers them: see ui/templates_model.py)
FREEZE_ABOVE = 1000  # rows held: from here on, each applied page is moved out of the collector's sight
COLLECTOR_PAUSE = 5.0  # seconds: a load from a slow server lets the collector run again after this
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
    """Builds each row as the SDK reads the page, and compares it with the row the store holds."""

    def __init__(self, by_id: dict[str, TemplateRow]) -> None:
        self._by_id = by_id
        self.ids: list[str] = []
        self.kept = 0  # rows that came back as the store's own object (unchanged)

    def __call__(self, item: dict[str, Any]) -> TemplateRow:
        row = TemplateRow.from_json(item)
        self.ids.append(row.template_id)
        old = self._by_id.get(row.template_id)
        if old is not None and old.same_as(row):
            self.kept += 1
            return old
        return row


async def _read(client: In10ntClient, *, after: str | None, validator: str | None, reader: _Reader,
                on_next: Callable[[str | None], None]) -> TemplatePage[TemplateRow]:
    return await client.templates.list_page(limit=NEXT_PAGE_SIZE if after else PAGE_SIZE, after=after,
                                            order="desc", if_none_match=validator, row=reader, on_next=on_next)


Asked = tuple[str | None, "PageMemo | None", _Reader, "asyncio.Future[TemplatePage[TemplateRow]]"]


async def _drop(asked: Asked) -> None:
    """A page asked for that will not be applied: cancelled and waited for (its HTTP stream is closed
    while the loop still runs), or its failure retrieved (it says nothing the load did not)."""
    pending = asked[3]
    if not pending.done():
        pending.cancel()
        with contextlib.suppress(BaseException):
            await pending
    elif not pending.cancelled():
        pending.exception()


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

    async def idle(self) -> None:
        """Return once no load is running (or waiting to)."""
        async with self._lock:
            pass

    def forget(self) -> None:
        """Another server, or the store was cleared: nothing remembered applies."""
        self._memo = []

    def note_event(self, template_id: str) -> None:
        if self.touched is not None:
            self.touched.add(template_id)

    async def load(self, on_transitions: Callable[[Transitions], None],
                   on_page: Callable[[int], None] | None = None) -> set[str]:
        """Load the whole list; returns the IDs the server no longer has (already removed from the store).

        ``on_page`` is called with the page's number (0 first) once each page is applied.
        """
        async with self._lock:
            self.touched, self.told = set(), False
            self._store.set_loading(True)
            paused = gc.isenabled()
            gc.disable()
            try:
                return await self._load(on_transitions, on_page, paused)
            finally:
                self.touched = None
                if paused:
                    gc.enable()
                self._store.set_loading(False)

    async def _load(self, on_transitions: Callable[[Transitions], None],
                    on_page: Callable[[int], None] | None, paused: bool) -> set[str]:
        resume_at = asyncio.get_running_loop().time() + COLLECTOR_PAUSE
        known = set(self._store.by_id)
        seen: set[str] = set()  # the IDs held before that a page still lists (not every ID: 4 MB for 100,000)
        memo: list[PageMemo] = []
        # The next page is asked for as soon as the current page's answer is in (its cursor is in the
        # headers), so the server works while this one is parsed; one page ahead, never more.
        current = 0
        cursors: dict[int, str | None] = {}  # page -> the next page's cursor its answer gave
        ahead: dict[int, Asked] = {}
        closing = False

        def on_next(index: int, cursor: str | None) -> None:
            cursors[index] = cursor
            if index == current:
                ask_ahead()

        def ask_ahead() -> None:
            cursor = cursors.get(current)
            if cursor is not None and current + 1 not in ahead and not closing:
                ahead[current + 1] = self._ask(cursor, current + 1, on_next)

        asked = self._ask(None, 0, on_next)
        try:
            while True:
                after, remembered, reader, answer = asked
                page = await answer
                if page.not_modified and remembered is not None:
                    ids, next_after = remembered.ids, remembered.next
                else:
                    ids, next_after = reader.ids, page.next
                early = ahead.pop(current + 1, None)
                if early is not None and early[0] != next_after:  # asked with another cursor (a 304's header)
                    await _drop(early)
                    early = None
                if next_after is not None:  # the next page is on its way while this one is applied
                    asked = early or self._ask(next_after, current + 1, on_next)
                if ids is reader.ids:
                    await self._apply(page.rows, on_transitions, all_new=not reader.kept)
                seen.update(known.intersection(ids))
                if self._store.stale:
                    self._store.refresh_stale(ids)
                memo.append(PageMemo(after, page.validator, ids, next_after))
                self.told = True
                if on_page is not None:
                    on_page(len(memo) - 1)
                if paused and asyncio.get_running_loop().time() > resume_at:
                    gc.enable()  # a long load: what other code made meanwhile is collected again
                if next_after is None:
                    break
                current += 1
                ask_ahead()  # the next page's answer may be in already
        finally:
            # Stopped early (cancelled, or a page failed): the pages asked ahead are dropped.
            closing = True
            for pending in (asked, *ahead.values()):
                await _drop(pending)
        touched = self.touched or set()
        gone = [tid for tid in known - seen if tid not in touched]
        self._store.remove_many(gone)
        self._memo = memo
        self._store.loaded = True
        self._store.set_stale(False)
        return set(gone)

    def _ask(self, after: str | None, index: int, on_next: Callable[[int, str | None], None]) -> Asked:
        """Request page ``index`` (starting after ``after``), with what it said last time if that still applies."""
        remembered = self._memo[index] if index < len(self._memo) else None
        if remembered is not None and remembered.after != after:
            remembered = None
        reader = _Reader(self._store.by_id)
        answer = asyncio.ensure_future(self._call(functools.partial(
            _read, after=after, validator=remembered.validator if remembered else None, reader=reader,
            on_next=functools.partial(on_next, index))))
        return after, remembered, reader, answer

    async def _apply(self, rows: list[TemplateRow], on_transitions: Callable[[Transitions], None],
                     all_new: bool = False) -> None:
        """``all_new``: no row is the store's own object (a first load: no row to skip but those events touched)."""
        store = self._store
        for start in range(0, len(rows), APPLY_CHUNK):
            # The loop's turn before each chunk, the first too: the page before may have ended this
            # very turn (a page already read when asked for does not make ``await`` wait).
            await asyncio.sleep(0)
            touched = self.touched or set()
            chunk = rows[start:start + APPLY_CHUNK]
            by_id = store.by_id
            fresh = chunk if all_new and not touched else [
                row for row in chunk if by_id.get(row.template_id) is not row and row.template_id not in touched]
            if fresh:
                transitions = store.upsert(fresh)
                if transitions:
                    on_transitions(transitions)
        if len(store) >= FREEZE_ABOVE:
            # The rows just added go to the collector's permanent generation: its full passes never
            # walk them again. A full pass over 100,000 rows takes ~70 ms, and while they load one
            # would run every 25% of growth, stalling the window each time. Rows hold no reference
            # cycles (a reload leaves no cyclic garbage), so nothing frozen is garbage the collector
            # would have found; a row replaced or removed later is freed by reference counting.
            gc.freeze()

"""The build slots: at most N builds run at once, the others wait in order and know their place.

``asyncio.Semaphore`` would limit them, but it cannot say who waits where, and the window shows
"queued #3" so that a queued build stops looking like a running one. Positions are 1-based;
when a slot frees, every waiting build moves up and each one whose position changed is told,
once per loop turn (builds that end together renumber the queue once).

Told exactly for the first ``EXACT`` places; further back, only when the place has improved by a
tenth since last told. Telling every place on every move is quadratic — 1,000 queued builds made
~500,000 change events while the queue drained, burying the events that matter — while "queued
#812" against the true 790 changes nothing a user does; the place they see is never too good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

EXACT = 20       # places told exactly
IMPROVEMENT = 0.9  # further back: told again once the place is at most this fraction of the one told


class BuildQueue:
    def __init__(self, slots: int, on_position: Callable[[str, int], None]) -> None:
        self._free = slots
        self._on_position = on_position
        self._waiting: dict[str, asyncio.Future[None]] = {}  # in arrival order
        self._holding: set[str] = set()
        self._told: dict[str, int] = {}
        self._renumber: asyncio.Handle | None = None

    def enter(self, tid: str) -> int | None:
        """Takes a free slot (None) or joins the queue (its position). Synchronous: decided on arrival."""
        if self._free > 0 and not self._waiting:
            self._free -= 1
            self._holding.add(tid)
            return None
        self._waiting[tid] = asyncio.get_running_loop().create_future()
        self._told[tid] = position = len(self._waiting)
        return position

    def position(self, tid: str) -> int | None:
        return self._told.get(tid)

    async def wait(self, tid: str) -> None:
        """Returns once ``tid`` holds a slot; ``enter`` came first."""
        future = self._waiting.get(tid)
        if future is None:
            return
        try:
            await future
        except asyncio.CancelledError:
            if not future.cancelled():  # given a slot at the very moment it was cancelled: pass it on
                self.leave(tid)
            raise

    def leave(self, tid: str) -> None:
        """``tid`` is done (or cancelled): its slot goes to the first in line, or its place in line is freed.

        Idempotent, so the build task's done-callback can call it whatever happened before.
        """
        if self._waiting.pop(tid, None) is not None:
            self._told.pop(tid, None)
            self._schedule_renumber()
            return
        if tid not in self._holding:
            return
        self._holding.discard(tid)
        while self._waiting:
            first = next(iter(self._waiting))
            future = self._waiting.pop(first)
            self._told.pop(first, None)
            if not future.done():
                self._holding.add(first)
                future.set_result(None)
                self._schedule_renumber()
                return
        self._free += 1

    def _schedule_renumber(self) -> None:
        if self._renumber is None:
            self._renumber = asyncio.get_running_loop().call_soon(self._tell_positions)

    def _tell_positions(self) -> None:
        self._renumber = None
        for position, tid in enumerate(self._waiting, 1):
            told = self._told.get(tid)
            if told == position:
                continue
            if told is not None and position > EXACT and position > told * IMPROVEMENT:
                continue  # far back and barely moved: the place told stays a fair estimate
            self._told[tid] = position
            self._on_position(tid, position)

    def close(self) -> None:
        """Shutdown: nobody is told anything any more."""
        if self._renumber is not None:
            self._renumber.cancel()
            self._renumber = None
        self._on_position = lambda _tid, _position: None

"""The engine's change feed: one numbered event per change, kept in a bounded ring, read by any number of clients.

Every subscriber is a cursor into the one shared ring, not a queue of its own: publishing costs
one encode and one append whatever the number of clients, and a client that stops reading holds
nothing but its cursor. A client that falls so far behind that its next event has left the ring
(or resumes with an id the ring no longer holds, or one from another engine process) gets a
``reset`` and goes on from the newest id: it must re-list. Memory is bounded by the ring
(``capacity`` events and ``max_bytes`` of encoded frames, whichever is reached first).

Ids are per process and start at a base taken from the clock (milliseconds times 1000), so an id
handed out by an earlier engine process is below this one's range and gets a ``reset``. Two
processes' ranges could only overlap if the earlier one had published a million events per
second of its uptime. Each stream opens with an ``id:`` line alone, naming the position it starts
from, so that every client has an id to resume from.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from itertools import islice
from typing import Any

TEMPLATE_CREATED, TEMPLATE_CHANGED, TEMPLATE_DELETED = "template.created", "template.changed", "template.deleted"
SAVED_CREATED, SAVED_DELETED = "saved_template.created", "saved_template.deleted"
INSTANCE_CREATED, INSTANCE_CHANGED, INSTANCE_DELETED = "instance.created", "instance.changed", "instance.deleted"
RESET = "reset"
EVENT_TYPES = (TEMPLATE_CREATED, TEMPLATE_CHANGED, TEMPLATE_DELETED, SAVED_CREATED, SAVED_DELETED,
               INSTANCE_CREATED, INSTANCE_CHANGED, INSTANCE_DELETED, RESET)

DEFAULT_CAPACITY = 10_000
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_BATCH_BYTES = 64 * 1024  # one write to a client that fell behind: large enough to catch up, small enough to pace
_MAX_ID_TEXT = 32  # a Last-Event-ID longer than this is not one of ours


def _frame(event_id: int, event: str, data: bytes) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event_id, event.encode(), data)


class EventBus:
    """Owned by the engine app; ``publish`` may be called from any thread."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.capacity, self.max_bytes = capacity, max_bytes
        self.base_id = time.time_ns() // 1_000_000 * 1000
        self.latest_id = self.base_id
        self._ring: deque[tuple[int, bytes]] = deque()
        self._bytes = 0
        self._signal = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._closed = False
        self.clients = 0

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called on the loop that serves the clients; publications from other threads are handed to it."""
        self._loop, self._thread = loop, threading.get_ident()

    def close(self) -> None:
        """Ends every subscriber's stream (engine shutdown)."""
        self._closed = True
        self._wake()

    @property
    def buffered(self) -> int:
        return len(self._ring)

    @property
    def oldest_id(self) -> int:
        return self._ring[0][0] if self._ring else self.latest_id + 1

    # -- publishing ---------------------------------------------------------------------------------
    def publish(self, event: str, data: dict[str, Any]) -> None:
        payload = json.dumps(data, separators=(",", ":")).encode()  # encoded now: the caller may change data
        if self._loop is not None and threading.get_ident() != self._thread:
            with contextlib.suppress(RuntimeError):  # the loop has closed (shutdown): nobody is listening
                self._loop.call_soon_threadsafe(self._append, event, payload)
        else:
            self._append(event, payload)

    def _append(self, event: str, payload: bytes) -> None:
        self.latest_id += 1
        frame = _frame(self.latest_id, event, payload)
        self._ring.append((self.latest_id, frame))
        self._bytes += len(frame)
        while len(self._ring) > 1 and (len(self._ring) > self.capacity or self._bytes > self.max_bytes):
            self._bytes -= len(self._ring.popleft()[1])
        self._wake()

    def _wake(self) -> None:
        signal, self._signal = self._signal, asyncio.Event()
        signal.set()

    # -- reading ------------------------------------------------------------------------------------
    def resume_point(self, last_event_id: str | None) -> int | None:
        """The first id a client resuming after ``last_event_id`` should get, or None: it needs a ``reset``.

        No id: from now on. An id this process handed out whose successor is still in the ring:
        right after it. Anything else (too old, from another engine process, not a number): reset.
        """
        if last_event_id is None or not last_event_id.strip():
            return self.latest_id + 1
        text = last_event_id.strip()
        if len(text) > _MAX_ID_TEXT or not text.isdigit():
            return None
        after = int(text)
        if self.oldest_id - 1 <= after <= self.latest_id:
            return after + 1
        return None

    def _reset(self) -> tuple[bytes, int]:
        latest = self.latest_id
        return _frame(latest, RESET, json.dumps({"latestId": latest}).encode()), latest + 1

    def _read(self, cursor: int) -> tuple[bytes, int] | None:
        """Frames from ``cursor`` on (at most ``MAX_BATCH_BYTES``, at least one), or None if it left the ring."""
        if cursor < self.oldest_id:
            return None
        count = self.latest_id - cursor + 1
        frames = list(islice(reversed(self._ring), count))  # the newest ``count``, walked from the near end
        frames.reverse()
        out: list[bytes] = []
        size = 0
        for event_id, frame in frames:
            if out and size + len(frame) > MAX_BATCH_BYTES:
                break
            out.append(frame)
            size += len(frame)
            cursor = event_id + 1
        return b"".join(out), cursor

    async def stream(self, start: int | None) -> AsyncIterator[bytes]:
        """SSE frames for one client from ``start`` (None: a ``reset`` first) until the engine stops.

        The generator's ``finally`` runs when the client goes away (the response task is
        cancelled), which is what frees the subscriber.
        """
        self.clients += 1
        try:
            cursor = start
            if cursor is not None:
                # An ``id:`` line alone sets the client's last event id without an event (SSE spec): a
                # client that saw no event yet still has an id to resume from after a drop.
                yield b"id: %d\n\n" % (cursor - 1)
            while not self._closed:
                signal = self._signal
                if cursor is None:
                    frame, cursor = self._reset()
                    yield frame
                    continue
                if cursor <= self.latest_id:
                    chunk = self._read(cursor)
                    if chunk is None:  # fell behind by more than the ring: what it missed is gone
                        cursor = None
                        continue
                    data, cursor = chunk
                    yield data
                    continue
                await signal.wait()
        finally:
            self.clients -= 1

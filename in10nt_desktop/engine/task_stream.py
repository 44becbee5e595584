"""``POST /instances/{id}/run`` with ``Accept: text/event-stream``: a task's output as it is printed.

The stream is ``output`` events, each ``{"text": "…"}`` (new output, decoded as UTF-8 across chunk
boundaries, so a character split between two reads is never mangled), then exactly one ``result``
event (the object the plain answer would have been) or, when the task failed after it started,
one ``error`` event (``{"status": N, "error": {"code", "message"}}``), and the stream ends.

Bounds: at most one ``output`` event per ``INTERVAL`` per task, each event's data at most
``EVENT_BYTES``. A reader that falls more than the task's output cap (1 MB) behind loses the oldest
unsent bytes, and one line in the output says how many. The task is the engine's, not the
stream's: a client that leaves stops nothing (the timeout still does, and so does engine shutdown).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from sse_starlette import ServerSentEvent

from in10nt_desktop.engine.instance_rows import InstanceError
from in10nt_desktop.engine.task_runs import OUTPUT_LIMIT, OutputTap

EVENT_BYTES = 64 * 1024  # an output event's data (UTF-8 JSON), at most
INTERVAL = 0.05  # seconds between two output events of one task, at least
PING = 15.0  # a comment line when the task prints nothing for this long, so clients know the line is alive
_READ = 16 * 1024  # raw bytes decoded at a time: JSON may grow them up to 6 times (control characters)
EVENT_STREAM = "text/event-stream"
_MAX_DRAINS = 2 * OUTPUT_LIMIT // _READ + 2
TASK_STREAM_NOTE = (
    "With `Accept: text/event-stream` (this engine's extension) the answer is a stream instead: `output` events "
    f"`{{\"text\": …}}` with the output as it is printed (at most one per {INTERVAL * 1000:g} ms, each at most "
    f"{EVENT_BYTES // 1024} KiB), then one `result` "
    "event with the object above (or one `error` event `{status, error}` if the task failed after it started), "
    "and the stream ends. Errors before the task runs are answered as JSON with their status either way. A client "
    "that leaves the stream does not stop the task.")


def wants_stream(accept: str | None) -> bool:
    """True when the ``Accept`` header lists ``text/event-stream`` (with a q above 0)."""
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() != EVENT_STREAM:
            continue
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                with contextlib.suppress(ValueError):
                    if float(value) <= 0:
                        break
        else:
            return True
    return False


def _data(text: str) -> str:
    return json.dumps({"text": text}, ensure_ascii=False, separators=(",", ":"))


def _cut(text: str) -> tuple[str, str]:
    """The longest head of ``text`` whose event data fits ``EVENT_BYTES``, and the rest."""
    n = len(text)
    while n > 1:
        size = len(_data(text[:n]).encode())
        if size <= EVENT_BYTES:
            break
        n = max(1, n * EVENT_BYTES // size - 16)
    return text[:n], text[n:]


def _lead(before: str) -> str:
    """A newline to end a partial line before an engine note (none after a whole line or nothing)."""
    return "" if not before or before.endswith("\n") else "\n"


def _skipped(dropped: int, after: str) -> str:
    return (f"{_lead(after)}[in10nt: {dropped:,} bytes of output were not streamed: the task printed faster than they "
            f"could be sent, and the engine holds at most the last {OUTPUT_LIMIT // 1_000_000} MB]\n")


class _Reader:
    """Turns a tap's bytes into text pieces: incremental UTF-8, and a line where bytes were dropped."""

    def __init__(self, tap: OutputTap) -> None:
        self._tap = tap
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.last = ""  # the last text handed out, to end a partial line before a note

    def read(self, ended: bool) -> str:
        """What arrived since the last read (at most ``_READ`` bytes of it); ``ended``: the task printed its last."""
        data, dropped = self._tap.take(_READ)
        final = ended and len(data) < _READ  # nothing more will come: flush a character cut short
        text = ""
        if dropped:
            # The bytes that were kept start anywhere: a new decoder, from the next character's first byte.
            text = self._decoder.decode(b"", final=True)
            self._decoder.reset()
            text += _skipped(dropped, text or self.last)
            start = 0
            while start < len(data) and start < 4 and data[start] & 0xC0 == 0x80:
                start += 1
            data = data[start:]
        return text + self._decoder.decode(data, final=final)


async def task_events(tap: OutputTap, work: asyncio.Future[dict[str, Any]],
                      error_of: Callable[[BaseException], InstanceError]) -> AsyncIterator[ServerSentEvent]:
    """The events of one running task (see the module's docstring); ``work`` is the task's run.

    The engine's closing lines (timeout …) are the last output, as they end the result's output.
    """
    loop = asyncio.get_running_loop()
    arrived = asyncio.Event()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody reads any more
            loop.call_soon_threadsafe(arrived.set)

    tap.wake = wake
    work.add_done_callback(lambda _work: arrived.set())
    reader = _Reader(tap)
    text = ""
    drains = 0  # reads after the task ended: bounded, as processes it left behind may still print
    try:
        while True:
            ended = work.done()  # read before taking: once it is done, what it printed is in the tap
            if not text:
                arrived.clear()
                text = reader.read(ended)
                drains += ended
                if (not text and ended) or drains > _MAX_DRAINS:
                    break
            if text:
                piece, text = _cut(text)
                reader.last = piece
                yield ServerSentEvent(_data(piece), event="output")
                await asyncio.sleep(INTERVAL)
            else:
                await arrived.wait()
        if not work.cancelled() and work.exception() is None and (closing := tap.notes.lstrip("\n")):
            yield ServerSentEvent(_data(_lead(reader.last) + closing), event="output")
        yield _end(work, error_of)
    finally:
        tap.close()


def _end(work: asyncio.Future[dict[str, Any]], error_of: Callable[[BaseException], InstanceError]) -> ServerSentEvent:
    if work.cancelled():
        return _error(InstanceError(503, "engine_stopping", "The engine stopped, and the task was stopped with it."))
    failure = work.exception()
    if failure is not None:
        return _error(error_of(failure))
    return ServerSentEvent(json.dumps(work.result(), separators=(",", ":")), event="result")


def _error(exc: InstanceError) -> ServerSentEvent:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    return ServerSentEvent(json.dumps({"status": exc.status, "error": body}, separators=(",", ":")), event="error")

"""The engine's task stream (engine/task_stream.py) fed by the task's real output object, with the output
thread played by direct feeds: coalescing, the 64 KiB bound, UTF-8 split across chunks, the line for
dropped bytes, the closing notes and the end events. The real engine and Podman are in
tests/engine/test_task_streams.py; these are the bounds no shell task hits reliably.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sse_starlette import ServerSentEvent

from in10nt_desktop.engine import task_stream
from in10nt_desktop.engine.instance_rows import InstanceError
from in10nt_desktop.engine.task_runs import _Output
from in10nt_desktop.engine.task_stream import EVENT_BYTES, task_events, wants_stream


def _error_of(exc: BaseException) -> InstanceError:
    return InstanceError(500, "internal_error", f"failed: {exc}")


def _started(limit: int = 1_000_000) -> _Output:
    output = _Output(limit)
    output.feed(b"123\n", None)  # the wrapper's PID line: not output
    return output


def _texts(events: list[ServerSentEvent]) -> list[str]:
    return [json.loads(str(e.data))["text"] for e in events if e.event == "output"]


def test_accept_asks_for_a_stream_only_when_it_lists_event_stream_with_a_q_above_0() -> None:
    assert wants_stream("text/event-stream")
    assert wants_stream("application/json;q=0.5, Text/Event-Stream")
    assert wants_stream("text/event-stream;q=0.1")
    assert not wants_stream("text/event-stream;q=0")
    assert not wants_stream(None) and not wants_stream("*/*") and not wants_stream("application/json")


@pytest.mark.asyncio
async def test_output_that_arrives_together_is_one_event_and_the_result_ends_the_stream() -> None:
    output = _started()
    tap = output.tap()
    work: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    for n in range(100):  # a burst of small writes before the stream reads: coalesced
        output.feed(f"line {n}\n".encode(), None)
    events = task_events(tap, work, _error_of)
    first = await anext(events)
    output.feed(None, b"warning\n")  # stderr too
    output.finish()
    second = await anext(events)
    work.set_result({"exitCode": 0, "output": "…"})
    last = await anext(events)
    with pytest.raises(StopAsyncIteration):
        await anext(events)
    assert [e.event for e in (first, second, last)] == ["output", "output", "result"]
    assert _texts([first]) == ["".join(f"line {n}\n" for n in range(100))] and _texts([second]) == ["warning\n"]
    assert json.loads(str(last.data)) == {"exitCode": 0, "output": "…"}


@pytest.mark.asyncio
async def test_a_character_split_across_chunks_is_decoded_whole_and_bad_bytes_are_replaced() -> None:
    output = _started()
    work: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    tap = output.tap()
    output.feed(b"caf" + "é".encode()[:1], None)
    output.feed("é".encode()[1:] + b" \xff ok\n", None)
    work.set_result({"exitCode": 0})
    events = [e async for e in task_events(tap, work, _error_of)]
    assert "".join(_texts(events)) == "café \ufffd ok\n"


@pytest.mark.asyncio
async def test_each_event_holds_at_most_64_kib_even_when_json_escapes_grow_it() -> None:
    output = _started()
    work: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    tap = output.tap()
    printed = b"\x01" * 50_000 + "€".encode() * 30_000  # \u0001 is 6 bytes in JSON
    output.feed(printed, None)
    work.set_result({"exitCode": 0})
    task_stream.INTERVAL, interval = 0.0, task_stream.INTERVAL
    try:
        events = [e async for e in task_events(tap, work, _error_of)]
    finally:
        task_stream.INTERVAL = interval
    assert all(len(str(e.data).encode()) <= EVENT_BYTES for e in events if e.event == "output")
    assert "".join(_texts(events)).encode() == printed


@pytest.mark.asyncio
async def test_bytes_dropped_before_the_stream_read_them_are_said_in_one_line() -> None:
    output = _started(limit=1000)
    work: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    tap = output.tap()
    output.feed(b"x" * 2500 + b"\n" + b"y" * 999 + b"\n", None)  # more than twice the bound, unread
    output.feed("ü".encode(), None)
    work.set_result({"exitCode": 0})
    events = [e async for e in task_events(tap, work, _error_of)]
    text = "".join(_texts(events))
    note, rest = text.split("\n", 1)
    assert note.startswith("[in10nt: ") and "bytes of output were not streamed" in note
    dropped = int(note.split()[1].replace(",", ""))
    assert dropped + len(rest.encode()) == 2500 + 1 + 999 + 1 + 2
    assert rest.endswith("y\nü")


@pytest.mark.asyncio
async def test_the_closing_notes_are_the_last_output_and_failures_end_with_an_error_event() -> None:
    output = _started()
    work: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    tap = output.tap()
    output.feed(b"partial", None)
    output.notes = "\n[in10nt: the task was stopped after 1 s (timeout)]\n"
    work.set_result({"timedOut": True})
    events = [e async for e in task_events(tap, work, _error_of)]
    assert _texts(events) == ["partial", "\n[in10nt: the task was stopped after 1 s (timeout)]\n"]

    failed: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    failed.set_exception(OSError("boom"))
    events = [e async for e in task_events(_started().tap(), failed, _error_of)]
    assert [e.event for e in events] == ["error"]
    assert json.loads(str(events[0].data)) == {"status": 500, "error": {"code": "internal_error",
                                                                        "message": "failed: boom"}}

    stopped: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    stopped.cancel()
    events = [e async for e in task_events(_started().tap(), stopped, _error_of)]
    assert json.loads(str(events[0].data))["error"]["code"] == "engine_stopping"


@pytest.mark.asyncio
async def test_a_reader_that_leaves_stops_collecting_and_the_task_is_untouched() -> None:
    output = _started()
    work: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    tap = output.tap()
    events = task_events(tap, work, _error_of)
    output.feed(b"one\n", None)
    first = await anext(events)
    assert json.loads(str(first.data)) == {"text": "one\n"}
    await events.aclose()  # the client went away
    output.feed(b"two\n" * 1000, None)
    assert tap.take(1 << 20) == (b"", 0)  # nothing collects for a reader that left
    assert not work.done()  # the task's run is not the stream's to end
    assert output.text()[0] == "one\n" + "two\n" * 1000

"""``instance.run_stream`` against both shapes a server may answer (httpx.MockTransport): the local engine's
event stream and the hosted service's plain JSON, plus error answers and streams that break off.

The real engine's stream is tested in tests/engine/test_task_streams.py; these are the shapes and
faults only a scripted server gives.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from in10nt_desktop.api import (
    APIError,
    ConnectionFailedError,
    In10ntClient,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from in10nt_desktop.api.instances import Instance
from in10nt_desktop.api.task_stream import TaskStream

pytestmark = pytest.mark.asyncio
BASE = "https://api.example.test"
RESULT = {"exitCode": 0, "output": "a\nb\n", "startedAt": "2026-01-01T00:00:00Z",
          "finishedAt": "2026-01-01T00:00:01Z", "timedOut": False, "outputTruncated": False, "outputBytes": 4}


def sse(*events: tuple[str, Any]) -> bytes:
    return b"".join(f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode() for kind, data in events)


def stream_of(body: bytes | AsyncIterator[bytes]) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)


def instance_on(answer: Callable[[httpx.Request], httpx.Response], seen: list[httpx.Request]) -> Instance:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    client = In10ntClient(BASE, "sk-test", transport=httpx.MockTransport(handler), backoff=0)
    return Instance.model_validate({"instanceId": "inst_0123456789abcdef", "name": "i"})._bind(client._http)


async def read(stream: TaskStream) -> list[str]:
    async with stream:
        return [piece async for piece in stream]


async def test_an_event_stream_yields_each_piece_then_the_result() -> None:
    seen: list[httpx.Request] = []
    body = sse(("output", {"text": "a\n"}), ("output", {"text": "b\n"}), ("result", RESULT))
    instance = instance_on(lambda _r: stream_of(body), seen)
    stream = instance.run_stream("make", timeout=30)
    assert await read(stream) == ["a\n", "b\n"]
    assert stream.streamed and stream.result.exit_code == 0 and stream.result.output == "a\nb\n"
    request = seen[0]
    assert (request.method, request.url.path) == ("POST", "/instances/inst_0123456789abcdef/run")
    assert json.loads(request.content) == {"task": "make", "timeout": 30}
    assert request.headers["accept"].startswith("text/event-stream")
    assert request.headers["authorization"] == "Bearer sk-test"


async def test_a_piece_is_yielded_while_the_rest_has_not_arrived() -> None:
    more = asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        yield sse(("output", {"text": "first\n"}))
        await more.wait()
        yield sse(("output", {"text": "second\n"}), ("result", {**RESULT, "output": "first\nsecond\n"}))

    instance = instance_on(lambda _r: stream_of(body()), [])
    pieces = []
    async with instance.run_stream("t") as stream:
        async for piece in stream:
            pieces.append(piece)
            more.set()  # the server sends the rest only once the first piece was seen
    assert pieces == ["first\n", "second\n"] and stream.result.output == "first\nsecond\n"


async def test_a_plain_json_answer_is_the_whole_output_once_and_says_it_was_not_streamed() -> None:
    instance = instance_on(lambda _r: httpx.Response(200, json=RESULT), [])
    stream = instance.run_stream("Train classifier")
    assert await read(stream) == ["a\nb\n"]
    assert not stream.streamed and stream.result.output == "a\nb\n"

    silent = instance_on(lambda _r: httpx.Response(200, json={**RESULT, "output": ""}), [])
    stream = silent.run_stream("true")
    assert await read(stream) == [] and stream.result.exit_code == 0


async def test_an_error_answer_before_the_task_runs_raises_the_typed_error() -> None:
    busy = instance_on(lambda _r: httpx.Response(429, headers={"Retry-After": "5"}, json={"error": {
        "code": "tasks_busy", "message": "The engine already runs 16 tasks."}}), [])
    with pytest.raises(RateLimitError, match="already runs 16 tasks") as caught:
        await read(busy.run_stream("t"))
    assert caught.value.retry_after == 5

    gone = instance_on(lambda _r: httpx.Response(404, json={"error": {"code": "gone", "message": "It is gone."}}), [])
    with pytest.raises(NotFoundError, match="It is gone"):
        await read(gone.run_stream("t"))


async def test_an_error_event_after_the_start_raises_the_error_of_its_status_after_the_output() -> None:
    body = sse(("output", {"text": "half"}), ("error", {"status": 503, "error": {
        "code": "no_container_engine", "message": "The container engine stopped answering."}}))
    instance = instance_on(lambda _r: stream_of(body), [])
    stream = instance.run_stream("t")
    pieces: list[str] = []
    with pytest.raises(ServerError, match="stopped answering") as caught:
        async for piece in stream:
            pieces.append(piece)
    assert pieces == ["half"] and caught.value.code == "no_container_engine"
    with pytest.raises(RuntimeError, match="result is known once"):
        _ = stream.result


async def test_a_stream_that_ends_without_a_result_or_breaks_is_a_connection_failure() -> None:
    instance = instance_on(lambda _r: stream_of(sse(("output", {"text": "x"}))), [])
    with pytest.raises(ConnectionFailedError, match="without its result"):
        await read(instance.run_stream("t"))

    async def broken() -> AsyncIterator[bytes]:
        yield sse(("output", {"text": "x"}))
        raise httpx.ReadError("connection reset")

    instance = instance_on(lambda _r: stream_of(broken()), [])
    with pytest.raises(ConnectionFailedError, match="goes on on the server"):
        await read(instance.run_stream("t"))


async def test_shapes_it_does_not_understand_are_api_errors_and_unknown_events_are_skipped() -> None:
    odd = instance_on(lambda _r: stream_of(sse(("progress", {"pct": 5}), ("output", {"text": "ok"}),
                                              ("result", {"exitCode": "not a number"}))), [])
    stream = odd.run_stream("t")
    pieces: list[str] = []
    with pytest.raises(APIError, match="does not understand"):
        async for piece in stream:
            pieces.append(piece)
    assert pieces == ["ok"]

    garbled = instance_on(lambda _r: stream_of(sse(("output", ["not", "an", "object"]))), [])
    with pytest.raises(APIError, match="output this client does not understand"):
        await read(garbled.run_stream("t"))

    html = instance_on(lambda _r: httpx.Response(200, text="<html>", headers={"content-type": "text/html"}), [])
    with pytest.raises(APIError, match="does not understand"):
        await read(html.run_stream("t"))


async def test_a_stream_is_read_once() -> None:
    instance = instance_on(lambda _r: httpx.Response(200, json=RESULT), [])
    stream = instance.run_stream("t")
    await read(stream)
    with pytest.raises(RuntimeError, match="read once"):
        stream.__aiter__()

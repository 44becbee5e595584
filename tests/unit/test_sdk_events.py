"""``client.events()`` against faults a real engine does not produce: a stream that stalls without
heartbeats, garbage, a proxy's 503, a server that is not an event stream at all.

The server is a few lines of asyncio on 127.0.0.1, scripted per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from in10nt_desktop.api import (
    APIError,
    AuthenticationError,
    ConnectionFailedError,
    Event,
    EventsUnsupportedError,
    In10ntClient,
    In10ntError,
    ServerError,
)
from in10nt_desktop.api import events as events_mod

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
SSE_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\r\n"


@dataclass
class SseServer:
    """Connection N runs ``scripts[N]`` (the last one repeats); ``requests`` keeps each request's headers."""

    scripts: list[Script]
    requests: list[dict[str, str]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")[1:]
        self.requests.append({k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines if line)})
        script = self.scripts[min(len(self.requests), len(self.scripts)) - 1]
        try:
            await script(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@contextlib.asynccontextmanager
async def sse_server(*scripts: Script) -> AsyncIterator[SseServer]:
    state = SseServer(list(scripts))
    server = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield state
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 2)


def events_then(*frames: bytes, then: str = "stall") -> Script:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD)
        for frame in frames:
            writer.write(frame)
        await writer.drain()
        if then == "stall":  # headers and events, then silence: not even a heartbeat
            await reader.read()
    return script


def answer(status: str, body: bytes = b"", content_type: str = "application/json") -> Script:
    async def script(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                     "Connection: close\r\n\r\n".encode() + body)
        await writer.drain()
    return script


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_mod, "BACKOFF_FIRST", 0.01)


async def take(stream: AsyncIterator[Event], n: int) -> list[Event]:
    out: list[Event] = []
    async with contextlib.aclosing(stream) as events:  # type: ignore[type-var]
        async for event in events:
            out.append(event)
            if len(out) == n:
                break
    return out


@pytest.mark.asyncio
async def test_silence_beyond_the_heartbeat_timeout_is_a_disconnect_then_a_resume() -> None:
    first = events_then(b'id: 5\nevent: template.deleted\ndata: {"templateId": "tmpl_a"}\n\n')
    second = events_then(b'id: 6\nevent: template.deleted\ndata: {"templateId": "tmpl_b"}\n\n')
    lost: list[In10ntError] = []
    async with sse_server(first, second) as server, In10ntClient(server.url, "k") as client:
        got = await take(client.events(heartbeat_timeout=0.3, on_disconnect=lost.append), 4)
    assert [(e.id, e.type) for e in got] == [(None, "open"), (5, "template.deleted"), (None, "open"),
                                             (6, "template.deleted")]
    assert len(lost) == 1 and isinstance(lost[0], ConnectionFailedError)
    assert "not even a heartbeat" in str(lost[0])
    assert "last-event-id" not in server.requests[0]
    assert server.requests[1]["last-event-id"] == "5"
    assert server.requests[1]["authorization"] == "Bearer k"


@pytest.mark.asyncio
async def test_heartbeat_comments_keep_the_stream_alive_and_are_not_yielded() -> None:
    async def pings_then_event(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD)
        for _ in range(30):  # 1.5 s of pings, each well inside the 1 s timeout
            writer.write(b": ping\n\n")
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b'id: 7\nevent: saved_template.deleted\ndata: {"name": "s"}\n\n')
        await writer.drain()
        await asyncio.sleep(5)

    lost: list[In10ntError] = []
    async with sse_server(pings_then_event) as server, In10ntClient(server.url) as client:
        got = await take(client.events(heartbeat_timeout=1.0, on_disconnect=lost.append), 2)
    assert [(e.id, e.type, e.data) for e in got] == [(None, "open", {}), (7, "saved_template.deleted", {"name": "s"})]
    assert lost == []


@pytest.mark.asyncio
async def test_without_reconnect_a_lost_stream_raises() -> None:
    async with sse_server(events_then(b": ping\n\n", then="close")) as server, In10ntClient(server.url) as client:
        stream = client.events(reconnect=False)
        assert (await anext(stream)).type == "open"
        with pytest.raises(ConnectionFailedError, match="closed the event stream"):
            await anext(stream)
        await stream.aclose()
    assert len(server.requests) == 1


@pytest.mark.asyncio
async def test_404_means_no_event_stream_and_is_not_retried() -> None:
    async with sse_server(answer("404 Not Found", b'{"message": "Cannot GET /events"}')) as server, \
            In10ntClient(server.url, "k") as client:
        with pytest.raises(EventsUnsupportedError, match="has no event stream") as err:
            await take(client.events(), 1)
        assert err.value.status == 404
        assert await client.has_events() is False
    assert len(server.requests) == 2  # one for events(), one for has_events(): no retry


@pytest.mark.asyncio
async def test_a_page_that_is_not_an_event_stream_counts_as_none() -> None:
    page = answer("200 OK", b"<html>app</html>", "text/html")
    async with sse_server(page) as server, In10ntClient(server.url) as client:
        with pytest.raises(EventsUnsupportedError):
            await take(client.events(), 1)
        assert await client.has_events() is False


@pytest.mark.asyncio
async def test_401_raises_the_authentication_error_and_is_not_retried() -> None:
    refused = answer("401 Unauthorized", b'{"error": {"code": "unauthorized", "message": "Missing or wrong token"}}')
    lost: list[In10ntError] = []
    async with sse_server(refused) as server, In10ntClient(server.url, "wrong") as client:
        with pytest.raises(AuthenticationError, match="rejected the API key"):
            await take(client.events(on_disconnect=lost.append), 1)
        with pytest.raises(AuthenticationError):
            await client.has_events()
    assert len(server.requests) == 2 and lost == []


@pytest.mark.asyncio
async def test_a_proxys_503_is_a_failed_attempt_then_the_stream_opens() -> None:
    busy = answer("503 Service Unavailable", b"")
    ok = events_then(b'id: 1\nevent: template.deleted\ndata: {"templateId": "t"}\n\n')
    lost: list[In10ntError] = []
    async with sse_server(busy, ok) as server, In10ntClient(server.url) as client:
        got = await take(client.events(on_disconnect=lost.append), 2)
    assert [e.type for e in got] == ["open", "template.deleted"]
    assert len(lost) == 1 and isinstance(lost[0], ServerError)


@pytest.mark.asyncio
async def test_connection_refused_is_said_before_each_retry(unused_tcp_port: int) -> None:
    lost: list[In10ntError] = []

    def give_up_after_two(err: In10ntError) -> None:
        lost.append(err)
        if len(lost) == 2:
            raise err  # a caller may stop the retries this way

    async with In10ntClient(f"http://127.0.0.1:{unused_tcp_port}") as client:
        with pytest.raises(ConnectionFailedError, match="connection refused"):
            await take(client.events(on_disconnect=give_up_after_two), 1)
    assert len(lost) == 2


@pytest.mark.asyncio
async def test_an_event_it_cannot_read_is_delivered_as_a_reset() -> None:
    garbage = events_then(b"id: 9\nevent: template.changed\ndata: {not json\n\n")
    async with sse_server(garbage) as server, In10ntClient(server.url) as client:
        got = await take(client.events(), 2)
    assert (got[1].id, got[1].type, got[1].data) == (9, "reset", {"latestId": 9})


@pytest.mark.asyncio
async def test_leaving_the_loop_closes_the_connection() -> None:
    hung_up = asyncio.Event()

    async def watch(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(SSE_HEAD + b'id: 1\nevent: template.deleted\ndata: {"templateId": "t"}\n\n')
        await writer.drain()
        await reader.read()  # returns when the client closes its end
        hung_up.set()

    async with sse_server(watch) as server, In10ntClient(server.url) as client:
        await take(client.events(), 2)
        await asyncio.wait_for(hung_up.wait(), 10)


def test_event_rows_are_typed_and_checked() -> None:
    changed = Event(3, "template.changed", {"templateId": "tmpl_a", "name": "a", "status": "building",
                                            "phase": "queued", "queuePosition": 2})
    t = changed.template()
    assert (t.template_id, t.phase, t.queue_position) == ("tmpl_a", "queued", 2)
    assert Event(4, "instance.created", {"instanceId": "inst_a", "status": "creating"}).instance().status == "creating"
    assert Event(5, "saved_template.created", {"name": "s", "sizeBytes": 3}).saved_template().size_bytes == 3
    with pytest.raises(ValueError, match=r"template\.deleted event carries no TemplateData"):
        Event(6, "template.deleted", {"templateId": "tmpl_a"}).template()
    with pytest.raises(APIError, match="does not understand"):
        Event(7, "template.changed", {"name": "no id"}).template()


@pytest.mark.asyncio
async def test_a_heartbeat_timeout_must_be_positive() -> None:
    async with In10ntClient("http://127.0.0.1:1") as client:
        with pytest.raises(ValueError, match="heartbeat_timeout"):
            await take(client.events(heartbeat_timeout=0), 1)

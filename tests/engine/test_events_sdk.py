"""``client.events()`` against the real engine process: resumes, restarts, hang-ups, refusals."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from stack.engine_proc import EngineProc, start_engine
from stack.gate_proxy import GateProxy

from in10nt_desktop.api import AuthenticationError, Event, In10ntClient, In10ntError
from in10nt_desktop.api import events as events_mod

DEAD = "127.0.0.1:1/x:1"  # a build that fails at once


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events_mod, "BACKOFF_FIRST", 0.05)


@pytest.fixture
def engine(tmp_path: Path) -> EngineProc:
    proc = start_engine(tmp_path / "engine", extra=["--events-heartbeat", "0.5"])
    yield proc  # type: ignore[misc]
    proc.stop()


class Collector:
    """Runs ``client.events()`` in a task and keeps what it yields and every disconnect sentence."""

    def __init__(self, client: In10ntClient, **kw: object) -> None:
        self.events: list[Event] = []
        self.lost: list[In10ntError] = []
        self.task = asyncio.create_task(self._run(client, kw))

    async def _run(self, client: In10ntClient, kw: dict[str, object]) -> None:
        async with contextlib.aclosing(client.events(on_disconnect=self.lost.append, **kw)) as stream:  # type: ignore[arg-type]
            async for event in stream:
                self.events.append(event)

    async def wait(self, predicate: object, what: str, timeout: float = 30) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if predicate(e)]  # type: ignore[operator]
            if found:
                return found[-1]
            if self.task.done():
                self.task.result()
            assert time.monotonic() < deadline, f"no {what} within {timeout} s: {[e.type for e in self.events]}"
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


async def event_clients(client: In10ntClient) -> int:
    return int((await client._http.json("GET", "/healthz"))["eventClients"])


async def wait_clients(client: In10ntClient, want: int) -> None:
    deadline = time.monotonic() + 15
    while (n := await event_clients(client)) != want:
        assert time.monotonic() < deadline, f"eventClients stayed {n}, not {want}"
        await asyncio.sleep(0.05)


def of(events: list[Event], tid: str) -> list[str]:
    return [e.type for e in events if e.data.get("templateId") == tid]


@pytest.mark.asyncio
async def test_a_dropped_connection_resumes_with_last_event_id_and_misses_nothing(engine: EngineProc) -> None:
    host, port = engine.url.removeprefix("http://").split(":")
    proxy = GateProxy(host, int(port))
    proxy.open()
    try:
        async with In10ntClient(f"http://{proxy.host}", engine.token) as through, engine.client() as direct:
            seen = Collector(through)
            await seen.wait(lambda e: e.type == "open", "open")
            before = (await direct.templates.create(name="before", image=DEAD, registry_type="private")).template_id
            await seen.wait(lambda e: e.data.get("status") == "failed", "the first build's end")
            proxy.cut()
            await seen.wait(lambda e: seen.lost, "the disconnect")
            missed = (await direct.templates.create(name="missed", image=DEAD, registry_type="private")).template_id
            await seen.wait(lambda e: e.data.get("templateId") == missed and e.data.get("status") == "failed",
                            "the missed build's events")
            await seen.stop()
        types = [e.type for e in seen.events]
        assert types.count("open") == 2 and "reset" not in types
        assert of(seen.events, before) == ["template.created", "template.changed"]
        assert of(seen.events, missed) == ["template.created", "template.changed"]
        assert "closed the event stream" in str(seen.lost[0])
    finally:
        proxy.close()


@pytest.mark.asyncio
async def test_after_an_engine_restart_it_reconnects_and_is_told_to_reset(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "engine", extra=["--events-heartbeat", "0.5"])
    port = engine.url.rsplit(":", 1)[1]
    try:
        async with engine.client() as client:
            seen = Collector(client)
            await seen.wait(lambda e: e.type == "open", "open")
            first = (await client.templates.create(name="one", image=DEAD, registry_type="private")).template_id
            await seen.wait(lambda e: e.data.get("templateId") == first and e.type == "template.changed", "one")
            engine.stop()
            await seen.wait(lambda e: seen.lost, "the disconnect")
            engine = start_engine(tmp_path / "engine", extra=["--port", port, "--events-heartbeat", "0.5"])
            reset = await seen.wait(lambda e: e.type == "reset", "the reset after the restart")
            second = (await client.templates.create(name="two", image=DEAD, registry_type="private")).template_id
            await seen.wait(lambda e: e.data.get("templateId") == second, "an event from the new engine")
            await seen.stop()
        types = [e.type for e in seen.events]
        assert types[:2] == ["open", "template.created"]
        after = types[types.index("template.changed") + 1:]
        assert after[:2] == ["open", "reset"]  # the old process's id means nothing to the new one: list again
        assert reset.id is not None and seen.events[-1].id is not None and seen.events[-1].id > reset.id
        assert all(isinstance(err, In10ntError) and str(err) for err in seen.lost)
    finally:
        engine.stop()


@pytest.mark.asyncio
async def test_leaving_the_loop_or_cancelling_frees_the_subscriber(engine: EngineProc) -> None:
    async with engine.client() as client:
        assert await client.has_events() is True
        await wait_clients(client, 0)
        async for event in client.events():  # no aclosing: the generator is finalized once dropped
            assert event.type == "open"
            break
        await wait_clients(client, 0)
        seen = Collector(client)
        await seen.wait(lambda e: e.type == "open", "open")
        assert await event_clients(client) == 1
        await seen.stop()
        await wait_clients(client, 0)


@pytest.mark.asyncio
async def test_a_wrong_token_raises_at_once(engine: EngineProc) -> None:
    async with In10ntClient(engine.url, "wrong-token") as client:
        with pytest.raises(AuthenticationError, match="rejected the API key"):
            async for _event in client.events():
                pass
        with pytest.raises(AuthenticationError):
            await client.has_events()

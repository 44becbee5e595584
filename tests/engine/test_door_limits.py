"""Limits at the door, on the real engine process: slow clients, huge and endless bodies.

Before: with the common desktop soft limit of 1,024 open files, ~1,020 connections that send their
headers slowly made ``/healthz`` time out for 60 s; a 2.5 GB chunked body was read whole into memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from stack.engine_proc import EngineProc, start_engine
from stack.memory import MemoryWatch

from in10nt_desktop.engine.limits import HEAD_SECONDS, MAX_BODY

FLOOD = 1_020
RSS_LIMIT_MB = 300
CHUNK = 1024 * 1024
TOO_LARGE = ("The request body is larger than 1 MiB, the most this engine accepts (its requests are a few "
             "kilobytes).")


@pytest.fixture(scope="module")
def door_engine(stack_dir: Path) -> Iterator[EngineProc]:
    """Started as a desktop session would start it: a soft limit of 1,024 open files."""
    proc = start_engine(stack_dir / "engine-door", soft_open_files=1024)
    yield proc
    proc.stop()


def _headers(engine: EngineProc) -> dict[str, str]:
    return {"Authorization": f"Bearer {engine.token}", "Content-Type": "application/json"}


@pytest.mark.asyncio
async def test_a_slow_header_flood_does_not_lock_out_real_clients(door_engine: EngineProc) -> None:
    host, port = door_engine.url.removeprefix("http://").split(":")
    flood: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        for _ in range(FLOOD):
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
            flood.append((reader, writer))

        async def drip() -> None:  # one more header line a second on every connection, as slowloris does
            for n in range(int(HEAD_SECONDS * 3)):
                for _reader, writer in flood:
                    if not writer.is_closing():
                        writer.write(f"X-Slow-{n}: 1\r\n".encode())
                await asyncio.sleep(1)

        dripping = asyncio.ensure_future(drip())
        # A real client, meanwhile: answered at once, not after the flood gives up.
        async with httpx.AsyncClient(base_url=door_engine.url, headers=_headers(door_engine),
                                     timeout=5) as http:
            health = await http.get("/healthz")
            assert health.status_code == 200 and health.json()["status"] == "ok"

            # A request whose body trickles in for longer than the head deadline is not cut: only a head is timed.
            async def slow_body() -> AsyncIterator[bytes]:
                body = json.dumps({"name": "", "image": "busybox", "registryType": "dockerhub"}).encode()
                for i in range(0, len(body), 4):
                    yield body[i:i + 4]
                    await asyncio.sleep((HEAD_SECONDS + 2) / (len(body) / 4))

            slow = await http.post("/container-templates", content=slow_body(), timeout=HEAD_SECONDS * 3)
            assert (slow.status_code, slow.json()["error"]["field"]) == (422, "name")

        # The flood's connections are closed by the engine once their head is overdue.
        async def closed(reader: asyncio.StreamReader) -> bool:
            with contextlib.suppress(ConnectionError):
                return await reader.read() == b""
            return True

        ends = await asyncio.wait_for(asyncio.gather(*(closed(r) for r, _w in flood)), HEAD_SECONDS * 3)
        assert all(ends)
        dripping.cancel()
    finally:
        for _reader, writer in flood:
            writer.close()


def _body(total: int, sent: list[int]) -> Iterator[bytes]:
    block = b" " * CHUNK
    while sent[0] < total:
        sent[0] += CHUNK
        yield block


def test_a_huge_declared_body_is_refused_before_it_is_read(door_engine: EngineProc) -> None:
    sent = [0]
    declared = 400 * 1024 * 1024
    with MemoryWatch(door_engine.proc.pid) as memory, httpx.Client(timeout=30) as http:
        r = http.post(f"{door_engine.url}/container-templates", content=_body(declared, sent),
                      headers={**_headers(door_engine), "Content-Length": str(declared)})
    assert (r.status_code, r.json()["error"]["code"], r.json()["error"]["message"]) == \
        (413, "body_too_large", TOO_LARGE)
    assert r.headers["connection"] == "close"
    assert sent[0] < 64 * CHUNK  # the client was stopped early: no 400 MB went over the wire
    assert not memory.killed and memory.peak_mb < RSS_LIMIT_MB, memory.peak_mb


def test_a_chunked_body_of_2_5_gb_is_cut_off_at_the_cap_and_the_engine_stays_small(
        door_engine: EngineProc) -> None:
    sent = [0]
    with MemoryWatch(door_engine.proc.pid) as memory, httpx.Client(timeout=60) as http:
        r = http.post(f"{door_engine.url}/container-templates", content=_body(2_500 * CHUNK, sent),
                      headers=_headers(door_engine))  # a generator without a length: sent chunked
        after = http.get(f"{door_engine.url}/healthz", headers=_headers(door_engine))
    assert not memory.killed, f"the engine passed {memory.kill_above_mb} MB and was killed"
    assert (r.status_code, r.json()["error"]["message"]) == (413, TOO_LARGE)
    assert sent[0] < 64 * CHUNK, f"{sent[0]:,} bytes were sent before the engine said no"
    assert memory.peak_mb < RSS_LIMIT_MB, memory.peak_mb
    assert after.status_code == 200
    assert MAX_BODY == CHUNK  # the sentence above says 1 MiB

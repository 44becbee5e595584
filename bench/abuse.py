"""Figures for the engine under attack and under faults (README, "Reliability and limits").

Run by hand: ``python bench/abuse.py``. Starts what it needs on loopback (the misbehaving registry of the
tests, Debian's docker-registry, Podman's API service, engines as subprocesses), stops it all, and prints:

* the engine's resident memory idle (the baseline) and at its peak (VmHWM) through the misbehaving
  registry's eight answers and through a 2.5 GB chunked body;
* ``GET /healthz`` idle (the baseline) and under ~1,020 slow-header connections, the engine started with a
  soft limit of 1,024 open files;
* cores + 5 silent tasks (``sleep``, timeout 5 s): how long until every one answered, and ``GET /instances``
  meanwhile against the same call idle.

Targets: RSS peak < 300 MB in both abuse runs; /healthz under the flood answers (and within 2 s at p95);
every task answered within its timeout + 15 s.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import _common  # noqa: F401  (sets sys.path)
import httpx
from _common import Stats, Verdicts, header, ms, temp_root
from stack.bad_registry import BadRegistry
from stack.engine_proc import EngineProc, start_engine
from stack.images import push_image
from stack.memory import MemoryWatch, status_mb
from stack.podman import start_podman
from stack.registry import start_registry

RSS_TARGET_MB = 300
FLOOD = 1_020


def _client(engine: EngineProc, timeout: float = 60) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=engine.url, headers={"Authorization": f"Bearer {engine.token}"},
                             timeout=timeout, limits=httpx.Limits(max_connections=100))


async def _timed(call: object, runs: int, name: str) -> Stats:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return Stats(name, samples)


async def registry_and_body(root: Path, verdicts: Verdicts) -> None:
    header("memory: a misbehaving registry and a 2.5 GB chunked body")
    bad = BadRegistry()
    engine = start_engine(root / "engine-memory")
    try:
        await asyncio.sleep(1)
        idle = status_mb(engine.proc.pid, "VmRSS")
        print(f"  idle RSS (baseline)                          {idle:8.1f} MB")
        modes = ["endless", "huge-length", "endless-token", "two-million-layers", "many-layers", "deep-json",
                 "redirect-loop", "endless-config"]
        async with _client(engine) as http:
            with MemoryWatch(engine.proc.pid) as memory:
                started = time.perf_counter()
                ids = [(await http.post("/container-templates", json={
                    "name": m, "image": bad.image(m), "registryType": "private"})).json()["templateId"] for m in modes]
                pending = set(ids)
                while pending and time.perf_counter() - started < 60:
                    for tid in list(pending):
                        if (await http.get(f"/container-templates/{tid}/status")).json()["status"] != "building":
                            pending.discard(tid)
                    await asyncio.sleep(0.05)
                took = time.perf_counter() - started
            print(f"  8 abusive builds failed with sentences in    {ms(took)}  (registry sent "
                  f"{sum(bad.sent.values()) / 1e6:.1f} MB in all)")
            print(f"  peak RSS through them                        {memory.peak_mb:8.1f} MB  "
                  f"(+{memory.peak_mb - idle:.1f} MB over idle)")
            verdicts.check("RSS < 300 MB through the misbehaving registry", memory.peak_mb < RSS_TARGET_MB,
                           f"{memory.peak_mb:.0f} MB")
            # A blocking client: it reads the answer once its write fails (httpx's async client gives up instead).
            def post_body() -> tuple[int, int]:
                sent = [0]

                def body() -> object:
                    block = b" " * 1024 * 1024
                    while sent[0] < 2_500 * len(block):
                        sent[0] += len(block)
                        yield block

                answer = httpx.post(f"{engine.url}/container-templates", content=body(), timeout=60,  # type: ignore[arg-type]
                                    headers={"Authorization": f"Bearer {engine.token}",
                                             "Content-Type": "application/json"})
                return answer.status_code, sent[0]

            with MemoryWatch(engine.proc.pid) as memory:
                start = time.perf_counter()
                status, sent = await asyncio.to_thread(post_body)
                took = time.perf_counter() - start
            print(f"  2.5 GB chunked body: HTTP {status} after     {ms(took)}, {sent / 1e6:.0f} MB sent; "
                  f"peak RSS {memory.peak_mb:.1f} MB")
            verdicts.check("RSS < 300 MB through a 2.5 GB chunked body", memory.peak_mb < RSS_TARGET_MB
                           and status == 413, f"{memory.peak_mb:.0f} MB, HTTP {status}")
    finally:
        engine.stop()
        bad.close()


async def flood(root: Path, verdicts: Verdicts) -> None:
    header(f"slow clients: {FLOOD:,} connections sending headers a line a second (soft limit 1,024)")
    engine = start_engine(root / "engine-flood", soft_open_files=1024)
    host, port = engine.url.removeprefix("http://").split(":")
    writers: list[asyncio.StreamWriter] = []
    try:
        async with _client(engine, timeout=10) as http:
            idle = await _timed(lambda: http.get("/healthz"), 50, "GET /healthz idle (baseline)")
            print(idle.line())
            for _ in range(FLOOD):
                _reader, writer = await asyncio.open_connection(host, int(port))
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                writers.append(writer)
            try:
                loaded = await _timed(lambda: http.get("/healthz"), 50, f"GET /healthz with {FLOOD:,} slow clients")
                print(loaded.line())
                verdicts.check("/healthz answers through the flood (p95 <= 2 s)", loaded.p95 <= 2.0,
                               f"p95 {ms(loaded.p95).strip()}")
            except httpx.HTTPError as exc:
                verdicts.fail("/healthz answers through the flood (p95 <= 2 s)", type(exc).__name__)
    finally:
        for writer in writers:
            writer.close()
        engine.stop()


async def tasks(root: Path, verdicts: Verdicts) -> None:
    count = (os.cpu_count() or 1) + 5
    header(f"{count} silent tasks at once (sleep, timeout 5 s) on Podman")
    registry = start_registry(root / "registry", "open")
    pod = start_podman(root / "podman", [registry.host])
    engine = start_engine(root / "engine-tasks", docker_host=pod.docker_host, extra=["--instance-network", "none"])
    try:
        image = push_image(registry.url, "x/busybox", "1").ref
        async with _client(engine) as http:
            tid = (await http.post("/container-templates", json={"name": "b", "image": image,
                                                                 "registryType": "private"})).json()["templateId"]
            for _ in range(600):  # a minute at most
                if (await http.get(f"/container-templates/{tid}/status")).json()["status"] != "building":
                    break
                await asyncio.sleep(0.1)
            iid = (await http.post("/instances", json={"name": "b", "containerTemplateId": tid})).json()["instanceId"]
            idle = await _timed(lambda: http.get("/instances"), 20, "GET /instances idle (baseline)")
            print(idle.line())
            started = time.perf_counter()
            running = [asyncio.ensure_future(http.post(f"/instances/{iid}/run",
                                                       json={"task": "sleep 100000", "timeout": 5}))
                       for _ in range(count)]
            await asyncio.sleep(1)
            loaded = await _timed(lambda: http.get("/instances"), 10, f"GET /instances with {count} tasks running")
            print(loaded.line())
            answers = await asyncio.gather(*running)
            took = time.perf_counter() - started
            codes = sorted(r.status_code for r in answers)
            print(f"  every task answered in                       {ms(took)}  (statuses {codes})")
            verdicts.check("every task answers within its timeout + 15 s", took <= 20 and set(codes) <= {200, 429},
                           f"{took:.1f} s")
    finally:
        engine.stop()
        pod.stop()
        registry.stop()


async def main() -> int:
    verdicts = Verdicts()
    with temp_root("in10nt-abuse-") as root:
        await registry_and_body(root, verdicts)
        await flood(root, verdicts)
        await tasks(root, verdicts)
    return verdicts.print()


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))

"""Benchmark the event stream: how long after the engine writes a change does an SDK client have it?

Run by hand: ``python bench/events.py``. Starts its own engine (``--no-pull``, fresh temp data
dir), creates 200 templates whose builds fail at once, then deletes them one at a time while an
SDK client reads ``client.events()`` in the same event loop. Each delete is timed from the
request going out to:
  * the ``template.deleted`` event arriving through the SDK (the store writes, then publishes,
    inside the request, so this is an upper bound of write -> event received), and
  * the DELETE's own 204 arriving (what a client polling right after would at best get).
The same run is repeated with 20 more clients subscribed (fan-out). Baseline: a ``GET /healthz``
round trip in the same run, the engine's floor per request.

Target: event received <= 10 ms median after the request went out (the window then has ~90 ms
of the issue's 100 ms event-to-badge budget for itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time

import _common  # noqa: F401  (sets sys.path)
import httpx
from _common import Stats, Verdicts, header, ratio_line, start_engine, temp_root

from in10nt_desktop.api import In10ntClient

CHANGES = 200
EXTRA_CLIENTS = 20
TARGET = 0.010
DEAD_IMAGE = "127.0.0.1:9/x/y:1"  # a closed loopback port: each build fails "unreachable" at once


class Subscriber:
    """The SDK client under test: stamps each ``template.deleted`` when it arrives."""

    def __init__(self) -> None:
        self.ready = asyncio.Event()
        self.arrivals: dict[str, asyncio.Future[float]] = {}
        self.failed: set[str] = set()
        self.all_failed = asyncio.Event()

    def arrival(self, tid: str) -> asyncio.Future[float]:
        return self.arrivals.setdefault(tid, asyncio.get_running_loop().create_future())

    async def run(self, client: In10ntClient) -> None:
        async with contextlib.aclosing(client.events()) as stream:
            async for event in stream:
                if event.type == "open":
                    self.ready.set()
                elif event.type == "template.deleted":
                    self.arrival(str(event.data["templateId"])).set_result(time.perf_counter())
                elif event.data.get("status") == "failed":
                    self.failed.add(str(event.data["templateId"]))
                    if len(self.failed) == CHANGES:
                        self.all_failed.set()


async def idle_reader(url: str, token: str, ready: asyncio.Event) -> None:
    """One more subscriber, reading and dropping everything (the fan-out load)."""
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=None) as http, \
            http.stream("GET", "/events") as response:
        ready.set()
        async for _chunk in response.aiter_bytes():
            pass


async def one_run(url: str, token: str, extra: int) -> tuple[Stats, Stats, Stats]:
    async with In10ntClient(url, token) as client:
        sub = Subscriber()
        ready = [sub.ready] + [asyncio.Event() for _ in range(extra)]
        tasks = [asyncio.create_task(sub.run(client))]
        tasks += [asyncio.create_task(idle_reader(url, token, r)) for r in ready[1:]]
        for r in ready:
            await r.wait()
        ids = [(await client.templates.create(name=f"bench {n}", image=DEAD_IMAGE, registry_type="private"))
               .template_id for n in range(CHANGES)]
        await sub.all_failed.wait()  # every build over: nothing else moves while the deletes are timed
        health: list[float] = []
        for _ in range(CHANGES):
            start = time.perf_counter()
            await client._http.request("GET", "/healthz")
            health.append(time.perf_counter() - start)
        to_event: list[float] = []
        to_answer: list[float] = []
        for tid in ids:
            start = time.perf_counter()
            await client.templates.delete(tid)
            to_answer.append(time.perf_counter() - start)
            to_event.append(await sub.arrival(tid) - start)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    label = f"with {extra} more subscribers" if extra else "one subscriber"
    return (Stats(f"DELETE -> template.deleted event ({label})", to_event),
            Stats(f"DELETE -> its 204 answer ({label})", to_answer),
            Stats(f"GET /healthz round trip, baseline ({label})", health))


def main() -> int:
    verdicts = Verdicts()
    with temp_root("in10nt-bench-events-") as root:
        engine = start_engine(root / "engine", "--no-pull")
        try:
            for extra in (0, EXTRA_CLIENTS):
                event, answer, health = asyncio.run(one_run(engine.url, engine.token, extra))
                header(f"{CHANGES} changes, {'1 subscriber' if not extra else f'{extra + 1} subscribers'}")
                for stats in (health, answer, event):
                    print(stats.line(60))
                print(ratio_line("event / healthz round trip (median)", event.median, health.median))
                print(ratio_line("event / DELETE answer (median)", event.median, answer.median))
                who = "1 subscriber" if not extra else f"{extra + 1} subscribers"
                verdicts.check(f"event received <= {TARGET * 1000:.0f} ms median ({who})",
                               event.median <= TARGET, f"median {event.median * 1000:.2f} ms, "
                               f"p95 {event.p95 * 1000:.2f} ms")
        finally:
            engine.stop()
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

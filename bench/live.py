"""Benchmark the live window (issue: live and truthful): idle requests, event → repaint, loop stalls.

Run by hand: ``python bench/live.py`` (offscreen, ~2 minutes). Real engine processes, the real
app services and main window; every figure printed beside a baseline of the same run.

  idle requests per minute, local engine (event stream)       0
  idle requests per minute, server without events            <= 2
  event -> badge repainted (another client's change)          <= 100 ms median
  event-loop stall with 200 builds streaming their changes    <= 16 ms
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import _common  # noqa: F401  (sets sys.path)
from _common import Verdicts, compile_package, header, start_engine, temp_root

FRAME = 0.016
IDLE_WINDOW = 61.0  # seconds watched per idle figure: a whole minute of the 30 s refresh


class Counting:
    """An httpx transport that counts requests (the app's own client, nothing patched)."""

    def __init__(self) -> None:
        import httpx

        self._inner = httpx.AsyncHTTPTransport()
        self.seen: list[str] = []

    async def handle_async_request(self, request):  # type: ignore[no-untyped-def]
        self.seen.append(f"{request.method} {request.url.path}")
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def services_on(data_dir: Path, counting: Counting, root: Path):  # type: ignore[no-untyped-def]
    import httpx
    from PySide6.QtCore import QSettings

    from in10nt_desktop.api import In10ntClient
    from in10nt_desktop.app.app_services import AppServices
    from in10nt_desktop.app.keychain import KeyStore
    from in10nt_desktop.app.local_engine import LocalEngine
    from in10nt_desktop.app.profiles import LOCAL_NAME, Profile

    transport: httpx.AsyncBaseTransport = counting  # type: ignore[assignment]
    services = AppServices(QSettings(str(root / f"{data_dir.name}.ini"), QSettings.Format.IniFormat),
                           KeyStore(), LocalEngine(data_dir),
                           lambda url, key: In10ntClient(url, key, transport=transport))
    # Start-up is over once the other lists and the image-check discovery have answered too (they
    # wait until the template list is on screen): what follows is what the window does on its own.
    others: set[str] = set()
    services.activate(Profile(LOCAL_NAME, "local"), remember=False)  # (clears both lists at once)
    services.saved.loaded.connect(lambda *_: others.add("saved"))
    services.instances.loaded.connect(lambda *_: others.add("instances"))
    deadline = time.monotonic() + 30
    while not (services.connection.online and services.templates.store.loaded and services.live.mode
               and others == {"saved", "instances"} and services.preflight.available is not None):
        if time.monotonic() > deadline:
            raise RuntimeError(f"not online: {services.connection.state} {services.connection.sentence}")
        await asyncio.sleep(0.02)
    return services


async def idle_requests(verdicts: Verdicts, root: Path) -> None:
    header(f"idle requests over {IDLE_WINDOW:.0f} s, nothing building")
    for label, extra, target in (("local engine, event stream", [], 0), ("server without events", ["--no-events"], 2)):
        engine = start_engine(root / f"idle-{len(extra)}", *extra)
        counting = Counting()
        try:
            services = await services_on(engine.data_dir, counting, root)
            start = len(counting.seen)
            await asyncio.sleep(IDLE_WINDOW)
            made = counting.seen[start:]
            per_minute = len(made) * 60 / IDLE_WINDOW
            print(f"  {label}: mode {services.live.mode}, {len(made)} requests {sorted(set(made))}")
            verdicts.check(f"idle requests per minute, {label} <= {target}", per_minute <= target,
                           f"{per_minute:.1f} per minute")
            await services.close()
        finally:
            engine.stop()


async def event_to_repaint(verdicts: Verdicts, root: Path) -> None:
    from PySide6.QtCore import QSettings

    from in10nt_desktop.api import In10ntClient
    from in10nt_desktop.ui.main_window import MainWindow

    header("another client's change -> the window's row repainted (50 creates)")
    engine = start_engine(root / "repaint", "--no-pull")
    counting = Counting()
    try:
        services = await services_on(engine.data_dir, counting, root)
        window = MainWindow(services, QSettings(str(root / "w.ini"), QSettings.Format.IniFormat))
        window.show()
        table = window.templates_page.table
        painted: dict[str, float] = {}
        arrived = asyncio.Event()

        def on_append(rows: list[object]) -> None:  # paint now, as the next frame would, and note when it is done
            table.viewport().repaint()
            now = time.perf_counter()
            for row in rows:
                painted.setdefault(row.name, now)  # type: ignore[attr-defined]
            arrived.set()

        services.templates.store.added.connect(on_append)
        latencies, round_trips = [], []
        async with In10ntClient(engine.url, engine.token) as other:
            for i in range(50):
                t0 = time.perf_counter()
                await other.engine.info()
                round_trips.append(time.perf_counter() - t0)
                name = f"from-elsewhere-{i}"
                t0 = time.perf_counter()
                await other.templates.create(name=name, image="127.0.0.1:9/x/busybox:1", registry_type="private")
                while name not in painted:
                    arrived.clear()
                    try:
                        await asyncio.wait_for(arrived.wait(), 10)
                    except TimeoutError:
                        raise RuntimeError(f"{name} never arrived ({services.connection.state}, "
                                           f"{services.live.mode})") from None
                latencies.append(painted[name] - t0)
        med = statistics.median(latencies)
        p95 = sorted(latencies)[int(len(latencies) * 0.95)]
        base = statistics.median(round_trips)
        print(f"  create sent -> row painted: median {med * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms; "
              f"baseline GET /healthz round trip {base * 1000:.2f} ms ({med / base:.1f}x)")
        verdicts.check("event -> badge repainted <= 100 ms median", med <= 0.100, f"median {med * 1000:.1f} ms")
        window.close()
        await services.close()
    finally:
        engine.stop()


async def streaming_stalls(verdicts: Verdicts, root: Path) -> None:
    from _gate_process import GateProcess
    from PySide6.QtCore import QSettings
    from stack.registry import start_registry

    from in10nt_desktop.api import In10ntClient
    from in10nt_desktop.ui.main_window import MainWindow

    header("200 builds streaming their changes into the window: event-loop stalls")
    registry = start_registry(root / "registry", "open")
    host, port = registry.host.split(":")
    gate = GateProcess(host, int(port))
    engine = start_engine(root / "stream-engine", "--no-pull", "--max-builds", "200")
    counting = Counting()
    try:
        async with In10ntClient(engine.url, engine.token) as other:
            for i in range(200):
                await other.templates.create(name=f"held {i}", image=f"{gate.host}/x/busybox:{i}",
                                             registry_type="private")
            services = await services_on(engine.data_dir, counting, root)
            window = MainWindow(services, QSettings(str(root / "s.ini"), QSettings.Format.IniFormat))
            window.show()
            applied: list[object] = []
            services.live.event_applied.connect(applied.append)
            lags: list[float] = []
            stop = asyncio.Event()

            async def sampler() -> None:
                loop = asyncio.get_running_loop()
                while not stop.is_set():
                    before = loop.time()
                    await asyncio.sleep(0.005)
                    lags.append(loop.time() - before - 0.005)

            sampling = asyncio.create_task(sampler())
            await asyncio.sleep(3.0)  # the baseline: the same loop and window, nothing arriving
            idle_lags, lags[:] = list(lags), []
            start = len(counting.seen)
            done = asyncio.Event()
            store = services.templates.store
            store.changed.connect(lambda _rows: store.building_count or done.set())
            gate.open()  # 200 builds resolve (and fail: no such tags) at once: a burst of changes
            await asyncio.wait_for(done.wait(), 60)
            await asyncio.sleep(1.0)  # the tail of the burst (queue positions, last repaints)
            stop.set()
            await sampling
            polls = [r for r in counting.seen[start:] if r.endswith("/status") or r == "GET /container-templates"]
            p99 = sorted(lags)[int(len(lags) * 0.99)]
            print(f"  {len(applied)} events applied; {services.templates.store.building_count} still building; "
                  f"status polls {len(polls)}")
            print(f"  loop lag over {len(lags)} samples: max {max(lags) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
                  f"median {statistics.median(lags) * 1000:.2f} ms")
            print(f"  baseline, 3 s of the same window with nothing arriving: max {max(idle_lags) * 1000:.1f} ms, "
                  f"median {statistics.median(idle_lags) * 1000:.2f} ms; load average {os.getloadavg()[0]:.2f} "
                  f"on {os.cpu_count()} cores")
            verdicts.check("loop stall <= 16 ms with 200 builds streaming", max(lags) <= FRAME,
                           f"max {max(lags) * 1000:.1f} ms")
            verdicts.check("0 status polls with events", not polls, f"{len(polls)} polls")
            window.close()
            await services.close()
    finally:
        engine.stop()
        gate.close()
        registry.stop()


def main() -> int:
    compile_package()  # measured as installed: with its bytecode
    from PySide6.QtWidgets import QApplication

    from in10nt_desktop.app.event_loop import new_event_loop

    verdicts = Verdicts()
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)  # closing the measured window must not stop the loop
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    with temp_root("bench-live-") as root, loop:
        loop.run_until_complete(event_to_repaint(verdicts, root))
        loop.run_until_complete(streaming_stalls(verdicts, root))
        if "--quick" not in sys.argv:
            loop.run_until_complete(idle_requests(verdicts, root))
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

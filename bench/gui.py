"""Benchmark the desktop app: start-up, 10,000-row table, search, badge repaint, loop stalls, requests.

Run by hand: ``python bench/gui.py`` (offscreen). Every figure is printed with its baseline
measured in the same run, and a PASS/FAIL line per target of the desktop-app issue:

  start-up (process start -> window painted with the list loaded) <= 2 x a bare QMainWindow+QTableView
  loading 10,000 templates into the table                          <= 300 ms
  a search keystroke re-filters 10,000 rows                        <= 16 ms
  100 badges changing status in one tick repaint                   <= 16 ms
  the event loop never stalls > 16 ms while 200 builds are monitored
  resident memory                                                  <= bare window + 60 MB
  HTTP requests per polling tick (a server without events): 1 with 200 building
  (the live window with events: bench/live.py)
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import _common  # noqa: F401  (sets sys.path)
from _common import Verdicts, header, start_engine, temp_root

from in10nt_desktop.engine.store import Store

HERE = Path(__file__).resolve().parent
RUNS = 5
FRAME = 0.016


def fill(db: Path, rows: int, status: str = "ready") -> None:
    store = Store(db)
    try:
        for i in range(rows):
            t = store.insert_template(name=f"template {i:05d}", description=None, image=f"python:3.{i % 13}-slim",
                                      registry_type="dockerhub", needs_credentials=False, idempotency_key=None)
            store.update_template(t["templateId"], status=status, digest="sha256:" + f"{i:064x}", size_bytes=10**6)
    finally:
        store.close()


def run_timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    env = {**env, "IN10NT_T0": repr(time.time())}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    match = re.search(r"painted ([\d.]+) s after start; max RSS (\d+) MB", out)
    if not match:
        raise RuntimeError(f"no timing in: {out!r}")
    return float(match.group(1)), float(match.group(2))


def startup(verdicts: Verdicts, root: Path) -> None:
    header("start-up: process start -> main window painted with the list loaded (100 templates)")
    data = root / "startup-engine"
    data.mkdir()
    fill(data / "engine.sqlite3", 100)
    engine = start_engine(data, "--no-pull")
    env = {**os.environ, "IN10NT_DATA_DIR": str(data), "HOME": str(root / "home"), "XDG_CONFIG_HOME": str(root / "cfg")}
    try:
        bare = [run_timed([sys.executable, str(HERE / "bare_window.py")], env) for _ in range(RUNS)]
        app = [run_timed([sys.executable, "-m", "in10nt_desktop", "--self-test"], env) for _ in range(RUNS)]
    finally:
        engine.stop()
    bare_s, app_s = statistics.median(t for t, _ in bare), statistics.median(t for t, _ in app)
    bare_mb, app_mb = statistics.median(m for _, m in bare), statistics.median(m for _, m in app)
    print(f"  bare QMainWindow + QTableView   median {bare_s * 1000:7.0f} ms   RSS {bare_mb:.0f} MB  (n={RUNS})")
    print(f"  in10nt-desktop (engine found)   median {app_s * 1000:7.0f} ms   RSS {app_mb:.0f} MB  (n={RUNS})")
    verdicts.check("start-up <= 2 x bare window", app_s <= 2 * bare_s, f"{app_s / bare_s:.2f}x "
                   f"({app_s * 1000:.0f} ms vs {bare_s * 1000:.0f} ms)")
    verdicts.check("resident memory <= bare window + 60 MB", app_mb <= bare_mb + 60,
                   f"+{app_mb - bare_mb:.0f} MB ({app_mb:.0f} vs {bare_mb:.0f} MB)")


def table(verdicts: Verdicts) -> None:
    from PySide6.QtWidgets import QApplication

    from in10nt_desktop.api import StatusInfo, TemplateData
    from in10nt_desktop.app.template_rows import TemplateStore
    from in10nt_desktop.ui.templates_page import TemplatesPage

    app = QApplication.instance() or QApplication([])
    header("10,000 templates in the table (offscreen, one TemplatesPage as in the window)")
    raw = [{"templateId": f"tmpl_{i:016x}", "name": f"template {i}", "image": f"python:3.{i % 13}-slim",
            "registryType": "dockerhub", "status": "building" if i % 100 == 0 else "ready", "error": None,
            "createdAt": f"2026-11-28T10:{i // 600 % 60:02d}:{i % 60:02d}.000Z", "updatedAt": "2026-11-28T10:00:00Z"}
           for i in range(10_000)]
    loads, searches, repaints, merges = [], [], [], []
    for _ in range(RUNS):
        store = TemplateStore()
        page = TemplatesPage(store)
        page.resize(1300, 700)
        page.show()
        app.processEvents()
        t0 = time.perf_counter()
        store.replace_all([TemplateData.model_validate(r) for r in raw])
        page.table.viewport().repaint()
        loads.append(time.perf_counter() - t0)
        for text in ("t", "te", "template 9", "template 99", "python:3.4", ""):
            t0 = time.perf_counter()
            page.proxy.set_search(text)
            searches.append(time.perf_counter() - t0)
        # 100 badges change status in one tick: merge one list answer, then repaint.
        changed = [TemplateData.model_validate({**r, "status": "ready" if r["status"] == "building" else r["status"]})
                   for r in raw]
        app.processEvents()
        t0 = time.perf_counter()
        store.merge(changed, complete=True)
        t1 = time.perf_counter()
        app.processEvents()  # Qt paints what the dataChanged signals made dirty, as in the running app
        repaints.append(time.perf_counter() - t0)
        merges.append(t1 - t0)
        assert not store.building_ids()
        # and one /status answer (the single-build path) for comparison
        store.apply_status(StatusInfo(templateId=raw[1]["templateId"], status="failed", error="x"))
        page.close()
        page.deleteLater()
        app.processEvents()
    med = statistics.median
    for label, values in (("load 10,000 rows (validate + model reset + paint)", loads),
                          ("search keystroke re-filter", searches),
                          ("100 status changes: merge + dataChanged + repaint", repaints),
                          ("  of which the merge of the 10,000-row answer", merges)):
        print(f"  {label:<50}  median {med(values) * 1000:6.1f} ms  max {max(values) * 1000:6.1f}")
    verdicts.check("load 10,000 templates <= 300 ms", med(loads) <= 0.300, f"median {med(loads) * 1000:.0f} ms")
    verdicts.check("search keystroke <= 16 ms", med(searches) <= FRAME, f"median {med(searches) * 1000:.1f} ms, "
                   f"max {max(searches) * 1000:.1f} ms")
    verdicts.check("100 badges repaint <= 16 ms", med(repaints) <= FRAME, f"median {med(repaints) * 1000:.1f} ms "
                   "(merge of a 10,000-row list answer + the paint it causes)")


async def monitored(verdicts: Verdicts, root: Path) -> None:
    """Polling, as against a server without events (the engine with --no-events)."""
    from _gate_process import GateProcess
    from live import Counting, services_on
    from stack.registry import start_registry

    from in10nt_desktop.api import In10ntClient

    header("200 builds polled (a server without events): event-loop stalls and requests per tick")
    registry = start_registry(root / "registry", "open")
    host, port = registry.host.split(":")
    gate = GateProcess(host, int(port))
    engine = start_engine(root / "monitor-engine", "--no-pull", "--max-builds", "200", "--no-events")
    try:
        async with In10ntClient(engine.url, engine.token) as client:
            for i in range(200):
                await client.templates.create(name=f"held {i}", image=f"{gate.host}/x/busybox:{i}",
                                              registry_type="private")
        counting = Counting()
        services = await services_on(engine.data_dir, counting, root)
        monitor = services.monitor
        monitor.interval = monitor.fast_interval = 0.25
        monitor.kick()
        lags: list[float] = []
        ticks: list[int] = []
        monitor.tick_done.connect(lambda n: ticks.append(n))
        stop = asyncio.Event()

        async def sampler() -> None:
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                before = loop.time()
                await asyncio.sleep(0.005)
                lags.append(loop.time() - before - 0.005)

        sampling = asyncio.create_task(sampler())
        start = len(counting.seen)
        await asyncio.sleep(6.0)
        stop.set()
        await sampling
        made = len(counting.seen) - start
        print(f"  {services.templates.store.building_count} building; {made} requests in 6 s, ticks {len(ticks)}")
        p99 = sorted(lags)[int(len(lags) * 0.99)]
        print(f"  loop lag over {len(lags)} samples: max {max(lags) * 1000:.1f} ms, "
              f"p99 {p99 * 1000:.1f} ms, median {statistics.median(lags) * 1000:.2f} ms")
        verdicts.check("loop never stalls > 16 ms with 200 builds polled", max(lags) <= FRAME,
                       f"max lag {max(lags) * 1000:.1f} ms")
        verdicts.check("1 request per tick with 200 building", made <= len(ticks) + 1,
                       f"{made} requests in {len(ticks)} ticks")
        await services.close()
    finally:
        engine.stop()
        gate.close()
        registry.stop()


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from in10nt_desktop.app.event_loop import new_event_loop

    verdicts = Verdicts()
    with temp_root("bench-gui-") as root:
        startup(verdicts, root)
        table(verdicts)
        app = QApplication.instance() or QApplication([])
        loop = new_event_loop(app)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(monitored(verdicts, root))
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the desktop app: start-up, the 10,000-row table, 100,000 templates, polling stalls.

Run by hand: ``python bench/gui.py`` (offscreen; ~6 minutes). Every figure is measured twice:
quiet, then with one core kept busy by a process the bench starts itself (``--quiet`` or
``--busy`` runs one pass only). Each pass measures the bare-window baseline again, prints the
load average beside its figures, and ends with a PASS/FAIL line per target.

Targets (issue 12). Start-up is relative to a bare ``QMainWindow`` + ``QTableView`` of the same
pass: first paint <= 1.3x, list loaded <= 2x. The table and 100k targets are the issue's figures
for a slow laptop whose bare window paints in 267 ms; here each is scaled by this pass's bare
window (a frame of 16 ms there is ~7 ms on a machine whose bare window takes 115 ms):

  load 10,000 templates (parse, rows, table, paint)            <= 100 ms  (scaled)
  a search keystroke over 10,000 rows (filter + paint)         <= 16 ms   (scaled)
  100 status changes in a 10,000-row answer (GUI thread)       <= 16 ms   (scaled)
  100,000 templates: first screenful <= 1 s, searchable <= 3 s (scaled), RSS <= bare + 150 MB,
                     no event-loop stall > 16 ms (scaled) while loading
  10,000 templates: RSS <= bare + 60 MB
  polling 200 builds (a server without events): no stall > 16 ms, 1 request per tick
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import _common  # noqa: F401  (sets sys.path)
from _common import Verdicts, compile_package, header, start_engine, temp_root
from _gui_parts import (
    AppRun,
    Launcher,
    ScaleStalls,
    bare_and_app,
    fill,
    importtime_summary,
    load_average,
    scale_in_process,
    table_figures,
)

RUNS = 7
FRAME = 0.016
REF_BARE = 0.267  # the slow laptop: its bare window paints in 267 ms


class Busy:
    """One core kept busy by a process of its own, for the ``--busy`` pass."""

    def __init__(self) -> None:
        self._proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])

    def stop(self) -> None:
        self._proc.kill()
        self._proc.wait()


def startup(verdicts: Verdicts, tag: str, root: Path, engines: dict[str, Path], runs: int) -> float:
    """Start-up against the engine with 100 templates; RSS with 10,000. Returns the bare window's median."""
    header(f"{tag} start-up: process start -> first paint (last session's rows) -> list loaded (100 templates)")
    engine = start_engine(engines["100"], "--no-pull")
    try:
        bare, app = bare_and_app(root / f"{tag}-home", engines["100"], runs)
    finally:
        engine.stop()
    bare_s = statistics.median(r.first_paint for r in bare)
    bare_mb = statistics.median(r.rss for r in bare)
    paint = statistics.median(r.first_paint for r in app)
    loaded = statistics.median(r.loaded for r in app)
    med = statistics.median
    bare_cpu = med(r.paint_cpu for r in bare)
    print(f"  bare QMainWindow + QTableView     median {bare_s * 1000:6.0f} ms   RSS {bare_mb:.0f} MB  (n={runs})   "
          f"CPU {bare_cpu * 1000:.0f} ms")
    print(f"  in10nt-desktop first paint        median {paint * 1000:6.0f} ms   ({paint / bare_s:.2f}x)   "
          f"CPU {med(r.paint_cpu for r in app) * 1000:.0f} ms ({med(r.paint_cpu for r in app) / bare_cpu:.2f}x)")
    print(f"  in10nt-desktop list loaded        median {loaded * 1000:6.0f} ms   ({loaded / bare_s:.2f}x)   "
          f"CPU {med(r.loaded_cpu for r in app) * 1000:.0f} ms ({med(r.loaded_cpu for r in app) / bare_cpu:.2f}x)   "
          f"RSS {med(r.rss for r in app):.0f} MB   load {load_average()}")
    print("  (CPU: the process's own CPU time at that moment; less disturbed by other processes than the wall clock)")
    verdicts.check(f"{tag}: first paint <= 1.3 x bare window", paint <= 1.3 * bare_s,
                   f"{paint / bare_s:.2f}x ({paint * 1000:.0f} ms vs {bare_s * 1000:.0f} ms)")
    verdicts.check(f"{tag}: list loaded <= 2 x bare window", loaded <= 2 * bare_s,
                   f"{loaded / bare_s:.2f}x ({loaded * 1000:.0f} ms vs {bare_s * 1000:.0f} ms)")
    importtime_summary(root / f"{tag}-imports", engines["100"])

    header(f"{tag} resident memory with 10,000 templates (--self-test, n=3)")
    engine = start_engine(engines["10k"], "--no-pull")
    try:
        rss = [AppRun.run(root / f"{tag}-home10k", engines["10k"]).rss for _ in range(3)]
    finally:
        engine.stop()
    print(f"  in10nt-desktop max RSS median {statistics.median(rss):.0f} MB   bare window {bare_mb:.0f} MB")
    verdicts.check(f"{tag}: RSS with 10,000 templates <= bare + 60 MB", statistics.median(rss) <= bare_mb + 60,
                   f"+{statistics.median(rss) - bare_mb:.0f} MB ({statistics.median(rss):.0f} vs {bare_mb:.0f} MB)")
    return bare_s


def scale(verdicts: Verdicts, tag: str, root: Path, engines: dict[str, Path], bare_s: float, bare_mb: float) -> None:
    factor = bare_s / REF_BARE
    header(f"{tag} 100,000 templates: --self-test (n=3), then the loop's stalls while they load in the window")
    engine = start_engine(engines["100k"], "--no-pull")
    try:
        runs = [AppRun.run(root / f"{tag}-home100k", engines["100k"]) for _ in range(3)]
        stall = asyncio.get_event_loop().run_until_complete(scale_in_process(root, engines["100k"]))
    finally:
        engine.stop()
    first = statistics.median(r.first_page for r in runs)
    loaded = statistics.median(r.loaded for r in runs)
    rss = statistics.median(r.rss for r in runs)
    print(f"  first screenful (first page painted)  median {first * 1000:6.0f} ms   target {1000 * factor:.0f} ms")
    print(f"  fully searchable (list loaded)        median {loaded * 1000:6.0f} ms   target {3000 * factor:.0f} ms")
    print(f"  max RSS                               median {rss:.0f} MB   bare window {bare_mb:.0f} MB   "
          f"load {load_average()}")
    verdicts.check(f"{tag}: 100k first screenful <= 1 s (scaled: {1000 * factor:.0f} ms)", first <= factor,
                   f"{first * 1000:.0f} ms")
    verdicts.check(f"{tag}: 100k fully searchable <= 3 s (scaled: {3000 * factor:.0f} ms)", loaded <= 3 * factor,
                   f"{loaded * 1000:.0f} ms")
    verdicts.check(f"{tag}: 100k RSS <= bare + 150 MB", rss <= bare_mb + 150, f"+{rss - bare_mb:.0f} MB")
    verdicts.check(f"{tag}: 100k loading never stalls > 16 ms (scaled: {FRAME * factor * 1000:.1f} ms)",
                   stall <= FRAME * factor, f"longest piece of work {stall * 1000:.1f} ms (latest 2 ms timer "
                   f"{ScaleStalls.latest_timer * 1000:.1f} ms)")


def table(verdicts: Verdicts, tag: str, bare_s: float) -> None:
    factor = bare_s / REF_BARE
    header(f"{tag} 10,000 templates in the table (offscreen, one TemplatesPage as in the window; "
           f"targets x{factor:.2f})")
    figures = asyncio.get_event_loop().run_until_complete(table_figures(RUNS))
    med = statistics.median
    for label, key in (("load 10,000 rows: rows from the JSON objects, table, paint", "rows"),
                       ("  the same from the answer's bytes through the app's loader (wall)", "load"),
                       ("  the longest piece of work the loop ran during it", "load_stall"),
                       ("  the latest a 2 ms timer fired during it", "load_timer"),
                       ("search keystroke: filter + paint", "search"),
                       ("100 status changes: longest piece of work + the paint after it", "changes"),
                       ("  the latest a 2 ms timer fired meanwhile", "changes_timer"),
                       ("  the whole 10,000-row answer read, compared, applied (wall)", "changes_wall"),
                       ("unchanged 10,000-row answer (hash compare)", "unchanged")):
        values = figures[key]
        print(f"  {label:<58} median {med(values) * 1000:6.1f} ms  max {max(values) * 1000:6.1f}")
    print(f"  load {load_average()}")
    for target, key, limit in (("load 10,000 templates <= 100 ms", "rows", 0.100),
                               ("search keystroke <= 16 ms", "search", FRAME),
                               ("100 status changes <= 16 ms", "changes", FRAME)):
        scaled = limit * factor
        verdicts.check(f"{tag}: {target} (scaled: {scaled * 1000:.1f} ms)", med(figures[key]) <= scaled,
                       f"median {med(figures[key]) * 1000:.1f} ms, max {max(figures[key]) * 1000:.1f} ms")


def monitored(verdicts: Verdicts, tag: str, root: Path) -> None:
    from _gui_parts import polling

    header(f"{tag} 200 builds polled (a server without events): event-loop stalls and requests per tick")
    made, ticks, stalls = asyncio.get_event_loop().run_until_complete(polling(root / f"{tag}-poll"))
    lags = stalls.lags
    p99 = sorted(lags)[int(len(lags) * 0.99)]
    print(f"  {made} requests in {ticks} ticks; longest piece of work {stalls.longest * 1000:.1f} ms; a 2 ms timer "
          f"over {len(lags)} samples: latest {max(lags) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"median {statistics.median(lags) * 1000:.2f} ms   load {load_average()}")
    verdicts.check(f"{tag}: loop never stalls > 16 ms with 200 builds polled", stalls.longest <= FRAME,
                   f"longest piece of work {stalls.longest * 1000:.1f} ms (latest timer {max(lags) * 1000:.1f} ms)")
    verdicts.check(f"{tag}: 1 request per tick with 200 building", made <= ticks + 1,
                   f"{made} requests in {ticks} ticks")


def _qt_message(_mode: object, _context: object, message: str) -> None:
    # The offscreen platform says this for every window shown; it tells a reader nothing.
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def main() -> int:
    compile_package()  # measured as installed: with its bytecode
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from in10nt_desktop.app.event_loop import new_event_loop

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiet", action="store_true", help="the quiet pass only")
    parser.add_argument("--busy", action="store_true", help="the pass with one core kept busy only")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"start-up runs per figure (default {RUNS})")
    args = parser.parse_args()
    passes = ["quiet"] if args.quiet else ["busy"] if args.busy else ["quiet", "busy"]
    verdicts = Verdicts()
    app = QApplication.instance() or QApplication([])
    app.setQuitOnLastWindowClosed(False)  # closing a measured page must not end the loop
    qInstallMessageHandler(_qt_message)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    Launcher.run([sys.executable, "-c", "pass"], dict(os.environ), 30)  # started while the bench is small
    with temp_root("bench-gui-") as root, loop:
        engines = {}
        for name, count in (("100", 100), ("10k", 10_000), ("100k", 100_000)):
            engines[name] = root / f"engine-{name}"
            engines[name].mkdir()
            started = time.perf_counter()
            fill(engines[name] / "engine.sqlite3", count)
            print(f"filled an engine with {count:,} templates in {time.perf_counter() - started:.1f} s")
        for tag in passes:
            busy = Busy() if tag == "busy" else None
            try:
                print(f"\n######## {tag} pass: load average {load_average()}, {os.cpu_count()} cores"
                      + (", one kept busy by the bench" if busy else ""))
                bare_s = startup(verdicts, tag, root, engines, args.runs)
                bare_mb = AppRun.bare_rss
                table(verdicts, tag, bare_s)
                scale(verdicts, tag, root, engines, bare_s, bare_mb)
                monitored(verdicts, tag, root)
            finally:
                if busy is not None:
                    busy.stop()
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

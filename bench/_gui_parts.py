"""The measuring parts of bench/gui.py: app runs, the in-process table figures, the 100k load, polling."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from _common import start_engine

from in10nt_desktop.engine.store import Store

HERE = Path(__file__).resolve().parent


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


def fill(db: Path, count: int, status: str = "ready") -> None:
    """``count`` templates written straight into the engine's store, in one transaction."""
    store = Store(db)
    try:
        store._db.execute("BEGIN")
        store._db.executemany(
            "INSERT INTO templates (id, name, image, registry_type, status, created_at, updated_at, digest, "
            "size_bytes) VALUES (?, ?, ?, 'dockerhub', ?, ?, ?, ?, 1000000)",
            ((f"tmpl_{i:016x}", f"template {i:06d}", f"python:3.{i % 13}-slim", status,
              f"2026-11-{1 + i // 86400 % 28:02d}T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
              "2026-11-28T10:00:00.000Z", f"sha256:{i:064x}") for i in range(count)))
        store._db.execute("COMMIT")
    finally:
        store.close()


# -- the app and the bare window as processes ---------------------------------------------------------
class Launcher:
    """Starts the measured processes from a small process of its own, started before the bench grows.

    Linux keeps a process's peak RSS (``ru_maxrss``) across ``exec``: a child forked from the bench
    after it has loaded 100,000 rows in-process would report the bench's peak as its own.
    """

    _CODE = ("import json, subprocess, sys\n"
             "for line in sys.stdin:\n"
             "    job = json.loads(line)\n"
             "    done = subprocess.run(job['cmd'], env=job['env'], capture_output=True, text=True,"
             " timeout=job['timeout'])\n"
             "    print(json.dumps([done.returncode, done.stdout, done.stderr]), flush=True)\n")
    _proc: subprocess.Popen[str] | None = None

    @classmethod
    def run(cls, cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
        if cls._proc is None:
            cls._proc = subprocess.Popen([sys.executable, "-c", cls._CODE], stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, text=True)
        assert cls._proc.stdin is not None and cls._proc.stdout is not None
        cls._proc.stdin.write(json.dumps({"cmd": cmd, "env": env, "timeout": timeout}) + "\n")
        cls._proc.stdin.flush()
        code, out, err = json.loads(cls._proc.stdout.readline())
        return int(code), str(out), str(err)



_TIMES = re.compile(r"first paint ([\d.]+) s, first page ([\d.]+) s, list loaded ([\d.]+) s after start "
                    r"\(CPU ([\d.]+) s, ([\d.]+) s\); max RSS (\d+) MB")
_BARE = re.compile(r"painted ([\d.]+) s after start \(CPU ([\d.]+) s\); max RSS (\d+) MB")


@dataclass
class AppRun:
    first_paint: float
    first_page: float
    loaded: float
    paint_cpu: float  # the process's CPU seconds at first paint (at the paint, for the bare window)
    loaded_cpu: float
    rss: float
    bare_rss = 0.0  # the bare window's median RSS of the latest start-up figure

    @staticmethod
    def env(home: Path, data_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
        env.update(IN10NT_DATA_DIR=str(data_dir), HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
                   XDG_CACHE_HOME=str(home / "cache"), QT_QPA_PLATFORM="offscreen")
        return env

    @classmethod
    def run(cls, home: Path, data_dir: Path, bare: bool = False, extra: list[str] | None = None,
            env: dict[str, str] | None = None) -> AppRun:
        cmd = [sys.executable, *(extra or []),
               *([str(HERE / "bare_window.py")] if bare else ["-m", "in10nt_desktop", "--self-test"])]
        run_env = {**(env or cls.env(home, data_dir)), "IN10NT_T0": repr(time.time())}
        _code, out, err = Launcher.run(cmd, run_env, 180)
        if bare:
            match = _BARE.search(out)
            if not match:
                raise RuntimeError(f"no timing in: {out!r} {err[-500:]!r}")
            t, cpu = float(match.group(1)), float(match.group(2))
            return cls(t, t, t, cpu, cpu, float(match.group(3)))
        match = _TIMES.search(out)
        if not match:
            raise RuntimeError(f"no timing in: {out!r} {err[-1500:]!r}")
        return cls(*(float(g) for g in match.groups()))


def bare_and_app(home: Path, data_dir: Path, runs: int) -> tuple[list[AppRun], list[AppRun]]:
    """Interleaved runs (drift in the machine's load hits both alike); the app's first run, which
    writes the row cache the later ones paint first, is not counted."""
    AppRun.run(home, data_dir)
    bare, app = [], []
    for _ in range(runs):
        bare.append(AppRun.run(home, data_dir, bare=True))
        app.append(AppRun.run(home, data_dir))
    AppRun.bare_rss = statistics.median(r.rss for r in bare)
    return bare, app


def importtime_summary(home: Path, data_dir: Path) -> None:
    """``python -X importtime``: what is imported before the first paint, and what is left after it."""
    env = {**AppRun.env(home, data_dir), "IN10NT_MARK_PAINT": "1"}
    engine = start_engine(data_dir, "--no-pull")
    try:
        AppRun.run(home, data_dir, env=env)  # writes the cache
        _code, _out, stderr = Launcher.run([sys.executable, "-X", "importtime", "-m", "in10nt_desktop",
                                            "--self-test"], {**env, "IN10NT_T0": repr(time.time())}, 180)
    finally:
        engine.stop()
    before, _, after = stderr.partition("-- first paint --")

    def tops(text: str) -> list[tuple[int, int, str]]:
        out = []
        for line in text.splitlines():
            if line.startswith("import time:") and "self [us]" not in line:
                own, total, name = line[len("import time:"):].split("|")
                out.append((int(own), int(total), name.rstrip()))
        return out

    early, late = tops(before), tops(after)
    print("  python -X importtime (itself slows imports down; the shares are what count):")
    print(f"    before the first paint: {sum(o for o, _, _ in early) / 1000:.0f} ms in {len(early)} modules; "
          "httpx, pydantic imported: "
          + ("yes" if any(n.strip().split(".")[0] in ("httpx", "pydantic") for _, _, n in early) else "no"))
    print(f"    after it, on the way to the list: {sum(o for o, _, _ in late) / 1000:.0f} ms in {len(late)} modules; "
          "largest top-level imports:")
    for _own, total, name in sorted((t for t in late if not t[2].startswith("  ")), key=lambda t: -t[1])[:8]:
        print(f"      {total / 1000:6.1f} ms  {name.strip()}")


# -- in process: the table ---------------------------------------------------------------------------------
def raw_rows(count: int, building_every: int = 100) -> list[dict[str, Any]]:
    return [{"templateId": f"tmpl_{i:016x}", "name": f"template {i}", "description": None,
             "image": f"python:3.{i % 13}-slim", "registryType": "dockerhub",
             "status": "building" if i % building_every == 0 else "ready", "error": None,
             "createdAt": f"2026-11-28T10:{i // 600 % 60:02d}:{i % 60:02d}.{i % 1000:03d}Z",
             "updatedAt": "2026-11-28T10:00:00.000Z", "digest": f"sha256:{i:064x}", "sizeBytes": 10**6}
            for i in range(count)]


class AnswerClient:
    """Plays a list answer from bytes through the SDK's own parse path (no HTTP): a server without paging."""

    def __init__(self, body: bytes) -> None:
        from in10nt_desktop.api.templates import TemplatesResource

        self.body = body
        self.templates = self
        self._resource = TemplatesResource(SimpleNamespace(base_url="bench"))  # type: ignore[arg-type]

    async def list_page(self, *, row: Any, if_none_match: str | None = None, **_kw: Any) -> Any:
        return await self._resource._page(self.body, None, None, if_none_match, row)


class Stalls:
    """How long the event loop is held while something runs, two ways:

    * ``longest``: the longest single piece of work the loop ran (one callback or task step, timed
      around ``asyncio.Handle._run``; Qt's own painting between them is not in it) — what blocks
      a frame;
    * ``lags``: how late a 2 ms timer fires, sampled throughout — what a timer-driven animation
      sees; on qasync a chain of short steps can hold back a timer longer than any one of them.

    Create it with ``await Stalls.start()``: sampling must run before the work starts."""

    def __init__(self) -> None:
        self.lags: list[float] = []
        self.longest = 0.0
        self._stop = asyncio.Event()
        self._running = asyncio.Event()
        self._run = asyncio.events.Handle._run
        stalls = self

        def timed(handle: asyncio.Handle) -> None:
            started = time.perf_counter()
            stalls._run(handle)
            stalls.longest = max(stalls.longest, time.perf_counter() - started)

        asyncio.events.Handle._run = timed  # type: ignore[method-assign]
        self._task = asyncio.ensure_future(self._sample())

    @classmethod
    async def start(cls) -> Stalls:
        stalls = cls()
        await stalls._running.wait()
        stalls.longest = 0.0
        return stalls

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            before = loop.time()
            self._running.set()
            await asyncio.sleep(0.002)
            self.lags.append(max(0.0, loop.time() - before - 0.002))

    async def stop(self) -> float:
        """The longest piece of work (``max(self.lags)`` is the latest timer)."""
        self._stop.set()
        await self._task
        asyncio.events.Handle._run = self._run  # type: ignore[method-assign]
        return self.longest

    @property
    def latest_timer(self) -> float:
        return max(self.lags, default=0.0)


async def table_figures(runs: int) -> dict[str, list[float]]:
    from PySide6.QtWidgets import QApplication

    from in10nt_desktop.app.template_loader import TemplateLoader
    from in10nt_desktop.app.template_rows import TemplateStore
    from in10nt_desktop.ui.templates_page import TemplatesPage

    app = QApplication.instance()
    assert app is not None
    raw = raw_rows(10_000)
    first = json.dumps(raw, separators=(",", ":")).encode()  # a server without paging: one answer
    changed = json.dumps([{**r, "status": "ready" if r["status"] == "building" else r["status"],
                           "updatedAt": "2026-11-28T10:05:00.000Z" if r["status"] == "building" else r["updatedAt"]}
                          for r in raw], separators=(",", ":")).encode()
    out: dict[str, list[float]] = {k: [] for k in ("rows", "load", "load_stall", "load_timer", "search", "changes",
                                                   "changes_timer", "changes_wall", "unchanged")}
    from in10nt_desktop.app.template_rows import TemplateRow

    for _ in range(runs):
        # The figure, measured as it was: rows from the answer's JSON objects, the table, the paint.
        store = TemplateStore()
        page = TemplatesPage(store)
        page.resize(1300, 700)
        page.show()
        app.processEvents()
        t0 = time.perf_counter()
        store.replace_all([TemplateRow.from_json(r) for r in raw])
        page.table.viewport().repaint()
        out["rows"].append(time.perf_counter() - t0)
        page.close()
        page.deleteLater()
        app.processEvents()
        # The same from the answer's bytes, through the loader the app uses (the window stays live).
        store = TemplateStore()
        page = TemplatesPage(store)
        page.resize(1300, 700)
        page.show()
        app.processEvents()
        client = AnswerClient(first)

        async def call(fn: Any, client: AnswerClient = client) -> Any:
            return await fn(client)

        loader = TemplateLoader(store, call)
        stalls = await Stalls.start()
        t0 = time.perf_counter()
        await loader.load(lambda _t: None)
        out["load_stall"].append(await stalls.stop())
        out["load_timer"].append(stalls.latest_timer)
        page.table.viewport().repaint()
        out["load"].append(time.perf_counter() - t0)
        for text in ("t", "te", "template 9", "template 99", "python:3.4", ""):
            t0 = time.perf_counter()
            page.model.set_search(text)
            page.table.viewport().repaint()
            out["search"].append(time.perf_counter() - t0)
        client.body = changed  # 100 builds finished: one answer with 100 rows changed
        stalls = await Stalls.start()
        t0 = time.perf_counter()
        await loader.load(lambda _t: None)
        t1 = time.perf_counter()
        longest = await stalls.stop()  # stopped first: processEvents must not run the sampler's task inside ours
        t2 = time.perf_counter()
        app.processEvents()  # Qt paints what the dataChanged signals made dirty, as in the running app
        paint = time.perf_counter() - t2
        out["changes_wall"].append(t1 - t0)
        out["changes"].append(longest + paint)  # the longest piece of work, and the paint after it
        out["changes_timer"].append(stalls.latest_timer)
        assert not store.building_ids()
        t0 = time.perf_counter()
        await loader.load(lambda _t: None)  # the same answer again: a hash compare, nothing parsed
        out["unchanged"].append(time.perf_counter() - t0)
        page.close()
        page.deleteLater()
        app.processEvents()
    return out


# -- in process: 100,000 templates into the window ---------------------------------------------------------
class ScaleStalls:
    latest_timer = 0.0

async def scale_in_process(root: Path, data_dir: Path) -> float:
    """Loads the engine's list into a real main window (shown); returns the loop's longest stall meanwhile."""
    from PySide6.QtCore import QSettings

    from in10nt_desktop.app.app_services import AppServices
    from in10nt_desktop.app.keychain import KeyStore
    from in10nt_desktop.app.local_engine import LocalEngine
    from in10nt_desktop.app.profiles import LOCAL_NAME, Profile
    from in10nt_desktop.ui.main_window import MainWindow

    settings = QSettings(str(root / "scale.ini"), QSettings.Format.IniFormat)
    services = AppServices(settings, KeyStore(), LocalEngine(data_dir))
    window = MainWindow(services, settings)
    window.show()
    loaded = asyncio.Event()
    services.templates.loaded.connect(loaded.set)
    paged = asyncio.Event()
    services.templates.page_loaded.connect(lambda _rows: paged.set())
    services.activate(Profile(LOCAL_NAME, "local"), remember=False)
    await asyncio.wait_for(paged.wait(), 60)  # connected, the SDK imported (a stall of its own, at start-up)
    stalls = await Stalls.start()
    await asyncio.wait_for(loaded.wait(), 120)
    stall = await stalls.stop()
    ScaleStalls.latest_timer = stalls.latest_timer
    rows = len(services.templates.store)
    window.close()
    await services.close()
    if rows < 100_000:
        raise RuntimeError(f"only {rows} templates loaded")
    return stall


# -- in process: polling 200 builds ------------------------------------------------------------------------
async def polling(root: Path) -> tuple[int, int, Stalls]:
    from _gate_process import GateProcess
    from live import Counting, services_on
    from stack.registry import start_registry

    from in10nt_desktop.api import In10ntClient

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
        # (services_on returns once start-up is over: the other lists, asked after the template list, are in)
        services = await services_on(engine.data_dir, counting, root)
        monitor = services.monitor
        monitor.interval = monitor.fast_interval = 0.25
        monitor.kick()
        ticks: list[int] = []
        monitor.tick_done.connect(lambda n: ticks.append(n))
        stalls = await Stalls.start()
        start = len(counting.seen)
        await asyncio.sleep(6.0)
        await stalls.stop()
        made = len(counting.seen) - start
        await services.close()
        return made, len(ticks), stalls
    finally:
        engine.stop()
        gate.close()
        registry.stop()

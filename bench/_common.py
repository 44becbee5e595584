"""Shared helpers for the hand-run benchmarks in bench/ (not part of the package or the tests).

* ``start_engine``: run ``in10nt engine serve --port 0`` as a subprocess on a data dir and
  wait for its ``engine.json`` (written only once the server listens);
* ``Stats``/``summary``: median and p95 of a list of seconds, printed in milliseconds;
* ``Verdicts``: collects targets and prints one ``PASS``/``FAIL`` line per target at the end.

The benchmarks reuse the test stack (tests/stack/) by putting ``tests/`` on ``sys.path``.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ENGINE_START_TIMEOUT = 30.0


# -- statistics ------------------------------------------------------------------------------
def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile (with 20 samples: the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(0.95 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Stats:
    name: str
    samples: list[float]  # seconds

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return p95(self.samples)

    @property
    def min(self) -> float:
        return min(self.samples)

    @property
    def max(self) -> float:
        return max(self.samples)

    def line(self, width: int = 46) -> str:
        return (f"  {self.name:<{width}} n={len(self.samples):<4} median {ms(self.median)}  "
                f"p95 {ms(self.p95)}  min {ms(self.min)}  max {ms(self.max)}")


def ms(seconds: float) -> str:
    value = seconds * 1000
    if value >= 1000:
        return f"{value:8.0f} ms"
    if value >= 10:
        return f"{value:8.1f} ms"
    return f"{value:8.2f} ms"


def timed(fn: Callable[[], object], runs: int, warmup: int = 0, name: str = "") -> Stats:
    """Call ``fn`` ``warmup`` times untimed, then ``runs`` times timed with perf_counter."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return Stats(name, samples)


def ratio_line(label: str, num: float, den: float) -> str:
    return f"  {label:<46} {num / den:8.2f}x   ({ms(num).strip()} / {ms(den).strip()})"


# -- verdicts --------------------------------------------------------------------------------
@dataclass
class Verdicts:
    rows: list[tuple[str, bool, str]] = field(default_factory=list)

    def check(self, target: str, ok: bool, detail: str) -> bool:
        self.rows.append((target, ok, detail))
        return ok

    def fail(self, target: str, detail: str) -> None:
        self.rows.append((target, False, detail))

    def print(self) -> int:
        print()
        for target, ok, detail in self.rows:
            print(f"{'PASS' if ok else 'FAIL'}: {target} -- {detail}")
        return 0 if self.rows and all(ok for _, ok, _ in self.rows) else 1


def compile_package() -> None:
    """Write the app's bytecode, as an install does (pip compiles a wheel's modules; the bundles ship
    them). Without it, a start compiles every module of ours from source (~40 ms here) — and this
    machine's environment sets PYTHONDONTWRITEBYTECODE, so no run would ever write it."""
    import compileall

    import in10nt_desktop

    compileall.compile_dir(Path(in10nt_desktop.__file__).parent, quiet=1)


def header(title: str) -> None:
    print(f"\n== {title}")


# -- temp dirs -------------------------------------------------------------------------------
@contextmanager
def temp_root(prefix: str) -> Iterator[Path]:
    """A short temp path (podman's unix socket path must stay under 108 bytes)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- the engine as a subprocess ----------------------------------------------------------------
def in10nt_command() -> list[str]:
    script = Path(sys.executable).parent / "in10nt"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "in10nt_desktop.cli.main"]


@dataclass
class Engine:
    proc: subprocess.Popen[bytes]
    data_dir: Path
    url: str
    token: str
    log_path: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError as exc:
            return f"<no log: {exc}>"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait()


def start_engine(data_dir: Path, *extra: str, env: dict[str, str] | None = None,
                 log_level: str = "warning") -> Engine:
    """Start ``in10nt engine serve --port 0 --data-dir DATA_DIR EXTRA...``; wait for engine.json."""
    data_dir.mkdir(parents=True, exist_ok=True)
    runtime = data_dir / "engine.json"
    runtime.unlink(missing_ok=True)
    log_path = data_dir.parent / f"{data_dir.name}-engine.log"
    cmd = [*in10nt_command(), "engine", "serve", "--port", "0", "--data-dir", str(data_dir),
           "--log-level", log_level, *extra]
    run_env = dict(env if env is not None else os.environ)
    run_env.pop("IN10NT_REGISTRY_MIRRORS", None)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                env=run_env, start_new_session=True)
    deadline = time.monotonic() + ENGINE_START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"engine exited {proc.returncode}:\n{_tail(log_path)}")
            try:
                info = json.loads(runtime.read_text())
                if info.get("pid") == proc.pid:
                    return Engine(proc, data_dir, str(info["url"]), str(info["token"]), log_path)
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"engine wrote no engine.json in {ENGINE_START_TIMEOUT}s:\n{_tail(log_path)}")
            time.sleep(0.02)
    except BaseException:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        raise


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"<no log: {exc}>"


def wait_idle(client: object, timeout: float = 30.0) -> int:
    """Poll ``/healthz`` until no build is active; returns the last ``activeBuilds``."""
    deadline = time.monotonic() + timeout
    active = -1
    while time.monotonic() < deadline:
        active = int(client.get("/healthz").json()["activeBuilds"])  # type: ignore[attr-defined]
        if active == 0:
            return 0
        time.sleep(0.05)
    return active

"""Finds the local engine or starts it, so the app works on a fresh computer with no account.

A running engine announces itself in ``DATA_DIR/engine.json``; otherwise the app starts
``in10nt engine serve`` as a child process with the user's data dir and stops it on exit, but
only if it started it (an engine the user runs in a terminal keeps running).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from in10nt_desktop.engine.runtime_file import RUNTIME_FILE, default_data_dir, read_runtime
from in10nt_desktop.platforms import child_process_options, console_twin

log = logging.getLogger(__name__)
START_TIMEOUT = 30.0
# Engines deliberately left running for builds in flight: kept referenced so that dropping their
# Popen does not look like a forgotten child (the OS re-parents them when the app exits).
_LEFT_RUNNING: list[subprocess.Popen[bytes]] = []


@atexit.register
def _reap_left_running() -> None:
    """One that has finished its builds and stopped meanwhile is reaped now (no zombie, no warning)."""
    for proc in _LEFT_RUNNING:
        proc.poll()


class EngineStartError(Exception):
    """The engine could not be found or started; ``str()`` says why and where its log is."""


@dataclass(frozen=True)
class EngineEndpoint:
    url: str
    token: str

    def __repr__(self) -> str:
        return f"EngineEndpoint(url={self.url!r}, token=<hidden>)"


def engine_command() -> list[str]:
    """How to start the engine from this program (a frozen bundle has no ``in10nt`` script).

    The Windows bundle's ``in10nt-desktop.exe`` is a GUI program, without standard streams to log
    to; its console twin ``in10nt.exe`` beside it runs the engine (with no window: see
    ``platforms.child_process_options``).
    """
    if getattr(sys, "frozen", False):
        return [str(console_twin(Path(sys.executable))), "engine", "serve"]
    return [sys.executable, "-m", "in10nt_desktop.cli.main", "engine", "serve"]


async def _answers(url: str, token: str) -> bool:
    from in10nt_desktop.api import In10ntClient  # httpx: loaded after the window's first paint

    async with In10ntClient(url, token) as client:
        return await client.health(timeout=2.0)


class LocalEngine:
    def __init__(self, data_dir: Path | None = None, extra_args: list[str] | None = None) -> None:
        self.data_dir = data_dir or default_data_dir()
        self._extra = extra_args or []
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.adopted = False  # an engine an earlier start left running for its builds, taken back

    @property
    def started_by_us(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def owned(self) -> bool:
        """This app started the engine (it may have died since): it is ours to restart and to stop."""
        return self._proc is not None

    @property
    def ours(self) -> bool:
        """Started by this app, or left running by an earlier start of it and taken back: quitting
        stops it (after asking, when builds run)."""
        return self.owned or self.adopted

    @property
    def alive(self) -> bool:
        """Our engine's process still runs (also reaps it when it died, so its pid stops looking alive)."""
        return self._proc is not None and self._proc.poll() is None

    async def announced(self) -> EngineEndpoint | None:
        """The engine ``engine.json`` announces, if its process is alive (a local file read, no request)."""
        if self._proc is not None:
            self._proc.poll()  # reap a dead child first: a zombie's pid still looks alive
        info = await asyncio.to_thread(read_runtime, self.data_dir)
        return None if info is None else EngineEndpoint(str(info["url"]), str(info["token"]))

    async def announced_alive(self) -> bool:
        return await self.announced() is not None

    def detach(self) -> None:
        """Leave our engine running after the app quits (builds in flight); the next start finds it
        through engine.json and uses it like any engine it did not start."""
        if self._proc is not None:
            log.info("leaving the local engine (pid %d) running in the background", self._proc.pid)
            _LEFT_RUNNING.append(self._proc)
        self._proc = None
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            with contextlib.suppress(OSError):
                self._log.close()
            self._log = None

    async def ensure(self, check: bool = True) -> EngineEndpoint:
        """The running engine, or a new one. ``check=False`` trusts a live pid in engine.json without
        a health request (start-up: the first real request checks it anyway, ~40 ms sooner)."""
        info = await asyncio.to_thread(read_runtime, self.data_dir)
        if info is not None and (not check or await _answers(str(info["url"]), str(info["token"]))):
            return EngineEndpoint(str(info["url"]), str(info["token"]))
        if self.started_by_us:
            return await self._wait_for_announcement()
        await asyncio.to_thread(self._spawn)
        return await self._wait_for_announcement()

    def _spawn(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.data_dir / "engine.log"
        self._close_log()  # a restart after a crash: the dead engine's handle goes first
        self._log = open(log_path, "ab")
        # Named its owner: if this app dies without stopping it (a crash, the display gone), the engine
        # stops by itself once its builds are done.
        cmd = [*engine_command(), "--port", "0", "--data-dir", str(self.data_dir), "--log-level", "info",
               "--owner-pid", str(os.getpid()), *self._extra]
        log.info("starting the local engine: %s", " ".join(cmd))
        # Its own session: a Ctrl+C in the terminal that started the app must not also kill the engine
        # (the app decides, and may leave it running for builds in flight).
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                      **child_process_options())

    async def _wait_for_announcement(self) -> EngineEndpoint:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT
        assert self._proc is not None
        while loop.time() < deadline:
            code = self._proc.poll()
            if code is not None:
                tail = await asyncio.to_thread(self._log_tail)
                raise EngineStartError(f"The local engine stopped while starting (exit code {code}). "
                                       f"Its log ({self.data_dir / 'engine.log'}) ends with: {tail}")
            info = await asyncio.to_thread(read_runtime, self.data_dir)
            if info is not None and info.get("pid") == self._proc.pid:
                return EngineEndpoint(str(info["url"]), str(info["token"]))
            await asyncio.sleep(0.05)
        raise EngineStartError(f"The local engine did not start within {START_TIMEOUT:.0f} s; see "
                               f"{self.data_dir / 'engine.log'}.")

    def _log_tail(self) -> str:
        try:
            lines = (self.data_dir / "engine.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return lines[-1][:300] if lines else "(empty)"

    async def stop(self) -> None:
        await asyncio.to_thread(self.stop_now)

    def stop_now(self) -> None:
        """Stop the engine if this app started it (it finishes its answers and removes engine.json)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            self._forget_announcement(proc.pid)
        self._close_log()

    def _forget_announcement(self, pid: int) -> None:
        """An engine that could not clean up (killed; on Windows ``terminate`` is always a kill) leaves
        its engine.json behind: remove it if it is still the one this child wrote."""
        path = self.data_dir / RUNTIME_FILE
        try:
            stale = json.loads(path.read_text()).get("pid") == pid
        except (OSError, ValueError, AttributeError):
            return
        if stale:
            with contextlib.suppress(OSError):
                path.unlink()

    def __del__(self) -> None:
        proc: Any = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.terminate()

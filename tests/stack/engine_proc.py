"""The local engine as a user runs it: ``in10nt engine serve`` in its own process.

Tests drive it over HTTP and through the CLI, kill it to simulate crashes, and restart it on
the same data directory, so nothing here reaches into the engine's objects.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from in10nt_desktop.api import In10ntClient


@dataclass
class EngineProc:
    data_dir: Path
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    log_path: Path
    args: list[str] = field(default_factory=list)

    def client(self, **kw: object) -> In10ntClient:
        return In10ntClient(self.url, self.token, **kw)  # type: ignore[arg-type]

    def http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def cli(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run ``in10nt`` as a user would: it finds this engine through IN10NT_DATA_DIR's engine.json."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
        full_env["IN10NT_DATA_DIR"] = str(self.data_dir)
        full_env.update(env or {})
        return subprocess.run([sys.executable, "-m", "in10nt_desktop.cli.main", *args], input=stdin,
                              capture_output=True, text=True, env=full_env, timeout=timeout, check=False)

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text()[-3000:]
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def crash(self) -> None:
        """SIGKILL: no shutdown code runs, as after a power cut or an OOM kill."""
        self.stop(signal.SIGKILL)


def _soft_open_files(limit: int) -> Callable[[], None]:
    def apply() -> None:  # in the child, before exec: the engine starts with this soft limit
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    return apply


def start_engine(data_dir: Path, *, mirrors: dict[str, str] | None = None, docker_host: str | None = None,
                 extra: list[str] | None = None, timeout: float = 30, events: bool = True,
                 soft_open_files: int | None = None) -> EngineProc:
    """``events=False`` plays a server without an event stream (``--no-events``: GET /events is a 404);
    ``soft_open_files`` starts it with that soft limit on open files, as a desktop session might."""
    data_dir.mkdir(parents=True, exist_ok=True)
    args = ["engine", "serve", "--port", "0", "--data-dir", str(data_dir), "--log-level", "info"]
    for registry, url in (mirrors or {}).items():
        args += ["--registry-mirror", f"{registry}={url}"]
    # No engine unless asked: the default sockets of the machine must not leak into a test.
    args += ["--docker-host", docker_host or f"unix://{data_dir}/no-container-engine.sock"]
    if not events:
        args.append("--no-events")
    args += extra or []
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IN10NT_", "DOCKER_"))}
    log_path = data_dir / f"engine-{time.monotonic_ns()}.log"
    runtime = data_dir / "engine.json"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "in10nt_desktop.cli.main", *args], stdout=log,
                                stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_soft_open_files(soft_open_files) if soft_open_files else None)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"engine exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            info = json.loads(runtime.read_text())
        except (OSError, ValueError):
            info = None
        if info and info.get("pid") == proc.pid:
            return EngineProc(data_dir, proc, info["url"], info["token"], log_path, args)
        time.sleep(0.05)
    proc.kill()
    proc.wait(5)
    raise RuntimeError(f"engine did not announce itself within {timeout} s:\n{log_path.read_text()[-3000:]}")


def wait_status(engine: EngineProc, template_id: str, want: set[str], timeout: float = 60) -> dict[str, object]:
    """Poll ``/status`` until the status is in ``want``; returns the template."""
    deadline = time.monotonic() + timeout
    with engine.http() as http:
        while True:
            status = http.get(f"/container-templates/{template_id}/status").json()
            if status.get("status") in want:
                return dict(http.get(f"/container-templates/{template_id}").json())
            if time.monotonic() > deadline:
                raise AssertionError(f"{template_id} still {status} after {timeout} s\n{engine.log_tail()}")
            time.sleep(0.1)


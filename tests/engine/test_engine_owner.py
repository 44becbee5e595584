"""The engine's owner (``--owner-pid``, ``ownerPid``): an engine whose app died without stopping it
(a crash, the display gone) stops by itself once no build runs — never mid-build, never left behind.

Real engine processes; the "app" is a real process the test ends.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack.builds_api import api, create, poll
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.gate_proxy import GateProxy
from stack.images import StackImages

EXIT_WAIT = 30  # seconds: the owner is looked at every 2 s, and the build count every 0.5 s


@pytest.fixture
def apps() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Stand-ins for desktop apps: processes that live until the test ends them."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait(5)


def app(apps: list[subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    apps.append(proc)
    return proc


def end(proc: subprocess.Popen[bytes]) -> None:
    proc.kill()
    proc.wait(5)


def test_an_engine_whose_app_is_gone_stops_by_itself(tmp_path: Path, apps: list[subprocess.Popen[bytes]]) -> None:
    owner = app(apps)
    engine = start_engine(tmp_path / "engine", extra=["--owner-pid", str(owner.pid)])
    try:
        health = api(engine, "GET", "/healthz").json()
        assert health["ownerPid"] == owner.pid and health["ownerSince"] <= time.time()
        end(owner)  # the app crashed: nobody will ask the engine to stop
        assert engine.proc.wait(EXIT_WAIT) == 0
        assert not (tmp_path / "engine" / "engine.json").exists(), "it left its address behind"
        assert f"pid {owner.pid}) is gone" in engine.log_path.read_text()
    finally:
        engine.stop()


def test_a_build_in_flight_is_finished_first(tmp_path: Path, apps: list[subprocess.Popen[bytes]],
                                             images: StackImages, gate: GateProxy) -> None:
    owner = app(apps)
    engine = start_engine(tmp_path / "engine", extra=["--owner-pid", str(owner.pid)])
    try:
        tid = create(engine, "held", f"{gate.host}/{images.open_busybox.repo}:1")["templateId"]
        end(owner)
        info = poll(lambda: (h := api(engine, "GET", "/healthz").json())["exitWhenIdle"] and h, "exit when idle")
        assert info["activeBuilds"] == 1 and info["ownerPid"] is None
        gate.open()  # the registry answers: the build ends, then the engine
        assert wait_status(engine, tid, {"ready", "failed"})["status"] == "ready"
        assert engine.proc.wait(EXIT_WAIT) == 0
    finally:
        engine.stop()


def test_an_app_taking_the_engine_back_becomes_its_owner(tmp_path: Path,
                                                         apps: list[subprocess.Popen[bytes]]) -> None:
    first, second = app(apps), app(apps)
    engine: EngineProc = start_engine(tmp_path / "engine", extra=["--owner-pid", str(first.pid)])
    try:
        taken = api(engine, "POST", "/engine/exit-when-idle", json={"enabled": False, "ownerPid": second.pid})
        assert taken.status_code == 200 and taken.json() == {"exitWhenIdle": False}
        assert api(engine, "GET", "/healthz").json()["ownerPid"] == second.pid
        for bad in (0, -5, "123", 2**31, True):
            refused = api(engine, "POST", "/engine/exit-when-idle", json={"enabled": False, "ownerPid": bad})
            assert refused.status_code == 422 and refused.json()["error"]["field"] == "ownerPid", bad
        end(second)  # the owner now: its end ends the engine
        assert engine.proc.wait(EXIT_WAIT) == 0
    finally:
        engine.stop()


def test_an_app_reads_a_reused_owner_pid_as_gone(apps: list[subprocess.Popen[bytes]]) -> None:
    """The engine names its owner with the time it was named: a process given that PID later is not it."""
    from in10nt_desktop.app.connection import _owner_gone

    someone = app(apps)
    assert not _owner_gone({"ownerPid": someone.pid, "ownerSince": time.time()})
    assert _owner_gone({"ownerPid": someone.pid, "ownerSince": time.time() - 3600})  # started after: not the owner
    end(someone)
    assert _owner_gone({"ownerPid": someone.pid, "ownerSince": time.time()})
    assert not _owner_gone({"ownerPid": None}) and not _owner_gone({})

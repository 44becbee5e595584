"""The platform layer, run on the platform the tests run on (CI runs this file on Linux, macOS and Windows)."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from in10nt_desktop import platforms
from in10nt_desktop.engine.runtime_file import RUNTIME_FILE, default_data_dir, read_runtime

HOLD_LOCK = textwrap.dedent("""
    import sys
    from pathlib import Path
    from in10nt_desktop.platforms import exclusive_lock
    with exclusive_lock(Path(sys.argv[1])):
        print("locked", flush=True)
        sys.stdin.read()
""")


def test_a_second_holder_of_the_lock_is_refused_until_the_first_one_dies(tmp_path: Path) -> None:
    lock = tmp_path / "engine.lock"
    with subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(lock)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "locked"
            with pytest.raises(platforms.AlreadyLocked), platforms.exclusive_lock(lock):
                pass
        finally:
            holder.kill()  # no clean-up code runs: the OS must free the lock by itself
            holder.wait(10)
    with platforms.exclusive_lock(lock):
        assert lock.exists()


def test_the_lock_is_free_again_after_the_block(tmp_path: Path) -> None:
    lock = tmp_path / "engine.lock"
    with platforms.exclusive_lock(lock):
        pass
    with platforms.exclusive_lock(lock):
        pass


def test_this_process_is_alive_and_a_finished_one_is_not() -> None:
    assert platforms.process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(30)
    pid = child.pid
    del child  # Windows keeps an exited process while a handle to it is open (Popen holds one)
    gc.collect()
    assert not platforms.process_alive(pid)
    assert not platforms.process_alive(0)
    assert not platforms.process_alive(-1)


def test_a_process_started_after_the_announcement_is_not_the_engine_that_wrote_it() -> None:
    assert platforms.process_alive(os.getpid(), started_by=time.time())
    assert not platforms.process_alive(os.getpid(), started_by=time.time() - 3600)


def test_engine_json_naming_a_reused_pid_is_not_a_running_engine(tmp_path: Path) -> None:
    path = tmp_path / RUNTIME_FILE
    path.write_text(json.dumps({"url": "http://127.0.0.1:1", "token": "t", "pid": os.getpid()}))
    assert read_runtime(tmp_path) == {"url": "http://127.0.0.1:1", "token": "t", "pid": os.getpid()}
    hour_ago = time.time() - 3600  # written before this process started: its PID was someone else's
    os.utime(path, (hour_ago, hour_ago))
    assert read_runtime(tmp_path) is None


def test_quit_signals_reach_a_handler() -> None:
    seen: list[int] = []
    for sig in platforms.quit_signals():
        old = signal.signal(sig, lambda number, _frame: seen.append(number))
        try:
            signal.raise_signal(sig)
        finally:
            signal.signal(sig, old)
    assert seen == [int(s) for s in platforms.quit_signals()]


def test_peak_resident_memory_is_in_mebibytes() -> None:
    # A Python process with pytest loaded holds tens of MiB: KiB or bytes taken for MiB would be 1000x off.
    assert 5 < platforms.peak_resident_memory_mb() < 5000


def test_a_background_child_started_with_the_options_runs_and_is_heard() -> None:
    out = subprocess.run([sys.executable, "-c", "print('engine says hi')"], capture_output=True, text=True,
                         timeout=60, check=True, **platforms.child_process_options())
    assert out.stdout.strip() == "engine says hi"


def test_the_console_twin_is_used_only_on_windows_and_only_when_it_is_there(tmp_path: Path) -> None:
    gui = tmp_path / "in10nt-desktop.exe"
    assert platforms.console_twin(gui) == gui
    (tmp_path / "in10nt.exe").touch()
    assert platforms.console_twin(gui) == (tmp_path / "in10nt.exe" if sys.platform == "win32" else gui)


def test_the_engine_data_dir_is_the_users_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IN10NT_DATA_DIR", raising=False)
    assert default_data_dir() == platforms.app_data_dir() / "engine"
    assert platforms.app_data_dir().name == "in10nt-desktop"
    assert platforms.app_data_dir().is_absolute()


@pytest.mark.skipif(sys.platform == "win32", reason="zombies are a POSIX state")
def test_an_exited_child_not_yet_reaped_is_not_alive() -> None:
    """A killed engine that was our child stays a zombie until reaped: it answers nothing."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while Path(f"/proc/{child.pid}/stat").read_text().split(") ", 1)[1][0] != "Z":
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.01)
        assert not platforms.process_alive(child.pid)
    finally:
        child.wait()


@pytest.mark.skipif(sys.platform != "linux", reason="elsewhere psutil itself answers")
def test_linux_reads_proc_as_psutil_does() -> None:
    """Linux answers from /proc without importing psutil: the same state and start time psutil gives."""
    import psutil

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for pid in (os.getpid(), child.pid):
            state, started = platforms._linux_process(pid) or ("", 0.0)
            assert state in ("R", "S") and abs(started - psutil.Process(pid).create_time()) < 0.05
        child.kill()  # not reaped yet: a zombie once the kernel is done with it
        deadline = time.monotonic() + 10
        while (platforms._linux_process(child.pid) or ("",))[0] != "Z":
            assert time.monotonic() < deadline, "the killed child never became a zombie"
            time.sleep(0.01)
        assert not platforms.process_alive(child.pid), "a zombie serves nothing"
    finally:
        child.kill()
        child.wait(10)
    assert platforms._linux_process(child.pid) is None and not platforms.process_alive(child.pid)

"""What differs between Linux, macOS and Windows, in one place (no Qt; the SDK, CLI, engine and app use it).

Named ``platforms`` rather than ``platform`` so it is never mistaken for the standard library's
module of that name, nor for the engine's ``--platform os/arch`` setting (an image platform).

What lives here, and what each platform does:

- **Data dir**: ``platformdirs`` (``~/.local/share`` on Linux, ``~/Library/Application Support``
  on macOS, ``%LOCALAPPDATA%`` on Windows). Settings are Qt's ``QSettings``, which already
  follows each platform's convention, so there is no config dir of our own.
- **Peak resident memory** (the ``--self-test`` line): ``getrusage`` on POSIX (Linux counts
  KiB, macOS bytes), psutil's peak working set on Windows, which has no ``resource`` module.
- **Is the engine's process alive**: ``/proc`` on Linux (read as psutil reads it, without its ~7 ms
  import on the app's way to its first list and on every CLI command), psutil elsewhere; see
  ``process_alive``.
- **Open files**: the engine raises its soft ``RLIMIT_NOFILE`` to the hard limit (macOS: at most
  OPEN_MAX, 10,240); Windows counts no sockets against a per-process file limit.
- **Single-instance lock** on the engine's data dir: ``flock`` on POSIX, ``msvcrt.locking`` on
  Windows; both are released by the OS when the process dies, so a crash never leaves it held.
- **Signals that mean "quit"**: SIGTERM and SIGINT on POSIX; SIGINT and SIGBREAK on Windows,
  where SIGTERM can be given a handler but is never delivered (``TerminateProcess`` cannot be
  caught).
- **Child processes** (the engine the app starts): a session of its own on POSIX, a process group
  of its own on Windows, so a Ctrl+C in the app's terminal does not reach it; on Windows also
  ``CREATE_NO_WINDOW``, since a console program started from the GUI would open a console window.
- **Container engine sockets**: where Docker, Podman, Colima, OrbStack and Rancher Desktop put
  their Docker Engine API on each platform.

Task timeouts need no process group on the host: a task runs inside its (Linux) container through
the Docker API's exec, and is killed there by a second exec (``engine/task_runs.py``), which is
the same whether the container engine runs natively (Linux) or in a VM (Docker Desktop, Podman
machine, Colima, OrbStack on macOS and Windows).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)
APP_DIR_NAME = "in10nt-desktop"
# engine.json is written after the engine has started; a process that started later than that
# (plus this much clock slack) holds a reused PID and is not the engine that wrote it.
START_SLACK_SECONDS = 2.0


def app_data_dir() -> Path:
    """This user's data dir for In10nt Desktop (the engine keeps its store under ``engine/``)."""
    return Path(platformdirs.user_data_dir(APP_DIR_NAME, appauthor=False))


def peak_resident_memory_mb() -> float:
    """The most memory this process has held resident so far, in MiB."""
    if sys.platform == "win32":
        import psutil

        return float(psutil.Process().memory_info().peak_wset) / 2**20
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # macOS: bytes; Linux: KiB


def raise_open_files_limit() -> int | None:
    """Raise this process's soft limit on open files to its hard limit; returns the limit now in force.

    Desktop sessions often start programs with a soft limit of 1,024 (macOS: 256), which a few
    hundred idle connections exhaust; the hard limit is usually far higher and needs no privilege.
    """
    if sys.platform == "win32":
        return None  # sockets there are handles, not counted against a per-process file limit
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return None
    target = hard
    if hard == resource.RLIM_INFINITY or sys.platform == "darwin":
        target = min(hard, 10_240) if hard != resource.RLIM_INFINITY else 10_240  # macOS refuses more than OPEN_MAX
    if soft >= target:
        return soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open files limit from %d to %d: %s", soft, target, exc)
        return soft
    log.info("open files limit raised from %d to %d", soft, target)
    return target


def process_alive(pid: int, started_by: float | None = None) -> bool:
    """Whether process ``pid`` runs, and (given ``started_by``, a time.time()) started no later than that.

    psutil rather than ``os.kill(pid, 0)``: on Windows signal 0 is ``CTRL_C_EVENT``, not a probe,
    and psutil asks the OS for the process on every platform (on Linux, ``/proc`` is read here
    directly, as psutil reads it). Not an HTTP health probe: on
    Windows a connection to a closed loopback port is refused only after ~2 s of retries, and
    the CLI asks on every command; the app checks an engine's health itself before it relies on
    it (``LocalEngine.ensure``). ``started_by`` catches a PID the OS has given to another process
    since (Windows reuses PIDs quickly, and any OS after a reboot).
    """
    if pid <= 0:
        return False
    if sys.platform == "linux":
        stat = _linux_process(pid)
        if stat is None or stat[0] == "Z":  # gone, or a zombie: exited, not yet reaped by its parent
            return False
        return started_by is None or stat[1] <= started_by + START_SLACK_SECONDS
    import psutil

    if not psutil.pid_exists(pid):
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped by its parent: it serves nothing
            return False
        created = process.create_time()
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
    except psutil.AccessDenied:  # another user's process
        return True
    return started_by is None or created <= started_by + START_SLACK_SECONDS


def _linux_process(pid: int) -> tuple[str, float] | None:
    """A process's state letter and start time (seconds since the epoch), from ``/proc/PID/stat`` as
    psutil computes them (boot time plus the start in clock ticks); None when there is no such process."""
    if sys.platform != "linux":  # only called there (and ``os.sysconf`` is POSIX only)
        return None
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
        # The command name (field 2) is in parentheses and may hold spaces or ")": split after the last one.
        fields = data[data.rindex(b")") + 2:].split()
        return fields[0].decode(), _boot_time() + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _boot_time() -> float:
    global _BOOT_TIME
    if _BOOT_TIME is None:
        with open("/proc/stat", "rb") as stat:
            _BOOT_TIME = float(next(line.split()[1] for line in stat if line.startswith(b"btime ")))
    return _BOOT_TIME


_BOOT_TIME: float | None = None


class AlreadyLocked(Exception):
    """Another process holds the lock."""


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the block, or raise ``AlreadyLocked``."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def _lock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        try:  # one byte at offset 0: locking past the end of a file is allowed on Windows
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            raise AlreadyLocked from None
    else:
        import fcntl

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AlreadyLocked from None


def _unlock(fd: int) -> None:
    if sys.platform == "win32":
        import msvcrt

        with contextlib.suppress(OSError):  # Windows frees it when the handle closes anyway
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
    # POSIX: flock is released when the descriptor is closed


def quit_signals() -> tuple[signal.Signals, ...]:
    """The signals a process here receives when it is asked to quit, and that a handler can catch."""
    if sys.platform == "win32":
        return (signal.SIGINT, signal.SIGBREAK)  # Ctrl+C, Ctrl+Break / console closed
    return (signal.SIGTERM, signal.SIGINT)  # kill, logout, systemd; Ctrl+C


def child_process_options() -> dict[str, Any]:
    """Extra ``subprocess.Popen`` arguments for a background child (the engine) of the app: its own
    session (POSIX) or process group (Windows), so a Ctrl+C in the terminal that started the app
    does not reach it too, and on Windows no console window of its own."""
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW}
    return {"start_new_session": True}


def console_twin(executable: Path) -> Path:
    """The bundle's executable to run console work (the engine) with: on Windows the GUI
    ``in10nt-desktop.exe`` has no standard streams, and ``in10nt.exe`` beside it is its console
    twin; elsewhere the one executable does both."""
    twin = executable.with_name("in10nt.exe")
    return twin if sys.platform == "win32" and twin.is_file() else executable


# ---------------------------------------------------------------- container engine sockets


def default_container_engine(system: str = sys.platform) -> str:
    """Where the Docker CLI looks when ``DOCKER_HOST`` is unset."""
    return "npipe:////./pipe/docker_engine" if system == "win32" else "unix:///var/run/docker.sock"


def container_engine_candidates(home: Path, environ: Mapping[str, str], system: str = sys.platform) -> list[str]:
    """Other places a Docker Engine API may answer on this platform, most common first (after the default).

    Windows: Docker Desktop (and Rancher Desktop) use the default pipe; Podman machine has its own.
    macOS: Docker Desktop, OrbStack, Colima (one socket per profile), Rancher Desktop, Podman
    machine (5.x: ``$TMPDIR/podman/<machine>-api.sock``; 4.x: under ``~/.local/share``).
    Linux: Docker Desktop, rootless Podman and Docker, rootful Podman and Docker.
    Only paths that exist are worth a connect, but existence is left to the caller.
    """
    if system == "win32":
        return ["npipe:////./pipe/podman-machine-default"]
    sockets = [home / ".docker" / "run" / "docker.sock"]  # Docker Desktop (macOS, Linux)
    if system == "darwin":
        sockets.append(home / ".orbstack" / "run" / "docker.sock")
        colima = home / ".colima"
        sockets.append(colima / "default" / "docker.sock")
        sockets += [Path(p) for p in sorted(glob.glob(str(colima / "*" / "docker.sock")))]
        sockets.append(home / ".rd" / "docker.sock")
        tmp = environ.get("TMPDIR")
        if tmp:
            sockets += [Path(p) for p in sorted(glob.glob(str(Path(tmp) / "podman" / "*-api.sock")))]
    else:
        runtime = environ.get("XDG_RUNTIME_DIR")
        if runtime:
            sockets += [Path(runtime) / "podman" / "podman.sock", Path(runtime) / "docker.sock"]  # rootless
        sockets += [Path("/run/podman/podman.sock"), Path("/var/run/docker.sock")]
    machines = home / ".local" / "share" / "containers" / "podman" / "machine"
    if machines.is_dir():  # Podman machine 4.x: one small directory per machine
        sockets += sorted(machines.glob("**/podman.sock"))
    urls: list[str] = []
    for path in sockets:
        url = f"unix://{path}"
        if url not in urls:
            urls.append(url)
    return urls


def probe_unix_socket(path: str, timeout: float) -> None:
    """Connect to a unix socket once and close it; raises ``OSError`` (refused, permission denied, …)."""
    if sys.platform == "win32":
        raise FileNotFoundError(f"unix://{path}")  # never a candidate there (see container_engine_candidates)
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        probe.connect(path)

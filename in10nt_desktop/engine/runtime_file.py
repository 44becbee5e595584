"""Where a running engine announces itself: ``DATA_DIR/engine.json`` (URL, token, pid; mode 0600).

Kept apart from ``server`` so the CLI and the desktop app can find an engine without
importing the server's stack (FastAPI, uvicorn, docker: a third of a second at start-up).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from in10nt_desktop.platforms import app_data_dir, process_alive

RUNTIME_FILE = "engine.json"
TOKEN_FILE = "token"


def default_data_dir() -> Path:
    env = os.environ.get("IN10NT_DATA_DIR")
    return Path(env) if env else app_data_dir() / "engine"


def ensure_private_dir(path: Path) -> None:
    """The data dir holds the token and the store: create it 0700, and close one that others can enter.

    ``mkdir(mode=...)`` does nothing to a directory that exists (made by an older version, or
    by hand under a 022 umask), hence the check. POSIX only: Windows keeps a user's AppData private.
    """
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix" and path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)


def is_private_file(path: Path) -> bool:
    """A regular file (not a link) that only its owner may read or write."""
    if os.name != "posix":
        return path.is_file()
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and not st.st_mode & 0o077


def write_private(path: Path, text: str) -> None:
    """Create with mode 0600 from the start: never a moment where another user could read it."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    # O_CREAT's mode applies only to a new file: a leftover .tmp would keep its own, so remove it first.
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_runtime(data_dir: Path) -> dict[str, Any] | None:
    """The running engine's ``{"url", "token", "pid"}``, or None when none is announced or it died.

    The engine writes the file once it answers, so its process started before the file's
    modification time: a process with that PID started later is another one (a reused PID after
    a crash, a kill on Windows, or a reboot).
    """
    path = data_dir / RUNTIME_FILE
    try:
        written = path.stat().st_mtime
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = info.get("pid") if isinstance(info, dict) else None
    if not isinstance(pid, int) or not process_alive(pid, started_by=written):
        return None
    return dict(info)

"""Where a running engine announces itself: ``DATA_DIR/engine.json`` (URL, token, pid; mode 0600).

Kept apart from ``server`` so the CLI and the desktop app can find an engine without
importing the server's stack (FastAPI, uvicorn, docker: a third of a second at start-up).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import platformdirs

RUNTIME_FILE = "engine.json"
TOKEN_FILE = "token"


def default_data_dir() -> Path:
    env = os.environ.get("IN10NT_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir("in10nt-desktop", appauthor=False)) / "engine"


def write_private(path: Path, text: str) -> None:
    """Create with mode 0600 from the start: never a moment where another user could read it."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def read_runtime(data_dir: Path) -> dict[str, Any] | None:
    """The running engine's ``{"url", "token", "pid"}``, or None when none is announced or it died."""
    path = data_dir / RUNTIME_FILE
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    return dict(info)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

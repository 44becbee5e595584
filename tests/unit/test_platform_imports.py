"""Every module of the package imports with ``sys.platform`` set to ``win32`` and to ``darwin``.

What it proves: no module runs, at import time, code that the other platform lacks (``import
resource`` or ``fcntl`` at the top of a module, a default argument that reads ``signal.SIGKILL``,
a module-level branch on the platform that takes the wrong turn), and the choices made at import
time are the other platform's (the data dir ``platformdirs`` picks, the default container engine
address). What it cannot prove: what happens when the code runs there; ``mypy --platform win32``
and ``--platform darwin`` (scripts/test.sh) check every branch's types, and CI runs the tests on
Windows and macOS runners.

Each platform gets a fresh child interpreter: the standard library modules that branch on the
platform themselves (``asyncio``, ``subprocess``) are imported first with the real one, since the
Windows versions need Windows' own C modules; then ``sys.platform`` is set, the POSIX-only
modules are made unimportable for ``win32``, and the package's modules are imported one by one.
Modules that import Qt are left out: PySide6 loads the real OS's native libraries whatever
``sys.platform`` says, so importing it under a fake name would prove nothing (and ``api/``,
``engine/`` and ``cli/`` never import Qt).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import in10nt_desktop

PACKAGE = Path(in10nt_desktop.__file__).parent
QT_MODULES = {"PySide6", "shiboken6", "qasync"}
LOCAL_APPDATA = "C:\\Users\\u\\AppData\\Local"


def module_names() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imports_qt(name: str) -> bool:
    """Whether a module imports Qt at its top level, itself or through one of the package's modules."""
    seen: set[str] = set()

    def visit(mod: str) -> bool:
        if mod in seen:
            return False
        seen.add(mod)
        path = PACKAGE.parent / Path(*mod.split("."))
        file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        if not file.is_file():
            return False
        for node in ast.parse(file.read_text()).body:  # top level only: function-level imports are lazy
            targets = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for target in targets:
                if target.split(".")[0] in QT_MODULES:
                    return True
                if target.startswith("in10nt_desktop") and visit(target):
                    return True
        return False

    return visit(name)


CHILD = textwrap.dedent("""
    import importlib, importlib.abc, json, os, sys, traceback

    fake, names = sys.argv[1], json.loads(sys.argv[2])
    # The standard library's own platform branches, taken with the real platform (see the docstring).
    import asyncio, concurrent.futures, selectors, signal, socket, ssl, subprocess, threading  # noqa
    import http.client, urllib.request, email.utils, logging.handlers, ctypes, uuid, mimetypes  # noqa
    import sysconfig
    sysconfig.get_config_vars()  # cached: read from the real build's data module
    # Third-party libraries, too (their own CI runs them on each platform; click, under uvicorn,
    # needs msvcrt on Windows) -- except platformdirs, whose choice of folders is checked below.
    import anyio, click, docker, fastapi, httpx, keyring, pydantic, starlette, uvicorn, uvicorn.main  # noqa
    assert "platformdirs" not in sys.modules

    POSIX_ONLY = {"resource", "fcntl", "termios", "tty", "pty", "grp", "syslog", "posix_ipc"}

    class OtherPlatform(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if fake == "win32" and name.split(".")[0] in POSIX_ONLY:
                raise ModuleNotFoundError(f"No module named {name!r} on Windows", name=name)
            return None

    sys.meta_path.insert(0, OtherPlatform())
    sys.platform = fake
    failed = {}
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            failed[name] = traceback.format_exc(limit=-6)
    from in10nt_desktop import platforms
    print(json.dumps({
        "failed": failed,
        "data_dir": str(platforms.app_data_dir()),
        "default_engine": platforms.default_container_engine(),
        "candidates": platforms.container_engine_candidates(platforms.Path("/home/u"), {}),
    }))
""")


@pytest.mark.parametrize("fake", ["win32", "darwin"])
def test_every_module_imports_on_the_other_platforms(fake: str, tmp_path: Path) -> None:
    names = [n for n in module_names() if not imports_qt(n)]
    assert {"in10nt_desktop.platforms", "in10nt_desktop.engine.server", "in10nt_desktop.cli.main",
            "in10nt_desktop.app.local_engine", "in10nt_desktop.app.application"} <= set(names)
    # platformdirs asks Windows itself for its folders; these overrides (its own) answer instead.
    env = {"PATH": "", "HOME": str(tmp_path), "WIN_PD_OVERRIDE_LOCAL_APPDATA": LOCAL_APPDATA,
           "WIN_PD_OVERRIDE_APPDATA": "C:\\Users\\u\\AppData\\Roaming"}
    done = subprocess.run([sys.executable, "-c", CHILD, fake, json.dumps(names)], capture_output=True, text=True,
                          timeout=120, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["failed"] == {}, "\n".join(f"{k}:\n{v}" for k, v in got["failed"].items())
    if fake == "win32":
        assert got["data_dir"].startswith(LOCAL_APPDATA) and got["data_dir"].endswith("in10nt-desktop")  # not roaming
        assert got["default_engine"] == "npipe:////./pipe/docker_engine"
        assert got["candidates"] == ["npipe:////./pipe/podman-machine-default"]
    else:
        assert got["data_dir"] == str(tmp_path / "Library" / "Application Support" / "in10nt-desktop")
        assert got["default_engine"] == "unix:///var/run/docker.sock"
        assert "unix:///home/u/.orbstack/run/docker.sock" in got["candidates"]


def test_the_qt_free_parts_are_the_sdk_cli_engine_and_platform_layer() -> None:
    qt = {n for n in module_names() if imports_qt(n)}
    assert not {n for n in qt if n.split(".")[1] in {"api", "cli", "engine", "platforms"}}
    assert "in10nt_desktop.ui.main_window" in qt  # the walk does find Qt where it is

"""A base install (SDK + CLI, ``pip install in10nt-desktop``) works without the ``[gui]`` and ``[engine]`` extras.

The CLI runs in a child Python whose import system refuses Qt, qasync, keyring and the engine's
server stack, as a virtualenv with only the base dependencies would (the README's base install
was also checked once in such a virtualenv by hand).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from .conftest import Loopback

EXTRAS_ONLY = ("PySide6", "shiboken6", "qasync", "keyring", "fastapi", "starlette", "sse_starlette", "uvicorn",
               "docker")

CLI_WITHOUT_EXTRAS = textwrap.dedent(f"""
    import importlib.abc, sys

    class RefuseExtras(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in {EXTRAS_ONLY!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, RefuseExtras())
    from in10nt_desktop.cli.main import main
    sys.exit(main(sys.argv[1:]))
""")


def cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CLI_WITHOUT_EXTRAS, "--data-dir", str(data_dir), *args],
                          capture_output=True, text=True, timeout=60)


def test_templates_list_works_without_qt_or_the_engine(loopback: Loopback, tmp_path: Path) -> None:
    loopback.routes[("GET", "/container-templates")] = (200, [
        {"templateId": "tmpl_1", "name": "python-ml", "image": "python:3.11-slim", "registryType": "dockerhub",
         "status": "ready"}])
    done = cli("--base-url", loopback.url, "templates", "list", data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "python-ml" in done.stdout and "tmpl_1" in done.stdout


def test_engine_serve_without_the_engine_extra_says_what_to_install(tmp_path: Path) -> None:
    done = cli("engine", "serve", data_dir=tmp_path)
    assert done.returncode == 1
    assert done.stderr.strip().endswith("pip install 'in10nt-desktop[engine]'")
    assert "Traceback" not in done.stderr

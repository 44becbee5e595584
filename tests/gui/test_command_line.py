"""``in10nt-desktop`` from a terminal: Qt's standard options are accepted, typos are refused, and
``--self-test`` starts the local engine, loads the list and stops the engine again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_app(*args: str, data_dir: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IN10NT_", "DOCKER_"))}
    env.update(IN10NT_DATA_DIR=str(data_dir), QT_QPA_PLATFORM="offscreen", HOME=str(data_dir.parent),
               XDG_CONFIG_HOME=str(data_dir.parent / "config"))
    return subprocess.run([sys.executable, "-m", "in10nt_desktop", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, check=False)


def test_qt_standard_options_are_accepted_and_typos_refused(tmp_path: Path) -> None:
    ok = run_app("--self-test", "-style", "Fusion", data_dir=tmp_path / "engine")
    assert ok.returncode == 0, ok.stderr
    assert "self-test ok: This computer (local engine), 0 templates" in ok.stdout
    assert not (tmp_path / "engine" / "engine.json").exists()  # the engine it started is stopped again

    typo = run_app("--self-tset", data_dir=tmp_path / "engine")
    assert typo.returncode == 2
    assert "unrecognized arguments: --self-tset" in typo.stderr and "usage: in10nt-desktop" in typo.stderr

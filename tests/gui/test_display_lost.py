"""The display goes away under the app (the X server dies, the session ends): the real app under a real
Xvfb, which the test then kills.

What a user would notice afterwards: the app is gone with a sentence in its log, not a traceback,
and the local engine it started is not left running for nobody (it stops by itself once idle).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from stack.builds_api import poll

from in10nt_desktop.platforms import process_alive


def test_the_app_quits_and_its_engine_stops_when_the_display_goes_away(tmp_path: Path) -> None:
    assert shutil.which("Xvfb"), "Xvfb is installed by scripts/test.sh"
    display = f":{os.getpid() % 400 + 500}"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data_dir = tmp_path / "engine"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IN10NT_", "DOCKER_"))}
    env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_CACHE_HOME=str(tmp_path / "cache"), IN10NT_DATA_DIR=str(data_dir))
    app = None
    try:
        poll(lambda: Path(f"/tmp/.X11-unix/X{display[1:]}").exists(), "Xvfb's socket", 15)
        with open(tmp_path / "app.log", "wb") as log:  # the child keeps its own handle
            app = subprocess.Popen([sys.executable, "-m", "in10nt_desktop", "-platform", "xcb"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        runtime = data_dir / "engine.json"
        info = poll(lambda: runtime.exists() and json.loads(runtime.read_text()), "the app's engine", 60)
        engine_pid = int(info["pid"])
        xvfb.kill()
        xvfb.wait(5)
        assert app.wait(30) == 1
        said = (tmp_path / "app.log").read_text()
        assert "the window system went away" in said and "Traceback" not in said, said[-2000:]
        poll(lambda: not process_alive(engine_pid), "the engine stopping", 30)
        assert not runtime.exists()
    finally:
        if app is not None and app.poll() is None:
            app.kill()
            app.wait(5)
        if xvfb.poll() is None:
            xvfb.kill()
        deadline = time.monotonic() + 10
        while (data_dir / "engine.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)

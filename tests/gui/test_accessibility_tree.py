"""What a screen reader says, read through the real accessibility bus (AT-SPI) under Xvfb.

A ``QLabel`` given an accessible name is read as that name, never as its text: the template
count, the connection state and the message bar would all be read as fixed words. This test
shows the window (over the fake services) to Qt's AT-SPI bridge and reads the tree with
pyatspi, as Orca does.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def desktop_session(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Xvfb, a private session bus and the accessibility bus; the environment to run apps in."""
    for tool in ("Xvfb", "dbus-daemon", "/usr/libexec/at-spi-bus-launcher"):
        assert shutil.which(tool) or Path(tool).exists(), f"{tool} is missing: scripts/test.sh installs it"
    procs: list[subprocess.Popen[bytes]] = []
    display = f":{os.getpid() % 400 + 100}"
    try:
        procs.append(subprocess.Popen(["Xvfb", display, "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        procs.append(bus)  # type: ignore[arg-type]
        assert bus.stdout is not None
        address = bus.stdout.readline().decode().strip()
        env = {**os.environ, "DISPLAY": display, "DBUS_SESSION_BUS_ADDRESS": address, "QT_QPA_PLATFORM": "xcb",
               "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1", "NO_AT_BRIDGE": "0"}
        procs.append(subprocess.Popen(["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display[1:]}").exists():
            assert time.monotonic() < deadline, "Xvfb did not start"
            time.sleep(0.05)
        yield env
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
            if proc.stdout is not None:
                proc.stdout.close()


def test_a_screen_reader_reads_the_changing_texts_not_fixed_names(desktop_session: dict[str, str],
                                                                  tmp_path: Path) -> None:
    app = subprocess.Popen([sys.executable, str(HERE / "a11y" / "show_window.py"), str(tmp_path / "s.ini")],
                           env=desktop_session, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None and app.stdout.readline().strip() == "shown", app.stderr
        read = subprocess.run(["/usr/bin/python3", str(HERE / "a11y" / "read_tree.py"), "in10nt-a11y-check"],
                              env=desktop_session, capture_output=True, text=True, timeout=60, check=False)
        assert read.returncode == 0, read.stderr
        nodes = [json.loads(line) for line in read.stdout.splitlines() if line.startswith("{")]
    finally:
        app.communicate(timeout=10)
    labels = [n["name"] for n in nodes if n["role"] == "label"]
    assert "2 templates" in labels, labels                                  # the count, as shown
    assert any("online" in name and "This computer" in name for name in labels), labels  # the state
    assert "Deleting alpha: the engine refused it." in labels, labels       # the message bar
    assert not {"Template count", "Connection", "Message"} & set(labels), labels  # no fixed names
    tabs = [n["name"] for n in nodes if n["role"] == "page tab"]
    assert {"Templates", "Saved templates", "Instances"} <= set(tabs), nodes

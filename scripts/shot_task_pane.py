#!/usr/bin/env python3
"""Render the Instances tab's task pane into docs/screenshots/instances-task-*.png, under Xvfb.

The screenshot stack (scripts/screenshots.py) has no container engine, so this shot drives the
real window over the in-memory ``FakeServices`` of the window tests (tests/gui/fake_services.py):
the same widgets, fed the way the app's service feeds them while a task prints. Two shots: a
task still running ("running… N s", output so far) and a failed one (its exit code in red).
Run: ``.venv/bin/python scripts/shot_task_pane.py``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "screenshots"
sys.path[:0] = [str(ROOT / "scripts"), str(ROOT / "tests"), str(ROOT / "tests" / "gui")]

TRAIN = "".join(f"epoch {n}/3  loss={0.9 / n:.3f}  acc={0.70 + n / 12:.3f}\n" for n in range(1, 4)) + \
    "saved model to /work/model.pt\n"


def _progress(name: str, dots: str, percent: int) -> str:
    return f"{name} {dots}".ljust(60) + f"[{percent:3d}%]\n"


PYTEST_SO_FAR = "============ test session starts ============\ncollected 42 items\n\n" + \
    _progress("tests/test_data.py", "..........", 23) + _progress("tests/test_model.py", ".......F..", 47)
PYTEST_REST = _progress("tests/test_train.py", "." * 22, 100) + "\n" \
    "================= FAILURES =================\n" \
    "___________ test_predict_shape ___________\n\n" \
    "    def test_predict_shape():\n" \
    ">       assert model.predict(x).shape == (32, 10)\n" \
    "E       AssertionError: assert (32, 9) == (32, 10)\n\n" \
    "tests/test_model.py:41: AssertionError\n" \
    "======= 1 failed, 41 passed in 3.21s =======\n"


async def shoot(work: Path) -> None:
    from fake_services import FakeServices, template_data
    from gui_helpers import ini_settings
    from PySide6.QtGui import QIcon

    from in10nt_desktop.api.models import InstanceData
    from in10nt_desktop.app.startup import icon_path
    from in10nt_desktop.app.connection import ConnState
    from in10nt_desktop.ui.main_window import MainWindow

    services = FakeServices()
    path = icon_path()
    window = MainWindow(services, ini_settings(work / "s.ini"), QIcon(str(path)) if path else None)  # type: ignore[arg-type]
    window._quit_decided = True
    window.resize(1320, 760)
    window.show()
    services.connection.go(ConnState.ONLINE, "Connected")
    base = template_data("python-ml")
    services.templates.server_changed(base)
    services.instances.rows = [
        InstanceData.model_validate({"instanceId": "inst_5f0c2a9e71d43b86", "name": "ml-agent", "status": "running",
                                     "containerTemplateId": base.template_id, "createdAt": "2026-12-01T09:12:00Z"}),
        InstanceData.model_validate({"instanceId": "inst_a41be07c93f25d10", "name": "my-web-app-v2",
                                     "status": "running", "savedTemplateName": "web-app-template",
                                     "createdAt": "2026-12-01T10:40:00Z"})]
    services.instances.loaded.emit(services.instances.rows)
    window.tabs.setCurrentIndex(2)
    page = window.instances_page
    page.table.selectRow(0)

    async def settle(seconds: float = 0.5) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < end:
            await asyncio.sleep(0.03)

    fake = services.instances
    fake.hold_tasks = True
    fake.run("inst_5f0c2a9e71d43b86", "ml-agent", "python train.py --epochs 3")
    fake.print_task(TRAIN)
    await settle(1.2)
    fake.finish_task(None, 0)
    fake.run("inst_5f0c2a9e71d43b86", "ml-agent", "pytest -q tests/")
    fake.print_task(PYTEST_SO_FAR)
    await settle(3.2)  # the seconds count while it runs
    window.grab().save(str(OUT / "instances-task-running.png"))
    fake.print_task(PYTEST_REST)
    fake.finish_task(None, 1)
    await settle()
    window.grab().save(str(OUT / "instances-task-pane.png"))
    window.close()


def main() -> int:
    from screenshots import start_xvfb

    OUT.mkdir(parents=True, exist_ok=True)
    xvfb = start_xvfb()
    try:
        from PySide6.QtWidgets import QApplication

        from in10nt_desktop.app.event_loop import new_event_loop

        app = QApplication.instance() or QApplication([sys.argv[0]])
        app.setApplicationName("In10nt Desktop")
        loop = new_event_loop(app)
        asyncio.set_event_loop(loop)
        with tempfile.TemporaryDirectory(prefix="in10nt-shot-") as work, loop:
            loop.run_until_complete(shoot(Path(work)))
        print("docs/screenshots/instances-task-running.png\ndocs/screenshots/instances-task-pane.png")
        return 0
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait(5)


if __name__ == "__main__":
    sys.exit(main())

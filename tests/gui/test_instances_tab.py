"""The seed's loop from the window, on the real engine and Podman: use a template, run a task,
snapshot the instance, clone the snapshot, and see the file in the clone."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from gui_helpers import answer_text, go_online, ini_settings, open_session, wait_until
from PySide6.QtCore import QItemSelectionModel
from stack.engine_proc import EngineProc, wait_status
from stack.images import StackImages

from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.other_pages import ListPage


def _touch(engine: EngineProc, instance_id: str, path: str) -> None:
    with engine.http() as http:
        assert http.post(f"/instances/{instance_id}/run", json={"task": f"touch {path}"}).status_code == 200


def select_where(page: ListPage[Any], predicate: Any) -> Any:
    for row in range(page.model.rowCount()):
        item = page.model.rows[row]
        if predicate(item):
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            page.table.selectionModel().select(page.model.index(row, 0), flags)
            return item
    raise AssertionError("no such row")


@pytest.mark.asyncio
async def test_use_run_snapshot_clone_from_the_window(qtbot: Any, tmp_path: Path, engine_with_podman: EngineProc,
                                                     images: StackImages) -> None:
    with engine_with_podman.http() as http:
        tid = http.post("/container-templates", json={"name": "gui-loop", "image": images.open_busybox.ref,
                                                      "registryType": "private"}).json()["templateId"]
    wait_status(engine_with_podman, tid, {"ready"})
    settings = ini_settings(tmp_path / "settings.ini")
    async with open_session(settings, engine_with_podman.data_dir) as session:
        window = MainWindow(session, settings)
        qtbot.addWidget(window)
        window.show()
        await go_online(session)
        await wait_until(lambda: session.templates.store.get(tid) is not None)

        window.templates_page.select(tid)
        assert window.actions_["use"].isEnabled()
        window.actions_["use"].trigger()
        await answer_text(window, "gui-inst")
        await wait_until(lambda: any(i.name == "gui-inst" for i in window.instances_page.model.rows), 60,
                         "the new instance never appeared in the Instances tab")

        window.tabs.setCurrentIndex(2)
        inst = select_where(window.instances_page, lambda i: i.name == "gui-inst")
        # shown at once while it is created (the event stream), usable once it runs
        await wait_until(lambda: window.actions_["run"].isEnabled() and window.actions_["snapshot"].isEnabled(), 60,
                         "Run task never became possible on the new instance")
        window.actions_["run"].trigger()
        await answer_text(window, "echo from-the-window > /gui-marker")
        await wait_until(lambda: "[exit code 0" in window.instances_page.output.toPlainText(), 60)

        # Output streams into the pane: the first line is there while the task still waits for its file.
        pane = window.instances_page.output
        window.actions_["run"].trigger()
        await answer_text(window, "echo first-line; while [ ! -e /gui-go ]; do sleep 0.1; done; echo second-line")
        await wait_until(lambda: "first-line" in pane.toPlainText().splitlines()[1:], 60,
                         "the first line never reached the pane")
        assert pane.toPlainText().splitlines()[1:] == ["first-line"]  # below "$ command": not yet the second
        assert window.instances_page.tasks.status.text().startswith("running… ")
        await asyncio.to_thread(_touch, engine_with_podman, inst.instance_id, "/gui-go")
        await wait_until(lambda: "[exit code 0" in pane.toPlainText(), 60)
        assert pane.toPlainText().splitlines()[1:3] == ["first-line", "second-line"]

        window.actions_["snapshot"].trigger()
        await answer_text(window, "gui-snap")
        await wait_until(lambda: any(s.name == "gui-snap" for s in window.saved_page.model.rows), 60,
                         "the snapshot never appeared in the Saved templates tab")
        snap = next(s for s in window.saved_page.model.rows if s.name == "gui-snap")
        assert snap.size_bytes and snap.size_bytes > 0

        window.tabs.setCurrentIndex(1)
        select_where(window.saved_page, lambda s: s.name == "gui-snap")
        assert window.actions_["clone"].isEnabled()
        window.actions_["clone"].trigger()
        await answer_text(window, "gui-clone")
        await wait_until(lambda: any(i.name == "gui-clone" for i in window.instances_page.model.rows), 60)

        window.tabs.setCurrentIndex(2)
        select_where(window.instances_page, lambda i: i.name == "gui-clone")
        await wait_until(lambda: window.actions_["run"].isEnabled(), 60, "the clone never ran")
        window.actions_["run"].trigger()
        await answer_text(window, "cat /gui-marker")
        await wait_until(lambda: "[exit code 0" in window.instances_page.output.toPlainText(), 60)
        assert window.instances_page.output.toPlainText().splitlines()[:2] == ["$ cat /gui-marker", "from-the-window"]
        assert window.instances_page.fields["From"].text() == "saved: gui-snap"
        window.close()

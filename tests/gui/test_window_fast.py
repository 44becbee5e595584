"""The window against the in-memory ``FakeServices``: what a user sees and does, in milliseconds.

No registry, engine or network: the fake implements the protocol the window depends on, so
these tests check the window's own behaviour (the end-to-end tier checks it on the real stack).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fake_services import FakeServices, fake_window, template_data
from gui_helpers import collect_qt_garbage, ini_settings, wait_until  # noqa: F401 - autouse fixture
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFontInfo
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QPushButton, QWizard

from in10nt_desktop.app.connection import ConnState
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.status_badge import dot_color
from in10nt_desktop.ui.templates_model import ROW_ROLE

pytestmark = pytest.mark.asyncio
CTRL = Qt.KeyboardModifier.ControlModifier


@pytest_asyncio.fixture
async def window(tmp_path: Path) -> AsyncIterator[tuple[MainWindow, FakeServices]]:
    async with fake_window(tmp_path) as pair:
        yield pair


def full_title(win: MainWindow) -> str:
    """The details title as a user can read it: the label, or its tooltip when the label is elided."""
    title = win.templates_page.details.title
    return title.toolTip() or title.text()


def visible_names(win: MainWindow) -> list[str]:
    page = win.templates_page
    return [page.proxy.index(r, 0).data(ROW_ROLE).name for r in range(page.proxy.rowCount())]


async def message_box(win: MainWindow, name: str) -> QMessageBox:
    await wait_until(lambda: win.findChild(QMessageBox, name) is not None and
                     win.findChild(QMessageBox, name).isVisible(), 5, f"no {name} dialog")
    box = win.findChild(QMessageBox, name)
    assert isinstance(box, QMessageBox)
    return box


def button(box: QMessageBox, text: str) -> QPushButton:
    for b in box.findChildren(QPushButton):
        if b.text().replace("&", "") == text:
            return b
    raise AssertionError(f"no button {text!r} in {[b.text() for b in box.findChildren(QPushButton)]}")


async def test_rows_created_and_deleted_elsewhere_appear_and_go_and_the_details_say_so(window) -> None:
    win, services = window
    data = template_data("from-the-cli", "building")
    services.templates.server_changed(data)
    assert visible_names(win) == ["from-the-cli"]
    win.templates_page.select(data.template_id)
    assert full_title(win) == "from-the-cli"

    services.templates.server_changed(data.model_copy(update={"status": "ready"}))
    await wait_until(lambda: any("Template ready" in t for t in [win.statusBar().currentMessage()]), 5)

    services.templates.server_deleted(data.template_id)
    assert visible_names(win) == []
    assert full_title(win) == "from-the-cli was deleted elsewhere"
    assert "deleted by another client" in win.statusBar().currentMessage()


async def test_with_nothing_selected_the_fields_tab_says_what_to_do(window) -> None:
    win, services = window
    details = win.templates_page.details

    def hints() -> list[str]:
        return [label.text() for label in details.tabs.widget(0).findChildren(QLabel) if label.isVisibleTo(details)]

    assert "Select a template to see its fields." in hints()
    data = template_data("picked")
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    assert "Select a template to see its fields." not in hints()
    win.templates_page.table.clearSelection()
    await wait_until(lambda: "Select a template to see its fields." in hints(), 5, "no hint once deselected")


async def test_delete_asks_in_a_window_modal_dialog_while_the_loop_keeps_running(window) -> None:
    win, services = window
    data = template_data("doomed")
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    win.templates_page.table.setFocus()
    QTest.keyClick(win.templates_page.table, Qt.Key.Key_Delete)

    box = await message_box(win, "confirmDelete")
    assert box.windowModality() == Qt.WindowModality.WindowModal
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        for _ in range(5):
            await asyncio.sleep(0.01)
            ticks += 1

    await tick()  # the loop runs while the question is open: no nested exec()
    assert ticks == 5 and visible_names(win) == ["doomed"]
    button(box, "Delete").click()
    await wait_until(lambda: visible_names(win) == [], 5, "the row stayed after Delete")


async def test_cancelled_delete_keeps_the_row(window) -> None:
    win, services = window
    data = template_data("kept")
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    win.actions_["delete"].trigger()
    box = await message_box(win, "confirmDelete")
    box.button(QMessageBox.StandardButton.Cancel).click()
    await wait_until(lambda: not box.isVisible(), 5)
    await asyncio.sleep(0)
    assert visible_names(win) == ["kept"]


async def test_engine_stopped_offers_start_and_online_clears_it(window) -> None:
    win, services = window
    services.connection.go(ConnState.ENGINE_STOPPED, "The local engine stopped.")
    bar = win.message_bar
    assert bar.isVisible() and "The local engine stopped." in bar.text.text()
    assert bar.start.isVisible() and not bar.retry.isVisible()
    assert "engine stopped" in win.connection_label.text()
    assert not win.actions_["new"].isEnabled()
    bar.start.click()
    assert services.connection.calls == ["start_engine"]
    services.connection.go(ConnState.ONLINE, "Connected")
    assert not bar.isVisible() and win.actions_["new"].isEnabled()


async def test_offline_then_online_by_itself_dismisses_the_banner(window) -> None:
    win, services = window
    services.connection.go(ConnState.OFFLINE, "Cannot reach 127.0.0.1:9.")
    assert win.message_bar.retry.isVisible() and not win.actions_["new"].isEnabled()
    services.connection.go(ConnState.ONLINE, "Connected")
    assert not win.message_bar.isVisible()


async def test_ctrl_n_opens_the_wizard_only_online(window) -> None:
    win, services = window
    QTest.keyClick(win, Qt.Key.Key_N, CTRL)
    await wait_until(lambda: isinstance(win.wizard, QWizard) and win.wizard.isVisible(), 5)
    assert win.wizard is not None
    win.wizard.reject()
    services.connection.go(ConnState.OFFLINE, "Cannot reach.")
    assert not win.actions_["new"].isEnabled()


@pytest.mark.parametrize(("choice", "kept", "closes"), [
    ("Keep building in background", True, True),
    ("Stop builds and quit", False, True),
    ("Cancel", False, False),
])
async def test_quitting_with_builds_in_flight_asks(window, choice: str, kept: bool, closes: bool) -> None:
    win, services = window
    services.building_in_engine = 2
    closed: list[bool] = []
    win.closed.connect(lambda: closed.append(True))
    QTest.keyClick(win, Qt.Key.Key_Q, CTRL)
    box = await message_box(win, "quitWithBuilds")
    assert "2 builds are still running" in box.text()
    button(box, choice).click()
    if closes:
        await wait_until(lambda: closed == [True], 5, "the window did not close")
    else:
        await wait_until(lambda: not box.isVisible(), 5)
        await asyncio.sleep(0.05)
        assert closed == [] and win.isVisible()
    assert services.kept_engine is kept


async def test_quitting_with_nothing_building_asks_nothing(window) -> None:
    win, _services = window
    closed: list[bool] = []
    win.closed.connect(lambda: closed.append(True))
    win.close()
    assert closed == [True]
    assert win.findChild(QMessageBox, "quitWithBuilds") is None


async def test_activating_the_window_tells_the_live_updates(window) -> None:
    win, services = window
    before = services.live.activations
    QApplication.sendEvent(win, QEvent(QEvent.Type.ActivationChange))
    # offscreen windows may not count as active; the event alone must not crash and is forwarded when active
    if win.isActiveWindow():
        assert services.live.activations == before + 1


async def test_use_template_asks_a_name_and_creates_the_instance(window) -> None:
    win, services = window
    data = template_data("base")
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    win.actions_["use"].trigger()
    from in10nt_desktop.ui.dialogs import TextQuestion
    await wait_until(lambda: win.findChild(TextQuestion) is not None, 5)
    dialog = win.findChild(TextQuestion)
    assert dialog is not None and dialog.windowModality() == Qt.WindowModality.WindowModal
    dialog.accept()
    await wait_until(lambda: services.instances.created == [("base-1", data.template_id)], 5)


async def test_empty_hints_only_when_the_server_said_there_is_nothing(tmp_path: Path) -> None:
    services = FakeServices()
    win = MainWindow(services, ini_settings(tmp_path / "s.ini"))  # type: ignore[arg-type]
    win.show()
    try:
        pages = (win.templates_page.empty, win.saved_page.empty, win.instances_page.empty)
        services.templates.store.set_stale(True)  # connecting: nothing is known yet
        services.connection.go(ConnState.CONNECTING, "Connecting…")
        assert not any(label.isVisible() for label in pages)
        services.connection.go(ConnState.ONLINE, "Connected")
        services.templates.store.set_stale(False)
        win.tabs.setCurrentIndex(0)
        assert win.templates_page.empty.isVisible()
        for tab, label in ((1, win.saved_page.empty), (2, win.instances_page.empty)):
            win.tabs.setCurrentIndex(tab)
            assert label.isVisible()
        services.connection.go(ConnState.OFFLINE, "Cannot reach.")
        services.templates.store.set_stale(True)
        assert not win.instances_page.empty.isVisible()
        win.tabs.setCurrentIndex(0)
        assert not win.templates_page.empty.isVisible()
    finally:
        win.close()


async def test_one_failed_delete_says_what_and_why_in_one_sentence(window) -> None:
    from in10nt_desktop.app.services import BulkResult

    win, services = window
    services.templates.bulk_finished.emit("template", BulkResult([], [("alpha", "The engine refused it.")]))
    assert win.message_bar.text.text() == "Could not delete template alpha: The engine refused it."
    services.templates.bulk_finished.emit("template", BulkResult(["a", "b"], [("c", "no"), ("d", "no")]))
    assert win.message_bar.text.text() == "Deleted 2 templates; 2 could not be deleted (Details lists why)."
    services.templates.bulk_finished.emit("template", BulkResult(["a"], []))
    assert win.statusBar().currentMessage() == "Deleted template a."


async def test_a_failed_build_notifies_once_with_the_engines_reason(window) -> None:
    win, services = window
    notes: list[tuple[str, str]] = []
    win.notified.connect(lambda title, text: notes.append((title, text)))
    data = template_data("missing-tag", "building")
    services.templates.server_changed(data)
    services.templates.server_changed(data.model_copy(update={"status": "failed",
                                                              "error": "No tag 9 in library/busybox."}))
    await wait_until(lambda: notes, 5)
    assert notes == [("Build failed", "missing-tag: No tag 9 in library/busybox.")]


async def test_tasks_read_like_a_terminal_in_the_instances_tab(window) -> None:
    from in10nt_desktop.api.models import InstanceData

    win, services = window
    base = template_data("python-ml")
    services.templates.server_changed(base)
    services.instances.rows = [
        InstanceData.model_validate({"instanceId": "inst_a", "name": "agent-a", "status": "running",
                                     "containerTemplateId": base.template_id}),
        InstanceData.model_validate({"instanceId": "inst_b", "name": "agent-b", "status": "running",
                                     "savedTemplateName": "snap-1"})]
    services.instances.loaded.emit(services.instances.rows)
    page = win.instances_page
    win.tabs.setCurrentIndex(2)
    assert [page.proxy.index(r, 2).data() for r in range(page.proxy.rowCount())] == ["python-ml", "saved: snap-1"]
    page.search.setText("snap")
    assert page.proxy.rowCount() == 1 and not page.empty.isVisible()
    page.search.setText("nothing like it")
    assert page.proxy.rowCount() == 0 and page.empty.text() == "No instance matches the search."
    page.search.clear()

    page.table.selectRow(0)
    assert page.title.text() == "agent-a" and page.fields["From"].text() == "python-ml"
    services.instances.hold_tasks = True
    services.instances.run("inst_a", "agent-a", "python -c 'import sys; sys.exit(3)'")
    assert page.run_list.item(0).text().startswith("running…")  # at once, before any answer
    assert page.tasks.status.text().startswith("running… ")  # and counts the seconds
    assert page.output.toPlainText() == "$ python -c 'import sys; sys.exit(3)'\n"
    services.instances.finish_task("Traceback: boom\n", 3)
    assert page.run_list.item(0).text().startswith("exit 3")
    assert page.run_list.item(0).foreground().color() == dot_color("failed", page.palette())  # red
    assert page.output.toPlainText().splitlines() == ["$ python -c 'import sys; sys.exit(3)'", "Traceback: boom",
                                                      "[exit code 3 after 0.0 s]"]
    assert QFontInfo(page.output.font()).fixedPitch()  # monospace, as a terminal
    assert win.message_bar.kind == "error" and "exited with code 3" in win.message_bar.text.text()

    services.instances.hold_tasks = False
    services.instances.run("inst_a", "agent-a", "echo hi")
    assert [page.run_list.item(i).text().split(" · ")[0] for i in range(2)] == ["exit 0", "exit 3"]


async def test_the_count_says_how_many_of_how_many_and_a_search_without_match_says_so(window) -> None:
    win, services = window
    for n in range(12):
        services.templates.server_changed(template_data(f"t{n:02d}", "ready" if n % 3 else "failed"))
    page = win.templates_page
    assert page.count.text() == "12 templates"
    page.search.setText("t0")
    assert page.count.text() == "10 of 12 templates"
    page.search.setText("nothing like it")
    assert page.count.text() == "0 of 12 templates"
    assert page.empty.isVisible() and page.empty.text() == "No template matches the search or the status filter."
    page.search.clear()
    page.status_filter.setCurrentIndex(page.status_filter.findData("failed"))
    assert page.count.text() == "4 of 12 templates" and not page.empty.isVisible()


async def test_the_count_says_how_many_builds_run_and_how_many_wait(window) -> None:
    win, services = window
    for n in range(3):
        services.templates.server_changed(template_data(f"run{n}", "building", phase="pulling"))
    for n in range(5):
        services.templates.server_changed(template_data(f"wait{n}", "building", phase="queued", queuePosition=n + 1))
    services.templates.server_changed(template_data("done", "ready"))
    page = win.templates_page
    assert page.count.text() == "9 templates, 3 running, 5 queued"
    page.status_filter.setCurrentIndex(page.status_filter.findData("queued"))
    assert page.count.text() == "5 of 9 templates, 3 running, 5 queued"
    page.status_filter.setCurrentIndex(0)
    run = next(r for r in services.templates.store.rows if r.name == "run0")
    services.templates.server_changed(template_data("run0", "building", templateId=run.template_id, phase="pulling",
                                                    stalled=True, stalledReason="stalled: no data for 60 s"))
    assert page.count.text() == "9 templates, 3 running, 5 queued (1 stalled)"


async def test_a_very_long_name_is_elided_in_the_details_and_does_not_squeeze_the_table(window) -> None:
    win, services = window
    win.resize(1200, 700)
    long_name = "agent-" + "x" * 111
    data = template_data(long_name)
    services.templates.server_changed(data)
    win.templates_page.select(data.template_id)
    title = win.templates_page.details.title
    assert title.text() != long_name and "…" in title.text() and title.toolTip() == long_name
    await asyncio.sleep(0.05)
    assert win.templates_page.table.width() > 500  # the table keeps its room

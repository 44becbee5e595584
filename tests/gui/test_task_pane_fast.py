"""The Instances tab's task pane over the in-memory ``FakeServices``: output as a task prints it, the scroll
a reader chose, and how a run ended (red unless exit code 0). The real engine's stream into the
pane is tests/gui/test_instances_tab.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fake_services import FakeServices, fake_window
from gui_helpers import collect_qt_garbage  # noqa: F401 - autouse fixture
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtGui import QColor, QTextCursor

from in10nt_desktop.api.models import InstanceData
from in10nt_desktop.ui.instances_page import InstancesPage
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.status_badge import dot_color

pytestmark = pytest.mark.asyncio


def select_first(page: InstancesPage) -> None:
    """Select the first instance through the selection model: ``selectRow`` reads the keyboard's
    modifiers, and a Shift left "held" by an earlier test's key clicks would make it select nothing."""
    table = page.table
    table.selectionModel().select(table.model().index(0, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
                                  | QItemSelectionModel.SelectionFlag.Rows)


@pytest_asyncio.fixture
async def pane(tmp_path: Path) -> AsyncIterator[tuple[InstancesPage, FakeServices]]:
    async with fake_window(tmp_path) as (win, services):
        services.instances.rows = [InstanceData.model_validate(
            {"instanceId": "inst_a", "name": "agent-a", "status": "running", "containerTemplateId": "tmpl_x"})]
        services.instances.loaded.emit(services.instances.rows)
        win.tabs.setCurrentIndex(2)
        select_first(win.instances_page)
        services.instances.hold_tasks = True
        yield win.instances_page, services


def last_line_color(page: InstancesPage) -> QColor:
    cursor = QTextCursor(page.output.document().lastBlock())
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    return cursor.charFormat().foreground().color()


async def test_output_is_appended_while_the_task_runs_and_the_end_line_follows(pane) -> None:
    page, services = pane
    services.instances.run("inst_a", "agent-a", "make test")
    assert page.output.toPlainText() == "$ make test\n"
    services.instances.print_task("compiling")
    services.instances.print_task(" done\ntesting…\n")
    assert page.output.toPlainText() == "$ make test\ncompiling done\ntesting…\n"
    assert page.tasks.status.text().startswith("running… ")
    assert page.run_list.item(0).text().startswith("running… · ")
    services.instances.finish_task(None, 0)
    lines = page.output.toPlainText().splitlines()
    assert lines[:3] == ["$ make test", "compiling done", "testing…"]
    assert lines[3].startswith("[exit code 0 after ") and len(lines) == 4
    assert page.tasks.status.text().startswith("exit code 0 after ")
    assert last_line_color(page) != dot_color("failed", page.palette())


async def test_a_non_zero_exit_is_red_in_the_pane_the_status_and_the_history(pane) -> None:
    page, services = pane
    services.instances.run("inst_a", "agent-a", "false")
    services.instances.print_task("no newline at the end")
    services.instances.finish_task(None, 1)
    red = dot_color("failed", page.palette())
    lines = page.output.toPlainText().splitlines()
    assert lines[1] == "no newline at the end" and lines[2].startswith("[exit code 1 after ") and len(lines) == 3
    assert last_line_color(page) == red
    assert red.name() in page.tasks.status.styleSheet()
    assert page.run_list.item(0).foreground().color() == red


async def test_the_view_follows_new_output_at_the_bottom_and_stays_where_the_reader_scrolled(pane) -> None:
    page, services = pane
    bar = page.output.verticalScrollBar()
    services.instances.run("inst_a", "agent-a", "seq 1 1000")
    services.instances.print_task("".join(f"{n}\n" for n in range(1, 301)))
    assert bar.maximum() > 0 and bar.value() == bar.maximum()  # at the bottom: it follows
    services.instances.print_task("".join(f"{n}\n" for n in range(301, 401)))
    assert bar.value() == bar.maximum()

    bar.setValue(10)  # the reader scrolls up to read
    services.instances.print_task("".join(f"{n}\n" for n in range(401, 801)))
    assert bar.value() == 10 and bar.maximum() > 400
    services.instances.finish_task(None, 0)
    assert bar.value() == 10  # the end line does not yank the view either

    bar.setValue(bar.maximum())
    services.instances.run("inst_a", "agent-a", "again")
    services.instances.print_task("".join(f"{n}\n" for n in range(1, 301)))
    assert bar.value() == bar.maximum()


async def test_a_final_output_unlike_the_streamed_one_replaces_it_and_keeps_the_place(pane) -> None:
    page, services = pane
    bar = page.output.verticalScrollBar()
    services.instances.run("inst_a", "agent-a", "big")
    services.instances.print_task("".join(f"streamed {n}\n" for n in range(400)))
    bar.setValue(25)
    # The engine cut the output (its tail, with its note): the server's text is what the run ends with.
    services.instances.finish_task("[in10nt: output cut]\n" + "".join(f"kept {n}\n" for n in range(400)), 0)
    text = page.output.toPlainText()
    assert text.startswith("$ big\n[in10nt: output cut]\nkept 0\n") and "streamed" not in text
    assert bar.value() == 25


async def test_another_run_selected_shows_its_output_and_the_running_one_does_not_write_into_it(pane) -> None:
    page, services = pane
    services.instances.run("inst_a", "agent-a", "echo old")
    services.instances.print_task("old\n")
    services.instances.finish_task(None, 0)
    services.instances.run("inst_a", "agent-a", "tail -f log")
    services.instances.print_task("new 1\n")
    assert page.output.toPlainText() == "$ tail -f log\nnew 1\n"  # the newest run is shown as it starts

    page.run_list.setCurrentRow(1)
    assert page.output.toPlainText().splitlines()[:2] == ["$ echo old", "old"]
    services.instances.print_task("new 2\n")
    assert "new" not in page.output.toPlainText()
    assert page.run_list.currentRow() == 1

    page.run_list.setCurrentRow(0)
    assert page.output.toPlainText() == "$ tail -f log\nnew 1\nnew 2\n"


async def test_the_window_wires_the_service_s_output_signal_to_the_pane(tmp_path: Path) -> None:
    async with fake_window(tmp_path) as (win, services):
        assert isinstance(win, MainWindow)
        services.instances.rows = [InstanceData.model_validate(
            {"instanceId": "inst_b", "name": "b", "status": "running", "containerTemplateId": "tmpl_x"})]
        services.instances.loaded.emit(services.instances.rows)
        select_first(win.instances_page)
        services.instances.hold_tasks = True
        services.instances.run("inst_b", "b", "echo hi")
        services.instances.print_task("hi\n")
        assert win.instances_page.output.toPlainText() == "$ echo hi\nhi\n"

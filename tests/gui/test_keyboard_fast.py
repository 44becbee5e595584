"""Keyboard use without a mouse, checked on the window and every dialog (fast tier, fake services):
unique Alt+letter mnemonics per window, Ctrl+Enter submits multi-line questions, Esc clears the
search, Home/End reach the first and last rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fake_services import FakeServices, fake_window, template_data
from gui_helpers import collect_qt_garbage, ini_settings, wait_until  # noqa: F401 - autouse fixture
from mnemonics import clashes
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from in10nt_desktop.app.connection import ConnState
from in10nt_desktop.app.profiles import DEFAULT_PROFILES
from in10nt_desktop.ui.connection_dialog import ConnectionDialog
from in10nt_desktop.ui.dialogs import TextQuestion, ask_quit_with_builds, confirm_delete
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.templates_model import ROW_ROLE

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def window(tmp_path: Path) -> AsyncIterator[tuple[MainWindow, FakeServices]]:
    async with fake_window(tmp_path) as pair:
        yield pair


async def test_the_main_window_has_no_mnemonic_clash_in_any_state(window) -> None:
    win, services = window
    services.templates.server_changed(template_data("one"))
    services.templates.server_changed(template_data("two", "failed", error="no such tag"))
    problems = []
    for tab in range(win.tabs.count()):
        win.tabs.setCurrentIndex(tab)
        problems += [f"tab {tab}: {c}" for c in clashes(win)]
    win.tabs.setCurrentIndex(0)
    win.templates_page.select(win.templates_page.proxy.index(0, 0).data(ROW_ROLE).template_id)
    for details_tab in range(win.templates_page.details.tabs.count()):
        win.templates_page.details.tabs.setCurrentIndex(details_tab)
        problems += [f"details tab {details_tab}: {c}" for c in clashes(win)]
    for state in (ConnState.OFFLINE, ConnState.ENGINE_STOPPED, ConnState.NEEDS_KEY):
        services.connection.go(state, "something")
        problems += [f"{state.value}: {c}" for c in clashes(win)]
    win.message_bar.show_message("error", "Something failed.", "details")
    win.message_bar.details_button.click()
    problems += [f"error with details: {c}" for c in clashes(win)]
    assert problems == []


async def test_every_dialog_has_no_mnemonic_clash(window) -> None:
    win, _services = window
    problems = []
    for kw in ({}, {"multiline": True}, {"secret": True, "note": "kept safe"}):
        question = TextQuestion(win, "Question", "&Answer:", **kw)  # type: ignore[arg-type]
        question.show()
        problems += [f"TextQuestion {kw}: {c}" for c in clashes(question)]
        question.close()
    dialog = ConnectionDialog(list(DEFAULT_PROFILES), DEFAULT_PROFILES[0].name, None, win)
    dialog.show()
    for row in range(dialog.list.count()):
        dialog.list.setCurrentRow(row)
        problems += [f"Connections, {dialog.list.item(row).text()}: {c}" for c in clashes(dialog)]
    dialog.add_button.click()
    problems += [f"Connections, custom: {c}" for c in clashes(dialog)]
    dialog.close()
    for ask, name in ((confirm_delete(win, "template", ["a"]), "confirmDelete"),
                      (ask_quit_with_builds(win, 2), "quitWithBuilds")):
        task = asyncio.ensure_future(ask)
        await wait_until(lambda n=name: win.findChild(QMessageBox, n) is not None, 5)
        box = win.findChild(QMessageBox, name)
        assert isinstance(box, QMessageBox)
        problems += [f"{name}: {c}" for c in clashes(box)]
        box.reject()
        await task
    assert problems == []


async def test_every_wizard_page_has_no_mnemonic_clash(window) -> None:
    from in10nt_desktop.ui.wizard import CreateTemplateWizard

    win, _services = window
    problems = []
    for registry in ("dockerhub", "private", "gcr"):
        wizard = CreateTemplateWizard(set(), "http://127.0.0.1:9", None, win)
        wizard.show()
        wizard.name_page.name_edit.setText("x")
        problems += [f"{registry} page 1: {c}" for c in clashes(wizard)]
        wizard.next()
        image = {"gcr": "gcr.io/p/i:1", "private": "registry.example.com/t/i:1"}.get(registry, "busybox:1")
        wizard.image_page.set_values(image, registry)
        problems += [f"{registry} page 2: {c}" for c in clashes(wizard)]
        wizard.next()
        problems += [f"{registry} page 3: {c}" for c in clashes(wizard)]
        wizard.close()
    assert problems == []


async def test_ctrl_enter_submits_a_multi_line_question(window) -> None:
    win, _services = window
    question = TextQuestion(win, "Run task", "Task:", multiline=True)
    question.show()
    question.editor.setFocus()
    QTest.keyClicks(question.editor, "echo hi")
    QTest.keyClick(question.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert question.result() == TextQuestion.DialogCode.Accepted and question.text() == "echo hi"


async def test_escape_clears_the_search_and_home_end_reach_the_first_and_last_rows(window) -> None:
    win, services = window
    for name in ("alpha", "beta", "gamma"):
        services.templates.server_changed(template_data(name))
    page = win.templates_page
    page.search.setFocus()
    QTest.keyClicks(page.search, "bet")
    assert page.proxy.rowCount() == 1
    QTest.keyClick(page.search, Qt.Key.Key_Escape)
    assert page.search.text() == "" and page.proxy.rowCount() == 3
    page.table.setFocus()
    page.table.setCurrentIndex(page.proxy.index(1, 0))
    QTest.keyClick(page.table, Qt.Key.Key_End)
    assert page.table.currentIndex().row() == 2 and [r.name for r in page.selected_rows()] == \
        [page.proxy.index(2, 0).data(ROW_ROLE).name]
    QTest.keyClick(page.table, Qt.Key.Key_Home)
    assert page.table.currentIndex().row() == 0
    assert QApplication.focusWidget() is page.table


async def test_alt_letters_on_the_credentials_page_reach_their_fields(window) -> None:
    from in10nt_desktop.ui.wizard import CreateTemplateWizard

    win, _services = window
    wizard = CreateTemplateWizard(set(), "http://127.0.0.1:9", None, win)
    wizard.show()
    wizard.activateWindow()
    wizard.name_page.name_edit.setText("x")
    wizard.next()
    wizard.image_page.set_values("registry.example.com/t/i:1", "private")
    wizard.next()
    await wait_until(lambda: wizard.isActiveWindow(), 5, "the wizard never became the active window")
    reached = {}
    for key in (Qt.Key.Key_W, Qt.Key.Key_U):
        QTest.keyClick(wizard.focusWidget() or wizard, key, Qt.KeyboardModifier.AltModifier)
        focused = wizard.focusWidget()
        reached[key.name] = focused.accessibleName() if focused is not None else None
    wizard.close()
    assert reached == {"Key_W": "Password", "Key_U": "Private registry username"}

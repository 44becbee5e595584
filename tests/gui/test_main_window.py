"""The main window on the real services against the real local engine: names for screen readers,
keyboard operation, retry, copy, details, the message bar, notifications and saved state.

Every test runs on the qasync loop; windows are closed inside the test (before the loop goes).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import keyring.backends.fail
import pytest
from gui_helpers import (
    MemoryKeyring,
    closed_port,
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    go_online,
    ini_settings,
    keyring_backend,
    open_session,
    wait_until,
)
from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTableView,
    QTabWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot
from stack.engine_proc import EngineProc, wait_status
from stack.images import StackImages

from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.profiles import Profile
from in10nt_desktop.ui.connection_dialog import ConnectionDialog
from in10nt_desktop.ui.dialogs import TextQuestion
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.templates_model import ROW_ROLE, Column

pytestmark = pytest.mark.asyncio


class _NoRow:
    name = None


template_none = _NoRow()
CTRL = Qt.KeyboardModifier.ControlModifier
SUFFIX = uuid.uuid4().hex[:6]


@pytest.fixture(scope="module")
def seeded(engine: EngineProc, images: StackImages) -> Iterator[dict[str, dict[str, Any]]]:
    """A ready and a failed template (the failed one with the registry's own words)."""
    img = images.private_busybox
    bodies = {
        "ready": {"name": f"gui-ready-{SUFFIX}", "image": img.ref, "registryType": "private",
                  "registryAuth": {"username": "testuser", "password": "testpass"}},
        "failed": {"name": f"gui-failed-{SUFFIX}", "image": img.ref, "registryType": "private",
                   "registryAuth": {"username": "testuser", "password": "wrong-pass"}},
    }
    with engine.http() as http:
        ids = {key: http.post("/container-templates", json=body).json()["templateId"] for key, body in bodies.items()}
    rows = {key: wait_status(engine, tid, {"ready", "failed"}) for key, tid in ids.items()}
    assert rows["ready"]["status"] == "ready" and rows["failed"]["status"] == "failed"
    yield rows
    with engine.http() as http:
        for tid in ids.values():
            http.delete(f"/container-templates/{tid}")


@asynccontextmanager
async def opened(engine: EngineProc, tmp_path: Path, settings: QSettings | None = None,
                 online: bool = True) -> AsyncIterator[MainWindow]:
    settings = settings or ini_settings(tmp_path / "settings.ini")
    async with open_session(settings, engine.data_dir) as session:
        window = MainWindow(session, settings)
        window.show()
        window.activateWindow()
        try:
            if online:
                await go_online(session)
                await wait_until(lambda: window.isActiveWindow(), 5, "the window never became active")
            yield window
        finally:
            for child in window.findChildren(QWidget):
                if child.isWindow() and child.isVisible():
                    child.close()
            window.close()
            window.deleteLater()
            await asyncio.sleep(0)


def table_ids(window: MainWindow) -> list[str]:
    proxy = window.templates_page.proxy
    return [proxy.index(r, Column.ID).data() for r in range(proxy.rowCount())]


def select(window: MainWindow, template_id: str) -> None:
    window.templates_page.select(template_id)
    assert [r.template_id for r in window.templates_page.selected_rows()] == [template_id]


def press(window: MainWindow, key: Qt.Key, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    target = QApplication.focusWidget() or window
    QTest.keyClick(target, key, modifier)


# -- every input and button has a name a screen reader can say -------------------------------------------

NAMED_TYPES = (QLineEdit, QPlainTextEdit, QComboBox, QAbstractButton, QTableView, QTabWidget)


def unnamed(root: QWidget) -> list[str]:
    """Visible inputs/buttons/tables/tab widgets with neither an accessible name nor visible text.

    A button's own text names it; a field named by a ``QLabel`` buddy is named too (that is how Qt
    tells screen readers which label belongs to a field).
    """
    buddies = [label.buddy() for label in root.findChildren(QLabel)
               if label.buddy() is not None and label.text().replace("&", "").strip()]
    found = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not isinstance(widget, NAMED_TYPES) or not widget.isVisible():
            continue
        if widget.accessibleName().strip():
            continue
        if isinstance(widget, QAbstractButton) and widget.text().replace("&", "").strip():
            continue
        if any(widget is b for b in buddies):
            continue
        found.append(f"{type(widget).__name__}(objectName={widget.objectName()!r}, "
                     f"toolTip={widget.toolTip()!r}, parent={type(widget.parent()).__name__})")
    return found


async def test_every_visible_input_and_button_has_an_accessible_name(engine: EngineProc, seeded: dict,
                                                                     tmp_path: Path) -> None:
    async with opened(engine, tmp_path) as window:
        select(window, seeded["ready"]["templateId"])
        problems: set[str] = set()
        details = window.templates_page.details
        for tab in range(window.tabs.count()):
            window.tabs.setCurrentIndex(tab)
            subtabs = range(details.tabs.count()) if tab == 0 else [None]
            for sub in subtabs:
                if sub is not None:
                    details.tabs.setCurrentIndex(sub)
                    for code_tab in range(details.code_tabs.count()):
                        details.code_tabs.setCurrentIndex(code_tab)
                        problems.update(unnamed(window))
                problems.update(unnamed(window))
        window.tabs.setCurrentIndex(0)
        window.message_bar.show_message("error", "Something failed.", "details here")
        window.message_bar.details_button.setChecked(True)
        problems.update(unnamed(window))
        window.message_bar.show_message("offline", "Cannot reach the server.")
        problems.update(unnamed(window))

        window.open_connections()
        dialog = window.findChild(ConnectionDialog)
        assert dialog is not None and dialog.isVisible()
        for row in range(dialog.list.count()):
            dialog.list.setCurrentRow(row)
            problems.update(f"ConnectionDialog: {p}" for p in unnamed(dialog))
        dialog.close()

        question = TextQuestion(window, "API key", "API key for In10nt Cloud:", secret=True, note="kept safe")
        question.show()
        problems.update(f"TextQuestion: {p}" for p in unnamed(question))
        question.close()
        assert sorted(problems) == [], "unnamed widgets:\n" + "\n".join(sorted(problems))


async def test_a_narrow_window_has_no_unnamed_buttons_either(engine: EngineProc, seeded: dict,
                                                             tmp_path: Path) -> None:
    """Below ~950 px the toolbar no longer fits and Qt shows its "»" overflow button."""
    async with opened(engine, tmp_path) as window:
        window.resize(760, 540)
        await asyncio.sleep(0.05)
        select(window, seeded["ready"]["templateId"])
        assert unnamed(window) == []


async def test_the_name_walk_catches_an_icon_only_button(qtbot: QtBot) -> None:
    from PySide6.QtWidgets import QHBoxLayout, QStyle, QToolButton
    holder = QWidget()
    qtbot.addWidget(holder)
    layout = QHBoxLayout(holder)
    icon_only = QToolButton()
    icon_only.setIcon(holder.style().standardIcon(QStyle.StandardPixmap.SP_TrashIcon))
    field = QLineEdit()
    layout.addWidget(icon_only)
    layout.addWidget(field)
    holder.show()
    assert len(unnamed(holder)) == 2
    icon_only.setAccessibleName("Delete")
    label = QLabel("&Name:")
    label.setBuddy(field)
    layout.addWidget(label)
    assert unnamed(holder) == []


# -- keyboard -----------------------------------------------------------------------------------------------


async def test_ctrl_n_opens_the_wizard_and_ctrl_f_focuses_search(engine: EngineProc, seeded: dict,
                                                                 tmp_path: Path) -> None:
    async with opened(engine, tmp_path) as window:
        window.templates_page.table.setFocus()
        press(window, Qt.Key.Key_F, CTRL)
        assert QApplication.focusWidget() is window.templates_page.search

        window.tabs.setCurrentIndex(2)  # from another tab, Ctrl+F brings the templates back
        press(window, Qt.Key.Key_F, CTRL)
        assert window.tabs.currentIndex() == 0
        assert QApplication.focusWidget() is window.templates_page.search
        QTest.keyClicks(window.templates_page.search, seeded["ready"]["name"].upper())
        assert table_ids(window) == [seeded["ready"]["templateId"]]
        window.templates_page.search.clear()

        window.templates_page.table.setFocus()
        press(window, Qt.Key.Key_N, CTRL)
        await wait_until(lambda: window.wizard is not None and window.wizard.isVisible(), 5, "no wizard")
        assert window.wizard is not None
        assert window.wizard.windowTitle() == "New template"
        assert window.wizard.name_page.name_edit.text() == ""
        window.wizard.reject()


async def test_f5_refreshes_the_table(engine: EngineProc, images: StackImages, seeded: dict,
                                      tmp_path: Path) -> None:
    async with opened(engine, tmp_path) as window:
        with engine.http() as http:  # made by someone else (the CLI, another app)
            other = http.post("/container-templates", json={"name": f"elsewhere-{SUFFIX}",
                                                            "image": images.open_busybox.ref,
                                                            "registryType": "private"}).json()
        try:
            assert other["templateId"] not in table_ids(window)
            window.templates_page.table.setFocus()
            press(window, Qt.Key.Key_F5)
            await wait_until(lambda: other["templateId"] in table_ids(window), 10, "F5 did not reload")
        finally:
            with engine.http() as http:
                http.delete(f"/container-templates/{other['templateId']}")


async def test_delete_key_confirms_then_removes_the_row(engine: EngineProc, images: StackImages, seeded: dict,
                                                        tmp_path: Path) -> None:
    async with opened(engine, tmp_path) as window:
        with engine.http() as http:
            doomed = http.post("/container-templates", json={"name": f"doomed-{SUFFIX}",
                                                             "image": images.open_busybox.ref,
                                                             "registryType": "private"}).json()
        # No refresh: the engine's event stream brings the row created by another client.
        await wait_until(lambda: doomed["templateId"] in table_ids(window), 5, "the new row never showed")
        select(window, doomed["templateId"])
        window.templates_page.table.setFocus()
        press(window, Qt.Key.Key_Delete)
        await wait_until(lambda: isinstance(window.findChild(QMessageBox, "confirmDelete"), QMessageBox), 5)
        box = window.findChild(QMessageBox, "confirmDelete")
        assert isinstance(box, QMessageBox) and f"doomed-{SUFFIX}" in box.informativeText()
        next(b for b in box.buttons() if b.text().replace("&", "") == "Delete").click()
        await wait_until(lambda: doomed["templateId"] not in table_ids(window), 10, "the row stayed")
        with engine.http() as http:
            assert http.get(f"/container-templates/{doomed['templateId']}").status_code == 404


# -- retry, copy ID, details ----------------------------------------------------------------------------------


async def test_rebuild_asks_the_password_again_in_place_and_keeps_both_builds(engine: EngineProc, images: StackImages,
                                                                               seeded: dict, tmp_path: Path) -> None:
    with engine.http() as http:
        tid = http.post("/container-templates", json={
            "name": f"rebuild-me-{SUFFIX}", "image": images.private_busybox.ref, "registryType": "private",
            "registryAuth": {"username": "testuser", "password": "wrong-pass"}}).json()["templateId"]
    wait_status(engine, tid, {"failed"})
    async with opened(engine, tmp_path) as window:
        select(window, tid)
        assert window.actions_["retry"].isEnabled()
        window.templates_page.table.setFocus()
        press(window, Qt.Key.Key_R, CTRL)
        await wait_until(lambda: window.wizard is not None and window.wizard.isVisible(), 5, "no wizard")
        wizard = window.wizard
        assert wizard is not None and wizard.windowTitle() == "Rebuild with credentials"
        panel = wizard.credentials_page.panel()
        assert panel.username_edit.text() == "testuser"  # the login the failed build used
        secrets = [e for e in wizard.findChildren(QLineEdit) if e.echoMode() == QLineEdit.EchoMode.Password]
        assert secrets and all(e.text() == "" for e in secrets)  # never kept: asked again
        panel.secret_field.set_use_env(False)
        next(e for e in secrets if e.isVisible()).setText("testpass")
        wizard.next()
        wizard.accept()
        await wait_until(lambda: window.services.templates.store.get(tid).status == "ready", 30,
                         "the rebuild never became ready")
        assert [r.template_id for r in window.services.templates.store.rows
                if r.name == f"rebuild-me-{SUFFIX}"] == [tid]  # in place: no second row
        builds = window.templates_page.details.builds
        await wait_until(lambda: builds.records.count() == 2
                         and builds.records.item(0).text().startswith("#2 rebuild · ready"), 10,
                         "the Builds tab never showed both attempts, the newest ready")
        assert builds.records.item(1).text().startswith("#1 create · failed")
        builds.records.setCurrentRow(1)
        assert "Credentials rejected" in builds.summary.text()
    with engine.http() as http:
        http.delete(f"/container-templates/{tid}")


async def test_copy_id_puts_the_id_on_the_clipboard(engine: EngineProc, seeded: dict, tmp_path: Path) -> None:
    async with opened(engine, tmp_path) as window:
        QGuiApplication.clipboard().setText("before")
        select(window, seeded["ready"]["templateId"])
        window.templates_page.table.setFocus()
        press(window, Qt.Key.Key_C, CTRL | Qt.KeyboardModifier.ShiftModifier)
        assert QGuiApplication.clipboard().text() == seeded["ready"]["templateId"]


async def test_details_show_digest_size_log_and_code_without_secrets(engine: EngineProc, seeded: dict,
                                                                     images: StackImages, tmp_path: Path) -> None:
    ready = seeded["ready"]
    async with opened(engine, tmp_path) as window:
        select(window, ready["templateId"])
        details = window.templates_page.details
        assert (details.title.toolTip() or details.title.text()) == ready["name"]
        fields = {e.accessibleName(): e.text() for e in details.findChildren(QLineEdit)}
        assert fields["Digest"] == images.private_busybox.digest
        assert fields["Template ID"] == ready["templateId"]
        assert f"{images.private_busybox.size_bytes:,} bytes" in fields["Size"]
        assert fields["Platform"] == "linux/amd64"

        copy_digest = next(b for b in details.findChildren(QAbstractButton) if b.accessibleName() == "Copy digest")
        copy_digest.click()
        assert QGuiApplication.clipboard().text() == images.private_busybox.digest

        snippets = {key: view.toPlainText() for key, view in details.snippets.items()}
        for key, text in snippets.items():
            assert ready["name"] in text and ready["image"] in text, key
            assert "testpass" not in text, key  # the password never; the username is no secret
        # The local engine's address changes with each start: the curl reads it from its engine.json.
        assert str(engine.data_dir / "engine.json") in snippets["curl"] and engine.url not in snippets["curl"]
        await wait_until(lambda: details.log.toPlainText().strip() != "", 10, "the build log never showed")
        assert "testpass" not in details.log.toPlainText()

        select(window, seeded["failed"]["templateId"])
        error = next(lbl for lbl in details.findChildren(QLabel) if lbl.objectName() == "errorText")
        assert "Credentials rejected" in error.text()
        status = window.templates_page.proxy.index(table_ids(window).index(seeded["failed"]["templateId"]),
                                                   Column.STATUS)
        assert "Credentials rejected" in status.data(Qt.ItemDataRole.ToolTipRole)


# -- message bar: errors, offline, 401 ---------------------------------------------------------------------------


async def test_errors_go_to_the_message_bar_with_details(engine: EngineProc, seeded: dict, tmp_path: Path) -> None:
    async with opened(engine, tmp_path) as window:
        bar = window.message_bar
        assert not bar.isVisible()
        window.services.templates.delete(["tpl_no_such_template"])
        await wait_until(lambda: bar.isVisible(), 10, "the failure was not shown")
        assert bar.kind == "error"
        assert bar.text.text().startswith("Could not delete template tpl_no_such_template: ")
        assert bar.details_button.isVisible() and not bar.details.isVisible()
        bar.details_button.click()
        assert bar.details.isVisible() and "tpl_no_such_template" in bar.details.toPlainText()
        assert not bar.retry.isVisible()
        bar.close_button.click()
        assert not bar.isVisible()

        window.services.templates.create(TemplateDraft(name="bad", image="not a valid image!", registry_type="private"))
        await wait_until(lambda: bar.isVisible(), 10)
        assert bar.text.text().startswith("Creating bad:")


async def test_offline_banner_offers_retry(engine: EngineProc, tmp_path: Path) -> None:
    with keyring_backend(MemoryKeyring()):
        async with opened(engine, tmp_path, online=False) as window:
            session = window.services
            profile = Profile("Nowhere", "custom", f"http://127.0.0.1:{closed_port()}")
            await session.keys.set(profile.key_account(), "k")
            session.activate(profile)
            bar = window.message_bar
            await wait_until(lambda: bar.isVisible() and bar.kind == "offline", 15, "no offline banner")
            assert "Cannot reach" in bar.text.text()
            assert bar.retry.isVisible() and not bar.enter_key.isVisible()
            assert "offline" in window.connection_label.text()
            assert not window.actions_["new"].isEnabled()
            states: list[str] = []
            session.connection.state_changed.connect(lambda state, _t: states.append(state))
            bar.retry.click()
            await wait_until(lambda: "connecting" in states, 5, "Retry did not reconnect")


async def test_refused_key_shows_the_key_prompt_in_the_bar(engine: EngineProc, tmp_path: Path) -> None:
    with keyring_backend(MemoryKeyring()):
        async with opened(engine, tmp_path, online=False) as window:
            session = window.services
            profile = Profile("Engine by URL", "custom", engine.url)
            await session.keys.set(profile.key_account(), "wrong")
            session.activate(profile)
            bar = window.message_bar
            await wait_until(lambda: bar.isVisible() and bar.kind == "needs_key", 10)
            assert bar.enter_key.isVisible() and not bar.retry.isVisible()
            assert window.actions_["api_key"].isEnabled()
            assert "API key" in window.connection_label.text()


async def test_connections_dialog_says_when_keys_are_kept_for_the_session_only(engine: EngineProc,
                                                                               tmp_path: Path) -> None:
    with keyring_backend(keyring.backends.fail.Keyring()):
        async with opened(engine, tmp_path) as window:
            await window.services.keys.get("anything")  # finds there is no keychain
            window.open_connections()
            dialog = window.findChild(ConnectionDialog)
            assert dialog is not None
            assert "kept for this session only" in dialog.key_note.text()
            dialog.close()


# -- notifications --------------------------------------------------------------------------------------------------


async def test_finished_builds_notify(engine: EngineProc, images: StackImages, tmp_path: Path) -> None:
    async with opened(engine, tmp_path) as window:
        notes: list[tuple[str, str]] = []
        window.notified.connect(lambda title, text: notes.append((title, text)))
        good, bad = f"gui-note-ok-{SUFFIX}", f"gui-note-bad-{SUFFIX}"
        window.services.templates.create(TemplateDraft(name=good, image=images.open_busybox.ref,
                                                     registry_type="private"))
        # The row may arrive by the event stream before the create's answer: the answer selects it.
        await wait_until(lambda: (window.templates_page.current_row() or template_none).name == good, 10,
                         "the new row was not selected")
        window.services.templates.create(TemplateDraft(name=bad, image=images.private_busybox.ref,
                                                     registry_type="private"))
        await wait_until(lambda: len(notes) >= 2, 20, f"notifications: {notes}")
        await asyncio.sleep(0.5)  # a few more ticks: nothing is announced twice
        assert sorted(title for title, _ in notes) == ["Build failed", "Template ready"]
        ready_text = next(text for title, text in notes if title == "Template ready")
        failed_text = next(text for title, text in notes if title == "Build failed")
        assert good in ready_text and bad in failed_text and "requires credentials" in failed_text
        assert window.statusBar().currentMessage()
        for row in list(window.services.templates.store.rows):
            if row.name in (good, bad):
                assert window.services.connection.client is not None
                await window.services.connection.client.templates.delete(row.template_id)


# -- state across runs ------------------------------------------------------------------------------------------------


async def test_closing_saves_layout_and_a_new_window_restores_it(engine: EngineProc, seeded: dict,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "settings.ini"
    settings = ini_settings(path)
    async with opened(engine, tmp_path, settings) as window:
        window.resize(760, 540)  # inside the offscreen screen (800x600): restoreGeometry keeps windows on screen
        window.templates_page.table.setColumnWidth(Column.NAME, 231)
        window.tabs.setCurrentIndex(1)
        window.close()
    settings.sync()
    for key in ("window/geometry", "window/templates_header", "window/splitter", "window/tab"):
        assert settings.contains(key), key
    assert isinstance(settings.value("window/geometry"), QByteArray)

    reread = ini_settings(path)  # as on the next start
    async with open_session(reread, engine.data_dir) as session:
        again = MainWindow(session, reread)
        try:
            assert again.tabs.currentIndex() == 1
            assert again.templates_page.table.columnWidth(Column.NAME) == 231
            assert (again.width(), again.height()) == (760, 540)
        finally:
            again.close()
            again.deleteLater()


async def test_selection_and_details_follow_a_live_status_change(engine: EngineProc, images: StackImages,
                                                                 tmp_path: Path) -> None:
    """The user watches a build: the badge changes in place, the row stays selected, details update."""
    async with opened(engine, tmp_path) as window:
        name = f"gui-watch-{SUFFIX}"
        window.services.templates.create(TemplateDraft(name=name, image=images.open_busybox.ref,
                                                     registry_type="private"))
        await wait_until(lambda: any(r.name == name for r in window.services.templates.store.rows))
        tid = next(r.template_id for r in window.services.templates.store.rows if r.name == name)
        # the event may bring the row before the create's answer, which selects it
        await wait_until(lambda: [r.template_id for r in window.templates_page.selected_rows()] == [tid], 10,
                         "the new row was not selected")
        # The digest is known once resolved (mid-build, by the event stream); wait for the end of the build.
        await wait_until(lambda: window.services.templates.store.get(tid).status == "ready"
                         and window.services.templates.store.get(tid).data.digest is not None, 30,
                         "the details never got the digest of the build that finished")
        assert [r.template_id for r in window.templates_page.selected_rows()] == [tid]
        index = window.templates_page.table.currentIndex()
        assert index.data(ROW_ROLE).template_id == tid and index.data(ROW_ROLE).status == "ready"
        fields = {e.accessibleName(): e.text() for e in window.templates_page.details.findChildren(QLineEdit)}
        assert fields.get("Digest") == images.open_busybox.digest
        # the actions follow the status without a click: a ready template can be used at once
        assert window.actions_["use"].isEnabled()
        # a reload (F5) keeps the selection and the details
        loaded: list[bool] = []
        window.services.templates.loaded.connect(lambda: loaded.append(True))
        window.services.refresh()
        await wait_until(lambda: loaded, 10, "F5 never reloaded the list")
        assert [r.template_id for r in window.templates_page.selected_rows()] == [tid]
        assert window.templates_page.details.row is not None
        assert window.templates_page.details.row.template_id == tid
        assert window.services.connection.client is not None
        await window.services.connection.client.templates.delete(tid)



async def test_a_private_templates_copied_cli_command_works_with_the_variable_set(engine: EngineProc, seeded: dict,
                                                                                tmp_path: Path) -> None:
    import shlex

    ready = seeded["ready"]  # private, built with testuser's credentials
    async with opened(engine, tmp_path) as window:
        select(window, ready["templateId"])
        command = window.templates_page.details.snippets["cli"].toPlainText()
    assert "--username testuser --password-env REGISTRY_PASS" in command and "testpass" not in command
    words = shlex.split(command)
    words[words.index("--name") + 1] = f"copied-{SUFFIX}"  # a second template from the same command
    out = await asyncio.to_thread(engine.cli, *words[1:], "--wait", env={"REGISTRY_PASS": "testpass"})
    assert out.returncode == 0, out.stderr
    with engine.http() as http:
        copied = http.get(f"/container-templates/{out.stdout.strip()}").json()
        assert copied["status"] == "ready" and copied["digest"] == ready["digest"]
        http.delete(f"/container-templates/{copied['templateId']}")


async def test_the_copied_python_and_curl_of_a_local_template_reach_this_engine(engine: EngineProc, seeded: dict,
                                                                               tmp_path: Path) -> None:
    """The engine's address and token change with each start: the copied code reads them from its
    engine.json, where code for the hosted service would read IN10NT_BASE_URL (and reach the internet)."""
    import os
    import subprocess
    import sys

    ready = seeded["ready"]  # private, built with testuser's credentials
    async with opened(engine, tmp_path) as window:
        select(window, ready["templateId"])
        snippets = window.templates_page.details.snippets
        python, curl = snippets["python"].toPlainText(), snippets["curl"].toPlainText()
    assert "In10ntClient.for_local_engine()" in python and engine.token not in python + curl
    env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
    env.update(REGISTRY_PASS="testpass", IN10NT_DATA_DIR=str(engine.data_dir))
    made = []
    for kind, code in (("python", python), ("curl", curl)):
        name = f"{kind}-{SUFFIX}"
        code = code.replace(repr(ready["name"]) if kind == "python" else f'"{ready["name"]}"',
                            repr(name) if kind == "python" else f'"{name}"')
        command = [sys.executable, "-c", code] if kind == "python" else ["bash", "-c", code]
        out = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, env=env, timeout=120)
        assert out.returncode == 0, (kind, out.stdout, out.stderr)
        made.append(name)
    with engine.http() as http:
        rows = {t["name"]: t for t in http.get("/container-templates").json() if t["name"] in made}
    assert set(rows) == set(made)
    for row in rows.values():
        done = await asyncio.to_thread(wait_status, engine, row["templateId"], {"ready", "failed"})
        assert done["status"] == "ready" and done["digest"] == ready["digest"], done
        with engine.http() as http:
            http.delete(f"/container-templates/{row['templateId']}")

"""Small window-modal questions the actions need: confirmations, a name, a task, an API key.

No nested event loops: each dialog is opened with ``open()`` and its answer awaited through
its ``finished`` signal (``answer``), so the connection keeps running underneath while the
user reads. Code after a question must re-read what it needs: the world moved meanwhile.
None of them does I/O.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFontDatabase, QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.api.validation import FieldError, check_name


async def answer(dialog: QDialog) -> int:
    """Open ``dialog`` window-modal and wait for its result without a nested event loop."""
    future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not future.done():
            future.set_result(result)

    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.finished.connect(finished)
    dialog.open()
    try:
        return await future
    finally:
        if dialog.isVisible():  # the asking task was cancelled: do not leave the question up
            dialog.reject()
        dialog.deleteLater()  # one per question: do not keep them parented to the window forever


async def confirm_delete(parent: QWidget, what: str, names: list[str]) -> bool:
    shown = names[:15]
    more = f"\n… and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
    box = QMessageBox(QMessageBox.Icon.Warning, f"Delete {what}",
                      f"Delete {len(names)} {what}{'s' if len(names) != 1 else ''}? This cannot be undone.",
                      QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText("\n".join(f"• {n}" for n in shown) + more)
    delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setObjectName("confirmDelete")
    await answer(box)
    return box.clickedButton() is delete


async def confirm_stop_stalled(parent: QWidget, name: str, reason: str) -> bool:
    """Rebuild of a stalled build: the engine stops the build first. Said before it is done."""
    box = QMessageBox(QMessageBox.Icon.Question, "Rebuild a stalled build",
                      f"Stop the stalled build of {name} and build it again?", QMessageBox.StandardButton.Cancel,
                      parent)
    box.setInformativeText(f"Its build has not failed: {reason}. Waiting is also fine: it goes on by itself "
                           "when the registry answers again.")
    rebuild = box.addButton("&Stop and rebuild", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(rebuild)  # nothing is lost: a stalled build has received nothing for a while
    box.setObjectName("confirmStopStalled")
    await answer(box)
    return box.clickedButton() is rebuild


class TextQuestion(QDialog):
    """A labelled input with live validation; OK stays disabled until the text is acceptable."""

    def __init__(self, parent: QWidget | None, title: str, label: str, *, initial: str = "",
                 multiline: bool = False, secret: bool = False, check_as_name: bool = False,
                 note: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(440)
        self._check_as_name = check_as_name
        layout = QVBoxLayout(self)
        caption = QLabel(label)
        caption.setWordWrap(True)
        layout.addWidget(caption)
        self.editor: QLineEdit | QPlainTextEdit
        if multiline:
            self.editor = QPlainTextEdit(initial)
            self.editor.setTabChangesFocus(True)
            # Multi-line here is a command (Run task): it reads as code, in the fixed-width font.
            self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            self.editor.textChanged.connect(self._validate)
        else:
            self.editor = QLineEdit(initial)
            if secret:
                self.editor.setEchoMode(QLineEdit.EchoMode.Password)
            self.editor.textChanged.connect(self._validate)
        self.editor.setAccessibleName(label.rstrip(":"))
        caption.setBuddy(self.editor)
        layout.addWidget(self.editor)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleDescription("Input problem")
        layout.addWidget(self.message)
        if note:
            hint = QLabel(note)
            hint.setWordWrap(True)
            layout.addWidget(hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        if multiline:  # Enter makes a new line there: Ctrl+Enter submits, as in chat and code review tools
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setToolTip("Ctrl+Enter")
            # The editor takes Ctrl+Return as its own key (a shortcut would never fire): filter it.
            self.editor.installEventFilter(self)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._validate()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (event.type() == QEvent.Type.KeyPress and isinstance(event, QKeyEvent)
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
            if ok.isEnabled():
                ok.click()
            return True
        return super().eventFilter(watched, event)

    def text(self) -> str:
        return self.editor.toPlainText() if isinstance(self.editor, QPlainTextEdit) else self.editor.text()

    def problem(self) -> str | None:
        text = self.text()
        if not text.strip():
            return "Enter something first."
        if self._check_as_name:
            try:
                check_name(text)
            except FieldError as exc:
                return exc.message
        return None

    def _validate(self) -> None:
        problem = self.problem()
        self.message.setText(problem or "")
        self.message.setVisible(bool(problem) and bool(self.text()))
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(problem is None)


async def ask_text(parent: QWidget, title: str, label: str, **kw: object) -> str | None:
    dialog = TextQuestion(parent, title, label, **kw)  # type: ignore[arg-type]
    try:
        result = await answer(dialog)
        return dialog.text() if result == QDialog.DialogCode.Accepted else None
    finally:
        # The answer may be an API key: clear it instead of keeping it in a dialog waiting for deletion.
        if isinstance(dialog.editor, QLineEdit):
            dialog.editor.clear()


async def ask_quit_with_builds(parent: QWidget, count: int) -> str:
    """Builds run in the engine this app started: ``"keep"`` it running, ``"stop"`` it, or ``"cancel"``."""
    plural = "s are" if count != 1 else " is"
    box = QMessageBox(QMessageBox.Icon.Question, "Builds in progress",
                      f"{count} build{plural} still running in the local engine.",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("quitWithBuilds")
    box.setInformativeText("Keep the engine running in the background until they finish (the next start "
                           "shows them), or stop it now: builds that used a registry login then fail, "
                           "the others start again next time.")
    keep = box.addButton("&Keep building in background", QMessageBox.ButtonRole.AcceptRole)
    stop = box.addButton("&Stop builds and quit", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep)
    await answer(box)
    clicked = box.clickedButton()
    return "keep" if clicked is keep else "stop" if clicked is stop else "cancel"

"""Small modal questions the actions need: confirmations, a name, a task, an API key.

Each returns the answer (or None when cancelled); none does I/O.
"""

from __future__ import annotations

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


def confirm_delete(parent: QWidget, what: str, names: list[str]) -> bool:
    shown = names[:15]
    more = f"\n… and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
    box = QMessageBox(QMessageBox.Icon.Warning, f"Delete {what}",
                      f"Delete {len(names)} {what}{'s' if len(names) != 1 else ''}? This cannot be undone.",
                      QMessageBox.StandardButton.Cancel, parent)
    box.setInformativeText("\n".join(f"• {n}" for n in shown) + more)
    delete = box.addButton("&Delete", QMessageBox.ButtonRole.DestructiveRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    confirmed = box.clickedButton() is delete
    box.deleteLater()  # one per question: do not keep them parented to the window forever
    return confirmed


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
        self.message.setAccessibleName("Input problem")
        layout.addWidget(self.message)
        if note:
            hint = QLabel(note)
            hint.setWordWrap(True)
            layout.addWidget(hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._validate()

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


def ask_text(parent: QWidget, title: str, label: str, **kw: object) -> str | None:
    dialog = TextQuestion(parent, title, label, **kw)  # type: ignore[arg-type]
    try:
        return dialog.text() if dialog.exec() == QDialog.DialogCode.Accepted else None
    finally:
        # The answer may be an API key: clear it and drop the dialog instead of keeping both.
        if isinstance(dialog.editor, QLineEdit):
            dialog.editor.clear()
        dialog.deleteLater()

"""The create-template wizard's last page: what will be sent (secrets described, never shown), and the
same request as code to copy (Python SDK, the in10nt CLI, curl).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from in10nt_desktop.app import code_snippets
from in10nt_desktop.app.code_snippets import DEFAULT_PASSWORD_VAR, CodeTarget
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.ui.access_check import AccessRow
from in10nt_desktop.ui.wizard_pages import REGISTRY_TYPE_NAMES


class ReviewPage(QWizardPage):
    """What will be sent (secrets described, never shown) and the same request as code."""

    SNIPPETS: tuple[tuple[str, str], ...] = (("python", "Python"), ("cli", "CLI"), ("curl", "curl"))

    def __init__(self, target: CodeTarget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._target = target
        self.summary: dict[str, QLabel] = {}
        self._summary_form = QFormLayout()
        self.tabs = QTabWidget()
        self.code_views: dict[str, QPlainTextEdit] = {}
        self.copy_buttons: dict[str, QPushButton] = {}
        self.copied_labels: dict[str, QLabel] = {}
        self.code_note = QLabel()
        self.access = AccessRow("the image with these settings")
        self.access.button.setText("Te&st again")
        self.access.setVisible(False)
        self._build_ui()

    def _build_ui(self) -> None:
        if self._target.rebuild_of:
            self.setTitle("Review and rebuild")
            self.setSubTitle("Nothing is sent until you press Rebuild. The same template builds again, and its "
                             "earlier builds stay in its history.")
        else:
            self.setTitle("Review and create")
            self.setSubTitle("Nothing is created until you press Create. The build starts right away.")
        for key in ("name", "description", "image", "registry", "username", "secret"):
            label = QLabel()
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.summary[key] = label
        form = self._summary_form
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, text in (("name", "Name:"), ("description", "Description:"), ("image", "Image:"),
                          ("registry", "Registry type:"), ("username", "Username:"), ("secret", "Password:")):
            form.addRow(text, self.summary[key])
        form.addRow("Access check:", self.access)
        form.setRowVisible(self.access, False)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        names = {"python": "Python SDK code", "cli": "in10nt command line", "curl": "curl request"}
        for key, title in self.SNIPPETS:
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(mono)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            view.setAccessibleName(names[key])
            copy = QPushButton(f"Cop&y {title}")
            copy.setAccessibleName(f"Copy the {names[key]} to the clipboard")
            copy.setAutoDefault(False)
            copy.clicked.connect(self._copier(key))
            tab = QWidget()
            column = QVBoxLayout(tab)
            column.addWidget(view)
            copied = QLabel()
            row = QHBoxLayout()
            row.addWidget(copied, 1)
            row.addWidget(copy)
            column.addLayout(row)
            self.tabs.addTab(tab, title)
            self.code_views[key] = view
            self.copy_buttons[key] = copy
            self.copied_labels[key] = copied
        self.tabs.setAccessibleName("Copy as code")
        self.code_note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addSpacing(8)
        layout.addWidget(QLabel("<b>Copy as code</b> — the same request, to script it later:"))
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.code_note)

    def _copier(self, key: str) -> Callable[[], None]:
        return lambda: self.copy(key)

    def copy(self, key: str) -> None:
        QGuiApplication.clipboard().setText(self.code_views[key].toPlainText())
        self.copied_labels[key].setText("Copied to the clipboard.")

    def show_access(self, available: bool) -> None:
        self._summary_form.setRowVisible(self.access, available)
        self.access.setVisible(available)

    def show_draft(self, draft: TemplateDraft, secret_label: str, secret_summary: str) -> None:
        self.summary["name"].setText(draft.name)
        self.summary["description"].setText(draft.description or "none")
        self.summary["image"].setText(draft.image)
        self.summary["registry"].setText(REGISTRY_TYPE_NAMES[draft.registry_type])
        self.summary["username"].setText(draft.username or "none")
        self.summary["secret"].setText(secret_summary)
        label = self._summary_form.labelForField(self.summary["secret"])
        if isinstance(label, QLabel):
            label.setText(f"{secret_label}:")
        self._summary_form.setRowVisible(self.summary["username"], draft.has_credentials)
        self.code_views["python"].setPlainText(code_snippets.python_sdk(draft, self._target))
        self.code_views["cli"].setPlainText(code_snippets.cli(draft, self._target))
        self.code_views["curl"].setPlainText(code_snippets.curl(draft, self._target))
        for label in self.copied_labels.values():
            label.clear()
        if draft.has_credentials and draft.secret is not None and draft.secret.kind == "typed":
            self.code_note.setText(f"The code reads the {secret_label.lower()} from ${DEFAULT_PASSWORD_VAR}: "
                                   "set it before running the code.")
        else:
            self.code_note.setText("")
        self.code_note.setVisible(bool(self.code_note.text()))

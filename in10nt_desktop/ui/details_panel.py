"""The selected template: every field the server gave, its build log, and "copy as code"."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.api import HOSTED_BASE_URL
from in10nt_desktop.app import code_snippets
from in10nt_desktop.app.code_snippets import draft_for_code
from in10nt_desktop.app.template_rows import TemplateRow
from in10nt_desktop.text_formats import human_size, ordinal
from in10nt_desktop.ui.builds_tab import BuildsTab
from in10nt_desktop.ui.drift_box import DriftBox
from in10nt_desktop.ui.status_badge import elapsed_text, stall_reason

# Fields shown first and how to label them; anything else the server sends follows, as given.
_KNOWN = [("templateId", "Template ID"), ("name", "Name"), ("description", "Description"), ("image", "Image"),
          ("registryType", "Registry"), ("status", "Status"), ("error", "Error"), ("digest", "Digest"),
          ("sizeBytes", "Size"), ("platform", "Platform"), ("layers", "Layers"), ("progress", "Progress"),
          ("createdAt", "Created"), ("updatedAt", "Updated"), ("phase", "Phase"), ("queuePosition", "Place in queue"),
          ("startedAt", "Build started"), ("expectedSeconds", "Expected build time"), ("stalled", "Stalled"),
          ("stalledReason", "Why stalled"), ("buildCount", "Builds"), ("needsCredentials", "Needs credentials"),
          ("registryUsername", "Registry username")]
_LABELS = dict(_KNOWN)
# Shown only while they say something: a finished build has no phase, place or stall to speak of.
_ONLY_WHILE_BUILDING = {"phase", "queuePosition", "startedAt", "expectedSeconds", "stalled", "stalledReason"}
_SENTENCES = {"error", "description", "stalledReason"}
_COPYABLE = {"templateId", "digest", "image"}
COPY_TEXT = "&Copy code"
COPIED_MS = 2000


def _copy(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def field_text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "sizeBytes" and isinstance(value, int):
        return f"{human_size(value)} ({value:,} bytes)"
    if key == "progress" and isinstance(value, dict):
        current, total = value.get("current", 0), value.get("total")
        return f"{human_size(current)} of {human_size(total)}" if total else human_size(current)
    if key == "stalledReason" and isinstance(value, str):
        return stall_reason(value)  # its label already says "stalled"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "expectedSeconds" and isinstance(value, int | float):
        return f"≈ {elapsed_text(float(value))} (from earlier builds of this image)"
    if key == "queuePosition" and isinstance(value, int):
        return ordinal(value)
    if key in ("createdAt", "updatedAt", "startedAt") and isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


NO_SELECTION = "Select a template to see its fields."


class DetailsPanel(QWidget):
    row_shown = Signal(object, object)   # TemplateRow | None now shown, the one before (None at first)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.row: TemplateRow | None = None
        self._last_id: str | None = None  # the template shown before the current (empty) state
        self.base_url = ""
        self.engine_file: str | None = None  # the local engine's engine.json, when the app talks to it
        self._values: dict[str, QLineEdit | QLabel] = {}
        self._build_ui()
        self.show_row(None)

    def _build_ui(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        self.title = QLabel()
        self.title.setObjectName("detailsTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.title.setFont(font)
        # A 117-character name must not widen the panel and squeeze the table: elided, whole in the tooltip.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setMinimumWidth(40)
        self._title = ""
        layout.addWidget(self.title)
        self.drift_box = DriftBox()
        layout.addWidget(self.drift_box)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Template details")
        layout.addWidget(self.tabs, 1)

        fields = QWidget()
        self.form = QFormLayout(fields)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.tabs.addTab(fields, "Fie&lds")

        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setFont(mono)
        self.log.setAccessibleName("Build log")
        self.log.setPlaceholderText("The build log appears here.")
        self.tabs.addTab(self.log, "&Build log")
        self.builds = BuildsTab()
        self.tabs.addTab(self.builds, "B&uilds")

        code = QWidget()
        code_layout = QVBoxLayout(code)
        self.code_tabs = QTabWidget()
        self.code_tabs.setAccessibleName("Copy as code")
        self.snippets: dict[str, QPlainTextEdit] = {}
        for key, label in (("python", "Python SDK"), ("cli", "in10nt CLI"), ("curl", "curl")):
            view = QPlainTextEdit()
            view.setReadOnly(True)
            view.setFont(mono)
            view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # code: a wrapped line reads as two
            view.setAccessibleName(f"{label} code")
            view.setPlaceholderText("Select a template to see the code that makes it again.")
            self.snippets[key] = view
            self.code_tabs.addTab(view, label)
        code_layout.addWidget(self.code_tabs, 1)
        self.copy_button = QPushButton(COPY_TEXT)
        self.copy_button.setAccessibleName("Copy the code shown")
        self.copy_button.clicked.connect(self._copy_code)
        code_layout.addWidget(self.copy_button)
        self.tabs.addTab(code, "Copy as c&ode")

    def _set_title(self, text: str) -> None:
        self._title = text
        self._elide_title()

    def _elide_title(self) -> None:
        shown = self.title.fontMetrics().elidedText(self._title, Qt.TextElideMode.ElideMiddle,
                                                    max(40, self.width() - 12))
        self.title.setText(shown)
        self.title.setToolTip(self._title if shown != self._title else "")

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide_title()

    def show_gone(self, template_id: str, name: str) -> None:
        """The template shown a moment ago was deleted by another client: say so, not "no selection"."""
        if self.row is None and self._last_id == template_id:
            self._set_title(f"{name} was deleted elsewhere")

    def show_row(self, row: TemplateRow | None) -> None:
        same = row is not None and self.row is not None and row.template_id == self.row.template_id
        previous = self.row
        if self.row is not None:
            self._last_id = self.row.template_id
        self.row = row
        self.drift_box.show_row(row)
        if row is not previous:
            self.row_shown.emit(row, previous)
        if row is not None:
            # as_json leaves out empty fields (and "stalled" when false): what is left is shown, except a
            # finished build's phase, place or start, which the server may still send.
            data = row.as_json()
            keys = [k for k in _LABELS if data.get(k) not in (None, "")
                    and (row.building or k not in _ONLY_WHILE_BUILDING)] + \
                sorted(k for k in data if k not in _LABELS and data[k] != "")
            if same and keys == list(self._values):
                # A poll changed this template: update the texts in place, so focus and any
                # selection in the panel survive the 1-5 s ticks of a build.
                for key in keys:
                    text = field_text(key, data[key])
                    if self._values[key].text() != text:
                        self._values[key].setText(text)
                return
        self._values = {}
        while self.form.rowCount():
            self.form.removeRow(0)
        if row is None:
            self._set_title("No template selected")
            hint = QLabel(NO_SELECTION)
            hint.setWordWrap(True)
            hint.setAccessibleDescription("Fields hint")
            self.form.addRow(hint)
            for view in self.snippets.values():
                view.clear()
            if not same:
                self.log.clear()
            return
        self._set_title(row.name)
        for key in keys:
            self._add_field(_LABELS.get(key, key), key, field_text(key, data[key]))
        draft = draft_for_code(row.data)
        target = code_snippets.CodeTarget(self.base_url or HOSTED_BASE_URL, self.engine_file)
        self.snippets["python"].setPlainText(code_snippets.python_sdk(draft, target))
        self.snippets["cli"].setPlainText(code_snippets.cli(draft, target))
        self.snippets["curl"].setPlainText(code_snippets.curl(draft, target))

    def _add_field(self, label: str, key: str, text: str) -> None:
        if key in _SENTENCES:  # sentences: wrap them instead of cutting them off
            sentence = QLabel(text)
            sentence.setWordWrap(True)
            sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.TextSelectableByKeyboard)
            sentence.setAccessibleName(label)
            if key == "error":
                sentence.setObjectName("errorText")
            self._values[key] = sentence
            self.form.addRow(label, sentence)
            return
        value = QLineEdit(text)
        self._values[key] = value
        value.setReadOnly(True)
        value.setAccessibleName(label)
        value.setCursorPosition(0)
        if key not in _COPYABLE:
            self.form.addRow(label, value)
            return
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(value, 1)
        button = QPushButton("Copy")
        button.setAccessibleName(f"Copy {label.lower()}")
        button.clicked.connect(lambda _checked=False: _copy(value.text()))
        row.addWidget(button)
        self.form.addRow(label, holder)

    def clear_log(self) -> None:
        self.log.clear()
        self.log.setPlaceholderText("The build log appears here.")

    def append_log(self, lines: list[str]) -> None:
        bar = self.log.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        self.log.appendPlainText("\n".join(lines))
        if at_end:  # follow the tail unless the user scrolled up to read
            bar.setValue(bar.maximum())

    def _copy_code(self) -> None:
        key = list(self.snippets)[self.code_tabs.currentIndex()]
        _copy(self.snippets[key].toPlainText())
        self.copy_button.setText("Copied to the clipboard")  # said where the user looks, for a moment
        QTimer.singleShot(COPIED_MS, self, lambda: self.copy_button.setText(COPY_TEXT))

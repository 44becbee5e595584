"""One non-modal place for errors and notices: a bar above the tables, details on demand.

Modal error boxes stop the user mid-task and pile up when the network flaps; a bar keeps the
window usable and shows only the newest message. The offline variant carries a Retry button.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from in10nt_desktop.ui.status_badge import _mix, is_dark

_KIND_HUES = {"error": 0.0, "offline": 0.1, "engine_stopped": 0.1, "info": 0.58}


class MessageBar(QFrame):
    retry_requested = Signal()
    key_requested = Signal()
    start_requested = Signal()   # "The local engine stopped": start it again

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Message bar")
        self.kind = "info"
        self._build_ui()
        self.hide()

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(10, 6, 6, 6)
        row = QHBoxLayout()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setAccessibleDescription("Message")  # the text itself is what a screen reader says
        row.addWidget(self.text, 1)
        self.retry = QPushButton("&Retry")
        self.retry.setAccessibleName("Retry connecting")
        self.retry.clicked.connect(self.retry_requested)
        self.start = QPushButton("Start e&ngine")
        self.start.setAccessibleName("Start the local engine")
        self.start.clicked.connect(self.start_requested)
        self.enter_key = QPushButton("Enter API &key…")
        self.enter_key.setAccessibleName("Enter API key")
        self.enter_key.clicked.connect(self.key_requested)
        self.details_button = QPushButton("&Details")
        self.details_button.setCheckable(True)
        self.details_button.setAccessibleName("Show details")
        self.details_button.toggled.connect(self._toggle_details)
        self.close_button = QPushButton("✕")
        self.close_button.setFlat(True)
        self.close_button.setFixedWidth(28)
        self.close_button.setAccessibleName("Close message")
        self.close_button.setToolTip("Close message (Esc)")
        self.close_button.clicked.connect(self.dismiss)
        for button in (self.retry, self.start, self.enter_key, self.details_button, self.close_button):
            row.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(row)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details.setAccessibleName("Message details")
        self.details.hide()
        outer.addWidget(self.details)

    def show_message(self, kind: str, sentence: str, details: str = "") -> None:
        self.kind = kind
        self.text.setText(sentence)
        self.details.setPlainText(details)
        self.details_button.setVisible(bool(details))
        self.details_button.setChecked(False)
        self.retry.setVisible(kind == "offline")
        self.start.setVisible(kind == "engine_stopped")
        self.enter_key.setVisible(kind == "needs_key")
        self._tint()
        self.show()

    def dismiss(self) -> None:
        self.hide()
        self.details_button.setChecked(False)

    def _toggle_details(self, on: bool) -> None:
        self.details.setVisible(on)
        self.details_button.setText("Hide &details" if on else "&Details")

    def _tint(self) -> None:
        palette = self.palette()
        base = palette.color(QPalette.ColorRole.Window)
        hue = _KIND_HUES.get(self.kind, 0.1)
        tint = _mix(base, base.fromHslF(hue, 0.7, 0.5), 0.35 if is_dark(palette) else 0.18)
        palette.setColor(QPalette.ColorRole.Window, tint)
        self.setPalette(palette)
        self.setAutoFillBackground(True)

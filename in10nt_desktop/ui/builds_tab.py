"""The details panel's Builds tab: every build of the template, and the selected one's phases,
layers and log — Docker Desktop's Builds view for one template.

It only shows what it is given (records from the engine, log lines) and says which record the
user picked; the window asks the service for the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QFontDatabase
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QVBoxLayout, QWidget

from in10nt_desktop.text_formats import human_size
from in10nt_desktop.ui.build_timeline import BuildTimeline
from in10nt_desktop.ui.status_badge import dot_color, elapsed_text

if TYPE_CHECKING:
    from in10nt_desktop.api.models import BuildLayer, BuildRecord


def record_line(record: BuildRecord) -> str:
    when = record.queued_at.astimezone().strftime("%Y-%m-%d %H:%M") if record.queued_at else ""
    took = f" · {elapsed_text(record.seconds)}" if record.seconds is not None else ""
    return f"#{record.number} {record.trigger} · {record.result}{took} · {when}"


def layer_line(layer: BuildLayer, ended: bool = False) -> str:
    """One layer's line; ``ended``: its build is over, so a layer still "pulling" or "waiting" was cut short."""
    short = layer.digest.split(":", 1)[-1][:12]
    size = human_size(layer.size_bytes) if layer.size_bytes else "?"
    if layer.state == "already present":
        return f"{short}  {size}  already present"
    if layer.state == "done":
        took = f" in {layer.seconds:.1f} s" if layer.seconds is not None else ""
        return f"{short}  {size}  pulled{took}"
    state = ("stopped" if layer.bytes_done else "not pulled") if ended else layer.state
    if layer.size_bytes:
        return f"{short}  {human_size(layer.bytes_done)} of {size}  {state}"
    return f"{short}  {state}"


class BuildsTab(QWidget):
    record_selected = Signal(str, object)   # template id, BuildRecord: show its log

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.template_id: str | None = None
        self._records: list[BuildRecord] = []
        self._live = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.records = QListWidget()
        self.records.setAccessibleName("Builds of this template")
        self.records.setMaximumHeight(110)
        self.records.currentRowChanged.connect(self._on_row)
        layout.addWidget(self.records)
        self.timeline = BuildTimeline()
        layout.addWidget(self.timeline)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self.layers = QLabel()
        self.layers.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.layers.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.layers)
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setAccessibleName("Log of the selected build")
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setPlaceholderText("The selected build's log appears here.")
        layout.addWidget(self.log, 1)

    def clear(self, template_id: str | None = None, note: str = "") -> None:
        if template_id is None and not note:
            note = "Select a template to see its builds."
        self.template_id = template_id
        self._records = []
        self._live = ""
        self.records.clear()
        self.timeline.set_phases([])
        self.summary.setText(note)
        self.layers.clear()
        self.log.clear()

    def show_records(self, template_id: str, records: Sequence[BuildRecord]) -> None:
        if template_id != self.template_id:
            return
        chosen = self._current()
        keep = chosen.build_id if chosen is not None else None
        if records and self._records and records[0].build_id != self._records[0].build_id:
            keep = None  # a new build began (a retry, a rebuild): it is what the user wants to see
        self._records = list(records)
        self.records.blockSignals(True)
        self.records.clear()
        failed = QBrush(dot_color("failed", self.palette()))
        row = 0
        for i, record in enumerate(self._records):
            item = QListWidgetItem(record_line(record))
            item.setToolTip(record.error or record.digest or "")
            if record.result == "failed":
                item.setForeground(failed)
            self.records.addItem(item)
            if record.build_id == keep:
                row = i
        self.records.blockSignals(False)
        if self._records:
            self.records.setCurrentRow(row)
            self._on_row(row)
        else:
            self.clear(template_id, "No build recorded on this server.")

    def set_live(self, text: str) -> None:
        """What the template's badge says while it builds ("pulling · 44% · ≈ 7s left"): shown with a
        running record, which the engine's record alone cannot estimate."""
        if text != self._live:
            self._live = text
            current = self._current()
            if current is not None and current.result == "building":
                self.summary.setText(self._summary(current))

    def show_log(self, template_id: str, build_id: str, lines: list[str]) -> None:
        current = self._current()
        if template_id != self.template_id or current is None or current.build_id != build_id:
            return
        text = "\n".join(lines)
        if text == self.log.toPlainText():
            return
        bar = self.log.verticalScrollBar()
        at_end, kept = bar.value() >= bar.maximum() - 4, bar.value()
        self.log.setPlainText(text)  # a running build's log grows: follow its tail unless the user scrolled up
        bar.setValue(bar.maximum() if at_end else kept)

    def _summary(self, record: BuildRecord) -> str:
        parts = [f"Result: {record.result}" + (f" · {self._live}" if record.result == "building" and self._live
                                               else "")]
        if record.error:
            parts.append(record.error)
        if record.digest:
            parts.append(f"pinned to {record.digest[:19]}…")
        if record.size_bytes:
            parts.append(human_size(record.size_bytes))
        return " · ".join(parts)

    def _current(self) -> BuildRecord | None:
        row = self.records.currentRow()
        return self._records[row] if 0 <= row < len(self._records) else None

    def _on_row(self, row: int) -> None:
        record = self._current()
        if record is None or self.template_id is None:
            return
        now = datetime.now(UTC)
        # A phase still open (the one running now) counts until now: it is drawn growing, not as 0 s.
        self.timeline.set_phases([(p.name, p.seconds if p.seconds is not None else
                                   max(0.0, (now - p.started_at).total_seconds()) if p.started_at else 0.0)
                                  for p in record.phases])
        self.summary.setText(self._summary(record))
        # The whole digest in the tooltip: in the text, one unbreakable word would widen the panel.
        self.summary.setToolTip(record.digest or "")
        ended = record.result != "building"
        self.layers.setText("\n".join(layer_line(layer, ended) for layer in record.layers))
        self.layers.setVisible(bool(record.layers))
        self.record_selected.emit(self.template_id, record)

"""The tasks run in one instance, read like a terminal: their history, and the selected run's output in a
monospace pane that grows while the task prints.

The pane appends what is new rather than setting its whole text (a running task's output reaches
a megabyte): the view stays at the bottom if the user was there, and stays put if they scrolled up
to read. A run's end is the pane's last line, ``[exit code N after S s]``, red unless it is 0; the
line above the pane says "running… 3 s" while it runs. No I/O here: the service appends to the
history and says so (``output_appended``), throttled.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QVBoxLayout, QWidget

from in10nt_desktop.app.task_runs import MAX_OUTPUT, TaskRun
from in10nt_desktop.ui.status_badge import dot_color

NUMBER_ROLE = Qt.ItemDataRole.UserRole


def run_line(run: TaskRun) -> str:
    command = run.command.strip().splitlines()[0] if run.command.strip() else ""
    if len(command) > 60:
        command = command[:59] + "…"
    return f"{run.summary()} · {run.seconds:.1f} s · {command}"


def status_text(run: TaskRun) -> str:
    if run.running:
        return f"running… {int(run.seconds)} s"
    if run.failed:
        return "could not run"
    end = "timed out" if run.timed_out else f"exit code {run.exit_code}"
    return f"{end} after {run.seconds:.1f} s"


def end_line(run: TaskRun) -> str:
    if run.failed:
        return run.failed
    return f"[{status_text(run)}]"


class TaskPane(QWidget):
    def __init__(self, runs: Callable[[str], list[TaskRun]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs = runs
        self._instance: str | None = None
        self._shown: tuple[int, bool] | None = None  # (run number, rewritten) of the text in the pane
        self._shown_received = 0  # how much of that run's output the pane holds (TaskRun.received)
        self._shown_ended = False
        self._newline = True  # the pane's text ends with a line break
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.run_list = QListWidget()
        self.run_list.setAccessibleName("Task runs")
        self.run_list.setMaximumHeight(120)
        self.run_list.currentRowChanged.connect(lambda _row: self._render())
        layout.addWidget(self.run_list)
        self.status = QLabel()  # its text is what a screen reader reads: no fixed name
        layout.addWidget(self.status)
        self.output = QPlainTextEdit()
        self.output.setReadOnly(True)
        self.output.setAccessibleName("Task output")
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.output.setPlaceholderText("Run a task (Ctrl+T) and its output appears here.")
        self.output.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addWidget(self.output, 1)
        self._tick = QTimer(self)  # "running… 3 s" counts while a run of the shown instance runs
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._on_tick)

    # -- what is shown ---------------------------------------------------------------------------
    def show_instance(self, instance_id: str | None) -> None:
        if instance_id != self._instance:
            self._instance, self._shown = instance_id, None
            self.run_list.clear()
        self.refresh()

    def runs_changed(self, instance_id: str) -> None:
        if instance_id == self._instance:
            self.refresh()

    def output_appended(self, instance_id: str, number: int) -> None:
        if instance_id == self._instance and self._current_number() == number:
            self._render()

    def refresh(self) -> None:
        """The history of the shown instance, newest first; the selected run stays selected (the newest
        stays selected when a newer one starts, as a terminal shows the latest command)."""
        runs = list(reversed(self._runs(self._instance))) if self._instance else []
        keep = self._current_number() if self.run_list.currentRow() > 0 else None
        self.run_list.blockSignals(True)
        self.run_list.clear()
        failed = QBrush(dot_color("failed", self.palette()))
        row = 0
        for i, run in enumerate(runs):
            item = QListWidgetItem(run_line(run))
            item.setData(NUMBER_ROLE, run.number)
            item.setToolTip(run.failed or run.command)
            if run.finished is not None and not run.ok:
                item.setForeground(failed)
            self.run_list.addItem(item)
            if run.number == keep:
                row = i
        self.run_list.setCurrentRow(row if runs else -1)
        self.run_list.blockSignals(False)
        self._render()
        if any(run.running for run in runs):
            if not self._tick.isActive():
                self._tick.start()
        else:
            self._tick.stop()

    def _current_number(self) -> int | None:
        item = self.run_list.currentItem()
        number = item.data(NUMBER_ROLE) if item is not None else None
        return number if isinstance(number, int) else None

    def current_run(self) -> TaskRun | None:
        number = self._current_number()
        if self._instance is None or number is None:
            return None
        return next((r for r in self._runs(self._instance) if r.number == number), None)

    # -- the pane --------------------------------------------------------------------------------
    def _render(self) -> None:
        run = self.current_run()
        if run is None:
            self._shown = None
            self.output.clear()
            self.status.clear()
            return
        if (run.number, run.rewritten) != self._shown or run.dropped > self._shown_received or \
                self.output.document().characterCount() > 2 * MAX_OUTPUT:
            self._fill(run)
        elif not self._shown_ended:
            self._add(run.output[self._shown_received - run.dropped:])
            self._shown_received = run.received
            if not run.running:
                self._end(run)
        self._show_status(run)

    def _fill(self, run: TaskRun) -> None:
        """The whole run anew: another run was selected, or its text changed beyond appending."""
        bar = self.output.verticalScrollBar()
        same, at_bottom, value = self._shown is not None and self._shown[0] == run.number, \
            bar.value() >= bar.maximum(), bar.value()
        text = f"$ {run.command}\n"
        if run.dropped:
            text += (f"[the first {run.dropped:,} characters of output are not kept here; the last "
                     f"{len(run.output):,} follow]\n")
        self.output.setPlainText(text + run.output)
        self._newline = (text + run.output).endswith("\n")
        self._shown, self._shown_received, self._shown_ended = (run.number, run.rewritten), run.received, False
        if not run.running:
            self._end(run)
        if same:
            bar.setValue(bar.maximum() if at_bottom else value)
        elif run.running:
            bar.setValue(bar.maximum())

    def _add(self, text: str, red: bool = False) -> None:
        if not text:
            return
        bar = self.output.verticalScrollBar()
        at_bottom = bar.value() >= bar.maximum()
        fmt = QTextCharFormat()
        if red:
            fmt.setForeground(QBrush(dot_color("failed", self.palette())))
        cursor = QTextCursor(self.output.document())  # not the view's cursor: the view does not jump
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text, fmt)
        self._newline = text.endswith("\n")
        if at_bottom:
            bar.setValue(bar.maximum())

    def _end(self, run: TaskRun) -> None:
        self._add(("" if self._newline else "\n") + end_line(run), red=not run.ok)
        self._shown_ended = True

    def _show_status(self, run: TaskRun) -> None:
        self.status.setText(status_text(run))
        bad = not run.running and not run.ok
        self.status.setStyleSheet(f"color: {dot_color('failed', self.palette()).name()}" if bad else "")

    def _on_tick(self) -> None:
        runs = {r.number: r for r in self._runs(self._instance)} if self._instance else {}
        for row in range(self.run_list.count()):
            item = self.run_list.item(row)
            run = runs.get(item.data(NUMBER_ROLE))
            if run is not None and run.running:
                item.setText(run_line(run))
        current = self.current_run()
        if current is not None:
            self._show_status(current)
        if not any(r.running for r in runs.values()):
            self._tick.stop()

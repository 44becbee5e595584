"""What the window says about builds on their own: finished, failed, stalled.

In the status bar always, and as a desktop notification where the platform has a tray. Builds that
end together (or while the window was offline) make one message; a build that starts to stall is
said once, since its amber badge alone is easy to miss.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QStyle, QSystemTrayIcon, QWidget

from in10nt_desktop.app.template_rows import TemplateRow
from in10nt_desktop.ui.status_badge import stall_advice, stall_reason

GATHER_MS = 300   # builds that end within this of each other make one message
MANY = 3          # more than this at once: one summary line


class Notifier(QObject):
    notified = Signal(str, str)  # title, text: every notification, also where no tray exists

    def __init__(self, window: QWidget, status: Callable[[str, int], None], icon: QIcon | None) -> None:
        super().__init__(window)
        self._status = status
        self._finished: list[TemplateRow] = []
        self._gather = QTimer(self)
        self._gather.setSingleShot(True)
        self._gather.setInterval(GATHER_MS)
        self._gather.timeout.connect(self._flush)
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray = QSystemTrayIcon(icon or window.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon),
                                        window)
            self.tray.setToolTip("In10nt Desktop")
            self.tray.show()

    def notify(self, title: str, text: str) -> None:
        self.notified.emit(title, text)
        self._status(f"{title}: {text}", 10000)
        if self.tray is not None:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)

    def build_finished(self, row: TemplateRow) -> None:
        self._finished.append(row)
        self._gather.start()

    def rows_changed(self, pairs: list[tuple[TemplateRow, TemplateRow]]) -> None:
        for old, new in pairs:
            if new.stalled and not old.stalled and new.building:
                self.notify("Build stalled", f"{new.name}: {stall_reason(new.stalled_reason)}. {stall_advice()}")

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()

    def _flush(self) -> None:
        rows, self._finished = self._finished, []
        if len(rows) > MANY:
            ready = sum(1 for r in rows if r.status == "ready")
            self.notify("Builds finished", f"{ready} ready, {len(rows) - ready} failed: "
                                           + ", ".join(r.name for r in rows[:5]) + ("…" if len(rows) > 5 else ""))
            return
        for row in rows:
            if row.status == "ready":
                self.notify("Template ready", f"{row.name} is ready ({row.image}).")
            else:  # the reason is the engine's own sentence: no second "failed" around it
                self.notify("Build failed", f"{row.name}: {row.error or 'no reason given'}")

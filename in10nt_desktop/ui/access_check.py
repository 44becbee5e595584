"""The wizard's "Test access": a button and one line of answer, in place, under the field it is about.

``AccessChecks`` is the wizard's one link to the image check: a page asks it (on a click, or a
moment after typing stops) and it answers that page's ``AccessRow``. Only the newest request is
ever shown: a keystroke cancels the check of what was typed before, and an answer carrying an
older request number is dropped. Without a server check (``available`` is not True) every row
is hidden: the wizard never invents an answer.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from in10nt_desktop.app.preflight_service import AccessCheck, CheckOutcome
from in10nt_desktop.app.vault_protocols import PreflightView
from in10nt_desktop.ui.secret_field import FieldMessage, MessageKind

AUTO_DELAY_MS = 700  # after the last keystroke; long enough not to check half-typed names


class AccessRow(QWidget):
    """``Test access`` and the answer's line. ``test_requested`` is the click."""

    test_requested = Signal()

    def __init__(self, what: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.button = QPushButton("Te&st access")
        self.button.setAccessibleName(f"Test access to {what} now")
        self.button.setToolTip("Ask the registry now, without building: the image's digest, platforms and size, "
                               "or why a build would fail.")
        self.button.setAutoDefault(False)
        self.result = FieldMessage()
        self.result.setAccessibleName(f"Access check of {what}")
        self.outcome: CheckOutcome | None = None
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.result)
        self.button.clicked.connect(self.test_requested)

    def text(self) -> str:
        return self.result.text()

    def show_running(self, image: str) -> None:
        self.outcome = None
        self.result.set_message(MessageKind.INFO, f"Checking {image} on its registry…")

    def show_outcome(self, outcome: CheckOutcome) -> None:
        self.outcome = outcome
        self.result.set_message(MessageKind.INFO if outcome.ok else MessageKind.ERROR, outcome.text)

    def clear(self) -> None:
        self.outcome = None
        self.result.clear()


class AccessChecks(QObject):
    """One check at a time for the whole wizard; answers go to the row that asked."""

    availability_changed = Signal(bool)
    answered = Signal(object)  # CheckOutcome, after it was shown: the review page keeps the newest

    def __init__(self, preflight: PreflightView | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._preflight = preflight
        self._latest = 0
        self._row: AccessRow | None = None
        self._pending: tuple[AccessRow, Callable[[], AccessCheck | None]] | None = None
        self.last: tuple[AccessCheck, CheckOutcome] | None = None
        self._asked: AccessCheck | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(AUTO_DELAY_MS)
        self._timer.timeout.connect(self._fire)
        if preflight is not None:
            preflight.checked.connect(self._on_checked)
            preflight.availability_changed.connect(self.availability_changed)

    @property
    def available(self) -> bool:
        return self._preflight is not None and self._preflight.available is True

    def now(self, row: AccessRow, request: AccessCheck | None) -> None:
        """Check at once (the button, or a page being shown)."""
        self._timer.stop()
        self._pending = None
        if request is None or self._preflight is None or not self.available:
            return
        self._row, self._asked = row, request
        row.show_running(request.image)
        self._latest = self._preflight.check(request)

    def soon(self, row: AccessRow, build: Callable[[], AccessCheck | None]) -> None:
        """Typing: forget the running check (its answer is for older text) and check when typing stops."""
        self.cancel(row)
        self._pending = (row, build)
        self._timer.start()

    def cancel(self, row: AccessRow | None = None) -> None:
        self._timer.stop()
        self._pending = None
        if self._preflight is not None and self._latest and self._row is not None:
            self._preflight.cancel()
        self._latest = 0  # whatever is still on its way is for something no longer asked
        if row is not None:
            row.clear()

    def _fire(self) -> None:
        if self._pending is not None:
            row, build = self._pending
            self.now(row, build())

    def _on_checked(self, outcome: CheckOutcome) -> None:
        if outcome.request != self._latest or self._row is None or self._asked is None:
            return  # a check that was replaced: never shown
        self._latest = 0
        self._row.show_outcome(outcome)
        self.last = (self._asked, outcome)
        self.answered.emit(outcome)

    def outcome_for(self, request: AccessCheck) -> CheckOutcome | None:
        """The newest answer, if it was for exactly these settings."""
        return self.last[1] if self.last is not None and self.last[0] == request else None

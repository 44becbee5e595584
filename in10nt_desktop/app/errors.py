"""The one error path: any exception becomes a sentence for the message bar, with details on demand.

Connectivity is not reported here: a refused connection or a refused key changes the
connection's state (app/connection.py), and the window shows that state in one place.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import AuthenticationError, ConnectionFailedError, In10ntError
from in10nt_desktop.api.validation import FieldError

log = logging.getLogger(__name__)


def describe(exc: BaseException, doing: str | None = None) -> tuple[str, str]:
    """``(sentence, details)``; SDK errors already carry sentences without secrets."""
    prefix = f"{doing}: " if doing else ""
    if isinstance(exc, FieldError):
        return f"{prefix}{exc.message}", f"field: {exc.field}"
    if isinstance(exc, In10ntError):
        details = f"{type(exc).__name__}" + (f", HTTP {exc.status}" if exc.status else "") + \
                  (f", code {exc.code}" if exc.code else "")
        return f"{prefix}{exc}", details
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return f"{prefix}Something went wrong ({type(exc).__name__}). The details say where.", details


def is_connectivity(exc: BaseException) -> bool:
    """Failures the connection's state already shows (offline, engine stopped, key refused)."""
    return isinstance(exc, ConnectionFailedError) or (isinstance(exc, AuthenticationError) and exc.status == 401)


class ErrorReporter(QObject):
    """Services report here; the window shows ``reported`` in its message bar."""

    reported = Signal(str, str)          # sentence, details

    def report(self, exc: BaseException, doing: str | None = None) -> None:
        if is_connectivity(exc):
            return
        sentence, details = describe(exc, doing)
        if not isinstance(exc, In10ntError | FieldError):
            log.error("%s", sentence, exc_info=exc)
        self.reported.emit(sentence, details)

    def say(self, sentence: str, details: str = "") -> None:
        self.reported.emit(sentence, details)

"""GUI tests run offscreen on a qasync loop, so ``async def`` tests drive the app as it really runs."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import keyring
import keyring.backends.fail
from PySide6.QtWidgets import QApplication

from in10nt_desktop.app.event_loop import new_event_loop

# As on a bare machine: no keychain unless a test installs one (gui_helpers.keyring_backend). Left to
# itself, keyring would pick the highest-priority backend class it can find, and the test keychains
# defined in gui_helpers are such classes (one of them hangs on purpose).
keyring.set_keyring(keyring.backends.fail.Keyring())


def _qasync_loop() -> asyncio.AbstractEventLoop:
    app = QApplication.instance() or QApplication([])
    # As in the app: closing the last window must not stop the loop before cleanup has run.
    app.setQuitOnLastWindowClosed(False)  # type: ignore[union-attr]
    return new_event_loop(app)  # with async generator hooks, as the app runs it


def pytest_asyncio_loop_factories(config: object, item: object) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": _qasync_loop}

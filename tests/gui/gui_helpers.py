"""Small shared pieces for the GUI tests: loop polling, an in-memory keychain, request counting.

Kept out of ``conftest.py`` on purpose: ``tests/`` and ``tests/gui/`` both have a ``conftest``
module, so importing from one of them by name depends on collection order. This module has a
name of its own (``tests/gui`` is on ``sys.path`` because it has no ``__init__.py``).
"""

from __future__ import annotations

import asyncio
import gc
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import keyring
import keyring.backend
import keyring.errors
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QPlainTextEdit, QWidget

from in10nt_desktop.api import TemplateData
from in10nt_desktop.app.app_services import AppServices
from in10nt_desktop.app.keychain import KeyStore
from in10nt_desktop.app.local_engine import LocalEngine


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Free each test's garbage here, on the GUI thread.

    Every async test gets its own qasync loop, whose timer object keeps Qt timers for callbacks
    still scheduled when the loop closed (a cancelled ``wait_for``, an httpx timeout). Loops,
    sessions and models die in reference cycles, and Python runs the cycle collector in whatever
    thread allocates next: the stack's server threads or an ``asyncio.to_thread`` worker. A QObject
    destroyed there cannot stop its timers ("Timers cannot be stopped from another thread"), and
    the GUI thread later fires one into freed memory (a segfault in ``QTimerInfoList``). Modules
    import this fixture so the collection happens here, before and after each test.
    """
    gc.collect()
    yield
    gc.collect()


async def wait_until(predicate: Callable[[], object], timeout: float = 15.0, message: str = "") -> None:
    """``qtbot.waitUntil`` cannot run inside a qasync coroutine; poll with the loop instead."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(message or "condition not met in time")
        await asyncio.sleep(0.02)


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A working keychain that lives in a dict (the bare test machine has none)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.items[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("no such password") from None


class HangingKeyring(MemoryKeyring):
    """A locked keychain: every read waits (for a prompt nobody answers) until released."""

    def __init__(self, hang: float = 2.0) -> None:
        super().__init__()
        self.hang = hang
        self.release = threading.Event()
        self.calls = 0

    def get_password(self, service: str, username: str) -> str | None:
        self.calls += 1
        self.release.wait(self.hang)
        return super().get_password(service, username)

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(self.hang)
        super().set_password(service, username, password)


@contextmanager
def keyring_backend(backend: keyring.backend.KeyringBackend) -> Iterator[keyring.backend.KeyringBackend]:
    old = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(old)


class CountingTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport that records every request it sends: ``seen`` is ``[(method, path)]``."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.seen: list[tuple[str, str]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path))
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ini_settings(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def template(template_id: str, name: str, image: str = "docker.io/library/busybox:1", *,
             status: str = "ready", registry_type: str = "dockerhub", created: datetime | None = None,
             error: str | None = None, **extra: object) -> TemplateData:
    return TemplateData.model_validate({
        "templateId": template_id, "name": name, "image": image, "registryType": registry_type,
        "status": status, "error": error, "createdAt": (created or datetime(2024, 1, 1, tzinfo=UTC)).isoformat(),
        **extra})


@asynccontextmanager
async def open_session(settings: QSettings, engine_dir: Path, keys: KeyStore | None = None,
                       **kw: object) -> AsyncIterator[AppServices]:
    """The app's services, whose "This computer" profile finds the engine announced in ``engine_dir``;
    closed after."""
    services = AppServices(settings, keys or KeyStore(timeout=2.0), LocalEngine(engine_dir), **kw)  # type: ignore[arg-type]
    try:
        yield services
    finally:
        await services.close()


async def go_online(services: AppServices, timeout: float = 20.0) -> None:
    """Activate "This computer" and wait for the answer of *this* connect (not an earlier state)."""
    states: list[str] = []
    services.connection.state_changed.connect(lambda state, _text: states.append(state))
    profile = next(p for p in services.profiles.load() if p.kind == "local")
    services.activate(profile)
    await wait_until(lambda: any(s in ("online", "offline", "needs_key", "engine_stopped") for s in states),
                     timeout, "the app never connected")
    assert services.connection.state == "online", (services.connection.state, states)
    await wait_until(lambda: services.templates.store.loaded, timeout)


async def answer_text(window: QWidget, text: str, timeout: float = 10.0) -> None:
    """Answer the window-modal question the window opened, as a user would: type, then OK."""
    from in10nt_desktop.ui.dialogs import TextQuestion

    def open_question() -> TextQuestion | None:
        found = [q for q in window.findChildren(TextQuestion) if q.isVisible()]
        return found[0] if found else None

    await wait_until(lambda: open_question() is not None, timeout, "no question was asked")
    question = open_question()
    assert question is not None
    editor = question.editor
    if isinstance(editor, QPlainTextEdit):
        editor.setPlainText(text)
    else:
        editor.setText(text)
    question.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    await wait_until(lambda: not question.isVisible(), timeout)

""""Test access" in the wizard against the real engine and registries (offscreen): the answer appears in
place, a remembered login makes the next template need no typing, a newer keystroke's check replaces
the running one, and a server without the check (the hosted shape) shows no button at all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gui_helpers import (
    MemoryKeyring,
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    go_online,
    ini_settings,
    keyring_backend,
    open_session,
    wait_until,
)
from pytestqt.qtbot import QtBot
from stack.engine_proc import EngineProc
from stack.gate_proxy import GateProxy
from stack.images import StackImages

from in10nt_desktop.api import In10ntClient
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.preflight_service import AccessCheck, CheckOutcome
from in10nt_desktop.app.registry_vault import SERVICE
from in10nt_desktop.text_formats import human_size
from in10nt_desktop.ui.wizard import CreateTemplateWizard
from in10nt_desktop.ui.wizard_credentials import PairPanel
from in10nt_desktop.ui.wizard_pages import PageId

pytestmark = pytest.mark.asyncio
PASSWORD = "testpass"  # the htpasswd registry's user (tests/conftest.py)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with keyring_backend(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


def pair(w: CreateTemplateWizard) -> PairPanel:
    panel = w.credentials_page.panel()
    assert isinstance(panel, PairPanel)
    return panel


async def test_the_wizard_answers_before_create_and_remembers_the_login(
        engine: EngineProc, images: StackImages, memory_keyring: MemoryKeyring, tmp_path: Path, qtbot: QtBot,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    img = images.private_busybox
    settings = ini_settings(tmp_path / "settings.ini")
    async with open_session(settings, engine.data_dir) as services:
        await go_online(services)
        await wait_until(lambda: services.preflight.available is True)
        w = CreateTemplateWizard(set(), services.connection.base_url, preflight=services.preflight,
                                 logins=services.logins)
        qtbot.addWidget(w)
        w.show()
        remembered: list[tuple[str, str, object, str]] = []
        w.login_to_remember.connect(lambda *args: remembered.append(args))
        w.login_to_remember.connect(lambda host, user, secret, image: services.logins.remember(host, user, secret,
                                                                                              image))
        drafts: list[TemplateDraft] = []
        w.draft_ready.connect(drafts.append)

        w.name_page.name_edit.setText("private-one")
        w.next()
        assert w.image_page.access.isVisible()
        w.image_page.image_edit.setText(img.ref)  # typing stops: the check runs by itself
        await wait_until(lambda: "requires credentials" in w.image_page.access.text())
        w.next()
        assert w.currentId() == PageId.CREDENTIALS
        pair(w).username_edit.setText("testuser")
        pair(w).secret_field.set_typed("wrong-password")
        await wait_until(lambda: w.credentials_page.access.text().startswith("Credentials rejected by"),
                         message=w.credentials_page.access.text())
        assert w.credentials_page.access.outcome is not None
        assert w.credentials_page.access.outcome.field == "registryAuth.password"
        pair(w).secret_field.set_typed(PASSWORD)
        ok = f"✓ {img.ref} · linux/amd64 · {human_size(img.size_bytes)} compressed"  # as the table says it
        await wait_until(lambda: w.credentials_page.access.text() == ok, message=w.credentials_page.access.text())
        assert w.credentials_page.remember_box.isVisible()
        w.credentials_page.remember_box.setChecked(True)
        w.next()
        assert w.currentId() == PageId.REVIEW
        assert w.review_page.access.text() == ok  # the same settings: the answer is not asked again
        w.accept()
        assert len(drafts) == 1 and remembered[0][:2] == (img.registry, "testuser")
        await wait_until(lambda: img.registry in services.logins.summaries)
        assert (SERVICE, f"login:{img.registry}") in memory_keyring.items

        # The next template from this registry: nothing to type.
        w2 = CreateTemplateWizard(set(), services.connection.base_url, preflight=services.preflight,
                                  logins=services.logins)
        qtbot.addWidget(w2)
        w2.show()
        used: list[tuple[str, str]] = []
        w2.login_used.connect(lambda host, image: used.append((host, image)))
        w2.draft_ready.connect(services.templates.create)
        w2.name_page.name_edit.setText("private-two")
        w2.next()
        w2.image_page.image_edit.setText(img.ref)
        await wait_until(lambda: w2.image_page.access.text() == f"{ok} · signed in as testuser",
                         message=w2.image_page.access.text())
        w2.next()
        page = w2.credentials_page
        assert page.remembered.isVisible() and page.using_remembered()
        assert "testuser" in page.remembered.use_button.text() and PASSWORD not in page.remembered.use_button.text()
        await wait_until(page.isComplete)  # the secret came from the keychain
        await wait_until(lambda: page.access.text() == f"{ok} · signed in as testuser", message=page.access.text())
        w2.next()
        assert "remembered" in w2.review_page.summary["secret"].text()
        assert PASSWORD not in w2.review_page.summary["secret"].text()
        w2.accept()
        assert used == [(img.registry, img.ref)]
        await wait_until(lambda: any(r.name == "private-two" and r.status == "ready"
                                     for r in services.templates.store.rows), 30)
    settings.sync()
    for path in [tmp_path / "settings.ini", *engine.data_dir.rglob("*")]:
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert PASSWORD not in caplog.text


@pytest.fixture
def held_registry(gate: GateProxy) -> GateProxy:
    """The open registry behind a gate: a check through it waits until the gate opens."""
    return gate


async def test_a_newer_check_replaces_the_running_one(engine: EngineProc, images: StackImages,
                                                      held_registry: GateProxy, memory_keyring: MemoryKeyring,
                                                      tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "s.ini"), engine.data_dir) as services:
        await go_online(services)
        await wait_until(lambda: services.preflight.available is True)
        answers: list[CheckOutcome] = []
        services.preflight.checked.connect(answers.append)
        held = services.preflight.check(AccessCheck(f"{held_registry.host}/x/busybox:1", "private"))
        await wait_until(lambda: held_registry.connections >= 1)  # the engine is asking the held registry
        newer = services.preflight.check(AccessCheck(images.open_busybox.ref, "private"))
        await wait_until(lambda: bool(answers))
        assert [a.request for a in answers] == [newer] and answers[0].ok
        held_registry.open()  # the replaced check could finish now, if it still ran
        last = services.preflight.check(AccessCheck(f"{held_registry.host}/x/busybox:1", "private"))
        await wait_until(lambda: len(answers) == 2)
        assert [a.request for a in answers] == [newer, last]
        assert held not in [a.request for a in answers]


class HostedShape(httpx.AsyncBaseTransport):
    """The real engine, seen through a server that has none of our extensions (404, as the hosted service)."""

    HIDDEN = ("/registry/check", "/events")

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path in self.HIDDEN or path.endswith("/drift"):
            return httpx.Response(404, json={"message": "Cannot POST " + path, "statusCode": 404})
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


async def test_no_button_against_a_server_without_the_check(engine: EngineProc, memory_keyring: MemoryKeyring,
                                                            tmp_path: Path, qtbot: QtBot) -> None:
    def factory(base_url: str, key: str | None) -> In10ntClient:
        return In10ntClient(base_url, key, transport=HostedShape())

    async with open_session(ini_settings(tmp_path / "s.ini"), engine.data_dir, client_factory=factory) as services:
        await go_online(services)
        await wait_until(lambda: services.preflight.available is False)
        assert services.drift.store.enabled is False
        w = CreateTemplateWizard(set(), services.connection.base_url, preflight=services.preflight,
                                 logins=services.logins)
        qtbot.addWidget(w)
        w.show()
        w.name_page.name_edit.setText("hosted")
        w.next()
        w.image_page.image_edit.setText("python:3.11-slim")
        assert w.image_page.access.isHidden()
        w.next()
        assert w.credentials_page.access.isHidden()
        w.next()
        assert w.review_page.access.isHidden()

"""The wizard's "Test access", remembered logins and GCR offers, and the Registry logins page, against
the in-memory fakes of the services (tests/gui/fake_services.py): what each widget shows for each
answer, in milliseconds. The real engine and registries are in test_access_check.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fake_services import FakeLogins, FakePreflight, FakeServices, template_data
from gui_helpers import collect_qt_garbage, ini_settings, wait_until  # noqa: F401 - autouse fixture
from mnemonics import clashes
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot

from in10nt_desktop.app.connection import ConnState
from in10nt_desktop.app.docker_logins import DockerLogin
from in10nt_desktop.app.drafts import SecretSource, TemplateDraft
from in10nt_desktop.app.drift_service import DriftState
from in10nt_desktop.app.gcr_sources import GcrOffers
from in10nt_desktop.app.preflight_service import AccessCheck
from in10nt_desktop.app.profiles import DEFAULT_PROFILES
from in10nt_desktop.app.registry_vault import LoginSummary, RegistryLogin
from in10nt_desktop.ui.connection_dialog import ConnectionDialog
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.registry_logins_page import RegistryLoginsPage
from in10nt_desktop.ui.secret_field import MessageKind
from in10nt_desktop.ui.wizard import CreateTemplateWizard
from in10nt_desktop.ui.wizard_credentials import GcrMode, GcrPanel, PairPanel
from in10nt_desktop.ui.wizard_pages import PageId

IMAGE = "registry.example.com/team/app:1"
SECRET = "fast-Secret-123"


@pytest.fixture
def preflight() -> FakePreflight:
    return FakePreflight()


@pytest.fixture
def logins() -> FakeLogins:
    return FakeLogins()


@pytest.fixture
def wizard(qtbot: QtBot, preflight: FakePreflight, logins: FakeLogins) -> Iterator[CreateTemplateWizard]:
    w = CreateTemplateWizard([], "http://127.0.0.1:9", preflight=preflight, logins=logins)
    qtbot.addWidget(w)
    w.show()
    yield w


def to_image(w: CreateTemplateWizard, image: str = IMAGE) -> None:
    w.name_page.name_edit.setText("app")
    w.next()
    w.image_page.image_edit.setText(image)


def to_credentials(w: CreateTemplateWizard, image: str = IMAGE) -> None:
    to_image(w, image)
    w.next()
    assert w.currentId() == PageId.CREDENTIALS


def test_only_the_newest_check_is_shown(wizard: CreateTemplateWizard, preflight: FakePreflight) -> None:
    to_image(wizard)
    row = wizard.image_page.access
    row.button.click()
    first = len(preflight.checks)
    assert row.text() == f"Checking {IMAGE} on its registry…"
    wizard.image_page.image_edit.setText(IMAGE.replace(":1", ":2"))  # a keystroke: the running check is cancelled
    assert preflight.cancels >= 1 and row.text() == ""
    row.button.click()
    newest = len(preflight.checks)
    assert preflight.checks[-1].image.endswith(":2")
    preflight.answer(True, "✓ stale answer for :1", number=first)
    assert row.text() == "Checking registry.example.com/team/app:2 on its registry…"
    preflight.answer(True, "✓ registry.example.com/team/app:2 · linux/amd64 · 1.0 MB compressed", number=newest)
    assert row.text() == "✓ registry.example.com/team/app:2 · linux/amd64 · 1.0 MB compressed"
    assert row.result.kind() is MessageKind.INFO


def test_typing_checks_by_itself_once_typing_stops(wizard: CreateTemplateWizard, preflight: FakePreflight,
                                                   qtbot: QtBot) -> None:
    to_image(wizard, "registry.example.com/team/ap")
    wizard.image_page.image_edit.setText(IMAGE)
    qtbot.waitUntil(lambda: len(preflight.checks) == 1, timeout=3000)
    assert preflight.checks[0].image == IMAGE  # only what was there when typing stopped
    assert preflight.checks[0].registry_type == "private" and not preflight.checks[0].use_login


def test_a_failed_check_is_said_and_create_stays_possible(wizard: CreateTemplateWizard,
                                                          preflight: FakePreflight) -> None:
    to_credentials(wizard)
    panel = wizard.credentials_page.panel()
    assert isinstance(panel, PairPanel)
    panel.username_edit.setText("alice")
    panel.secret_field.set_typed(SECRET)
    wizard.credentials_page.access.button.click()
    assert preflight.checks[-1].username == "alice" and preflight.checks[-1].secret == SecretSource("typed", SECRET)
    preflight.answer(False, "Credentials rejected by registry.example.com for team/app: check the username and "
                            "password.", "registryAuth.password")
    assert wizard.credentials_page.access.result.kind() is MessageKind.ERROR
    wizard.next()
    assert wizard.currentId() == PageId.REVIEW
    assert wizard.review_page.access.text().startswith("Credentials rejected by registry.example.com")
    assert wizard.button(QWizard.WizardButton.FinishButton).isEnabled()
    assert SECRET not in wizard.review_page.access.text()


def test_without_a_server_check_there_is_no_button(qtbot: QtBot, logins: FakeLogins) -> None:
    preflight = FakePreflight(available=None)
    w = CreateTemplateWizard([], "http://127.0.0.1:9", preflight=preflight, logins=logins)
    qtbot.addWidget(w)
    w.show()
    to_image(w)
    assert w.image_page.access.isHidden()
    w.image_page.access.button.click()
    assert preflight.checks == []  # never asked, never a made-up answer
    preflight.available = True
    preflight.availability_changed.emit(True)
    assert w.image_page.access.isVisible()
    w.close()


def test_the_remembered_login_is_offered_and_read_only_when_needed(wizard: CreateTemplateWizard,
                                                                   logins: FakeLogins) -> None:
    logins.summaries["registry.example.com"] = LoginSummary("registry.example.com", "alice")
    to_image(wizard)
    wizard.image_page.access.button.click()
    assert wizard.checks._preflight is not None
    to_check = wizard._image_check()
    assert to_check is not None and to_check.use_login  # the image page's check signs in with it
    wizard.next()
    page = wizard.credentials_page
    assert page.remembered.isVisible() and page.using_remembered()
    assert page.remembered.use_button.text() == ("Use the login &remembered for registry.example.com: alice "
                                                 "(password in the system keychain)")
    assert ("fetch", "registry.example.com") in logins.calls
    assert not page.isComplete()  # until the keychain answers
    logins.fetched.emit("registry.example.com", RegistryLogin("registry.example.com", "alice", SECRET))
    assert page.isComplete()
    assert (page.username(), page.secret()) == ("alice", SecretSource("typed", SECRET))
    assert page.remember_box.isHidden()
    page.remembered.other_button.click()
    assert page.username() is None and not page.remembered.use_button.isChecked()
    page.remembered.use_button.click()
    logins.fetched.emit("registry.example.com", None)  # forgotten meanwhile
    assert not page.using_remembered()
    assert "no longer in the keychain" in page._note.text()


def test_remember_is_offered_for_typed_credentials(wizard: CreateTemplateWizard, logins: FakeLogins) -> None:
    to_credentials(wizard)
    page = wizard.credentials_page
    assert page.remember_box.isHidden()  # nothing typed yet
    panel = page.panel()
    assert isinstance(panel, PairPanel)
    panel.username_edit.setText("alice")
    panel.secret_field.set_typed(SECRET)
    assert not page.remember_box.isHidden()
    assert page.remember_box.text() == "Re&member this login for registry.example.com (in the system keychain)"
    page.remember_box.setChecked(True)
    asked: list[tuple[str, str, object, str]] = []
    wizard.login_to_remember.connect(lambda *args: asked.append(args))
    wizard.next()
    wizard.accept()
    assert asked == [("registry.example.com", "alice", SecretSource("typed", SECRET), IMAGE)]


@pytest.mark.asyncio  # the key file is read on the qasync loop
async def test_gcr_offers_the_environment_key_and_a_gcloud_token(wizard: CreateTemplateWizard,
                                                                 logins: FakeLogins) -> None:
    assert ("find_gcr", None) in logins.calls
    logins.gcr_offered.emit(GcrOffers("/keys/sa.json", "/usr/bin/gcloud"))
    to_credentials(wizard, "gcr.io/proj/app:1")
    panel = wizard.credentials_page.panel()
    assert isinstance(panel, GcrPanel)
    assert panel.env_key_button.text() == ("Use the key file from the &environment: /keys/sa.json "
                                           "(GOOGLE_APPLICATION_CREDENTIALS)")
    assert not panel.gcloud_button.isHidden()
    panel.gcloud_button.click()
    assert ("gcloud_token", "/usr/bin/gcloud") in logins.calls
    logins.gcloud_token_ready.emit(SecretSource("typed", "ya29.token"), "")
    assert panel.mode() is GcrMode.TOKEN
    assert wizard.credentials_page.username() == "oauth2accesstoken"
    assert "expires in about an hour" in panel.offer_message.text()
    wizard.next()
    assert wizard.review_page.summary["secret"].text() == ("from gcloud auth print-access-token (hidden; expires in "
                                                           "about an hour)")
    wizard.back()
    panel.env_key_button.click()
    assert panel.mode() is GcrMode.KEY_FILE and panel.key_edit.text() == "/keys/sa.json"
    await wait_until(lambda: panel.key_message.text() == "There is no file at /keys/sa.json.")


def test_registry_logins_page_lists_tests_forgets_and_imports(qtbot: QtBot, logins: FakeLogins,
                                                              preflight: FakePreflight) -> None:
    logins.summaries = {"registry.example.com": LoginSummary("registry.example.com", "alice", "typed", "",
                                                             "registry.example.com/team/app:1"),
                        "docker.io": LoginSummary("docker.io", "bob", "config.json")}
    page = RegistryLoginsPage(logins, preflight)
    qtbot.addWidget(page)
    page.show()
    assert page.table.rowCount() == 2
    assert [page.table.item(r, 0).text() for r in range(2)] == ["docker.io", "registry.example.com"]
    assert page.table.item(0, 2).text() == "imported from Docker's config.json"
    page.table.selectRow(1)
    assert page.test_image.text() == "registry.example.com/team/app:1"
    page.test_button.click()
    assert ("test", ("registry.example.com", "registry.example.com/team/app:1", "private")) in logins.calls
    logins.test_started.emit("registry.example.com", 7)
    preflight.answer(True, "✓ registry.example.com/team/app:1 · linux/amd64 · 1.0 MB compressed · signed in as alice",
                     number=7)
    assert page.message.text().startswith("✓ registry.example.com/team/app:1")
    page.test_image.setText("quay.io/other/app:1")  # another registry: not a test of this login
    assert not page.test_button.isEnabled()
    page.forget_button.click()
    assert ("forget", "registry.example.com") in logins.calls
    assert page.table.rowCount() == 1

    page.import_button.click()
    assert ("find_docker_logins", None) in logins.calls
    found = [DockerLogin("ghcr.io", "ghcr.io", "carol", "config.json", inline="eA=="),
             DockerLogin("helped.example.com", "helped.example.com", None, "docker-credential-pass", "pass")]
    logins.docker_found.emit(found, [])
    assert page.found_list.count() == 2
    assert page.found_list.item(1).text() == "helped.example.com — username kept by the helper " \
                                             "(docker-credential-pass)"
    page.found_list.item(1).setCheckState(Qt.CheckState.Checked)
    page.import_selected.click()
    assert ("import_docker", [found[1]]) in logins.calls
    logins.imported.emit(["helped.example.com"], [])
    assert page.message.text() == "Imported helped.example.com into the keychain."


def test_the_connections_dialog_has_a_registry_logins_tab(qtbot: QtBot, logins: FakeLogins,
                                                         preflight: FakePreflight) -> None:
    dialog = ConnectionDialog([], "", None, logins=logins, preflight=preflight)
    qtbot.addWidget(dialog)
    assert dialog.logins_page is not None
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == ["C&onnections", "Registry &logins"]
    plain = ConnectionDialog([], "", None)
    qtbot.addWidget(plain)
    assert plain.logins_page is None


def test_retry_of_a_failed_private_build_offers_the_remembered_login(qtbot: QtBot, preflight: FakePreflight,
                                                                    logins: FakeLogins) -> None:
    logins.summaries["registry.example.com"] = LoginSummary("registry.example.com", "alice")
    draft = TemplateDraft(name="app", image=IMAGE, registry_type="private")  # what Retry hands over
    w = CreateTemplateWizard(["app"], "http://127.0.0.1:9", draft, preflight=preflight, logins=logins)
    qtbot.addWidget(w)
    w.show()
    assert w.windowTitle() == "Retry template build"
    w.next()
    assert preflight.checks[-1] == AccessCheck(IMAGE, "private", use_login=True)  # the prefilled image, at once
    w.next()
    assert w.credentials_page.using_remembered()
    assert ("fetch", "registry.example.com") in logins.calls
    w.close()


@pytest.mark.asyncio
async def test_no_mnemonic_clash_with_the_new_controls(qtbot: QtBot, tmp_path: Path) -> None:
    """Test access, the remembered login, Remember, GCR offers, the Registry logins tab and the drift box."""
    services = FakeServices()
    services.logins.summaries["registry.example.com"] = LoginSummary("registry.example.com", "alice")
    win = MainWindow(services, ini_settings(tmp_path / "s.ini"))  # type: ignore[arg-type]
    qtbot.addWidget(win)
    win.show()
    services.connection.go(ConnState.ONLINE, "Connected")
    problems: list[str] = []
    data = template_data("drifting", digest="sha256:" + "1" * 64)
    services.templates.server_changed(data)
    services.drift.store.set_enabled(True)
    services.drift.store.put(DriftState(data.template_id, True, "sha256:" + "1" * 64, "sha256:" + "2" * 64,
                                        datetime.now(UTC)))
    win.templates_page.select(data.template_id)
    assert win.templates_page.details.drift_box.recreate_button.isVisible()
    problems += [f"window, drifted row: {c}" for c in clashes(win)]

    for image, registry in (("registry.example.com/t/i:1", "private"), ("gcr.io/p/i:1", "gcr"),
                            ("busybox:1", "dockerhub")):
        wizard = CreateTemplateWizard(set(), "http://127.0.0.1:9", None, win, preflight=services.preflight,
                                      logins=services.logins)
        wizard.show()
        services.logins.gcr_offered.emit(GcrOffers("/keys/sa.json", "/usr/bin/gcloud"))
        wizard.name_page.name_edit.setText("x")
        wizard.next()
        wizard.image_page.set_values(image, registry)
        problems += [f"{registry} image page: {c}" for c in clashes(wizard)]
        wizard.next()
        problems += [f"{registry} credentials: {c}" for c in clashes(wizard)]
        if registry == "private":
            wizard.credentials_page.remembered.other_button.click()
        panel = wizard.credentials_page.panel()
        if isinstance(panel, PairPanel):
            panel.username_edit.setText("u")
            panel.secret_field.set_typed("p")
            assert not wizard.credentials_page.remember_box.isHidden()
            problems += [f"{registry} credentials, typed: {c}" for c in clashes(wizard)]
        wizard.next()
        problems += [f"{registry} review: {c}" for c in clashes(wizard)]
        wizard.close()

    dialog = ConnectionDialog(list(DEFAULT_PROFILES), DEFAULT_PROFILES[0].name, None, win, logins=services.logins,
                              preflight=services.preflight)
    dialog.show()
    problems += [f"Connections tab: {c}" for c in clashes(dialog)]
    dialog.tabs.setCurrentIndex(1)
    services.logins.docker_found.emit([DockerLogin("quay.io", "quay.io", "robot", "config.json", inline="eA==")], [])
    problems += [f"Registry logins tab: {c}" for c in clashes(dialog)]
    dialog.close()
    assert problems == [], "\n".join(problems)

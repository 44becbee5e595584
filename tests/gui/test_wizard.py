"""The create-template wizard: each page's rules per registry type, the draft it hands over, and
that every input has a name a screen reader can say.

Sync tests drive the pages directly (the wizard does no I/O except reading a GCR key file);
the key-file tests are async because the file is read with ``asyncio.to_thread`` on the qasync
loop, and they poll with ``wait_until`` rather than ``qtbot.waitUntil``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from gui_helpers import wait_until
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QRadioButton,
    QWidget,
    QWizard,
)
from pytestqt.qtbot import QtBot

from in10nt_desktop.api.validation import check_registry_fit, parse_image
from in10nt_desktop.app import code_snippets
from in10nt_desktop.app.drafts import SecretSource, TemplateDraft
from in10nt_desktop.ui.secret_field import MessageKind, SecretField
from in10nt_desktop.ui.wizard import CreateTemplateWizard
from in10nt_desktop.ui.wizard_credentials import GcrMode, GcrPanel, PairPanel
from in10nt_desktop.ui.wizard_pages import PageId

BASE_URL = "http://127.0.0.1:8765"
SECRET = "s3cr3t-TOKEN-value"
NOT_JSON = "This key is not JSON: use the service-account key file downloaded from Google Cloud."
NOT_SA = ("That JSON is not a service-account key (it needs type \"service_account\", client_email and "
          "private_key).")


@pytest.fixture
def wizard(qtbot: QtBot) -> Iterator[CreateTemplateWizard]:
    w = CreateTemplateWizard(["ml-env", "web"], BASE_URL)
    qtbot.addWidget(w)
    w.show()
    yield w


def next_enabled(w: CreateTemplateWizard) -> bool:
    return w.button(QWizard.WizardButton.NextButton).isEnabled()


def to_image(w: CreateTemplateWizard, name: str = "fresh") -> None:
    w.name_page.name_edit.setText(name)
    w.next()
    assert w.currentId() == PageId.IMAGE


def to_credentials(w: CreateTemplateWizard, image: str, registry_type: str | None = None) -> None:
    to_image(w)
    w.image_page.image_edit.setText(image)
    if registry_type is not None:
        w.image_page.type_buttons[registry_type].click()
    w.next()
    assert w.currentId() == PageId.CREDENTIALS


def pair(w: CreateTemplateWizard) -> PairPanel:
    panel = w.credentials_page.panel()
    assert isinstance(panel, PairPanel)
    return panel


def gcr(w: CreateTemplateWizard) -> GcrPanel:
    panel = w.credentials_page.panel()
    assert isinstance(panel, GcrPanel)
    return panel


def service_account_json(**over: object) -> str:
    data: dict[str, object] = {
        "type": "service_account", "project_id": "proj", "private_key_id": "0123",
        "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        "client_email": "builder@proj.iam.gserviceaccount.com", "client_id": "1",
    }
    data.update(over)
    return json.dumps(data, indent=2)


def all_visible_text(root: QWidget) -> str:
    parts = [label.text() for label in root.findChildren(QLabel)]
    parts += [view.toPlainText() for view in root.findChildren(QPlainTextEdit)]
    parts += [edit.text() for edit in root.findChildren(QLineEdit) if edit.echoMode() == QLineEdit.EchoMode.Normal]
    return "\n".join(parts)


# -- page 1: name and description ---------------------------------------------------------------

@pytest.mark.parametrize(("name", "message"), [
    ("", "Give the template a name."),
    ("   ", "Give the template a name."),
    ("x" * 129, "The name is 129 characters long; the limit is 128."),
    ("tab\there", "The name contains control characters; use printable characters only."),
])
def test_bad_names_block_next_with_the_rule(wizard: CreateTemplateWizard, name: str, message: str) -> None:
    page = wizard.name_page
    page.name_edit.setText("something")
    page.name_edit.setText(name)
    assert not next_enabled(wizard)
    wizard.next()
    assert wizard.currentId() == PageId.NAME
    assert page.name_message.kind() is MessageKind.ERROR
    assert page.name_message.text() == message
    assert page.name_edit.accessibleDescription() == message


def test_untouched_empty_name_is_quiet_but_blocks(wizard: CreateTemplateWizard) -> None:
    assert not next_enabled(wizard)
    assert not wizard.name_page.name_message.isVisible()
    wizard.next()  # pressing Next anyway explains why
    assert wizard.name_page.name_message.text() == "Give the template a name."


def test_duplicate_name_warns_but_does_not_block(wizard: CreateTemplateWizard) -> None:
    wizard.name_page.name_edit.setText("ML-env ")
    message = wizard.name_page.name_message
    assert message.kind() is MessageKind.WARNING
    assert "already exists" in message.text() and "You can still create" in message.text()
    assert next_enabled(wizard)
    wizard.next()
    assert wizard.currentId() == PageId.IMAGE


def test_description_is_optional_and_limited(wizard: CreateTemplateWizard) -> None:
    page = wizard.name_page
    page.name_edit.setText("env")
    page.description_edit.setPlainText("x" * 2001)
    assert not next_enabled(wizard)
    assert page.description_message.text() == "The description is 2001 characters long; the limit is 2000."
    page.description_edit.setPlainText("  \n ")
    assert next_enabled(wizard)
    assert page.description() is None


def test_enter_in_the_name_field_advances(wizard: CreateTemplateWizard, qtbot: QtBot) -> None:
    wizard.name_page.name_edit.setText("env")
    QTest.keyClick(wizard.name_page.name_edit, Qt.Key.Key_Return)
    assert wizard.currentId() == PageId.IMAGE
    assert wizard.image_page.focusWidget() is wizard.image_page.image_edit


# -- page 2: image and registry type ------------------------------------------------------------

@pytest.mark.parametrize(("image", "message"), [
    ("Python:3.11", "Repository names must be lowercase."),
    ("python 3", "An image reference cannot contain spaces."),
    ("python:bad!tag", "'bad!tag' is not a valid tag: use letters, digits, '_', '.' or '-' (at most 128)."),
    ("registry.example.com/", "The image needs a repository name after the registry host."),
])
def test_bad_image_blocks_next_with_the_engine_rule(wizard: CreateTemplateWizard, image: str, message: str) -> None:
    to_image(wizard)
    wizard.image_page.image_edit.setText(image)
    assert wizard.image_page.image_message.kind() is MessageKind.ERROR
    assert wizard.image_page.image_message.text() == message
    assert not next_enabled(wizard)
    wizard.next()
    assert wizard.currentId() == PageId.IMAGE


@pytest.mark.parametrize(("image", "registry_type"), [
    ("python:3.11-slim", "dockerhub"),
    ("docker.io/library/python:3.11", "dockerhub"),
    ("nvidia/cuda:12.2-runtime", "dockerhub"),
    ("gcr.io/my-project/app:1", "gcr"),
    ("eu.gcr.io/my-project/app:1", "gcr"),
    ("us-docker.pkg.dev/proj/repo/app:1", "gcr"),
    ("registry.example.com:5000/team/app:1.2", "private"),
    ("localhost:5000/app", "private"),
])
def test_registry_type_follows_the_image_host(wizard: CreateTemplateWizard, image: str, registry_type: str) -> None:
    to_image(wizard)
    wizard.image_page.image_edit.setText(image)
    assert wizard.image_page.registry_type() == registry_type
    assert wizard.image_page.follows_image()
    assert wizard.image_page.type_message.text() == "Chosen from the image's registry host."
    assert next_enabled(wizard)


def test_manual_choice_sticks_until_asked_to_follow(wizard: CreateTemplateWizard) -> None:
    to_image(wizard)
    page = wizard.image_page
    page.image_edit.setText("registry.example.com/team/app:1")
    assert page.registry_type() == "private"
    assert not page.follow_button.isVisible()
    page.type_buttons["gcr"].click()  # a user's click, not a programmatic setChecked
    assert page.registry_type() == "gcr" and not page.follows_image()
    assert page.follow_button.isVisible()
    page.image_edit.setText("gcr.io/proj/app:1")
    assert page.registry_type() == "gcr"
    page.image_edit.setText("python:3.11-slim")
    assert page.registry_type() == "gcr"  # still the user's choice, now a mismatch
    assert not next_enabled(wizard)
    page.follow_button.click()
    assert page.registry_type() == "dockerhub" and page.follows_image()
    assert next_enabled(wizard)


@pytest.mark.parametrize(("image", "chosen"), [
    ("python:3.11-slim", "gcr"),
    ("python:3.11-slim", "private"),
    ("registry.example.com/team/app:1", "dockerhub"),
    ("registry.example.com/team/app:1", "gcr"),
])
def test_mismatch_is_shown_next_to_the_type_and_blocks(wizard: CreateTemplateWizard, image: str,
                                                       chosen: str) -> None:
    to_image(wizard)
    wizard.image_page.image_edit.setText(image)
    wizard.image_page.type_buttons[chosen].click()
    with pytest.raises(ValueError) as rule:
        check_registry_fit(parse_image(image), chosen)
    assert wizard.image_page.type_message.kind() is MessageKind.ERROR
    assert wizard.image_page.type_message.text() == str(rule.value)
    assert not next_enabled(wizard)
    wizard.next()
    assert wizard.currentId() == PageId.IMAGE


def test_presets_fill_the_image_and_hand_the_type_back(wizard: CreateTemplateWizard) -> None:
    to_image(wizard)
    page = wizard.image_page
    assert [b.toolTip() for b in page.preset_buttons] == ["python:3.11-slim", "node:20-alpine",
                                                          "nvidia/cuda:12.2-runtime"]
    page.type_buttons["private"].click()
    page.preset_buttons[1].click()
    assert page.image() == "node:20-alpine"
    assert page.registry_type() == "dockerhub" and page.follows_image()
    assert next_enabled(wizard)


# -- page 3: credentials by registry type -------------------------------------------------------

@pytest.mark.parametrize(("image", "registry_type", "secret_label"), [
    ("python:3.11-slim", "dockerhub", "Access token"),
    ("registry.example.com/team/app:1", "private", "Password"),
])
def test_pair_types_show_username_and_their_secret(wizard: CreateTemplateWizard, image: str, registry_type: str,
                                                   secret_label: str) -> None:
    to_credentials(wizard, image)
    panel = pair(wizard)
    assert panel.registry_type == registry_type and panel.isVisible()
    assert panel.username_edit.isVisible()
    assert panel.secret_field.line_edit().accessibleName() == secret_label
    assert panel.secret_field.line_edit().echoMode() == QLineEdit.EchoMode.Password
    for other in wizard.credentials_page.panels.values():
        assert other is panel or not other.isVisible()
    assert next_enabled(wizard)  # anonymous is allowed
    wizard.next()
    assert wizard.currentId() == PageId.REVIEW
    assert not wizard.draft().has_credentials


@pytest.mark.parametrize("image", ["python:3.11-slim", "registry.example.com/team/app:1"])
def test_username_without_secret_blocks_and_the_reverse(wizard: CreateTemplateWizard, image: str) -> None:
    to_credentials(wizard, image)
    panel = pair(wizard)
    panel.username_edit.setText("robot")
    assert not next_enabled(wizard)
    assert panel.secret_field.message().text() == "Enter the registry password or access token."
    wizard.next()
    assert wizard.currentId() == PageId.CREDENTIALS
    panel.username_edit.clear()
    panel.secret_field.set_typed(SECRET)
    assert panel.username_message.text() == "Enter the registry username."
    assert not next_enabled(wizard)
    panel.username_edit.setText("robot")
    assert not panel.username_message.isVisible() and not panel.secret_field.message().isVisible()
    assert next_enabled(wizard)
    wizard.next()
    draft = wizard.draft()
    assert draft.username == "robot" and draft.secret == SecretSource("typed", SECRET)


def test_secret_from_an_unset_variable_is_named_and_blocks(wizard: CreateTemplateWizard,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IN10NT_TEST_REG_PASS", raising=False)
    to_credentials(wizard, "registry.example.com/team/app:1")
    panel = pair(wizard)
    panel.username_edit.setText("robot")
    panel.secret_field.set_use_env(True)
    panel.secret_field.set_env_name("IN10NT_TEST_REG_PASS")
    message = panel.secret_field.message()
    assert message.kind() is MessageKind.ERROR
    assert message.text() == "The environment variable IN10NT_TEST_REG_PASS is not set or is empty."
    assert not next_enabled(wizard)
    panel.secret_field.set_env_name("1BAD-NAME")
    assert "is not a valid variable name" in message.text()
    monkeypatch.setenv("IN10NT_TEST_REG_PASS", SECRET)
    panel.secret_field.set_env_name("IN10NT_TEST_REG_PASS")  # the check is live, as you type
    assert message.kind() is MessageKind.INFO and "$IN10NT_TEST_REG_PASS is set" in message.text()
    wizard.next()
    assert wizard.draft().secret == SecretSource("env", "IN10NT_TEST_REG_PASS")
    assert "from $IN10NT_TEST_REG_PASS" in wizard.review_page.summary["secret"].text()


def test_switching_to_a_variable_never_shows_the_typed_secret(qtbot: QtBot) -> None:
    field = SecretField("Password")
    qtbot.addWidget(field)
    field.set_typed(SECRET)
    field.set_use_env(True)
    assert field.line_edit().text() == ""
    assert field.line_edit().echoMode() == QLineEdit.EchoMode.Normal
    assert field.source() is None
    field.set_use_env(False)
    assert field.line_edit().echoMode() == QLineEdit.EchoMode.Password
    assert field.source() == SecretSource("typed", SECRET)
    assert SECRET not in repr(field.source())


def test_gcr_shows_key_file_or_token_and_blocks_until_given(wizard: CreateTemplateWizard) -> None:
    to_credentials(wizard, "gcr.io/proj/app:1")
    panel = gcr(wizard)
    assert panel.mode() is GcrMode.KEY_FILE
    assert panel.key_edit.isVisible() and panel.choose_button.isVisible()
    assert not panel.token_field.isVisible()
    assert panel.key_message.text() == "Choose the service-account JSON key file."
    assert not next_enabled(wizard)
    wizard.next()
    assert wizard.currentId() == PageId.CREDENTIALS
    panel.mode_buttons[GcrMode.TOKEN].click()
    assert panel.token_field.isVisible() and not panel.key_edit.isVisible()
    assert panel.token_field.message().text() == "Enter the registry password or access token."
    assert not next_enabled(wizard)
    panel.token_field.set_typed(SECRET)
    assert next_enabled(wizard)
    wizard.next()
    assert wizard.draft().username == "oauth2accesstoken"
    assert wizard.draft().secret == SecretSource("typed", SECRET)
    assert wizard.review_page.summary["secret"].text() == "typed (hidden)"


def test_gcr_without_credentials_for_public_images(wizard: CreateTemplateWizard) -> None:
    to_credentials(wizard, "gcr.io/distroless/static:latest")
    gcr(wizard).mode_buttons[GcrMode.NONE].click()
    assert not gcr(wizard).key_edit.isVisible() and not gcr(wizard).token_field.isVisible()
    wizard.next()
    assert wizard.currentId() == PageId.REVIEW
    assert not wizard.draft().has_credentials


def test_credentials_follow_a_changed_registry_type(wizard: CreateTemplateWizard) -> None:
    to_credentials(wizard, "python:3.11-slim")
    assert pair(wizard).registry_type == "dockerhub"
    wizard.back()
    wizard.image_page.image_edit.setText("gcr.io/proj/app:1")
    wizard.next()
    assert isinstance(wizard.credentials_page.panel(), GcrPanel) and gcr(wizard).isVisible()


# -- page 3: the GCR key file, read off the GUI thread -----------------------------------------

@pytest.mark.asyncio
async def test_gcr_key_file_is_read_checked_and_sent_as_json_key(qtbot: QtBot, tmp_path: Path) -> None:
    w = CreateTemplateWizard([], BASE_URL)
    qtbot.addWidget(w)
    w.show()
    to_credentials(w, "europe-docker.pkg.dev/proj/repo/app:1")
    key_text = service_account_json()
    key = tmp_path / "key.json"
    key.write_text(key_text)
    gcr(w).key_edit.setText(str(key))
    assert not next_enabled(w)  # not read yet
    await wait_until(lambda: gcr(w).key_text() is not None, message=gcr(w).key_message.text())
    assert gcr(w).key_message.text() == "Service-account key for builder@proj.iam.gserviceaccount.com in project proj."
    assert next_enabled(w)
    w.next()
    draft = w.draft()
    assert draft.username == "_json_key"
    assert draft.secret == SecretSource("typed", key_text)  # the file's contents, byte for byte
    assert w.review_page.summary["secret"].text() == f"{key} (contents hidden)"
    assert "BEGIN PRIVATE KEY" not in all_visible_text(w)
    assert "_json_key" in w.review_page.code_views["cli"].toPlainText()


@pytest.mark.asyncio
@pytest.mark.parametrize(("content", "message"), [
    ("this is not json", NOT_JSON),
    (b"\xff\xfe\x00binary", NOT_JSON),
    ('{"type": "authorized_user", "client_id": "x"}', NOT_SA),
    (service_account_json(private_key=""), NOT_SA),
    ("[1, 2]", NOT_SA),
])
async def test_gcr_key_file_that_is_not_a_key_is_rejected_with_the_rule(qtbot: QtBot, tmp_path: Path,
                                                                        content: str | bytes, message: str) -> None:
    w = CreateTemplateWizard([], BASE_URL)
    qtbot.addWidget(w)
    w.show()
    to_credentials(w, "gcr.io/proj/app:1")
    key = tmp_path / "key.json"
    if isinstance(content, bytes):
        key.write_bytes(content)
    else:
        key.write_text(content)
    gcr(w).key_edit.setText(str(key))
    await wait_until(lambda: gcr(w).key_error() != "", message=gcr(w).key_message.text())
    assert gcr(w).key_message.kind() is MessageKind.ERROR
    assert gcr(w).key_message.text() == message
    assert not next_enabled(w)
    w.next()
    assert w.currentId() == PageId.CREDENTIALS


@pytest.mark.asyncio
async def test_gcr_key_file_missing_or_a_folder_and_the_latest_path_wins(qtbot: QtBot, tmp_path: Path) -> None:
    w = CreateTemplateWizard([], BASE_URL)
    qtbot.addWidget(w)
    w.show()
    to_credentials(w, "gcr.io/proj/app:1")
    missing = tmp_path / "nope.json"
    gcr(w).key_edit.setText(str(missing))
    await wait_until(lambda: gcr(w).key_error() != "")
    assert gcr(w).key_message.text() == f"There is no file at {missing}."
    gcr(w).key_edit.setText(str(tmp_path))
    await wait_until(lambda: gcr(w).key_error() != "")
    assert gcr(w).key_message.text() == f"{tmp_path} is a folder; choose the key file inside it."
    good = tmp_path / "good.json"
    good.write_text(service_account_json())
    for path in (missing, tmp_path, good):  # typed quickly: only the last one counts
        gcr(w).key_edit.setText(str(path))
    await wait_until(lambda: gcr(w).key_text() is not None)
    assert gcr(w).key_error() == "" and next_enabled(w)


@pytest.mark.asyncio
async def test_closing_the_wizard_cancels_a_key_read_in_flight(qtbot: QtBot, tmp_path: Path) -> None:
    main_window = QWidget()  # as in the app: closing the wizard must not close the last window
    qtbot.addWidget(main_window)
    main_window.show()
    w = CreateTemplateWizard([], BASE_URL, parent=main_window)
    w.show()
    to_credentials(w, "gcr.io/proj/app:1")
    key = tmp_path / "key.json"
    key.write_text(service_account_json())
    gcr(w).key_edit.setText(str(key))
    gcr(w).key_edit.editingFinished.emit()  # leaving the field starts the read at once
    task = gcr(w)._key_task
    assert task is not None and not task.done()
    w.reject()
    await wait_until(task.done)
    assert task.cancelled()
    assert gcr(w).key_text() is None and gcr(w).key_edit.text() == ""


# -- page 4: review, copy as code, Create -------------------------------------------------------

def fill_private_with_typed_secret(w: CreateTemplateWizard) -> None:
    w.name_page.name_edit.setText("private-env")
    w.name_page.description_edit.setPlainText("Team base image")
    w.next()
    w.image_page.image_edit.setText("registry.example.com:5000/team/app:1.2")
    w.next()
    pair(w).username_edit.setText("robot")
    pair(w).secret_field.set_typed(SECRET)
    w.next()
    assert w.currentId() == PageId.REVIEW


def test_review_hides_secrets_and_shows_the_snippets(wizard: CreateTemplateWizard, qtbot: QtBot) -> None:
    fill_private_with_typed_secret(wizard)
    review = wizard.review_page
    assert review.summary["name"].text() == "private-env"
    assert review.summary["registry"].text() == "Private registry"
    assert review.summary["username"].text() == "robot"
    assert review.summary["secret"].text() == "typed (hidden)"
    assert SECRET not in all_visible_text(wizard)
    draft = wizard.draft()
    assert review.code_views["python"].toPlainText() == code_snippets.python_sdk(draft)
    assert review.code_views["cli"].toPlainText() == code_snippets.cli(draft)
    assert review.code_views["curl"].toPlainText() == code_snippets.curl(draft, code_snippets.CodeTarget(BASE_URL))
    assert BASE_URL in review.code_views["curl"].toPlainText()
    assert "$REGISTRY_PASS" in review.code_note.text()
    review.copy_buttons["cli"].click()
    assert QGuiApplication.clipboard().text() == code_snippets.cli(draft)
    assert review.copied_labels["cli"].text() == "Copied to the clipboard."
    assert wizard.button(QWizard.WizardButton.FinishButton).text().replace("&", "") == "Create"


def test_create_emits_the_draft_and_closes(wizard: CreateTemplateWizard, qtbot: QtBot) -> None:
    fill_private_with_typed_secret(wizard)
    with qtbot.waitSignal(wizard.draft_ready, timeout=1000) as blocker:
        QTest.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    expected = TemplateDraft(name="private-env", image="registry.example.com:5000/team/app:1.2",
                             registry_type="private", description="Team base image", username="robot",
                             secret=SecretSource("typed", SECRET))
    assert blocker.args == [expected]
    assert wizard.draft() == expected
    assert wizard.result() == QWizard.DialogCode.Accepted and not wizard.isVisible()
    assert pair(wizard).secret_field.source() is None  # the widgets forget the secret


def test_cancel_emits_nothing_and_forgets_the_secret(wizard: CreateTemplateWizard, qtbot: QtBot) -> None:
    fill_private_with_typed_secret(wizard)
    with qtbot.assertNotEmitted(wizard.draft_ready):
        wizard.reject()
    assert pair(wizard).secret_field.source() is None


def test_retry_prefill_fills_fields_and_the_username_but_asks_for_the_password_again(qtbot: QtBot) -> None:
    prefill = TemplateDraft(name="ml-env", image="registry.example.com/team/app:1", registry_type="private",
                            description="retry me", username="robot", secret=SecretSource("typed", SECRET))
    w = CreateTemplateWizard(["ml-env"], BASE_URL, prefill=prefill)
    qtbot.addWidget(w)
    w.show()
    assert w.name_page.name() == "ml-env" and w.name_page.description() == "retry me"
    assert w.name_page.name_message.kind() is MessageKind.WARNING  # its own failed row is in the list
    w.next()
    assert w.image_page.image() == "registry.example.com/team/app:1"
    assert w.image_page.registry_type() == "private" and w.image_page.follows_image()
    w.next()
    # the username the last build used is filled in (no secret); the password is asked again
    assert pair(w).username() == "robot" and pair(w).secret_field.source() is None
    assert not w.credentials_page.isComplete()


def test_prefill_with_a_type_the_host_does_not_imply_is_kept_as_a_choice(qtbot: QtBot) -> None:
    prefill = TemplateDraft(name="x", image="gcr.io/proj/app:1", registry_type="private")
    w = CreateTemplateWizard([], BASE_URL, prefill=prefill)
    qtbot.addWidget(w)
    assert w.image_page.registry_type() == "private" and not w.image_page.follows_image()


# -- quality: size, keyboard, accessible names --------------------------------------------------

def test_size_and_titles(wizard: CreateTemplateWizard) -> None:
    assert wizard.minimumWidth() >= 640 and wizard.minimumHeight() >= 480
    assert wizard.windowTitle() == "New template"
    for page_id in PageId:
        assert wizard.page(page_id).title()


NAMED_TYPES = (QLineEdit, QComboBox, QPlainTextEdit, QCheckBox, QRadioButton)


def unnamed_inputs(root: QWidget) -> list[str]:
    """Inputs a screen reader could not name: no accessible name and no buddy label."""
    buddies = {label.buddy() for label in root.findChildren(QLabel) if label.buddy() is not None}
    missing = []
    for widget in root.findChildren(QWidget):
        icon_only = isinstance(widget, QAbstractButton) and not widget.text().strip() and not widget.icon().isNull()
        if (isinstance(widget, NAMED_TYPES) or icon_only) and not widget.accessibleName().strip() \
                and widget not in buddies:
            missing.append(f"{type(widget).__name__} {widget.objectName()!r} in {type(widget.parent()).__name__}")
    return missing


def test_every_input_on_every_page_has_an_accessible_name(wizard: CreateTemplateWizard) -> None:
    seen: set[type] = set()
    fill_private_with_typed_secret(wizard)  # visits every page
    for page_id in PageId:
        page = wizard.page(page_id)
        assert unnamed_inputs(page) == [], f"page {page_id.name}"
        seen.update(type(w) for w in page.findChildren(QWidget))
    assert unnamed_inputs(wizard) == []
    assert {QLineEdit, QPlainTextEdit, QCheckBox, QRadioButton} <= seen  # the walk did look at them


def test_the_walk_catches_an_unnamed_input(wizard: CreateTemplateWizard) -> None:
    QLineEdit(wizard.name_page).setObjectName("sneaky")
    assert unnamed_inputs(wizard.name_page) == ["QLineEdit 'sneaky' in NamePage"]


def test_labels_have_mnemonics_and_buddies(wizard: CreateTemplateWizard) -> None:
    for page_id in (PageId.NAME, PageId.IMAGE, PageId.CREDENTIALS):
        labels = [label for label in wizard.page(page_id).findChildren(QLabel) if "&" in label.text()]
        assert labels, page_id.name
        for label in labels:
            assert label.buddy() is not None, label.text()
    assert wizard.name_page.findChildren(QLabel)[0].buddy() is wizard.name_page.name_edit


def test_the_whole_wizard_by_keyboard(wizard: CreateTemplateWizard, qtbot: QtBot,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Type, Tab, Space and Enter only, always into whatever has the focus."""
    monkeypatch.setenv("IN10NT_TEST_KB_PASS", SECRET)
    wizard.activateWindow()
    qtbot.waitUntil(lambda: QGuiApplication.focusWindow() is not None)

    def keys(text: str = "", key: Qt.Key | None = None) -> None:
        focused = QApplication.focusWidget()
        assert focused is not None
        if text:
            QTest.keyClicks(focused, text)
        if key is not None:
            QTest.keyClick(focused, key)

    keys("kb-env", Qt.Key.Key_Return)
    assert wizard.currentId() == PageId.IMAGE
    keys("registry.example.com/team/app:1", Qt.Key.Key_Return)
    assert wizard.currentId() == PageId.CREDENTIALS
    keys("robot", Qt.Key.Key_Tab)  # username, then the password field
    keys(key=Qt.Key.Key_Tab)  # the "from an environment variable" box
    keys(key=Qt.Key.Key_Space)
    assert pair(wizard).secret_field.uses_env()
    keys(key=Qt.Key.Key_Backtab)  # back to the (now variable-name) field
    keys("IN10NT_TEST_KB_PASS", Qt.Key.Key_Return)
    assert wizard.currentId() == PageId.REVIEW
    with qtbot.waitSignal(wizard.draft_ready, timeout=1000) as blocker:
        keys(key=Qt.Key.Key_Return)
    assert blocker.args == [TemplateDraft(name="kb-env", image="registry.example.com/team/app:1",
                                          registry_type="private", username="robot",
                                          secret=SecretSource("env", "IN10NT_TEST_KB_PASS"))]

"""The wizard's credentials page: fields that follow the registry type.

It is the one page that does I/O: it reads a GCR key file, off the GUI thread, in an
``asyncSlot`` on the qasync loop.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from in10nt_desktop.api.validation import FieldError, check_registry_auth, check_service_account_json
from in10nt_desktop.app.drafts import SecretSource
from in10nt_desktop.ui.secret_field import FieldMessage, MessageKind, SecretField
from in10nt_desktop.ui.wizard_pages import (
    REGISTRY_TYPE_NAMES,
    buddy_label,
    field_column,
)

if TYPE_CHECKING:  # qasync ships no type information
    def asyncSlot(*types: type) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., asyncio.Task[None]]]: ...
else:
    from qasync import asyncSlot


KEY_FIELD = "registryAuth.password"
GCR_KEY_USER = "_json_key"
GCR_TOKEN_USER = "oauth2accesstoken"
MAX_KEY_BYTES = 64 * 1024
CREDENTIAL_INTROS = {
    "dockerhub": "Only needed for private repositories. Use a Docker Hub access token rather than your "
                 "password.",
    "private": "Leave both empty if the registry allows anonymous pulls; otherwise give both.",
    "gcr": "Sign in with a service-account key file or an access token, or pull a public image without "
           "credentials.",
}


class GcrMode(IntEnum):
    KEY_FILE = 0
    TOKEN = 1
    NONE = 2


def read_key_file(path: str) -> str:
    """Run in a worker thread: the key file's text, or a ``FieldError`` saying why not."""
    if os.path.isdir(path):  # Windows reports a folder as PermissionError
        raise FieldError(KEY_FIELD, f"{path} is a folder; choose the key file inside it.")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_KEY_BYTES + 1)
    except FileNotFoundError:
        raise FieldError(KEY_FIELD, f"There is no file at {path}.") from None
    except PermissionError:
        raise FieldError(KEY_FIELD, f"You are not allowed to read {path}.") from None
    except OSError as err:
        raise FieldError(KEY_FIELD, f"{path} could not be read: {err.strerror or err}.") from None
    if len(data) > MAX_KEY_BYTES:
        raise FieldError(KEY_FIELD, "That file is too large to be a service-account key.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return ""  # not text, so not JSON: check_service_account_json says so in its own words


class PairPanel(QWidget):
    """Username and secret for dockerhub and private registries: both, or neither."""

    changed = Signal()

    def __init__(self, registry_type: str, secret_label: str, secret_mnemonic: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry_type = registry_type
        self.secret_label = secret_label
        self.username_edit = QLineEdit()
        self.username_message = FieldMessage()
        self.secret_field = SecretField(secret_label)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.username_edit.setAccessibleName(f"{REGISTRY_TYPE_NAMES[registry_type]} username")
        self.username_edit.setPlaceholderText("optional")
        form.addRow(buddy_label("&Username:", self.username_edit),
                    field_column(self.username_edit, self.username_message))
        form.addRow(buddy_label(secret_mnemonic, self.secret_field), self.secret_field)
        self.username_edit.textChanged.connect(self.refresh)
        self.secret_field.changed.connect(self.refresh)

    def username(self) -> str:
        return self.username_edit.text().strip()

    def _errors(self) -> tuple[str, str]:
        """The (username, secret) sentences: if either is given, both are needed."""
        user, source = self.username(), self.secret_field.source()
        if not user and source is None:
            return "", ""
        try:
            check_registry_auth({"username": user, "password": "given" if source else ""}, self.registry_type)
        except FieldError as err:
            return ("", err.message) if err.field == KEY_FIELD else (err.message, "")
        return "", ""

    def blocking(self) -> bool:
        return any(self._errors()) or self.secret_field.problem() is not None

    def refresh(self) -> None:
        user_error, secret_error = self._errors()
        self.username_message.set_message(MessageKind.ERROR, user_error)
        self.username_edit.setAccessibleDescription(user_error)
        self.secret_field.set_error(secret_error)
        self.changed.emit()

    def clear(self) -> None:
        self.username_edit.clear()
        self.secret_field.clear()


class GcrPanel(QWidget):
    """GCR / Artifact Registry: a service-account key file, an access token, or nothing."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode_buttons: dict[GcrMode, QRadioButton] = {
            GcrMode.KEY_FILE: QRadioButton("Service-account JSON &key file"),
            GcrMode.TOKEN: QRadioButton("Access &token"),
            GcrMode.NONE: QRadioButton("No credentials (a p&ublic image)"),
        }
        self._mode_group = QButtonGroup(self)
        self.key_edit = QLineEdit()
        self.choose_button = QPushButton("C&hoose…")
        self.key_message = FieldMessage()
        self.token_field = SecretField("Access token")
        self._key_timer = QTimer(self)
        self._key_task: asyncio.Task[None] | None = None
        self._key_wanted_path: str | None = None  # the path of the latest read started
        self._key_read_path: str | None = None  # the path the stored text or error belongs to
        self._key_text: str | None = None
        self._key_error = ""
        self._key_summary = ""
        self._form = QFormLayout(self)
        self._build_ui()
        self.mode_buttons[GcrMode.KEY_FILE].setChecked(True)
        self.refresh()

    def _build_ui(self) -> None:
        modes = QVBoxLayout()
        modes.setContentsMargins(0, 0, 0, 0)
        modes.setSpacing(4)
        names = {GcrMode.KEY_FILE: "service-account JSON key file", GcrMode.TOKEN: "access token",
                 GcrMode.NONE: "no credentials"}
        for mode, radio in self.mode_buttons.items():
            radio.setAccessibleName(f"Sign in with: {names[mode]}")
            self._mode_group.addButton(radio, int(mode))
            modes.addWidget(radio)
        mode_box = QWidget()
        mode_box.setLayout(modes)
        self.key_edit.setAccessibleName("Service-account JSON key file path")
        self.key_edit.setPlaceholderText("/path/to/key.json")
        self.choose_button.setAccessibleName("Choose the service-account JSON key file")
        self.choose_button.setAutoDefault(False)
        key_row = QHBoxLayout()
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(self.key_edit, 1)
        key_row.addWidget(self.choose_button)
        key_box = QWidget()
        key_column = QVBoxLayout(key_box)
        key_column.setContentsMargins(0, 0, 0, 0)
        key_column.setSpacing(4)
        key_column.addLayout(key_row)
        key_column.addWidget(self.key_message)
        key_box.setFocusProxy(self.key_edit)
        self._form.setContentsMargins(0, 0, 0, 0)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.addRow(buddy_label("Sign in with:", self.mode_buttons[GcrMode.KEY_FILE]), mode_box)
        self._form.addRow(buddy_label("Key &file:", self.key_edit), key_box)
        self._form.addRow(buddy_label("Access t&oken:", self.token_field), self.token_field)
        self._key_timer.setSingleShot(True)
        self._key_timer.setInterval(300)
        self._key_timer.timeout.connect(lambda: self._start_key_read())
        self._mode_group.idToggled.connect(self._on_mode_toggled)
        self.key_edit.textChanged.connect(self._on_key_path_edited)
        self.key_edit.editingFinished.connect(lambda: self._start_key_read())
        self.choose_button.clicked.connect(self._on_choose_clicked)
        self.token_field.changed.connect(self.refresh)

    # -- values -------------------------------------------------------------------------------

    def mode(self) -> GcrMode:
        return GcrMode(self._mode_group.checkedId())

    def set_mode(self, mode: GcrMode) -> None:
        self.mode_buttons[mode].setChecked(True)

    def key_path(self) -> str:
        return os.path.expanduser(self.key_edit.text().strip())

    def key_text(self) -> str | None:
        """The key file's contents, once read and checked for the path now in the field."""
        return self._key_text if self._key_read_path == self.key_path() else None

    def key_error(self) -> str:
        return self._key_error if self._key_read_path == self.key_path() else ""

    def username(self) -> str | None:
        return {GcrMode.KEY_FILE: GCR_KEY_USER, GcrMode.TOKEN: GCR_TOKEN_USER}.get(self.mode())

    def secret(self) -> SecretSource | None:
        if self.mode() is GcrMode.KEY_FILE:
            text = self.key_text()
            return SecretSource("typed", text) if text is not None else None
        if self.mode() is GcrMode.TOKEN:
            return self.token_field.source()
        return None

    def blocking(self) -> bool:
        if self.mode() is GcrMode.KEY_FILE:
            return self.key_text() is None
        if self.mode() is GcrMode.TOKEN:
            return self.token_field.source() is None or self.token_field.problem() is not None
        return False

    def clear(self) -> None:
        self._key_timer.stop()
        self._cancel_key_read()
        self._key_text = None
        self._key_read_path = self._key_wanted_path = None
        self.key_edit.clear()
        self.token_field.clear()

    # -- reading the key file -----------------------------------------------------------------

    def _on_key_path_edited(self) -> None:
        if self.key_path():
            self._key_timer.start()
        else:
            self._key_timer.stop()
        self.refresh()

    def _on_choose_clicked(self) -> None:
        dialog = QFileDialog(self, "Choose the service-account JSON key file")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setNameFilters(["JSON key files (*.json)", "All files (*)"])
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self._on_key_file_chosen)
        dialog.open()  # not exec(): no nested event loop under qasync

    def _on_key_file_chosen(self, path: str) -> None:
        self.key_edit.setText(path)
        self._start_key_read(force=True)  # the same path again may be a fixed file

    def _start_key_read(self, force: bool = False) -> None:
        self._key_timer.stop()
        path = self.key_path()
        if path and (force or path != self._key_wanted_path):
            self._cancel_key_read()
            self._key_wanted_path, self._key_read_path = path, None
            self._key_task = self._load_key_file(path)  # kept, so closing the wizard can cancel it
            self.refresh()

    def _cancel_key_read(self) -> None:
        if self._key_task is not None and not self._key_task.done():
            self._key_task.cancel()
        self._key_task = None

    @asyncSlot()
    async def _load_key_file(self, path: str) -> None:
        """Read and check the key off the GUI thread."""
        text: str | None = None
        try:
            raw = await asyncio.to_thread(read_key_file, path)
            data = check_service_account_json(raw)
        except FieldError as err:
            error, summary = err.message, ""
        else:
            text, error = raw, ""  # the file's contents exactly, as the registry expects them
            project = f" in project {data['project_id']}" if data.get("project_id") else ""
            summary = f"Service-account key for {data['client_email']}{project}."
        if path != self.key_path():
            return  # the field changed while reading: a newer read will report
        self._key_read_path, self._key_text, self._key_error, self._key_summary = path, text, error, summary
        self.refresh()

    # -- display ------------------------------------------------------------------------------

    def _on_mode_toggled(self, _id: int, checked: bool) -> None:
        if checked:
            self.refresh()

    def refresh(self) -> None:
        mode = self.mode()
        self._form.setRowVisible(1, mode is GcrMode.KEY_FILE)
        self._form.setRowVisible(2, mode is GcrMode.TOKEN)
        if not self.key_path():
            self.key_message.set_message(MessageKind.INFO, "Choose the service-account JSON key file.")
        elif self.key_error():
            self.key_message.set_message(MessageKind.ERROR, self.key_error())
        elif self.key_text() is not None:
            self.key_message.set_message(MessageKind.INFO, self._key_summary)
        else:
            self.key_message.set_message(MessageKind.INFO, "Reading the key file…")
        self.key_edit.setAccessibleDescription(self.key_message.text())
        if mode is GcrMode.TOKEN and self.token_field.source() is None:
            try:
                check_registry_auth({"username": GCR_TOKEN_USER, "password": ""}, "gcr")
            except FieldError as err:
                self.token_field.set_error(err.message)
        else:
            self.token_field.set_error("")
        self.changed.emit()


class CredentialsPage(QWizardPage):
    """The fields follow the registry type chosen on the image page."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry_type = "dockerhub"
        self.panels: dict[str, PairPanel | GcrPanel] = {
            "dockerhub": PairPanel("dockerhub", "Access token", "Access &token:"),
            "private": PairPanel("private", "Password", "Pass&word:"),
            "gcr": GcrPanel(),
        }
        self._stack = QStackedWidget()
        self._note = QLabel("Credentials are sent once, with the create request. The app does not keep them.")
        self.setTitle("Registry credentials")
        for panel in self.panels.values():
            self._stack.addWidget(panel)
            panel.changed.connect(self.completeChanged)
        self._note.setWordWrap(True)
        self._note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addWidget(self._stack)
        layout.addStretch(1)
        layout.addWidget(self._note)
        self.set_registry_type("dockerhub")

    def set_registry_type(self, registry_type: str) -> None:
        self.registry_type = registry_type
        self.setSubTitle(CREDENTIAL_INTROS[registry_type])
        self._stack.setCurrentWidget(self.panels[registry_type])
        for key, panel in self.panels.items():
            panel.setEnabled(key == registry_type)  # QWizard gives focus to the first enabled input
        self.completeChanged.emit()

    def panel(self) -> PairPanel | GcrPanel:
        return self.panels[self.registry_type]

    def username(self) -> str | None:
        panel = self.panel()
        return (panel.username() or None) if isinstance(panel, PairPanel) else panel.username()

    def secret(self) -> SecretSource | None:
        panel = self.panel()
        return panel.secret_field.source() if isinstance(panel, PairPanel) else panel.secret()

    def secret_label(self) -> str:
        panel = self.panel()
        if isinstance(panel, PairPanel):
            return panel.secret_label
        return "Key file" if panel.mode() is GcrMode.KEY_FILE else "Access token"

    def secret_summary(self) -> str:
        """How the secret is given, never the secret."""
        panel, secret = self.panel(), self.secret()
        if secret is None:
            return "none (anonymous pull)"
        if isinstance(panel, GcrPanel) and panel.mode() is GcrMode.KEY_FILE:
            return f"{panel.key_path()} (contents hidden)"
        return f"from ${secret.value}" if secret.kind == "env" else "typed (hidden)"

    def isComplete(self) -> bool:
        return not self.panel().blocking()

    def validatePage(self) -> bool:
        self.panel().refresh()
        return self.isComplete()

    def clear(self) -> None:
        for panel in self.panels.values():
            panel.clear()

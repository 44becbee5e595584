"""The wizard's GCR / Artifact Registry panel: a key file (read off the GUI thread), a token, or nothing.

It is the one panel that does I/O: it reads a GCR key file, in an ``asyncSlot`` on the qasync
loop. What the computer already has (``GOOGLE_APPLICATION_CREDENTIALS``, gcloud) is offered by the
logins service and shown here, each labelled.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from enum import IntEnum
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.api.validation import FieldError, check_registry_auth, check_service_account_json
from in10nt_desktop.app.drafts import SecretSource
from in10nt_desktop.app.gcr_sources import GcrOffers
from in10nt_desktop.ui.secret_field import FieldMessage, MessageKind, SecretField
from in10nt_desktop.ui.wizard_pages import buddy_label

if TYPE_CHECKING:  # qasync ships no type information
    def asyncSlot(*types: type) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., asyncio.Task[None]]]: ...
else:
    from qasync import asyncSlot


KEY_FIELD = "registryAuth.password"
GCR_KEY_USER = "_json_key"
GCR_TOKEN_USER = "oauth2accesstoken"
MAX_KEY_BYTES = 64 * 1024


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


class GcrPanel(QWidget):
    """GCR / Artifact Registry: a service-account key file, an access token, or nothing.

    What the computer already has is offered too, each labelled: the key file named by
    ``GOOGLE_APPLICATION_CREDENTIALS`` and, when gcloud is installed, a token it prints.
    """

    changed = Signal()
    gcloud_requested = Signal(str)  # the gcloud program: the page asks the service for a token

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
        self.env_key_button = QPushButton()
        self.gcloud_button = QPushButton("Get a short-lived token from &gcloud")
        self.offer_message = FieldMessage()
        self._offers = GcrOffers(None, None)
        self._gcloud_token: str | None = None
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
        offers = QVBoxLayout()
        offers.setContentsMargins(0, 0, 0, 0)
        offers.setSpacing(4)
        for button in (self.env_key_button, self.gcloud_button):
            button.setAutoDefault(False)
            button.setVisible(False)
            row = QHBoxLayout()
            row.addWidget(button)
            row.addStretch(1)
            offers.addLayout(row)
        offers.addWidget(self.offer_message)
        offer_box = QWidget()
        offer_box.setLayout(offers)
        self.env_key_button.setAccessibleName("Use the key file named by GOOGLE_APPLICATION_CREDENTIALS")
        self.gcloud_button.setAccessibleName("Get a short-lived access token from gcloud auth print-access-token")
        self.gcloud_button.setToolTip("Runs gcloud auth print-access-token; the token lasts about an hour.")
        self._form.addRow("On this computer:", offer_box)
        self._form.setRowVisible(3, False)
        self.env_key_button.clicked.connect(self._use_env_key)
        self.gcloud_button.clicked.connect(self._ask_gcloud)
        self._key_timer.setSingleShot(True)
        self._key_timer.setInterval(300)
        self._key_timer.timeout.connect(lambda: self._start_key_read())
        self._mode_group.idToggled.connect(self._on_mode_toggled)
        self.key_edit.textChanged.connect(self._on_key_path_edited)
        self.key_edit.editingFinished.connect(lambda: self._start_key_read())
        self.choose_button.clicked.connect(self._on_choose_clicked)
        self.token_field.changed.connect(self.refresh)

    # -- what this computer has -----------------------------------------------------------------

    def set_offers(self, offers: GcrOffers) -> None:
        self._offers = offers
        if offers.key_path:
            self.env_key_button.setText(f"Use the key file from the &environment: {offers.key_path} "
                                        "(GOOGLE_APPLICATION_CREDENTIALS)")
        self.env_key_button.setVisible(bool(offers.key_path))
        self.gcloud_button.setVisible(bool(offers.gcloud))
        self._form.setRowVisible(3, bool(offers.key_path or offers.gcloud))

    def _use_env_key(self) -> None:
        if self._offers.key_path:
            self.set_mode(GcrMode.KEY_FILE)
            self.key_edit.setText(self._offers.key_path)
            self._start_key_read(force=True)

    def _ask_gcloud(self) -> None:
        if self._offers.gcloud:
            self.gcloud_button.setEnabled(False)
            self.offer_message.set_message(MessageKind.INFO, "Asking gcloud for a token…")
            self.gcloud_requested.emit(self._offers.gcloud)

    def set_gcloud_token(self, secret: SecretSource | None, sentence: str) -> None:
        self.gcloud_button.setEnabled(True)
        if secret is None:
            self.offer_message.set_message(MessageKind.ERROR, sentence)
            return
        self._gcloud_token = secret.value
        self.set_mode(GcrMode.TOKEN)
        self.token_field.set_use_env(False)
        self.token_field.set_typed(secret.value)
        self.offer_message.set_message(MessageKind.INFO, "Access token from gcloud auth print-access-token, sent "
                                                         "as oauth2accesstoken; it expires in about an hour.")

    def token_from_gcloud(self) -> bool:
        source = self.token_field.source()
        return self.mode() is GcrMode.TOKEN and source is not None and source.kind == "typed" \
            and source.value == self._gcloud_token

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
        self._gcloud_token = None
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

"""The wizard's credentials page: fields that follow the registry type, and the remembered login.

The GCR panel, the one that reads a file, is in ``wizard_gcr.py``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from in10nt_desktop.api.validation import FieldError, check_registry_auth
from in10nt_desktop.app.drafts import SecretSource
from in10nt_desktop.ui.access_check import AccessRow
from in10nt_desktop.ui.secret_field import FieldMessage, MessageKind, SecretField
from in10nt_desktop.ui.wizard_gcr import KEY_FIELD, GcrMode, GcrPanel
from in10nt_desktop.ui.wizard_pages import (
    REGISTRY_TYPE_NAMES,
    buddy_label,
    field_column,
)

__all__ = ["CredentialsPage", "GcrMode", "GcrPanel", "PairPanel", "RememberedLoginBox"]

CREDENTIAL_INTROS = {
    "dockerhub": "Only needed for private repositories. Use a Docker Hub access token rather than your "
                 "password.",
    "private": "Leave both empty if the registry allows anonymous pulls; otherwise give both.",
    "gcr": "Sign in with a service-account key file or an access token, or pull a public image without "
           "credentials.",
}


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


class RememberedLoginBox(QWidget):
    """The login the keychain holds for the image's host: use it (username shown, secret never), or not."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.use_button = QRadioButton()
        self.other_button = QRadioButton("Use &other credentials")
        self.use_button.setChecked(True)
        self.use_button.setAccessibleName("Use the remembered login")
        self.other_button.setAccessibleName("Use other credentials")
        group = QButtonGroup(self)
        group.addButton(self.use_button)
        group.addButton(self.other_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.setSpacing(4)
        layout.addWidget(self.use_button)
        layout.addWidget(self.other_button)
        self.use_button.toggled.connect(lambda _on: self.changed.emit())

    def offer(self, host: str, username: str) -> None:
        self.use_button.setText(f"Use the login &remembered for {host}: {username} (password in the system keychain)")
        self.use_button.setAccessibleName(f"Use the login remembered for {host}, user {username}")


class CredentialsPage(QWizardPage):
    """The fields follow the registry type chosen on the image page; a remembered login is offered first."""

    request = "create"  # "rebuild" when the wizard rebuilds a template: the notes name the request that carries them

    @property
    def remember_note(self) -> str:
        return f"Credentials are sent once, with the {self.request} request. The app does not keep them."

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.registry_type = "dockerhub"
        self.host = ""
        self.panels: dict[str, PairPanel | GcrPanel] = {
            "dockerhub": PairPanel("dockerhub", "Access token", "Access &token:"),
            "private": PairPanel("private", "Password", "Pass&word:"),
            "gcr": GcrPanel(),
        }
        self._stack = QStackedWidget()
        self.remembered = RememberedLoginBox()
        self._remembered_user: str | None = None
        self._remembered_secret: SecretSource | None = None
        self._remembered_problem = ""
        self.remember_box = QCheckBox()
        self.remember_box.setAccessibleName("Remember this login for the registry")
        self.remember_box.setVisible(False)
        self.access = AccessRow("the registry with these credentials")
        self._note = QLabel(self.remember_note)
        self.setTitle("Registry credentials")
        for panel in self.panels.values():
            self._stack.addWidget(panel)
            panel.changed.connect(self._on_changed)
        self._note.setWordWrap(True)
        self._note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        layout = QVBoxLayout(self)
        layout.addWidget(self.remembered)
        layout.addWidget(self._stack)
        layout.addWidget(self.access)
        layout.addWidget(self.remember_box)
        layout.addStretch(1)
        layout.addWidget(self._note)
        self.remembered.setVisible(False)
        self.remembered.changed.connect(self._on_changed)
        self.remember_box.toggled.connect(self._on_changed)
        self.set_registry_type("dockerhub")

    def set_registry_type(self, registry_type: str) -> None:
        self.registry_type = registry_type
        self.setSubTitle(CREDENTIAL_INTROS[registry_type])
        self._stack.setCurrentWidget(self.panels[registry_type])
        for key, panel in self.panels.items():
            panel.setEnabled(key == registry_type)  # QWizard gives focus to the first enabled input
            # The stack is as tall as its current panel, not its tallest: what follows sits right under it.
            ignored = QSizePolicy.Policy.Ignored
            panel.setSizePolicy(QSizePolicy.Policy.Preferred if key == registry_type else ignored,
                                QSizePolicy.Policy.Preferred if key == registry_type else ignored)
        self._stack.adjustSize()
        self._on_changed()

    # -- the remembered login and "Remember" ---------------------------------------------------------
    def set_host(self, host: str, remembered_user: str | None, can_remember: bool, persistent: bool = True) -> None:
        """The image's registry host, the login the keychain holds for it (username only), and
        whether the vault exists (``can_remember``) and is the real keychain (``persistent``)."""
        if host != self.host or remembered_user != self._remembered_user:
            self._remembered_secret, self._remembered_problem = None, ""
        self.host, self._remembered_user = host, remembered_user
        self.remembered.setVisible(remembered_user is not None)
        if remembered_user is not None:
            self.remembered.offer(host, remembered_user)
        where = "in the system keychain" if persistent else "for this session only (no system keychain)"
        self.remember_box.setText(f"Re&member this login for {host} ({where})")
        self.remember_box.setAccessibleName(f"Remember this login for {host}")
        self._can_remember = can_remember
        self._on_changed()

    def using_remembered(self) -> bool:
        return self._remembered_user is not None and self.remembered.use_button.isChecked()

    def set_remembered_secret(self, secret: SecretSource | None) -> None:
        """The keychain's answer for the remembered login (None: it is gone)."""
        self._remembered_secret = secret
        if secret is None:
            self._remembered_problem = f"The login for {self.host} is no longer in the keychain; enter credentials."
            self.remembered.other_button.setChecked(True)
        self._on_changed()

    def remember_wanted(self) -> bool:
        return not self.remember_box.isHidden() and self.remember_box.isChecked() and self.username() is not None \
            and self.secret() is not None

    def _on_changed(self) -> None:
        remembered = self.using_remembered()
        self._stack.setVisible(not remembered)
        self.remember_box.setVisible(getattr(self, "_can_remember", False) and not remembered
                                     and self._typed_username() is not None and self._typed_secret() is not None)
        if remembered:
            self._note.setText(self._remembered_problem or "The remembered login is read from the keychain and sent "
                               f"once, with the {self.request} request.")
        elif self.remember_wanted():
            self._note.setText(f"Sent with the {self.request} request, and kept in the keychain for {self.host}: "
                               "the next template from this registry needs no typing.")
        else:
            self._note.setText(self._remembered_problem or self.remember_note)
        self.completeChanged.emit()

    # -- values ----------------------------------------------------------------------------------------
    def panel(self) -> PairPanel | GcrPanel:
        return self.panels[self.registry_type]

    def focus_secret(self) -> None:
        """Put the cursor where the password (or key) goes: what a rebuild asks for."""
        panel = self.panel()
        if isinstance(panel, PairPanel) and panel.username():
            panel.secret_field.setFocus(Qt.FocusReason.OtherFocusReason)  # its proxy: the visible input
        else:
            panel.setFocus(Qt.FocusReason.OtherFocusReason)

    def _typed_username(self) -> str | None:
        panel = self.panel()
        return (panel.username() or None) if isinstance(panel, PairPanel) else panel.username()

    def _typed_secret(self) -> SecretSource | None:
        panel = self.panel()
        return panel.secret_field.source() if isinstance(panel, PairPanel) else panel.secret()

    def username(self) -> str | None:
        return self._remembered_user if self.using_remembered() else self._typed_username()

    def secret(self) -> SecretSource | None:
        return self._remembered_secret if self.using_remembered() else self._typed_secret()

    def secret_label(self) -> str:
        panel = self.panel()
        if self.using_remembered():
            return "Password"
        if isinstance(panel, PairPanel):
            return panel.secret_label
        return "Key file" if panel.mode() is GcrMode.KEY_FILE else "Access token"

    def secret_summary(self) -> str:
        """How the secret is given, never the secret."""
        panel, secret = self.panel(), self.secret()
        if self.using_remembered():
            return f"remembered for {self.host} (read from the keychain, hidden)"
        if secret is None:
            return "none (anonymous pull)"
        if isinstance(panel, GcrPanel) and panel.mode() is GcrMode.KEY_FILE:
            return f"{panel.key_path()} (contents hidden)"
        if isinstance(panel, GcrPanel) and panel.token_from_gcloud():
            return "from gcloud auth print-access-token (hidden; expires in about an hour)"
        return f"from ${secret.value}" if secret.kind == "env" else "typed (hidden)"

    def isComplete(self) -> bool:
        if self.using_remembered():
            return self._remembered_secret is not None
        return not self.panel().blocking()

    def validatePage(self) -> bool:
        if not self.using_remembered():
            self.panel().refresh()
        return self.isComplete()

    def clear(self) -> None:
        for panel in self.panels.values():
            panel.clear()
        self._remembered_secret = None
        self.access.clear()

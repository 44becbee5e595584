"""Add, edit and switch connection profiles; the API key field feeds the keychain, never a file.

A second tab lists the registry logins kept in the keychain (ui/registry_logins_page.py).
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.app.profiles import Profile, new_profile_id
from in10nt_desktop.app.vault_protocols import LoginsView, PreflightView
from in10nt_desktop.ui.registry_logins_page import RegistryLoginsPage

KIND_TEXT = {"local": "This computer: the local engine, started by the app when needed",
             "cloud": "The hosted In10nt service", "custom": "An In10nt-compatible server at a URL"}


class ConnectionDialog(QDialog):
    connect_requested = Signal(object, str)   # Profile, API key typed ("" = keep the stored one)
    profiles_changed = Signal(list)           # list[Profile] to save

    def __init__(self, profiles: list[Profile], active: str, keychain_note: str | None,
                 parent: QWidget | None = None, *, logins: LoginsView | None = None,
                 preflight: PreflightView | None = None) -> None:
        super().__init__(parent)
        self._logins, self._preflight = logins, preflight
        self.logins_page: RegistryLoginsPage | None = None
        self.setWindowTitle("Connections")
        self.setMinimumSize(640, 380)
        self.profiles = list(profiles)
        self._keychain_note = keychain_note
        self._build_ui()
        names = [p.name for p in self.profiles]
        self.list.setCurrentRow(names.index(active) if active in names else 0)

    def _build_ui(self) -> None:
        outer = QVBoxLayout(self)
        body = QHBoxLayout()
        left = QVBoxLayout()
        self.list = QListWidget()
        self.list.setAccessibleName("Connection profiles")
        for p in self.profiles:
            self.list.addItem(p.name)
        self.list.currentRowChanged.connect(self._show)
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("&Add")
        self.add_button.setAccessibleName("Add a custom connection")
        self.add_button.clicked.connect(self._add)
        self.remove_button = QPushButton("&Remove")
        self.remove_button.setAccessibleName("Remove this connection")
        self.remove_button.clicked.connect(self._remove)
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)
        body.addLayout(left, 2)

        form_holder = QWidget()
        form = QFormLayout(form_holder)
        self.kind = QLabel()
        self.kind.setWordWrap(True)
        form.addRow("Kind:", self.kind)
        self.name = QLineEdit()
        self.name.setAccessibleName("Profile name")
        self.name.textEdited.connect(self._edited)
        form.addRow("&Name:", self.name)
        self.url = QLineEdit()
        self.url.setAccessibleName("Server URL")
        self.url.setPlaceholderText("https://api.example.com")
        self.url.textEdited.connect(self._edited)
        form.addRow("&URL:", self.url)
        self.key = QLineEdit()
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setAccessibleName("API key")
        self.key.setPlaceholderText("leave empty to keep the stored key")
        form.addRow("API &key:", self.key)
        self.key_note = QLabel(self._keychain_note or "The key is stored in the system keychain, not in a file.")
        self.key_note.setWordWrap(True)
        self.key_note.setAccessibleName("Where the key is kept")
        form.addRow("", self.key_note)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setAccessibleName("Profile problem")
        form.addRow("", self.problem)
        body.addWidget(form_holder, 3)
        if self._logins is None:
            outer.addLayout(body, 1)
        else:
            self.tabs = QTabWidget()
            self.tabs.setAccessibleName("Connections and registry logins")
            connections = QWidget()
            connections.setLayout(body)
            self.tabs.addTab(connections, "C&onnections")
            self.logins_page = RegistryLoginsPage(self._logins, self._preflight)
            self.tabs.addTab(self.logins_page, "Registry &logins")
            outer.addWidget(self.tabs, 1)

        self.box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.connect_button = self.box.addButton("&Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.connect_button.setAccessibleName("Connect with this profile")
        self.connect_button.setDefault(True)
        self.box.accepted.connect(self._connect)
        self.box.rejected.connect(self.reject)
        outer.addWidget(self.box)

    def current(self) -> Profile | None:
        row = self.list.currentRow()
        return self.profiles[row] if 0 <= row < len(self.profiles) else None

    def _show(self, row: int) -> None:
        profile = self.current()
        if profile is None:
            return
        self.kind.setText(KIND_TEXT[profile.kind])
        self.name.setText(profile.name)
        self.url.setText(profile.base_url)
        editable = profile.kind == "custom"
        self.name.setReadOnly(not editable)
        self.url.setReadOnly(not editable)
        self.url.setEnabled(profile.kind != "local")
        self.key.setEnabled(profile.needs_api_key)
        self.key.clear()
        self.remove_button.setEnabled(editable)
        self._validate()

    def _edited(self) -> None:
        profile = self.current()
        if profile is None or profile.kind != "custom":
            return
        row = self.list.currentRow()
        self.profiles[row] = replace(profile, name=self.name.text().strip(), base_url=self.url.text().strip())
        item = self.list.item(row)
        if item is not None:
            item.setText(self.profiles[row].name or "(unnamed)")
        self._validate()

    def _validate(self) -> bool:
        profile = self.current()
        problem = ""
        if profile is not None and profile.kind == "custom":
            names = [p.name for p in self.profiles]
            if not profile.name:
                problem = "Give the connection a name."
            elif names.count(profile.name) > 1:
                problem = f"Another connection is already called {profile.name}."
            elif not profile.base_url.startswith(("http://", "https://")) or not urlsplit(profile.base_url).hostname:
                problem = "The URL must start with https:// (or http:// for a server on this computer)."
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.connect_button.setEnabled(not problem)
        return not problem

    def _add(self) -> None:
        base, n = "Custom server", 1
        names = {p.name for p in self.profiles}
        name = base
        while name in names:
            n += 1
            name = f"{base} {n}"
        self.profiles.append(Profile(name, "custom", "https://", new_profile_id()))
        self.list.addItem(name)
        self.list.setCurrentRow(len(self.profiles) - 1)
        self.url.setFocus()

    def _remove(self) -> None:
        row = self.list.currentRow()
        profile = self.current()
        if profile is None or profile.kind != "custom":
            return
        del self.profiles[row]
        self.list.takeItem(row)
        self.profiles_changed.emit(self.profiles)

    def _connect(self) -> None:
        profile = self.current()
        if profile is None or not self._validate():
            return
        self.profiles_changed.emit(self.profiles)
        self.connect_requested.emit(profile, self.key.text())
        self.accept()

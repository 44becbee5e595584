"""The connections dialog's "Registry logins" page: the logins kept in the keychain, and Docker's.

Listed by host with the username (the secret is never shown); **Test** checks an image with the
login (the image it was last used with, editable), **Forget** removes it from the keychain.
**Import from Docker…** lists what ``~/.docker/config.json`` and its credential helpers hold, host
by host; nothing is copied until the user ticks logins and presses **Import**.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.api.validation import FieldError, check_registry_fit, parse_image, registry_type_for
from in10nt_desktop.app.docker_logins import DockerLogin
from in10nt_desktop.app.preflight_service import CheckOutcome
from in10nt_desktop.app.registry_vault import LoginSummary
from in10nt_desktop.app.vault_protocols import LoginsView, PreflightView
from in10nt_desktop.ui.secret_field import FieldMessage, MessageKind

_SOURCES = {"typed": "typed in the app", "config.json": "imported from Docker's config.json"}


class RegistryLoginsPage(QWidget):
    def __init__(self, logins: LoginsView, preflight: PreflightView | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._logins = logins
        self._preflight = preflight
        self._rows: list[LoginSummary] = []
        self._found: list[DockerLogin] = []
        self._testing: tuple[str, int] | None = None  # host, request number
        self.table = QTableWidget(0, 3)
        self.test_image = QLineEdit()
        self.test_button = QPushButton("&Test")
        self.forget_button = QPushButton("&Forget")
        self.import_button = QPushButton("&Import from Docker…")
        self.message = FieldMessage()
        self.found_list = QListWidget()
        self.import_selected = QPushButton("Import &selected")
        self.keychain_note = QLabel()
        self._build_ui()
        logins.listed.connect(self._on_listed)
        logins.docker_found.connect(self._on_docker_found)
        logins.imported.connect(self._on_imported)
        logins.failed.connect(self._on_failed)  # a bound method: disconnected when this page goes
        logins.forgotten.connect(
            lambda host: self.message.set_message(MessageKind.INFO, f"Forgot the login for {host}."))
        logins.test_started.connect(self._on_test_started)
        if preflight is not None:
            preflight.checked.connect(self._on_checked)
            preflight.availability_changed.connect(self.test_button.setVisible)
        self._on_listed(sorted(logins.summaries.values(), key=lambda s: s.host))
        logins.load()


    def _on_failed(self, text: str) -> None:
        self.message.set_message(MessageKind.ERROR, text)
    def _build_ui(self) -> None:
        self.table.setHorizontalHeaderLabels(["Registry", "Username", "From"])
        self.table.setAccessibleName("Remembered registry logins")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._on_row_selected)
        self.test_image.setAccessibleName("Image to test the login with")
        self.test_image.setPlaceholderText("an image on this registry, e.g. registry.example.com/team/app:1")
        self.test_button.setAccessibleName("Test the selected login with this image")
        self.forget_button.setAccessibleName("Forget the selected login")
        self.import_button.setAccessibleName("Find the logins Docker has on this computer")
        self.found_list.setAccessibleName("Logins found in Docker's configuration")
        self.import_selected.setAccessibleName("Import the ticked logins into the keychain")
        self.keychain_note.setWordWrap(True)
        self.keychain_note.setAccessibleName("Where logins are kept")
        test_row = QHBoxLayout()
        test_label = QLabel("Test &with:")
        test_label.setBuddy(self.test_image)
        test_row.addWidget(test_label)
        test_row.addWidget(self.test_image, 1)
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.forget_button)
        import_row = QHBoxLayout()
        import_row.addWidget(self.import_button)
        import_row.addStretch(1)
        import_row.addWidget(self.import_selected)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addLayout(test_row)
        layout.addWidget(self.message)
        layout.addLayout(import_row)
        layout.addWidget(self.found_list, 1)
        layout.addWidget(self.keychain_note)
        self.found_list.setVisible(False)
        self.import_selected.setVisible(False)
        self.test_button.setVisible(self._preflight is not None and self._preflight.available is True)
        self.test_button.clicked.connect(self._on_test)
        self.forget_button.clicked.connect(self._on_forget)
        self.import_button.clicked.connect(self._on_import_clicked)
        self.import_selected.clicked.connect(self._on_import_selected)
        self.test_image.textChanged.connect(lambda _text: self._on_selection())

    # -- the remembered logins -------------------------------------------------------------------------
    def selected(self) -> LoginSummary | None:
        rows = self.table.selectionModel().selectedRows()
        return self._rows[rows[0].row()] if rows and rows[0].row() < len(self._rows) else None

    def _on_listed(self, summaries: list[LoginSummary]) -> None:
        keep = self.selected()
        self._rows = list(summaries)
        self.table.setRowCount(len(self._rows))
        for n, summary in enumerate(self._rows):
            source = _SOURCES.get(summary.source, summary.source)
            for column, text in enumerate((summary.host, summary.username, source)):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(n, column, item)
        hosts = [s.host for s in self._rows]
        if keep is not None and keep.host in hosts:
            self.table.selectRow(hosts.index(keep.host))
        elif self._rows:
            self.table.selectRow(0)
        persistent = self._logins.persistent
        self.keychain_note.setText("Logins are kept in the system keychain, one per registry host; the password is "
                                   "never shown." if persistent else
                                   (self._logins.problem or "No system keychain: logins last for this session only."))
        self._on_selection()

    def _on_row_selected(self) -> None:
        summary = self.selected()
        if summary is not None:
            self.test_image.setText(summary.last_image)
        self._on_selection()

    def _on_selection(self) -> None:
        summary = self.selected()
        self.forget_button.setEnabled(summary is not None)
        self.test_button.setEnabled(summary is not None and self._test_type(summary) is not None)

    def _test_type(self, summary: LoginSummary) -> str | None:
        """The registry type of the test image, if it is on the login's host."""
        try:
            ref = parse_image(self.test_image.text().strip())
            registry_type = registry_type_for(ref) or "private"
            check_registry_fit(ref, registry_type)
        except FieldError:
            return None
        host = ref.registry.lower()
        same = host == summary.host or (summary.host == "docker.io" and registry_type == "dockerhub")
        return registry_type if same else None

    def _on_test(self) -> None:
        summary = self.selected()
        registry_type = self._test_type(summary) if summary is not None else None
        if summary is None or registry_type is None:
            return
        self.message.set_message(MessageKind.INFO, f"Checking {self.test_image.text().strip()} as {summary.username}…")
        self._logins.test(summary.host, self.test_image.text().strip(), registry_type)

    def _on_test_started(self, host: str, number: int) -> None:
        self._testing = (host, number)

    def _on_checked(self, outcome: CheckOutcome) -> None:
        if self._testing is None or outcome.request != self._testing[1]:
            return
        self._testing = None
        self.message.set_message(MessageKind.INFO if outcome.ok else MessageKind.ERROR, outcome.text)

    def _on_forget(self) -> None:
        summary = self.selected()
        if summary is not None:
            self._logins.forget(summary.host)

    # -- Docker's logins ---------------------------------------------------------------------------------
    def _on_import_clicked(self) -> None:
        self.message.set_message(MessageKind.INFO, "Reading Docker's configuration…")
        self._logins.find_docker_logins()

    def _on_docker_found(self, found: list[DockerLogin], problems: list[str]) -> None:
        self._found = list(found)
        self.found_list.clear()
        for login in self._found:
            user = login.username or "username kept by the helper"
            item = QListWidgetItem(f"{login.host} — {user} ({login.source})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.found_list.addItem(item)
        self.found_list.setVisible(bool(self._found))
        self.import_selected.setVisible(bool(self._found))
        found_text = f"Docker has {len(self._found)} login{'s' if len(self._found) != 1 else ''}: tick the ones to " \
                     "keep, then Import selected." if self._found else "Docker has no logins this app can import."
        text = " ".join([found_text, *problems])
        self.message.set_message(MessageKind.WARNING if problems and not self._found else MessageKind.INFO, text)

    def _on_import_selected(self) -> None:
        chosen = [login for n, login in enumerate(self._found)
                  if (item := self.found_list.item(n)) is not None and item.checkState() == Qt.CheckState.Checked]
        if chosen:
            self.message.set_message(MessageKind.INFO, "Importing…")
            self._logins.import_docker(chosen)

    def _on_imported(self, hosts: list[str], problems: list[str]) -> None:
        done = f"Imported {', '.join(hosts)} into the keychain." if hosts else "Nothing was imported."
        self.message.set_message(MessageKind.ERROR if problems else MessageKind.INFO, " ".join([done, *problems]))
        if hosts:
            self.found_list.setVisible(False)
            self.import_selected.setVisible(False)

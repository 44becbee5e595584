"""The main window: tabs, actions, the message bar, and the wiring from widgets to the session."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QStyle,
    QSystemTrayIcon,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    QWizard,
)

from in10nt_desktop.api import SavedTemplate
from in10nt_desktop.api.models import InstanceData
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.log_follower import LogFollower
from in10nt_desktop.app.profiles import Profile
from in10nt_desktop.app.session import BulkResult, Session
from in10nt_desktop.app.template_rows import TemplateRow
from in10nt_desktop.ui import actions as acts
from in10nt_desktop.ui.message_bar import MessageBar
from in10nt_desktop.ui.other_pages import ListPage
from in10nt_desktop.ui.simple_tables import instances_model, saved_templates_model
from in10nt_desktop.ui.templates_page import TemplatesPage


class MainWindow(QMainWindow):
    notified = Signal(str, str)  # title, text: every desktop notification, also when no tray exists
    closed = Signal()

    def __init__(self, session: Session, settings: QSettings, icon: QIcon | None = None) -> None:
        super().__init__()
        self.session = session
        self.settings = settings
        self.setWindowTitle("In10nt Desktop")
        if icon is not None:
            self.setWindowIcon(icon)
        self.logs = LogFollower(self)
        self.wizard: QWizard | None = None
        self._finished_rows: list[TemplateRow] = []
        self._notify_timer = QTimer(self)
        self._notify_timer.setSingleShot(True)
        self._notify_timer.setInterval(300)
        self._notify_timer.timeout.connect(self._flush_notifications)
        self._build_ui()
        self.actions_ = acts.build_actions(self)
        acts.install_menus_and_toolbar(self, self.actions_)
        self._tray = self._make_tray(icon)
        self._connect_signals()
        self._restore_state()
        self._update_actions()

    # -- layout ----------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        self.message_bar = MessageBar()
        layout.addWidget(self.message_bar)
        dismiss = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        dismiss.activated.connect(self.message_bar.dismiss)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Sections")
        self.templates_page = TemplatesPage(self.session.templates)
        self.saved_page: ListPage[SavedTemplate] = ListPage(
            saved_templates_model(self), "Saved templates",
            "No saved templates yet. Snapshot an instance (Instances tab) to make one; clone it from here.")
        self.instances_page: ListPage[InstanceData] = ListPage(
            instances_model(self), "Instances",
            "No instances. Select a ready template and choose Use template to start one.")
        self.tabs.addTab(self.templates_page, "&Templates")
        self.tabs.addTab(self.saved_page, "Sa&ved templates")
        self.tabs.addTab(self.instances_page, "&Instances")
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.connection_label = QLabel()
        self.connection_label.setAccessibleName("Connection")
        self.statusBar().addPermanentWidget(self.connection_label)
        self.resize(1320, 760)  # first start: room for every column next to the details

    def _make_tray(self, icon: QIcon | None) -> QSystemTrayIcon | None:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return None  # notifications still reach the status bar and ``notified``
        tray = QSystemTrayIcon(icon or self.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon), self)
        tray.setToolTip("In10nt Desktop")
        tray.show()
        return tray

    def _connect_signals(self) -> None:
        s = self.session
        s.state_changed.connect(self._on_state)
        s.errors.reported.connect(lambda text, details: self.message_bar.show_message("error", text, details))
        s.saved_templates_loaded.connect(self.saved_page.model.set_rows)
        s.instances_loaded.connect(self.instances_page.model.set_rows)
        s.template_created.connect(self._on_created)
        s.bulk_finished.connect(self._on_bulk_finished)
        s.info.connect(lambda text: self.statusBar().showMessage(text, 8000))
        s.monitor.finished.connect(self._on_build_finished)
        self.message_bar.retry_requested.connect(s.retry)
        self.message_bar.key_requested.connect(self.ask_api_key)
        self.templates_page.selection_changed.connect(self._on_selection)
        self.templates_page.activated.connect(lambda _row: self.tabs.setCurrentIndex(0))
        self.saved_page.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.instances_page.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.tabs.currentChanged.connect(self._update_actions)
        self.logs.reset.connect(lambda _tid: self.templates_page.details.clear_log())
        self.logs.lines_added.connect(self._on_log_lines)
        self.logs.unavailable.connect(lambda _tid, text: self.templates_page.details.log.setPlaceholderText(text))

    # -- session events ----------------------------------------------------------------------------
    def _on_state(self, state: str, text: str) -> None:
        profile = self.session.profile
        where = profile.label if profile else "no connection"
        marks = {"online": "● online", "offline": "○ offline", "connecting": "… connecting", "needs_key": "! API key"}
        self.connection_label.setText(f"{where}   {marks.get(state, state)}")
        if state == "offline":
            stale = " The tables show the last data, marked stale." if len(self.session.templates) else ""
            self.message_bar.show_message("offline", text + stale)
        elif state == "needs_key":
            self.message_bar.show_message("needs_key", text)
        elif state == "online":
            if self.message_bar.kind in ("offline", "needs_key"):
                self.message_bar.dismiss()
            self.statusBar().showMessage(text, 5000)
            if self.session.client is not None:
                self.templates_page.details.base_url = self.session.client.base_url
            current = self.templates_page.current_row()  # follow the log through the new client
            self.logs.follow(self.session.client, current.template_id if current else None, force=True)
        elif state == "connecting":
            self.logs.stop()  # its client is about to close
        self._update_actions()

    def _on_created(self, row: TemplateRow) -> None:
        self.tabs.setCurrentIndex(0)
        self.templates_page.select(row.template_id)
        self.statusBar().showMessage(f"Building {row.name}…", 5000)

    def _on_build_finished(self, row: TemplateRow) -> None:
        # Gathered for a moment: builds that end together (or while offline) make one message.
        self._finished_rows.append(row)
        self._notify_timer.start()

    def _flush_notifications(self) -> None:
        rows, self._finished_rows = self._finished_rows, []
        if len(rows) > 3:
            ready = sum(1 for r in rows if r.status == "ready")
            self.notify("Builds finished", f"{ready} ready, {len(rows) - ready} failed: "
                                           + ", ".join(r.name for r in rows[:5]) + ("…" if len(rows) > 5 else ""))
            return
        for row in rows:
            if row.status == "ready":
                self.notify("Template ready", f"{row.name} is ready ({row.image}).")
            else:
                self.notify("Template failed", f"{row.name} failed: {row.error or 'no reason given'}")

    def notify(self, title: str, text: str) -> None:
        self.notified.emit(title, text)
        self.statusBar().showMessage(f"{title}: {text}", 10000)
        if self._tray is not None:
            self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)

    def _on_bulk_finished(self, what: str, result: BulkResult) -> None:
        if not result.failed:
            self.statusBar().showMessage(f"{what}: {len(result.done)} done.", 6000)
            return
        details = "\n".join(f"{name}: {why}" for name, why in result.failed)
        self.message_bar.show_message(
            "error", f"{what}: {len(result.done)} done, {len(result.failed)} failed (details list each).", details)

    def _on_selection(self, rows: list[TemplateRow]) -> None:
        current = self.templates_page.current_row()
        self.logs.follow(self.session.client, current.template_id if current else None)
        self._update_actions()

    def _on_log_lines(self, template_id: str, lines: list[str]) -> None:
        current = self.templates_page.details.row
        if current is not None and current.template_id == template_id:
            self.templates_page.details.append_log(lines)

    # -- actions ---------------------------------------------------------------------------------------
    def _update_actions(self, *_args: object) -> None:
        acts.update_enabled(self, self.actions_)

    def open_wizard(self, prefill: TemplateDraft | None = None) -> None:
        from in10nt_desktop.ui.wizard import CreateTemplateWizard  # not needed for the first paint

        base_url = self.session.client.base_url if self.session.client else ""
        self.wizard = CreateTemplateWizard(self.session.templates.names(), base_url, prefill, self)
        self.wizard.draft_ready.connect(self.session.create_template)
        self.wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.wizard.open()

    def open_connections(self) -> None:
        from in10nt_desktop.ui.connection_dialog import ConnectionDialog  # not needed for the first paint

        note = self.session.keys.problem if not self.session.keys.persistent else None
        active = self.session.profile.name if self.session.profile else ""
        dialog = ConnectionDialog(self.session.profiles.load(), active, note, self)
        dialog.profiles_changed.connect(self.session.profiles.save)
        dialog.connect_requested.connect(self._switch_profile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # its key field must not outlive it
        dialog.open()

    def _switch_profile(self, profile: Profile, key: str) -> None:
        self.logs.stop()
        if not key:
            self.session.activate(profile)
            return
        self.session.tasks.spawn(self._switch_with_key(profile, key))

    async def _switch_with_key(self, profile: Profile, key: str) -> None:
        # Keep the key first, then connect once: connecting first would ask for the key it lacks.
        persisted = await self.session.keys.set(profile.name, key)
        self.session.activate(profile)
        if not persisted:
            self.statusBar().showMessage(self.session.keys.problem or "The key is kept for this session only.",
                                         10000)

    async def _store_key(self, key: str) -> None:
        persisted = await self.session.set_api_key(key)
        if not persisted:
            self.statusBar().showMessage(self.session.keys.problem or "The key is kept for this session only.",
                                         10000)

    def ask_api_key(self) -> None:
        from in10nt_desktop.ui.dialogs import ask_text

        profile = self.session.profile
        if profile is None:
            return
        note = self.session.keys.problem or "The key is stored in the system keychain, never in a file."
        key = ask_text(self, "API key", f"API key for {profile.name}:", secret=True, note=note)
        if key:
            self.session.tasks.spawn(self._store_key(key.strip()))

    def copy_text(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage(f"Copied {text}", 4000)

    # -- state -----------------------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        header = self.settings.value("window/templates_header")
        if isinstance(header, QByteArray):
            self.templates_page.table.horizontalHeader().restoreState(header)
        splitter = self.settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.templates_page.splitter.restoreState(splitter)
        tab = str(self.settings.value("window/tab", 0))
        self.tabs.setCurrentIndex(int(tab) if tab.isdigit() else 0)

    def save_state(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/templates_header", self.templates_page.table.horizontalHeader().saveState())
        self.settings.setValue("window/splitter", self.templates_page.splitter.saveState())
        self.settings.setValue("window/tab", self.tabs.currentIndex())

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        self.logs.stop()
        if self._tray is not None:
            self._tray.hide()
        super().closeEvent(event)
        self.closed.emit()

"""The main window: tabs, actions, the message bar, and the wiring from the services to widgets.

It depends only on the ``WindowServices`` protocol (app/protocols.py): commands go out,
past-tense signals come back; it never builds an SDK call or awaits the network.

At start-up the window first paints its first frame (ui/first_frame.py) before the services
exist, and ``complete`` builds the rest: so this module imports only Qt's window classes at its
top, and the pages, actions and services' types where they are first needed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

from in10nt_desktop.ui import window_state

# Qt's other classes are imported where first used, after the first frame: the first use of each
# costs (``Qt``'s enums ~13 ms, ``QEvent``'s ~2 ms, ``QIcon`` ~2 ms), and the first frame needs none.
if TYPE_CHECKING:  # the window paints before pydantic and the services are loaded
    from PySide6.QtCore import QEvent, QSettings
    from PySide6.QtGui import QCloseEvent, QIcon, QPalette
    from PySide6.QtWidgets import QLabel, QTabWidget, QWizard

    from in10nt_desktop.api import RunResult, SavedTemplate
    from in10nt_desktop.app.drafts import TemplateDraft
    from in10nt_desktop.app.profiles import Profile
    from in10nt_desktop.app.protocols import WindowServices
    from in10nt_desktop.app.services import BulkResult
    from in10nt_desktop.app.template_rows import TemplateRow
    from in10nt_desktop.ui.actions import WindowActions
    from in10nt_desktop.ui.first_frame import FirstFrame
    from in10nt_desktop.ui.instances_page import InstancesPage
    from in10nt_desktop.ui.message_bar import MessageBar
    from in10nt_desktop.ui.notifications import Notifier
    from in10nt_desktop.ui.other_pages import ListPage
    from in10nt_desktop.ui.templates_page import TemplatesPage

# Keyed by the connection's states (app/connection.py ``ConnState``, a StrEnum: its members are these strings).
STATE_WORDS = {"online": "online", "offline": "offline", "connecting": "connecting…",
               "needs_key": "needs an API key", "engine_stopped": "engine stopped"}
# The dot's meaning colour (green works, amber waits, red is broken), tinted like the badges.
STATE_HUES = {"online": "ready", "connecting": "amber", "needs_key": "amber", "offline": "failed",
              "engine_stopped": "failed"}


def plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def state_label(where: str, state: str, palette: QPalette) -> str:
    from in10nt_desktop.ui.status_badge import dot_color

    colour = dot_color(STATE_HUES[state], palette).name()
    return f"{html.escape(where)} &nbsp;<span style='color:{colour}'>●</span> {STATE_WORDS[state]}"


class MainWindow(QMainWindow):
    notified = Signal(str, str)  # title, text: every desktop notification, also when no tray exists
    closed = Signal()

    def __init__(self, services: WindowServices | None, settings: QSettings, icon: QIcon | None = None, *,
                 cached: Sequence[TemplateRow] = ()) -> None:
        """With ``services``, the whole window. Without, its first frame (the last session's layout and
        ``cached`` rows, greyed), until ``complete`` is given the services."""
        super().__init__()
        self._first: FirstFrame | None = None
        self.settings = settings
        self.icon: QIcon | None = None
        self.setWindowTitle("In10nt Desktop")
        self.wizard: QWizard | None = None
        self._quit_decided = False
        self._close_asked = False  # closed during the first frame: done once complete
        window_state.restore_geometry(self, settings)
        if services is not None:
            self.complete(services, icon)
        else:
            from in10nt_desktop.ui.first_frame import FirstFrame

            self._first = FirstFrame(self, settings, cached)

    def complete(self, services: WindowServices, icon: QIcon | None = None) -> None:
        """Build the window's widgets and wire them to ``services`` (in place of the first frame, if shown)."""
        from in10nt_desktop.ui.actions import WindowActions
        from in10nt_desktop.ui.notifications import Notifier

        self.services = services
        if icon is not None:
            self.icon = icon
            self.setWindowIcon(icon)
        if self._first is not None:
            self._first.remove()
        self._build_ui()
        self.actions_: WindowActions = WindowActions(self, services)
        self.actions_.install()
        self.notifier: Notifier = Notifier(self, self.statusBar().showMessage, self.icon)
        self.notifier.notified.connect(self.notified)
        self._connect_signals()
        self._restore_layout()
        self._update_actions()
        if self._first is not None:
            self._first = None
            if self._close_asked:
                # On the loop's next turn: whoever called ``complete`` connects ``closed`` after it returns
                # (application._run does), and a close emitted now would reach nobody (the app kept running).
                from PySide6.QtCore import QTimer

                QTimer.singleShot(0, self, self.close)

    # -- layout ----------------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QKeySequence, QShortcut
        from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

        from in10nt_desktop.ui.instances_page import InstancesPage
        from in10nt_desktop.ui.message_bar import MessageBar
        from in10nt_desktop.ui.other_pages import ListPage
        from in10nt_desktop.ui.simple_tables import instances_model, saved_templates_model
        from in10nt_desktop.ui.templates_page import TemplatesPage

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)
        self.message_bar: MessageBar = MessageBar()
        layout.addWidget(self.message_bar)
        dismiss = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        dismiss.activated.connect(self._on_escape)
        self.tabs: QTabWidget = QTabWidget()
        self.tabs.setAccessibleName("Sections")
        self.templates_page: TemplatesPage = TemplatesPage(self.services.templates.store)
        self.saved_page: ListPage[SavedTemplate] = ListPage(
            saved_templates_model(self), "Saved templates",
            "No saved templates yet. Snapshot an instance (Instances tab) to make one; clone it from here.")
        store = self.services.templates.store

        def template_name(template_id: str) -> str | None:
            row = store.get(template_id)
            return row.name if row is not None else None

        self.instances_page: InstancesPage = InstancesPage(instances_model(self, template_name), template_name,
                                            self.services.instances.runs)
        # No Alt+letter on the tabs: those letters open the menus of the same names. Ctrl+1/2/3 switch.
        self.tabs.addTab(self.templates_page, "Templates")
        self.tabs.addTab(self.saved_page, "Saved templates")
        self.tabs.addTab(self.instances_page, "Instances")
        for number in range(3):
            switch = QShortcut(QKeySequence(f"Ctrl+{number + 1}"), self)
            switch.activated.connect(lambda n=number: self.tabs.setCurrentIndex(n))
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.connection_label: QLabel = QLabel()
        self.connection_label.setAccessibleDescription("Connection")  # its text is read, not a fixed name
        self.connection_label.setTextFormat(Qt.TextFormat.RichText)
        self.statusBar().addPermanentWidget(self.connection_label)

    def _connect_signals(self) -> None:
        from in10nt_desktop.ui.builds_follower import BuildsFollower

        s = self.services
        s.connection.state_changed.connect(self._on_state)
        # Services outlive a window: bound methods (disconnected when the window goes), never lambdas.
        s.errors.reported.connect(self._on_error_reported)
        s.saved.loaded.connect(self.saved_page.model.set_rows)
        s.instances.loaded.connect(self.instances_page.model.set_rows)
        s.templates.created.connect(self._on_created)
        s.templates.build_finished.connect(self.notifier.build_finished)
        s.templates.store.changed.connect(self.notifier.rows_changed)
        s.templates.removed_elsewhere.connect(self._on_removed_elsewhere)
        s.templates.rebuilt.connect(self._on_rebuilt)
        self._builds = BuildsFollower(self.templates_page.details, s.templates, self)
        for service in (s.templates, s.saved, s.instances):
            service.bulk_finished.connect(self._on_bulk_finished)
        s.instances.done.connect(self._on_instances_done)
        s.instances.task_started.connect(
            lambda _id, name: self.statusBar().showMessage(f"Running a task in {name}…"))
        s.instances.runs_changed.connect(self.instances_page.show_runs)
        s.instances.output_appended.connect(self.instances_page.show_output)
        self.instances_page.run_requested.connect(self.actions_["run"].trigger)
        s.instances.task_finished.connect(self._on_task_finished)
        s.key_stored.connect(self._on_key_stored)
        self.message_bar.retry_requested.connect(s.connection.retry)
        self.message_bar.start_requested.connect(s.connection.start_engine)
        self.message_bar.key_requested.connect(self.actions_["api_key"].trigger)
        self.templates_page.selection_changed.connect(self._on_selection)
        self.templates_page.activated.connect(lambda _row: self.tabs.setCurrentIndex(0))
        self.saved_page.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.instances_page.table.selectionModel().selectionChanged.connect(self._update_actions)
        self.instances_page.model.dataChanged.connect(self._update_actions)  # creating → running enables Run
        self.tabs.currentChanged.connect(self._update_actions)
        s.logs.reset.connect(self._on_log_reset)
        s.logs.lines_added.connect(self._on_log_lines)
        s.logs.unavailable.connect(self._on_log_unavailable)
        self.templates_page.set_drift(s.drift)
        # The tag moved: rebuild the same template in place (it pins the tag's new digest).
        self.templates_page.details.drift_box.recreate_requested.connect(self.actions_.rebuild)

    # -- service events ----------------------------------------------------------------------------
    def _on_error_reported(self, text: str, details: str) -> None:
        self.message_bar.show_message("error", text, details)

    def _on_rebuilt(self, row: TemplateRow) -> None:
        self.statusBar().showMessage(f"Rebuilding {row.name}…", 5000)

    def _on_instances_done(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _on_log_reset(self, _template_id: str) -> None:
        self.templates_page.details.clear_log()

    def _on_log_unavailable(self, _template_id: str, text: str) -> None:
        self.templates_page.details.log.setPlaceholderText(text)

    def _on_state(self, state: str, text: str) -> None:
        from in10nt_desktop.app.connection import ConnState

        conn = self.services.connection
        for page in (self.saved_page, self.instances_page):
            page.set_live(state == ConnState.ONLINE)
        self.connection_label.setText(state_label(conn.where, state, self.palette()))
        if state == ConnState.OFFLINE:
            stale = " The tables show the last data, marked stale." if len(self.services.templates.store) else ""
            self.message_bar.show_message("offline", text + stale)
        elif state == ConnState.ENGINE_STOPPED:
            self.message_bar.show_message("engine_stopped", text + " Start it again, or start "
                                          "`in10nt engine serve` in a terminal: the app finds it by itself.")
        elif state == ConnState.NEEDS_KEY:
            self.message_bar.show_message("needs_key", text)
        elif state == ConnState.ONLINE:
            if self.message_bar.kind in ("offline", "needs_key", "engine_stopped"):
                self.message_bar.dismiss()
            self.statusBar().showMessage(text, 5000)
            self.templates_page.details.base_url = conn.base_url
            self.templates_page.details.engine_file = conn.engine_file
            current = self.templates_page.current_row()  # follow the log through the new client
            self.services.logs.follow(current.template_id if current else None, force=True)
        self._update_actions()

    def _on_created(self, row: TemplateRow) -> None:
        self.tabs.setCurrentIndex(0)
        self.templates_page.select(row.template_id)
        self.statusBar().showMessage(f"Building {row.name}…", 5000)

    def _on_removed_elsewhere(self, template_id: str, name: str) -> None:
        self.templates_page.details.show_gone(template_id, name)
        self.statusBar().showMessage(f"Template {name} was deleted by another client.", 8000)

    def notify(self, title: str, text: str) -> None:
        self.notifier.notify(title, text)

    def _on_bulk_finished(self, what: str, result: BulkResult) -> None:
        """``what`` is the object ("template", "saved template", "instance")."""
        done, failed = result.done, result.failed
        if not failed:
            self.statusBar().showMessage(f"Deleted {plural(len(done), what)}." if len(done) != 1
                                         else f"Deleted {what} {done[0]}.", 6000)
            return
        details = "\n".join(f"{name}: {why}" for name, why in failed)
        if len(failed) == 1 and not done:
            name, why = failed[0]
            self.message_bar.show_message("error", f"Could not delete {what} {name}: {why}", details)
            return
        self.message_bar.show_message("error", f"Deleted {plural(len(done), what)}; {len(failed)} could not be "
                                               "deleted (Details lists why).", details)

    def _on_key_stored(self, persisted: bool, text: str) -> None:
        if not persisted:
            self.statusBar().showMessage(text, 10000)

    def _on_task_finished(self, _instance_id: str, name: str, result: RunResult | None) -> None:
        """The output is in the Instances tab's task pane; here only how it ended."""
        if result is None:  # it could not run: the message bar already says why
            self.statusBar().clearMessage()
            return
        if result.exit_code == 0 and not result.timed_out:
            self.statusBar().showMessage(f"Task in {name} finished (exit code 0).", 8000)
            return
        self.statusBar().clearMessage()  # "Running a task…" is over; the message bar says how it ended
        ended = "was stopped at its time limit" if result.timed_out else f"exited with code {result.exit_code}"
        where = "below" if self.tabs.currentWidget() is self.instances_page else "in the Instances tab"
        self.message_bar.show_message("error", f"The task in {name} {ended}; its output is {where}.")

    def _on_selection(self, rows: list[TemplateRow]) -> None:
        current = self.templates_page.current_row()
        self.services.logs.follow(current.template_id if current else None)
        self._update_actions()

    def _on_log_lines(self, template_id: str, lines: list[str]) -> None:
        current = self.templates_page.details.row
        if current is not None and current.template_id == template_id:
            self.templates_page.details.append_log(lines)

    # -- actions ---------------------------------------------------------------------------------------
    def _update_actions(self, *_args: object) -> None:
        self.actions_.update_enabled()

    def open_wizard(self, prefill: TemplateDraft | None = None, title: str | None = None,
                    rebuild_of: str | None = None) -> None:
        """The create wizard; with ``rebuild_of`` (a template ID) it asks only for the credentials of
        a rebuild of that same template (no second row)."""
        from PySide6.QtCore import Qt

        from in10nt_desktop.app.code_snippets import CodeTarget
        from in10nt_desktop.ui.wizard import CreateTemplateWizard  # not needed for the first paint

        s = self.services
        names = {row.name for row in s.templates.store.rows} - ({prefill.name} if prefill and rebuild_of else set())
        target = CodeTarget(s.connection.base_url, s.connection.engine_file, rebuild_of)
        self.wizard = wizard = CreateTemplateWizard(names, target, prefill, self, preflight=s.preflight,
                                                    logins=s.logins, title=title)
        if rebuild_of is not None:
            wizard.draft_ready.connect(lambda draft: s.templates.rebuild(rebuild_of, draft))
        else:
            wizard.draft_ready.connect(s.templates.create)
        wizard.login_to_remember.connect(lambda host, user, secret, image: s.logins.remember(host, user, secret, image))
        wizard.login_used.connect(s.logins.note_image)
        self.wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.wizard.open()

    def open_connections(self) -> None:
        from PySide6.QtCore import Qt

        from in10nt_desktop.ui.connection_dialog import ConnectionDialog  # not needed for the first paint

        keys = self.services.keys
        note = keys.problem if not keys.persistent else None
        profile = self.services.connection.profile
        dialog = ConnectionDialog(self.services.profiles.load(), profile.name if profile else "", note, self,
                                  logins=self.services.logins, preflight=self.services.preflight)
        dialog.profiles_changed.connect(self.services.save_profiles)
        dialog.connect_requested.connect(self._switch_profile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # its key field must not outlive it
        dialog.open()

    def _switch_profile(self, profile: Profile, key: str) -> None:
        if key:  # keep the key first, then connect once: connecting first would ask for the key it lacks
            self.services.set_api_key(key, profile)
        else:
            self.services.activate(profile)

    def _on_escape(self) -> None:
        search = self.templates_page.search
        if search.hasFocus() and search.text():
            search.clear()  # first Esc empties the search, as in every search field
        else:
            self.message_bar.dismiss()

    def copy_text(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
        self.statusBar().showMessage(f"Copied {text}", 4000)

    # -- state -----------------------------------------------------------------------------------------
    def _restore_layout(self) -> None:
        window_state.restore_header(self.templates_page.table.horizontalHeader(), self.settings)
        window_state.restore_splitter(self.templates_page.splitter, self.settings)
        self.tabs.setCurrentIndex(window_state.saved_tab(self.settings))

    def save_state(self) -> None:
        from PySide6.QtWidgets import QToolBar

        toolbar = self.findChild(QToolBar, "mainToolbar")
        page = self.templates_page
        window_state.save(self.settings, self, page.table.horizontalHeader(), page.splitter, self.tabs.currentIndex(),
                          toolbar.height() if toolbar is not None else None)

    def changeEvent(self, event: QEvent) -> None:
        from PySide6.QtCore import QEvent

        if self._first is None and event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.services.live.window_activated()
        super().changeEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._first is not None:  # the first frame: the window closes as soon as it is complete
            self._close_asked = True
            event.ignore()
            return
        building = self.services.builds_in_flight()
        if building and not self._quit_decided:
            event.ignore()  # ask first: quitting would stop the engine those builds run in
            self.actions_.questions.spawn(self._ask_quit(building), name="quit")
            return
        self.save_state()
        self.services.logs.stop()
        self.notifier.hide()
        super().closeEvent(event)
        self.closed.emit()

    async def _ask_quit(self, building: int) -> None:
        from in10nt_desktop.ui.dialogs import ask_quit_with_builds

        choice = await ask_quit_with_builds(self, building)
        if choice == "cancel":
            return
        if choice == "keep":
            self.services.keep_engine_running()
        self._quit_decided = True
        self.close()

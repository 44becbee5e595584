"""Every command of the main window as a ``QAction``: toolbar, menus, context menus and shortcuts
share one object, so a command is enabled, named and bound to a key in one place.

``WindowActions`` holds the pages and the services: an action reads the selection from a page,
asks its question (window-modal, awaited without a nested loop), re-reads what may have
changed while the user read, and hands a typed command to a service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QToolBar, QToolButton

from in10nt_desktop.app.code_snippets import draft_for_code
from in10nt_desktop.app.tasks import TaskOwner
from in10nt_desktop.ui.dialogs import ask_text, confirm_delete, confirm_stop_stalled
from in10nt_desktop.ui.status_badge import stall_reason
from in10nt_desktop.ui.window_layout import MENUS, SPECS, TOOLBAR, ActionSpec

if TYPE_CHECKING:
    from in10nt_desktop.app.protocols import WindowServices
    from in10nt_desktop.app.template_rows import TemplateRow
    from in10nt_desktop.ui.main_window import MainWindow


def _action(window: MainWindow, spec: ActionSpec) -> QAction:
    action = QAction(spec.text, window)
    action.setToolTip(spec.tip)
    action.setStatusTip(spec.tip)
    if spec.shortcut is not None:
        standard = spec.shortcut.removeprefix("std:")
        action.setShortcut(QKeySequence(spec.shortcut if standard == spec.shortcut
                                        else getattr(QKeySequence.StandardKey, standard)))
    if spec.icon is not None:
        action.setIcon(window.style().standardIcon(getattr(QStyle.StandardPixmap, spec.icon)))
    return action


class WindowActions:
    def __init__(self, window: MainWindow, services: WindowServices) -> None:
        self.w = window
        self.services = services
        self.templates_page = window.templates_page
        self.saved_page = window.saved_page
        self.instances_page = window.instances_page
        # Questions being asked: owned here (not by the connection) so a reconnect does not close them.
        self.questions = TaskOwner(lambda exc, _name: services.errors.reported.emit(str(exc), repr(exc)))
        self.a = self._build()

    def __getitem__(self, key: str) -> QAction:
        return self.a[key]

    def _build(self) -> dict[str, QAction]:
        w = self.w
        a = {key: _action(w, spec) for key, spec in SPECS.items()}
        a["new"].triggered.connect(lambda: w.open_wizard())
        a["refresh"].triggered.connect(self.services.refresh)
        a["delete"].triggered.connect(lambda: self.questions.spawn(self.delete_selected(), name="delete"))
        a["retry"].triggered.connect(self.retry_selected)
        a["use"].triggered.connect(lambda: self.questions.spawn(self.use_template(), name="use"))
        a["copy_id"].triggered.connect(self.copy_id)
        a["clone"].triggered.connect(lambda: self.questions.spawn(self.clone_saved(), name="clone"))
        a["run"].triggered.connect(lambda: self.questions.spawn(self.run_task(), name="run"))
        a["snapshot"].triggered.connect(lambda: self.questions.spawn(self.snapshot(), name="snapshot"))
        a["find"].triggered.connect(self.focus_search)
        a["connections"].triggered.connect(w.open_connections)
        a["api_key"].triggered.connect(lambda: self.questions.spawn(self.ask_api_key(), name="api_key"))
        a["quit"].triggered.connect(w.close)
        return a

    def install(self) -> None:
        """Menus, the toolbar and the tables' context menus."""
        w, a = self.w, self.a
        menu = w.menuBar()
        for title, keys in MENUS:
            submenu = menu.addMenu(title)
            for key in keys:
                if key is None:
                    submenu.addSeparator()
                else:
                    submenu.addAction(a[key])

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setAccessibleName("Main toolbar")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.setMovable(False)
        for key in TOOLBAR:
            toolbar.addAction(a[key])
        w.addToolBar(toolbar)
        # When the window is narrow Qt shows an icon-only "»" button for the actions that do not fit.
        extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
        if extension is not None:
            extension.setAccessibleName("More toolbar actions")
            extension.setToolTip("More toolbar actions")

        self.templates_page.table.addActions([a["use"], a["retry"], a["copy_id"], a["delete"]])
        self.saved_page.table.addActions([a["clone"], a["delete"]])
        self.instances_page.table.addActions([a["run"], a["snapshot"], a["delete"]])

    def update_enabled(self) -> None:
        a, s = self.a, self.services
        online = s.connection.online
        tab = self.w.tabs.currentIndex()
        rows = self.templates_page.selected_rows() if tab == 0 else []
        saved = self.saved_page.selected() if tab == 1 else []
        instances = self.instances_page.selected() if tab == 2 else []
        a["new"].setEnabled(online)
        a["delete"].setEnabled(online and bool(rows or saved or instances))
        # A build is rebuilt once it ended, or while stalled (the engine stops it first); never a healthy one.
        a["retry"].setEnabled(online and len(rows) == 1 and (rows[0].status in ("failed", "ready")
                                                              or (rows[0].building and rows[0].stalled)))
        a["use"].setEnabled(online and len(rows) == 1 and rows[0].status == "ready")
        a["copy_id"].setEnabled(len(rows) == 1)
        a["clone"].setEnabled(online and len(saved) == 1)
        running = len(instances) == 1 and instances[0].status == "running"  # not while creating or gone
        a["run"].setEnabled(online and running)
        a["snapshot"].setEnabled(online and running)
        profile = s.connection.profile
        a["api_key"].setEnabled(profile is not None and profile.needs_api_key)

    # -- the commands ------------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.w.tabs.setCurrentIndex(0)
        self.templates_page.search.setFocus()
        self.templates_page.search.selectAll()

    async def delete_selected(self) -> None:
        tab = self.w.tabs.currentIndex()
        if tab == 0:
            rows = self.templates_page.selected_rows()
            if rows and await confirm_delete(self.w, "template", [f"{r.name}  ({r.image}, {r.status})"
                                                                  for r in rows]):
                self.services.templates.delete(r.template_id for r in rows)
        elif tab == 1:
            names = [s.name for s in self.saved_page.selected()]
            if names and await confirm_delete(self.w, "saved template", names):
                self.services.saved.delete(names)
        else:
            instances = self.instances_page.selected()
            if instances and await confirm_delete(self.w, "instance", [i.name for i in instances]):
                self.services.instances.delete((i.instance_id, i.name) for i in instances)

    def retry_selected(self) -> None:
        """Rebuild the same template (same ID, a new build in its history). The credentials are
        asked again only when its last build had them — the engine never keeps a password."""
        rows = self.templates_page.selected_rows()
        if len(rows) == 1:
            self.rebuild(rows[0])

    def rebuild(self, row: TemplateRow) -> None:
        if row.needs_credentials:  # every row has it: False unless its last build had a login
            self.w.open_wizard(draft_for_code(row.data), rebuild_of=row.template_id)
        elif row.building and row.stalled:  # the engine stops it first: asked (the wizard asks the others)
            self.questions.spawn(self._rebuild_stalled(row), name="rebuild")
        else:
            self.services.templates.rebuild(row.template_id)

    async def _rebuild_stalled(self, row: TemplateRow) -> None:
        if not await confirm_stop_stalled(self.w, row.name, stall_reason(row.stalled_reason)):
            return
        now = self.services.templates.store.get(row.template_id)  # the world moved while the user read
        if now is None:
            return
        if now.building and not now.stalled:
            self.w.statusBar().showMessage(f"{now.name} is receiving data again: its build goes on.", 8000)
            return
        if now.status == "ready":  # nothing left to stop: a second build is not what was asked
            self.w.statusBar().showMessage(f"{now.name} finished building meanwhile: nothing to rebuild.", 8000)
            return
        self.services.templates.rebuild(now.template_id)

    async def use_template(self) -> None:
        rows = self.templates_page.selected_rows()
        if len(rows) != 1:
            return
        row = rows[0]
        name = await ask_text(self.w, "Use template", f"Name of the new instance from {row.name}:",
                              initial=f"{row.name}-1", check_as_name=True)
        if name:  # even if the row went meanwhile: the server's "not found" says so, and the row goes
            self.services.instances.create(name, row.template_id)

    def copy_id(self) -> None:
        rows = self.templates_page.selected_rows()
        if len(rows) == 1:
            self.w.copy_text(rows[0].template_id)

    async def clone_saved(self) -> None:
        saved = self.saved_page.selected()
        if len(saved) != 1:
            return
        source = saved[0].name
        name = await ask_text(self.w, "Clone saved template", f"Name of the new instance from {source}:",
                              initial=f"{source}-clone", check_as_name=True)
        if name:
            self.services.instances.clone(source, name)

    async def run_task(self) -> None:
        instances = self.instances_page.selected()
        if len(instances) != 1:
            return
        inst = instances[0]
        task = await ask_text(self.w, "Run task", f"Task for {inst.name}:", multiline=True,
                              note="On this computer a task is a shell command run with sh -c in the instance; "
                                   "the hosted service runs an agent instead.")
        if task:
            self.services.instances.run(inst.instance_id, inst.name, task)

    async def snapshot(self) -> None:
        instances = self.instances_page.selected()
        if len(instances) != 1:
            return
        inst = instances[0]
        name = await ask_text(self.w, "Snapshot", f"Name of the saved template made from {inst.name}:",
                              initial=f"{inst.name}-snapshot", check_as_name=True)
        if name:
            self.services.instances.snapshot(inst.instance_id, inst.name, name)

    async def ask_api_key(self) -> None:
        profile = self.services.connection.profile
        if profile is None or not profile.needs_api_key:
            return
        keys = self.services.keys
        note = keys.problem or "The key is stored in the system keychain, never in a file."
        key = await ask_text(self.w, "API key", f"API key for {profile.name}:", secret=True, note=note)
        # Re-read: the user may have switched connection while the question was open.
        if key and self.services.connection.profile == profile:
            self.services.set_api_key(key.strip(), profile)

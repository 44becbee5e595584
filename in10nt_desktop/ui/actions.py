"""Every command of the main window as a ``QAction``: toolbar, menus, context menus and shortcuts
share one object, so a command is enabled, named and bound to a key in one place."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QToolBar, QToolButton

from in10nt_desktop.api import In10ntClient
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.ui.dialogs import ask_text, confirm_delete

if TYPE_CHECKING:
    from in10nt_desktop.ui.main_window import MainWindow

SP = QStyle.StandardPixmap


def _action(window: MainWindow, text: str, tip: str,
            shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
            icon: QStyle.StandardPixmap | None = None) -> QAction:
    action = QAction(text, window)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    return action


def build_actions(w: MainWindow) -> dict[str, QAction]:
    a = {
        "new": _action(w, "&New template…", "Create a template from a Docker image", QKeySequence.StandardKey.New,
                       SP.SP_FileDialogNewFolder),
        "refresh": _action(w, "&Refresh", "Reload everything from the server", QKeySequence.StandardKey.Refresh,
                           SP.SP_BrowserReload),
        "delete": _action(w, "&Delete…", "Delete the selected items", QKeySequence.StandardKey.Delete,
                          SP.SP_TrashIcon),
        "retry": _action(w, "Re&try build…", "Create the failed template again (credentials are asked again)",
                         "Ctrl+R", SP.SP_BrowserReload),
        "use": _action(w, "&Use template…", "Start an instance from the selected ready template", "Ctrl+U",
                       SP.SP_MediaPlay),
        "copy_id": _action(w, "Copy &ID", "Copy the selected template's ID", "Ctrl+Shift+C"),
        "clone": _action(w, "&Clone…", "Start a new instance from the selected saved template", "Ctrl+Shift+N",
                         SP.SP_MediaPlay),
        "run": _action(w, "Run &task…", "Run a task in the selected instance", "Ctrl+T", SP.SP_CommandLink),
        "snapshot": _action(w, "&Snapshot…", "Save the selected instance as a saved template", "Ctrl+S",
                            SP.SP_DialogSaveButton),
        "find": _action(w, "&Find", "Search templates", QKeySequence.StandardKey.Find),
        "connections": _action(w, "&Connections…", "Switch between this computer, In10nt Cloud and other servers",
                               "Ctrl+Shift+O", SP.SP_DriveNetIcon),
        "api_key": _action(w, "Enter API &key…", "Enter the API key for this connection"),
        "quit": _action(w, "&Quit", "Quit In10nt Desktop", QKeySequence.StandardKey.Quit),
    }
    a["new"].triggered.connect(lambda: w.open_wizard())
    a["refresh"].triggered.connect(w.session.refresh)
    a["delete"].triggered.connect(lambda: delete_selected(w))
    a["retry"].triggered.connect(lambda: retry_selected(w))
    a["use"].triggered.connect(lambda: use_template(w))
    a["copy_id"].triggered.connect(lambda: copy_id(w))
    a["clone"].triggered.connect(lambda: clone_saved(w))
    a["run"].triggered.connect(lambda: run_task(w))
    a["snapshot"].triggered.connect(lambda: snapshot(w))
    a["find"].triggered.connect(lambda: focus_search(w))
    a["connections"].triggered.connect(w.open_connections)
    a["api_key"].triggered.connect(w.ask_api_key)
    a["quit"].triggered.connect(w.close)
    return a


def focus_search(w: MainWindow) -> None:
    w.tabs.setCurrentIndex(0)
    w.templates_page.search.setFocus()
    w.templates_page.search.selectAll()


def install_menus_and_toolbar(w: MainWindow, a: dict[str, QAction]) -> None:
    menu = w.menuBar()
    file_menu = menu.addMenu("&File")
    for key in ("new", "connections", "api_key"):
        file_menu.addAction(a[key])
    file_menu.addSeparator()
    file_menu.addAction(a["quit"])
    edit = menu.addMenu("&Edit")
    for key in ("copy_id", "delete", "find"):
        edit.addAction(a[key])
    view = menu.addMenu("&View")
    view.addAction(a["refresh"])
    templates = menu.addMenu("&Templates")
    for key in ("new", "retry", "use", "copy_id", "delete"):
        templates.addAction(a[key])
    saved = menu.addMenu("&Saved templates")
    saved.addAction(a["clone"])
    instances = menu.addMenu("I&nstances")
    for key in ("run", "snapshot"):
        instances.addAction(a[key])

    toolbar = QToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setAccessibleName("Main toolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    toolbar.setMovable(False)
    for key in ("new", "refresh", "delete", "retry", "use", "clone", "run", "snapshot", "connections"):
        toolbar.addAction(a[key])
    w.addToolBar(toolbar)
    # When the window is narrow Qt shows an icon-only "»" button for the actions that do not fit.
    extension = toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    if extension is not None:
        extension.setAccessibleName("More toolbar actions")
        extension.setToolTip("More toolbar actions")

    w.templates_page.table.addActions([a["use"], a["retry"], a["copy_id"], a["delete"]])
    w.saved_page.table.addActions([a["clone"], a["delete"]])
    w.instances_page.table.addActions([a["run"], a["snapshot"], a["delete"]])


def update_enabled(w: MainWindow, a: dict[str, QAction]) -> None:
    online = w.session.client is not None and w.session.state == "online"
    tab = w.tabs.currentIndex()
    rows = w.templates_page.selected_rows() if tab == 0 else []
    saved = w.saved_page.selected() if tab == 1 else []
    instances = w.instances_page.selected() if tab == 2 else []
    a["new"].setEnabled(online)
    a["delete"].setEnabled(online and bool(rows or saved or instances))
    a["retry"].setEnabled(online and len(rows) == 1 and rows[0].status == "failed")
    a["use"].setEnabled(online and len(rows) == 1 and rows[0].status == "ready")
    a["copy_id"].setEnabled(len(rows) == 1)
    a["clone"].setEnabled(online and len(saved) == 1)
    a["run"].setEnabled(online and len(instances) == 1)
    a["snapshot"].setEnabled(online and len(instances) == 1)
    a["api_key"].setEnabled(w.session.profile is not None and w.session.profile.needs_api_key)


def delete_selected(w: MainWindow) -> None:
    tab = w.tabs.currentIndex()
    if tab == 0:
        rows = w.templates_page.selected_rows()
        if rows and confirm_delete(w, "template", [f"{r.name}  ({r.image}, {r.status})" for r in rows]):
            w.session.delete_templates(r.template_id for r in rows)
    elif tab == 1:
        names = [s.name for s in w.saved_page.selected()]
        if names and confirm_delete(w, "saved template", names):
            w.session.delete_saved(names)
    else:
        instances = w.instances_page.selected()
        if instances and confirm_delete(w, "instance", [i.name for i in instances]):
            for inst in instances:
                w.session.run_op(functools.partial(_delete_instance, instance_id=inst.instance_id),
                                 f"Deleting {inst.name}", reload="instances")


async def _delete_instance(client: In10ntClient, instance_id: str) -> None:
    instance = await client.instances.get(instance_id)
    await instance.delete()


def retry_selected(w: MainWindow) -> None:
    rows = w.templates_page.selected_rows()
    if len(rows) == 1:
        w.open_wizard(TemplateDraft.from_template(rows[0].data))


def use_template(w: MainWindow) -> None:
    rows = w.templates_page.selected_rows()
    if len(rows) != 1:
        return
    row = rows[0]
    name = ask_text(w, "Use template", f"Name of the new instance from {row.name}:", initial=f"{row.name}-1",
                    check_as_name=True)
    if name:
        w.session.run_op(lambda c: c.instances.create(name=name, container_template_id=row.template_id),
                         f"Creating instance {name}", reload="instances")


def copy_id(w: MainWindow) -> None:
    rows = w.templates_page.selected_rows()
    if len(rows) == 1:
        w.copy_text(rows[0].template_id)


def clone_saved(w: MainWindow) -> None:
    saved = w.saved_page.selected()
    if len(saved) != 1:
        return
    name = ask_text(w, "Clone saved template", f"Name of the new instance from {saved[0].name}:",
                    initial=f"{saved[0].name}-clone", check_as_name=True)
    if name:
        w.session.run_op(lambda c: c.instances.create_from_saved_template(template_name=saved[0].name,
                                                                          new_instance_name=name),
                         f"Cloning {saved[0].name} as {name}", reload="instances")


def run_task(w: MainWindow) -> None:
    instances = w.instances_page.selected()
    if len(instances) != 1:
        return
    inst = instances[0]
    task = ask_text(w, "Run task", f"Task for {inst.name}:", multiline=True,
                    note="On this computer a task is a shell command run with sh -c in the instance; "
                         "the hosted service runs an agent instead.")
    if not task:
        return

    async def run(client: In10ntClient) -> str:
        instance = await client.instances.get(inst.instance_id)
        result = await instance.run(task)
        w.message_bar.show_message("info", f"Task in {inst.name} finished with exit code {result.exit_code}.",
                                   result.output)
        return f"Task in {inst.name}: exit code {result.exit_code}"

    w.session.run_op(run, f"Running a task in {inst.name}")


def snapshot(w: MainWindow) -> None:
    instances = w.instances_page.selected()
    if len(instances) != 1:
        return
    inst = instances[0]
    name = ask_text(w, "Snapshot", f"Name of the saved template made from {inst.name}:",
                    initial=f"{inst.name}-snapshot", check_as_name=True)
    if not name:
        return

    async def take(client: In10ntClient) -> str:
        instance = await client.instances.get(inst.instance_id)
        saved = await instance.snapshot(name)
        return f"Saved template {saved.name} created."

    w.session.run_op(take, f"Snapshotting {inst.name}", reload="saved")

"""What the main window shows before it is built: its commands (words, keys, icons), menus,
toolbar, tabs and the templates table's columns.

One home for what both the window's first frame (ui/first_frame.py, painted before the rest of
the app is imported) and the live window (ui/actions.py, ui/templates_model.py) show, so the
first frame names the same menus, buttons and columns the user then uses. Plain data only:
importing this module costs nothing (icons and standard keys are named here and resolved where
an action is made: the first use of ``QStyle`` costs ~5 ms).
"""

from __future__ import annotations

from typing import NamedTuple


class ActionSpec(NamedTuple):
    text: str
    tip: str
    shortcut: str | None = None  # a key sequence ("Ctrl+R"), or "std:Name" for a QKeySequence.StandardKey
    icon: str | None = None      # the name of a QStyle.StandardPixmap


SPECS: dict[str, ActionSpec] = {
    "new": ActionSpec("&New template…", "Create a template from a Docker image", "std:New",
                      "SP_FileDialogNewFolder"),
    "refresh": ActionSpec("&Refresh", "Reload everything from the server", "std:Refresh", "SP_BrowserReload"),
    "delete": ActionSpec("&Delete…", "Delete the selected items", "std:Delete", "SP_TrashIcon"),
    "retry": ActionSpec("Re&build", "Build the selected template again, in place (its history keeps every build; "
                        "a stalled build is stopped first; credentials are asked again only if it used them)",
                        "Ctrl+R", "SP_BrowserReload"),
    "use": ActionSpec("&Use template…", "Start an instance from the selected ready template", "Ctrl+U",
                      "SP_MediaPlay"),
    "copy_id": ActionSpec("Copy &ID", "Copy the selected template's ID", "Ctrl+Shift+C"),
    "clone": ActionSpec("&Clone…", "Start a new instance from the selected saved template", "Ctrl+Shift+N",
                        "SP_MediaPlay"),
    "run": ActionSpec("Run &task…", "Run a task in the selected instance", "Ctrl+T", "SP_CommandLink"),
    "snapshot": ActionSpec("&Snapshot…", "Save the selected instance as a saved template", "Ctrl+S",
                           "SP_DialogSaveButton"),
    "find": ActionSpec("&Find", "Search templates", "std:Find"),
    "connections": ActionSpec("&Connections…", "Switch between this computer, In10nt Cloud and other servers",
                              "Ctrl+Shift+O", "SP_DriveNetIcon"),
    "api_key": ActionSpec("Enter API &key…", "Enter the API key for this connection"),
    "quit": ActionSpec("&Quit", "Quit In10nt Desktop", "Ctrl+Q"),  # the platform theme may bind none
}

# Menu titles and their actions (None: a separator), in menu-bar order.
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    ("&File", ("new", "connections", "api_key", None, "quit")),
    ("&Edit", ("copy_id", "delete", "find")),
    ("&View", ("refresh",)),
    ("&Templates", ("new", "retry", "use", "copy_id", "delete")),
    ("&Saved templates", ("clone",)),
    ("&Instances", ("run", "snapshot")),
)
TOOLBAR = ("new", "refresh", "delete", "retry", "use", "clone", "run", "snapshot", "connections")
TAB_TITLES = ("Templates", "Saved templates", "Instances")
SEARCH_HINT = "Search name, image or ID  (Ctrl+F)"
# The templates table's columns, in order (templates_model.Column numbers them).
COLUMN_TITLES = ("Name", "Image", "Registry", "Status", "Size", "Created", "Template ID")
COLUMN_WIDTHS = (150, None, 82, 175, 78, 96, 150)  # the first start's; None: the column takes the room left

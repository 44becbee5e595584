"""What the main window keeps between sessions, in ``QSettings``: one home for its keys and rules.

Read twice at start-up (by the first frame, ui/first_frame.py, and by the live window) and written
once at quit. Light on purpose: the first frame reads it before the rest of the app is imported.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHeaderView, QMainWindow, QSplitter

from in10nt_desktop.ui.window_geometry import first_geometry, kept_on_screen
from in10nt_desktop.ui.window_layout import COLUMN_TITLES

GEOMETRY = "window/geometry"
HEADER = "window/templates_header"    # the templates table's column widths and sort
COLUMNS = "window/templates_columns"  # the column titles that header was saved with
SPLITTER = "window/splitter"          # table | details
TAB = "window/tab"
TOOLBAR_HEIGHT = "window/toolbar_height"  # the live toolbar's (with icons): the first frame's takes it


def restore_geometry(window: QMainWindow, settings: QSettings) -> None:
    """The last place and size, kept on the screen it opens on; the first time, a size that fits."""
    geometry = settings.value(GEOMETRY)
    screen = (window.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    if isinstance(geometry, QByteArray) and window.restoreGeometry(geometry):
        window.setGeometry(kept_on_screen(window.geometry(), screen))
    else:
        window.setGeometry(first_geometry(screen))


def restore_header(header: QHeaderView, settings: QSettings) -> bool:
    """The templates table's widths and sort. A layout saved by a version with other columns would move
    widths and the sort to the wrong ones (Qt restores by position): it is dropped, and False returned."""
    state = settings.value(HEADER)
    return (isinstance(state, QByteArray) and settings.value(COLUMNS) == ",".join(COLUMN_TITLES)
            and header.restoreState(state))


def restore_splitter(splitter: QSplitter, settings: QSettings) -> bool:
    state = settings.value(SPLITTER)
    return isinstance(state, QByteArray) and splitter.restoreState(state)


def saved_tab(settings: QSettings) -> int:
    tab = str(settings.value(TAB, 0))
    return int(tab) if tab.isdigit() else 0


def saved_toolbar_height(settings: QSettings) -> int | None:
    height = str(settings.value(TOOLBAR_HEIGHT, ""))
    return int(height) if height.isdigit() else None


def save(settings: QSettings, window: QMainWindow, header: QHeaderView, splitter: QSplitter, tab: int,
         toolbar_height: int | None) -> None:
    settings.setValue(GEOMETRY, window.saveGeometry())
    settings.setValue(HEADER, header.saveState())
    settings.setValue(COLUMNS, ",".join(COLUMN_TITLES))
    settings.setValue(SPLITTER, splitter.saveState())
    settings.setValue(TAB, tab)
    if toolbar_height is not None:
        settings.setValue(TOOLBAR_HEIGHT, toolbar_height)

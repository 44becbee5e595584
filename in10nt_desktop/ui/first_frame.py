"""The window's first frame: the last session's layout and rows, painted before the rest of the app loads.

Start-up shows this as soon as Qt is up: the menus and toolbar with their real words (disabled:
nothing can be done yet), the three tabs, the search row, and the templates table with the last
session's rows in its saved column layout and splitter, greyed (stale until the server answers),
and "Connecting…" in the status bar. ``MainWindow.complete`` then builds the real widgets in its
place, in the same top-level window, once the services are imported (~150 ms later here, a few
hundred ms on a slow laptop).

Plain widgets on purpose. The first use of a Qt class family has a price: ``Qt``'s enums ~13 ms,
``QStyle``'s ~5 ms on this machine, where a bare window paints in ~90 ms; this module touches
neither (so no icons and no text alignment here), nor asyncio, httpx, pydantic or the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from in10nt_desktop.text_formats import human_size, relative_age
from in10nt_desktop.ui import window_state
from in10nt_desktop.ui.window_layout import COLUMN_TITLES, COLUMN_WIDTHS, MENUS, SEARCH_HINT, SPECS, TAB_TITLES, TOOLBAR

if TYPE_CHECKING:
    from in10nt_desktop.app.template_row import TemplateRow

CONNECTING = "Connecting…"
FIRST_ROWS = 60  # a screenful on the tallest screens (~28 px a row); each row is 7 items to make (~25 µs)


def plain(text: str) -> str:
    """An action's words without the mnemonic's ampersand."""
    return text.replace("&", "")


def cells(row: TemplateRow, now: datetime) -> tuple[str, ...]:
    """One row as the first frame shows it: the live table's words, without badges."""
    when = row.created_at
    size = human_size(row.size_bytes) if row.size_bytes is not None else ""
    return (row.name, row.image, row.registry_type, row.status, size, relative_age(when, now) if when else "",
            row.template_id)


class FirstFrame:
    """Placeholders on ``window``; ``remove`` takes the ones the real widgets do not replace by themselves."""

    def __init__(self, window: QMainWindow, settings: QSettings, rows: Sequence[TemplateRow]) -> None:
        self.window = window
        for title, keys in MENUS:
            menu = window.menuBar().addMenu(title)
            for key in keys:
                if key is None:
                    menu.addSeparator()
                else:
                    menu.addAction(SPECS[key].text).setEnabled(False)
        self.toolbar = QToolBar("Main")
        self.toolbar.setMovable(False)
        for key in TOOLBAR:
            self.toolbar.addAction(plain(SPECS[key].text).rstrip("…")).setEnabled(False)
        height = window_state.saved_toolbar_height(settings)
        if height is not None:
            self.toolbar.setMinimumHeight(height)  # the live toolbar's (it has icons): nothing moves after
        window.addToolBar(self.toolbar)
        self.status = QLabel(CONNECTING)
        window.statusBar().addPermanentWidget(self.status)
        window.setCentralWidget(self._central(settings, rows))

    def _central(self, settings: QSettings, rows: Sequence[TemplateRow]) -> QWidget:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 6, 8, 4)  # as the live window's
        tabs = QTabWidget()
        page = QWidget()
        for number, title in enumerate(TAB_TITLES):
            tabs.addTab(page if number == 0 else QWidget(), title)
        column = QVBoxLayout(page)
        column.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        search = QLineEdit()
        search.setPlaceholderText(SEARCH_HINT)
        search.setEnabled(False)
        bar.addWidget(search, 1)
        status_filter = QComboBox()
        status_filter.addItem("All statuses")
        status_filter.setEnabled(False)
        bar.addWidget(QLabel("Status:"))
        bar.addWidget(status_filter)
        column.addLayout(bar)
        splitter = QSplitter()
        splitter.addWidget(self._table(settings, rows))
        splitter.addWidget(QWidget())  # where the details panel goes
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        if not window_state.restore_splitter(splitter, settings):
            splitter.setSizes([880, 440])
        column.addWidget(splitter, 1)
        layout.addWidget(tabs, 1)
        return central

    def _table(self, settings: QSettings, rows: Sequence[TemplateRow]) -> QTableWidget:
        rows = rows[:FIRST_ROWS]
        table = QTableWidget(len(rows), len(COLUMN_TITLES))
        table.setAccessibleName("Templates (last session's, not yet confirmed)")
        table.setHorizontalHeaderLabels(list(COLUMN_TITLES))
        table.verticalHeader().hide()
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 14)
        table.setAlternatingRowColors(True)
        table.setWordWrap(False)
        now = datetime.now(UTC)
        for number, row in enumerate(rows):
            for col, text in enumerate(cells(row, now)):
                table.setItem(number, col, QTableWidgetItem(text))
        header = table.horizontalHeader()
        if not window_state.restore_header(header, settings):
            for col, width in enumerate(COLUMN_WIDTHS):
                header.resizeSection(col, width or 300)  # the live table stretches that one
        table.setEnabled(False)  # greyed: stale, and nothing can be done with a row yet
        return table

    def remove(self) -> None:
        """Menus, toolbar and status text go (the central widget is replaced, and deleted, by the window)."""
        self.window.menuBar().clear()
        self.window.removeToolBar(self.toolbar)
        self.toolbar.deleteLater()
        self.window.statusBar().removeWidget(self.status)
        self.status.deleteLater()

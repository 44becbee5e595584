"""The window's first frame (ui/first_frame.py): what a user sees before the app behind it is loaded.

It must show what the last session left (the column widths, the splitter, the first rows, greyed),
name the same menus, buttons and columns as the live window, and give way to the live window in
the same top-level window without leaving anything of itself behind.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fake_services import FakeServices, fake_window, template_data
from gui_helpers import collect_qt_garbage, ini_settings, wait_until  # noqa: F401 - autouse fixture
from PySide6.QtWidgets import QLabel, QTableWidget, QToolBar

from in10nt_desktop.app.connection import ConnState
from in10nt_desktop.app.template_row import TemplateRow
from in10nt_desktop.ui.first_frame import CONNECTING
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.templates_model import ROW_ROLE
from in10nt_desktop.ui.window_layout import COLUMN_TITLES

pytestmark = pytest.mark.asyncio


def cached_rows(*names: str) -> list[TemplateRow]:
    return [TemplateRow.from_json(template_data(name, size_bytes=2_500_000).model_dump(mode="json", by_alias=True),
                                  stale=True) for name in names]


def words(texts: list[str]) -> list[str]:
    return [t.replace("&", "").rstrip("…") for t in texts]


async def last_session(tmp_path: Path) -> tuple[list[str], list[str], int, int]:
    """A session that widened the Name column and quit: its menus, toolbar words, toolbar height, Name width."""
    async with fake_window(tmp_path) as (win, _services):
        win.templates_page.table.horizontalHeader().resizeSection(0, 333)
        menus = [a.text() for a in win.menuBar().actions()]
        toolbar = win.findChild(QToolBar, "mainToolbar")
        assert toolbar is not None
        buttons = words([a.text() for a in toolbar.actions()])
        win.save_state()  # as at quit
        return menus, buttons, toolbar.height(), 333


async def test_the_first_frame_shows_the_last_session_and_the_live_window_takes_its_place(tmp_path: Path) -> None:
    menus, buttons, toolbar_height, name_width = await last_session(tmp_path)
    settings = ini_settings(tmp_path / "s.ini")
    rows = cached_rows("alpha", "beta")

    win = MainWindow(None, settings, cached=rows)
    win.show()
    table = win.findChild(QTableWidget)
    assert table is not None
    assert [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == list(COLUMN_TITLES)
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == ["alpha", "beta"]
    assert table.item(0, 3).text() == "ready" and table.item(0, 4).text() == "2.5 MB"
    assert not table.isEnabled(), "the last session's rows are greyed until the server answers"
    assert table.horizontalHeader().sectionSize(0) == name_width, "the saved column widths"
    assert [a.text() for a in win.menuBar().actions()] == menus
    placeholder = win.findChild(QToolBar)
    assert placeholder is not None and words([a.text() for a in placeholder.actions()]) == buttons
    assert not any(a.isEnabled() for a in placeholder.actions())
    assert placeholder.minimumHeight() == toolbar_height, "nothing moves when the live toolbar comes"
    assert CONNECTING in [label.text() for label in win.statusBar().findChildren(QLabel)]

    services = FakeServices()
    services.templates.store.replace_all(rows, loaded=False, stale=True)  # as Startup.complete does
    win.complete(services)  # type: ignore[arg-type]
    services.connection.go(ConnState.ONLINE, "Connected")
    await wait_until(lambda: win.findChild(QTableWidget) is None, 5, "the first frame's table stayed")
    toolbars = [t for t in win.findChildren(QToolBar) if not t.isHidden()]
    assert [t.objectName() for t in toolbars] == ["mainToolbar"]
    assert [a.text() for a in win.menuBar().actions()] == menus
    assert all(menu.menu().actions() and any(a.isEnabled() for a in menu.menu().actions())
               for menu in win.menuBar().actions() if menu.text() in ("&File", "&Edit"))
    live = win.templates_page
    assert sorted(live.model.index(r, 0).data(ROW_ROLE).name for r in range(live.model.rowCount())) == ["alpha", "beta"]
    assert live.table.horizontalHeader().sectionSize(0) == name_width
    assert CONNECTING not in [label.text() for label in win.statusBar().findChildren(QLabel)]
    win._quit_decided = True
    win.close()
    win.deleteLater()
    await asyncio.sleep(0)


async def test_closing_the_first_frame_closes_the_window_once_it_is_complete(tmp_path: Path) -> None:
    win = MainWindow(None, ini_settings(tmp_path / "s.ini"), cached=cached_rows("alpha"))
    win.show()
    win.close()
    assert win.isVisible(), "nothing to save or stop yet: the close waits for the window to be built"
    closed: list[bool] = []
    win.complete(FakeServices())  # type: ignore[arg-type]
    win.closed.connect(lambda: closed.append(True))  # after complete, as application._run connects it
    await wait_until(lambda: not win.isVisible(), 5, "the window did not close once complete")
    assert closed == [True]
    win.deleteLater()
    await asyncio.sleep(0)


async def test_a_first_start_has_an_empty_table_with_the_columns(tmp_path: Path) -> None:
    win = MainWindow(None, ini_settings(tmp_path / "s.ini"))
    win.show()
    table = win.findChild(QTableWidget)
    assert table is not None and table.rowCount() == 0
    assert [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())] == list(COLUMN_TITLES)
    win.complete(FakeServices())  # type: ignore[arg-type]
    win._quit_decided = True
    win.close()
    win.deleteLater()
    await asyncio.sleep(0)

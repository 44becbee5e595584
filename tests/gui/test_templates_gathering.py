"""While a list loads, the table gathers the pages' rows and inserts them a few times a second.

What a user would notice: the table still fills while a long load runs; once the load ends every
row is there, in order, once; a search, a sort, a status change or a deletion during the load
sees the gathered rows too; and the count beside the search box says the number without
making the window lay itself out again at every page.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from gui_helpers import collect_qt_garbage  # noqa: F401 - autouse fixture
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.ui import templates_model
from in10nt_desktop.ui.templates_model import Column, TemplatesModel
from in10nt_desktop.ui.templates_page import TemplatesPage


def rows(first: int, count: int, status: str = "ready") -> list[TemplateRow]:
    """``count`` templates numbered from ``first``; a higher number is newer (as a page of the list)."""
    return [TemplateRow.from_json({"templateId": f"tmpl_{i:06d}", "name": f"template {i:06d}", "image": "busybox:1",
                                   "status": status, "createdAt": f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:"
                                   f"{i % 60:02d}.000Z"}) for i in range(first, first + count)]


def pages(newest: int, size: int, count: int) -> list[list[TemplateRow]]:
    """The list newest first, in pages, as the loader applies them."""
    return [list(reversed(rows(newest - (n + 1) * size + 1, size))) for n in range(count)]


def names(model: TemplatesModel) -> list[str]:
    return [model.index(r, Column.NAME).data() for r in range(model.rowCount())]


@pytest.fixture
def gather_all(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every page after the first is gathered until something asks for the rows (or the load ends)."""
    monkeypatch.setattr(templates_model, "GATHER_MS", 10**9)


@pytest.fixture
def loading() -> Iterator[TemplateStore]:
    store = TemplateStore()
    store.set_loading(True)
    yield store
    store.set_loading(False)


def test_the_table_fills_while_the_load_runs_and_holds_every_row_once_when_it_ends(
        qtmodeltester, qtbot: QtBot, loading: TemplateStore) -> None:
    store = loading
    model = TemplatesModel(store)
    qtmodeltester.check(model)
    for page in pages(9_999, 1000, 4):
        store.upsert(page)
    qtbot.waitUntil(lambda: model.rowCount() == 4000)  # gathered rows reach the table while it still loads
    assert store.loading
    for page in pages(5_999, 1000, 6):
        store.upsert(page)
    store.set_loading(False)
    assert model.rowCount() == len(store) == 10_000  # the load's end: nothing left gathered
    shown = names(model)
    assert shown == [f"template {i:06d}" for i in range(9_999, -1, -1)]  # newest first, each once


def test_a_search_a_sort_and_a_position_during_the_load_see_the_gathered_rows(
        qtmodeltester, gather_all: None, loading: TemplateStore) -> None:
    store = loading
    model = TemplatesModel(store)
    qtmodeltester.check(model)
    first, second, third = pages(2_999, 1000, 3)
    store.upsert(first)
    store.upsert(second)
    assert model.rowCount() == 1000  # the second page is gathered
    model.set_search("template 0015")  # 1500..1599: all on the gathered page
    assert model.rowCount() == 100
    store.upsert(third)  # gathered again, and filtered when inserted
    model.set_search("template 0005")
    assert names(model) == [f"template {i:06d}" for i in range(599, 499, -1)]
    model.set_search("")
    store.upsert(rows(3_000, 10))  # newer rows, gathered
    model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
    assert names(model) == sorted(f"template {i:06d}" for i in range(3_010))
    store.upsert(rows(3_010, 1))
    assert model.position("tmpl_003010") is not None


def two_pages_gathered(store: TemplateStore, tester: Any) -> tuple[TemplatesModel, list[list[TemplateRow]]]:
    """A model over ``store`` (loading), checked by Qt's model tester, and two pages of 1,000 rows applied:
    the second one gathered, not yet in the table."""
    model = TemplatesModel(store)
    tester.check(model)
    both = pages(1_999, 1000, 2)
    for page in both:
        store.upsert(page)
    return model, both


def test_a_change_or_a_deletion_during_the_load_wins_over_the_gathered_row(
        qtmodeltester, gather_all: None, loading: TemplateStore) -> None:
    store = loading
    model, (_first, second) = two_pages_gathered(store, qtmodeltester)
    failed = TemplateRow.from_json({**_json(second[10]), "status": "failed", "error": "said by an event"})
    store.upsert([failed])  # an event about a gathered row
    store.remove(second[20].template_id)
    store.set_loading(False)
    assert model.rowCount() == len(store) == 1999
    assert model.row_at(model.position(failed.template_id) or 0).error == "said by an event"
    assert model.position(second[20].template_id) is None
    assert len(set(names(model))) == 1999


def test_a_reset_during_the_load_drops_nothing_and_shows_nothing_twice(
        qtmodeltester, gather_all: None, loading: TemplateStore) -> None:
    store = loading
    model, (first, second) = two_pages_gathered(store, qtmodeltester)
    store.replace_all([*first, *second])  # e.g. the connection changed: the store says everything again
    store.set_loading(False)
    assert model.rowCount() == 2000 and len(set(names(model))) == 2000


class _Layouts(QObject):
    """Counts how often the window is asked to lay itself out again."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:
            self.count += 1
        return False


def test_the_count_changing_during_a_load_does_not_lay_the_page_out_again(qtbot: QtBot) -> None:
    store = TemplateStore()
    page = TemplatesPage(store)
    window = QWidget()
    qtbot.addWidget(window)
    page.setParent(window)
    window.resize(1200, 600)
    window.show()
    store.set_loading(True)
    store.upsert(rows(0, 1000))
    layouts = _Layouts()
    QApplication.instance().installEventFilter(layouts)  # type: ignore[union-attr]

    def settled() -> bool:  # showing the window and its first rows lays it out a few times
        before = layouts.count
        QApplication.processEvents()
        return layouts.count == before

    qtbot.waitUntil(settled)
    layouts.count = 0
    for first in range(1000, 9000, 1111):  # counts whose digits differ in width
        store.upsert(rows(first, 1111))
        qtbot.wait(1)
    store.set_loading(False)
    QApplication.instance().removeEventFilter(layouts)  # type: ignore[union-attr]
    assert page.count.text() == "9,888 templates"
    assert layouts.count == 0
    store.upsert(rows(20_000, 1, status="building"))  # a longer text still fits: the label grows
    assert page.count.text() == "9,889 templates, 1 building"
    assert page.count.width() >= page.count.sizeHint().width()


def _json(row: TemplateRow) -> dict[str, object]:
    return {"templateId": row.template_id, "name": row.name, "image": row.image, "status": row.status,
            "createdAt": row.created}


def test_the_count_keeps_up_during_a_load_and_is_exact_when_it_ends(qtbot: QtBot) -> None:
    store = TemplateStore()
    page = TemplatesPage(store)
    qtbot.addWidget(page)
    store.set_loading(True)
    for first in range(0, 3000, 500):
        store.upsert(rows(first, 500))
    qtbot.waitUntil(lambda: page.count.text() == "3,000 templates")  # said again while the load runs
    store.upsert(rows(3000, 1, status="building"))
    store.set_loading(False)
    assert page.count.text() == "3,001 templates, 1 building"  # the load's end: at once


@pytest.mark.parametrize("order", [Qt.SortOrder.DescendingOrder, Qt.SortOrder.AscendingOrder])
@pytest.mark.parametrize("gaps", [10, 40])  # runs of rows between the rows shown: fewer than MAX_RUNS, then more
def test_gathered_rows_landing_between_the_rows_shown_are_put_in_order(
        qtmodeltester, gather_all: None, order: Qt.SortOrder, gaps: int) -> None:
    store = TemplateStore()
    model = TemplatesModel(store)
    qtmodeltester.check(model)
    model.sort(Column.NAME, order)
    store.upsert([r for r in rows(0, gaps * 10) if int(r.name[-6:]) % 10 == 0])
    store.set_loading(True)
    store.upsert([r for r in rows(0, gaps * 10) if int(r.name[-6:]) % 10 in (1, 2, 3)])
    store.upsert([r for r in rows(0, gaps * 10) if int(r.name[-6:]) % 10 > 3])
    store.upsert(rows(gaps * 10, 5))
    store.set_loading(False)
    expected = sorted(f"template {i:06d}" for i in range(gaps * 10 + 5))
    assert names(model) == (expected if order == Qt.SortOrder.AscendingOrder else expected[::-1])

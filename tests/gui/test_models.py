"""The templates table's model (it owns the order and the filter), as the view and the user see it.

``qtmodeltester`` (Qt's own ``QAbstractItemModelTester``) stays attached while the store goes
through every kind of change the app makes: reset, additions, removals, status ticks, merges,
sorts and filters; and on the saved-templates and instances models. The live-update tests check
what a user would notice: a status tick repaints the changed cell only and leaves the selection
and the scroll position alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from gui_helpers import (
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    template,
)
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractItemView, QTableView
from pytestqt.qtbot import QtBot

from in10nt_desktop.api import InstanceData, Progress, SavedTemplate, StatusInfo
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.ui.simple_tables import instances_model, saved_templates_model
from in10nt_desktop.ui.templates_model import ROW_ROLE, Column, TemplatesModel
from in10nt_desktop.ui.templates_page import TemplatesPage

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def sample() -> list:
    """Five templates whose columns all sort differently, so a wrong sort key shows."""
    return [
        template("tpl_c3", "Charlie", "docker.io/library/python:3.11-slim", status="ready",
                 created=T0 + timedelta(hours=2)),
        template("tpl_a1", "alpha", "ghcr.io/team/zeta:1", status="building", registry_type="private",
                 created=T0 + timedelta(hours=4)),
        template("tpl_e5", "echo", "gcr.io/proj/busybox:v1", status="failed", registry_type="gcr",
                 created=T0, error="Credentials rejected by gcr.io"),
        template("tpl_b2", "Bravo", "registry.local:5000/x/Busybox:1", status="building", registry_type="private",
                 created=T0 + timedelta(hours=1)),
        template("tpl_d4", "delta", "node:20-alpine", status="ready", created=T0 + timedelta(hours=3)),
    ]


@pytest.fixture
def store() -> TemplateStore:
    s = TemplateStore()
    s.replace_all(sample())
    return s


@pytest.fixture
def view(qtbot: QtBot, store: TemplateStore) -> Iterator[tuple[QTableView, TemplatesModel, TemplatesModel]]:
    """The table, its model, and the model again under the name the filter tests use."""
    model = TemplatesModel(store)
    table = QTableView()
    qtbot.addWidget(table)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    table.setSortingEnabled(True)
    table.resize(900, 400)
    table.show()
    yield table, model, model


def ids(proxy: TemplatesModel) -> list[str]:
    return [proxy.index(r, Column.ID).data() for r in range(proxy.rowCount())]


def column_texts(proxy: TemplatesModel, column: Column) -> list[str]:
    return [proxy.index(r, column).data() for r in range(proxy.rowCount())]


def select_id(table: QTableView, template_id: str) -> None:
    proxy = table.model()
    for r in range(proxy.rowCount()):
        if proxy.index(r, Column.ID).data() == template_id:
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            table.selectionModel().setCurrentIndex(proxy.index(r, 0), flags)
            return
    raise AssertionError(f"{template_id} is not shown")


def selected_ids(table: QTableView) -> list[str]:
    return sorted(i.data(ROW_ROLE).template_id for i in table.selectionModel().selectedRows())


def template_row(template_id: str, name: str, **kw: object) -> TemplateRow:
    return TemplateRow.from_data(template(template_id, name, **kw))  # type: ignore[arg-type]


def status(template_id: str, value: str, **kw: object) -> StatusInfo:
    return StatusInfo.model_validate({"templateId": template_id, "status": value, **kw})


# -- qtmodeltester through every kind of change --------------------------------------------------------


def test_model_stays_consistent_through_every_change(qtmodeltester, store: TemplateStore) -> None:
    model = TemplatesModel(store)
    qtmodeltester.check(model)
    assert model.rowCount() == 5 and model.columnCount() == len(Column)

    model.set_search("b")                        # a filter active during the changes below
    store.add(template("tpl_f6", "foxtrot-b", "busybox:1", status="building"))
    store.apply_status(status("tpl_a1", "ready"))
    store.apply_status(status("tpl_b2", "building", progress={"current": 10, "total": 40}))
    model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
    store.merge([*sample()[:3], template("tpl_g7", "golf", "busybox:2")], complete=True)  # 2 gone, 1 new
    model.set_status("ready")
    store.apply_status(status("tpl_c3", "failed", error="gone"))
    model.sort(Column.STATUS, Qt.SortOrder.DescendingOrder)
    store.apply_status(status("tpl_a1", "building"))
    store.set_stale(True, [r.template_id for r in store.rows])
    store.remove("tpl_e5")
    model.set_search("")
    model.set_status(None)
    store.apply_status(status("tpl_c3", "building"))  # sorted by status: the row moves
    store.upsert([template_row(f"tpl_m{i:02d}", f"many {i}", created=T0 + timedelta(minutes=i))
                  for i in range(0, 80, 2)])      # more insertion runs than one batch signals one by one
    store.remove_many([f"tpl_m{i:02d}" for i in range(0, 80, 4)])
    store.replace_all(sample())
    store.clear()
    store.replace_all(sample())

    assert model.rowCount() == 5
    assert sorted(ids(model)) == sorted(t.template_id for t in sample())


@pytest.mark.parametrize("make", [saved_templates_model, instances_model])
def test_saved_templates_and_instances_models_stay_consistent(qtmodeltester, make) -> None:  # type: ignore[no-untyped-def]
    model = make()
    qtmodeltester.check(model)
    if make is saved_templates_model:
        rows = [SavedTemplate.model_validate({"name": n, "sizeBytes": 10, "createdAt": T0.isoformat()})
                for n in ("a", "b", "c")]
        grown = [*rows, SavedTemplate.model_validate({"name": "d"})]
    else:
        rows = [InstanceData.model_validate({"instanceId": f"i{n}", "name": n, "status": "creating"})
                for n in ("a", "b", "c")]
        grown = [*rows, InstanceData.model_validate({"instanceId": "id", "name": "d"})]
    model.set_rows(rows)
    model.set_rows([r.model_copy(update={"status": "running"}) if hasattr(r, "status") else r for r in rows])
    model.set_rows(grown)
    model.set_rows(grown[1:])
    model.set_rows([])
    assert model.rowCount() == 0


def test_data_roles_give_text_row_tooltip_and_accessible_text(store: TemplateStore) -> None:
    model = TemplatesModel(store)
    pos = model.position("tpl_e5")
    assert pos is not None
    assert [model.index(pos, c).data() for c in (Column.NAME, Column.IMAGE, Column.REGISTRY, Column.STATUS,
                                                 Column.ID)] == ["echo", "gcr.io/proj/busybox:v1", "gcr",
                                                                 "failed", "tpl_e5"]
    created = model.index(pos, Column.CREATED)
    assert created.data() == T0.astimezone().strftime("%Y-%m-%d")  # older than 30 days: the date
    assert created.data(Qt.ItemDataRole.ToolTipRole) == f"Created {T0.astimezone():%Y-%m-%d %H:%M:%S %Z}"
    assert model.index(pos, Column.NAME).data(ROW_ROLE).template_id == "tpl_e5"
    tip = model.index(pos, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "Credentials rejected by gcr.io" in tip
    assert "Credentials rejected" in model.index(pos, Column.STATUS).data(Qt.ItemDataRole.AccessibleTextRole)
    headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in Column]
    assert headers == ["Name", "Image", "Registry", "Status", "Size", "Created", "Template ID"]


def test_size_column_reads_like_docker_images_sorts_by_bytes_and_appears_when_the_build_resolves(
        qtmodeltester, store: TemplateStore) -> None:
    store.merge([template("tpl_c3", "Charlie", "docker.io/library/python:3.11-slim", sizeBytes=48_213_504,
                          created=T0 + timedelta(hours=2)),
                 template("tpl_d4", "delta", "node:20-alpine", sizeBytes=999, created=T0 + timedelta(hours=3))],
                complete=False)
    model = TemplatesModel(store)
    qtmodeltester.check(model)
    size = model.index(model.position("tpl_c3"), Column.SIZE)
    assert size.data() == "48.2 MB"
    assert size.data(Qt.ItemDataRole.ToolTipRole).startswith("48,213,504 bytes")
    assert size.data(Qt.ItemDataRole.TextAlignmentRole) & Qt.AlignmentFlag.AlignRight
    assert model.index(model.position("tpl_d4"), Column.SIZE).data() == "999 B"
    assert model.index(model.position("tpl_a1"), Column.SIZE).data() == ""  # still building: not known yet
    # The build resolves the image: its Size cell is told, not only its badge.
    changed: list[tuple[int, int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), a.column(), b.column())))
    store.merge([template("tpl_a1", "alpha", "ghcr.io/team/zeta:1", status="ready", registry_type="private",
                          created=T0 + timedelta(hours=4), sizeBytes=5_000_000)], complete=False)
    pos = model.position("tpl_a1")
    assert model.index(pos, Column.SIZE).data() == "5.0 MB"
    assert any(row == pos and first <= Column.SIZE <= last for row, first, last in changed)

    model.sort(Column.SIZE, Qt.SortOrder.DescendingOrder)
    assert [model.row_at(r).template_id for r in range(3)] == ["tpl_c3", "tpl_a1", "tpl_d4"]
    assert model.row_at(3).size_bytes is None  # unknown sizes last


def test_created_says_how_long_ago_and_keeps_saying_it_as_minutes_pass(qtmodeltester) -> None:
    now = datetime.now(UTC)
    store = TemplateStore()
    store.replace_all([template("tpl_new", "new", created=now - timedelta(seconds=20)),
                       template("tpl_min", "minutes", created=now - timedelta(minutes=5, seconds=10)),
                       template("tpl_hrs", "hours", created=now - timedelta(hours=3, minutes=1)),
                       template("tpl_day", "yesterday", created=now - timedelta(hours=30)),
                       template("tpl_wk", "week", created=now - timedelta(days=6, hours=1))])
    model = TemplatesModel(store)
    qtmodeltester.check(model)

    def age(tid: str) -> str:
        return str(model.index(model.position(tid), Column.CREATED).data())

    assert [age(t) for t in ("tpl_new", "tpl_min", "tpl_hrs", "tpl_day", "tpl_wk")] == [
        "just now", "5 min ago", "3 h ago", "yesterday", "6 days ago"]
    told: list[tuple[int, int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: told.append((a.column(), b.column(), b.row() - a.row() + 1)))
    model.tick(now + timedelta(minutes=2))
    assert age("tpl_new") == "2 min ago" and age("tpl_min") == "7 min ago"
    assert told == [(int(Column.CREATED), int(Column.CREATED), 5)]  # the one column, every row


def test_relative_age_never_reads_negative_and_turns_into_a_date_after_a_month() -> None:
    from in10nt_desktop.text_formats import relative_age

    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert relative_age(now + timedelta(seconds=30), now) == "just now"  # a clock a little ahead
    ahead = now + timedelta(hours=2)
    assert relative_age(ahead, now) == ahead.astimezone().strftime("%Y-%m-%d")
    assert relative_age(now - timedelta(days=29, hours=23), now) == "29 days ago"
    assert relative_age(now - timedelta(days=31), now) == (now - timedelta(days=31)).astimezone().strftime("%Y-%m-%d")


# -- live updates: only the changed rows, selection and scroll position kept ---------------------------


def test_status_change_emits_data_changed_for_that_row_only_and_keeps_selection(view, store: TemplateStore) -> None:
    table, model, proxy = view
    select_id(table, "tpl_c3")
    current_before = table.currentIndex().data(ROW_ROLE).template_id
    changed: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row(), a.column(), b.column())))
    resets: list[str] = []
    model.modelReset.connect(lambda: resets.append("reset"))
    model.layoutChanged.connect(lambda *_: resets.append("layout"))

    store.apply_status(status("tpl_b2", "ready"))

    pos = model.position("tpl_b2")
    assert changed == [(pos, pos, Column.STATUS, Column.STATUS)]  # the one cell that can change
    assert resets == []
    assert selected_ids(table) == ["tpl_c3"]
    assert table.currentIndex().data(ROW_ROLE).template_id == current_before
    assert proxy.index(ids(proxy).index("tpl_b2"), Column.STATUS).data() == "ready"

    changed.clear()
    store.apply_status(status("tpl_b2", "ready"))  # the same answer again: nothing to repaint
    assert changed == []


def test_one_tick_changing_two_rows_emits_one_range_per_changed_row(store: TemplateStore) -> None:
    model = TemplatesModel(store)  # newest first
    changed: list[tuple[int, int, int]] = []
    model.dataChanged.connect(lambda a, b, *_: changed.append((a.row(), b.row())))
    fresh = sample()
    fresh[1] = template("tpl_a1", "alpha", "ghcr.io/team/zeta:1", status="ready", registry_type="private",
                        created=T0 + timedelta(hours=4))
    fresh[3] = template("tpl_b2", "Bravo", "registry.local:5000/x/Busybox:1", status="failed",
                        registry_type="private", created=T0 + timedelta(hours=1), error="no")
    transitions = store.merge(fresh, complete=True)
    assert sorted(new.template_id for _old, new in transitions) == ["tpl_a1", "tpl_b2"]
    rows = sorted([model.position("tpl_a1"), model.position("tpl_b2")])
    assert rows[0] + 1 < rows[1]  # not neighbours: two ranges of one row each
    assert sorted(changed) == [(rows[0], rows[0]), (rows[1], rows[1])]


def test_scroll_position_survives_a_status_tick(qtbot: QtBot) -> None:
    store = TemplateStore()
    store.replace_all([template(f"tpl_{i:03d}", f"t{i:03d}", status="building",
                                created=T0 + timedelta(minutes=i)) for i in range(120)])
    page = TemplatesPage(store)
    qtbot.addWidget(page)
    page.resize(1000, 300)
    page.show()
    bar = page.table.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 2)
    page.select("tpl_050")
    scrolled = bar.value()
    for i in range(0, 120, 7):  # a tick that finishes many builds, some of them on screen
        store.apply_status(status(f"tpl_{i:03d}", "ready"))
    assert bar.value() == scrolled
    assert [r.template_id for r in page.selected_rows()] == ["tpl_050"]
    assert page.details.row is not None and page.details.row.template_id == "tpl_050"


# -- search and status filter --------------------------------------------------------------------------


@pytest.mark.parametrize(("needle", "expected"), [
    ("BRAVO", ["tpl_b2"]),                       # name, any case
    ("busybox", ["tpl_b2", "tpl_e5"]),           # image (one spelled Busybox)
    ("TPL_D", ["tpl_d4"]),                       # template ID
    ("  python:3.11 ", ["tpl_c3"]),              # surrounding spaces ignored
    ("nothing-like-this", []),
])
def test_search_matches_name_image_and_id_case_insensitively(view, needle: str, expected: list[str]) -> None:
    _table, _model, proxy = view
    proxy.set_search(needle)
    assert sorted(ids(proxy)) == expected
    proxy.set_search("")
    assert proxy.rowCount() == 5


def test_status_filter_and_search_combine(view) -> None:
    _table, _model, proxy = view
    proxy.set_status("building")
    assert sorted(ids(proxy)) == ["tpl_a1", "tpl_b2"]
    proxy.set_search("zeta")
    assert ids(proxy) == ["tpl_a1"]
    proxy.set_status("failed")
    assert ids(proxy) == []
    proxy.set_search("")
    assert ids(proxy) == ["tpl_e5"]
    proxy.set_status(None)
    assert proxy.rowCount() == 5


def test_status_filter_follows_live_status_changes(view, store: TemplateStore) -> None:
    """Showing "Building": a build that finishes leaves the list; one that starts joins it."""
    _table, _model, proxy = view
    proxy.set_status("building")
    assert sorted(ids(proxy)) == ["tpl_a1", "tpl_b2"]
    store.apply_status(status("tpl_a1", "ready"))
    assert ids(proxy) == ["tpl_b2"], "a template that turned ready still shows under the Building filter"
    store.apply_status(status("tpl_d4", "building"))
    assert sorted(ids(proxy)) == ["tpl_b2", "tpl_d4"]


def test_search_finds_a_row_added_while_searching(view, store: TemplateStore) -> None:
    _table, _model, proxy = view
    proxy.set_search("zulu")
    assert ids(proxy) == []
    store.add(template("tpl_z9", "zulu", "busybox:9", status="building"))
    assert ids(proxy) == ["tpl_z9"]
    store.remove("tpl_z9")
    assert ids(proxy) == []


def test_a_batch_landing_all_over_the_table_is_inserted_in_order() -> None:
    """More insertion runs than MAX_RUNS: appended in one insertion, then put in order by one relayout."""
    store = TemplateStore()
    store.replace_all([{"templateId": f"t{i:03d}", "name": f"n{i:03d}", "image": "busybox", "status": "ready"}
                       for i in range(0, 200, 2)])
    model = TemplatesModel(store)
    model.sort(Column.NAME, Qt.SortOrder.AscendingOrder)
    store.merge([{"templateId": f"t{i:03d}", "name": f"n{i:03d}", "image": "busybox", "status": "ready"}
                 for i in range(1, 200, 4)], complete=False)
    names = [model.index(r, Column.NAME).data() for r in range(model.rowCount())]
    assert len(names) == 150 and names == sorted(names)


# -- sorting ------------------------------------------------------------------------------------------------

EXPECTED_ASCENDING = {
    Column.NAME: ["tpl_a1", "tpl_b2", "tpl_c3", "tpl_d4", "tpl_e5"],
    Column.IMAGE: ["tpl_c3", "tpl_e5", "tpl_a1", "tpl_d4", "tpl_b2"],
    Column.REGISTRY: ["tpl_c3", "tpl_d4", "tpl_e5", "tpl_a1", "tpl_b2"],  # dockerhub, gcr, private (stable)
    Column.STATUS: ["tpl_a1", "tpl_b2", "tpl_e5", "tpl_c3", "tpl_d4"],    # building, failed, ready; then name
    Column.SIZE: ["tpl_a1", "tpl_b2", "tpl_c3", "tpl_d4", "tpl_e5"],     # none known yet: by ID
    Column.CREATED: ["tpl_e5", "tpl_b2", "tpl_c3", "tpl_d4", "tpl_a1"],
    Column.ID: ["tpl_a1", "tpl_b2", "tpl_c3", "tpl_d4", "tpl_e5"],
}


@pytest.mark.parametrize("column", list(Column), ids=lambda c: c.name)
def test_sorting_by_every_column_both_ways(view, column: Column) -> None:
    table, _model, proxy = view
    table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
    got = ids(proxy)
    if column == Column.REGISTRY:  # equal keys: only the groups are defined
        assert [proxy.index(r, column).data() for r in range(5)] == ["dockerhub"] * 2 + ["gcr"] + ["private"] * 2
    else:
        assert got == EXPECTED_ASCENDING[column]
    table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    if column == Column.REGISTRY:
        assert [proxy.index(r, column).data() for r in range(5)] == ["private"] * 2 + ["gcr"] + ["dockerhub"] * 2
    else:
        assert ids(proxy) == list(reversed(EXPECTED_ASCENDING[column]))


def test_clicking_a_header_sorts_and_a_second_click_reverses(view, qtbot: QtBot) -> None:
    table, _model, proxy = view
    header = table.horizontalHeader()
    x = header.sectionViewportPosition(Column.NAME) + header.sectionSize(Column.NAME) // 2
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(x, header.height() // 2))
    first = column_texts(proxy, Column.NAME)
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(x, header.height() // 2))
    second = column_texts(proxy, Column.NAME)
    assert {tuple(first), tuple(second)} == {("alpha", "Bravo", "Charlie", "delta", "echo"),
                                             ("echo", "delta", "Charlie", "Bravo", "alpha")}
    assert header.sortIndicatorSection() == Column.NAME


def test_templates_page_shows_newest_first(qtbot: QtBot, store: TemplateStore) -> None:
    page = TemplatesPage(store)
    qtbot.addWidget(page)
    assert ids(page.proxy) == list(reversed(EXPECTED_ASCENDING[Column.CREATED]))
    header = page.table.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (Column.CREATED,
                                                                           Qt.SortOrder.DescendingOrder)
    store.add(template("tpl_n0", "newest", "busybox:1", status="building", created=T0 + timedelta(days=1)))
    assert ids(page.proxy)[0] == "tpl_n0"


def test_sorting_keeps_the_selected_template_selected(view, store: TemplateStore) -> None:
    table, _model, proxy = view
    select_id(table, "tpl_d4")
    for column in Column:
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            table.sortByColumn(column, order)
            assert selected_ids(table) == ["tpl_d4"], (column, order)
            assert table.currentIndex().data(ROW_ROLE).template_id == "tpl_d4"
    # and while sorted by status, a status tick that moves rows keeps it too
    table.sortByColumn(Column.STATUS, Qt.SortOrder.AscendingOrder)
    store.apply_status(status("tpl_d4", "building", progress={"current": 1, "total": 2}))
    assert ids(proxy)[:3] == ["tpl_a1", "tpl_b2", "tpl_d4"]
    assert selected_ids(table) == ["tpl_d4"]


def test_multi_selection_survives_sort_and_filter_narrowing(qtbot: QtBot, store: TemplateStore) -> None:
    page = TemplatesPage(store)
    qtbot.addWidget(page)
    table = page.table
    table.selectAll()
    table.sortByColumn(Column.ID, Qt.SortOrder.DescendingOrder)
    assert selected_ids(table) == sorted(t.template_id for t in sample())
    page.model.set_search("tpl_a")
    assert selected_ids(table) == ["tpl_a1"]
    assert table.model().rowCount(QModelIndex()) == 1
    page.model.set_search("")
    assert selected_ids(table) == ["tpl_a1"]  # put back by ID after the reset a search is


def test_progress_tick_updates_the_row_object(store: TemplateStore) -> None:
    model = TemplatesModel(store)
    store.apply_status(status("tpl_a1", "building", progress=Progress(current=45, total=100).model_dump()))
    pos = model.position("tpl_a1")
    row = model.index(pos, Column.STATUS).data(ROW_ROLE)
    assert row.progress == (45, 100) and row.fraction == pytest.approx(0.45)


def test_a_queue_reads_top_down_and_filters_by_running_or_queued(qtmodeltester) -> None:
    store = TemplateStore()
    store.replace_all([template("tpl_q3", "a-third", status="building", phase="queued", queuePosition=3),
                       template("tpl_run", "z-running", status="building", phase="pulling"),
                       template("tpl_q1", "b-first", status="building", phase="queued", queuePosition=1),
                       template("tpl_q2", "c-second", status="building", phase="queued", queuePosition=2),
                       template("tpl_ok", "ready-one")])
    model = TemplatesModel(store)
    qtmodeltester.check(model)
    model.sort(Column.STATUS, Qt.SortOrder.AscendingOrder)
    assert [model.row_at(r).template_id for r in range(5)] == ["tpl_run", "tpl_q1", "tpl_q2", "tpl_q3", "tpl_ok"]
    model.set_status("queued")
    assert [model.row_at(r).template_id for r in range(model.rowCount())] == ["tpl_q1", "tpl_q2", "tpl_q3"]
    # The first in line gets a slot: it leaves the Queued filter and moves up among the running.
    store.merge([template("tpl_q1", "b-first", status="building", phase="resolving")], complete=False)
    assert [model.row_at(r).template_id for r in range(model.rowCount())] == ["tpl_q2", "tpl_q3"]
    model.set_status("running")
    assert [model.row_at(r).template_id for r in range(model.rowCount())] == ["tpl_q1", "tpl_run"]
    assert store.queued_count == 2 and store.building_count == 4

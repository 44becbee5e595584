"""The Status badge: what it says, that it reads in light and dark themes, where it sits, and that
the delegate really paints it (pixels of the badge's fill appear in a rendered table)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from gui_helpers import (
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    template,
)
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPalette
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QTableView
from pytestqt.qtbot import QtBot

from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.ui.status_badge import BadgeGeometry, StatusBadgeDelegate, badge_look, elapsed_text, is_dark
from in10nt_desktop.ui.templates_model import Column, TemplatesModel
from in10nt_desktop.ui.templates_page import TemplatesPage

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _app(qapp: QApplication) -> QApplication:
    """Palettes and font metrics need the application object."""
    return qapp


def row(status: str, *, progress: tuple[int, int | None] | None = None, age: float = 63.0,
        stale: bool = False, error: str | None = None) -> TemplateRow:
    extra = {"progress": {"current": progress[0], "total": progress[1]}} if progress else {}
    r = TemplateRow.from_data(template("tpl_1", "web", status=status, created=NOW - timedelta(seconds=age),
                                       error=error, **extra))
    r.stale = stale  # the one field a row changes in place
    return r


def light_palette() -> QPalette:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    palette = app.style().standardPalette()
    assert not is_dark(palette)
    return palette


def dark_palette() -> QPalette:
    """Fusion's own dark palette (qt_fusionPalette(dark=true)), role by role."""
    window_text = QColor(240, 240, 240)
    window = QColor(50, 50, 50)
    base = window.darker(140)
    palette = QPalette()
    roles = QPalette.ColorRole
    for role, color in ((roles.WindowText, window_text), (roles.Window, window), (roles.Button, window),
                        (roles.ButtonText, window_text), (roles.Light, window.lighter(150)),
                        (roles.Dark, window.darker(150)), (roles.Mid, window.darker(130)), (roles.Text, window_text),
                        (roles.BrightText, QColor(255, 255, 255)), (roles.Base, base),
                        (roles.AlternateBase, base.lighter(120))):
        palette.setColor(role, color)
    palette.setColor(QPalette.ColorRole.Highlight, QColor(48, 140, 198))
    palette.setColor(QPalette.ColorRole.HighlightedText, window_text)
    placeholder = QColor(window_text)
    placeholder.setAlpha(128)
    palette.setColor(QPalette.ColorRole.PlaceholderText, placeholder)
    assert is_dark(palette)
    return palette


def luminance(c: QColor) -> float:
    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c.redF()) + 0.7152 * channel(c.greenF()) + 0.0722 * channel(c.blueF())


def over(fg: QColor, bg: QColor) -> QColor:
    """A translucent text colour as it lands on the fill."""
    a = fg.alphaF()
    return QColor.fromRgbF(fg.redF() * a + bg.redF() * (1 - a), fg.greenF() * a + bg.greenF() * (1 - a),
                           fg.blueF() * a + bg.blueF() * (1 - a))


def contrast(fg: QColor, bg: QColor) -> float:
    hi, lo = sorted((luminance(over(fg, bg)), luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


# -- what the badge says -------------------------------------------------------------------------------


def test_building_with_progress_shows_percentage_and_elapsed_time() -> None:
    look = badge_look(row("building", progress=(45, 100), age=63), light_palette(), now=NOW)
    assert look.text == "building · 45% · 1m 03s"
    assert look.spinner


def test_building_without_progress_shows_elapsed_time_only() -> None:
    assert badge_look(row("building", age=12), light_palette(), now=NOW).text == "building · 12s"
    assert badge_look(row("building", progress=(5, None), age=3900), light_palette(), now=NOW).text == \
        "building · 1h 05m"


def test_progress_past_the_total_is_capped_at_100_percent() -> None:
    assert badge_look(row("building", progress=(150, 100), age=0), light_palette(), now=NOW).text == \
        "building · 100% · 0s"


@pytest.mark.parametrize(("seconds", "text"), [(0, "0s"), (59.9, "59s"), (60, "1m 00s"), (3599, "59m 59s"),
                                               (3600, "1h 00m"), (-5, "0s")])
def test_elapsed_text(seconds: float, text: str) -> None:
    assert elapsed_text(seconds) == text


def test_ready_and_failed_say_so_without_spinner() -> None:
    for status in ("ready", "failed"):
        look = badge_look(row(status, error="nope" if status == "failed" else None), light_palette(), now=NOW)
        assert look.text == status
        assert not look.spinner


def test_stale_rows_say_stale_and_keep_their_status() -> None:
    for status in ("ready", "failed"):
        assert badge_look(row(status, stale=True), light_palette(), now=NOW).text == f"{status} (stale)"
    assert badge_look(row("building", stale=True, age=5), light_palette(), now=NOW).text == \
        "building · 5s (stale)"


# -- colours: readable in light and dark, and telling the states apart ---------------------------------

PALETTES = {"light": light_palette, "dark": dark_palette}
CASES = [("building", False), ("ready", False), ("failed", False),
         ("building", True), ("ready", True), ("failed", True)]


@pytest.mark.parametrize("theme", PALETTES)
@pytest.mark.parametrize(("status", "stale"), CASES)
def test_badge_text_is_readable_on_its_fill(theme: str, status: str, stale: bool) -> None:
    look = badge_look(row(status, stale=stale), PALETTES[theme](), now=NOW)
    # WCAG AA: 4.5 for text; 3 is the floor for the deliberately dimmed "stale" text.
    assert contrast(look.text_color, look.fill) >= (3.0 if stale else 4.5), (theme, status, stale)


@pytest.mark.parametrize("theme", PALETTES)
def test_ready_is_green_failed_is_red_and_both_stand_out_from_the_table(theme: str) -> None:
    palette = PALETTES[theme]()
    base = palette.color(QPalette.ColorRole.Base)
    ready = badge_look(row("ready"), palette, now=NOW).fill
    failed = badge_look(row("failed"), palette, now=NOW).fill
    building = badge_look(row("building"), palette, now=NOW).fill
    assert ready.green() > ready.red() and failed.red() > failed.green()
    for fill in (ready, failed, building):
        assert fill != base
    assert len({ready.name(), failed.name(), building.name()}) == 3


def test_colours_follow_the_palette() -> None:
    light = badge_look(row("ready"), light_palette(), now=NOW)
    dark = badge_look(row("ready"), dark_palette(), now=NOW)
    assert luminance(light.fill) > 0.5 > luminance(dark.fill)
    assert light.text_color != dark.text_color


# -- geometry -----------------------------------------------------------------------------------------------


def inside(inner: QRect, outer: QRect) -> bool:
    return (inner.left() >= outer.left() and inner.top() >= outer.top() and inner.right() <= outer.right()
            and inner.bottom() <= outer.bottom())


@pytest.mark.parametrize("width", [36, 60, 90, 175, 400])
@pytest.mark.parametrize(("status", "stale"), [("building", False), ("ready", False), ("failed", True)])
def test_geometry_keeps_text_in_the_pill_and_the_pill_in_the_cell(width: int, status: str, stale: bool) -> None:
    metrics = QFontMetrics(QFont())
    look = badge_look(row(status, progress=(45, 100), stale=stale), light_palette(), now=NOW)
    cell = QRect(100, 40, width, metrics.height() + 14)
    geo = BadgeGeometry.layout(cell, metrics, look)
    assert inside(geo.pill, cell)
    assert geo.pill.height() > 0 and geo.pill.width() > 0
    assert inside(geo.text, geo.pill) or geo.text.width() == 0
    if geo.spinner is not None:
        assert inside(geo.spinner, geo.pill), f"the spinner sticks out of a {width}px cell: {geo.spinner} {geo.pill}"
        assert geo.text.left() >= geo.spinner.right()


def test_narrowest_status_column_the_header_allows_keeps_the_spinner_in_the_pill(qtbot: QtBot) -> None:
    """A user can drag the Status column down to the header's minimum section size."""
    page = TemplatesPage(TemplateStore())
    qtbot.addWidget(page)
    width = page.table.horizontalHeader().minimumSectionSize()
    height = page.table.verticalHeader().defaultSectionSize()
    look = badge_look(row("building"), page.palette(), now=NOW)
    cell = QRect(0, 0, width, height)
    geo = BadgeGeometry.layout(cell, QFontMetrics(page.table.font()), look)
    assert inside(geo.pill, cell)
    assert geo.spinner is not None
    assert inside(geo.spinner, geo.pill), f"{width}px column: spinner {geo.spinner} outside pill {geo.pill}"


def test_wide_cell_fits_the_whole_text_and_narrow_cell_shrinks_the_pill() -> None:
    metrics = QFontMetrics(QFont())
    look = badge_look(row("building", progress=(45, 100)), light_palette(), now=NOW)
    wide = BadgeGeometry.layout(QRect(0, 0, 600, 30), metrics, look)
    assert wide.text.width() >= metrics.horizontalAdvance(look.text)
    assert metrics.elidedText(look.text, Qt.TextElideMode.ElideRight, wide.text.width()) == look.text
    narrow = BadgeGeometry.layout(QRect(0, 0, 90, 30), metrics, look)
    assert narrow.pill.width() < wide.pill.width()
    assert narrow.pill.right() <= 90 - 4
    assert wide.size_hint().width() >= wide.pill.width()


# -- the delegate paints ---------------------------------------------------------------------------------------


def near(a: QColor, b: QColor, tolerance: int = 3) -> bool:
    return abs(a.red() - b.red()) <= tolerance and abs(a.green() - b.green()) <= tolerance and \
        abs(a.blue() - b.blue()) <= tolerance


@pytest.mark.parametrize("theme", PALETTES)
def test_delegate_paints_each_badge_in_its_fill_colour(qtbot: QtBot, theme: str) -> None:
    store = TemplateStore()
    store.replace_all([
        template("tpl_b", "b", status="building", progress={"current": 1, "total": 4}, created=datetime.now(UTC)),
        template("tpl_r", "r", status="ready"),
        template("tpl_f", "f", status="failed", error="Credentials rejected by x"),
        template("tpl_s", "s", status="ready"),
    ])
    store.set_stale(True, ["tpl_s"])
    model = TemplatesModel(store)
    view = QTableView()
    qtbot.addWidget(view)
    palette = PALETTES[theme]()
    view.setPalette(palette)
    view.setModel(model)
    delegate = StatusBadgeDelegate(view)
    view.setItemDelegateForColumn(Column.STATUS, delegate)
    view.setColumnWidth(Column.STATUS, 200)
    view.verticalHeader().setDefaultSectionSize(30)
    view.resize(1100, 220)
    view.show()
    image = QImage(view.viewport().size(), QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    view.viewport().render(image)

    for r in range(model.rowCount()):
        tr = model.row_at(r)
        look = badge_look(tr, palette)
        rect = view.visualRect(model.index(r, Column.STATUS))
        hits = sum(1 for x in range(rect.left(), rect.right() + 1) for y in range(rect.top(), rect.bottom() + 1)
                   if near(image.pixelColor(x, y), look.fill))
        assert hits > 100, f"{tr.status}{' stale' if tr.stale else ''}: only {hits} pixels of {look.fill.name()}"
        # the pill's own colour stays in its column: the cell to the left shows none of it
        left = view.visualRect(model.index(r, Column.REGISTRY))
        spill = sum(1 for x in range(left.left(), left.right() + 1) for y in range(left.top(), left.bottom() + 1)
                    if near(image.pixelColor(x, y), look.fill, 1))
        assert spill == 0
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    size = delegate.sizeHint(option, model.index(0, Column.STATUS))
    assert size.width() > QFontMetrics(view.font()).horizontalAdvance("building")



# -- queued, phases, ETA and stalls (the engine's build fields) ---------------------------------------


def build_row(**fields: object) -> TemplateRow:
    return TemplateRow.from_data(template("tpl_q", "web", status="building", created=NOW - timedelta(seconds=90),
                                          **fields))


def test_a_queued_build_says_its_place_not_a_running_time() -> None:
    look = badge_look(build_row(phase="queued", queuePosition=3), light_palette(), NOW)
    assert look.text == "queued · 3rd" and not look.spinner
    assert badge_look(build_row(phase="queued", queuePosition=1), light_palette(), NOW).text == "queued · 1st"
    assert badge_look(build_row(phase="queued", queuePosition=12), light_palette(), NOW).text == "queued · 12th"


def test_a_running_build_says_its_phase_and_a_time_left_only_from_past_builds() -> None:
    started = (NOW - timedelta(seconds=10)).isoformat()
    known = badge_look(build_row(phase="pulling", startedAt=started, expectedSeconds=50.0,
                                 progress={"current": 40, "total": 100}), light_palette(), NOW)
    assert known.text == "pulling · 40% · ≈ 40s left" and known.spinner
    unknown = badge_look(build_row(phase="resolving", startedAt=started), light_palette(), NOW)
    assert unknown.text == "resolving · 10s"  # no estimate: the elapsed time, never a made-up figure
    just_started = badge_look(build_row(phase="pulling", startedAt=(NOW - timedelta(seconds=1)).isoformat(),
                                        expectedSeconds=50.0), light_palette(), NOW)
    assert just_started.text == "pulling · 1s"  # an estimate only after a few seconds

    def at(seconds: int) -> str:
        return badge_look(build_row(phase="pulling", startedAt=(NOW - timedelta(seconds=seconds)).isoformat(),
                                    expectedSeconds=20.0), light_palette(), NOW).text

    # Past the estimate: never "≈ 0s left", nor an elapsed count that looks like a restart.
    assert [at(s) for s in (19, 20, 30, 31)] == ["pulling · ≈ 1s left", "pulling · almost done",
                                                  "pulling · almost done", "pulling · longer than usual · 31s"]


def test_a_stalled_build_is_flagged_in_amber_with_the_engines_reason() -> None:
    look = badge_look(build_row(phase="pulling", startedAt=(NOW - timedelta(seconds=75)).isoformat(), stalled=True,
                                stalledReason="stalled: no data from registry 127.0.0.1:5000 for 60 s"),
                      light_palette(), NOW)
    assert look.text == "stalled · pulling · 1m 15s"
    failed = badge_look(row("failed"), light_palette(), NOW)
    assert look.border != failed.border  # a warning, not a failure


def test_a_narrow_column_drops_words_before_the_time() -> None:
    look = badge_look(build_row(phase="pulling", startedAt=(NOW - timedelta(seconds=10)).isoformat(),
                                expectedSeconds=50.0, progress={"current": 40, "total": 100}), light_palette(), NOW)
    metrics = QFontMetrics(QFont())
    assert look.fitting(metrics, 1000) == look.text
    narrow = metrics.horizontalAdvance("≈ 40s left") + 1
    assert look.fitting(metrics, narrow) == "≈ 40s left"
    assert look.fitting(metrics, metrics.horizontalAdvance("40% · ≈ 40s left") + 1) == "40% · ≈ 40s left"

"""The Status column: a badge painted by a delegate, its look decided by plain classes.

``badge_look`` (text, colours, spinner) and ``BadgeGeometry`` (where things go) need no
widget, so tests check them directly. Colours come from the palette: the badge tints its
background towards green/red/highlight by an amount that depends on whether the palette is
light or dark, and its text uses the palette's own text colour, so it reads in both themes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeySequence, QPainter, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from in10nt_desktop.app.template_rows import TemplateRow
from in10nt_desktop.text_formats import ordinal
from in10nt_desktop.ui.templates_model import ROW_ROLE

Index = QModelIndex | QPersistentModelIndex
_HUES = {"ready": 0.36, "failed": 0.0}  # green, red: the only meaning colours carry here


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightnessF() < 0.5


def elapsed_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {(seconds % 3600) // 60:02d}m"


@dataclass(frozen=True)
class BadgeLook:
    text: str
    fill: QColor
    border: QColor
    text_color: QColor
    spinner: bool
    # Shorter versions of ``text`` for a narrow column, longest first: words go before the time.
    shorter: tuple[str, ...] = ()

    def fitting(self, metrics: QFontMetrics, width: int) -> str:
        for candidate in (self.text, *self.shorter):
            if metrics.horizontalAdvance(candidate) <= width:
                return candidate
        return metrics.elidedText((self.shorter or (self.text,))[-1], Qt.TextElideMode.ElideRight, width)


def _when(value: object) -> datetime | None:
    """A row's time as the server wrote it (rows keep the JSON's value as it came), or None when it is
    not a time."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def is_queued(row: TemplateRow) -> bool:
    return row.status == "building" and row.phase == "queued"


def is_stalled(row: TemplateRow) -> bool:
    return row.status == "building" and row.stalled


def badge_texts(row: TemplateRow, now: datetime | None = None) -> tuple[str, ...]:
    """What the badge says, longest first. Never a made-up number: a percentage only from the
    engine's bytes, a time left only from past builds of the same image."""
    if row.status != "building":
        return (row.status + (" (stale)" if row.stale else ""),)
    moment = now or datetime.now(UTC)
    stale = " (stale)" if row.stale else ""
    if is_queued(row):
        place = row.queue_position
        return (f"queued · {ordinal(place)}{stale}", f"queued · {ordinal(place)}", "queued") if place \
            else (f"queued{stale}", "queued")
    started = _when(row.started_at) or row.created_at
    elapsed = elapsed_text((moment - started).total_seconds()) if started is not None else ""
    phase = row.phase or "building"
    if is_stalled(row):
        return tuple(t for t in (f"stalled · {phase} · {elapsed}{stale}", f"stalled · {elapsed}", "stalled") if t)
    percent = f"{row.fraction:.0%}" if row.fraction is not None else ""
    expected = row.expected_seconds
    left = ""
    if expected and started is not None:
        ran = (moment - started).total_seconds()
        if ran >= 3:  # a few seconds in: an estimate worth showing
            if expected - ran >= 1:
                left = f"≈ {elapsed_text(expected - ran)} left"
            elif ran <= expected * 1.5:  # past the estimate, never "≈ 0s left" nor a count that jumps back
                left = "almost done"
            else:
                left = f"longer than usual · {elapsed}"
    full = " · ".join(p for p in (phase, percent, left or elapsed) if p) + stale
    return tuple(dict.fromkeys(t for t in (full, " · ".join(p for p in (percent, left or elapsed) if p),
                                           left or elapsed, elapsed) if t))

def stall_reason(reason: str | None) -> str:
    """The engine's reason for a stall, as every place shows it: it comes as ``stalled: no data from
    registry … for 60 s``, and the tooltip, the notification and the details' label already say
    "stalled", so the prefix goes."""
    return (reason or "").removeprefix("stalled: ") or "no data from the registry"


def stall_advice() -> str:
    """What the user can do about a stall. Rebuild stops the stalled build and starts it again (the
    engine allows that only for a stalled build), so it is named with its shortcut."""
    shortcut = QKeySequence("Ctrl+R").toString(QKeySequence.SequenceFormat.NativeText)
    return f"It has not failed: wait for the registry, or Rebuild ({shortcut}) to stop it and start it again."


def stalled_tooltip(row: TemplateRow, now: datetime | None = None) -> str:
    """The Status tooltip of a stalled build: the engine's reason said once, and what the user can do."""
    phase = row.phase or "building"
    started = _when(row.started_at)
    moment = now or datetime.now(UTC)
    ran = f", {elapsed_text((moment - started).total_seconds())} in" if started is not None else ""
    return f"Build stalled while {phase}{ran}: {stall_reason(row.stalled_reason)}.\n{stall_advice()}"


def dot_color(meaning: str, palette: QPalette) -> QColor:
    """A status dot's colour: ``ready`` green, ``failed`` red, ``amber`` for waiting; readable on the
    palette's window colour in light and dark themes."""
    hue = {"amber": 0.11}.get(meaning, _HUES.get(meaning, 0.11))
    return QColor.fromHslF(hue, 0.75, 0.55 if is_dark(palette) else 0.38)


def badge_text(row: TemplateRow, now: datetime | None = None) -> str:
    return badge_texts(row, now)[0]


def badge_colors(status: str, stale: bool, palette: QPalette) -> tuple[QColor, QColor, QColor]:
    """``(fill, border, text)`` for a status under ``palette`` (also "queued" and "stalled")."""
    dark = is_dark(palette)
    base = palette.color(QPalette.ColorRole.Base)
    text_color = palette.color(QPalette.ColorRole.Text)
    hue = _HUES.get(status)
    if status == "stalled":  # a warning: amber, not the failure's red
        border = dot_color("amber", palette)
        fill = _mix(base, border, 0.45 if dark else 0.22)
    elif status == "queued":  # waiting, not working: the neutral of the palette
        fill = palette.color(QPalette.ColorRole.AlternateBase)
        border = palette.color(QPalette.ColorRole.Mid)
    elif status == "building":
        border = palette.color(QPalette.ColorRole.Highlight)
        fill = _mix(base, border, 0.35 if dark else 0.18)
    elif hue is None:
        fill = palette.color(QPalette.ColorRole.AlternateBase)
        border = palette.color(QPalette.ColorRole.Mid)
    else:
        border = QColor.fromHslF(hue, 0.65, 0.45 if dark else 0.42)
        fill = _mix(base, border, 0.45 if dark else 0.22)
    if stale:
        fill = _mix(fill, base, 0.5)
        text_color = palette.color(QPalette.ColorRole.PlaceholderText)
    return fill, border, text_color


def badge_kind(row: TemplateRow) -> str:
    """The colour family: the status, or "queued"/"stalled" for a build waiting or stuck."""
    return "queued" if is_queued(row) else "stalled" if is_stalled(row) else row.status


def badge_look(row: TemplateRow, palette: QPalette, now: datetime | None = None) -> BadgeLook:
    """What the badge says and its colours, for ``row`` under ``palette``."""
    kind = badge_kind(row)
    return _look_of(row, kind, badge_colors(kind, row.stale, palette), now)


def _look_of(row: TemplateRow, kind: str, colors: tuple[QColor, QColor, QColor],
             now: datetime | None = None) -> BadgeLook:
    texts = badge_texts(row, now)
    return BadgeLook(texts[0], *colors, spinner=kind == "building", shorter=texts[1:])


def _mix(a: QColor, b: QColor, amount: float) -> QColor:
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * amount, a.greenF() + (b.greenF() - a.greenF()) * amount,
                           a.blueF() + (b.blueF() - a.blueF()) * amount)


@dataclass(frozen=True)
class BadgeGeometry:
    """Where the pill, the spinner and the text sit inside a cell."""

    pill: QRect
    spinner: QRect | None
    text: QRect

    @classmethod
    def layout(cls, cell: QRect, metrics: QFontMetrics, look: BadgeLook, margin: int = 4) -> BadgeGeometry:
        height = min(cell.height() - 2 * 3, metrics.height() + 6)
        spinner_size = height - 6 if look.spinner else 0
        gap = 5 if look.spinner else 0
        # +2: glyph overhang and rounding would otherwise elide text that fits exactly
        width = metrics.horizontalAdvance(look.text) + 2 * 8 + spinner_size + gap + 2
        width = min(width, cell.width() - 2 * margin)
        top = cell.top() + (cell.height() - height) // 2
        pill = QRect(cell.left() + margin, top, max(0, width), height)
        # In a narrow column the spinner stays (it is what says "building" when the text is cut):
        # the insets shrink first, then the spinner, and it goes only below 6 px.
        inset = 8
        if look.spinner and pill.width() - 2 * inset < spinner_size:
            inset = max(2, (pill.width() - spinner_size) // 2)
            spinner_size = min(spinner_size, pill.width() - 2 * inset)
        spinner = None
        if look.spinner and spinner_size >= 6:
            spinner = QRect(pill.left() + inset, pill.top() + (height - spinner_size) // 2, spinner_size, spinner_size)
        else:
            spinner_size, gap = 0, 0
        text_left = pill.left() + inset + spinner_size + gap
        text_width = max(0, pill.right() - inset - text_left + 1)
        return cls(pill, spinner, QRect(min(text_left, pill.right()), pill.top(), text_width, height))

    def size_hint(self, margin: int = 4) -> QSize:
        return QSize(self.pill.width() + 2 * margin, self.pill.height() + 6)


class StatusBadgeDelegate(QStyledItemDelegate):
    """Paints the badge; knows nothing about the view beyond the option it is given."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.spin_phase = 0.0
        # Painting runs for every visible badge on every repaint: keep what only changes with
        # the palette or the font.
        self._colors: dict[tuple[str, bool, int], tuple[QColor, QColor, QColor]] = {}
        self._metrics: dict[str, QFontMetrics] = {}
        self._pixmaps: dict[tuple[object, ...], QPixmap] = {}

    def _look(self, row: TemplateRow, palette: QPalette) -> BadgeLook:
        kind = badge_kind(row)
        key = (kind, row.stale, palette.cacheKey())
        colors = self._colors.get(key)
        if colors is None:
            if len(self._colors) > 64:
                self._colors.clear()
            colors = self._colors[key] = badge_colors(kind, row.stale, palette)
        return _look_of(row, kind, colors)

    def _font_metrics(self, font: QFont) -> QFontMetrics:
        key = font.key()
        metrics = self._metrics.get(key)
        if metrics is None:
            metrics = self._metrics[key] = QFontMetrics(font)
        return metrics

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row = index.data(ROW_ROLE)
        if not isinstance(row, TemplateRow):
            super().paint(painter, option, index)
            return
        style = option.widget.style() if option.widget else None
        if style is not None:  # the selection/focus background, like every other cell
            opt = QStyleOptionViewItem(option)
            self.initStyleOption(opt, index)
            opt.text = ""
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, option.widget)
        look = self._look(row, option.palette)
        if row.building:  # it turns, or its time counts (queued and stalled too): painted afresh
            self._paint_badge(painter, option.rect, option.font, look)
            return
        # A ready or failed badge looks the same on every repaint: painted once into a pixmap, then
        # copied (~20 µs instead of ~300 µs of Python painting per visible badge per frame).
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        size = option.rect.size()
        key = (look.text, look.shorter, badge_kind(row), row.stale, size.width(), size.height(),
               option.palette.cacheKey(), option.font.key(), ratio)
        pixmap = self._pixmaps.get(key)
        if pixmap is None:
            if len(self._pixmaps) > 256:
                self._pixmaps.clear()
            pixmap = QPixmap(size * ratio)
            pixmap.setDevicePixelRatio(ratio)
            pixmap.fill(Qt.GlobalColor.transparent)
            canvas = QPainter(pixmap)
            self._paint_badge(canvas, QRect(QPoint(0, 0), size), option.font, look)
            canvas.end()
            self._pixmaps[key] = pixmap
        painter.drawPixmap(option.rect.topLeft(), pixmap)

    def _paint_badge(self, painter: QPainter, rect: QRect, font: QFont, look: BadgeLook) -> None:
        metrics = self._font_metrics(font)  # the font the text is drawn with, not the view's
        geometry = BadgeGeometry.layout(rect, metrics, look)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(look.border, 1))
        painter.setBrush(look.fill)
        radius = geometry.pill.height() / 2
        painter.drawRoundedRect(QRectF(geometry.pill).adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
        if geometry.spinner is not None:
            pen = QPen(look.border, 2)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            start = int(-self.spin_phase * 360 * 16)
            painter.drawArc(geometry.spinner, start, 270 * 16)
        painter.setPen(look.text_color)
        painter.setFont(font)
        shown = look.fitting(metrics, geometry.text.width())  # drops words before the time
        painter.drawText(geometry.text, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), shown)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        row = index.data(ROW_ROLE)
        if not isinstance(row, TemplateRow):
            return super().sizeHint(option, index)
        look = self._look(row, option.palette)
        return BadgeGeometry.layout(QRect(0, 0, 10_000, 28), self._font_metrics(option.font), look).size_hint()

    def advance(self) -> None:
        """Move the spinner on; the view repaints only the visible status cells."""
        self.spin_phase = (time.monotonic() * 1.2) % 1.0

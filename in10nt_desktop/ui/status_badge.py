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

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from in10nt_desktop.app.template_rows import TemplateRow
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


def dot_color(meaning: str, palette: QPalette) -> QColor:
    """A status dot's colour: ``ready`` green, ``failed`` red, ``amber`` for waiting; readable on the
    palette's window colour in light and dark themes."""
    hue = {"amber": 0.11}.get(meaning, _HUES.get(meaning, 0.11))
    return QColor.fromHslF(hue, 0.75, 0.55 if is_dark(palette) else 0.38)


def badge_text(row: TemplateRow, now: datetime | None = None) -> str:
    if row.status == "building":
        parts = ["building"]
        if row.fraction is not None:
            parts.append(f"{row.fraction:.0%}")
        if row.created_at is not None:
            moment = now or datetime.now(UTC)
            parts.append(elapsed_text((moment - row.created_at).total_seconds()))
        text = " · ".join(parts)
    else:
        text = row.status
    return text + " (stale)" if row.stale else text


def badge_colors(status: str, stale: bool, palette: QPalette) -> tuple[QColor, QColor, QColor]:
    """``(fill, border, text)`` for a status under ``palette``."""
    dark = is_dark(palette)
    base = palette.color(QPalette.ColorRole.Base)
    text_color = palette.color(QPalette.ColorRole.Text)
    hue = _HUES.get(status)
    if status == "building":
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


def badge_look(row: TemplateRow, palette: QPalette, now: datetime | None = None) -> BadgeLook:
    """What the badge says and its colours, for ``row`` under ``palette``."""
    fill, border, text_color = badge_colors(row.status, row.stale, palette)
    return BadgeLook(badge_text(row, now), fill, border, text_color, spinner=row.status == "building")


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

    def _look(self, row: TemplateRow, palette: QPalette) -> BadgeLook:
        key = (row.status, row.stale, palette.cacheKey())
        colors = self._colors.get(key)
        if colors is None:
            if len(self._colors) > 64:
                self._colors.clear()
            colors = self._colors[key] = badge_colors(row.status, row.stale, palette)
        return BadgeLook(badge_text(row), *colors, spinner=row.status == "building")

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
        metrics = self._font_metrics(option.font)  # the font the text is drawn with, not the view's
        geometry = BadgeGeometry.layout(option.rect, metrics, look)
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
        painter.setFont(option.font)
        elided = metrics.elidedText(look.text, Qt.TextElideMode.ElideRight,
                                               geometry.text.width())
        painter.drawText(geometry.text, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), elided)
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

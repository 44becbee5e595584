"""A build's phases as one bar: queued, resolving, pulling, finishing, each as wide as it took.

``TimelineGeometry`` is plain arithmetic (tested without a window); ``BuildTimeline`` paints it
with the palette's colours, names each phase inside its segment when it fits, and says it all
in its tooltip and accessible description for those who cannot see the bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from in10nt_desktop.ui.status_badge import is_dark

PHASES = ("queued", "resolving", "pulling", "finishing")
_PHASE_HUES = {"queued": None, "resolving": 0.58, "pulling": 0.55, "finishing": 0.36}


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    seconds: float
    x: int
    width: int


class TimelineGeometry:
    """Segments for phases ``[(name, seconds), …]`` across ``width`` pixels: proportional to their
    time, each at least ``min_width`` wide so a 10 ms phase stays visible, no gaps, no overflow."""

    @staticmethod
    def layout(phases: Sequence[tuple[str, float]], width: int, min_width: int = 4) -> list[Segment]:
        shown = [(name, max(0.0, seconds)) for name, seconds in phases]
        if not shown or width <= 0:
            return []
        min_width = min(min_width, width // len(shown))
        total = sum(seconds for _, seconds in shown)
        spare = width - min_width * len(shown)
        segments, x = [], 0
        for i, (name, seconds) in enumerate(shown):
            share = (seconds / total) if total > 0 else 1 / len(shown)
            w = width - x if i == len(shown) - 1 else min_width + round(spare * share)
            w = max(0, min(w, width - x))
            segments.append(Segment(name, seconds, x, w))
            x += w
        return segments

    @staticmethod
    def describe(phases: Sequence[tuple[str, float]]) -> str:
        return ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases) or "no phases recorded"


def phase_color(name: str, palette: QPalette) -> QColor:
    hue = _PHASE_HUES.get(name)
    if hue is None:  # queued: waiting, not working — the palette's neutral
        return palette.color(QPalette.ColorRole.Mid)
    return QColor.fromHslF(hue, 0.55, 0.42 if is_dark(palette) else 0.62)


class BuildTimeline(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._phases: list[tuple[str, float]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Build phases")

    def phases(self) -> list[tuple[str, float]]:
        return list(self._phases)

    def set_phases(self, phases: Sequence[tuple[str, float]]) -> None:
        self._phases = list(phases)
        text = TimelineGeometry.describe(self._phases)
        self.setToolTip(text)
        self.setAccessibleDescription(text)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(240, self.fontMetrics().height() + 10)

    def paintEvent(self, _event: object) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        area = self.rect().adjusted(0, 2, -1, -2)
        metrics = self.fontMetrics()
        for segment in TimelineGeometry.layout(self._phases, area.width()):
            rect = QRect(area.x() + segment.x, area.y(), segment.width, area.height())
            painter.fillRect(rect, phase_color(segment.name, palette))
            label = f"{segment.name} {segment.seconds:.1f} s"
            if metrics.horizontalAdvance(label) + 6 > rect.width():
                label = segment.name
            if metrics.horizontalAdvance(label) + 6 <= rect.width():
                painter.setPen(palette.color(QPalette.ColorRole.Text))
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.drawRect(area)
        painter.end()

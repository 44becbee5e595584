"""Where the main window goes: inside the screen it opens on, at any scale factor.

Plain functions over rectangles (logical pixels, as Qt gives them at any scale factor), so the
rules are tested without a screen: the first window takes the wanted size or less, never more
than the screen's available area (taskbar and docks excluded); a restored window that would be
off screen or too big for it (a monitor unplugged, a smaller laptop) is moved and shrunk back in.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize

WANTED = QSize(1320, 760)  # room for every column beside the details
MARGIN = 0.92               # of the available area, so the frame and shadows fit too


def first_geometry(available: QRect, wanted: QSize = WANTED) -> QRect:
    width = min(wanted.width(), int(available.width() * MARGIN))
    height = min(wanted.height(), int(available.height() * MARGIN))
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def kept_on_screen(geometry: QRect, available: QRect) -> QRect:
    """``geometry`` unchanged when it fits; otherwise shrunk to the screen and moved inside it."""
    if available.contains(geometry):
        return geometry
    width = min(geometry.width(), int(available.width() * MARGIN))
    height = min(geometry.height(), int(available.height() * MARGIN))
    x = min(max(geometry.x(), available.left()), available.right() - width + 1)
    y = min(max(geometry.y(), available.top()), available.bottom() - height + 1)
    return QRect(x, y, width, height)

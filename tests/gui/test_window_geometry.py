"""The window fits the screen it opens on, at any scale factor (rules as plain rectangles)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize

from in10nt_desktop.ui.window_geometry import WANTED, first_geometry, kept_on_screen


def test_the_first_window_fits_a_small_or_scaled_screen() -> None:
    # 1600x1000 at scale factor 2 is 800x500 logical pixels, minus a 24 px panel
    small = QRect(0, 24, 800, 476)
    rect = first_geometry(small)
    assert small.contains(rect) and rect.width() < 800 and rect.height() < 476
    laptop = QRect(0, 0, 1366, 728)  # 1366x768 with a 40 px taskbar
    rect = first_geometry(laptop)
    assert laptop.contains(rect) and rect.height() <= 728
    big = QRect(0, 0, 2560, 1400)
    assert first_geometry(big).size() == WANTED  # room to spare: the wanted size, centred
    assert first_geometry(big).center() == big.center()


def test_a_restored_window_is_moved_and_shrunk_back_on_screen() -> None:
    screen = QRect(0, 0, 1366, 728)
    fits = QRect(100, 50, 900, 600)
    assert kept_on_screen(fits, screen) == fits  # a window that fits stays exactly where it was
    from_a_big_monitor = QRect(1900, 300, 1800, 1000)  # saved on a second, larger monitor now unplugged
    back = kept_on_screen(from_a_big_monitor, screen)
    assert screen.contains(back) and back.size().boundedTo(QSize(1366, 728)) == back.size()
    above = QRect(200, -400, 800, 500)
    assert screen.contains(kept_on_screen(above, screen))

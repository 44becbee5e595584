"""Find Alt+letter mnemonics that clash within one window, as a keyboard user meets them.

Only what can be reached at that moment counts: visible buttons, labels with a buddy, group
boxes, the tabs of visible tab bars and the menu bar's menus. Items inside a menu are their own
scope (reached after the menu opens), and toolbar buttons show no mnemonic.
"""

from __future__ import annotations

import re
from collections import defaultdict

from PySide6.QtWidgets import QAbstractButton, QGroupBox, QLabel, QMainWindow, QTabBar, QToolButton, QWidget

_MNEMONIC = re.compile(r"(?<!&)&([^&\s])")


def mnemonic(text: str) -> str | None:
    match = _MNEMONIC.search(text.replace("&&", ""))
    return match.group(1).lower() if match else None


def reachable_mnemonics(window: QWidget) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)

    def add(text: str, what: str) -> None:
        letter = mnemonic(text)
        if letter:
            found[letter].append(f"{what} {text!r}")

    if isinstance(window, QMainWindow):
        for action in window.menuBar().actions():
            if action.isVisible():
                add(action.text(), "menu")
    for widget in [window, *window.findChildren(QWidget)]:
        if not widget.isVisible() or widget.window() is not window:
            continue
        if isinstance(widget, QAbstractButton) and not isinstance(widget, QToolButton):
            add(widget.text(), "button")
        elif isinstance(widget, QLabel) and widget.buddy() is not None:
            add(widget.text(), "label")
        elif isinstance(widget, QGroupBox):
            add(widget.title(), "group")
        elif isinstance(widget, QTabBar):
            for i in range(widget.count()):
                if widget.isTabVisible(i):
                    add(widget.tabText(i), "tab")
    return found


def clashes(window: QWidget) -> list[str]:
    return [f"Alt+{letter.upper()}: {', '.join(where)}"
            for letter, where in sorted(reachable_mnemonics(window).items()) if len(where) > 1]

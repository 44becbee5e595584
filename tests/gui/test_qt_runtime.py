"""The Qt binding itself must not leak: the app polls for hours on timers and slots.

PySide6 6.12.0 over-releases ``None`` on every Python slot that returns it; on Python 3.11
(where ``None`` is not immortal) the app then aborts with "none_dealloc" after enough timer
ticks. pyproject pins the binding below 6.12; this test fails if a release with that bug returns.
"""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QTimer


def test_timer_slots_do_not_release_none(qapp: Any) -> None:
    fired = [0]

    def tick() -> None:
        fired[0] += 1

    timer = QTimer()
    timer.timeout.connect(tick)
    before = sys.getrefcount(None)
    timer.start(0)
    while fired[0] < 3000:
        qapp.processEvents()
    timer.stop()
    # A leak-free binding moves the count by a few hundred at most either way; the 6.12.0 bug
    # takes one reference per tick (-3000).
    assert sys.getrefcount(None) - before > -1000

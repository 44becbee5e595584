"""The build timing bar's geometry: proportional, every phase visible, no gap, no overflow."""

from __future__ import annotations

import itertools

import pytest

from in10nt_desktop.ui.build_timeline import TimelineGeometry


@pytest.mark.parametrize("width", [1, 7, 80, 333, 1000])
@pytest.mark.parametrize("phases", [
    [("queued", 0.0), ("resolving", 0.01), ("pulling", 42.0), ("finishing", 0.2)],
    [("resolving", 1.0)],
    [("queued", 3.0), ("resolving", 3.0)],
    [("queued", 0.0), ("resolving", 0.0)],
])
def test_segments_cover_the_bar_exactly_in_order(phases: list[tuple[str, float]], width: int) -> None:
    segments = TimelineGeometry.layout(phases, width)
    assert [s.name for s in segments] == [name for name, _ in phases]
    assert segments[0].x == 0
    for a, b in itertools.pairwise(segments):
        assert b.x == a.x + a.width  # no gap, no overlap
    assert segments[-1].x + segments[-1].width == width  # no overflow
    assert all(s.width >= 0 for s in segments)


def test_long_phases_take_the_room_and_short_ones_stay_visible() -> None:
    segments = TimelineGeometry.layout([("queued", 0.0), ("resolving", 0.01), ("pulling", 60.0),
                                        ("finishing", 0.2)], 400)
    widths = {s.name: s.width for s in segments}
    assert widths["pulling"] > 350
    assert min(widths.values()) >= 4  # a 10 ms resolve is still a sliver the eye can find
    assert TimelineGeometry.layout([], 400) == []
    assert TimelineGeometry.describe([("resolving", 0.25), ("pulling", 12.0)]) == "resolving 0.2 s, pulling 12.0 s"

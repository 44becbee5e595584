"""What each column of the templates table says, sorts by and explains: the words of a row, apart
from the model that orders and filters them (ui/templates_model.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import IntEnum
from operator import attrgetter
from typing import TYPE_CHECKING

from in10nt_desktop.app.template_rows import TemplateRow
from in10nt_desktop.text_formats import relative_age
from in10nt_desktop.ui.row_order import Key
from in10nt_desktop.ui.window_layout import COLUMN_TITLES

if TYPE_CHECKING:  # the vault's module (registry checks) loads with the services, not with the table
    from in10nt_desktop.app.drift_service import DriftStore


class Column(IntEnum):
    NAME = 0
    IMAGE = 1
    REGISTRY = 2
    STATUS = 3
    SIZE = 4
    CREATED = 5
    ID = 6


HEADERS = dict(zip(Column, COLUMN_TITLES, strict=True))

STATUS_ORDER = {"building": 0, "failed": 1, "ready": 2}
DRIFT_MARK = "base image updated since build"

# Sort keys, ascending; the ID last makes every key unique, so a binary search finds one row.
# (attrgetter builds its tuple in C: the default sort's keys for 100,000 rows cost ~10 ms, not ~40.)
SORT_KEYS: dict[Column, Callable[[TemplateRow], Key]] = {
    Column.NAME: lambda r: (r.name.lower(), r.template_id),
    Column.IMAGE: lambda r: (r.image.lower(), r.template_id),
    Column.REGISTRY: attrgetter("registry_type", "template_id"),
    # Building first: the running builds, then the queued ones in their order, so a queue reads top down.
    Column.STATUS: lambda r: (STATUS_ORDER.get(r.status, 3), r.phase == "queued", r.queue_position or 0,
                              r.name.lower(), r.template_id),
    Column.SIZE: lambda r: (r.size_bytes if r.size_bytes is not None else -1, r.template_id),
    Column.CREATED: attrgetter("created_key", "template_id"),
    Column.ID: lambda r: (r.template_id,),
}
_AGE_TEXT: dict[str, str] = {}  # creation minute -> "5 min ago", emptied when the minute turns
_EXACT_TEXT: dict[str, str] = {}


def created_text(row: TemplateRow, now: datetime) -> str:
    """How long ago, kept per creation minute (a repaint asks ~10 times per visible cell)."""
    minute = row.created_key[:16]
    text = _AGE_TEXT.get(minute)
    if text is None:
        when = row.created_at
        text = _AGE_TEXT[minute] = relative_age(when, now) if when else ""
    return text


def created_exact(row: TemplateRow) -> str:
    """The tooltip: local time to the second, and the zone."""
    key = row.created_key
    text = _EXACT_TEXT.get(key)
    if text is None:
        when = row.created_at
        if len(_EXACT_TEXT) > 4096:
            _EXACT_TEXT.clear()
        text = _EXACT_TEXT[key] = f"Created {when.astimezone():%Y-%m-%d %H:%M:%S %Z}" if when else "Created: unknown"
    return text


def status_field(wanted: str) -> str:
    """The status filter's "queued" and "running" are stages of a build; the others are statuses."""
    return "stage" if wanted in ("queued", "running") else "status"


def forget_ages() -> None:
    """The minute turned: every "5 min ago" is said again."""
    _AGE_TEXT.clear()


def cell_tooltip(row: TemplateRow, column: Column, drift: DriftStore | None) -> str | None:
    """A cell's tooltip: why a build failed or stalled, what a moved tag means, exact times and sizes."""
    if column == Column.STATUS:
        from in10nt_desktop.ui.status_badge import badge_text, is_stalled, stalled_tooltip  # it imports the model
        if row.status == "failed":
            return f"Failed: {row.error or 'no reason given'}"
        if row.stale:
            return f"{row.status} (not confirmed by the server lately: it may be offline)"
        if is_stalled(row):  # which registry sends nothing, for how long, and that Rebuild is offered
            return stalled_tooltip(row)
        return badge_text(row) if row.building else row.status
    state = drift.drifted(row) if column in (Column.IMAGE, Column.NAME) and drift is not None else None
    if state is not None:
        return (f"Base image updated since build: {row.image} now points to {state.current_digest[:19]}…; "
                f"this template was built from {state.built_digest[:19]}…. Rebuild it to use the new "
                "image.")
    if column in (Column.IMAGE, Column.NAME):
        return row.description or row.image
    if column == Column.CREATED:
        return created_exact(row)
    if column == Column.SIZE and row.size_bytes is not None:
        return f"{row.size_bytes:,} bytes (compressed layers, as the registry lists them)"
    return None

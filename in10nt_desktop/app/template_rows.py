"""The templates the window shows, as immutable rows, and the store that owns the list.

The store emits begin/end signals around every structural change (the qutebrowser pattern):
the table model only adapts them to Qt's protocol, and a status change is announced as the
row numbers that changed, once per polling tick.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import StatusInfo, TemplateData


@dataclass(frozen=True, slots=True)
class TemplateRow:
    template_id: str
    name: str
    image: str
    registry_type: str
    status: str
    error: str | None
    created_at: datetime | None
    updated_at: datetime | None
    progress: tuple[int, int | None] | None
    data: TemplateData
    search_text: str
    stale: bool = False

    @classmethod
    def from_data(cls, data: TemplateData) -> TemplateRow:
        progress = (data.progress.current, data.progress.total) if data.progress is not None else None
        return cls(data.template_id, data.name, data.image, data.registry_type, data.status, data.error,
                   data.created_at, data.updated_at, progress, data,
                   f"{data.name}\n{data.image}\n{data.template_id}".lower())

    @property
    def building(self) -> bool:
        return self.status == "building"

    @property
    def fraction(self) -> float | None:
        if self.progress is None or not self.progress[1]:
            return None
        return min(1.0, max(0.0, self.progress[0] / self.progress[1]))

    def with_status(self, info: StatusInfo) -> TemplateRow:
        progress = (info.progress.current, info.progress.total) if info.progress is not None else None
        data = self.data.model_copy(update={"status": info.status, "error": info.error, "progress": info.progress,
                                            "updated_at": info.updated_at or self.updated_at})
        return replace(self, status=info.status, error=info.error, progress=progress,
                       updated_at=info.updated_at or self.updated_at, data=data, stale=False)

    def matches(self, data: TemplateData) -> bool:
        """True when ``data`` would not change this row (checked without building a new row)."""
        progress = (data.progress.current, data.progress.total) if data.progress is not None else None
        return (not self.stale and self.status == data.status and self.error == data.error
                and self.progress == progress and self.updated_at == data.updated_at and self.name == data.name
                and self.data.digest == data.digest)

    def same_as(self, other: TemplateRow) -> bool:
        return (self.status, self.error, self.progress, self.updated_at, self.stale, self.name, self.data.digest) == \
            (other.status, other.error, other.progress, other.updated_at, other.stale, other.name, other.data.digest)


class TemplateStore(QObject):
    about_to_reset = Signal()
    reset_done = Signal()
    about_to_append = Signal(int, int)    # first, last (row numbers)
    appended = Signal()
    about_to_remove = Signal(int)         # row
    removed = Signal()
    rows_changed = Signal(list)           # row numbers whose row object was replaced
    stale_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[TemplateRow] = []
        self._pos: dict[str, int] = {}
        # Kept up to date at every write: the monitor and the window ask on each tick and each
        # change, and counting 10,000 rows each time cost a few ms per poll.
        self._building: set[str] = set()
        self.stale = False
        self.loaded = False

    def _track(self, row: TemplateRow) -> None:
        if row.building:
            self._building.add(row.template_id)
        else:
            self._building.discard(row.template_id)

    def __len__(self) -> int:
        return len(self.rows)

    def get(self, template_id: str) -> TemplateRow | None:
        pos = self._pos.get(template_id)
        return None if pos is None else self.rows[pos]

    def names(self) -> set[str]:
        return {row.name for row in self.rows}

    def building_ids(self) -> list[str]:
        return sorted(self._building)

    @property
    def building_count(self) -> int:
        return len(self._building)

    def replace_all(self, templates: Iterable[TemplateData]) -> None:
        self.about_to_reset.emit()
        self.rows = [TemplateRow.from_data(t) for t in templates]
        self._pos = {row.template_id: i for i, row in enumerate(self.rows)}
        self._building = {row.template_id for row in self.rows if row.building}
        self.loaded = True
        self.reset_done.emit()
        self.set_stale(False)

    def clear(self) -> None:
        self.about_to_reset.emit()
        self.rows, self._pos, self._building, self.loaded = [], {}, set(), False
        self.reset_done.emit()

    def merge(self, templates: Iterable[TemplateData], *, complete: bool) -> list[tuple[TemplateRow, TemplateRow]]:
        """Apply a fresh answer; ``complete`` means rows missing from it were deleted elsewhere.

        Returns ``(old, new)`` for every row whose status changed, for the monitor's notifications.
        """
        changed: list[int] = []
        transitions: list[tuple[TemplateRow, TemplateRow]] = []
        new_rows: list[TemplateRow] = []
        answer = list(templates)
        positions, rows = self._pos, self.rows  # locals: this loop runs over every row on each poll
        for data in answer:
            pos = positions.get(data.template_id)
            if pos is None:
                new_rows.append(TemplateRow.from_data(data))
                continue
            old = rows[pos]
            # The common case on a poll: 10,000 rows, a handful building. A ready or failed
            # template never changes again (the API has no update) but for the details a /status
            # answer lacks (digest, size), fetched once after it finished: compare those two.
            if (old.status != "building" and old.status == data.status and not old.stale
                    and old.data.digest == data.digest) or old.matches(data):
                continue
            fresh = TemplateRow.from_data(data)  # matches() said it differs: no second comparison
            rows[pos] = fresh
            self._track(fresh)
            changed.append(pos)
            if old.status != fresh.status:
                transitions.append((old, fresh))
        if changed:
            self.rows_changed.emit(changed)
        if complete and len(answer) - len(new_rows) != len(self.rows):  # some rows were deleted elsewhere
            seen = {data.template_id for data in answer}
            self.remove_many([r.template_id for r in self.rows if r.template_id not in seen])
        if new_rows:
            self.append(new_rows)
        self.set_stale(False)
        return transitions

    def apply_status(self, info: StatusInfo) -> tuple[TemplateRow, TemplateRow] | None:
        pos = self._pos.get(info.template_id)
        if pos is None:
            return None
        old = self.rows[pos]
        fresh = old.with_status(info)
        if not old.same_as(fresh):
            self.rows[pos] = fresh
            self._track(fresh)
            self.rows_changed.emit([pos])
        self.set_stale(False)
        return (old, fresh) if old.status != fresh.status else None

    def append(self, rows: list[TemplateRow]) -> None:
        first = len(self.rows)
        self.about_to_append.emit(first, first + len(rows) - 1)
        for row in rows:
            self._pos[row.template_id] = len(self.rows)
            self.rows.append(row)
            self._track(row)
        self.appended.emit()

    def add(self, data: TemplateData) -> TemplateRow:
        existing = self._pos.get(data.template_id)
        row = TemplateRow.from_data(data)
        if existing is not None:  # an idempotent retry answered with a row we already show
            self.rows[existing] = row
            self._track(row)
            self.rows_changed.emit([existing])
        else:
            self.append([row])
        return row

    def remove(self, template_id: str) -> bool:
        pos = self._pos.get(template_id)
        if pos is None:
            return False
        self.about_to_remove.emit(pos)
        del self.rows[pos]
        self._building.discard(template_id)
        self._pos = {row.template_id: i for i, row in enumerate(self.rows)}
        self.removed.emit()
        return True

    def remove_many(self, template_ids: list[str]) -> None:
        """Many removals at once are one reset: row-by-row would rebuild the index each time."""
        if len(template_ids) <= 8:
            for template_id in template_ids:
                self.remove(template_id)
            return
        gone = set(template_ids)
        self.about_to_reset.emit()
        self.rows = [row for row in self.rows if row.template_id not in gone]
        self._pos = {row.template_id: i for i, row in enumerate(self.rows)}
        self._building -= gone
        self.reset_done.emit()

    def reorder(self, key: Callable[[TemplateRow], Any], reverse: bool) -> None:
        """Sort in place (the view's sort): Python's sort is ~100x faster than a proxy's per-compare calls."""
        self.rows.sort(key=key, reverse=reverse)
        self._pos = {row.template_id: i for i, row in enumerate(self.rows)}

    def position(self, template_id: str) -> int | None:
        return self._pos.get(template_id)

    def set_stale(self, stale: bool, ids: Iterable[str] | None = None) -> None:
        """Mark rows as not confirmed by the server lately (offline): badges show it, data stays."""
        if ids is not None:
            changed = []
            for template_id in ids:
                pos = self._pos.get(template_id)
                if pos is not None and self.rows[pos].stale != stale:
                    self.rows[pos] = replace(self.rows[pos], stale=stale)
                    changed.append(pos)
            if changed:
                self.rows_changed.emit(changed)
        if stale != self.stale:
            self.stale = stale
            self.stale_changed.emit(stale)

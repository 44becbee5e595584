"""The templates the window shows: compact rows, and the store that holds them by ID.

A row is built straight from the server's JSON object (no pydantic: 100,000 validated models
cost seconds and hundreds of MB), with ``__slots__`` and the strings the answer already holds.
The store keeps rows by template ID and never orders them: the table model owns the order
(ui/templates_model.py). It announces what happened, once per batch: rows ``added``, rows
``changed`` (as ``(old, new)`` pairs, so a status change repaints one cell), rows ``removed``,
or a ``reset``; and ``stale_changed`` when rows stopped (or started) being confirmed by the server.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from in10nt_desktop.api import TemplateData

# Fields a row holds as attributes, as the engine spells them; the other spellings the SDK accepts;
# anything else the server sends is kept in ``extra``.
_FIELDS = ("templateId", "name", "description", "image", "registryType", "status", "error", "createdAt", "updatedAt",
           "digest", "sizeBytes", "platform", "layers", "progress", "phase", "queuePosition")
_CANONICAL = frozenset(_FIELDS)
_SPELLING = {**{name: name for name in _CANONICAL}, "template_id": "templateId", "id": "templateId",
             "registry_type": "registryType", "created_at": "createdAt", "updated_at": "updatedAt",
             "size_bytes": "sizeBytes", "queue_position": "queuePosition"}
_DROPPED = frozenset(("registryAuth", "registry_auth"))  # never kept, even if a server echoes it
# Values repeated on every row (a status, a registry type): one string object for all of them.
_SHARED: dict[str, str] = {}


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def _shared(value: Any) -> str:
    text = "" if value is None else str(value)
    return _SHARED.setdefault(text, text) if len(_SHARED) < 256 else text


def _timestamp(text: Any) -> float | None:
    if not text or not isinstance(text, str):
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _created_key(text: Any) -> str:
    """A creation time that sorts as text: the engine's own form (``2026-01-02T03:04:05.678Z``) as it is,
    any other form rewritten into it."""
    if not isinstance(text, str):
        return ""
    if len(text) == 24 and text[23] == "Z" and text[10] == "T" and text[19] == ".":
        return text
    ts = _timestamp(text)
    if ts is None:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"


def _progress(value: Any) -> tuple[int, int | None] | None:
    if not isinstance(value, Mapping):
        return None
    return int(value.get("current") or 0), value.get("total")


def _canonical(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``data`` with the SDK's aliases spelt as the engine spells them, and the fields left over."""
    out: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in data.items():
        name = _SPELLING.get(key)
        if name is not None:
            if out.get(name) is None:
                out[name] = value
        elif key not in _DROPPED:
            extra[key] = value
    return out, extra or None


class TemplateRow:
    """One template as the server last said it. Immutable but for ``stale`` (set in place: marking
    100,000 rows stale when the server goes away must not build 100,000 new rows)."""

    __slots__ = ("created", "created_key", "description", "digest", "error", "extra", "image", "layers", "name",
                 "phase", "platform", "progress", "queue_position", "registry_type", "search_text", "size_bytes",
                 "stale", "status", "template_id", "updated")

    template_id: str
    name: str
    image: str
    registry_type: str
    status: str
    error: str | None
    description: str | None
    created: str | None            # as the server wrote it
    created_key: str               # the creation time in one form that sorts as text ("" when unknown)
    updated: str | None
    digest: str | None
    size_bytes: int | None
    platform: str | None
    layers: int | None
    progress: tuple[int, int | None] | None
    phase: str | None
    queue_position: int | None
    extra: dict[str, Any] | None   # fields this client does not know (and room for other features' fields)
    search_text: str               # name, image and ID, lower case: what the search box looks in
    stale: bool

    @classmethod
    def from_json(cls, data: Mapping[str, Any], stale: bool = False) -> TemplateRow:
        """A row from the server's JSON object (camelCase, or the aliases the SDK accepts).

        Raises ``ValueError`` for an object without a template ID.
        """
        if not _CANONICAL.issuperset(data):  # another server's spelling, or fields this client does not know
            data, extra = _canonical(data)
        else:
            extra = None
        # One C-level pass fetches every field (``map`` over ``dict.get``): 16 method calls cost more
        # than the rest of building a row.
        (tid, name, description, image, registry, status, error, created, updated, digest, size_bytes, platform,
         layers, progress, phase, queue_position) = map(data.get, _FIELDS)
        if not tid:
            raise ValueError("a template without an ID")
        if tid.__class__ is not str:
            tid = str(tid)
        # Strings are taken as the JSON gave them; only the ones searched and sorted are made sure of.
        if name.__class__ is not str:
            name = "" if name is None else str(name)
        if image.__class__ is not str:
            image = "" if image is None else str(image)
        row = cls.__new__(cls)
        row.template_id, row.name, row.image = tid, name, image
        registry = registry or "dockerhub"
        row.registry_type = _SHARED.get(registry) or _shared(registry)
        status = status or "building"
        row.status = _SHARED.get(status) or _shared(status)
        row.error, row.description, row.created, row.updated = error, description, created, updated
        # The engine's own form sorts as text as it is (checking it costs nothing; parsing, ~1 µs).
        row.created_key = created if (created.__class__ is str and len(created) == 24 and created[23] == "Z"
                                      and created[10] == "T") else _created_key(created)
        row.digest, row.size_bytes, row.platform, row.layers = digest, size_bytes, platform, layers
        row.progress = None if progress is None else _progress(progress)
        row.phase, row.queue_position, row.extra, row.stale = phase, queue_position, extra, stale
        row.search_text = f"{name}\n{image}\n{tid}".lower()
        return row

    @classmethod
    def from_data(cls, data: TemplateData) -> TemplateRow:
        """A row from the SDK's model (the wizard's create answers with one)."""
        return cls.from_json(data.model_dump(mode="json", by_alias=True))

    def as_json(self) -> dict[str, Any]:
        """The template as the server's JSON object (every field it gave, unknown ones too)."""
        out: dict[str, Any] = {"templateId": self.template_id, "name": self.name, "description": self.description,
                               "image": self.image, "registryType": self.registry_type, "status": self.status,
                               "error": self.error, "digest": self.digest, "sizeBytes": self.size_bytes,
                               "platform": self.platform, "layers": self.layers, "phase": self.phase,
                               "queuePosition": self.queue_position, "createdAt": self.created,
                               "updatedAt": self.updated}
        if self.progress is not None:
            out["progress"] = {"current": self.progress[0], "total": self.progress[1]}
        if self.extra:
            out.update(self.extra)
        return {key: value for key, value in out.items() if value is not None}

    @property
    def data(self) -> TemplateData:
        """The SDK's model of this template (built on demand: it loads pydantic)."""
        from in10nt_desktop.api import TemplateData

        return TemplateData.model_validate(self.as_json())

    @property
    def building(self) -> bool:
        return self.status == "building"

    @property
    def created_at(self) -> datetime | None:
        ts = _timestamp(self.created_key)
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    @property
    def updated_at(self) -> datetime | None:
        ts = _timestamp(self.updated)
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    @property
    def fraction(self) -> float | None:
        if self.progress is None or not self.progress[1]:
            return None
        return min(1.0, max(0.0, self.progress[0] / self.progress[1]))

    def same_as(self, other: TemplateRow) -> bool:
        """True when ``other`` says nothing new about this template (``stale`` aside)."""
        return (self.status == other.status and self.updated == other.updated and self.error == other.error
                and self.progress == other.progress and self.phase == other.phase
                and self.queue_position == other.queue_position and self.digest == other.digest
                and self.size_bytes == other.size_bytes and self.name == other.name
                and self.description == other.description and self.platform == other.platform
                and self.layers == other.layers and self.extra == other.extra)

    def with_status(self, status: str, error: str | None, progress: tuple[int, int | None] | None,
                    updated: str | None, phase: str | None, queue_position: int | None) -> TemplateRow:
        """A copy as a ``/status`` answer describes it (the polling monitor's single-build path)."""
        row = self.copy()
        row.status, row.error, row.progress = _shared(status), error, progress
        row.updated = updated or self.updated
        row.phase, row.queue_position, row.stale = phase, queue_position, False
        return row

    def copy(self) -> TemplateRow:
        row = TemplateRow.__new__(TemplateRow)
        for name in TemplateRow.__slots__:
            setattr(row, name, getattr(self, name))
        return row

    def __repr__(self) -> str:
        return f"TemplateRow({self.template_id!r}, {self.name!r}, {self.status!r}{', stale' if self.stale else ''})"


def as_row(template: TemplateRow | TemplateData | Mapping[str, Any]) -> TemplateRow:
    """A row from whatever the caller has: a row, the SDK's model, or the JSON object."""
    if isinstance(template, TemplateRow):
        return template
    if isinstance(template, Mapping):
        return TemplateRow.from_json(template)
    return TemplateRow.from_data(template)


class TemplateStore(QObject):
    reset = Signal()               # everything was replaced (or cleared)
    added = Signal(list)           # list[TemplateRow]: rows new to the store
    changed = Signal(list)         # list[tuple[TemplateRow, TemplateRow]]: (old, new) for rows replaced
    removed = Signal(list)         # list[TemplateRow]: rows gone
    stale_changed = Signal(bool)   # the store's flag (rows' own flags may have changed with it)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.by_id: dict[str, TemplateRow] = {}
        # Kept up to date at every write: the monitor and the window ask on each tick and change.
        self._building: set[str] = set()
        self.stale = False
        self.loaded = False

    def _track(self, row: TemplateRow) -> None:
        if row.status == "building":
            self._building.add(row.template_id)
        else:
            self._building.discard(row.template_id)

    # -- reading -----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.by_id)

    def __contains__(self, template_id: object) -> bool:
        return template_id in self.by_id

    def __iter__(self) -> Iterator[TemplateRow]:
        return iter(list(self.by_id.values()))

    @property
    def rows(self) -> list[TemplateRow]:
        """Every row, in no particular order (the table model owns the order)."""
        return list(self.by_id.values())

    def get(self, template_id: str) -> TemplateRow | None:
        return self.by_id.get(template_id)

    def names(self) -> set[str]:
        return {row.name for row in self.by_id.values()}

    def building_ids(self) -> list[str]:
        return sorted(self._building)

    @property
    def building_count(self) -> int:
        return len(self._building)

    # -- writing -----------------------------------------------------------------------------------
    def replace_all(self, rows: Iterable[TemplateRow | TemplateData | Mapping[str, Any]], *, loaded: bool = True,
                    stale: bool = False) -> None:
        fresh = [as_row(r) for r in rows]
        for row in fresh:
            row.stale = stale
        self.by_id = {row.template_id: row for row in fresh}
        self._building = {row.template_id for row in fresh if row.status == "building"}
        self.loaded = loaded
        self.reset.emit()
        self.set_stale(stale)

    def clear(self) -> None:
        self.by_id, self._building, self.loaded = {}, set(), False
        self.reset.emit()

    def upsert(self, rows: Iterable[TemplateRow]) -> list[tuple[TemplateRow, TemplateRow]]:
        """Add new rows and replace those that changed; a row object the store already holds is left alone.

        Returns ``(old, new)`` for every row whose status changed (for build notifications).
        """
        by_id = self.by_id
        new: list[TemplateRow] = []
        changed: list[tuple[TemplateRow, TemplateRow]] = []
        refreshed = False
        for row in rows:
            old = by_id.get(row.template_id)
            if old is row:
                continue
            if old is not None and old.same_as(row):
                if old.stale and not row.stale:
                    old.stale, refreshed = False, True
                continue
            by_id[row.template_id] = row
            self._track(row)
            if old is None:
                new.append(row)
            else:
                changed.append((old, row))
        if changed:
            self.changed.emit(changed)
        if new:
            self.added.emit(new)
        if refreshed:
            self.stale_changed.emit(self.stale)
        return [(old, row) for old, row in changed if old.status != row.status]

    def add(self, template: TemplateRow | TemplateData | Mapping[str, Any]) -> TemplateRow:
        row = as_row(template)
        self.upsert([row])
        return self.by_id[row.template_id]

    def merge(self, templates: Iterable[TemplateRow | TemplateData | Mapping[str, Any]], *,
              complete: bool) -> list[tuple[TemplateRow, TemplateRow]]:
        """Apply an answer; ``complete``: rows missing from it were deleted elsewhere."""
        rows = [as_row(t) for t in templates]
        transitions = self.upsert(rows)
        if complete:
            seen = {row.template_id for row in rows}
            self.remove_many([tid for tid in self.by_id if tid not in seen])
            self.loaded = True
            self.set_stale(False)
        return transitions

    def apply_status(self, info: Any) -> tuple[TemplateRow, TemplateRow] | None:
        """A ``/status`` answer (the SDK's ``StatusInfo``); returns ``(old, new)`` when the status changed."""
        old = self.by_id.get(info.template_id)
        if old is None:
            return None
        progress = (info.progress.current, info.progress.total) if info.progress is not None else None
        updated = info.updated_at.isoformat().replace("+00:00", "Z") if info.updated_at else None
        fresh = old.with_status(info.status, info.error, progress, updated, info.phase, info.queue_position)
        transitions = self.upsert([fresh])
        return transitions[0] if transitions else None

    def remove(self, template_id: str) -> bool:
        row = self.by_id.pop(template_id, None)
        if row is None:
            return False
        self._building.discard(template_id)
        self.removed.emit([row])
        return True

    def remove_many(self, template_ids: Iterable[str]) -> None:
        gone = [row for row in (self.by_id.pop(tid, None) for tid in template_ids) if row is not None]
        if gone:
            self._building.difference_update(row.template_id for row in gone)
            self.removed.emit(gone)

    def set_stale(self, stale: bool, ids: Iterable[str] | None = None) -> None:
        """Mark rows as not confirmed by the server lately (offline): badges say so, data stays.

        Without ``ids`` only the store's flag changes; with them, those rows' flags too.
        """
        flipped = False
        if ids is not None:
            for template_id in ids:
                row = self.by_id.get(template_id)
                if row is not None and row.stale != stale:
                    row.stale, flipped = stale, True
        if stale != self.stale or flipped:
            self.stale = stale
            self.stale_changed.emit(stale)

    def refresh_stale(self, template_ids: Iterable[str]) -> None:
        """These rows were confirmed by an answer: drop their stale mark (one repaint for all)."""
        flipped = False
        for template_id in template_ids:
            row = self.by_id.get(template_id)
            if row is not None and row.stale:
                row.stale, flipped = False, True
        if flipped:
            self.stale_changed.emit(self.stale)

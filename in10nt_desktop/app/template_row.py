"""One template as the window holds it: a compact row built straight from the server's JSON.

No pydantic: 100,000 validated models cost seconds and hundreds of MB. A row has ``__slots__``,
keeps the strings the answer already holds, and has every field of the SDK's ``TemplateData``
as an attribute (``row.data`` is the row itself), plus ``extra`` for fields this client does not
know (another feature may keep its own there).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from in10nt_desktop.api import TemplateData

# Fields a row holds as attributes, as the engine spells them; the other spellings the SDK accepts;
# anything else the server sends is kept in ``extra``.
_FIELDS = ("templateId", "name", "description", "image", "registryType", "status", "error", "createdAt", "updatedAt",
           "digest", "sizeBytes", "platform", "layers", "progress", "phase", "queuePosition",
           # build records (the local engine): on every template, then while one builds
           "buildCount", "needsCredentials", "registryUsername", "startedAt", "expectedSeconds", "stalled",
           "stalledReason")
_CANONICAL = frozenset(_FIELDS)
# The SDK's snake_case names (its models accept them too): read as the engine's spelling,
# and ``model_dump(by_alias=False)`` writes them back.
_SNAKE = {"templateId": "template_id", "registryType": "registry_type", "createdAt": "created_at",
          "updatedAt": "updated_at", "sizeBytes": "size_bytes", "queuePosition": "queue_position",
          "buildCount": "build_count", "needsCredentials": "needs_credentials", "registryUsername": "registry_username",
          "startedAt": "started_at", "expectedSeconds": "expected_seconds", "stalledReason": "stalled_reason"}
_SPELLING = {**{name: name for name in _CANONICAL}, **{snake: camel for camel, snake in _SNAKE.items()},
             "id": "templateId"}
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

    __slots__ = ("build_count", "created", "created_key", "description", "digest", "error", "expected_seconds",
                 "extra", "image", "layers", "name", "needs_credentials", "phase", "platform", "progress",
                 "queue_position", "registry_type", "registry_username", "search_text", "size_bytes", "stale",
                 "stalled", "stalled_reason", "started_at", "status", "template_id", "updated")

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
    build_count: int | None        # build records, on servers that keep them (the local engine)
    needs_credentials: bool        # its last build had a registry login: a rebuild needs one again
    registry_username: str | None
    started_at: str | None         # the current (or last) build left the queue, as the server wrote it
    expected_seconds: float | None  # while building: how long builds of this image took lately
    stalled: bool                  # while building: the registry has sent nothing for a while
    stalled_reason: str | None
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
         layers, progress, phase, queue_position, build_count, needs_credentials, registry_username, started_at,
         expected_seconds, stalled, stalled_reason) = map(data.get, _FIELDS)
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
        row.build_count, row.needs_credentials, row.registry_username = build_count, bool(needs_credentials), \
            registry_username
        row.started_at, row.expected_seconds = started_at, expected_seconds
        row.stalled, row.stalled_reason = bool(stalled), stalled_reason
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
                               "updatedAt": self.updated, "buildCount": self.build_count,
                               "needsCredentials": self.needs_credentials or None,
                               "registryUsername": self.registry_username,
                               "startedAt": self.started_at, "expectedSeconds": self.expected_seconds,
                               "stalled": self.stalled or None, "stalledReason": self.stalled_reason}
        if self.progress is not None:
            out["progress"] = {"current": self.progress[0], "total": self.progress[1]}
        if self.extra:
            out.update(self.extra)
        return {key: value for key, value in out.items() if value is not None}

    @property
    def data(self) -> TemplateRow:
        """The row itself: it has every field of the SDK's ``TemplateData`` as an attribute (and
        ``model_dump``), so code written for ``row.data.digest`` works without building a model."""
        return self

    @property
    def model_extra(self) -> dict[str, Any] | None:
        return self.extra

    def model_dump(self, *, mode: str = "json", by_alias: bool = True, **_kw: Any) -> dict[str, Any]:
        """As the SDK's model dumps: camelCase with ``by_alias`` (the server's JSON), snake_case without."""
        data = self.as_json()
        return data if by_alias else {_SNAKE.get(key, key): value for key, value in data.items()}

    def model_copy(self, *, update: Mapping[str, Any] | None = None, **_kw: Any) -> TemplateRow:
        """A copy with some fields changed (snake_case names, as on the SDK's model)."""
        row = self.copy()
        for name, value in (update or {}).items():
            setattr(row, name, _SHARED.get(value, value) if name == "status" else value)
        if update and ("name" in update or "image" in update):
            row.search_text = f"{row.name}\n{row.image}\n{row.template_id}".lower()
        return row

    def to_model(self) -> TemplateData:
        """The SDK's model of this template (loads pydantic: for code that needs a real one)."""
        from in10nt_desktop.api import TemplateData

        return TemplateData.model_validate(self.as_json())

    @property
    def building(self) -> bool:
        return self.status == "building"

    @property
    def stage(self) -> str:
        """The status, with a build split into "queued" (waiting for a slot, the engine's phase says so)
        and "running" (any other phase, or none given: a server without phases)."""
        if self.status != "building":
            return self.status
        return "queued" if self.phase == "queued" else "running"

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
                and self.layers == other.layers and self.stalled == other.stalled
                and self.expected_seconds == other.expected_seconds and self.started_at == other.started_at
                and self.build_count == other.build_count and self.needs_credentials == other.needs_credentials
                and self.registry_username == other.registry_username
                and self.stalled_reason == other.stalled_reason and self.extra == other.extra)

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

"""Rows the API sends, as pydantic models.

Field names are snake_case in Python and camelCase on the wire (as in the seed). Every model
keeps fields it does not know (``extra="allow"``): the hosted service may add some, and a
client that drops them would lose data on a round trip.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

if TYPE_CHECKING:
    from in10nt_desktop.api.http import HttpCore

# The one list of registry types: validation, the engine's OpenAPI schema and the CLI's choices use it.
# Rows keep ``registryType`` and ``status`` as plain strings: a value the hosted service adds must not be fatal.
REGISTRY_TYPES: tuple[str, ...] = ("dockerhub", "private", "gcr")


class _Row(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class BoundRow(BaseModel):
    """A row that remembers the client that fetched it, so it can act itself (``t.delete()``,
    ``i.run(task)``) as in the seed's SDK."""

    _http: HttpCore | None = PrivateAttr(default=None)

    def _bind(self, http: HttpCore) -> Self:
        self._http = http
        return self

    def _core(self) -> HttpCore:
        if self._http is None:
            raise RuntimeError(f"this {type(self).__name__} is not bound to a client")
        return self._http


class RegistryAuth(BaseModel):
    """Registry credentials. The password is a ``SecretStr`` so it never shows in a repr or log."""

    model_config = ConfigDict(frozen=True)

    username: str
    password: SecretStr

    def to_wire(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password.get_secret_value()}


class Progress(_Row):
    current: int = 0
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, max(0.0, self.current / self.total))


class TemplateData(_Row):
    @model_validator(mode="before")
    @classmethod
    def _drop_echoed_credentials(cls, data: Any) -> Any:
        # The contract says servers never echo registryAuth; if one does, keep it out of reprs and --json.
        if isinstance(data, dict) and ("registryAuth" in data or "registry_auth" in data):
            data = {k: v for k, v in data.items() if k not in ("registryAuth", "registry_auth")}
        return data

    template_id: str = Field(validation_alias=AliasChoices("templateId", "template_id", "id"),
                             serialization_alias="templateId")
    name: str = ""
    description: str | None = None
    image: str = ""
    registry_type: str = Field(default="dockerhub",
                               validation_alias=AliasChoices("registryType", "registry_type"),
                               serialization_alias="registryType")
    status: str = "building"
    error: str | None = None
    created_at: datetime | None = Field(default=None,
                                        validation_alias=AliasChoices("createdAt", "created_at"),
                                        serialization_alias="createdAt")
    updated_at: datetime | None = Field(default=None,
                                        validation_alias=AliasChoices("updatedAt", "updated_at"),
                                        serialization_alias="updatedAt")
    digest: str | None = None
    size_bytes: int | None = Field(default=None, validation_alias=AliasChoices("sizeBytes", "size_bytes"),
                                   serialization_alias="sizeBytes")
    platform: str | None = None
    layers: int | None = None
    progress: Progress | None = None
    # While building, on servers that say it (the local engine): queued | resolving | pulling | finishing.
    phase: str | None = None
    queue_position: int | None = Field(default=None, validation_alias=AliasChoices("queuePosition", "queue_position"),
                                       serialization_alias="queuePosition")  # 1-based, only while queued


class StatusInfo(_Row):
    template_id: str = Field(validation_alias=AliasChoices("templateId", "template_id", "id"),
                             serialization_alias="templateId")
    status: str
    error: str | None = None
    progress: Progress | None = None
    phase: str | None = None
    queue_position: int | None = Field(default=None, validation_alias=AliasChoices("queuePosition", "queue_position"),
                                       serialization_alias="queuePosition")
    updated_at: datetime | None = Field(default=None,
                                        validation_alias=AliasChoices("updatedAt", "updated_at"),
                                        serialization_alias="updatedAt")


class SavedTemplate(_Row):
    name: str = Field(validation_alias=AliasChoices("name", "templateName"))
    size_bytes: int | None = Field(default=None, validation_alias=AliasChoices("sizeBytes", "size_bytes"),
                                   serialization_alias="sizeBytes")
    created_at: datetime | None = Field(default=None,
                                        validation_alias=AliasChoices("createdAt", "created_at"),
                                        serialization_alias="createdAt")
    source_instance_id: str | None = Field(default=None,
                                           validation_alias=AliasChoices("sourceInstanceId", "instanceId"),
                                           serialization_alias="sourceInstanceId")
    container_template_id: str | None = Field(default=None,
                                              validation_alias=AliasChoices("containerTemplateId"),
                                              serialization_alias="containerTemplateId")
    image: str | None = None  # local engine: the image the snapshot was committed to


class InstanceData(_Row):
    instance_id: str = Field(validation_alias=AliasChoices("instanceId", "instance_id", "id"),
                             serialization_alias="instanceId")
    name: str = ""
    description: str | None = None
    container_template_id: str | None = Field(default=None,
                                              validation_alias=AliasChoices("containerTemplateId"),
                                              serialization_alias="containerTemplateId")
    saved_template_name: str | None = Field(default=None, validation_alias=AliasChoices("savedTemplateName"),
                                            serialization_alias="savedTemplateName")
    status: str = "creating"
    error: str | None = None
    created_at: datetime | None = Field(default=None,
                                        validation_alias=AliasChoices("createdAt", "created_at"),
                                        serialization_alias="createdAt")


class RunResult(_Row):
    exit_code: int | None = Field(default=None, validation_alias=AliasChoices("exitCode", "exit_code"),
                                  serialization_alias="exitCode")
    output: str = ""
    started_at: datetime | None = Field(default=None, validation_alias=AliasChoices("startedAt"),
                                        serialization_alias="startedAt")
    finished_at: datetime | None = Field(default=None, validation_alias=AliasChoices("finishedAt"),
                                         serialization_alias="finishedAt")
    # The local engine says when it stopped a task or cut its output (the output text says so too).
    timed_out: bool = Field(default=False, validation_alias=AliasChoices("timedOut", "timed_out"),
                            serialization_alias="timedOut")
    output_truncated: bool = Field(default=False, validation_alias=AliasChoices("outputTruncated"),
                                   serialization_alias="outputTruncated")


class LogLine(_Row):
    n: int
    text: str
    at: datetime | None = None


class BuildLog(_Row):
    template_id: str = Field(default="", validation_alias=AliasChoices("templateId", "template_id"),
                             serialization_alias="templateId")
    lines: list[LogLine] = Field(default_factory=list)
    next: int = 0
    status: str | None = None


def unwrap_list(payload: Any, *keys: str) -> list[Any]:
    """A list answer may be a bare array or an envelope; the hosted shape is not documented."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in (*keys, "data", "items", "results"):
            value = payload.get(key)
            if isinstance(value, list):
                return value
    raise ValueError("the server's list answer has no list in it")


def unwrap_item(payload: Any, *keys: str) -> Any:
    """A single item may also come wrapped (``{"template": {...}}``)."""
    if isinstance(payload, dict):
        for key in (*keys, "data"):
            value = payload.get(key)
            if isinstance(value, dict):
                return value
    return payload

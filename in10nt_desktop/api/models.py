"""Rows the API sends, as pydantic models.

Field names are snake_case in Python and camelCase on the wire (as in the seed). Every model
keeps fields it does not know (``extra="allow"``): the hosted service may add some, and a
client that drops them would lose data on a round trip.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from in10nt_desktop.api.validation import REGISTRY_TYPES

__all__ = ["REGISTRY_TYPES", "BoundRow", "BuildLog", "InstanceData", "LogLine", "Progress", "RegistryAuth", "RunResult",
           "SavedTemplate", "StatusInfo", "TemplateData"]

if TYPE_CHECKING:
    from in10nt_desktop.api.http import HttpCore

# Rows keep ``registryType`` and ``status`` as plain strings: a value the hosted service adds must not be fatal.


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
    # Build records (the local engine; absent elsewhere, hence the defaults).
    build_count: int | None = Field(default=None, validation_alias=AliasChoices("buildCount", "build_count"),
                                    serialization_alias="buildCount")
    # The last build was given registry credentials, so a rebuild needs them again (never stored).
    needs_credentials: bool = Field(default=False,
                                    validation_alias=AliasChoices("needsCredentials", "needs_credentials"),
                                    serialization_alias="needsCredentials")
    registry_username: str | None = Field(default=None,
                                          validation_alias=AliasChoices("registryUsername", "registry_username"),
                                          serialization_alias="registryUsername")
    started_at: datetime | None = Field(default=None, validation_alias=AliasChoices("startedAt", "started_at"),
                                        serialization_alias="startedAt")  # the current/last build left the queue
    # While building: the median duration of recent successful builds of the same image; None: not known.
    expected_seconds: float | None = Field(default=None,
                                           validation_alias=AliasChoices("expectedSeconds", "expected_seconds"),
                                           serialization_alias="expectedSeconds")
    stalled: bool = False  # while building: no data from the registry for the engine's --stall-seconds
    stalled_reason: str | None = Field(default=None, validation_alias=AliasChoices("stalledReason", "stalled_reason"),
                                       serialization_alias="stalledReason")


class BuildPhase(_Row):
    name: str  # queued | resolving | pulling | finishing
    started_at: datetime | None = Field(default=None, validation_alias=AliasChoices("startedAt", "started_at"),
                                        serialization_alias="startedAt")
    ended_at: datetime | None = Field(default=None, validation_alias=AliasChoices("endedAt", "ended_at"),
                                      serialization_alias="endedAt")  # None: running (or cut by a restart)
    seconds: float | None = None


class BuildLayer(_Row):
    digest: str
    size_bytes: int | None = Field(default=None, validation_alias=AliasChoices("sizeBytes", "size_bytes"),
                                   serialization_alias="sizeBytes")
    bytes_done: int = Field(default=0, validation_alias=AliasChoices("bytesDone", "bytes_done"),
                            serialization_alias="bytesDone")
    state: str = "waiting"  # waiting | pulling | done | already present
    seconds: float | None = None


class BuildRecord(_Row):
    """One build of a template (GET /container-templates/{id}/builds, the local engine)."""

    build_id: str = Field(validation_alias=AliasChoices("buildId", "build_id"), serialization_alias="buildId")
    number: int = 0
    trigger: str = "create"  # create | rebuild | restart
    queued_at: datetime | None = Field(default=None, validation_alias=AliasChoices("queuedAt", "queued_at"),
                                       serialization_alias="queuedAt")
    started_at: datetime | None = Field(default=None, validation_alias=AliasChoices("startedAt", "started_at"),
                                        serialization_alias="startedAt")
    finished_at: datetime | None = Field(default=None, validation_alias=AliasChoices("finishedAt", "finished_at"),
                                         serialization_alias="finishedAt")
    result: str = "building"  # building | ready | failed
    error: str | None = None
    digest: str | None = None
    size_bytes: int | None = Field(default=None, validation_alias=AliasChoices("sizeBytes", "size_bytes"),
                                   serialization_alias="sizeBytes")
    phases: list[BuildPhase] = Field(default_factory=list)
    layers: list[BuildLayer] = Field(default_factory=list)
    # The build's lines in GET …/logs: n from log_from to log_to (None while it runs).
    log_from: int = Field(default=1, validation_alias=AliasChoices("logFrom", "log_from"),
                          serialization_alias="logFrom")
    log_to: int | None = Field(default=None, validation_alias=AliasChoices("logTo", "log_to"),
                               serialization_alias="logTo")

    @property
    def seconds(self) -> float | None:
        """Start to end (the queue left out); None until it has both."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


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

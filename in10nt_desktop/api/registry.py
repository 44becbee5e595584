"""``client.registry``: ask the server whether an image can be built, before building it.

``POST /registry/check`` and ``POST /container-templates/{id}/drift`` are the local engine's
extensions (the hosted service may not have them): ``available()`` says so without guessing,
and a caller hides the feature when it is False rather than inventing an answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import AliasChoices, Field

from in10nt_desktop.api.errors import APIError, NotFoundError, ValidationError
from in10nt_desktop.api.models import RegistryAuth, _Row
from in10nt_desktop.api.validation import FieldError, parse_image, registry_type_for

if TYPE_CHECKING:
    from in10nt_desktop.api.http import HttpCore

# The engine's own bound is 10 s; the HTTP read waits a little longer so its sentence arrives first.
CHECK_TIMEOUT = 10.0
MIN_CHECK_TIMEOUT, MAX_CHECK_TIMEOUT = 0.5, 60.0  # what the engine accepts as timeoutSeconds
_MARGIN = 5.0


class CheckProblem(_Row):
    """Why a check failed: ``field`` names what to fix (``image``, ``registryAuth``, ``registryAuth.password``)."""

    code: str = ""
    message: str = ""
    field: str | None = None


class RegistryCheck(_Row):
    ok: bool = False
    image: str = ""
    registry: str | None = None  # as people name it: "Docker Hub", "registry.example.com"
    registry_type: str | None = Field(default=None, validation_alias=AliasChoices("registryType", "registry_type"),
                                      serialization_alias="registryType")
    digest: str | None = None
    platform: str | None = None  # the one a build here would use
    platforms: list[str] = Field(default_factory=list)
    size_bytes: int | None = Field(default=None, validation_alias=AliasChoices("sizeBytes", "size_bytes"),
                                   serialization_alias="sizeBytes")
    layers: int | None = None
    needs_credentials: bool = Field(default=False,
                                    validation_alias=AliasChoices("needsCredentials", "needs_credentials"),
                                    serialization_alias="needsCredentials")
    elapsed_ms: int | None = Field(default=None, validation_alias=AliasChoices("elapsedMs", "elapsed_ms"),
                                   serialization_alias="elapsedMs")
    error: CheckProblem | None = None


class DriftInfo(_Row):
    template_id: str = Field(default="", validation_alias=AliasChoices("templateId", "template_id"),
                             serialization_alias="templateId")
    drifted: bool | None = None  # None: the registry could not say (``error`` tells why); never a guess
    built_digest: str | None = Field(default=None, validation_alias=AliasChoices("builtDigest", "built_digest"),
                                     serialization_alias="builtDigest")
    current_digest: str | None = Field(default=None,
                                       validation_alias=AliasChoices("currentDigest", "current_digest"),
                                       serialization_alias="currentDigest")
    checked_at: datetime | None = Field(default=None, validation_alias=AliasChoices("checkedAt", "checked_at"),
                                        serialization_alias="checkedAt")
    error: CheckProblem | None = None


def implied_registry_type(image: str) -> str:
    """The type the image's host implies; a malformed image gets the server's own sentence about it."""
    try:
        return registry_type_for(parse_image(image)) or "dockerhub"
    except FieldError:
        return "dockerhub"


def timed_body(registry_auth: RegistryAuth | None, timeout: float | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if registry_auth is not None:
        body["registryAuth"] = registry_auth.to_wire()
    if timeout is not None:
        body["timeoutSeconds"] = timeout
    return body


class RegistryResource:
    def __init__(self, http: HttpCore) -> None:
        self._http = http

    async def check(self, image: str, *, registry_type: str | None = None,
                    registry_auth: RegistryAuth | None = None, timeout: float | None = None) -> RegistryCheck:
        """What a build of ``image`` would find (digest, platforms, size), or why it would fail.

        ``registry_type`` defaults to what the image's host implies (as the wizard and the CLI do).
        A refused password or a missing tag is an answer (``ok`` False, ``error`` says which field),
        not an exception; ``ValidationError`` is for a malformed request, ``NotFoundError`` for a
        server without the check. ``timeout`` (seconds, 0.5-60) bounds the whole check on the server.
        """
        body = {"image": image, "registryType": registry_type or implied_registry_type(image),
                **timed_body(registry_auth, timeout)}
        # Never retried: a check is cheap to ask again, and a retry would double a slow registry's wait.
        return await self._http.item(RegistryCheck, "POST", "/registry/check", json=body, retry=False,
                                     timeout=(timeout or CHECK_TIMEOUT) + _MARGIN)

    async def available(self, timeout: float = 5.0) -> bool:
        """True when the server has ``/registry/check`` (and the drift check with it).

        An empty body costs the server nothing: ours refuses it with a 422 naming ``image``; a server
        without the route answers 404 (or 405).
        """
        try:
            await self._http.request("POST", "/registry/check", json={}, retry=False, timeout=timeout)
        except ValidationError:
            return True
        except NotFoundError:
            return False
        except APIError as exc:
            if exc.status == 405:
                return False
            raise
        return True

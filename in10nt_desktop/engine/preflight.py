"""Know before you build: check an image on its registry, and whether a built template's tag has moved.

A check is the first step of a build (``resolver.resolve``: the same auth flow, the same reads,
the same limits) and nothing else: no pull, no row, no log line, nothing written anywhere. Its
answer says what the build would find (digest, platforms, compressed size) or, field by field,
why the build would fail. Credentials are used for the one check and dropped; they never appear
in an answer.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from in10nt_desktop.api.models import REGISTRY_TYPES
from in10nt_desktop.api.registry import CHECK_TIMEOUT, MAX_CHECK_TIMEOUT, MIN_CHECK_TIMEOUT
from in10nt_desktop.api.validation import (
    Credentials,
    FieldError,
    ImageRef,
    check_gcr_key,
    check_registry_auth,
    check_registry_fit,
    parse_image,
)
from in10nt_desktop.engine.mirrors import endpoint_for
from in10nt_desktop.engine.registry import RegistryError, RegistrySession
from in10nt_desktop.engine.resolver import Resolved, resolve

DEFAULT_TIMEOUT = CHECK_TIMEOUT
MIN_TIMEOUT, MAX_TIMEOUT = MIN_CHECK_TIMEOUT, MAX_CHECK_TIMEOUT
# Checks run beside builds on the same HTTP client; more than this many at once wait their turn
# (inside their own time limit), so a client checking a thousand templates cannot crowd out builds.
MAX_CONCURRENT_CHECKS = 8


@dataclass(frozen=True)
class CheckRequest:
    ref: ImageRef
    image: str
    registry_type: str
    auth: Credentials | None = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT


def read_timeout(body: dict[str, Any]) -> float:
    value = body.get("timeoutSeconds", DEFAULT_TIMEOUT)
    if isinstance(value, bool) or not isinstance(value, int | float) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        raise FieldError("timeoutSeconds", f"timeoutSeconds must be a number from {MIN_TIMEOUT:g} to "
                                           f"{MAX_TIMEOUT:g} (seconds).")
    return float(value)


def read_check_request(body: Any) -> CheckRequest:
    """The create body's image rules, without the name: ``image`` and ``registryType`` required.

    The registry password is checked as in a create (its length and characters); a GCR key's
    contents are the check's own finding, not a refusal (``check_key``), as they are the build's.
    """
    if not isinstance(body, dict):
        raise FieldError("body", "The request body must be a JSON object.")
    image = body.get("image")
    if not isinstance(image, str):
        raise FieldError("image", "Enter a base image, for example python:3.11-slim.")
    registry_type = body.get("registryType")
    if registry_type not in REGISTRY_TYPES:
        raise FieldError("registryType", f"Choose a registry type: {', '.join(REGISTRY_TYPES)}.")
    ref = parse_image(image)
    check_registry_fit(ref, registry_type)
    auth = check_registry_auth(body.get("registryAuth"), registry_type, key_contents=False)
    return CheckRequest(ref, image, registry_type, auth, read_timeout(body))


def _error(code: str, message: str, field: str | None) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field}


def describe_failure(exc: RegistryError, ref: ImageRef, auth: Credentials | None,
                     where: str) -> dict[str, Any]:
    """``{code, message, field}``: which field the user should look at, and a sentence about it."""
    if exc.kind == "auth":
        if auth is None:
            return _error("credentials_required", str(exc), "registryAuth")
        return _error("credentials_rejected", str(exc), "registryAuth.password")
    if exc.kind == "not_found":
        if exc.code == "NO_PLATFORM":
            return _error("platform_missing", str(exc), "image")
        if exc.code == "MANIFEST_UNKNOWN" and ref.digest is None:
            return _error("tag_not_found", f"No tag {ref.reference} in {ref.path} on {where} — tags are "
                                           "checked, not listed.", "image")
        if exc.code == "NAME_UNKNOWN":
            return _error("repository_not_found", f"No repository {ref.path} on {where}.", "image")
        return _error("not_found", str(exc), "image")
    if exc.kind in ("unreachable", "tls"):
        return _error(exc.kind, str(exc), "image")
    if exc.kind == "timeout":
        return _error("timeout", str(exc), None)
    if exc.kind == "rate_limit":
        return _error("rate_limited", str(exc), None)
    return _error("protocol", str(exc), None)


def _timed_out(where: str, seconds: float) -> dict[str, Any]:
    return _error("timeout", f"{where} did not answer within {seconds:g} s; the registry may be slow or "
                             "unreachable. Try again, or check the image's host.", None)


class Preflight:
    """Checks on the engine's one registry client; holds no state but a bound on concurrency."""

    def __init__(self, http: httpx.AsyncClient, mirrors: dict[str, str], platform: str | None) -> None:
        self.http = http
        self._mirrors = mirrors
        self._platform = platform
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_CHECKS)

    def where(self, ref: ImageRef) -> str:
        return endpoint_for(ref.registry, self._mirrors).display

    async def check(self, req: CheckRequest) -> dict[str, Any]:
        """``/registry/check``'s answer; never raises for what the registry did."""
        started = time.monotonic()
        where = self.where(req.ref)
        answer: dict[str, Any] = {
            "ok": False, "image": req.image, "registryType": req.registry_type, "registry": where,
            "digest": None, "platform": None, "platforms": [], "sizeBytes": None, "layers": None,
            "needsCredentials": False, "error": None,
        }
        try:
            if req.auth is not None:
                check_gcr_key(req.auth, req.registry_type)  # a GCR key that is not one: the build would fail
            async with asyncio.timeout(req.timeout), self._slots:
                resolved = await self._resolve(req)
        except FieldError as exc:
            answer["error"] = _error("credentials_invalid", exc.message, exc.field)
        except TimeoutError:
            answer["error"] = _timed_out(where, req.timeout)
        except RegistryError as exc:
            answer["error"] = describe_failure(exc, req.ref, req.auth, where)
            answer["needsCredentials"] = exc.kind == "auth"
        else:
            answer.update(ok=True, digest=resolved.digest, platform=resolved.platform,
                          platforms=list(resolved.platforms), sizeBytes=resolved.size_bytes,
                          layers=resolved.layers)
        answer["elapsedMs"] = round((time.monotonic() - started) * 1000)
        return answer

    async def _resolve(self, req: CheckRequest) -> Resolved:
        try:
            return await resolve(self.http, req.ref, req.auth, mirrors=self._mirrors, platform=self._platform)
        except RegistryError as exc:
            if exc.code != "MANIFEST_UNKNOWN" or req.ref.digest is not None:
                raise
            # A missing tag or a missing repository? Distribution says MANIFEST_UNKNOWN for both; its tag
            # list (one entry asked for, never shown) says NAME_UNKNOWN when the repository does not exist.
            endpoint = endpoint_for(req.ref.registry, self._mirrors)
            session = RegistrySession(self.http, endpoint, req.ref.repository, req.auth)
            try:
                # Read like an error answer (at most 64 KiB, the rest dropped): only its status and code matter.
                await session.get("tags/list?n=1", "application/json", f"{req.ref.repository} tags", "error")
            except RegistryError as probe:
                if probe.code == "NAME_UNKNOWN":
                    raise probe from None
            raise

    async def tag_digest(self, ref: ImageRef, auth: Credentials | None, timeout: float) -> str:
        """What ``ref``'s tag points to now: one manifest read (its digest is what a build pins)."""
        endpoint = endpoint_for(ref.registry, self._mirrors)
        async with asyncio.timeout(timeout), self._slots:
            session = RegistrySession(self.http, endpoint, ref.repository, auth)
            return (await session.manifest(ref.reference)).digest

    async def drift(self, template: dict[str, Any], auth: Credentials | None, timeout: float,
                    now: str) -> dict[str, Any]:
        """``/container-templates/{id}/drift``'s answer for a template that has a pinned digest."""
        built = str(template["digest"])
        answer: dict[str, Any] = {"templateId": template["templateId"], "image": template["image"],
                                  "drifted": None, "builtDigest": built, "currentDigest": None,
                                  "checkedAt": now, "error": None}
        ref = parse_image(str(template["image"]))
        if ref.digest is not None:  # pinned by the user: the tag (if any) is never followed
            answer.update(drifted=False, currentDigest=ref.digest)
            return answer
        where = self.where(ref)
        try:
            current = await self.tag_digest(ref, auth, timeout)
        except TimeoutError:
            answer["error"] = _timed_out(where, timeout)
        except RegistryError as exc:
            # Unknown is not "moved": the caller keeps what it showed before.
            answer["error"] = describe_failure(exc, ref, auth, where)
        else:
            answer.update(drifted=current != built, currentDigest=current)
        return answer

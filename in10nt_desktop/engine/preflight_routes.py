"""``POST /registry/check`` and ``POST /container-templates/{id}/drift``: the HTTP face of engine/preflight.py.

Both answer 200 with a result whatever the registry did (a refused password is a result, not an
engine failure); only a malformed request (422), an unknown template (404) or a template with
nothing pinned yet (409) is an error answer. Neither writes anything: no row, no log line.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from in10nt_desktop.api.validation import FieldError, check_registry_auth
from in10nt_desktop.engine.preflight import (
    DEFAULT_TIMEOUT,
    MAX_TIMEOUT,
    MIN_TIMEOUT,
    Preflight,
    read_check_request,
    read_timeout,
)
from in10nt_desktop.engine.store import Store, now_iso

_AUTH = {"type": "object", "required": ["username", "password"], "properties": {
    "username": {"type": "string"}, "password": {"type": "string", "format": "password"}}}
_TIMEOUT = {"type": "number", "minimum": MIN_TIMEOUT, "maximum": MAX_TIMEOUT, "default": DEFAULT_TIMEOUT,
            "description": "seconds the whole check may take; past it the answer is a timeout sentence"}
_ERROR = {"type": ["object", "null"], "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                                                     "field": {"type": ["string", "null"]}}}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **({"required": required} if required else {})}


def _openapi(body: dict[str, Any], body_required: bool, answer: dict[str, Any], what: str) -> dict[str, Any]:
    return {"requestBody": {"required": body_required, "content": {"application/json": {"schema": body}}},
            "responses": {"200": {"description": what, "content": {"application/json": {"schema": answer}}}}}


_NULLABLE_STR = {"type": ["string", "null"]}
CHECK_OPENAPI = _openapi(
    _object({"image": {"type": "string", "example": "python:3.11-slim"},
             "registryType": {"type": "string", "enum": ["dockerhub", "private", "gcr"],
                              "description": "default: what the image's host implies"},
             "registryAuth": _AUTH, "timeoutSeconds": _TIMEOUT}, ["image"]),
    True,
    _object({"ok": {"type": "boolean"}, "image": {"type": "string"}, "registry": {"type": "string"},
             "digest": _NULLABLE_STR, "platform": _NULLABLE_STR,
             "platforms": {"type": "array", "items": {"type": "string"}},
             "sizeBytes": {"type": ["integer", "null"], "description": "compressed layers of the chosen platform"},
             "layers": {"type": ["integer", "null"]},
             "needsCredentials": {"type": "boolean",
                                  "description": "the registry refused the image without (valid) credentials"},
             "elapsedMs": {"type": "integer"}, "error": _ERROR}),
    "The check's result, also when the registry refused (ok is false and error says why)")
DRIFT_OPENAPI = _openapi(
    _object({"registryAuth": _AUTH, "timeoutSeconds": _TIMEOUT}), False,
    _object({"drifted": {"type": ["boolean", "null"]}, "builtDigest": {"type": "string"},
             "currentDigest": _NULLABLE_STR, "checkedAt": {"type": "string"}, "error": _ERROR}),
    "drifted is null when the registry could not say (error tells why)")


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status_code=status,
                    media_type="application/json")


def _refusal(status: int, code: str, message: str, field: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return _json({"error": error}, status)


async def _body(request: Request, required: bool) -> dict[str, Any] | Response:
    raw = await request.body()
    if not raw.strip() and not required:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        return _refusal(400, "invalid_json", "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return _refusal(422, "invalid", "The request body must be a JSON object.", "body")
    return body


def preflight_router(http: Callable[[], httpx.AsyncClient], store: Callable[[], Store], mirrors: dict[str, str],
                     platform: str | None) -> APIRouter:
    """``http`` and ``store`` are read per request: the engine makes them in its lifespan, after this."""
    router = APIRouter()
    made: list[Preflight] = []

    def preflight() -> Preflight:
        client = http()
        if not made or made[0].http is not client:  # one per client: its bound on concurrent checks is shared
            made[:] = [Preflight(client, mirrors, platform)]
        return made[0]

    @router.post("/registry/check", summary="Check an image on its registry (nothing is pulled or stored)",
                 openapi_extra=CHECK_OPENAPI, response_class=Response)
    async def check(request: Request) -> Response:
        body = await _body(request, required=True)
        if isinstance(body, Response):
            return body
        try:
            req = read_check_request(body)
        except FieldError as exc:
            return _refusal(422, "invalid", exc.message, exc.field)
        return _json(await preflight().check(req))

    @router.post("/container-templates/{template_id}/drift", summary="Has the template's tag moved since its build?",
                 openapi_extra=DRIFT_OPENAPI, response_class=Response)
    async def drift(template_id: str, request: Request) -> Response:
        body = await _body(request, required=False)
        if isinstance(body, Response):
            return body
        template = store().get_template(template_id)
        if template is None:
            return _refusal(404, "not_found", f"No template with ID {template_id}.")
        try:
            auth = check_registry_auth(body.get("registryAuth"), str(template["registryType"]))
            timeout = read_timeout(body)
        except FieldError as exc:
            return _refusal(422, "invalid", exc.message, exc.field)
        if not template.get("digest"):
            return _refusal(409, "not_built", f"Template {template_id} has no pinned digest yet "
                                              f"({template['status']}): drift is checked once a build has "
                                              "resolved the image.")
        return _json(await preflight().drift(template, auth, timeout, now_iso()))

    return router

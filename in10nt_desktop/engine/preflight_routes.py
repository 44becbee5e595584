"""``POST /registry/check`` and ``POST /container-templates/{id}/drift``: the HTTP face of engine/preflight.py.

Both answer 200 with a result whatever the registry did (a refused password is a result, not an
engine failure); only a malformed body (400, 422), an unknown template (404) or a template with
nothing pinned yet (409) is an error answer. Neither writes anything: no row, no log line. Their
OpenAPI description (bodies, answers, every status) is in engine/openapi.py with the others'.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response

from in10nt_desktop.api.validation import FieldError, check_registry_auth
from in10nt_desktop.engine.limits import BadBody, decode_json_body
from in10nt_desktop.engine.preflight import Preflight, read_check_request, read_timeout
from in10nt_desktop.engine.store import Store
from in10nt_desktop.engine.store_schema import now_iso

CHECK_DESCRIPTION = """\
What a build of the image would find, or why it would fail, without pulling or storing anything: the
build's own resolve (auth flow, reads, limits), bounded by `timeoutSeconds` (default 10). A registry's
refusal is an answer (200, `ok: false`, `error.field` names what to fix), not an error status.
"""
DRIFT_DESCRIPTION = """\
Reads the template's tag once and compares it with the digest its build pinned. The engine keeps no
credentials: send `registryAuth` again for a private image. `drifted` is null when the registry could
not say (`error` tells why); an image pinned by digest never drifts. 409 before a build pinned a digest.
"""


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status_code=status,
                    media_type="application/json")


def _refusal(status: int, code: str, message: str, field: str | None = None) -> Response:
    error: dict[str, Any] = {"code": code, "message": message}
    if field:
        error["field"] = field
    return _json({"error": error}, status)


async def json_object_body(request: Request, required: bool) -> dict[str, Any] | Response:
    """The body as a JSON object (``{}`` when empty and not ``required``), or the error answer (also for
    POST …/rebuild, engine/build_routes.py)."""
    raw = await request.body()
    if not raw.strip() and not required:
        return {}
    try:
        body = decode_json_body(raw)
    except BadBody as exc:
        return _refusal(400, "invalid_json", str(exc))
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

    # The request and answer schemas are in engine/openapi.py, with every other operation's.
    @router.post("/registry/check", summary="Check an image on its registry (nothing is pulled or stored)",
                 description=CHECK_DESCRIPTION, response_class=Response)
    async def check(request: Request) -> Response:
        body = await json_object_body(request, required=True)
        if isinstance(body, Response):
            return body
        try:
            req = read_check_request(body)
        except FieldError as exc:
            return _refusal(422, "invalid", exc.message, exc.field)
        return _json(await preflight().check(req))

    @router.post("/container-templates/{template_id}/drift", summary="Has the template's tag moved since its build?",
                 description=DRIFT_DESCRIPTION, response_class=Response)
    async def drift(template_id: str, request: Request) -> Response:
        body = await json_object_body(request, required=False)
        if isinstance(body, Response):
            return body
        template = store().get_template(template_id)
        if template is None:
            return _refusal(404, "not_found", f"No template with ID {template_id}.")
        try:
            auth = check_registry_auth(body.get("registryAuth"), str(template["registryType"]), key_contents=False)
            timeout = read_timeout(body)
        except FieldError as exc:
            return _refusal(422, "invalid", exc.message, exc.field)
        if not template.get("digest"):
            return _refusal(409, "not_built", f"Template {template_id} has no pinned digest yet "
                                              f"({template['status']}): drift is checked once a build has "
                                              "resolved the image.")
        return _json(await preflight().drift(template, auth, timeout, now_iso()))

    return router

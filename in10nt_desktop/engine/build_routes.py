"""Ours: a template's build history (GET …/builds) and building it again in place (POST …/rebuild).

A rebuild keeps the template's id and row: the template becomes ``building`` with its build
count one up, and a new record joins the history (the old failure stays in it). Credentials are
never stored, so a template whose last build was given some (``needsCredentials``) must be sent
them again; the username is kept and shown so a form can be prefilled. An Idempotency-Key makes a
retried POST answer the same rebuild instead of starting another one. A template still building is
refused (``build_running``) unless the stall watchdog flagged its build: a stalled build holds a
build slot until the pull timeout, so a rebuild cancels it first, ends its record ``failed`` with
why, and starts the new one; a healthy build is never stopped by a rebuild. The OpenAPI
description of both routes is in engine/openapi.py, with every other route's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import Response

from in10nt_desktop.api.validation import (
    Credentials,
    FieldError,
    check_idempotency_key,
    check_registry_auth,
    parse_image,
)
from in10nt_desktop.engine.build_records import MAX_RECORDS
from in10nt_desktop.engine.builds import BuildManager
from in10nt_desktop.engine.openapi import REBUILD_DESCRIPTION
from in10nt_desktop.engine.preflight_routes import json_object_body
from in10nt_desktop.engine.store import Store

BUILD_RUNNING = ("Template {template_id} is still building and has not stalled; wait for the build to end (or "
                 "delete the template). A rebuild stops a build only once it is flagged stalled (its registry "
                 "sent nothing for {seconds:g} s).")


def rebuild_fingerprint(template_id: str, auth: Credentials | None) -> str:
    """What a rebuild's Idempotency-Key is bound to: the template and the username, never the password."""
    canonical = json.dumps({"rebuild": template_id, "username": auth.username if auth else None}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def build_router(store: Callable[[], Store], builds: Callable[[], BuildManager],
                 json_response: Callable[..., Response], error_response: Callable[..., Response]) -> APIRouter:
    router = APIRouter()

    def not_found(template_id: str) -> Response:
        return error_response(404, "not_found", f"No template with ID {template_id}.")

    def still_running(template_id: str) -> Response:
        sentence = BUILD_RUNNING.format(template_id=template_id, seconds=builds().settings.stall_seconds)
        return error_response(409, "build_running", sentence)

    @router.get("/container-templates/{template_id}/builds", summary="Build history, newest first (ours)",
                description=f"At most {MAX_RECORDS} records are kept per template.")
    async def list_builds(template_id: str) -> Response:
        if store().get_template(template_id) is None:
            return not_found(template_id)
        return json_response({"templateId": template_id, "builds": builds().records(template_id)})

    @router.post("/container-templates/{template_id}/rebuild", status_code=202,
                 summary="Build a template again, same id, new record (ours)", description=REBUILD_DESCRIPTION)
    async def rebuild(template_id: str, request: Request) -> Response:
        template = store().get_template(template_id)
        if template is None:
            return not_found(template_id)
        body = await json_object_body(request, required=False)
        if isinstance(body, Response):
            return body
        try:
            # A GCR key's contents are the build's to check, as for a create (api/validation.py says why).
            auth = check_registry_auth(body.get("registryAuth"), template["registryType"], key_contents=False)
            key = check_idempotency_key(request.headers.get("idempotency-key"))
        except FieldError as exc:
            return error_response(422, "invalid", exc.message, exc.field)
        fingerprint = rebuild_fingerprint(template_id, auth) if key else None
        if key:
            existing = store().template_for_key(key)
            if existing is not None:
                if existing[0] != template_id or (existing[1] is not None and existing[1] != fingerprint):
                    return error_response(409, "idempotency_key_reused",
                                          "This Idempotency-Key was already used for a different request; send a "
                                          "new key for a new rebuild (the same key only repeats the same request).")
                return json_response(template, 202)  # the rebuild this key already started
        running = template["status"] == "building" or builds().is_building(template_id)
        if running and not builds().is_stalled(template_id):
            return still_running(template_id)
        if template.get("needsCredentials") and auth is None:
            who = f" (username {template['registryUsername']})" if template.get("registryUsername") else ""
            return error_response(422, "credentials_required",
                                  f"This template's last build used registry credentials{who}; send them again "
                                  "in registryAuth to rebuild it (passwords are never stored).", "registryAuth")
        stopped = None
        if running:  # stalled: stopped first, its record ends failed with why
            stopped = await builds().stop_stalled(template_id)
            if stopped is None:
                return still_running(template_id)
            template = store().get_template(template_id)
            if template is None:  # deleted while the build was being stopped
                return not_found(template_id)
        s = store()
        with s.coalesced():  # one template.changed, already building with its new phase
            if stopped is not None:
                builds().close_stopped(*stopped)
            s.begin_rebuild(template_id, idempotency_key=key, request_hash=fingerprint)
            s.append_log(template_id, f"Rebuild requested (build #{template['buildCount'] + 1}"
                         + (", with credentials)" if auth else ")"))
            builds().start(template_id, parse_image(template["image"]), auth, template["registryType"],
                           trigger="rebuild")
        return json_response(s.get_template(template_id), 202)

    return router

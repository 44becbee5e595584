"""``/instances…`` and ``DELETE /saved-templates/{name}``: the HTTP face of engine/instances.py.

Routes read their own JSON bodies (as the template routes do) so every refusal is a field-level
``{"error": …}`` answer. Errors the container engine raises mid-call become sentences here, in one
place, rather than 500s with a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import docker.errors
import requests.exceptions
from fastapi import APIRouter, Request
from fastapi.responses import Response

from in10nt_desktop.engine.instance_rows import InstanceError
from in10nt_desktop.engine.instances import InstanceRuntime

T = TypeVar("T")

_TASK_NOTE = ("Locally a task is a shell command, run with `sh -c` inside the instance's container (the image "
              "needs /bin/sh); the hosted In10nt service runs an agent on the task instead.")


def _body(schema: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required, "properties": schema}}}}}


_NAME = {"type": "string", "minLength": 1, "maxLength": 128}
CREATE_BODY = _body({"name": _NAME, "description": {"type": "string"},
                     "containerTemplateId": {"type": "string", "example": "tmpl_0123456789abcdef"}},
                    ["name", "containerTemplateId"])
CLONE_BODY = _body({"templateName": _NAME, "newInstanceName": _NAME}, ["templateName", "newInstanceName"])
RUN_BODY = _body({"task": {"type": "string", "example": "echo hi > /marker"},
                  "timeout": {"type": "number", "default": 600, "maximum": 86400,
                              "description": "seconds; the task is killed when they run out"}}, ["task"])
SNAPSHOT_BODY = _body({"templateName": _NAME}, ["templateName"])


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status_code=status,
                    media_type="application/json")


async def _read(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise InstanceError(400, "invalid_json", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InstanceError(422, "invalid", "The request body must be a JSON object.", "body")
    return body


async def _guard(work: Awaitable[T]) -> T:
    """The container engine's own failures, as sentences."""
    try:
        return await work
    except docker.errors.ImageNotFound as exc:
        why = str(exc.explanation or exc)[:200]
        raise InstanceError(409, "image_missing", "The image disappeared from the container engine while the "
                                                  f"engine was using it ({why}).") from None
    except docker.errors.NotFound as exc:
        raise InstanceError(404, "gone", "The instance's container disappeared while the engine was using it "
                                         f"({str(exc.explanation or exc)[:200]}).") from None
    except docker.errors.APIError as exc:
        raise InstanceError(500, "container_engine_error",
                            f"The container engine refused: {str(exc.explanation or exc)[:300]}") from None
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
        raise InstanceError(503, "no_container_engine", "The container engine stopped answering; check that "
                                                        "Docker or Podman still runs.") from None


def instance_router(runtime: Callable[[], InstanceRuntime]) -> APIRouter:
    router = APIRouter()
    key_header = "idempotency-key"

    @router.post("/instances", status_code=201, summary="Create an instance from a ready template",
                 openapi_extra=CREATE_BODY,
                 description="Starts a container of the template's image, pinned by digest, that stays up for "
                             "tasks whatever the image's own command does. 409 when the template is not ready or "
                             "the name is taken; 503 when no container engine answers.")
    async def create(request: Request) -> Response:
        body = await _read(request)
        return _json(await _guard(runtime().create(body, request.headers.get(key_header))), 201)

    @router.post("/instances/from-saved-template", status_code=201, openapi_extra=CLONE_BODY,
                 summary="Create an instance from a saved template (a clone of the snapshot)")
    async def clone(request: Request) -> Response:
        body = await _read(request)
        return _json(await _guard(runtime().create_from_saved(body, request.headers.get(key_header))), 201)

    @router.get("/instances", summary="List instances")
    async def list_instances() -> Response:
        return _json(await _guard(runtime().list()))

    @router.get("/instances/{instance_id}", summary="Get an instance")
    async def get_instance(instance_id: str) -> Response:
        return _json(await _guard(runtime().get(instance_id)))

    @router.delete("/instances/{instance_id}", status_code=204, summary="Delete an instance (removes its container)")
    async def delete_instance(instance_id: str) -> Response:
        await _guard(runtime().delete(instance_id))
        return Response(status_code=204)

    @router.post("/instances/{instance_id}/run", summary="Run a task: a shell command (sh -c) in the instance",
                 openapi_extra=RUN_BODY,
                 description=_TASK_NOTE + " Answers `{exitCode, output, startedAt, finishedAt, timedOut, "
                             "outputTruncated, outputBytes}` once the task ends. Output keeps its last 1 MB and "
                             "says when it was cut; a timeout kills the task and says so.")
    async def run(instance_id: str, request: Request) -> Response:
        body = await _read(request)
        return _json(await _guard(runtime().run(instance_id, body)))

    @router.post("/instances/{instance_id}/snapshot", status_code=201, openapi_extra=SNAPSHOT_BODY,
                 summary="Commit the instance to a saved template",
                 description="Answers when the commit is done. The name follows the template name rules and is "
                             "unique (409 on a clash).")
    async def snapshot(instance_id: str, request: Request) -> Response:
        body = await _read(request)
        return _json(await _guard(runtime().snapshot(instance_id, body, request.headers.get(key_header))), 201)

    @router.delete("/saved-templates/{name}", status_code=204,
                   summary="Delete a saved template and its image (409 while an instance uses it)")
    async def delete_saved(name: str) -> Response:
        await _guard(runtime().delete_saved(name))
        return Response(status_code=204)

    return router

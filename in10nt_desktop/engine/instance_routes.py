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
from starlette.convertors import Convertor, register_url_convertor

from in10nt_desktop.api.validation import FieldError, check_idempotency_key
from in10nt_desktop.engine.event_routes import sse_response
from in10nt_desktop.engine.instance_rows import InstanceError
from in10nt_desktop.engine.instances import InstanceRuntime
from in10nt_desktop.engine.limits import BadBody, decode_json_body
from in10nt_desktop.engine.task_stream import PING, TASK_STREAM_NOTE, task_events, wants_stream

T = TypeVar("T")


class _InstanceId(Convertor[str]):
    """Instance routes match instance IDs only, so ``GET /instances/from-saved-template`` is a 405, not a lookup."""

    regex = "inst_[0-9a-f]{16}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("instance_id", _InstanceId())

_TASK_NOTE = ("Locally a task is a shell command, run with `sh -c` inside the instance's container (the image "
              "needs /bin/sh); the hosted In10nt service runs an agent on the task instead.")


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status_code=status,
                    media_type="application/json")


async def _read(request: Request) -> dict[str, Any]:
    try:
        body = decode_json_body(await request.body())
    except BadBody as exc:
        raise InstanceError(400, "invalid_json", str(exc)) from None
    if not isinstance(body, dict):
        raise InstanceError(422, "invalid", "The request body must be a JSON object.", "body")
    return body


def _key(request: Request) -> str | None:
    try:
        return check_idempotency_key(request.headers.get("idempotency-key"))
    except FieldError as exc:
        raise InstanceError(422, "invalid", exc.message, exc.field) from None


def as_instance_error(exc: BaseException) -> InstanceError | None:
    """The container engine's own failures, as sentences (None: not one of them)."""
    if isinstance(exc, InstanceError):
        return exc
    if isinstance(exc, docker.errors.ImageNotFound):
        why = str(exc.explanation or exc)[:200]
        return InstanceError(409, "image_missing", "The image disappeared from the container engine while the "
                                                   f"engine was using it ({why}).")
    if isinstance(exc, docker.errors.NotFound):
        return InstanceError(404, "gone", "The instance's container disappeared while the engine was using it "
                                          f"({str(exc.explanation or exc)[:200]}).")
    if isinstance(exc, docker.errors.APIError):
        return InstanceError(500, "container_engine_error",
                             f"The container engine refused: {str(exc.explanation or exc)[:300]}")
    if isinstance(exc, requests.exceptions.ConnectionError | requests.exceptions.Timeout):
        return InstanceError(503, "no_container_engine", "The container engine stopped answering; check that "
                                                         "Docker or Podman still runs.")
    return None


def _stream_error(exc: BaseException) -> InstanceError:
    """A failure after a streamed task started, for its ``error`` event (anything unforeseen is a 500)."""
    return as_instance_error(exc) or InstanceError(500, "internal_error", "The engine failed while running the "
                                                                          f"task ({type(exc).__name__}).")


async def _guard(work: Awaitable[T]) -> T:
    """The container engine's own failures, as sentences (``as_instance_error``); anything else as it is."""
    try:
        return await work
    except Exception as exc:
        mapped = as_instance_error(exc)
        if mapped is None or mapped is exc:
            raise
        raise mapped from None


def instance_router(runtime: Callable[[], InstanceRuntime]) -> APIRouter:
    router = APIRouter()

    @router.post("/instances", status_code=201, summary="Create an instance from a ready template",
                 description="Starts a container of the template's image, pinned by digest, that stays up for "
                             "tasks whatever the image's own command does. 409 when the template is not ready or "
                             "the name is taken; 503 when no container engine answers.")
    async def create(request: Request) -> Response:
        body = await _read(request)
        return _json(await _guard(runtime().create(body, _key(request))), 201)

    @router.post("/instances/from-saved-template", status_code=201,
                 summary="Create an instance from a saved template (a clone of the snapshot)")
    async def clone(request: Request) -> Response:
        body = await _read(request)
        return _json(await _guard(runtime().create_from_saved(body, _key(request))), 201)

    @router.get("/instances", summary="List instances")
    async def list_instances() -> Response:
        return _json(await _guard(runtime().list()))

    @router.get("/instances/{instance_id:instance_id}", summary="Get an instance")
    async def get_instance(instance_id: str) -> Response:
        return _json(await _guard(runtime().get(instance_id)))

    @router.delete("/instances/{instance_id:instance_id}", status_code=204,
                   summary="Delete an instance (removes its container)")
    async def delete_instance(instance_id: str) -> Response:
        await _guard(runtime().delete(instance_id))
        return Response(status_code=204)

    @router.post("/instances/{instance_id:instance_id}/run",
                 summary="Run a task: a shell command (sh -c) in the instance",
                 description=_TASK_NOTE + " Answers `{exitCode, output, startedAt, finishedAt, timedOut, "
                             "outputTruncated, outputBytes}` once the task ends. Output keeps its last 1 MB and "
                             "says when it was cut; a timeout kills the task and says so. " + TASK_STREAM_NOTE)
    async def run(instance_id: str, request: Request) -> Response:
        body = await _read(request)
        if not wants_stream(request.headers.get("accept")):
            return _json(await _guard(runtime().run(instance_id, body)))
        # Errors until the task runs (404, 409, 422, 429 …) are answered as JSON with their status.
        tap, work = await _guard(runtime().run_streamed(instance_id, body))
        return sse_response(task_events(tap, work, _stream_error), PING)

    @router.post("/instances/{instance_id:instance_id}/snapshot", status_code=201,
                 summary="Commit the instance to a saved template",
                 description="Answers when the commit is done. The name follows the template name rules and is "
                             "unique (409 on a clash).")
    async def snapshot(instance_id: str, request: Request) -> Response:
        body = await _read(request)
        return _json(await _guard(runtime().snapshot(instance_id, body, _key(request))), 201)

    @router.delete("/saved-templates/{name}", status_code=204,
                   summary="Delete a saved template and its image (409 while an instance uses it)")
    async def delete_saved(name: str) -> Response:
        await _guard(runtime().delete_saved(name))
        return Response(status_code=204)

    return router

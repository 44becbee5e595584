"""The engine's HTTP API (FastAPI): the In10nt contract (README: The local engine), served on loopback only.

Answers are built as JSON bytes directly: FastAPI's generic encoder costs tens of
milliseconds on a 10,000-row list, which the benchmark would notice.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from in10nt_desktop import __version__
from in10nt_desktop.api.validation import FieldError, check_idempotency_key, check_template_request
from in10nt_desktop.engine.build_routes import build_router
from in10nt_desktop.engine.builds import BuildManager, BuildSettings
from in10nt_desktop.engine.container_engine import ContainerEngine
from in10nt_desktop.engine.control_routes import EngineControl, control_router
from in10nt_desktop.engine.event_routes import events_router
from in10nt_desktop.engine.events import DEFAULT_CAPACITY, EventBus
from in10nt_desktop.engine.hosts import is_loopback_host
from in10nt_desktop.engine.instance_routes import instance_router
from in10nt_desktop.engine.instance_rows import InstanceError
from in10nt_desktop.engine.instances import InstanceRuntime
from in10nt_desktop.engine.limits import BadBody, BodyLimit, decode_json_body
from in10nt_desktop.engine.openapi import MAX_CURSOR, MAX_LOG_AFTER, MAX_PAGE, complete
from in10nt_desktop.engine.preflight_routes import preflight_router
from in10nt_desktop.engine.registry import MAX_REDIRECTS
from in10nt_desktop.engine.runtime_file import ensure_private_dir
from in10nt_desktop.engine.store import Store
from in10nt_desktop.engine.task_runs import DEFAULT_MAX_TASKS

log = logging.getLogger(__name__)


@dataclass
class EngineConfig:
    data_dir: Path
    token: str
    mirrors: dict[str, str] = field(default_factory=dict)
    docker_host: str | None = None
    max_parallel_builds: int = 4
    max_tasks: int = DEFAULT_MAX_TASKS  # tasks running at once (as many more may wait for a slot)
    stall_seconds: float = 60.0  # registry silence before a build is flagged stalled (engine/build_watchdog.py)
    pull: bool = True
    platform: str | None = None
    instance_network: str | None = None  # network mode of instance containers; None: the container engine's default
    # uvicorn's graceful stop, set by server.serve(): what /engine/shutdown and exit-when-idle call
    request_exit: Callable[[], None] | None = None
    runtime_file: Path | None = None  # engine.json: removed at shutdown, before uvicorn re-raises SIGTERM
    events: bool = True  # False: no GET /events (404), as on a server without a change feed
    events_heartbeat: float = 15.0  # seconds between ": ping" comments on the event stream
    events_buffer: int = DEFAULT_CAPACITY  # events kept for Last-Event-ID resumes
    owner_pid: int | None = None  # the app that started the engine: gone, the engine exits once idle

    def __repr__(self) -> str:  # the token is a secret
        return f"EngineConfig(data_dir={str(self.data_dir)!r}, mirrors={self.mirrors!r}, token=<hidden>)"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def request_fingerprint(body: dict[str, Any]) -> str:
    """What an Idempotency-Key is bound to: SHA-256 of the body as canonical JSON.

    The registry password is left out: credentials never reach the disk, not even hashed (a
    short password's hash is quickly reversed). A retry that changes only the password is
    therefore taken as the same request.
    """
    auth = body.get("registryAuth")
    if isinstance(auth, dict):
        body = {**body, "registryAuth": {k: v for k, v in auth.items() if k != "password"}}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")).encode(), status_code=status,
                    media_type="application/json", headers=headers)


def error_response(status: int, code: str, message: str, field: str | None = None, *,
                   headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return json_response({"error": body}, status, headers)


def _etags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _page_request(limit: str | None, after: str | None, order: str | None) -> tuple[int, tuple[str, str] | None, bool]:
    """``(limit, cursor, newest first)`` of a paged list request, or an ``ApiError`` naming the parameter."""
    if limit is None:
        count = MAX_PAGE
    elif not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE:
        raise ApiError(422, "invalid", f"limit must be a whole number from 1 to {MAX_PAGE}.", "limit")
    else:
        count = int(limit)
    if order not in (None, "asc", "desc"):
        raise ApiError(422, "invalid", "order must be asc (oldest first) or desc (newest first).", "order")
    cursor = None
    if after is not None:
        created, sep, tid = after.partition("~")
        if not sep or not created or not tid or len(after) > MAX_CURSOR:
            raise ApiError(422, "invalid", "after must be the cursor a previous page's Link header gave.", "after")
        cursor = (created, tid)
    return count, cursor, order == "desc"


class _State:
    """What the routes share; created in the lifespan so tests get a fresh one per app."""

    store: Store
    builds: BuildManager
    engine: ContainerEngine
    http: httpx.AsyncClient
    instances: InstanceRuntime
    events: EventBus
    control: EngineControl


def create_app(config: EngineConfig) -> FastAPI:
    state = _State()
    state.events = EventBus(config.events_buffer)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ensure_private_dir(config.data_dir)
        state.events.bind(asyncio.get_running_loop())
        state.store = Store(config.data_dir / "engine.sqlite3")
        if config.events:
            state.store.on_change = state.events.publish
        state.engine = ContainerEngine(config.docker_host)
        state.http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), max_redirects=MAX_REDIRECTS,
                                       headers={"User-Agent": f"in10nt-engine/{__version__}"})
        state.builds = BuildManager(state.store, state.engine, state.http, BuildSettings(
            mirrors=config.mirrors, max_parallel=config.max_parallel_builds, pull=config.pull,
            platform=config.platform, stall_seconds=config.stall_seconds))
        state.instances = InstanceRuntime(state.store, state.engine, data_dir=config.data_dir,
                                          network=config.instance_network, mirrors=config.mirrors,
                                          publish=state.events.publish if config.events else None,
                                          max_tasks=config.max_tasks)
        state.instances.start()
        state.control = EngineControl(lambda: state.builds.active)
        state.control.request_exit = config.request_exit
        if config.owner_pid is not None:
            state.control.watch_owner(config.owner_pid)
        resumed, failed = state.builds.recover()
        if resumed or failed:
            log.info("recovered builds: %d resumed, %d failed (needed credentials)", resumed, failed)
        try:
            yield
        finally:
            state.events.close()
            await state.control.close()
            await state.builds.shutdown()
            await state.instances.shutdown()
            await state.http.aclose()
            state.engine.close()
            state.store.close()
            # Here and only here: after SIGTERM or Ctrl-C, uvicorn re-raises the signal as soon as serve() returns,
            # so code after it in server.serve() may never run; the lifespan's shutdown always does.
            if config.runtime_file is not None:
                config.runtime_file.unlink(missing_ok=True)

    app = FastAPI(title="In10nt local engine", version=__version__, lifespan=lifespan,
                  description="The In10nt HTTP API served on 127.0.0.1. Every request needs "
                              "`Authorization: Bearer <token>` from the engine's engine.json.")
    app.state.engine_state = state
    expected = config.token.encode()

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        host = request.headers.get("host", "")
        if not is_loopback_host(host):
            # A web page that rebinds its DNS name to 127.0.0.1 still sends its own Host.
            return error_response(403, "forbidden_host", f"This engine only answers requests addressed to "
                                                         f"127.0.0.1 or localhost, not '{host[:100]}'.")
        scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
        # The scheme is case-insensitive (RFC 7235); only the token is secret, so only it is compared in constant time.
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip().encode(), expected):
            return error_response(401, "unauthorized", "Missing or wrong API token: use the token in the "
                                                       "engine's engine.json.")
        return await call_next(request)

    # Outermost of the app's own layers: a body over the cap is refused before anything else reads it.
    app.add_middleware(BodyLimit)

    @app.exception_handler(ApiError)
    async def on_api_error(_request: Request, exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(InstanceError)
    async def on_instance_error(_request: Request, exc: InstanceError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return error_response(exc.status, exc.code, exc.message, exc.field, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(_request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        loc = [str(p) for p in first.get("loc", []) if p not in ("body", "query", "path")]
        return error_response(422, "invalid", str(first.get("msg", "Invalid request.")), ".".join(loc) or None)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = "No such API path." if exc.status_code == 404 else str(exc.detail)
        headers = None
        if exc.status_code == 405:
            # Starlette names only the first route's methods; FastAPI has one route per method and path.
            allowed = sorted({m for route in app.router.routes if route.matches(request.scope)[0] != Match.NONE
                              for m in getattr(route, "methods", None) or ()})
            headers = {"Allow": ", ".join(allowed)}
            message = f"{request.method} is not allowed here; use {' or '.join(allowed)}."
        return error_response(exc.status_code, code, message, headers=headers)

    def template_or_404(tid: str) -> dict[str, Any]:
        template = state.store.get_template(tid)
        if template is None:
            raise ApiError(404, "not_found", f"No template with ID {tid}.")
        return template

    @app.get("/healthz", summary="Engine health")
    async def healthz() -> Response:
        return json_response({"status": "ok", "version": __version__, "activeBuilds": state.builds.active,
                              "containerEngine": state.engine.host, "eventClients": state.events.clients,
                              "exitWhenIdle": state.control.exit_when_idle, "ownerPid": state.control.owner_pid,
                              "ownerSince": state.control.owner_since})

    @app.post("/container-templates", status_code=201, summary="Create a template and start its build")
    async def create_template(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
        except BadBody as exc:
            raise ApiError(400, "invalid_json", str(exc)) from None
        try:
            req = check_template_request(body)
        except FieldError as exc:
            raise ApiError(422, "invalid", exc.message, exc.field) from None
        key = idempotency_key(request)
        fingerprint = request_fingerprint(body) if key else None
        if key:
            existing = state.store.template_for_key(key)
            if existing is not None:
                tid, stored = existing
                if stored is not None and stored != fingerprint:
                    # 409, not 422: the body is valid; it clashes with what the key already stands for.
                    raise ApiError(409, "idempotency_key_reused",
                                   "This Idempotency-Key was already used for a different request; send a new "
                                   "key for a new template (the same key only repeats the same request).")
                template = state.store.get_template(tid)
                if template is not None:
                    return json_response(template, 201)
        with state.store.coalesced():  # template.created carries the build's first phase
            template = state.store.insert_template(
                name=req.name, description=req.description, image=req.image_text, registry_type=req.registry_type,
                needs_credentials=req.auth is not None, idempotency_key=key, request_hash=fingerprint)
            tid = template["templateId"]
            state.store.append_log(tid, f"Template created for {req.image_text} ({req.registry_type}" +
                                   (", with credentials)" if req.auth else ")"))
            state.builds.start(tid, req.image, req.auth, req.registry_type)
        return json_response(template_or_404(tid), 201)

    @app.get("/container-templates", summary="List templates")
    async def list_templates(request: Request) -> Response:
        # Checked by hand, not as typed query parameters: a bad value gets our error shape and sentence.
        query = request.query_params
        etag = state.store.list_etag
        if etag in _etags(request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers={"ETag": etag})
        if not {"limit", "after", "order"} & set(query):
            return Response(state.store.list_templates_json(), media_type="application/json",
                            headers={"ETag": etag})
        limit, after, descending = _page_request(query.get("limit"), query.get("after"), query.get("order"))
        body, next_after = state.store.list_templates_page(limit, after, descending)
        headers = {"ETag": etag}
        if next_after is not None:
            params = urlencode({"limit": limit, "after": "~".join(next_after),
                                "order": "desc" if descending else "asc"})
            headers["Link"] = f'</container-templates?{params}>; rel="next"'
        return Response(body, media_type="application/json", headers=headers)

    @app.get("/container-templates/{template_id}", summary="Get a template")
    async def get_template(template_id: str) -> Response:
        return json_response(template_or_404(template_id))

    @app.get("/container-templates/{template_id}/status", summary="Build status")
    async def template_status(template_id: str) -> Response:
        t = template_or_404(template_id)
        out = {"templateId": t["templateId"], "status": t["status"], "error": t["error"],
               "updatedAt": t["updatedAt"]}
        for key in ("progress", "phase", "queuePosition"):
            if key in t:
                out[key] = t[key]
        return json_response(out)

    @app.get("/container-templates/{template_id}/logs", summary="Build log lines after line N")
    async def template_logs(template_id: str, after: int = Query(0, ge=0, le=MAX_LOG_AFTER)) -> Response:
        t = template_or_404(template_id)
        lines = state.store.logs(template_id, max(0, after))
        return json_response({"templateId": template_id, "status": t["status"], "lines": lines,
                              "next": lines[-1]["n"] if lines else max(0, after)})

    @app.delete("/container-templates/{template_id}", status_code=204, summary="Delete (cancels a build)")
    async def delete_template(template_id: str) -> Response:
        template_or_404(template_id)
        await state.builds.cancel(template_id)
        state.store.delete_template(template_id)
        return Response(status_code=204)

    @app.get("/saved-templates", summary="List saved templates (snapshots)")
    async def list_saved() -> Response:
        return json_response(state.store.list_saved())

    # Instances and DELETE /saved-templates/{name} (which removes an image) need the container engine.
    app.include_router(instance_router(lambda: state.instances))
    app.include_router(build_router(lambda: state.store, lambda: state.builds, json_response, error_response))
    app.include_router(control_router(lambda: state.control, json_response, error_response))
    app.include_router(preflight_router(lambda: state.http, lambda: state.store, config.mirrors, config.platform))
    if config.events:
        app.include_router(events_router(lambda: state.events, config.events_heartbeat))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(FastAPI.openapi(app))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to replace the document
    return app


def idempotency_key(request: Request) -> str | None:
    """The request's Idempotency-Key, if it sent one that follows the rule (else a 422)."""
    key = request.headers.get("idempotency-key")
    try:
        return check_idempotency_key(key)
    except FieldError as exc:
        raise ApiError(422, "invalid", exc.message, exc.field) from None

"""Ours: ask the local engine to stop, now or once its builds are done.

The desktop app starts the engine and stops it when it quits. When builds are still running
the user may keep the engine for them: the app then asks it to exit by itself once idle, and
the next start of the app, finding it still running, takes that request back and owns it
again. Only the app that holds the token (loopback, bearer) can ask.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from in10nt_desktop.engine.limits import BadBody, decode_json_body

log = logging.getLogger(__name__)
IDLE_CHECK = 0.5  # seconds between looks at the build count while waiting to exit

EXIT_WHEN_IDLE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["enabled"], "additionalProperties": False,
    "properties": {"enabled": {"type": "boolean"}}}}}}}


class EngineControl:
    """Holds the exit request; ``request_exit`` is uvicorn's graceful stop, set by the server."""

    def __init__(self, active_builds: Callable[[], int]) -> None:
        self._active = active_builds
        self.request_exit: Callable[[], None] | None = None
        self.exit_when_idle = False
        self._watch: asyncio.Task[None] | None = None

    def set_exit_when_idle(self, enabled: bool) -> None:
        self.exit_when_idle = enabled
        if enabled and (self._watch is None or self._watch.done()):
            self._watch = asyncio.get_running_loop().create_task(self._wait_then_exit(), name="exit-when-idle")
        log.info("exit when idle: %s (%d builds running)", "on" if enabled else "off", self._active())

    async def _wait_then_exit(self) -> None:
        while self.exit_when_idle:
            if self._active() == 0:
                log.info("no build left: the engine stops as asked")
                self.exit_now()
                return
            await asyncio.sleep(IDLE_CHECK)

    def exit_now(self) -> None:
        if self.request_exit is not None:
            self.request_exit()

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()


def control_router(control: Callable[[], EngineControl], json_response: Callable[..., Response],
                   error_response: Callable[..., Response]) -> APIRouter:
    router = APIRouter()

    @router.post("/engine/exit-when-idle", summary="Exit once no build runs (ours)", openapi_extra=EXIT_WHEN_IDLE_BODY)
    async def exit_when_idle(request: Request) -> Response:
        try:
            body = decode_json_body(await request.body())
        except BadBody as exc:
            return error_response(400, "invalid_json", str(exc))
        enabled = body.get("enabled") if isinstance(body, dict) else None
        if not isinstance(enabled, bool):
            return error_response(422, "invalid", "Send {\"enabled\": true} or {\"enabled\": false}.", "enabled")
        control().set_exit_when_idle(enabled)
        return json_response({"exitWhenIdle": enabled})

    @router.post("/engine/shutdown", status_code=202, summary="Stop the engine now (ours)")
    async def shutdown() -> Response:
        # Answer first, then stop: the graceful stop lets this answer go out.
        asyncio.get_running_loop().call_later(0.05, control().exit_now)
        return json_response({"stopping": True}, 202)

    return router

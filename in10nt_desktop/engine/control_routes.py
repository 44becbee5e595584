"""Ours: ask the local engine to stop, now or once its builds are done.

The desktop app starts the engine and stops it when it quits. When builds are still running
the user may keep the engine for them: the app then asks it to exit by itself once idle, and
the next start of the app, finding it still running, takes that request back and owns it
again. Only the app that holds the token (loopback, bearer) can ask.

The app also names itself as the engine's *owner* (``--owner-pid``, or ``ownerPid`` when it takes
an engine back): if that process is gone without a word — it crashed, its display went away — the
engine exits once no build runs, as if asked. Nothing is lost and nothing is left behind.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from in10nt_desktop.engine.limits import BadBody, decode_json_body
from in10nt_desktop.platforms import process_alive

log = logging.getLogger(__name__)
IDLE_CHECK = 0.5  # seconds between looks at the build count while waiting to exit
OWNER_CHECK = 2.0  # seconds between looks at the owner process

EXIT_WHEN_IDLE_BODY: dict[str, Any] = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["enabled"], "additionalProperties": False,
    "properties": {"enabled": {"type": "boolean"},
                   "ownerPid": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1,
                                "description": "The process to watch from now on: when it is gone, exit when idle."}},
}}}}}


class EngineControl:
    """Holds the exit request; ``request_exit`` is uvicorn's graceful stop, set by the server."""

    def __init__(self, active_builds: Callable[[], int]) -> None:
        self._active = active_builds
        self.request_exit: Callable[[], None] | None = None
        self.exit_when_idle = False
        self.owner_pid: int | None = None
        self.owner_since: float | None = None  # when the owner was named (it ran then): a later PID is not it
        self._watch: asyncio.Task[None] | None = None
        self._owner_watch: asyncio.Task[None] | None = None

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

    def watch_owner(self, pid: int) -> None:
        """From now on, exit when idle once process ``pid`` is gone (it replaces any earlier owner)."""
        if self._owner_watch is not None:
            self._owner_watch.cancel()
        self.owner_pid, self.owner_since = pid, time.time()
        self._owner_watch = asyncio.get_running_loop().create_task(self._watch_owner(pid, self.owner_since),
                                                                   name="owner")

    async def _watch_owner(self, pid: int, since: float) -> None:
        # Polled: no portable way to be told when a process that is not our child ends.
        while True:
            if not await asyncio.to_thread(process_alive, pid, since):
                break
            await asyncio.sleep(OWNER_CHECK)
        log.info("the app that owns this engine (pid %d) is gone: stopping once no build runs", pid)
        self.owner_pid = self.owner_since = None
        self.set_exit_when_idle(True)

    def exit_now(self) -> None:
        if self.request_exit is not None:
            self.request_exit()

    async def close(self) -> None:
        for task in (self._watch, self._owner_watch):
            if task is not None:
                task.cancel()


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
        owner = body.get("ownerPid")
        if owner is not None and (type(owner) is not int or not 1 <= owner < 2**31):
            return error_response(422, "invalid", "ownerPid must be a process ID (a whole number from 1).", "ownerPid")
        control().set_exit_when_idle(enabled)
        if owner is not None:
            control().watch_owner(owner)
        return json_response({"exitWhenIdle": enabled})

    @router.post("/engine/shutdown", status_code=202, summary="Stop the engine now (ours)")
    async def shutdown() -> Response:
        # Answer first, then stop: the graceful stop lets this answer go out.
        asyncio.get_running_loop().call_later(0.05, control().exit_now)
        return json_response({"stopping": True}, 202)

    return router

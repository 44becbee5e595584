"""The stall watchdog: flags a build whose registry went quiet, and clears the flag when data flows again.

Each running build has one watchdog task that looks once a second. While ``resolving``, the clock
is the registry's last answer (the engine's HTTP client reports every answer to the build whose
task sent the request, through a context variable); while ``pulling``, it is the last pull event
that moved a byte or a layer. Past ``--stall-seconds`` of silence the template gets ``stalled``
and ``stalledReason`` (a ``template.changed`` event) and the log one line; the next sign of life
clears it with a "data flowing again" line. It never fails a build: the timeouts do that.
``finishing`` is the container engine unpacking on its own, so it is never a stall.
"""

from __future__ import annotations

import asyncio
import contextvars
import time

import httpx

from in10nt_desktop.engine.build_run import BuildRun
from in10nt_desktop.engine.store import Store

DEFAULT_STALL_SECONDS = 60.0
CHECK_EVERY = 1.0
WATCHED_PHASES = ("resolving", "pulling")

# The build whose task is running: set by the build task, read by the HTTP client's answer hook.
current_run: contextvars.ContextVar[BuildRun | None] = contextvars.ContextVar("current_run", default=None)


def silence(run: BuildRun) -> str:
    """What went quiet, for the stall line and for the record of a build a rebuild stopped."""
    what = "no data" if run.phase == "pulling" else "no answer"
    return f"{what} from registry {run.registry_host}"


class StallWatchdog:
    def __init__(self, store: Store, seconds: float = DEFAULT_STALL_SECONDS) -> None:
        self._store = store
        self.seconds = seconds

    def hook(self, http: httpx.AsyncClient) -> None:
        """Every answer the shared client receives counts for the build that asked (none outside builds)."""
        http.event_hooks["response"].append(self._answered)

    async def _answered(self, _response: httpx.Response) -> None:
        run = current_run.get()
        if run is not None:
            self.activity(run)

    def activity(self, run: BuildRun) -> None:
        run.last_activity = time.monotonic()
        if run.stalled:
            run.stalled = False
            self._store.append_log(run.template_id, "data flowing again")
            self._store.set_live_fields(run.template_id, {"stalled": False}, drop=("stalledReason",))

    def check(self, run: BuildRun, now: float) -> None:
        if run.stalled or run.phase not in WATCHED_PHASES or now - run.last_activity < self.seconds:
            return
        run.stalled = True
        reason = f"stalled: {silence(run)} for {self.seconds:g} s"
        self._store.append_log(run.template_id, reason)
        self._store.set_live_fields(run.template_id, {"stalled": True, "stalledReason": reason})

    async def watch(self, run: BuildRun) -> None:
        """The per-build task: runs until the build cancels it."""
        while True:
            await asyncio.sleep(min(CHECK_EVERY, self.seconds))
            self.check(run, time.monotonic())

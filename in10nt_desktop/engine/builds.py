"""The build pipeline: a bounded pool of asyncio tasks that turn a template into ``ready`` or ``failed``.

Step 1 resolves the image on its registry (always); step 2 pulls it by digest through the
container engine when one answers. While it builds, a template's ``phase`` says where it is:
``queued`` (with its ``queuePosition``), ``resolving``, ``pulling``, then ``finishing`` once every
layer is downloaded and the engine unpacks them. Every task is owned here, cancelled by ``DELETE`` and on
shutdown; a restart resumes builds that needed no credentials and fails the rest, because
credentials were never written down.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx

from in10nt_desktop.api.validation import Credentials, FieldError, ImageRef, check_gcr_key, parse_image
from in10nt_desktop.engine.build_queue import BuildQueue
from in10nt_desktop.engine.container_engine import ContainerEngine, EngineUnavailable, PullError
from in10nt_desktop.engine.registry import RegistryError
from in10nt_desktop.engine.resolver import Resolved, resolve
from in10nt_desktop.engine.store import Store

log = logging.getLogger(__name__)
INTERRUPTED = "Build interrupted by an engine restart; create it again to supply credentials."


@dataclass(frozen=True)
class BuildSettings:
    mirrors: dict[str, str]
    max_parallel: int = 4
    resolve_timeout: float = 120.0
    pull_timeout: float = 1800.0
    platform: str | None = None
    pull: bool = True  # False: resolve only, even where a container engine answers


class _PullProgress:
    """Folds the engine's per-layer events into one ``{current, total}`` and a few log lines."""

    def __init__(self, resolved: Resolved) -> None:
        self.total = resolved.size_bytes
        self._sizes = {d.split(":", 1)[-1][:12]: s for d, s in resolved.layer_sizes.items()}
        self._done: dict[str, int] = {}
        self._status: dict[str, str] = {}

    @property
    def current(self) -> int:
        return min(self.total, sum(self._done.values())) if self.total else sum(self._done.values())

    def feed(self, event: dict[str, Any]) -> str | None:
        """Returns a log line when a layer changes state (not for every progress tick)."""
        layer = str(event.get("id") or "")[:12]
        status = str(event.get("status") or "")
        detail = event.get("progressDetail") or {}
        if layer and detail.get("current") is not None and status.startswith(("Downloading", "Copying")):
            self._done[layer] = int(detail["current"])
            return None
        if layer and status in ("Download complete", "Pull complete", "Already exists", "Copying blob"):
            self._done[layer] = self._sizes.get(layer, self._done.get(layer, 0))
        if not status or self._status.get(layer) == status:
            return None
        self._status[layer] = status
        return f"{layer}: {status}" if layer else status


class BuildManager:
    def __init__(self, store: Store, engine: ContainerEngine, http: httpx.AsyncClient,
                 settings: BuildSettings) -> None:
        self._store = store
        self._engine = engine
        self._http = http
        self.settings = settings
        self._queue = BuildQueue(settings.max_parallel, self._moved_up)
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def _log(self, tid: str, text: str) -> None:
        self._store.append_log(tid, text)

    def _moved_up(self, tid: str, position: int) -> None:
        self._store.set_live(tid, "queued", position)

    def start(self, tid: str, ref: ImageRef, auth: Credentials | None, registry_type: str = "") -> None:
        """Queues the build; its first phase is in the store before this returns (the create answer shows it)."""
        position = self._queue.enter(tid)
        self._store.set_live(tid, "queued" if position else "resolving", position)
        task = asyncio.get_running_loop().create_task(self._run(tid, ref, auth, registry_type), name=f"build {tid}")
        self._tasks[tid] = task
        task.add_done_callback(functools.partial(self._finished, tid))

    def _finished(self, tid: str, task: asyncio.Task[None]) -> None:
        self._queue.leave(tid)  # also when the task was cancelled before it ever ran
        if self._tasks.get(tid) is task:
            del self._tasks[tid]
        if not task.cancelled() and task.exception() is not None:
            log.error("build %s crashed", tid, exc_info=task.exception())

    @property
    def active(self) -> int:
        return len(self._tasks)

    async def cancel(self, tid: str) -> bool:
        task = self._tasks.pop(tid, None)
        if task is None:
            return False
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return True

    async def shutdown(self) -> None:
        self._queue.close()
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def recover(self) -> tuple[int, int]:
        """Called at start-up: resume or fail every template left ``building``."""
        resumed = failed = 0
        for tid, image, _registry_type, needs_credentials in self._store.building():
            if needs_credentials:
                self._log(tid, "The engine restarted during this build; the credentials were not kept.")
                self._store.update_template(tid, status="failed", error=INTERRUPTED,
                                            progress_current=None, progress_total=None)
                failed += 1
            else:
                self._log(tid, "The engine restarted during this build; resuming.")
                self.start(tid, parse_image(image), None)
                resumed += 1
        return resumed, failed

    def _fail(self, tid: str, sentence: str) -> None:
        self._log(tid, f"Build failed: {sentence}")
        self._store.update_template(tid, status="failed", error=sentence,
                                    progress_current=None, progress_total=None)

    async def _run(self, tid: str, ref: ImageRef, auth: Credentials | None, registry_type: str = "") -> None:
        position = self._queue.position(tid)
        if position is not None:
            self._log(tid, f"Waiting for a free build slot (#{position} in the queue)")
        await self._queue.wait(tid)  # the slot is given back by _finished, however the task ends
        self._store.set_live(tid, "resolving")
        started = time.monotonic()
        self._log(tid, "Build started")
        try:
            if auth is not None:
                check_gcr_key(auth, registry_type)  # here, not at create: see api/validation.py
            resolved = await asyncio.wait_for(
                resolve(self._http, ref, auth, mirrors=self.settings.mirrors,
                        platform=self.settings.platform, log=lambda line: self._log(tid, line)),
                self.settings.resolve_timeout)
            self._store.update_template(tid, digest=resolved.digest, size_bytes=resolved.size_bytes,
                                        platform=resolved.platform, layers=resolved.layers)
            engine_image = await self._pull(tid, resolved, auth)
            self._store.update_template(tid, status="ready", error=None, engine_image=engine_image,
                                        progress_current=None, progress_total=None)
            self._log(tid, f"Ready in {time.monotonic() - started:.1f} s, pinned to {resolved.digest}")
        except (RegistryError, FieldError) as exc:
            self._fail(tid, str(exc))
        except PullError as exc:
            self._fail(tid, str(exc))
        except TimeoutError:
            self._fail(tid, "The build timed out talking to the registry; check the network and try again.")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("build %s", tid)
            self._fail(tid, f"Internal engine error ({type(exc).__name__}); see the engine log.")

    async def _pull(self, tid: str, resolved: Resolved, auth: Credentials | None) -> str | None:
        if not self.settings.pull:
            self._log(tid, "Image pull is turned off for this engine; instances will pull on first use.")
            return None
        try:
            await self._engine.connect()
        except EngineUnavailable as exc:
            self._log(tid, f"No container engine: {exc} The template is pinned to its digest; "
                           "instances will need an engine.")
            return None
        # Through a mirror the engine must pull from the mirror; otherwise by the registry's own name
        # (docker.io, not registry-1.docker.io), which is how Docker and Podman key their credentials.
        endpoint = resolved.endpoint
        source = endpoint.host if endpoint.via_mirror else endpoint.registry
        repository = f"{source}/{resolved.repository}"
        self._log(tid, f"Pulling {repository}@{resolved.digest} through the container engine at "
                       f"{self._engine.host}")
        progress = _PullProgress(resolved)
        last_write = 0.0
        with self._store.coalesced():  # one event for the phase and its first progress
            self._store.set_live(tid, "pulling")
            self._store.update_template(tid, progress_current=0, progress_total=resolved.size_bytes)
        phase = "pulling"

        def on_event(event: dict[str, Any]) -> None:
            nonlocal last_write, phase
            line = progress.feed(event)
            if line:
                self._log(tid, line)
            now = time.monotonic()
            downloaded = bool(progress.total) and progress.current >= progress.total
            if downloaded and phase == "pulling":  # every byte is here; the engine still unpacks the layers
                phase = "finishing"
                last_write = now
                with self._store.coalesced():
                    self._store.set_live(tid, phase)
                    self._store.update_template(tid, progress_current=progress.current,
                                                progress_total=progress.total)
            elif now - last_write > 0.25:  # each write is an event: a few a second suffice for a progress bar
                last_write = now
                self._store.update_template(tid, progress_current=progress.current, progress_total=progress.total)

        try:
            # The platform the resolve recorded: from an index the engine would otherwise pick its own.
            image_id = await asyncio.wait_for(
                self._engine.pull(repository, resolved.digest, auth, source, on_event, platform=resolved.platform),
                self.settings.pull_timeout)
        except TimeoutError:
            raise PullError(f"The container engine's pull did not finish within {self.settings.pull_timeout:g} s; "
                            "check the engine's network to the registry, or try again.") from None
        self._log(tid, f"Pulled {resolved.size_bytes} bytes; engine image {image_id[:19]}")
        return f"{repository}@{resolved.digest}"

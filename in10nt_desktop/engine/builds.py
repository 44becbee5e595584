"""The build pipeline: a bounded pool of asyncio tasks that turn a template into ``ready`` or ``failed``.

Step 1 resolves the image on its registry (always); step 2 pulls it by digest through the
container engine when one answers. While it builds, a template's ``phase`` says where it is:
``queued`` (with its ``queuePosition``), ``resolving``, ``pulling``, then ``finishing`` once every
layer is downloaded and the engine unpacks them. Every task is owned here, cancelled by ``DELETE`` and on
shutdown; a restart resumes builds that needed no credentials and fails the rest, because
credentials were never written down.

Every build (the create, each rebuild, a resume after a restart) is a record (engine/build_run.py,
stored by engine/build_records.py) with its phases, layers and the log lines that belong to it; a
watchdog per build flags stalls (engine/build_watchdog.py), and past records give the next build of
the same image its ``expectedSeconds``.
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
from in10nt_desktop.engine.build_run import BuildRun
from in10nt_desktop.engine.build_watchdog import DEFAULT_STALL_SECONDS, StallWatchdog, current_run, silence
from in10nt_desktop.engine.container_engine import ContainerEngine, EngineUnavailable, PullError
from in10nt_desktop.engine.mirrors import endpoint_for
from in10nt_desktop.engine.registry import RegistryError
from in10nt_desktop.engine.resolver import Resolved, resolve
from in10nt_desktop.engine.store import Store
from in10nt_desktop.engine.store_schema import now_iso

log = logging.getLogger(__name__)
INTERRUPTED = "Build interrupted by an engine restart; rebuild it with its credentials (they are never stored)."
RESUMED = "Interrupted by an engine restart; resumed as build #{number}."


@dataclass(frozen=True)
class BuildSettings:
    mirrors: dict[str, str]
    max_parallel: int = 4
    resolve_timeout: float = 120.0
    pull_timeout: float = 1800.0
    platform: str | None = None
    pull: bool = True  # False: resolve only, even where a container engine answers
    stall_seconds: float = DEFAULT_STALL_SECONDS  # silence from the registry before a build is flagged stalled


class BuildManager:
    def __init__(self, store: Store, engine: ContainerEngine, http: httpx.AsyncClient,
                 settings: BuildSettings) -> None:
        self._store = store
        self._engine = engine
        self._http = http
        self.settings = settings
        self._queue = BuildQueue(settings.max_parallel, self._moved_up)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._runs: dict[str, BuildRun] = {}
        self._watchdog = StallWatchdog(store, settings.stall_seconds)
        self._watchdog.hook(http)

    def _log(self, tid: str, text: str) -> int:
        return self._store.append_log(tid, text)

    def _moved_up(self, tid: str, position: int) -> None:
        self._store.set_live(tid, "queued", position)

    def start(self, tid: str, ref: ImageRef, auth: Credentials | None, registry_type: str = "",
              trigger: str = "create") -> None:
        """Queues the build with a new record; its first phase is in the store before this returns.

        The template's newest log line (the one announcing this build) is where the record's log starts.
        """
        template = self._store.get_template(tid)
        assert template is not None
        run = BuildRun(template_id=tid, number=template["buildCount"], trigger=trigger, image=template["image"],
                       log_from=max(1, self._store.last_log_n(tid)))
        position = self._queue.enter(tid)
        run.enter("queued" if position else "resolving")  # a free slot: it starts now, in the create's event
        self._runs[tid] = run
        self._store.records.insert(tid, run.image, run.json())
        fields: dict[str, Any] = {"started_at": run.started_at}
        if auth is not None:  # a rebuild needs them again; the username is no secret, the password is never kept
            fields.update(needs_credentials=True, registry_username=auth.username)
        self._store.set_live(tid, "queued" if position else "resolving", position,
                             {"expectedSeconds": self._store.records.expected_seconds(run.image), "stalled": False})
        self._store.update_template(tid, **fields)
        task = asyncio.get_running_loop().create_task(self._run(tid, ref, auth, registry_type), name=f"build {tid}")
        self._tasks[tid] = task
        task.add_done_callback(functools.partial(self._finished, tid))

    def _finished(self, tid: str, task: asyncio.Task[None]) -> None:
        self._queue.leave(tid)  # also when the task was cancelled before it ever ran
        if self._tasks.get(tid) is task:
            del self._tasks[tid]
            self._runs.pop(tid, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("build %s crashed", tid, exc_info=task.exception())

    @property
    def active(self) -> int:
        return len(self._tasks)

    def is_building(self, tid: str) -> bool:
        return tid in self._tasks

    def records(self, tid: str) -> list[dict[str, Any]]:
        """The template's build records, newest first; the running one as it is now (layer bytes included)."""
        records = self._store.records.list(tid)
        run = self._runs.get(tid)
        if run is not None:
            records = [run.json() if r["buildId"] == run.build_id else r for r in records]
        return records

    def is_stalled(self, tid: str) -> bool:
        """The running build's registry went quiet (the watchdog's flag): a rebuild may stop it."""
        run = self._runs.get(tid)
        return run is not None and run.stalled

    async def stop_stalled(self, tid: str) -> tuple[BuildRun, str] | None:
        """Cancels a stalled build for a rebuild: the build and the sentence its record is to end with.

        None when the build is not stalled: a healthy build is never stopped this way. The caller
        writes the end (``close_stopped``) and starts the new build together, with no await between,
        so the template goes from the old build to the new one without a moment of "failed".
        """
        run = self._runs.get(tid)
        if run is None or not run.stalled or tid not in self._tasks:
            return None
        silent = time.monotonic() - run.last_activity
        sentence = f"Stopped to rebuild: {silence(run)} for {silent:.0f} s."
        # Meanwhile the template is still ``building`` in the store (the caller ends the record), so
        # another rebuild gets build_running, as for any running build.
        await self.cancel(tid)
        return run, sentence

    def close_stopped(self, run: BuildRun, sentence: str) -> None:
        """The stopped build's last log line and its record, ended ``failed``; its phase and stall flag go."""
        self._close(run, "failed", sentence, sentence)
        self._store.set_live(run.template_id, None)

    async def cancel(self, tid: str) -> bool:
        task = self._tasks.pop(tid, None)
        self._runs.pop(tid, None)
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
        """Called at start-up: resume or fail every template left ``building``; its open record is closed."""
        resumed = failed = 0
        for tid, image, _registry_type, needs_credentials in self._store.building():
            if needs_credentials:
                n = self._log(tid, "The engine restarted during this build; the credentials were not kept.")
                self._store.records.interrupt(tid, INTERRUPTED, now_iso(), n)
                self._store.update_template(tid, status="failed", error=INTERRUPTED,
                                            progress_current=None, progress_total=None)
                failed += 1
            else:
                template = self._store.get_template(tid)
                assert template is not None
                number = template["buildCount"] + 1
                self._store.records.interrupt(tid, RESUMED.format(number=number), now_iso(),
                                              self._store.last_log_n(tid))
                self._log(tid, "The engine restarted during this build; resuming.")
                self._store.update_template(tid, build_count=number, progress_current=None, progress_total=None)
                self.start(tid, parse_image(image), None, trigger="restart")
                resumed += 1
        return resumed, failed

    def _end(self, run: BuildRun, result: str, error: str | None, line: str, **fields: Any) -> None:
        """The build's last line, record and template, written together (no await between them)."""
        self._close(run, result, error, line)
        self._store.update_template(run.template_id, status=result, error=error, progress_current=None,
                                    progress_total=None, **fields)

    def _fail(self, run: BuildRun, sentence: str) -> None:
        self._end(run, "failed", sentence, f"Build failed: {sentence}")

    def _close(self, run: BuildRun, result: str, error: str | None, line: str) -> None:
        """The build's last log line, and its record ended with it."""
        run.finish(result, error, self._log(run.template_id, line))
        self._store.records.save(run.json(), run.seconds)

    def _phase(self, run: BuildRun, name: str) -> None:
        run.enter(name)
        self._store.records.save(run.json())
        self._store.set_live(run.template_id, name)
        if run.started_at is not None and name == "resolving":
            self._store.update_template(run.template_id, started_at=run.started_at)

    async def _run(self, tid: str, ref: ImageRef, auth: Credentials | None, registry_type: str = "") -> None:
        run = self._runs[tid]
        current_run.set(run)  # this task's registry answers count as activity for its watchdog
        position = self._queue.position(tid)
        if position is not None:
            self._log(tid, f"Waiting for a free build slot (#{position} in the queue)")
        await self._queue.wait(tid)  # the slot is given back by _finished, however the task ends
        run.registry_host = endpoint_for(ref.registry, self.settings.mirrors).host
        if run.phase == "queued":
            with self._store.coalesced():  # one event: out of the queue, started
                self._phase(run, "resolving")
        watchdog = asyncio.get_running_loop().create_task(self._watchdog.watch(run), name=f"watchdog {tid}")
        started = time.monotonic()
        self._log(tid, "Build started")
        try:
            if auth is not None:
                check_gcr_key(auth, registry_type)  # here, not at create: see api/validation.py
            resolved = await asyncio.wait_for(
                resolve(self._http, ref, auth, mirrors=self.settings.mirrors,
                        platform=self.settings.platform, log=lambda line: self._log(tid, line)),
                self.settings.resolve_timeout)
            run.digest, run.size_bytes = resolved.digest, resolved.size_bytes
            self._store.update_template(tid, digest=resolved.digest, size_bytes=resolved.size_bytes,
                                        platform=resolved.platform, layers=resolved.layers)
            engine_image = await self._pull(run, resolved, auth)
            self._end(run, "ready", None, f"Ready in {time.monotonic() - started:.1f} s, pinned to {resolved.digest}",
                      engine_image=engine_image)
        except (RegistryError, PullError, FieldError) as exc:
            self._fail(run, str(exc))
        except TimeoutError:
            self._fail(run, "The build timed out talking to the registry; check the network and try again.")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("build %s", tid)
            self._fail(run, f"Internal engine error ({type(exc).__name__}); see the engine log.")
        finally:
            watchdog.cancel()

    async def _pull(self, run: BuildRun, resolved: Resolved, auth: Credentials | None) -> str | None:
        tid = run.template_id
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
        run.registry_host = endpoint.host
        self._log(tid, f"Pulling {repository}@{resolved.digest} through the container engine at "
                       f"{self._engine.host}")
        run.expect_layers(resolved.layer_sizes)
        last_write = 0.0
        with self._store.coalesced():  # one event for the phase and its first progress
            self._phase(run, "pulling")
            self._store.update_template(tid, progress_current=0, progress_total=resolved.size_bytes)

        def on_event(event: dict[str, Any]) -> None:
            nonlocal last_write
            if self._runs.get(tid) is not run:  # sent before a cancel, delivered after: the build is over
                return
            lines, moved = run.feed(event)
            if moved:
                self._watchdog.activity(run)
            for line in lines:
                self._log(tid, line)
            now = time.monotonic()
            if run.downloaded and run.phase == "pulling":  # every byte is here; the engine still unpacks the layers
                last_write = now
                with self._store.coalesced():
                    self._phase(run, "finishing")
                    self._store.update_template(tid, progress_current=run.bytes_done,
                                                progress_total=resolved.size_bytes)
            elif moved and now - last_write > 0.25:  # each write is an event: a few a second suffice for a bar
                last_write = now
                self._store.update_template(tid, progress_current=min(run.bytes_done, resolved.size_bytes),
                                            progress_total=resolved.size_bytes)

        try:
            # The platform the resolve recorded: from an index the engine would otherwise pick its own.
            image_id = await asyncio.wait_for(
                self._engine.pull(repository, resolved.digest, auth, source, on_event, platform=resolved.platform),
                self.settings.pull_timeout)
        except TimeoutError:
            raise PullError(f"The container engine's pull did not finish within {self.settings.pull_timeout:g} s; "
                            "check the engine's network to the registry, or try again.") from None
        self._log(tid, f"{run.end_pull()}; engine image {image_id[:19]}")
        if run.phase == "pulling":  # for the record only: the template is ready the next moment
            run.enter("finishing")
        return f"{repository}@{resolved.digest}"

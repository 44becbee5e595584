"""Typed services over the connection: commands that return at once, past-tense signals.

Widgets call these and react to their signals; no widget builds an SDK call or awaits the
network. Each command runs as a task the connection owns, so a profile switch or a reconnect
cancels it with everything else that used the old client.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from in10nt_desktop.api import In10ntError, NotFoundError
from in10nt_desktop.app.connection import Connection, ConnState
from in10nt_desktop.app.errors import ErrorReporter
from in10nt_desktop.app.task_runs import TaskHistory, TaskRun

if TYPE_CHECKING:  # their rows are pydantic models, loaded with the first answer, not with the window
    from in10nt_desktop.api import In10ntClient, InstanceData, RunResult, SavedTemplate

log = logging.getLogger(__name__)
OUTPUT_EVERY = 50  # ms: a running task's output is announced at most this often (20 times a second)


@dataclass(frozen=True)
class BulkResult:
    done: list[str]
    failed: list[tuple[str, str]]  # (item, sentence)


class SavedTemplatesService(QObject):
    loaded = Signal(list)                 # list[SavedTemplate]: the whole list, whenever it changed
    bulk_finished = Signal(str, object)   # what, BulkResult

    def __init__(self, connection: Connection, errors: ErrorReporter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self._errors = errors
        self.rows: dict[str, SavedTemplate] = {}

    def _emit(self) -> None:
        self.loaded.emit(sorted(self.rows.values(), key=lambda s: s.name))

    def clear(self) -> None:
        self.rows = {}
        self._emit()

    def reload(self) -> None:
        self._c.spawn(self._reload(), name="saved")

    async def _reload(self) -> None:
        try:
            saved = await self._c.call(lambda c: c.saved_templates.list())
        except In10ntError as exc:
            self._errors.report(exc, "Loading saved templates")
            return
        self.rows = {s.name: s for s in saved}
        self._emit()

    # -- the event stream ------------------------------------------------------------------------
    def apply(self, saved: SavedTemplate) -> None:
        self.rows[saved.name] = saved
        self._emit()

    def forget(self, name: str) -> None:
        if self.rows.pop(name, None) is not None:
            self._emit()

    # -- commands --------------------------------------------------------------------------------
    def delete(self, names: Iterable[str]) -> None:
        self._c.spawn(self._delete(list(names)))

    async def _delete(self, names: list[str]) -> None:
        done, failed = [], []
        for name in names:  # keep going: one failure must not stop the rest
            try:
                await self._c.call(functools.partial(_delete_saved, name=name))
            except In10ntError as exc:
                failed.append((name, str(exc)))
                continue
            done.append(name)
            self.forget(name)
        self.bulk_finished.emit("saved template", BulkResult(done, failed))


class InstancesService(QObject):
    loaded = Signal(list)                 # list[InstanceData]
    task_started = Signal(str, str)       # instance id, name
    task_finished = Signal(str, str, object)   # instance id, name, RunResult (None: it could not run)
    runs_changed = Signal(str)            # instance id: its task history changed (started or finished)
    output_appended = Signal(str, int)    # instance id, run number: a running task printed (≤ 20 times a second)
    done = Signal(str)                    # a short success sentence
    bulk_finished = Signal(str, object)   # what, BulkResult
    template_missing = Signal(str)        # template id the server no longer knows (deleted elsewhere)

    def __init__(self, connection: Connection, errors: ErrorReporter, saved: SavedTemplatesService,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self._errors = errors
        self._saved = saved
        self.rows: dict[str, InstanceData] = {}
        self.history = TaskHistory()
        # Output is appended to the history at once but announced at most every OUTPUT_EVERY ms, so a
        # chatty task cannot flood the GUI thread with repaints.
        self._printed: set[tuple[str, int]] = set()
        self._announce = QTimer(self)
        self._announce.setSingleShot(True)
        self._announce.setInterval(OUTPUT_EVERY)
        self._announce.timeout.connect(self._announce_output)

    def _emit(self) -> None:
        self.loaded.emit(sorted(self.rows.values(), key=lambda i: (i.created_at is None, i.created_at, i.name)))

    def clear(self) -> None:
        self.rows = {}
        self._emit()

    def reload(self) -> None:
        self._c.spawn(self._reload(), name="instances")

    async def _reload(self) -> None:
        try:
            instances: list[InstanceData] = list(await self._c.call(lambda c: c.instances.list()))
        except In10ntError as exc:
            # Servers without instances (or an engine without a container engine) say so; not an alarm.
            log.info("instances unavailable: %s", exc)
            instances = []
        self.rows = {i.instance_id: i for i in instances}
        self._emit()

    def apply(self, instance: InstanceData) -> None:
        self.rows[instance.instance_id] = instance
        self._emit()

    def forget(self, instance_id: str) -> None:
        self.history.forget(instance_id)
        if self.rows.pop(instance_id, None) is not None:
            self._emit()

    # -- commands --------------------------------------------------------------------------------
    def create(self, name: str, template_id: str) -> None:
        self._c.spawn(self._create(name, template_id))

    async def _create(self, name: str, template_id: str) -> None:
        try:
            instance = await self._c.call(lambda c: c.instances.create(name=name, container_template_id=template_id))
        except In10ntError as exc:
            self._errors.report(exc, f"Creating instance {name}")
            if isinstance(exc, NotFoundError):
                self.template_missing.emit(template_id)
            return
        self.apply(instance)
        self.done.emit(f"Instance {name} created.")

    def clone(self, saved_name: str, instance_name: str) -> None:
        self._c.spawn(self._clone(saved_name, instance_name))

    async def _clone(self, saved_name: str, instance_name: str) -> None:
        try:
            instance = await self._c.call(lambda c: c.instances.create_from_saved_template(
                template_name=saved_name, new_instance_name=instance_name))
        except In10ntError as exc:
            self._errors.report(exc, f"Cloning {saved_name} as {instance_name}")
            if isinstance(exc, NotFoundError):
                self._saved.reload()  # it may have been deleted elsewhere
            return
        self.apply(instance)
        self.done.emit(f"Instance {instance_name} started from {saved_name}.")

    def run(self, instance_id: str, name: str, task: str) -> None:
        self._c.spawn(self._run(instance_id, name, task))

    def runs(self, instance_id: str) -> list[TaskRun]:
        return self.history.runs(instance_id)

    async def _run(self, instance_id: str, name: str, task: str) -> None:
        run = self.history.started(instance_id, task)
        self.runs_changed.emit(instance_id)
        self.task_started.emit(instance_id, name)

        async def run_it(c: In10ntClient) -> RunResult:
            instance = await c.instances.get(instance_id)
            async with instance.run_stream(task) as stream:
                async for piece in stream:
                    if self.history.append(instance_id, run.number, piece) is not None:
                        self._printed.add((instance_id, run.number))
                        if not self._announce.isActive():
                            self._announce.start()
            return stream.result

        try:
            result = await self._c.call(run_it)
        except In10ntError as exc:
            self._finish(instance_id, run.number, failed=str(exc))
            self._errors.report(exc, f"Running a task in {name}")
            self.task_finished.emit(instance_id, name, None)
            return
        except asyncio.CancelledError:  # the connection changed: the task goes on, but its result is not ours
            self._finish(instance_id, run.number, failed="The connection changed while the task ran; its result "
                                                         "was not received (the task itself went on).")
            raise
        self._finish(instance_id, run.number, exit_code=result.exit_code, output=result.output,
                     timed_out=result.timed_out)
        self.task_finished.emit(instance_id, name, result)

    def _finish(self, instance_id: str, number: int, *, exit_code: int | None = None, output: str | None = None,
                failed: str | None = None, timed_out: bool = False) -> None:
        self._printed.discard((instance_id, number))  # runs_changed shows the output the run ended with
        self.history.finished(instance_id, number, exit_code=exit_code, output=output, failed=failed,
                              timed_out=timed_out)
        self.runs_changed.emit(instance_id)

    def _announce_output(self) -> None:
        printed, self._printed = self._printed, set()
        for instance_id, number in sorted(printed):
            self.output_appended.emit(instance_id, number)

    def snapshot(self, instance_id: str, name: str, saved_name: str) -> None:
        self._c.spawn(self._snapshot(instance_id, name, saved_name))

    async def _snapshot(self, instance_id: str, name: str, saved_name: str) -> None:
        async def take(c: In10ntClient) -> SavedTemplate:
            instance = await c.instances.get(instance_id)
            return await instance.snapshot(saved_name)

        try:
            saved = await self._c.call(take)
        except In10ntError as exc:
            self._errors.report(exc, f"Snapshotting {name}")
            return
        self._saved.apply(saved)
        self.done.emit(f"Saved template {saved.name} created from {name}.")

    def delete(self, instances: Iterable[tuple[str, str]]) -> None:
        """``instances``: (id, name) pairs."""
        self._c.spawn(self._delete(list(instances)))

    async def _delete(self, instances: list[tuple[str, str]]) -> None:
        done, failed = [], []
        for instance_id, name in instances:
            try:
                await self._c.call(functools.partial(_delete_instance, instance_id=instance_id))
            except NotFoundError:
                pass  # gone already: what was asked for
            except In10ntError as exc:
                failed.append((name, str(exc)))
                continue
            done.append(name)
            self.forget(instance_id)
        self.bulk_finished.emit("instance", BulkResult(done, failed))


async def _delete_instance(client: In10ntClient, instance_id: str) -> None:
    instance = await client.instances.get(instance_id)
    await instance.delete()


async def _delete_saved(client: In10ntClient, name: str) -> None:
    await client.saved_templates.delete(name)


def stale_for(state: str) -> bool:
    """Rows are stale whenever the connection is not online: derived, never kept beside it."""
    return state != ConnState.ONLINE.value

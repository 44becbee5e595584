"""Instances on the local engine: containers of a template's image, kept alive for tasks, committed to snapshots.

The container engine is the record. An instance is a container named ``in10nt-<instanceId>`` whose
``in10nt.*`` labels say what it is, scoped by ``in10nt.engine-data-dir`` so two engines on
different data dirs never see each other's containers. Nothing about instances is kept in SQLite:
a restart re-reads them from the labels, and a container removed behind the engine's back is
gone, not "running". Saved templates are images the engine owns (``localhost/in10nt-saved/…``),
recorded in the store. The docker SDK is synchronous, so every call runs on the container engine's
control threads (tasks' output on the task pool, engine/task_runs.py).
The engine's own changes are published (``publish``); one made behind its back is not announced.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors

from in10nt_desktop.engine.container_engine import ContainerEngine, EngineUnavailable
from in10nt_desktop.engine.events import INSTANCE_CHANGED, INSTANCE_CREATED, INSTANCE_DELETED
from in10nt_desktop.engine.instance_images import commit, remove_saved_image, saved_image_ref, template_image
from in10nt_desktop.engine.instance_rows import (
    ID_RE,
    KEEP_ALIVE,
    L_CREATED,
    L_DATA_DIR,
    L_DESCRIPTION,
    L_ID,
    L_NAME,
    L_SAVED,
    L_TEMPLATE,
    NO_SHELL,
    InstanceError,
    checked_description,
    checked_name,
    checked_task,
    checked_template_id,
    from_inspect,
    from_summary,
    row,
)
from in10nt_desktop.engine.store import Store
from in10nt_desktop.engine.store_schema import new_id, now_iso
from in10nt_desktop.engine.task_runs import (
    DEFAULT_MAX_TASKS,
    DEFAULT_TIMEOUT,
    OutputTap,
    TaskSlots,
    checked_timeout,
    run_task,
)

log = logging.getLogger(__name__)

@dataclass
class _Pending:
    """An instance between its name reservation and its running container."""

    row: dict[str, Any]
    template_id: str | None  # for a clone: the template its saved template came from (lineage label)
    saved_name: str | None
    key: str | None = field(default=None, repr=False)
    task: asyncio.Task[dict[str, Any]] | None = None


class InstanceRuntime:
    def __init__(self, store: Store, engine: ContainerEngine, *, data_dir: Path, network: str | None,
                 mirrors: dict[str, str], publish: Callable[[str, dict[str, Any]], None] | None = None,
                 max_tasks: int = DEFAULT_MAX_TASKS) -> None:
        self._store, self._engine = store, engine
        self._publish = publish or (lambda _event, _data: None)
        self._scope = str(data_dir.resolve())
        self._network, self._mirrors = network, mirrors
        self._lock = asyncio.Lock()  # name checks and reservations, so concurrent creates cannot both win
        self._pending: dict[str, _Pending] = {}
        self._known: dict[str, str] = {}  # id -> name of instances seen, to say "gone" rather than "no such"
        self._keys: OrderedDict[str, str] = OrderedDict()  # Idempotency-Key -> instance id / saved name
        self._saving: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._task_slots = TaskSlots(max_tasks)

    # -- lifecycle -----------------------------------------------------------------------------------
    def start(self) -> None:
        """Re-read instances from the engine's labels in the background (start-up must not wait on it)."""
        self._own(asyncio.get_running_loop().create_task(self._recover(), name="instances recover"))

    async def _recover(self) -> None:
        try:
            client = await self._engine.connect()
            rows = await self._rows(client)
        except EngineUnavailable:
            log.info("no container engine at start-up: instance routes answer 503 until one answers")
            return
        except Exception:
            log.exception("reading instances from the container engine")
            return
        log.info("found %d instance(s) in the container engine", len(rows))

    async def shutdown(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task_slots.shutdown()

    def _own(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _remember(self, key: str | None, value: str) -> None:
        if key:
            self._keys[key] = value
            while len(self._keys) > 1000:
                self._keys.popitem(last=False)

    # -- reading the engine --------------------------------------------------------------------------
    async def _client(self) -> Any:
        try:
            return await self._engine.connect()
        except EngineUnavailable as exc:
            raise InstanceError(503, "no_container_engine", f"Instances need a container engine. {exc}") from None

    async def _rows(self, client: Any) -> list[dict[str, Any]]:
        rows = await self._engine.call(client.api.containers, all=True,
                                       filters={"label": [f"{L_DATA_DIR}={self._scope}"]})
        # The name check drops containers someone ran by hand from a snapshot image that kept our labels.
        mine = [r for r in rows if f"/in10nt-{(r.get('Labels') or {}).get(L_ID)}" in
                ["/" + n.lstrip("/") for n in r.get("Names") or []]]
        for r in mine:
            self._known[r["Labels"][L_ID]] = r["Labels"].get(L_NAME, "")
        return mine

    async def _inspect(self, client: Any, iid: str) -> dict[str, Any]:
        """The instance's container, or the 404 (409 while it is still being created)."""
        if iid in self._pending:
            raise InstanceError(409, "creating", f"Instance {iid} is still being created; try again when it runs.")
        attrs: dict[str, Any] | None = None
        if ID_RE.match(iid):
            try:
                attrs = await self._engine.call(client.api.inspect_container, f"in10nt-{iid}")
            except docker.errors.NotFound:
                attrs = None
        labels = (attrs or {}).get("Config", {}).get("Labels") or {}
        if attrs is None or labels.get(L_DATA_DIR) != self._scope or labels.get(L_ID) != iid:
            if iid in self._known:
                name = self._known[iid]
                raise InstanceError(404, "gone", f"Instance {iid} ('{name}') is gone: its container was removed "
                                                 "outside In10nt.")
            raise InstanceError(404, "not_found", f"No instance with ID {iid}.")
        self._known[iid] = labels.get(L_NAME, "")
        return attrs

    async def list(self) -> list[dict[str, Any]]:
        rows = [from_summary(r) for r in await self._rows(await self._client())]
        seen = {r["instanceId"] for r in rows}
        rows += [dict(p.row) for iid, p in self._pending.items() if iid not in seen]
        return sorted(rows, key=lambda r: (r["createdAt"] or "", r["instanceId"]))

    async def get(self, iid: str) -> dict[str, Any]:
        client = await self._client()
        if iid in self._pending:
            return dict(self._pending[iid].row)
        return from_inspect(await self._inspect(client, iid))

    # -- creating --------------------------------------------------------------------------------------
    async def create(self, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        name = checked_name(body.get("name"), "name")
        description = checked_description(body.get("description"))
        tid = checked_template_id(body.get("containerTemplateId"))
        template = self._store.get_template(tid)
        if template is None:
            raise InstanceError(404, "not_found", f"No template with ID {tid}.", "containerTemplateId")
        if template["status"] == "building":
            raise InstanceError(409, "template_not_ready", f"Template {tid} is still building; create the instance "
                                                           f"once it is ready (`in10nt templates wait {tid}`).")
        if template["status"] != "ready" or not template.get("digest"):
            raise InstanceError(409, "template_not_ready", f"Template {tid} failed to build "
                                                           f"({template['error'] or 'no reason given'}); "
                                                           "fix it and create the template again.")
        client = await self._client()
        return await self._create(client, name, description, tid, None,
                                  lambda: template_image(self._engine, self._store, self._mirrors, client, template),
                                  key)

    async def create_from_saved(self, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        saved_name = checked_name(body.get("templateName"), "templateName")
        name = checked_name(body.get("newInstanceName"), "newInstanceName")
        saved = self._store.get_saved(saved_name)
        if saved is None:
            raise InstanceError(404, "not_found", f"No saved template named '{saved_name}'.", "templateName")
        client = await self._client()

        async def image() -> str:
            try:
                await self._engine.call(client.api.inspect_image, saved["image"])
            except docker.errors.ImageNotFound:
                raise InstanceError(409, "image_missing", f"The image of saved template '{saved_name}' "
                                    f"({saved['image']}) is no longer in the container engine (removed outside "
                                    "In10nt); delete the saved template.") from None
            return str(saved["image"])

        return await self._create(client, name, None, saved["containerTemplateId"], saved_name, image, key)

    async def _create(self, client: Any, name: str, description: str | None, template_id: str | None,
                      saved_name: str | None, image: Callable[[], Awaitable[str]], key: str | None) -> dict[str, Any]:
        async with self._lock:
            replay = self._keys.get(key) if key else None
            if replay is None:
                rows = await self._rows(client)
                taken = [r["Labels"][L_ID] for r in rows if r["Labels"].get(L_NAME) == name]
                taken += [iid for iid, p in self._pending.items() if p.row["name"] == name]
                if taken:
                    raise InstanceError(409, "name_taken", f"An instance named '{name}' already exists "
                                                           f"({taken[0]}); choose another name.",
                                        "newInstanceName" if saved_name else "name")
                iid = new_id("inst")
                first = row({L_ID: iid, L_NAME: name, L_DESCRIPTION: description or "",
                             L_TEMPLATE: template_id or "", L_SAVED: saved_name or "", L_CREATED: now_iso()},
                            "creating", None, None)
                pending = _Pending(first, template_id, saved_name, key)
                self._pending[iid] = pending
                self._remember(key, iid)
                task = asyncio.get_running_loop().create_task(self._materialize(client, pending, image),
                                                              name=f"create {iid}")
                pending.task = task
                self._own(task)
                self._publish(INSTANCE_CREATED, dict(first))
        if replay is not None:
            return await self._replay(client, replay)
        # Shielded: a client that hangs up mid-create must not leave a half-made container behind.
        return await asyncio.shield(task)

    async def _replay(self, client: Any, iid: str) -> dict[str, Any]:
        """A retried create (same Idempotency-Key): the same instance, never a second container."""
        pending = self._pending.get(iid)
        if pending is not None and pending.task is not None:
            return await asyncio.shield(pending.task)
        return from_inspect(await self._inspect(client, iid))

    async def _materialize(self, client: Any, pending: _Pending, image: Callable[[], Awaitable[str]]) -> dict[str, Any]:
        first = pending.row
        iid = first["instanceId"]
        try:
            ref = await image()
            # Every label is set, empty when unknown: an image committed from an instance carries labels.
            labels = {L_ID: iid, L_NAME: first["name"], L_DESCRIPTION: first["description"] or "",
                      L_TEMPLATE: pending.template_id or "", L_SAVED: pending.saved_name or "",
                      L_CREATED: first["createdAt"], L_DATA_DIR: self._scope}
            options: dict[str, Any] = {"entrypoint": ["/bin/sh", "-c", KEEP_ALIVE], "command": [],
                                       "name": f"in10nt-{iid}", "labels": labels, "detach": True}
            if self._network:  # Docker's API ignores containers.conf netns: say it explicitly
                options["network_mode"] = self._network
            container = await self._engine.call(client.containers.create, ref, **options)
            try:
                await self._engine.call(container.start)
                attrs = await self._engine.call(client.api.inspect_container, container.id)
                result = from_inspect(attrs)
                if result["status"] == "failed":
                    raise InstanceError(409, "image_unsupported", str(result["error"]))
            except docker.errors.APIError as exc:
                await self._engine.call(container.remove, force=True)
                text = str(exc.explanation or exc)
                if "/bin/sh" in text:
                    raise InstanceError(409, "image_unsupported", NO_SHELL) from None
                raise InstanceError(500, "container_engine_error",
                                    f"The container engine could not start the instance: {text[:300]}") from None
            except InstanceError:
                await self._engine.call(container.remove, force=True)
                raise
            self._known[iid] = first["name"]
            self._publish(INSTANCE_CHANGED, result)
            return result
        except BaseException:
            if pending.key:
                self._keys.pop(pending.key, None)  # a failed create may be retried with the same key
            self._publish(INSTANCE_DELETED, {"instanceId": iid})  # its "creating" row is gone
            raise
        finally:
            self._pending.pop(iid, None)

    # -- using -----------------------------------------------------------------------------------------
    async def delete(self, iid: str) -> None:
        client = await self._client()
        attrs = await self._inspect(client, iid)
        try:
            await self._engine.call(client.api.remove_container, attrs["Id"], force=True, v=True)
        except docker.errors.NotFound:
            pass  # removed meanwhile: the outcome the user asked for
        self._known.pop(iid, None)
        self._publish(INSTANCE_DELETED, {"instanceId": iid})

    async def run(self, iid: str, body: dict[str, Any]) -> dict[str, Any]:
        work = await self._start_run(iid, body, None)
        return await asyncio.shield(work)  # a hung-up client does not kill the task; the timeout does

    async def run_streamed(self, iid: str, body: dict[str, Any]) -> tuple[OutputTap, asyncio.Task[dict[str, Any]]]:
        """Start a task and answer once it runs: a tap on its output and its run (engine/task_stream.py).

        What keeps it from starting (busy, the container gone) is raised here, so it is an error answer.
        """
        started: asyncio.Future[OutputTap] = asyncio.get_running_loop().create_future()

        def on_start(output: Any) -> None:
            if not started.done():
                started.set_result(output.tap())

        work = await self._start_run(iid, body, on_start)
        await asyncio.wait((started, work), return_when=asyncio.FIRST_COMPLETED)  # neither is cancelled
        if started.done():
            return started.result(), work
        work.result()  # raises why it could not start
        raise RuntimeError("a task ended without starting and without an error")

    async def _start_run(self, iid: str, body: dict[str, Any],
                         on_start: Callable[[Any], None] | None) -> asyncio.Task[dict[str, Any]]:
        """Check the request, start the instance if it was stopped, and run the task as a task the runtime owns
        (so a client that leaves stops nothing, and shutdown stops it)."""
        task = checked_task(body.get("task"))
        timeout = checked_timeout(body.get("timeout", DEFAULT_TIMEOUT))
        client = await self._client()
        attrs = await self._inspect(client, iid)
        current = from_inspect(attrs)
        if current["status"] == "failed":
            raise InstanceError(409, "instance_failed", f"Instance {iid} cannot run tasks: {current['error']}")
        if current["status"] == "stopped":  # e.g. after a reboot: its files are intact, start it again
            await self._engine.call(client.api.start, attrs["Id"])
            current = await self._announce_if_changed(client, attrs["Id"], current)

        async def run_and_announce() -> dict[str, Any]:
            result = await run_task(self._engine, self._task_slots, attrs["Id"], task, timeout, on_start)
            with contextlib.suppress(docker.errors.NotFound):  # removed meanwhile: a delete announces itself
                await self._announce_if_changed(client, attrs["Id"], current)  # a task may stop its own container
            return result

        work = asyncio.get_running_loop().create_task(run_and_announce(), name=f"run {iid}")
        self._own(work)
        return work

    async def _announce_if_changed(self, client: Any, container_id: str, before: dict[str, Any]) -> dict[str, Any]:
        now = from_inspect(await self._engine.call(client.api.inspect_container, container_id))
        if (now["status"], now["error"]) != (before["status"], before["error"]):
            self._publish(INSTANCE_CHANGED, now)
        return now

    async def snapshot(self, iid: str, body: dict[str, Any], key: str | None) -> dict[str, Any]:
        name = checked_name(body.get("templateName"), "templateName")
        if key and key in self._keys and (done := self._store.get_saved(self._keys[key])) is not None:
            return done
        client = await self._client()
        attrs = await self._inspect(client, iid)
        async with self._lock:
            if name in self._saving or self._store.get_saved(name) is not None:
                raise InstanceError(409, "name_taken", f"A saved template named '{name}' already exists; choose "
                                                       "another name or delete that one first.", "templateName")
            self._saving.add(name)
        try:
            image_ref = saved_image_ref(name)
            base = await self._engine.call(client.api.inspect_image, attrs["Image"])
            await self._engine.call(commit, client, attrs["Id"], image_ref, base.get("Config") or {})
            size = (await self._engine.call(client.api.inspect_image, image_ref)).get("Size")
            labels = attrs["Config"].get("Labels") or {}
            saved = self._store.insert_saved(name=name, image_ref=image_ref, size_bytes=size, source_instance_id=iid,
                                             container_template_id=labels.get(L_TEMPLATE) or None)
        finally:
            self._saving.discard(name)
        self._remember(key, name)
        return saved

    async def delete_saved(self, name: str) -> None:
        saved = self._store.get_saved(name)
        if saved is None:  # known without a container engine
            raise InstanceError(404, "not_found", f"No saved template named '{name}'.")
        client = await self._client()
        users = [(r["Labels"].get(L_NAME, ""), r["Labels"][L_ID]) for r in await self._rows(client)
                 if r["Labels"].get(L_SAVED) == name]
        users += [(p.row["name"], iid) for iid, p in self._pending.items() if p.saved_name == name]
        if users:
            listed = ", ".join(f"'{n}' ({i})" for n, i in users)
            noun = "instance" if len(users) == 1 else "instances"
            raise InstanceError(409, "in_use", f"Saved template '{name}' is used by {noun} {listed}; delete "
                                               f"{'it' if len(users) == 1 else 'them'} first.")
        await remove_saved_image(self._engine, client, name, saved["image"])
        self._store.delete_saved(name)

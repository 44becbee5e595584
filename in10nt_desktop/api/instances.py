"""``client.saved_templates`` and ``client.instances``: snapshots and the instances that make them.

Paths are those of the In10nt HTTP API (README: The local engine). On the local engine a task is
a shell command run with ``sh -c`` in the instance's container; the hosted service runs an agent
on it instead.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from in10nt_desktop.api.models import BoundRow, InstanceData, RunResult, SavedTemplate
from in10nt_desktop.api.task_stream import TaskStream

# A create may pull the image first and a task may run for minutes: these calls wait longer than others.
CREATE_TIMEOUT = 900.0
DEFAULT_TASK_TIMEOUT = 600.0  # the local engine's default when none is given

if TYPE_CHECKING:
    from in10nt_desktop.api.http import HttpCore


def instance_path(instance_id: str, tail: str = "") -> str:
    """Encoded like template IDs (api/templates.py): an ID can never reach another path."""
    return f"/instances/{quote(instance_id, safe='')}{tail}"


class SavedTemplatesResource:
    def __init__(self, http: HttpCore) -> None:
        self._http = http

    async def list(self) -> list[SavedTemplate]:
        return await self._http.rows(SavedTemplate, "/saved-templates", "savedTemplates", "templates")

    async def delete(self, name: str) -> None:
        await self._http.request("DELETE", f"/saved-templates/{quote(name, safe='')}")


class Instance(InstanceData, BoundRow):
    """An instance bound to its client: ``await i.run(task)``, ``await i.snapshot(name)``."""

    def _run_request(self, task: str, timeout: float | None) -> tuple[str, dict[str, Any], float]:
        """The path, body and read timeout of a ``/run``: the task's own timeout, plus a minute for the answer."""
        body: dict[str, Any] = {"task": task}
        if timeout is not None:
            body["timeout"] = timeout
        wait = (timeout if timeout is not None else DEFAULT_TASK_TIMEOUT) + 60
        return instance_path(self.instance_id, "/run"), body, wait

    async def run(self, task: str, timeout: float | None = None) -> RunResult:
        """Run ``task`` and wait for it; ``timeout`` (seconds) kills it on the server when it runs out."""
        path, body, wait = self._run_request(task, timeout)
        return await self._core().item(RunResult, "POST", path, json=body, retry=False, timeout=wait)

    def run_stream(self, task: str, timeout: float | None = None) -> TaskStream:
        """Run ``task`` and read its output as it is printed: ``async for piece in stream``, then
        ``stream.result`` (api/task_stream.py). Nothing is sent until the iteration starts."""
        return TaskStream(self._core(), *self._run_request(task, timeout))

    async def snapshot(self, template_name: str) -> SavedTemplate:
        return await self._core().item(SavedTemplate, "POST", instance_path(self.instance_id, "/snapshot"),
                                       "savedTemplate", json={"templateName": template_name},
                                       idempotency_key=str(uuid.uuid4()), timeout=CREATE_TIMEOUT)

    async def delete(self) -> None:
        await self._core().request("DELETE", instance_path(self.instance_id))


class InstancesResource:
    def __init__(self, http: HttpCore) -> None:
        self._http = http

    async def create(self, *, name: str, container_template_id: str,
                     description: str | None = None) -> Instance:
        body: dict[str, Any] = {"name": name, "containerTemplateId": container_template_id}
        if description is not None:
            body["description"] = description
        instance = await self._http.item(Instance, "POST", "/instances", "instance", json=body,
                                         idempotency_key=str(uuid.uuid4()), timeout=CREATE_TIMEOUT)
        return instance._bind(self._http)

    async def create_from_saved_template(self, *, template_name: str, new_instance_name: str) -> Instance:
        instance = await self._http.item(Instance, "POST", "/instances/from-saved-template", "instance",
                                         json={"templateName": template_name, "newInstanceName": new_instance_name},
                                         idempotency_key=str(uuid.uuid4()), timeout=CREATE_TIMEOUT)
        return instance._bind(self._http)

    async def list(self) -> list[Instance]:
        return [i._bind(self._http) for i in await self._http.rows(Instance, "/instances", "instances")]

    async def get(self, instance_id: str) -> Instance:
        instance = await self._http.item(Instance, "GET", instance_path(instance_id), "instance")
        return instance._bind(self._http)

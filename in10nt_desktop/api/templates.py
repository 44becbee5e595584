"""``client.templates``: create, list and get container templates; wait for their builds."""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from in10nt_desktop.api.errors import BuildFailedError, In10ntError, WaitTimeoutError
from in10nt_desktop.api.models import BoundRow, BuildLog, BuildRecord, RegistryAuth, StatusInfo, TemplateData
from in10nt_desktop.api.registry import CHECK_TIMEOUT, DriftInfo, timed_body
from in10nt_desktop.api.waits import RetryCallback, until_answered

if TYPE_CHECKING:
    from in10nt_desktop.api.http import HttpCore


def template_path(template_id: str, tail: str = "") -> str:
    """IDs are the server's to choose: encode everything, so ``a/b`` or ``?`` cannot reach another path."""
    return f"/container-templates/{quote(template_id, safe='')}{tail}"


class Template(TemplateData, BoundRow):
    """A template row bound to the client that fetched it (``await t.refresh()``, ``t.delete()``)."""

    async def refresh(self) -> Template:
        fresh = await self._core().item(TemplateData, "GET", template_path(self.template_id),
                                        "template")
        for name in type(self).model_fields:
            setattr(self, name, getattr(fresh, name))
        if fresh.model_extra:
            for key, value in fresh.model_extra.items():
                setattr(self, key, value)
        return self

    async def status_info(self) -> StatusInfo:
        info = await self._core().item(StatusInfo, "GET", template_path(self.template_id, "/status"))
        self.status, self.error, self.progress = info.status, info.error, info.progress
        self.phase, self.queue_position = info.phase, info.queue_position
        return info

    async def delete(self) -> None:
        await self._core().request("DELETE", template_path(self.template_id))

    async def logs(self, after: int = 0) -> BuildLog:
        return await self._core().item(BuildLog, "GET", template_path(self.template_id, "/logs"),
                                       params={"after": after})

    async def wait_until_ready(self, timeout: float = 300, poll_interval: float = 5,
                               on_poll: Callable[[StatusInfo], None] | None = None,
                               on_retry: RetryCallback | None = None) -> Template:
        """Poll ``/status`` until ``ready``; raise ``BuildFailedError`` or ``WaitTimeoutError``.

        Defaults follow the seed (5 min, every 5 s). Seconds, not milliseconds: Python style.
        Transient failures (network, 429, 500, 502, 503, 504) are retried until ``timeout`` and reported
        to ``on_retry(error, delay)``; see api/waits.py.
        """
        def seen(info: StatusInfo) -> None:
            self.status, self.error, self.progress = info.status, info.error, info.progress
            if on_poll is not None:
                on_poll(info)

        deadline = await wait_for_build(self._core(), self.template_id, timeout=timeout,
                                        poll_interval=poll_interval, on_poll=seen, on_retry=on_retry)
        await until_answered(self.refresh, deadline=deadline, poll_interval=poll_interval, on_retry=on_retry,
                             gave_up=_gave_up(self.template_id, timeout, "its ready template"),
                             server=self._core().base_url)
        return self


def _gave_up(template_id: str, timeout: float, what: str = "how its build ended") -> Callable[[In10ntError], str]:
    def sentence(err: In10ntError) -> str:
        return (f"Gave up on template {template_id} after {timeout:g} s without learning {what}: the last "
                f"request failed ({str(err).rstrip('.')}).")
    return sentence


async def wait_for_build(core: HttpCore, template_id: str, *, timeout: float, poll_interval: float,
                         on_poll: Callable[[StatusInfo], None], on_retry: RetryCallback | None) -> float:
    """Poll until ``ready`` (returns the deadline, for the calls that follow); raise as ``wait_until_ready``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    path = template_path(template_id, "/status")

    async def status() -> StatusInfo:
        return await core.item(StatusInfo, "GET", path, retry=False)

    while True:
        info = await until_answered(status, deadline=deadline, poll_interval=poll_interval, on_retry=on_retry,
                                    gave_up=_gave_up(template_id, timeout), server=core.base_url)
        on_poll(info)
        if info.status == "ready":
            return deadline
        if info.status == "failed":
            raise BuildFailedError(template_id, info.error)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise WaitTimeoutError(f"Template {template_id} was still building after {timeout:g} s.")
        await asyncio.sleep(min(poll_interval, remaining))


class TemplatesResource:
    def __init__(self, http: HttpCore) -> None:
        self._http = http

    async def create(self, *, name: str, image: str, registry_type: str = "dockerhub",
                     description: str | None = None, registry_auth: RegistryAuth | None = None,
                     idempotency_key: str | None = None) -> Template:
        body: dict[str, Any] = {"name": name, "image": image, "registryType": registry_type}
        if description is not None:
            body["description"] = description
        if registry_auth is not None:
            body["registryAuth"] = registry_auth.to_wire()
        # Always send a key: it makes the POST safe to retry after a dropped connection.
        key = idempotency_key or str(uuid.uuid4())
        template = await self._http.item(Template, "POST", "/container-templates", "template", json=body,
                                         idempotency_key=key)
        return template._bind(self._http)

    async def list(self) -> list[Template]:
        rows = await self._http.rows(Template, "/container-templates", "templates", "containerTemplates")
        return [t._bind(self._http) for t in rows]

    async def get(self, template_id: str) -> Template:
        template = await self._http.item(Template, "GET", template_path(template_id), "template")
        return template._bind(self._http)

    async def status(self, template_id: str) -> StatusInfo:
        return await self._http.item(StatusInfo, "GET", template_path(template_id, "/status"))

    async def logs(self, template_id: str, after: int = 0) -> BuildLog:
        return await self._http.item(BuildLog, "GET", template_path(template_id, "/logs"),
                                     params={"after": after})

    async def delete(self, template_id: str) -> None:
        await self._http.request("DELETE", template_path(template_id))

    async def wait_until_ready(self, template_id: str, timeout: float = 300, poll_interval: float = 5,
                               on_poll: Callable[[StatusInfo], None] | None = None,
                               on_retry: RetryCallback | None = None) -> Template:
        """``Template.wait_until_ready`` by ID: no request before the first poll, so a flaky start is retried too."""
        deadline = await wait_for_build(self._http, template_id, timeout=timeout, poll_interval=poll_interval,
                                        on_poll=on_poll or (lambda _info: None), on_retry=on_retry)

        async def fetch() -> Template:
            return await self._http.item(Template, "GET", template_path(template_id), "template", retry=False)

        template = await until_answered(fetch, deadline=deadline, poll_interval=poll_interval, on_retry=on_retry,
                                        gave_up=_gave_up(template_id, timeout, "its ready template"),
                                        server=self._http.base_url)
        return template._bind(self._http)

    async def drift(self, template_id: str, registry_auth: RegistryAuth | None = None,
                    timeout: float | None = None) -> DriftInfo:
        """Does the template's tag still point to the digest it was built from?

        ``drifted`` is None when the registry could not say (unreachable, credentials needed: see
        ``error``). The server keeps no credentials, so a private image needs ``registry_auth`` again.
        ``ConflictError`` while the template has no pinned digest yet; ``NotFoundError`` for an unknown
        template or a server without the check (``client.registry.available()`` tells which).
        """
        return await self._http.item(DriftInfo, "POST", template_path(template_id, "/drift"),
                                     json=timed_body(registry_auth, timeout), retry=False,
                                     timeout=(timeout or CHECK_TIMEOUT) + 5.0)

    async def builds(self, template_id: str) -> builtins.list[BuildRecord]:
        """The template's build records, newest first (the local engine keeps 20 per template)."""
        return await self._http.rows(BuildRecord, template_path(template_id, "/builds"), "builds")

    async def rebuild(self, template_id: str, registry_auth: RegistryAuth | None = None, *,
                      idempotency_key: str | None = None) -> Template:
        """Build the template again in place (same id, a new record); ``building`` when this returns.

        A template whose last build had credentials (``needs_credentials``) needs them again:
        without, ``ValidationError`` with code ``credentials_required``; a running build: ``ConflictError``.
        """
        body: dict[str, Any] = {"registryAuth": registry_auth.to_wire()} if registry_auth is not None else {}
        key = idempotency_key or str(uuid.uuid4())  # a retried POST then never builds twice
        template = await self._http.item(Template, "POST", template_path(template_id, "/rebuild"), "template",
                                         json=body, idempotency_key=key)
        return template._bind(self._http)

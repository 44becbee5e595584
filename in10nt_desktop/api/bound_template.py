"""``Template``: a template row bound to the client that fetched it (pydantic; see api/templates.py)."""

from __future__ import annotations

from collections.abc import Callable

from in10nt_desktop.api.models import BoundRow, BuildLog, StatusInfo, TemplateData
from in10nt_desktop.api.templates import _gave_up, template_path, wait_for_build
from in10nt_desktop.api.waits import RetryCallback, until_answered


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

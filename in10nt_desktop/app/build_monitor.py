"""Live build status: one polling task that asks the server only while something builds.

Policy (the seed's defaults): every 5 s, every 1 s for the first 15 s after a create; one
request per tick however many templates build — ``/status`` when one builds, the whole list
when several do (it answers for all of them at once). Errors back off (5 → 10 → 20 → 60 s) and
mark the building rows stale instead of failing them. A template seen ``building`` that turns
``ready`` or ``failed`` is announced once through ``finished`` (the notification); rows that
were already done when the list loaded never are, so start-up brings no notification storm.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import In10ntClient, In10ntError
from in10nt_desktop.app.errors import ErrorReporter
from in10nt_desktop.app.tasks import TaskOwner
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore

log = logging.getLogger(__name__)


class BuildMonitor(QObject):
    finished = Signal(object)      # TemplateRow that reached ready or failed
    tick_done = Signal(int)        # requests made in the tick (0 or 1): for tests and the benchmark
    recovered = Signal()           # a poll succeeded after one or more failed

    def __init__(self, store: TemplateStore, errors: ErrorReporter, *, interval: float = 5.0,
                 fast_interval: float = 1.0, fast_window: float = 15.0, max_backoff: float = 60.0,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._errors = errors
        self.interval = interval
        self.fast_interval = fast_interval
        self.fast_window = fast_window
        self.max_backoff = max_backoff
        self._client: In10ntClient | None = None
        self._tasks = TaskOwner(errors.report_task_failure)
        self._wake = asyncio.Event()
        self._fast_until = 0.0
        self._failures = 0
        self._refresh: set[str] = set()  # finished with /status only: fetch the full row next tick
        self.requests = 0

    @property
    def running(self) -> bool:
        return self._tasks.running("poll")

    def attach(self, client: In10ntClient) -> None:
        """Start watching through ``client`` (after a connect or a profile switch)."""
        self._client = client
        self._failures = 0
        self._tasks.spawn(self._run(), name="poll")

    def detach(self) -> None:
        self._client = None
        self._tasks.cancel_all()

    async def close(self) -> None:
        self._client = None
        await self._tasks.shutdown()

    def kick(self, fast: bool = True) -> None:
        """Something started building here: look soon, and often for a while."""
        loop = asyncio.get_event_loop()
        if fast:
            self._fast_until = loop.time() + self.fast_window
        self._wake.set()

    def _delay(self, loop: asyncio.AbstractEventLoop) -> float:
        if self._failures:
            return float(min(self.interval * 2 ** (self._failures - 1), self.max_backoff))
        return self.fast_interval if loop.time() < self._fast_until else self.interval

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._client is not None:
            if not self._store.building_count and not self._refresh:
                self._wake.clear()
                await self._wake.wait()  # nothing builds: no requests at all until kicked
                continue
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self._delay(loop))
            except TimeoutError:
                pass
            if self._client is None:
                return
            await self.tick()

    async def tick(self) -> int:
        """One poll: at most one request. Returns how many were made (0 or 1)."""
        client = self._client
        building = self._store.building_ids()
        if client is None or (not building and not self._refresh):
            self.tick_done.emit(0)
            return 0
        self.requests += 1
        try:
            if len(building) == 1 and not self._refresh:
                info = await client.templates.status(building[0])
                change = self._store.apply_status(info)
                transitions = [change] if change else []
                if change:
                    self._refresh.add(change[1].template_id)
            elif len(building) + len(self._refresh) == 1:
                (only,) = self._refresh
                self._refresh.clear()
                template = await client.templates.get(only)
                self._store.merge([template], complete=False)
                transitions = []
            else:
                self._refresh.clear()
                templates = await client.templates.list()
                transitions = self._store.merge(templates, complete=True)
        except In10ntError as exc:
            self._failures += 1
            self._store.set_stale(True, building)
            if self._failures == 1:  # one message per outage, not one per tick
                self._errors.report(exc)
            log.info("status poll failed (%d in a row): %s", self._failures, exc)
        else:
            if self._failures:
                self._failures = 0
                self.recovered.emit()
            for old, new in transitions:
                if old.building and not new.building:
                    self._announce(new)
        self.tick_done.emit(1)
        return 1

    def _announce(self, row: TemplateRow) -> None:
        self.finished.emit(row)

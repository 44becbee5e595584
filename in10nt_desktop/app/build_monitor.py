"""Live status where the server has no event stream (the hosted service): polling, kept light.

Policy (the seed's defaults): every 5 s, every 1 s for the first 15 s after a create; one
request per tick however many templates build — ``/status`` when one builds, the whole list
when several do (it answers for all of them at once; a server that pages it, one request per
1,000 templates, each a 304 while nothing changed). When nothing builds, a light list
refresh every ``idle_interval`` seconds (30) and whenever the window is activated, so
templates created or deleted by another client still show. Errors back off (5 → 10 → 20 →
60 s); the connection's state, fed by every request, tells the window.
"""

from __future__ import annotations

import asyncio
import logging

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import In10ntError, NotFoundError
from in10nt_desktop.app.connection import Connection
from in10nt_desktop.app.templates_service import TemplatesService

log = logging.getLogger(__name__)


class BuildMonitor(QObject):
    tick_done = Signal(int)        # requests made in the tick (0 or 1): for tests and the benchmark

    def __init__(self, connection: Connection, templates: TemplatesService, *, interval: float = 5.0,
                 fast_interval: float = 1.0, fast_window: float = 15.0, max_backoff: float = 60.0,
                 idle_interval: float = 30.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self._templates = templates
        self.interval = interval
        self.fast_interval = fast_interval
        self.fast_window = fast_window
        self.max_backoff = max_backoff
        self.idle_interval = idle_interval
        self._wake = asyncio.Event()
        self._fast_until = 0.0
        self._failures = 0
        self._refresh: set[str] = set()  # finished with /status only: fetch the full row next tick
        self._full = False               # the next tick lists everything (window activated)
        self.requests = 0
        templates.created.connect(lambda _row: self.kick(fast=True))

    @property
    def running(self) -> bool:
        return self._c.tasks.running("poll")

    def start(self) -> None:
        self._failures = 0
        self._c.spawn(self._run(), name="poll")

    def kick(self, fast: bool = True, full: bool = False) -> None:
        """Something started building here (look soon, and often for a while), or the window was
        activated (``full``: list everything once)."""
        loop = asyncio.get_event_loop()
        if fast:
            self._fast_until = loop.time() + self.fast_window
        self._full = self._full or full
        self._wake.set()

    def _delay(self, loop: asyncio.AbstractEventLoop) -> float:
        if self._failures:
            return float(min(self.interval * 2 ** (self._failures - 1), self.max_backoff))
        if not self._templates.store.building_count and not self._refresh:
            return self.idle_interval
        return self.fast_interval if loop.time() < self._fast_until else self.interval

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._wake.clear()
            if not self._full:
                try:
                    await asyncio.wait_for(self._wake.wait(), self._delay(loop))
                except TimeoutError:
                    pass
            await self.tick()

    async def tick(self) -> int:
        """One poll: at most one request. Returns how many were made (0 or 1)."""
        store = self._templates.store
        building = store.building_ids()
        full, self._full = self._full, False
        self.requests += 1
        try:
            if len(building) == 1 and not self._refresh and not full:
                try:
                    info = await self._c.call(lambda c: c.templates.status(building[0]))
                except NotFoundError:  # deleted elsewhere while it built
                    self._templates.forget(building[0])
                    return self._done()
                change = store.apply_status(info)
                if change:
                    self._refresh.add(change[1].template_id)
                    if change[0].building:
                        self._templates.build_finished.emit(change[1])
            elif len(building) + len(self._refresh) == 1 and not building and not full:
                (only,) = self._refresh
                self._refresh.clear()
                try:
                    template = await self._c.call(lambda c: c.templates.get(only))
                except NotFoundError:
                    self._templates.forget(only)
                    return self._done()
                self._templates.apply(template)
            else:
                self._refresh.clear()
                await self._templates.load_list()
        except In10ntError as exc:
            self._failures += 1
            log.info("status poll failed (%d in a row): %s", self._failures, exc)
        else:
            self._failures = 0
        return self._done()

    def _done(self) -> int:
        self.tick_done.emit(1)
        return 1

"""Keeps the window's data live: the server's event stream where it has one, polling where not.

With events (the local engine) the app makes no status polls at all: every change arrives as
an event within milliseconds, and the open stream doubles as the heartbeat that notices an
engine that stopped. Without events (a 404 on ``/events``: the hosted service) the build
monitor polls while something builds and refreshes the list lightly when idle.

The first list is loaded once the stream is open, not before: a change made between a list
and a later subscription would otherwise be lost.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api.errors import AuthenticationError, EventsUnsupportedError, In10ntError
from in10nt_desktop.app.build_monitor import BuildMonitor
from in10nt_desktop.app.connection import Connection
from in10nt_desktop.app.services import InstancesService, SavedTemplatesService
from in10nt_desktop.app.templates_service import TemplatesService

if TYPE_CHECKING:  # the client and the event stream (httpx) load with the first connection
    from in10nt_desktop.api import Event, In10ntClient

log = logging.getLogger(__name__)
TASK = "events"
PAINT_WAIT = 0.05  # seconds: a frame or two for the window to paint the list before a blocking import


class LiveUpdates(QObject):
    mode_changed = Signal(str)       # "events" | "polling" | "" (not yet known)
    event_applied = Signal(object)   # Event: for tests and the benchmark (event → repaint)
    # The template list is on screen (or could not be loaded): what the first list must not wait
    # for may start now (the other lists, the registry-login vault, the image-check discovery).
    list_shown = Signal()

    def __init__(self, connection: Connection, templates: TemplatesService, saved: SavedTemplatesService,
                 instances: InstancesService, monitor: BuildMonitor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self.templates = templates
        self.saved = saved
        self.instances = instances
        self.monitor = monitor
        self.mode = ""
        connection.connected.connect(self._on_connected)

    def _set_mode(self, mode: str) -> None:
        if mode != self.mode:
            self.mode = mode
            self.mode_changed.emit(mode)

    def _on_connected(self, client: In10ntClient) -> None:
        self._set_mode("")
        self._c.spawn(self._follow(client), name=TASK)

    def reload_all(self) -> None:
        """Templates first; the saved templates and instances once the template list is on screen.

        Their rows are pydantic models, which take ~50 ms to import: on the GUI thread (importing in
        a worker thread races the main thread's compiler on Python 3.11), so not before the window
        has painted the list, and not in the middle of a 100,000-row load."""
        self.templates.reload(then=self._reload_others)

    def _reload_others(self) -> None:
        self._c.spawn(self._load_others(), name="reload-others")

    async def _load_others(self) -> None:
        await self.templates.loader.idle()
        await asyncio.sleep(PAINT_WAIT)
        self.list_shown.emit()
        self.saved.reload()
        self.instances.reload()

    def window_activated(self) -> None:
        """The user came back to the window: without events, look again (the stream needs no look)."""
        if self.mode == "polling" and self._c.online:
            self.monitor.kick(fast=False, full=True)

    async def _follow(self, client: In10ntClient) -> None:
        opened = False
        try:
            async with aclosing(client.events(on_disconnect=self._on_disconnect)) as stream:
                async for event in stream:
                    if event.type == "open":
                        self._c.note_success()
                        if not opened:  # later opens resume with Last-Event-ID: the server replays or resets
                            opened = True
                            self._set_mode("events")
                            self.reload_all()
                        continue
                    self.apply(event)
                    # A burst (200 builds ending together) arrives in one read and would be applied in
                    # one go, freezing the window for ~90 ms: give the loop a turn between events.
                    await asyncio.sleep(0)
        except EventsUnsupportedError:
            log.info("%s has no event stream: polling", client.base_url)
            self._set_mode("polling")
            self.reload_all()
            self.monitor.start()
        except AuthenticationError as exc:
            self._c.note_failure(exc)

    def _on_disconnect(self, exc: In10ntError) -> None:
        self._c.note_failure(exc)

    def apply(self, event: Event) -> None:
        kind, data = event.type, event.data
        if kind in ("template.created", "template.changed"):
            self.templates.apply(event.data)  # a compact row straight from the JSON (no pydantic)
        elif kind == "template.deleted":
            self.templates.forget(str(data.get("templateId", "")))
        elif kind == "saved_template.created":
            self.saved.apply(event.saved_template())
        elif kind == "saved_template.deleted":
            self.saved.forget(str(data.get("name", "")))
        elif kind in ("instance.created", "instance.changed"):
            self.instances.apply(event.instance())
        elif kind == "instance.deleted":
            self.instances.forget(str(data.get("instanceId", "")))
        elif kind == "reset":
            self.reload_all()
        else:
            log.debug("ignored event %s", kind)
            return
        self.event_applied.emit(event)

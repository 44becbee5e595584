"""Follows the selected template's build log (``/logs?after=N``) while it builds.

Its task belongs to the connection, like every other watcher: a reconnect or a profile
switch stops it, and the window follows again once the connection is back online.
"""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import In10ntError, NotFoundError
from in10nt_desktop.app.connection import Connection

if TYPE_CHECKING:
    from in10nt_desktop.api import BuildLog, In10ntClient

TASK = "follow-log"


class LogFollower(QObject):
    reset = Signal(str)            # template id: a new log starts
    lines_added = Signal(str, list)  # template id, list[str] already formatted
    unavailable = Signal(str, str)   # template id, sentence (the server has no logs route)

    def __init__(self, connection: Connection, parent: QObject | None = None, interval: float = 1.0) -> None:
        super().__init__(parent)
        self._c = connection
        self.interval = interval
        self.template_id: str | None = None

    def follow(self, template_id: str | None, force: bool = False) -> None:
        if template_id == self.template_id and self._c.tasks.running(TASK) and not force:
            return
        self._c.tasks.cancel(TASK)
        self.template_id = template_id
        self.reset.emit(template_id or "")  # never leave the previous template's log on screen
        if template_id is None or self._c.client is None:
            return
        self._c.spawn(self._follow(template_id), name=TASK)

    def stop(self) -> None:
        self._c.tasks.cancel(TASK)
        self.template_id = None

    async def _follow(self, template_id: str) -> None:
        after, quiet = 0, 0
        while True:
            try:
                log = await self._c.call(functools.partial(_read_log, template_id=template_id, after=after))
            except NotFoundError:
                self.unavailable.emit(template_id, "This server keeps no build log for the template.")
                return
            except In10ntError as exc:
                self.unavailable.emit(template_id, f"The build log could not be read: {exc}")
                await asyncio.sleep(self.interval * 5)
                continue
            if log.lines:
                self.lines_added.emit(template_id, [
                    f"{line.at.astimezone():%H:%M:%S}  {line.text}" if line.at else line.text for line in log.lines])
            after = log.next
            quiet = 0 if log.lines else quiet + 1
            if log.status not in (None, "building") and not log.lines:
                return  # the build is over and everything has been read
            if log.status is None and quiet >= 5:
                return  # a server that gives no status: stop once the log has gone quiet
            await asyncio.sleep(self.interval if not log.lines else 0.2)


async def _read_log(client: In10ntClient, template_id: str, after: int) -> BuildLog:
    return await client.templates.logs(template_id, after)

"""Follows the selected template's build log (``/logs?after=N``) while it builds."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import In10ntClient, In10ntError, NotFoundError
from in10nt_desktop.app.tasks import TaskOwner


class LogFollower(QObject):
    reset = Signal(str)            # template id: a new log starts
    lines_added = Signal(str, list)  # template id, list[str] already formatted
    unavailable = Signal(str, str)   # template id, sentence (the server has no logs route)

    def __init__(self, parent: QObject | None = None, interval: float = 1.0) -> None:
        super().__init__(parent)
        self.interval = interval
        self._tasks = TaskOwner()
        self.template_id: str | None = None

    def follow(self, client: In10ntClient | None, template_id: str | None, force: bool = False) -> None:
        if template_id == self.template_id and self._tasks.running("follow") and not force:
            return
        self._tasks.cancel_all()
        self.template_id = template_id
        self.reset.emit(template_id or "")  # never leave the previous template's log on screen
        if client is None or template_id is None:
            return
        self._tasks.spawn(self._follow(client, template_id), name="follow")

    def stop(self) -> None:
        self._tasks.cancel_all()
        self.template_id = None

    async def close(self) -> None:
        await self._tasks.shutdown()

    async def _follow(self, client: In10ntClient, template_id: str) -> None:
        after, quiet = 0, 0
        while True:
            try:
                log = await client.templates.logs(template_id, after)
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

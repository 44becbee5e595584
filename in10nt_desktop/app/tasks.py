"""Ownership for asyncio tasks on the qasync loop.

Every task the GUI side starts belongs to a ``TaskOwner``: it keeps a strong reference (the
loop only keeps weak ones, so an unowned task can vanish mid-flight), replaces an earlier
task of the same name, reports failures through one callback, and cancels everything when
its owner closes or the connection changes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger(__name__)


class TaskOwner:
    def __init__(self, on_error: Callable[[BaseException, str], None] | None = None) -> None:
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._anonymous: set[asyncio.Task[Any]] = set()
        self._on_error = on_error
        self._counter = 0

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run ``coro``; a running task with the same ``name`` is cancelled first."""
        if name is not None:
            previous = self._tasks.pop(name, None)
            if previous is not None and not previous.done():
                previous.cancel()
        self._counter += 1
        label = name or f"task-{self._counter}"
        task = asyncio.get_event_loop().create_task(coro, name=label)
        if name is not None:
            self._tasks[name] = task
        else:
            self._anonymous.add(task)
        task.add_done_callback(lambda t: self._done(name, t))
        return task

    def _done(self, name: str | None, task: asyncio.Task[Any]) -> None:
        if name is not None and self._tasks.get(name) is task:
            del self._tasks[name]
        self._anonymous.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            if self._on_error is not None:
                self._on_error(exc, task.get_name())
            else:
                log.error("task %s failed", task.get_name(), exc_info=exc)

    def cancel(self, name: str) -> None:
        """Cancel the task called ``name`` unless it is the one asking."""
        task = self._tasks.get(name)
        if task is not None and task is not asyncio.current_task():
            del self._tasks[name]
            task.cancel()

    def running(self, name: str) -> bool:
        task = self._tasks.get(name)
        return task is not None and not task.done()

    @property
    def count(self) -> int:
        return sum(1 for t in [*self._tasks.values(), *self._anonymous] if not t.done())

    def cancel_all(self, keep_current: bool = False) -> list[asyncio.Task[Any]]:
        """Cancel every owned task; ``keep_current`` spares the task that is asking (a reconnect
        started from inside a task must not cancel itself)."""
        current = asyncio.current_task() if keep_current else None
        tasks = [t for t in [*self._tasks.values(), *self._anonymous] if t is not current]
        for task in tasks:
            task.cancel()
        self._tasks = {name: t for name, t in self._tasks.items() if t is current}
        self._anonymous = {t for t in self._anonymous if t is current}
        return tasks

    async def shutdown(self) -> None:
        tasks = self.cancel_all()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

"""Tasks run from this window, per instance: what ran, when, how it ended and what it printed.

Kept for the session (the engine keeps no task history): the Instances tab shows them like a
terminal's scrollback. Bounded: the last ``MAX_RUNS`` runs per instance, each output as the
engine returned it (the engine caps it at 1 MB).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

MAX_RUNS = 50


@dataclass(frozen=True, slots=True)
class TaskRun:
    number: int
    command: str
    started: float                 # time.time()
    finished: float | None = None
    exit_code: int | None = None
    output: str = ""
    failed: str | None = None       # the sentence when the task could not run at all
    timed_out: bool = False

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def ok(self) -> bool:
        return self.finished is not None and self.failed is None and self.exit_code == 0

    @property
    def seconds(self) -> float:
        return (self.finished or time.time()) - self.started

    def summary(self) -> str:
        if self.running:
            return "running…"
        if self.failed:
            return "could not run"
        return "timed out" if self.timed_out else f"exit {self.exit_code}"


class TaskHistory:
    def __init__(self) -> None:
        self._runs: dict[str, list[TaskRun]] = {}
        self._count = 0

    def runs(self, instance_id: str) -> list[TaskRun]:
        return list(self._runs.get(instance_id, []))

    def started(self, instance_id: str, command: str) -> TaskRun:
        self._count += 1
        run = TaskRun(self._count, command, time.time())
        runs = self._runs.setdefault(instance_id, [])
        runs.append(run)
        del runs[:-MAX_RUNS]
        return run

    def finished(self, instance_id: str, number: int, *, exit_code: int | None = None, output: str = "",
                 failed: str | None = None, timed_out: bool = False) -> TaskRun | None:
        runs = self._runs.get(instance_id, [])
        for i, run in enumerate(runs):
            if run.number == number:
                runs[i] = replace(run, finished=time.time(), exit_code=exit_code, output=output, failed=failed,
                                  timed_out=timed_out)
                return runs[i]
        return None

    def forget(self, instance_id: str) -> None:
        self._runs.pop(instance_id, None)

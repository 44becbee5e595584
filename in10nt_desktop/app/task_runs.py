"""Tasks run from this window, per instance: what ran, when, how it ended and what it printed.

Kept for the session (the engine keeps no task history): the Instances tab shows them like a
terminal's scrollback. Output is appended while a task runs (``append``) and replaced by the
server's own when it ends, if that differs (the engine's tail after a cut). Bounded: the last
``MAX_RUNS`` runs per instance, and the last ``MAX_OUTPUT`` characters of each run's output
(the engine keeps 1 MB too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

MAX_RUNS = 50
MAX_OUTPUT = 1_000_000  # characters of output kept per run: its tail


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
    dropped: int = 0                # characters dropped from the start of ``output`` while it ran (the bound)
    rewritten: bool = False         # the final output is the server's, not the streamed text continued

    @property
    def received(self) -> int:
        """Characters of output received so far, dropped ones included: where the next piece starts."""
        return self.dropped + len(self.output)

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

    def _find(self, instance_id: str, number: int) -> tuple[list[TaskRun], int] | None:
        runs = self._runs.get(instance_id, [])
        for i, run in enumerate(runs):
            if run.number == number:
                return runs, i
        return None

    def get(self, instance_id: str, number: int) -> TaskRun | None:
        found = self._find(instance_id, number)
        return found[0][found[1]] if found else None

    def append(self, instance_id: str, number: int, text: str) -> TaskRun | None:
        """Output the running task printed; the run keeps the last ``MAX_OUTPUT`` characters."""
        found = self._find(instance_id, number)
        if found is None or not text:
            return None
        runs, i = found
        output, dropped = runs[i].output + text, runs[i].dropped
        if len(output) > MAX_OUTPUT:
            dropped += len(output) - MAX_OUTPUT
            output = output[-MAX_OUTPUT:]
        runs[i] = replace(runs[i], output=output, dropped=dropped)
        return runs[i]

    def finished(self, instance_id: str, number: int, *, exit_code: int | None = None, output: str | None = None,
                 failed: str | None = None, timed_out: bool = False) -> TaskRun | None:
        """How the run ended; ``output`` None keeps what was streamed."""
        found = self._find(instance_id, number)
        if found is None:
            return None
        runs, i = found
        run = replace(runs[i], finished=time.time(), exit_code=exit_code, failed=failed, timed_out=timed_out)
        if output is not None and output != run.output:
            run = replace(run, output=output[-MAX_OUTPUT:], dropped=0, rewritten=True)
        runs[i] = run
        return run

    def forget(self, instance_id: str) -> None:
        self._runs.pop(instance_id, None)

"""How much memory a process holds, read from ``/proc/PID/status`` while a test abuses it.

``VmHWM`` is the kernel's own peak of the resident set, so a spike between two samples still
counts. The watch also protects the machine: a process that passes ``kill_above_mb`` is killed
(the old engine grew past 3 GB in 16 s on an endless registry answer), which fails the test.
"""

from __future__ import annotations

import os
import signal
import threading
from types import TracebackType


def status_mb(pid: int, field: str) -> float:
    """``VmRSS``, ``VmHWM``… of ``pid`` in MB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemoryWatch:
    def __init__(self, pid: int, *, kill_above_mb: float = 1024, every: float = 0.05) -> None:
        self.pid = pid
        self.kill_above_mb = kill_above_mb
        self.every = every
        self.start_mb = status_mb(pid, "VmRSS")
        self.peak_mb = self.start_mb
        self.killed = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory watch", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            rss = status_mb(self.pid, "VmRSS")
            self.peak_mb = max(self.peak_mb, rss, status_mb(self.pid, "VmHWM"))
            if rss > self.kill_above_mb and not self.killed:
                self.killed = True
                os.kill(self.pid, signal.SIGKILL)

    @property
    def now_mb(self) -> float:
        return status_mb(self.pid, "VmRSS")

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(2)
        self.peak_mb = max(self.peak_mb, status_mb(self.pid, "VmHWM"))

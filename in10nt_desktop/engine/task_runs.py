"""One task in an instance: ``sh -c TASK`` through the Docker API's exec, with an output cap and a timeout.

Locally a task is a shell command; the hosted service runs an agent instead. The Docker API has
no call that stops an exec, so the task runs under a tiny wrapper that first prints its PID and
then ``exec``s the task. runc starts every exec as a session and process-group leader, so on a
timeout a second exec kills the whole group (``kill -s KILL -PID``), background children included.
Only the tail of the output is kept: the end of a log is where a failure explains itself. A client
that asked for a stream reads the output as it arrives through a tap (``OutputTap``, engine/task_stream.py).

A running task's output is read by a thread of the task pool (``TaskSlots``): at most
``--max-tasks`` tasks run at once, as many more wait up to ``QUEUE_WAIT`` for a slot, and beyond
that the answer is a 429 with a sentence. Every other call (the exec's creation, the kill, the
inspect) runs on the container engine's control threads, so a full task pool never holds up a
kill, a list or a ping.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker.errors

from in10nt_desktop.engine.container_engine import ContainerEngine
from in10nt_desktop.engine.instance_rows import InstanceError
from in10nt_desktop.engine.store_schema import now_iso

OUTPUT_LIMIT = 1_000_000  # bytes of output kept (the tail)
DEFAULT_TIMEOUT = 600.0
MAX_TIMEOUT = 86_400.0
KILL_GRACE = 10.0  # after the kill, how long the output stream may take to close
PID_WAIT = 5.0  # the wrapper prints its PID first; a kill waits this long for it
EXIT_SETTLE = 3.0  # after the output ended, how long the exec may still be reported running
DEFAULT_MAX_TASKS = 16  # running at once; each holds a thread and a connection to the container engine
# A queued task waits this long for a slot. The SDK reads a task's answer for its timeout + 60 s, which
# covers this wait, PID_WAIT and KILL_GRACE.
QUEUE_WAIT = 30.0
RETRY_AFTER = 5  # seconds, in a 429's Retry-After
_WRAPPER = 'echo "$$"; exec sh -c "$1"'
_KILL = 'kill -s KILL -"$1" 2>/dev/null || kill -s KILL "$1"'
_MAX_PID_LINE = 32


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class TasksBusy(InstanceError):
    def __init__(self, message: str) -> None:
        super().__init__(429, "tasks_busy", message, retry_after=RETRY_AFTER)


class TaskSlots:
    """The task pool: ``running`` output threads, and a queue of ``waiting`` tasks that wait for one."""

    def __init__(self, running: int = DEFAULT_MAX_TASKS, waiting: int | None = None) -> None:
        self.running = running
        self.waiting_limit = running if waiting is None else waiting
        self.waiting = 0
        self._free = asyncio.Semaphore(running)
        self.pool = ThreadPoolExecutor(running, thread_name_prefix="task output")

    def _limits(self) -> str:
        return f"(its limit{'s' if self.waiting_limit else ''}, --max-tasks)"

    async def acquire(self) -> None:
        if not self._free.locked():
            await self._free.acquire()
            return
        if self.waiting >= self.waiting_limit:
            queue = f" and {_plural(self.waiting_limit, 'more waits', 'more wait')} for a slot" \
                if self.waiting_limit else ""
            raise TasksBusy(f"The engine already runs {_plural(self.running, 'task', 'tasks')}{queue} "
                            f"{self._limits()}; try again when one ends.")
        self.waiting += 1
        try:
            await asyncio.wait_for(self._free.acquire(), QUEUE_WAIT)
        except TimeoutError:
            raise TasksBusy(f"Every task slot stayed busy for {QUEUE_WAIT:g} s (the engine runs at most "
                            f"{_plural(self.running, 'task', 'tasks')} at once, --max-tasks); try again when "
                            "one ends.") from None
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self._free.release()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)




class OutputTap:
    """One reader's view of a running task's output (an event stream, engine/task_stream.py): the bytes
    that arrived since it last took them, at most ``limit`` of them (the newest), and how many were dropped.

    Filled by the output thread under the output's lock; ``wake`` is called (from that thread, so it must
    be thread-safe) once per batch: when the first bytes arrive after a ``take``, not for every chunk.
    """

    def __init__(self, output: _Output, lock: threading.Lock, limit: int) -> None:
        self._output, self._lock, self._limit = output, lock, limit
        self.wake: Callable[[], None] = lambda: None  # set by the reader before its first take
        self._pending = bytearray()
        self._dropped = 0
        self._told = False
        self._closed = False

    @property
    def notes(self) -> str:
        """The engine's closing lines (timeout …), known once the task ended."""
        return self._output.notes

    def close(self) -> None:
        """Read no more (the stream ended or its client left): the task's output no longer collects here."""
        with self._lock:
            self._closed = True
            self._pending.clear()

    def _add(self, data: bytes) -> None:  # the output's lock is held
        if self._closed:
            return
        self._pending += data
        # Trimmed when twice the limit, so a chatty task costs one move per megabyte, not one per chunk.
        if len(self._pending) > 2 * self._limit:
            self._trim()
        if not self._told:
            self._told = True
            self.wake()

    def _trim(self) -> None:  # the output's lock is held
        """Keeps the newest ``limit`` bytes, counting the ones dropped."""
        excess = len(self._pending) - self._limit
        if excess > 0:
            del self._pending[:excess]
            self._dropped += excess

    def take(self, most: int) -> tuple[bytes, int]:
        """Up to ``most`` bytes, oldest first, and how many bytes before them were dropped unread."""
        with self._lock:
            self._trim()
            data = bytes(self._pending[:most])
            del self._pending[:most]
            dropped, self._dropped = self._dropped, 0
            self._told = False
        return data, dropped


class _Output:
    """The streamed output: the wrapper's PID line first (not output), then at most ``limit`` bytes of tail.

    Fed from the streaming thread, read from the event loop; a lock keeps the two apart.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._header = b""
        self._lock = threading.Lock()
        self._taps: list[OutputTap] = []
        self.total = 0
        self.pid: int | None = None
        self.pid_known = threading.Event()
        self.notes = ""  # the engine's closing lines (timeout, held output): a stream sends them last

    def tap(self) -> OutputTap:
        """A reader of the output from now on (``run_task``'s ``on_start`` taps it before any arrived)."""
        tap = OutputTap(self, self._lock, self._limit)
        with self._lock:
            self._taps.append(tap)
        return tap

    def feed(self, stdout: bytes | None, stderr: bytes | None) -> None:
        if stdout:
            if not self.pid_known.is_set():
                self._header += stdout
                line, sep, rest = self._header.partition(b"\n")
                if not sep and len(self._header) < _MAX_PID_LINE:
                    return
                self._header = b""
                if sep and line.strip().isdigit():
                    self.pid, stdout = int(line), rest
                else:  # not our PID line (the wrapper could not run): it is output
                    stdout = line + sep + rest
                self.pid_known.set()
            self._add(stdout)
        if stderr:
            self._add(stderr)

    def finish(self) -> None:
        if self._header:
            self._add(self._header)
            self._header = b""
        self.pid_known.set()

    def _add(self, data: bytes) -> None:
        if not data:
            return
        with self._lock:
            for tap in self._taps:
                tap._add(data)
            self.total += len(data)
            self._chunks.append(data)
            self._size += len(data)
            while self._size > self._limit:
                excess = self._size - self._limit
                first = self._chunks[0]
                if len(first) <= excess:
                    self._chunks.popleft()
                    self._size -= len(first)
                else:
                    self._chunks[0] = first[excess:]
                    self._size -= excess

    def text(self) -> tuple[str, int]:
        """The kept output, and how many bytes were dropped from its start."""
        with self._lock:
            data = b"".join(self._chunks)
        if len(data) < self.total:  # cut: start at the next whole line, if there is one nearby
            newline = data.find(b"\n", 0, 4096)
            if newline >= 0:
                data = data[newline + 1:]
        return data.decode("utf-8", "replace"), self.total - len(data)


def _pump(api: Any, exec_id: str, output: _Output) -> None:
    try:
        for stdout, stderr in api.exec_start(exec_id, stream=True, demux=True):
            output.feed(stdout, stderr)
    finally:
        output.finish()


def kill_process_group(api: Any, container_id: str, pid: int) -> None:
    """Kill the task's process group inside its container (blocking: run it on the control threads)."""
    made = api.exec_create(container_id, ["sh", "-c", _KILL, "in10nt-kill", str(pid)])
    api.exec_start(made["Id"])


async def _stop(engine: ContainerEngine, client: Any, container_id: str, output: _Output,
                stream: asyncio.Future[None]) -> bool:
    """Kill the task's process group; True once its output stream has closed."""
    for _ in range(int(PID_WAIT / 0.05)):
        if output.pid_known.is_set():
            break
        await asyncio.sleep(0.05)
    if output.pid is not None:
        with contextlib.suppress(docker.errors.APIError):
            await engine.call(kill_process_group, client.api, container_id, output.pid)
    try:
        await asyncio.wait_for(asyncio.shield(stream), KILL_GRACE)
    except TimeoutError:
        return False
    return True


def checked_timeout(value: Any) -> float:
    """A task's ``timeout`` field: seconds above 0, at most ``MAX_TIMEOUT``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_TIMEOUT:
        raise InstanceError(422, "invalid", f"timeout must be a number of seconds above 0 and at most "
                                            f"{MAX_TIMEOUT:g}.", "timeout")
    return float(value)


async def run_task(engine: ContainerEngine, slots: TaskSlots, container_id: str, task: str,
                   timeout: float, on_start: Callable[[_Output], None] | None = None) -> dict[str, Any]:
    """Run ``task`` in the container; the answer of ``POST /instances/{id}/run``.

    ``on_start`` is called once the task has a slot and its exec exists, before any output is read:
    what fails before that (busy, the container gone) is an error answer, what comes after is the task's.
    """
    client = await engine.connect()
    await slots.acquire()
    conn = engine.task_stream(client, timeout + 60)
    output = _Output(OUTPUT_LIMIT)
    stream: asyncio.Future[None] | None = None
    timed_out = stuck = False
    try:
        made = await engine.call(client.api.exec_create, container_id,
                                 ["sh", "-c", _WRAPPER, "in10nt-task", task], stdout=True, stderr=True)
        exec_id = made["Id"]
        started = now_iso()
        if on_start is not None:
            on_start(output)
        stream = asyncio.get_running_loop().run_in_executor(slots.pool, _pump, conn.api, exec_id, output)
        try:
            await asyncio.wait_for(asyncio.shield(stream), timeout)
        except TimeoutError:
            timed_out = True
            stuck = not await _stop(engine, client, container_id, output, stream)
        except asyncio.CancelledError:
            # The engine is shutting down: a task nobody waits for must not run on.
            await _stop(engine, client, container_id, output, stream)
            raise
        finished = now_iso()
        info = await _final_state(engine, client, exec_id, settle=not stuck)
    finally:
        _hand_back(slots, conn, stream)
    text, dropped = output.text()
    if dropped:
        text = (f"[in10nt: output cut: the first {dropped:,} bytes were dropped; the last "
                f"{output.total - dropped:,} bytes follow]\n") + text
    notes = ""
    if timed_out:
        notes += f"[in10nt: the task was stopped after {timeout:g} s (timeout)]\n"
    if stuck:
        notes += "[in10nt: processes the task left in the background still hold its output; they keep running]\n"
    if notes and text and not text.endswith("\n"):
        notes = "\n" + notes
    output.notes = notes
    text += notes
    exit_code = None if info.get("Running") else info.get("ExitCode")
    return {"exitCode": exit_code, "output": text, "startedAt": started, "finishedAt": finished,
            "timedOut": timed_out, "outputTruncated": dropped > 0, "outputBytes": output.total}


async def _final_state(engine: ContainerEngine, client: Any, exec_id: str, *, settle: bool) -> dict[str, Any]:
    """The exec's state once its output ended. Podman may still say Running for a moment after the
    stream closed (more so on a busy machine), so ask again briefly before answering with no exit code."""
    for _ in range(int(EXIT_SETTLE / 0.1) if settle else 1):
        try:
            info: dict[str, Any] = await engine.call(client.api.exec_inspect, exec_id)
        except docker.errors.NotFound:  # the instance was deleted while the task ran
            return {}
        if not info.get("Running"):
            break
        await asyncio.sleep(0.1)
    return info


def _hand_back(slots: TaskSlots, conn: Any, stream: asyncio.Future[None] | None) -> None:
    """Free the task's slot and connection once its output thread has ended.

    A stream still open here is held by processes the task left in the background: its read is cut
    (they keep running), so the thread and the slot come back now rather than when they end.
    """
    def done(future: asyncio.Future[None] | None) -> None:
        if future is not None and not future.cancelled():
            future.exception()  # retrieved: a cut read's error is expected, not news
        conn.api.close()
        slots.release()

    if stream is None:
        done(None)
        return
    if not stream.done():
        conn.abort()
    stream.add_done_callback(done)

"""One task in an instance: ``sh -c TASK`` through the Docker API's exec, with an output cap and a timeout.

Locally a task is a shell command; the hosted service runs an agent instead. The Docker API has
no call that stops an exec, so the task runs under a tiny wrapper that first prints its PID and
then ``exec``s the task. runc starts every exec as a session and process-group leader, so on a
timeout a second exec kills the whole group (``kill -s KILL -PID``), background children included.
Only the tail of the output is kept: the end of a log is where a failure explains itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from typing import Any

import docker.errors

from in10nt_desktop.engine.container_engine import ContainerEngine
from in10nt_desktop.engine.store import now_iso

OUTPUT_LIMIT = 1_000_000  # bytes of output kept (the tail)
DEFAULT_TIMEOUT = 600.0
MAX_TIMEOUT = 86_400.0
KILL_GRACE = 10.0  # after the kill, how long the output stream may take to close
_WRAPPER = 'echo "$$"; exec sh -c "$1"'
_KILL = 'kill -s KILL -"$1" 2>/dev/null || kill -s KILL "$1"'
_MAX_PID_LINE = 32


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
        self.total = 0
        self.pid: int | None = None
        self.pid_known = threading.Event()

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


async def _kill(api: Any, container_id: str, output: _Output, stream: asyncio.Future[None]) -> bool:
    """Kill the task's process group; True once its output stream has closed."""
    await asyncio.to_thread(output.pid_known.wait, 5.0)
    if output.pid is not None:
        def kill(pid: int) -> None:
            made = api.exec_create(container_id, ["sh", "-c", _KILL, "in10nt-kill", str(pid)])
            api.exec_start(made["Id"])

        with contextlib.suppress(docker.errors.APIError):
            await asyncio.to_thread(kill, output.pid)
    try:
        await asyncio.wait_for(asyncio.shield(stream), KILL_GRACE)
    except TimeoutError:
        return False
    return True


async def run_task(engine: ContainerEngine, container_id: str, task: str, timeout: float) -> dict[str, Any]:
    """Run ``task`` in the container; the answer of ``POST /instances/{id}/run``."""
    api = await engine.task_client(timeout + 60)
    output = _Output(OUTPUT_LIMIT)
    timed_out = stuck = False
    try:
        made = await asyncio.to_thread(api.exec_create, container_id, ["sh", "-c", _WRAPPER, "in10nt-task", task],
                                       stdout=True, stderr=True)
        exec_id = made["Id"]
        started = now_iso()
        stream: asyncio.Future[None] = asyncio.ensure_future(asyncio.to_thread(_pump, api, exec_id, output))
        try:
            await asyncio.wait_for(asyncio.shield(stream), timeout)
        except TimeoutError:
            timed_out = True
            stuck = not await _kill(api, container_id, output, stream)
        except asyncio.CancelledError:
            # The engine is shutting down: a task nobody waits for must not run on.
            await _kill(api, container_id, output, stream)
            raise
        finished = now_iso()
        try:
            info = await asyncio.to_thread(api.exec_inspect, exec_id)
        except docker.errors.NotFound:  # the instance was deleted while the task ran
            info = {}
    finally:
        if stuck:  # the stream thread still reads; close its client when it gives up
            stream.add_done_callback(lambda _f: api.close())
        else:
            api.close()
    text, dropped = output.text()
    if dropped:
        text = (f"[in10nt: output cut: the first {dropped:,} bytes were dropped; the last "
                f"{output.total - dropped:,} bytes follow]\n") + text
    if timed_out:
        text += ("\n" if text and not text.endswith("\n") else "") + \
            f"[in10nt: the task was stopped after {timeout:g} s (timeout)]\n"
    if stuck:
        text += "[in10nt: processes the task left in the background still hold its output; they keep running]\n"
    exit_code = None if info.get("Running") else info.get("ExitCode")
    return {"exitCode": exit_code, "output": text, "startedAt": started, "finishedAt": finished,
            "timedOut": timed_out, "outputTruncated": dropped > 0, "outputBytes": output.total}

"""``GET /events`` read as curl would (raw SSE lines, in a thread), for tests that check the wire itself.

Collects every event and comment line; tests wait on what was collected with a deadline.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from stack.engine_proc import EngineProc


@dataclass(frozen=True)
class SseEvent:
    id: int | None
    type: str
    data: dict[str, Any]


class EventReader:
    def __init__(self, engine: EngineProc, last_event_id: str | None = None, *, query: bool = False) -> None:
        headers = {"Authorization": f"Bearer {engine.token}"}
        params: dict[str, str] = {}
        if last_event_id is not None:
            if query:
                params["lastEventId"] = last_event_id
            else:
                headers["Last-Event-ID"] = last_event_id
        self._client = httpx.Client(base_url=engine.url, headers=headers, timeout=httpx.Timeout(60, connect=10))
        self._params = params
        self.events: list[SseEvent] = []
        self.comments: list[str] = []
        self.position: int | None = None  # the id of the stream's opening ``id:`` line
        self.status: int | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._opened.wait(15):
            raise AssertionError("GET /events did not answer within 15 s")

    def _run(self) -> None:
        try:
            with self._client.stream("GET", "/events", params=self._params) as response:
                self.status = response.status_code
                stream = response.extensions.get("network_stream")
                self._socket = stream.get_extra_info("socket") if stream is not None else None
                self._opened.set()
                fields: dict[str, str] = {}
                data: list[str] = []
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line.startswith(":"):
                        self.comments.append(line)
                    elif not line:
                        if data:
                            event_id = fields.get("id")
                            self.events.append(SseEvent(int(event_id) if event_id else None,
                                                        fields.get("event", "message"), json.loads("\n".join(data))))
                        elif "id" in fields and self.position is None:
                            self.position = int(fields["id"])
                        fields.pop("event", None)
                        data = []
                    else:
                        name, _, value = line.partition(":")
                        value = value.removeprefix(" ")
                        if name == "data":
                            data.append(value)
                        else:
                            fields[name] = value
        except BaseException as exc:
            if not self._stop.is_set():
                self.error = exc
        finally:
            self._opened.set()

    def of(self, subject: str) -> list[SseEvent]:
        """The events about one template, instance or saved template (by its id or name)."""
        return [e for e in self.events if subject in (e.data.get("templateId"), e.data.get("instanceId"),
                                                       e.data.get("name"))]

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.error is not None:
                raise AssertionError(f"the event stream failed while waiting for {what}: {self.error!r}")
            if time.monotonic() > deadline:
                seen = [(e.id, e.type) for e in self.events[-10:]]
                raise AssertionError(f"no {what} within {timeout} s; last events: {seen}")
            time.sleep(0.02)

    def wait_for(self, predicate: Callable[[SseEvent], bool], what: str, timeout: float = 30) -> SseEvent:
        found: list[SseEvent] = []

        def seen() -> bool:
            found[:] = [e for e in list(self.events) if predicate(e)]
            return bool(found)

        self.wait_until(seen, what, timeout)
        return found[0]

    def close(self) -> None:
        self._stop.set()
        if self._socket is not None:  # wakes the thread's read now, not at the next heartbeat (up to 10 s later)
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(Exception):
            self._client.close()
        self._thread.join(10)

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

"""Limits at the door: what one connection or one request may cost the engine before any route runs.

* A request body is at most ``MAX_BODY`` bytes (the largest real one, a template with a service-account
  key, is a few kilobytes) and must arrive within ``BODY_SECONDS``. A ``Content-Length`` above the cap
  is refused unread; a chunked body is counted as it streams and cut off at the cap. Either way the
  answer is a 413 (408 when too slow) that closes the connection, so nothing more is read.
* A request head (request line and headers) is at most ``MAX_HEAD_BYTES`` and must arrive within
  ``HEAD_SECONDS`` of the connection opening or of the previous answer. uvicorn only times out idle
  keep-alive connections, and any byte received resets that timer, so a client sending its headers a
  byte at a time held its socket for ever; ``HeadDeadlineH11`` closes it instead. A response being
  streamed (a long task, an event stream) is never cut: the deadline only covers the wait for a head.
* Connections: ``connection_limit`` keeps uvicorn's ``limit_concurrency`` below the open-files limit,
  so the engine answers 503 rather than failing to open its own files.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_BODY = 1024 * 1024
BODY_SECONDS = 30.0
MAX_HEAD_BYTES = 16 * 1024  # h11's default, said explicitly: a head past it is a 400 from uvicorn
HEAD_SECONDS = 10.0
KEEP_ALIVE_SECONDS = 10.0  # above httpx's 5 s pool expiry: the client closes an idle connection first
MAX_CONNECTIONS = 10_000
SPARE_FILES = 256  # open files kept for the store, logs, registries and the container engine
# JSON from a registry or a client: a manifest is 4 levels deep, a request 3; annotations and labels are flat.
MAX_JSON_DEPTH = 32


def connection_limit(open_files: int | None) -> int:
    """uvicorn's ``limit_concurrency``: connections and requests in flight beyond which it answers 503."""
    if open_files is None:  # no such limit (Windows)
        return MAX_CONNECTIONS
    return max(64, min(MAX_CONNECTIONS, open_files - SPARE_FILES))


class BodyTooLarge(Exception):
    """Raised from ``receive`` when a body passes ``MAX_BODY``; ``BodyLimit`` answers 413 and closes."""


class BodyTooSlow(Exception):
    """Raised from ``receive`` when a body takes longer than ``BODY_SECONDS``; ``BodyLimit`` answers 408."""


TOO_LARGE = (f"The request body is larger than {MAX_BODY // 1024 // 1024} MiB, the most this engine accepts "
             "(its requests are a few kilobytes).")
TOO_SLOW = f"The request body did not arrive within {BODY_SECONDS:g} s."


class BodyLimit:
    """Pure ASGI middleware (it sees the body as it streams, which Starlette's BaseHTTPMiddleware would buffer)."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, seconds: float = BODY_SECONDS) -> None:
        self.app = app
        self.max_body = max_body
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_body:
            await refuse(send, 413, "body_too_large", TOO_LARGE)
            return
        seen = 0
        done = False
        deadline: float | None = None

        async def limited() -> Message:
            nonlocal seen, done, deadline
            if done:  # after the body: waits for the disconnect (an event stream does), no deadline
                return await receive()
            loop = asyncio.get_running_loop()
            deadline = deadline or loop.time() + self.seconds
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTooSlow(TOO_SLOW) from None
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(TOO_LARGE)
                done = not message.get("more_body", False)
            else:
                done = True
            return message

        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        refusal: tuple[int, str, str] | None = None
        # except*: the exception may come wrapped in an ExceptionGroup (Starlette's BaseHTTPMiddleware reads
        # the body in a task group).
        try:
            await self.app(scope, limited, tracked)
        except* BodyTooLarge:
            refusal = (413, "body_too_large", TOO_LARGE)
        except* BodyTooSlow:
            refusal = (408, "body_too_slow", TOO_SLOW)
        if refusal is not None:
            if started:  # too late for an answer of our own: end the connection
                raise BodyTooLarge(refusal[2])
            await refuse(send, *refusal)


async def refuse(send: Send, status: int, code: str, message: str) -> None:
    """An error answer in the engine's shape that also closes the connection (the rest of the body is unread)."""
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# A JSON string (with its escapes) or a bracket: enough to measure nesting without parsing.
_JSON_NESTING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``body`` nests arrays and objects deeper than ``limit``.

    Python's parser has no depth limit of its own: deep enough input ends in a RecursionError.
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _JSON_NESTING.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


class BadBody(ValueError):
    """A request body that is not JSON this engine can hold; ``str()`` is the sentence (a 400)."""


def decode_json_body(raw: bytes) -> Any:
    """The request body as JSON, refusing what parses in Python but no store can hold.

    Python's parser has no depth limit (deep input ends in a RecursionError) and turns ``"\\ud800"``
    into an unpaired surrogate, which SQLite, container labels and the container engine all refuse.
    """
    if json_too_deep(raw):
        raise BadBody(f"The request body nests arrays or objects deeper than {MAX_JSON_DEPTH} levels.")
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadBody("The request body is not valid JSON.") from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadBody("The request body is not valid JSON text: it holds an unpaired surrogate escape "
                      "(\\ud800-\\udfff) that stands for no character.") from None
    return data


class HeadDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for every request head (see the module's docstring)."""

    _head_timer: asyncio.TimerHandle | None = None
    _head_cycle: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is not None and self.cycle is not self._head_cycle:  # a whole head arrived
            self._head_timer.cancel()
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_cycle = self.cycle
        self._head_timer = self.loop.call_later(HEAD_SECONDS, self._head_late)

    def _head_late(self) -> None:
        self._head_timer = None
        in_flight = self.cycle is not None and not self.cycle.response_complete
        if not in_flight and self.cycle is self._head_cycle and not self.transport.is_closing():
            self.transport.close()

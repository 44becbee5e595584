"""Unit-test helpers: a scriptable HTTP server on 127.0.0.1 in a thread (no process, no real stack)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import pytest

from in10nt_desktop.api import http as http_mod

Answer = tuple[int, Any] | Callable[["Seen"], tuple[int, Any]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Loopback:
    url: str
    routes: dict[tuple[str, str], Answer] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)

    def answer(self, seen: Seen) -> tuple[int, Any]:
        self.requests.append(seen)
        route = self.routes.get((seen.method, seen.path.split("?", 1)[0]))
        if route is None:
            return 404, {"error": {"code": "not_found", "message": "No such API path."}}
        return route(seen) if callable(route) else route


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    """``loopback.routes[("GET", "/path")] = (status, json_payload)``; ``loopback.requests`` records calls."""
    state: dict[str, Loopback] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(length) if length else b"")
            status, payload = state["lb"].answer(seen)
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["lb"] = Loopback(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield state["lb"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record the delays the HTTP core waits between attempts (without waiting)."""
    delays: list[float] = []

    async def fake_sleep(delay: float) -> None:
        delays.append(delay)

    monkeypatch.setattr(http_mod, "asyncio", SimpleNamespace(sleep=fake_sleep, to_thread=asyncio.to_thread))
    return delays

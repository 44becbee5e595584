"""A lossy HTTP proxy on loopback: a bad network and an overloaded gateway in front of the real engine.

Each connection carries one request (answers say ``Connection: close``). A seeded RNG decides its
fate, in the order connections arrive: dropped (closed before or after the request was read, ~30 %),
answered by the "gateway" itself with 502, 503 (``Retry-After: 1``) or 429 (``Retry-After: 1``), or
passed through to the engine. ``fates`` counts what happened.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter

from stack.loop_server import LoopServer

FATES = (("drop-before", 0.15), ("drop-after", 0.15), ("502", 0.05), ("503", 0.05), ("429", 0.05),
         ("pass", 0.55))


class LossyProxy(LoopServer):
    def __init__(self, target_port: int, *, seed: int = 13) -> None:
        self._target = target_port
        self._rng = random.Random(seed)
        self.fates: Counter[str] = Counter()
        super().__init__("lossy proxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _fate(self) -> str:
        roll, total = self._rng.random(), 0.0
        for fate, share in FATES:
            total += share
            if roll < total:
                return fate
        return "pass"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        fate = self._fate()
        self.fates[fate] += 1
        try:
            if fate == "drop-before":
                return
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = await reader.readexactly(length) if length else b""
            if fate == "drop-after":
                return
            if fate != "pass":
                text = {"502": "Bad Gateway", "503": "Service Unavailable", "429": "Too Many Requests"}[fate]
                extra = "" if fate == "502" else "Retry-After: 1\r\n"
                page = f"<html><body>{fate} {text}</body></html>".encode()
                writer.write(f"HTTP/1.1 {fate} {text}\r\nContent-Type: text/html\r\nContent-Length: {len(page)}\r\n"
                             f"{extra}Connection: close\r\n\r\n".encode() + page)
                await writer.drain()
                return
            await self._forward(head, body, writer)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, asyncio.LimitOverrunError):
            pass

    async def _forward(self, head: bytes, body: bytes, writer: asyncio.StreamWriter) -> None:
        lines = [line for line in head.rstrip(b"\r\n").split(b"\r\n")
                 if not line.lower().startswith((b"connection:", b"host:"))]
        lines.insert(1, f"Host: 127.0.0.1:{self._target}".encode())
        request = b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n" + body
        up_reader, up_writer = await self._connect(self._target)
        try:
            up_writer.write(request)
            await up_writer.drain()
            while data := await up_reader.read(65536):  # the engine closes after its answer
                writer.write(data)
                await writer.drain()
        finally:
            self._closed(up_writer)

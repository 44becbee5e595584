"""A misbehaving OCI registry on loopback: the answers no real registry here gives, but a hostile or broken one can.

The first path component of the repository picks the misbehaviour, so one server plays them all:
``127.0.0.1:PORT/<mode>/app:1``. Every mode answers the manifest request (and, where it matters,
the token or config request) the wrong way:

* ``endless`` — a 200 manifest with a chunked body that never ends;
* ``huge-length`` — a 200 manifest announcing 10 GB with ``Content-Length``, then sending as long as read;
* ``endless-token`` — a Bearer challenge whose token service answers with a body that never ends;
* ``two-million-layers`` — a real manifest listing 2,000,000 layers (about 270 MB of JSON, generated
  as it is sent);
* ``many-layers`` — a manifest of 5,000 layers that fits in 700 kB;
* ``deep-json`` — a manifest nested 100,000 arrays deep;
* ``redirect-loop`` — every manifest request is redirected to itself, with a counter;
* ``endless-config`` — a valid manifest whose config blob never ends.

It is raw asyncio on a thread of its own, so it can send faster than any client reads and notice
when the client hangs up; ``sent`` counts the body bytes each mode got out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import Counter
from collections.abc import Iterator

from stack.loop_server import LoopServer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CHUNK = 64 * 1024
LAYER = '{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":1,"digest":"sha256:%064x"}'
MODES = ("endless", "huge-length", "endless-token", "two-million-layers", "many-layers", "deep-json",
         "redirect-loop", "endless-config")


def _manifest_head(config_digest: str) -> bytes:
    return (f'{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":'
            f'"application/vnd.oci.image.config.v1+json","size":2,"digest":"{config_digest}"}},"layers":[').encode()


def _layers(count: int) -> bytes:
    return ",".join(LAYER % n for n in range(count)).encode()


ANY_CONFIG = "sha256:" + hashlib.sha256(b"{}").hexdigest()


class BadRegistry(LoopServer):
    def __init__(self) -> None:
        self.sent: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        super().__init__("misbehaving registry")

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def image(self, mode: str) -> str:
        assert mode in MODES, mode
        return f"{self.host}/{mode}/app:1"

    # -- HTTP ------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
                method, target = head.split(b"\r\n", 1)[0].decode().split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in head.decode().split("\r\n")[1:] if line)}
                await self._answer(method, target, headers, writer)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError, asyncio.LimitOverrunError):
            pass

    async def _send(self, writer: asyncio.StreamWriter, status: str, headers: dict[str, str],
                    body: bytes = b"") -> None:
        lines = [f"HTTP/1.1 {status}", *(f"{k}: {v}" for k, v in headers.items())]
        if "Content-Length" not in headers and "Transfer-Encoding" not in headers:
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()

    async def _stream(self, writer: asyncio.StreamWriter, mode: str, status: str, headers: dict[str, str],
                      parts: Iterator[bytes], chunked: bool = True) -> None:
        """Send ``parts`` (an iterator of bytes) until it ends or the client hangs up; then close."""
        if chunked:
            headers = {**headers, "Transfer-Encoding": "chunked"}
        await self._send(writer, status, headers)
        for part in parts:
            data = b"%x\r\n%s\r\n" % (len(part), part) if chunked else part
            writer.write(data)
            self.sent[mode] += len(part)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        raise ConnectionError("stream sent: close")

    async def _answer(self, method: str, target: str, headers: dict[str, str],
                      writer: asyncio.StreamWriter) -> None:
        path = target.split("?", 1)[0]
        if path in ("/v2/", "/v2"):
            await self._send(writer, "200 OK", {"Content-Type": "application/json"}, b"{}")
            return
        if path.startswith("/token"):
            self.requests["endless-token:token"] += 1
            await self._stream(writer, "endless-token", "200 OK", {"Content-Type": "application/json"},
                               _endless(b'{"token":"' + b"t" * (CHUNK - 10)))
        parts = path.split("/")  # ['', 'v2', mode, 'app', 'manifests'|'blobs', ref]
        mode = parts[2] if len(parts) > 5 else ""
        kind = parts[-2] if len(parts) > 5 else ""
        self.requests[f"{mode}:{kind}"] += 1
        json_type = {"Content-Type": OCI_MANIFEST}
        if mode == "endless":
            await self._stream(writer, mode, "200 OK", json_type, _endless(b'{"schemaVersion":2,"x":"' + b"x" * CHUNK))
        elif mode == "huge-length":
            await self._stream(writer, mode, "200 OK", {**json_type, "Content-Length": str(10 * 1024 ** 3)},
                               _endless(b" " * CHUNK), chunked=False)
        elif mode == "endless-token":
            if "authorization" not in headers:
                realm = f"http://127.0.0.1:{self.port}/token"
                await self._send(writer, "401 Unauthorized", {
                    "WWW-Authenticate": f'Bearer realm="{realm}",service="bad",scope="repository:{mode}/app:pull"',
                    "Content-Type": "application/json"}, b'{"errors":[{"code":"UNAUTHORIZED"}]}')
                return
            await self._send(writer, "404 Not Found", {}, b"")
        elif mode == "two-million-layers":
            await self._stream(writer, mode, "200 OK", json_type, _generated_manifest(2_000_000))
        elif mode == "many-layers":
            await self._send(writer, "200 OK", json_type, _manifest_head(ANY_CONFIG) + _layers(5_000) + b"]}")
        elif mode == "deep-json":
            await self._send(writer, "200 OK", json_type, b"[" * 100_000 + b"]" * 100_000)
        elif mode == "redirect-loop":
            count = int(target.partition("?n=")[2] or 0) + 1
            await self._send(writer, "307 Temporary Redirect", {"Location": f"{path}?n={count}"})
        elif mode == "endless-config" and kind == "manifests":
            config = "sha256:" + "c" * 64
            await self._send(writer, "200 OK", json_type, _manifest_head(config) + _layers(1) + b"]}")
        elif mode == "endless-config":
            await self._stream(writer, mode, "200 OK", {"Content-Type": "application/octet-stream"},
                               _endless(b'{"os":"linux","x":"' + b"x" * CHUNK))
        else:
            body = json.dumps({"errors": [{"code": "NAME_UNKNOWN", "message": "no such mode"}]}).encode()
            await self._send(writer, "404 Not Found", {"Content-Type": "application/json"}, body)


def _endless(first: bytes) -> Iterator[bytes]:
    yield first
    filler = b"x" * CHUNK
    while True:
        yield filler


def _generated_manifest(count: int) -> Iterator[bytes]:
    yield _manifest_head(ANY_CONFIG)
    step = 400
    for start in range(0, count, step):
        batch = ",".join(LAYER % n for n in range(start, min(count, start + step))).encode()
        yield (b"," if start else b"") + batch
    yield b"]}"

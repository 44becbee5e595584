"""Loopback servers for faults no real server here produces, and the one way they start and stop.

``LoopServer`` is raw asyncio on an event loop of its own thread (it can send faster than a client
reads and notice when the client hangs up); ``ThreadedProxy`` is a TCP proxy with a thread per
connection (it can hold or pace bytes with plain blocking sockets). Subclasses write ``_serve``.

Both close everything they opened before ``close()`` returns: a socket left for the garbage
collector is a ``ResourceWarning`` that pytest turns into a failure of whichever test runs then.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading


class LoopServer:
    """An asyncio server on 127.0.0.1 with its own loop thread; ``_serve`` handles one connection."""

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"the {name} did not start")

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            await self._serve(reader, writer)
        finally:
            self._closed(writer)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError

    async def _connect(self, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection onwards that ``close()`` closes too."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        self._writers.add(writer)
        return reader, writer

    def _closed(self, writer: asyncio.StreamWriter) -> None:
        writer.close()
        self._writers.discard(writer)

    def close(self) -> None:
        async def stop() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()  # close() would wait for a client that stopped reading
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.sleep(0)  # the aborted transports close their sockets on this turn

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()


class ThreadedProxy:
    """A TCP proxy on 127.0.0.1 to ``target``: a thread accepts, ``_serve`` runs on a thread per connection."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._socks.append(client)
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    def _upstream(self, client: socket.socket) -> socket.socket | None:
        """A connection to the target (None, and the client closed, when it refuses)."""
        try:
            upstream = socket.create_connection(self._target, timeout=10)
        except OSError:
            client.close()
            return None
        upstream.settimeout(None)
        self._socks.append(upstream)
        return upstream

    def _break(self, socks: list[socket.socket]) -> None:
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # close() alone does not wake a thread blocked in recv()
            with contextlib.suppress(OSError):
                sock.close()

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        self._break(self._socks)
        self._accepting.join(2)
        for t in self._threads:
            t.join(2)

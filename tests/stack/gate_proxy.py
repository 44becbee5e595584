"""A loopback TCP proxy that holds every connection until it is opened.

It keeps a build in ``building`` for as long as a test needs (to crash the engine or delete the
template mid-build), then lets the same build finish against the real registry behind it.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from stack.loop_server import ThreadedProxy


class GateProxy(ThreadedProxy):
    def __init__(self, target_host: str, target_port: int) -> None:
        self._open = threading.Event()
        super().__init__(target_host, target_port)

    def open(self) -> None:
        self._open.set()

    def _serve(self, client: socket.socket) -> None:
        while not self._open.wait(0.1):
            if self._stop.is_set():
                client.close()
                return
        upstream = self._upstream(client)
        if upstream is None:
            return
        pump = threading.Thread(target=self._pipe, args=(upstream, client), daemon=True)
        pump.start()
        self._pipe(client, upstream)
        pump.join(5)

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        """Breaks every open connection, as a network drop would; new ones are still accepted."""
        socks, self._socks = self._socks, []
        self._break(socks)

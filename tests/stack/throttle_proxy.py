"""A loopback TCP proxy that paces what the server sends, and can stop sending altogether.

Put in front of a real registry (as Podman's mirror), it makes a slow pull out of a small image
(``rate`` bytes per second from the registry to the client), and ``hold()`` makes a registry that
stops sending in the middle of a blob: connections stay open, nothing more arrives until
``release()``. Requests (client to registry) pass at full speed.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from stack.loop_server import ThreadedProxy

CHUNK = 16 * 1024


class ThrottleProxy(ThreadedProxy):
    def __init__(self, target_host: str, target_port: int, rate: int | None = None) -> None:
        self.rate = rate  # bytes per second towards the client, per connection; None: unpaced
        self._flowing = threading.Event()
        self._flowing.set()
        self.sent = 0  # bytes passed to clients, all connections
        self._lock = threading.Lock()
        super().__init__(target_host, target_port)

    def hold(self) -> None:
        """From now on nothing reaches the clients (the connections stay open)."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def _serve(self, client: socket.socket) -> None:
        upstream = self._upstream(client)
        if upstream is None:
            return
        requests = threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True)
        requests.start()
        self._pipe(upstream, client, True)
        requests.join(5)

    def _pipe(self, src: socket.socket, dst: socket.socket, paced: bool) -> None:
        with contextlib.suppress(OSError):
            while not self._stop.is_set():
                rate = self.rate if paced else None
                # Small reads when paced: the registry's send then blocks too, as over a slow link.
                data = src.recv(min(CHUNK, max(1024, rate // 10)) if rate else 65536)
                if not data:
                    break
                if paced:
                    while not self._flowing.wait(0.1):
                        if self._stop.is_set():
                            return
                dst.sendall(data)
                if paced:
                    with self._lock:
                        self.sent += len(data)
                    if rate:
                        time.sleep(len(data) / rate)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._flowing.set()
        super().close()

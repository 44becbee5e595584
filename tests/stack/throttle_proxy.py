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

CHUNK = 16 * 1024


class ThrottleProxy:
    def __init__(self, target_host: str, target_port: int, rate: int | None = None) -> None:
        self._target = (target_host, target_port)
        self.rate = rate  # bytes per second towards the client, per connection; None: unpaced
        self._flowing = threading.Event()
        self._flowing.set()
        self._stop = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self.sent = 0  # bytes passed to clients, all connections
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def hold(self) -> None:
        """From now on nothing reaches the clients (the connections stay open)."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self._target, timeout=10)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        self._socks += [client, upstream]
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
        self._stop.set()
        self._flowing.set()
        self._listener.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # close() alone does not wake a thread blocked in recv()
            with contextlib.suppress(OSError):
                sock.close()
        self._accepting.join(2)
        for t in self._threads:
            t.join(2)

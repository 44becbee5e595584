"""Finding a container engine, and cancelling a pull that the engine holds open.

A fake Docker Engine API on a unix socket plays an engine that stalls mid-pull (or before it
answers at all): Podman cannot be made to do either on demand.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from in10nt_desktop.engine.container_engine import (
    ContainerEngine,
    EngineHost,
    EngineUnavailable,
    candidate_hosts,
)

# The fake engine listens on a unix socket: Windows has none (its Docker API is a named pipe).
unix_sockets = pytest.mark.skipif(sys.platform == "win32", reason="the Docker API is a named pipe on Windows")


@pytest.fixture
def sock_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder for sockets: macOS caps a socket path at 104 bytes, which its long pytest tmp paths pass."""
    if sys.platform != "darwin":
        yield tmp_path
        return
    short = Path(tempfile.mkdtemp(prefix="in10nt-", dir="/tmp"))
    yield short
    shutil.rmtree(short, ignore_errors=True)


# -- discovery --------------------------------------------------------------------------------------


def urls(hosts: list[EngineHost]) -> list[str]:
    return [h.base_url for h in hosts]


def test_explicit_docker_host_is_the_only_candidate(tmp_path: Path) -> None:
    env = {"DOCKER_HOST": "tcp://elsewhere:2375", "XDG_RUNTIME_DIR": str(tmp_path)}
    assert urls(candidate_hosts("unix:///my/engine.sock", env, tmp_path)) == ["unix:///my/engine.sock"]


def test_without_docker_host_the_default_socket_comes_first_then_the_usual_places(tmp_path: Path) -> None:
    home, runtime = tmp_path / "home", tmp_path / "run-user"
    machine = home / ".local/share/containers/podman/machine"
    (machine / "qemu").mkdir(parents=True)
    (machine / "qemu" / "podman.sock").touch()
    (machine / "applehv" / "podman-machine-default").mkdir(parents=True)
    (machine / "applehv" / "podman-machine-default" / "podman.sock").touch()
    got = urls(candidate_hosts(None, {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime)}, home, system="linux"))
    assert got == [
        "unix:///var/run/docker.sock",
        f"unix://{home}/.docker/run/docker.sock",            # Docker Desktop
        f"unix://{runtime}/podman/podman.sock",              # rootless Podman
        f"unix://{runtime}/docker.sock",                     # rootless Docker
        "unix:///run/podman/podman.sock",
        f"unix://{machine}/applehv/podman-machine-default/podman.sock",  # Podman machine (macOS)
        f"unix://{machine}/qemu/podman.sock",
    ]


def test_docker_host_comes_first_with_its_tls_settings(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (certs / name).write_text("x")
    env = {"DOCKER_HOST": "tcp://10.0.0.5:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs)}
    hosts = candidate_hosts(None, env, tmp_path, system="linux")
    assert hosts[0].base_url == "tcp://10.0.0.5:2376"
    assert hosts[0].tls is not None and hosts[0].tls.ca_cert == str(certs / "ca.pem")
    assert hosts[0].client_kwargs()["tls"] is hosts[0].tls
    assert "unix:///var/run/docker.sock" in urls(hosts[1:])  # still looked for after DOCKER_HOST
    assert hosts[1].client_kwargs()["tls"] is False


def test_macos_looks_where_docker_desktop_orbstack_colima_rancher_and_podman_machine_put_theirs(
        tmp_path: Path) -> None:
    home, tmp = tmp_path / "home", tmp_path / "T"
    for sock in (home / ".colima/dev/docker.sock", tmp / "podman/podman-machine-default-api.sock",
                 home / ".local/share/containers/podman/machine/qemu/podman.sock"):
        sock.parent.mkdir(parents=True)
        sock.touch()
    got = urls(candidate_hosts(None, {"HOME": str(home), "TMPDIR": str(tmp)}, home, system="darwin"))
    assert got == [
        "unix:///var/run/docker.sock",                               # Docker Desktop's link, when allowed
        f"unix://{home}/.docker/run/docker.sock",                    # Docker Desktop
        f"unix://{home}/.orbstack/run/docker.sock",                  # OrbStack
        f"unix://{home}/.colima/default/docker.sock",                # Colima, default profile
        f"unix://{home}/.colima/dev/docker.sock",                   # Colima, other profiles
        f"unix://{home}/.rd/docker.sock",                            # Rancher Desktop
        f"unix://{tmp}/podman/podman-machine-default-api.sock",      # Podman machine 5
        f"unix://{home}/.local/share/containers/podman/machine/qemu/podman.sock",  # Podman machine 4
    ]


def test_windows_uses_the_named_pipes(tmp_path: Path) -> None:
    got = urls(candidate_hosts(None, {"USERPROFILE": str(tmp_path)}, tmp_path, system="win32"))
    assert got == ["npipe:////./pipe/docker_engine", "npipe:////./pipe/podman-machine-default"]


@pytest.mark.asyncio
async def test_no_engine_sentence_lists_what_was_tried(tmp_path: Path) -> None:
    missing = f"unix://{tmp_path}/nothing.sock"
    with pytest.raises(EngineUnavailable) as info:
        await ContainerEngine(missing).connect()
    assert str(info.value) == (f"No container engine answers (tried {missing} (no socket there)): install Docker or "
                               "Podman and start it (for Podman: `podman system service`), or set DOCKER_HOST or "
                               "--docker-host.")


@unix_sockets
@pytest.mark.asyncio
async def test_a_socket_nobody_listens_on_is_named_as_refused(sock_dir: Path) -> None:
    path = sock_dir / "dead.sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the file stays, nothing listens: what a crashed daemon leaves behind
    with pytest.raises(EngineUnavailable) as info:
        await ContainerEngine(f"unix://{path}").connect()
    assert f"unix://{path} (connection refused)" in str(info.value)


# -- a fake engine that holds a pull -------------------------------------------------------------------


class FakeEngine:
    """Answers _ping and /version; ``POST …/images/create`` sends one event, then nothing."""

    def __init__(self, path: Path, *, headers_first: bool = True) -> None:
        self.path = path
        self.headers_first = headers_first
        self.pull_queries: list[str] = []
        self.pull_closed = threading.Event()
        self._stop = threading.Event()
        self._server = socket.socket(socket.AF_UNIX)
        self._server.bind(str(path))
        self._server.listen()
        self._server.settimeout(0.1)
        self._conns: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while not self._stop.is_set():
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    head += chunk
                request_line = head.split(b"\r\n", 1)[0].decode()
                method, target = request_line.split(" ")[:2]
                if method == "POST" and "/images/create" in target:
                    self.pull_queries.append(target)
                    self._hold(conn)
                    return
                body = b"OK" if target.endswith("/_ping") else json.dumps({"ApiVersion": "1.41"}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))

    def _hold(self, conn: socket.socket) -> None:
        if self.headers_first:
            event = json.dumps({"status": "Trying to pull"}).encode() + b"\r\n"
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                         + b"%x\r\n%s\r\n" % (len(event), event))
        conn.settimeout(0.1)
        while not self._stop.is_set():
            try:
                if conn.recv(65536) == b"":
                    self.pull_closed.set()  # the client went away: what a real engine sees on cancel
                    return
            except TimeoutError:
                continue
            except OSError:
                self.pull_closed.set()
                return

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        for conn in self._conns:
            conn.close()
        self._thread.join(2)


@pytest.fixture
def fake_engine(sock_dir: Path) -> Iterator[FakeEngine]:
    engine = FakeEngine(sock_dir / "engine.sock")
    yield engine
    engine.close()


def pull_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "container engine pull"]


async def wait_until(condition: Any, timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@unix_sockets
@pytest.mark.asyncio
async def test_cancelling_a_held_pull_ends_the_worker_and_its_connection(fake_engine: FakeEngine) -> None:
    engine = ContainerEngine(fake_engine.url)
    events: list[dict[str, Any]] = []
    pull = asyncio.create_task(engine.pull("127.0.0.1:5000/x/busybox", "sha256:" + "a" * 64, None,
                                           "127.0.0.1:5000", events.append, platform="linux/arm64"))
    await wait_until(lambda: events)
    assert events == [{"status": "Trying to pull"}]
    assert "platform=linux%2Farm64" in fake_engine.pull_queries[0]  # what is pulled is what was resolved
    pull.cancel()
    with pytest.raises(asyncio.CancelledError):
        await pull
    await wait_until(fake_engine.pull_closed.is_set)  # the engine saw the client go: it stops pulling too
    await wait_until(lambda: not pull_threads())       # and no worker is left reading
    engine.close()


@unix_sockets
def test_loop_shutdown_does_not_wait_for_a_pull_stuck_before_any_answer(sock_dir: Path) -> None:
    fake = FakeEngine(sock_dir / "silent.sock", headers_first=False)
    try:
        async def main() -> None:
            engine = ContainerEngine(fake.url)
            pull = asyncio.create_task(engine.pull("r/x", "sha256:" + "b" * 64, None, "r", lambda _e: None))
            await wait_until(lambda: fake.pull_queries)
            pull.cancel()
            await asyncio.gather(pull, return_exceptions=True)
            engine.close()

        started = time.monotonic()
        asyncio.run(main())  # asyncio.to_thread would make this wait for the stuck read
        assert time.monotonic() - started < 2.0
    finally:
        fake.close()

"""The Docker Engine API (Docker, or Podman's compatible service) as the engine sees it.

The ``docker`` SDK is synchronous, so every call runs in a worker thread: control calls (ping,
list, inspect, start, kill, remove) on a small pool the engine owns, which nothing long-running
may use, so they never wait behind a task's output or a pull; pulls in threads of their own, and
task output on the task pool (engine/task_runs.py). Streamed pull events are handed back to the
event loop one by one. Where no engine answers, builds still
resolve images and instances report what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import docker
import docker.errors
import docker.utils

from in10nt_desktop.api.validation import Credentials
from in10nt_desktop.platforms import container_engine_candidates, default_container_engine, probe_unix_socket

# A pull that sends nothing for this long is stuck; the build's own pull timeout bounds the whole pull.
PULL_READ_TIMEOUT = 600.0
PROBE_TIMEOUT = 5.0
# Control calls are short (the shared client reads with a 60 s timeout); 8 threads let a slow commit or
# image removal run while pings, lists and kills go on.
CONTROL_THREADS = 8

P = ParamSpec("P")
T = TypeVar("T")


class EngineUnavailable(Exception):
    """No Docker Engine API answers; the message says what to install or set."""


class PullError(Exception):
    """The engine could not pull; ``str()`` is a sentence for the template's ``error``."""


@dataclass(frozen=True)
class EngineHost:
    """One place a Docker Engine API may answer, with the TLS settings ``DOCKER_TLS_VERIFY`` asks for."""

    base_url: str
    tls: Any = field(default=None, compare=False)  # docker.tls.TLSConfig

    def client_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "tls": self.tls or False}


def candidate_hosts(explicit: str | None, environ: Mapping[str, str] | None = None, home: Path | None = None,
                    system: str = sys.platform) -> list[EngineHost]:
    """Where to look for an engine, in order; an explicit ``--docker-host`` is the only one then.

    First what ``docker.from_env()`` would use (``DOCKER_HOST``, ``DOCKER_TLS_VERIFY``,
    ``DOCKER_CERT_PATH``, else the platform's default socket or named pipe), then the places
    Docker Desktop, Podman, Colima, OrbStack and the rest put theirs on this platform
    (``platforms.container_engine_candidates``). Only paths are checked here; connecting is left
    to the caller.
    """
    if explicit:
        return [EngineHost(explicit)]
    env = os.environ if environ is None else environ
    home = Path.home() if home is None else home
    # kwargs_from_env reads os.environ when handed an empty mapping: only call it with something in it.
    from_env = docker.utils.kwargs_from_env(environment=env) if env else {}
    hosts = [EngineHost(from_env.get("base_url") or default_container_engine(system), from_env.get("tls"))]
    for url in container_engine_candidates(home, env, system):
        if all(h.base_url != url for h in hosts):
            hosts.append(EngineHost(url))
    return hosts


def _pull_sentence(message: str, registry: str) -> str:
    low = message.lower()
    if "unauthorized" in low or "authentication required" in low or "denied" in low:
        return f"Credentials rejected by {registry} when the container engine pulled the image."
    if "manifest unknown" in low or "not found" in low:
        return f"Image or tag not found on {registry} when the container engine pulled it."
    if "connection refused" in low or "no such host" in low or "i/o timeout" in low:
        return f"Registry {registry} is unreachable from the container engine."
    if "x509" in low or "certificate" in low or "tls" in low:
        return f"TLS error between the container engine and {registry}: its certificate was not accepted."
    return f"The container engine could not pull the image: {message.strip().splitlines()[0][:200]}"


class StreamConnection:
    """A low-level client of its own for one stream (a pull, a task's output), so the loop can end its read.

    Closing a requests session does not touch a connection that is in use, and closing the
    response from another thread blocks on its lock; shutting the socket down does end the
    read (with an EOF the worker then sees). The socket is found through the session's
    ``response`` hook, which fires as soon as the engine sends its headers.
    """

    def __init__(self, api: Any) -> None:
        self.api = api
        self._responses: list[Any] = []
        self._aborted = False
        self._lock = threading.Lock()
        api.hooks["response"].append(self._seen)

    def _seen(self, response: Any, *_args: Any, **_kwargs: Any) -> Any:
        with self._lock:
            self._responses.append(response)
            aborted = self._aborted
        if aborted:  # cancelled while the request was still on its way
            _shut(response)
        return response

    def abort(self) -> None:
        """Called on the event loop's thread: end the worker's read now."""
        with self._lock:
            self._aborted = True
            responses = list(self._responses)
        for response in responses:
            _shut(response)


def _shut(response: Any) -> None:
    raw = getattr(response, "raw", None)
    connection = getattr(raw, "connection", None) or getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError, NotImplementedError):  # a named pipe (Windows) has no shutdown
        with contextlib.suppress(Exception):
            sock.close()


def _in_daemon_thread(work: Callable[[], Any]) -> asyncio.Future[Any]:
    """Like ``asyncio.to_thread`` but in a daemon thread: the loop's shutdown never waits for a stuck pull."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def deliver(value: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)

    def run() -> None:
        try:
            value, error = work(), None
        except BaseException as exc:  # handed to the awaiting task, whatever it is
            value, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody is waiting
            loop.call_soon_threadsafe(deliver, value, error)

    threading.Thread(target=run, name="container engine pull", daemon=True).start()
    return future


class ContainerEngine:
    def __init__(self, docker_host: str | None = None) -> None:
        self._explicit = docker_host
        self._client: Any = None
        self._where: EngineHost | None = None
        self.host: str | None = None
        self._lock = asyncio.Lock()
        self._control = ThreadPoolExecutor(CONTROL_THREADS, thread_name_prefix="container engine control")

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking control call of the docker SDK on the engine's own control threads."""
        return await asyncio.get_running_loop().run_in_executor(self._control, functools.partial(fn, *args, **kwargs))

    async def connect(self) -> Any:
        """A pinged client, or ``EngineUnavailable``; reconnects if the engine went away."""
        async with self._lock:
            if self._client is not None:
                try:
                    await self.call(self._client.ping)
                    return self._client
                except Exception:
                    self._disconnect()
            tried: list[str] = []
            for where in candidate_hosts(self._explicit):
                try:
                    client = await self.call(self._open, where)
                except Exception as exc:
                    tried.append(f"{where.base_url} ({_why_not(exc)})")
                    continue
                self._client, self._where, self.host = client, where, where.base_url
                return client
            raise EngineUnavailable(
                "No container engine answers (tried " + "; ".join(tried) + "): install Docker or Podman and "
                "start it (for Podman: `podman system service`), or set DOCKER_HOST or --docker-host.")

    @staticmethod
    def _open(where: EngineHost) -> Any:
        if where.base_url.startswith("unix://"):
            path = where.base_url[len("unix://"):]
            if not os.path.exists(path):
                raise FileNotFoundError(where.base_url)
            # Connect once ourselves: names "refused" or "permission denied" plainly, and docker-py leaks
            # its socket when its own connect fails.
            probe_unix_socket(path, PROBE_TIMEOUT)
        # A short timeout while looking: a DOCKER_HOST that drops packets must not hold up the other candidates.
        client = docker.DockerClient(**where.client_kwargs(), timeout=PROBE_TIMEOUT)
        try:
            client.ping()
        except Exception:
            client.close()
            raise
        client.api.timeout = 60
        return client

    def _api_client(self, client: Any, timeout: float) -> Any:
        """A low-level client of its own for the same engine (no I/O: the API version is known)."""
        assert self._where is not None
        return docker.APIClient(**self._where.client_kwargs(), version=client.api.api_version, timeout=timeout)

    def task_stream(self, client: Any, timeout: float) -> StreamConnection:
        """A low-level client of its own for one task's output stream, to be closed by the caller.

        The shared client reads with a 60 s timeout, which would cut the output stream of a task
        that prints nothing for a minute; a streamed exec also holds its connection throughout.
        """
        return StreamConnection(self._api_client(client, timeout))

    async def pull(self, repository: str, digest: str, auth: Credentials | None, registry: str,
                   on_event: Callable[[dict[str, Any]], None], *, platform: str | None = None) -> str:
        """Pull ``repository@digest`` (for ``platform``, ``os/arch[/variant]``, when given).

        Events are delivered on the loop. Returns the pulled image id. Cancelling ends the pull's
        connection, so the worker thread stops with it.
        """
        client = await self.connect()
        loop = asyncio.get_running_loop()
        conn = StreamConnection(self._api_client(client, PULL_READ_TIMEOUT))
        cancelled = threading.Event()
        auth_config = None
        if auth:
            auth_config = {"username": auth.username, "password": auth.password, "serveraddress": registry}

        def work() -> str | None:
            error: str | None = None
            try:
                stream = conn.api.pull(repository, tag=digest, stream=True, decode=True, auth_config=auth_config,
                                       platform=platform)
                try:
                    for event in stream:
                        if cancelled.is_set():
                            break
                        if "error" in event:
                            error = str(event.get("error") or event.get("errorDetail", {}).get("message"))
                            break
                        loop.call_soon_threadsafe(on_event, event)
                finally:
                    with contextlib.suppress(Exception):  # after an abort the stream is already broken
                        stream.close()
            except Exception:
                if cancelled.is_set():
                    return None  # the read ended because the pull was cancelled: nobody awaits this
                raise
            finally:
                conn.api.close()
            return error

        try:
            error = await _in_daemon_thread(work)
        except asyncio.CancelledError:
            cancelled.set()
            conn.abort()
            raise
        except docker.errors.APIError as exc:
            raise PullError(_pull_sentence(str(exc.explanation or exc), registry)) from None
        except Exception as exc:  # transport errors from requests/urllib3
            raise PullError(f"The container engine at {self.host} failed during the pull: "
                            f"{type(exc).__name__}.") from None
        if error:
            raise PullError(_pull_sentence(error, registry))
        try:
            image = await self.call(client.images.get, f"{repository}@{digest}")
        except docker.errors.ImageNotFound:
            raise PullError("The container engine reported the pull as done but does not have the image.") from None
        return str(image.id)

    def _disconnect(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def close(self) -> None:
        """At engine shutdown: the client, and the control threads (a call still running ends on its own)."""
        self._disconnect()
        self._control.shutdown(wait=False, cancel_futures=True)


def _why_not(exc: Exception) -> str:
    """A few words on why a candidate engine did not answer, for the "no engine" sentence."""
    if isinstance(exc, FileNotFoundError):
        return "no socket there"
    text = f"{exc} {exc.__cause__ or exc.__context__ or ''}".lower()
    if isinstance(exc, PermissionError) or "permission denied" in text:
        return "permission denied"
    if "connection refused" in text:
        return "connection refused"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    return type(exc).__name__

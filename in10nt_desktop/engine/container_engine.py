"""The Docker Engine API (Docker, or Podman's compatible service) as the engine sees it.

The ``docker`` SDK is synchronous, so every call runs in a worker thread; streamed pull
events are handed back to the event loop one by one. Where no engine answers, builds still
resolve images and instances report what to install.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import docker
import docker.errors

from in10nt_desktop.api.validation import Credentials

DEFAULT_SOCKETS = (
    "/var/run/docker.sock",
    "/run/podman/podman.sock",
)


class EngineUnavailable(Exception):
    """No Docker Engine API answers; the message says what to install or set."""


class PullError(Exception):
    """The engine could not pull; ``str()`` is a sentence for the template's ``error``."""


def candidate_hosts(explicit: str | None) -> list[str]:
    if explicit:
        return [explicit]
    if os.environ.get("DOCKER_HOST"):
        return [os.environ["DOCKER_HOST"]]
    hosts = [f"unix://{p}" for p in DEFAULT_SOCKETS]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        hosts.append(f"unix://{Path(runtime) / 'podman' / 'podman.sock'}")
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


class ContainerEngine:
    def __init__(self, docker_host: str | None = None) -> None:
        self._explicit = docker_host
        self._client: Any = None
        self.host: str | None = None
        self._lock = asyncio.Lock()

    async def connect(self) -> Any:
        """A pinged client, or ``EngineUnavailable``; reconnects if the engine went away."""
        async with self._lock:
            if self._client is not None:
                try:
                    await asyncio.to_thread(self._client.ping)
                    return self._client
                except Exception:
                    self._client = None
            tried = candidate_hosts(self._explicit)
            for host in tried:
                try:
                    client = await asyncio.to_thread(self._open, host)
                except Exception:
                    continue
                self._client, self.host = client, host
                return client
            raise EngineUnavailable(
                "No container engine answers (tried " + ", ".join(tried) + "): install Docker or Podman and "
                "start it (for Podman: `podman system service`), or set DOCKER_HOST.")

    @staticmethod
    def _open(host: str) -> Any:
        if host.startswith("unix://") and not os.path.exists(host[7:]):
            raise FileNotFoundError(host)
        client = docker.DockerClient(base_url=host, timeout=60)
        client.ping()
        return client

    async def task_client(self, timeout: float) -> Any:
        """A low-level client of its own for one long task, to be closed by the caller.

        The shared client reads with a 60 s timeout, which would cut the output stream of a task
        that prints nothing for a minute; a streamed exec also holds its connection throughout.
        """
        client = await self.connect()
        return docker.APIClient(base_url=self.host, version=client.api.api_version, timeout=timeout)

    async def available(self) -> bool:
        try:
            await self.connect()
            return True
        except EngineUnavailable:
            return False

    async def pull(self, repository: str, digest: str, auth: Credentials | None, registry: str,
                   on_event: Callable[[dict[str, Any]], None]) -> str:
        """Pull ``repository@digest``; events are delivered on the loop. Returns the pulled image id."""
        client = await self.connect()
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()
        auth_config = None
        if auth:
            auth_config = {"username": auth.username, "password": auth.password, "serveraddress": registry}

        def work() -> str | None:
            error: str | None = None
            stream = client.api.pull(repository, tag=digest, stream=True, decode=True, auth_config=auth_config)
            try:
                for event in stream:
                    if cancelled.is_set():
                        break
                    if "error" in event:
                        error = str(event.get("error") or event.get("errorDetail", {}).get("message"))
                        break
                    loop.call_soon_threadsafe(on_event, event)
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            return error

        try:
            error = await asyncio.to_thread(work)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        except docker.errors.APIError as exc:
            raise PullError(_pull_sentence(str(exc.explanation or exc), registry)) from None
        except Exception as exc:  # transport errors from requests/urllib3
            raise PullError(f"The container engine at {self.host} failed during the pull: "
                            f"{type(exc).__name__}.") from None
        if error:
            raise PullError(_pull_sentence(error, registry))
        try:
            image = await asyncio.to_thread(client.images.get, f"{repository}@{digest}")
        except docker.errors.ImageNotFound:
            raise PullError("The container engine reported the pull as done but does not have the image.") from None
        return str(image.id)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

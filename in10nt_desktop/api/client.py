"""``In10ntClient``: the SDK's entry point, mirroring the seed's TypeScript client."""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from in10nt_desktop.api import HOSTED_BASE_URL
from in10nt_desktop.api.engine_control import EngineResource
from in10nt_desktop.api.errors import ConnectionFailedError, In10ntError, NotFoundError
from in10nt_desktop.api.events import Event, event_stream, server_has_events
from in10nt_desktop.api.http import HttpCore
from in10nt_desktop.api.templates import TemplatesResource

if TYPE_CHECKING:
    from in10nt_desktop.api.instances import InstancesResource, SavedTemplatesResource
    from in10nt_desktop.api.registry import RegistryResource

__all__ = ["HOSTED_BASE_URL", "In10ntClient"]


class In10ntClient:
    """Async client. Use as ``async with In10ntClient(...) as client:`` or call ``aclose()``.

    ``transport`` is injectable so tests can hand it a real local server or an
    ``httpx.MockTransport`` for hosted-service shapes.
    """

    def __init__(self, base_url: str = HOSTED_BASE_URL, api_key: str | None = None, *,
                 timeout: httpx.Timeout | float | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, retries: int = 3,
                 backoff: float = 0.5) -> None:
        self._http = HttpCore(base_url, api_key, timeout=timeout, transport=transport, retries=retries,
                              backoff=backoff)
        self.templates = TemplatesResource(self._http)
        self.engine = EngineResource(self._http)

    # Built on first use: their rows are pydantic models, which a client that only lists templates
    # (the desktop app at start-up) never loads.
    @cached_property
    def saved_templates(self) -> SavedTemplatesResource:
        from in10nt_desktop.api.instances import SavedTemplatesResource

        return SavedTemplatesResource(self._http)

    @cached_property
    def instances(self) -> InstancesResource:
        from in10nt_desktop.api.instances import InstancesResource

        return InstancesResource(self._http)

    @cached_property
    def registry(self) -> RegistryResource:
        from in10nt_desktop.api.registry import RegistryResource

        return RegistryResource(self._http)

    @classmethod
    def from_env(cls, **kw: object) -> In10ntClient:
        """``IN10NT_BASE_URL`` (default: the hosted service) and ``IN10NT_API_KEY``."""
        base_url = os.environ.get("IN10NT_BASE_URL") or HOSTED_BASE_URL
        return cls(base_url, os.environ.get("IN10NT_API_KEY") or None, **kw)  # type: ignore[arg-type]

    @classmethod
    def for_local_engine(cls, data_dir: str | os.PathLike[str] | None = None, **kw: object) -> In10ntClient:
        """The local engine running on this computer, found as the ``in10nt`` CLI finds it: its address
        and token from ``engine.json`` in ``data_dir`` (default: ``IN10NT_DATA_DIR``, else the user's data
        directory). ``ConnectionFailedError`` when no engine runs there."""
        from pathlib import Path

        from in10nt_desktop.engine.runtime_file import RUNTIME_FILE, default_data_dir, read_runtime

        where = Path(data_dir) if data_dir is not None else default_data_dir()
        info = read_runtime(where)
        if info is None:
            raise ConnectionFailedError(f"No local engine runs with data directory {where} (no live "
                                        f"{RUNTIME_FILE} there); start one with `in10nt engine serve`.")
        return cls(str(info["url"]), str(info["token"]), **kw)  # type: ignore[arg-type]

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def set_api_key(self, api_key: str | None) -> None:
        self._http.set_api_key(api_key)

    async def health(self, timeout: float = 5.0) -> bool:
        """True when the server answers within ``timeout``; the hosted service may have no
        ``/healthz``, so a 404 counts."""
        try:
            await self._http.request("GET", "/healthz", retry=False, timeout=timeout)
        except NotFoundError:
            return True
        except In10ntError:
            return False
        return True

    def events(self, last_event_id: int | None = None, *, reconnect: bool = True,
               on_disconnect: Callable[[In10ntError], None] | None = None,
               heartbeat_timeout: float = 45.0) -> AsyncGenerator[Event, None]:
        """Every change on the server, as it happens (``GET /events``); see ``api/events.py``.

        Yields ``Event(None, "open", {})`` each time the stream (re)opens, then the server's events
        in order. After ``last_event_id`` (or the last id seen, on a reconnect) the server replays
        what was missed, or sends ``reset``: list again. A lost stream (connection error, closed by
        the server, nothing at all for ``heartbeat_timeout`` seconds) is reported to
        ``on_disconnect`` with a sentence, then retried with backoff (0.5 s doubling to 10 s,
        jittered) until the caller stops iterating; with ``reconnect=False`` it is raised instead
        (and an exception that ``on_disconnect`` raises ends the iteration with it: a way to give up).
        Raises ``EventsUnsupportedError`` when the server has no event stream (404 on the first
        try) and ``AuthenticationError`` on 401/403; neither is retried. Use
        ``contextlib.aclosing`` to close the stream as soon as the loop is left.
        """
        return event_stream(self._http, last_event_id, reconnect=reconnect, on_disconnect=on_disconnect,
                            heartbeat_timeout=heartbeat_timeout)

    async def has_events(self, timeout: float = 5.0) -> bool:
        """True if the server has an event stream (``GET /events`` answers one; it is closed at once),
        False on 404 (poll instead). Other failures raise ``In10ntError``."""
        return await server_has_events(self._http, timeout)

    def __repr__(self) -> str:
        key = "set" if self._http.has_api_key else "none"
        return f"In10ntClient(base_url={self.base_url!r}, api_key=<{key}>)"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> In10ntClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

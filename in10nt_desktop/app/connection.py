"""The one connection to one In10nt server: its client, every task, and ONE state of connectivity.

Every request the app makes goes through :meth:`Connection.call`, so the state is fed by the
outcome of all of them (a poll, an action, the event stream): any answer from the server means
``online``; a refused or dropped connection means ``offline`` (or, for the local engine whose
process is gone, ``engine_stopped``); a 401 means ``needs_key``. Nothing else keeps a second
opinion: stale rows, the banner and the enabled actions are all derived from this state.

The local engine heals itself: one that this app started and that died is started again once;
one that stopped elsewhere is shown as stopped (with Start) and found again through its
``engine.json`` when it comes back, on whatever port.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import AuthenticationError, ConnectionFailedError, In10ntError
from in10nt_desktop.app.keychain import KeyStore
from in10nt_desktop.app.local_engine import EngineEndpoint, EngineStartError, LocalEngine
from in10nt_desktop.app.profiles import Profile, ProfileStore
from in10nt_desktop.app.tasks import TaskOwner

if TYPE_CHECKING:  # httpx loads with the first client, after the window's first paint
    from in10nt_desktop.api import In10ntClient

log = logging.getLogger(__name__)
T = TypeVar("T")
ClientFactory = Callable[[str, str | None], "In10ntClient"]


class ConnState(StrEnum):
    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    NEEDS_KEY = "needs_key"
    ENGINE_STOPPED = "engine_stopped"


class NotConnectedError(In10ntError):
    """An action was asked for while no client exists (before the first connect, or needs_key)."""


def default_client(base_url: str, api_key: str | None) -> In10ntClient:
    from in10nt_desktop.api import In10ntClient

    return In10ntClient(base_url, api_key)


class Connection(QObject):
    state_changed = Signal(str, str)     # ConnState value, the sentence to show
    connected = Signal(object)           # In10ntClient: a new client is ready; watchers and services start
    reported = Signal(str, str)          # sentence, details: a failure that is not about connectivity

    #: How often an unreachable server is asked again (seconds), and the cap of the backoff.
    probe_interval = 1.0
    probe_max = 10.0

    def __init__(self, profiles: ProfileStore, keys: KeyStore, engine: LocalEngine,
                 client_factory: ClientFactory = default_client, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profiles = profiles
        self.keys = keys
        self.engine = engine
        self._factory = client_factory
        self.tasks = TaskOwner(self._task_failed)
        self.client: In10ntClient | None = None
        self.profile: Profile | None = None
        self._override: str | None = None
        self._endpoint: EngineEndpoint | None = None
        self._restarted_once = False
        self.state = ConnState.CONNECTING
        self.sentence = ""

    # -- the state machine ----------------------------------------------------------------------
    @property
    def online(self) -> bool:
        return self.state is ConnState.ONLINE and self.client is not None

    @property
    def is_local(self) -> bool:
        return self.profile is not None and self.profile.kind == "local" and self._override is None

    @property
    def where(self) -> str:
        return self.profile.label if self.profile else (self.client.base_url if self.client else "no connection")

    @property
    def base_url(self) -> str:
        return self.client.base_url if self.client is not None else ""

    @property
    def engine_file(self) -> str | None:
        """The local engine's engine.json when connected to it (copied code reads its address and token
        from there: both change with each start of the engine)."""
        if not self.is_local:
            return None
        from in10nt_desktop.engine.runtime_file import RUNTIME_FILE

        return str(self.engine.data_dir / RUNTIME_FILE)

    def _set(self, state: ConnState, sentence: str) -> None:
        if state is self.state and sentence == self.sentence:
            return
        log.info("connection: %s (%s)", state.value, sentence)
        self.state, self.sentence = state, sentence
        self.state_changed.emit(state.value, sentence)

    def note_success(self) -> None:
        """The server answered something: whatever we thought before, it is reachable."""
        if self.client is not None and self.state in (ConnState.OFFLINE, ConnState.ENGINE_STOPPED,
                                                      ConnState.CONNECTING):
            self.tasks.cancel("probe")
            self._set(ConnState.ONLINE, f"Connected to {self.where}")

    def note_failure(self, exc: In10ntError) -> None:
        """Feed one failed request into the state; non-connectivity errors leave it alone."""
        if isinstance(exc, AuthenticationError) and exc.status == 401:
            self._set(ConnState.NEEDS_KEY, str(exc))
        elif isinstance(exc, ConnectionFailedError):
            if self.state in (ConnState.ONLINE, ConnState.CONNECTING):
                self._lost(exc)
            elif self.state is ConnState.OFFLINE:  # still unreachable: keep the newest reason on screen
                self._set(ConnState.OFFLINE, str(exc))
        elif exc.status is not None:  # an HTTP answer, even an error, proves the server is there
            self.note_success()

    def _lost(self, exc: In10ntError) -> None:
        self._set(ConnState.OFFLINE, str(exc))
        if self.is_local:
            self.tasks.spawn(self._heal_local(), name="probe")
        else:
            self.tasks.spawn(self._probe(), name="probe")

    # -- requests -------------------------------------------------------------------------------
    async def call(self, fn: Callable[[In10ntClient], Awaitable[T]]) -> T:
        """Run one SDK call on the current client and let its outcome feed the state."""
        client = self.client
        if client is None or self.state is ConnState.NEEDS_KEY:
            raise NotConnectedError(self.sentence or "Not connected: pick a connection first.")
        try:
            result = await fn(client)
        except In10ntError as exc:
            if client is self.client:  # an answer through a client we already replaced says nothing
                self.note_failure(exc)
            raise
        if client is self.client:
            self.note_success()
        return result

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        return self.tasks.spawn(coro, name)

    def _task_failed(self, exc: BaseException, task_name: str) -> None:
        if isinstance(exc, In10ntError):
            self.reported.emit(str(exc), type(exc).__name__)
            return
        log.error("task %s failed", task_name, exc_info=exc)
        self.reported.emit(f"Something went wrong ({type(exc).__name__}). The details say where.",
                           f"{task_name}: {exc!r}")

    # -- connecting -----------------------------------------------------------------------------
    def activate(self, profile: Profile, base_url_override: str | None = None, remember: bool = True) -> None:
        """Switch to ``profile``: everything of the previous one stops first."""
        self.profile, self._override = profile, base_url_override
        self._restarted_once = False
        if remember and base_url_override is None:  # a one-off URL must not replace the saved choice
            self.profiles.set_active(profile.name)
        self.reconnect()

    def reconnect(self) -> None:
        """(Re)connect the active profile. Every task using the old client is cancelled first:
        closing a client under a running poll would kill it with an unhelpful error."""
        if self.profile is None:
            return
        self.tasks.cancel_all(keep_current=True)
        self.tasks.spawn(self._connect(self.profile, self._override), name="connect")

    retry = reconnect

    def start_engine(self) -> None:
        """The Start button of "The local engine stopped"."""
        self._restarted_once = False
        self.reconnect()

    async def _connect(self, profile: Profile, override: str | None) -> None:
        self._set(ConnState.CONNECTING, f"Connecting to {profile.label}…")
        old, self.client = self.client, None
        if old is not None:
            await old.aclose()
        try:
            if profile.kind == "local" and override is None:
                endpoint = await self.engine.ensure(check=False)
                client = self._factory(endpoint.url, endpoint.token)
                info = await _engine_info(client)
                if info is None:  # engine.json outlived its engine (a crash, a reused pid)
                    await client.aclose()
                    endpoint = await self.engine.ensure(check=True)
                    client = self._factory(endpoint.url, endpoint.token)
                    info = await _engine_info(client) or {}
                if (info.get("exitWhenIdle") or _owner_gone(info)) and not self.engine.owned:
                    # Left running by an earlier start for its builds (or that start died a moment ago and
                    # the engine has not noticed yet): take it back, and own it again.
                    await client.engine.exit_when_idle(False, owner_pid=os.getpid())
                    self.engine.adopted = True
                self._endpoint = endpoint
            else:
                key = await self.keys.get_migrating(profile.key_account(override), profile.name)
                client = self._factory(override or profile.base_url, key)
                if not key:
                    self.client = client
                    self._set(ConnState.NEEDS_KEY, f"{profile.name} needs an API key.")
                    return
        except EngineStartError as exc:
            self._set(ConnState.ENGINE_STOPPED, str(exc))
            return
        except Exception as exc:  # anything else must still end "connecting": never a window stuck waiting
            log.warning("connecting to %s failed", profile.name, exc_info=True)
            self._set(ConnState.OFFLINE, f"Connecting to {profile.name}: {exc}")
            self.tasks.spawn(self._probe(), name="probe")
            return
        self.client = client
        self.connected.emit(client)

    # -- healing --------------------------------------------------------------------------------
    async def _probe(self) -> None:
        """Ask an unreachable server again, backing off, until it answers; then reload everything."""
        delay = self.probe_interval
        while True:
            await asyncio.sleep(delay)
            client = self.client
            if client is not None and await client.health(timeout=min(5.0, delay + 1)):
                self.reconnect()  # the world moved meanwhile: reload it whole
                return
            delay = min(delay * 2, self.probe_max)

    async def _heal_local(self) -> None:
        """The local engine stopped answering: restart ours once, or wait for one to announce itself.

        Checked again every ``probe_interval``: a killed engine may still be exiting when its
        stream breaks, and engine.json is a local file, so watching it costs no request."""
        seen = self._endpoint
        while True:
            if self.engine.owned and not self.engine.alive and not self._restarted_once:
                self._restarted_once = True
                log.warning("the local engine this app started has stopped; starting it again")
                self._set(ConnState.ENGINE_STOPPED, "The local engine stopped; starting it again…")
                self.reconnect()
                return
            current = await self.engine.announced()
            if current is None:
                if self.state is not ConnState.ENGINE_STOPPED:
                    self._set(ConnState.ENGINE_STOPPED, "The local engine stopped.")
            elif current != seen or (self.client is not None and await self.client.health(timeout=2.0)):
                self.reconnect()
                return
            await asyncio.sleep(self.probe_interval)

    async def close(self) -> None:
        await self.tasks.shutdown()
        if self.client is not None:
            await self.client.aclose()
            self.client = None


def _owner_gone(info: dict[str, Any]) -> bool:
    """The engine names an owner app that no longer runs (it stops once idle when it notices)."""
    from in10nt_desktop.platforms import process_alive

    pid, since = info.get("ownerPid"), info.get("ownerSince")
    # ``since``: the owner ran then, so a process given its PID later (Windows reuses PIDs quickly) is not it.
    return (type(pid) is int and pid != os.getpid()
            and not process_alive(pid, since if isinstance(since, (int, float)) else None))


async def _engine_info(client: In10ntClient) -> dict[str, Any] | None:
    """The local engine's ``/healthz``, or None when it does not answer."""
    try:
        return await client.engine.info(timeout=5.0)
    except In10ntError:
        return None

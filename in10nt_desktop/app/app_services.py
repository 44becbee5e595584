"""The app's composition root: one connection, the typed services over it, and the watchers.

The window depends on the ``WindowServices`` protocol (app/protocols.py), which this class
implements against a real server and the window tests' fake implements in memory.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from in10nt_desktop.api import In10ntError
from in10nt_desktop.app.build_monitor import BuildMonitor
from in10nt_desktop.app.connection import ClientFactory, Connection, default_client
from in10nt_desktop.app.drift_service import DriftService
from in10nt_desktop.app.errors import ErrorReporter
from in10nt_desktop.app.keychain import KeyStore
from in10nt_desktop.app.live_updates import LiveUpdates
from in10nt_desktop.app.local_engine import LocalEngine
from in10nt_desktop.app.log_follower import LogFollower
from in10nt_desktop.app.preflight_service import PreflightService
from in10nt_desktop.app.profiles import Profile, ProfileStore
from in10nt_desktop.app.registry_logins import RegistryLoginsService
from in10nt_desktop.app.registry_vault import RegistryVault
from in10nt_desktop.app.services import InstancesService, SavedTemplatesService
from in10nt_desktop.app.templates_service import TemplatesService

log = logging.getLogger(__name__)


# After the list is on screen, the SDK, pydantic and the other lists load (they wait for it): what
# start-up made by then lives as long as the app. Moved out of the collector's sight, a full pass no
# longer walks it — one over everything took 27-43 ms, a stall of the window whenever it came (while
# builds stream their changes, say). Objects made later are collected as before.
SETTLE_MS = 2000


class AppServices(QObject):
    key_stored = Signal(bool, str)   # persisted in the keychain?, the sentence when it was not

    def __init__(self, settings: QSettings, keys: KeyStore, engine: LocalEngine,
                 client_factory: ClientFactory = default_client, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.profiles = ProfileStore(settings)
        self.keys = keys
        self.engine = engine
        self.connection = Connection(self.profiles, keys, engine, client_factory, self)
        self.errors = ErrorReporter(self)
        self.connection.reported.connect(self.errors.say)
        self.templates = TemplatesService(self.connection, self.errors, self)
        self.saved = SavedTemplatesService(self.connection, self.errors, self)
        self.instances = InstancesService(self.connection, self.errors, self.saved, self)
        self.instances.template_missing.connect(self.templates.check_gone)
        self.monitor = BuildMonitor(self.connection, self.templates, parent=self)
        self.live = LiveUpdates(self.connection, self.templates, self.saved, self.instances, self.monitor, self)
        self.logs = LogFollower(self.connection, self)
        self._keep_engine = False
        vault = RegistryVault()  # registry logins: a keychain service of their own, not the API keys
        self.preflight = PreflightService(self.connection, vault, self)
        self.logins = RegistryLoginsService(vault, self.preflight, parent=self)
        self.drift = DriftService(self.connection, self.templates, self.preflight, vault, settings, parent=self)
        # Keychain and image-check discovery wait for the first list: neither is what a user opened the
        # window to see, and both cost the GUI thread tens of ms (keyring's backends, pydantic).
        self._logins_due = True
        self.connection.connected.connect(self._on_connected)
        self.live.list_shown.connect(self._on_list_shown)

    def _on_connected(self, _client: object) -> None:
        self._logins_due = True

    def _on_list_shown(self) -> None:
        self.preflight.discover()
        if self._logins_due:
            self._logins_due = False
            self.logins.load()
        QTimer.singleShot(SETTLE_MS, self, gc.freeze)


    # -- connection ---------------------------------------------------------------------------
    def activate(self, profile: Profile, base_url_override: str | None = None, remember: bool = True) -> None:
        """Switch to ``profile``; the other profile's rows go at once (they are not this server's)."""
        self.logs.stop()
        self.templates.clear()
        self.saved.clear()
        self.instances.clear()
        self.connection.activate(profile, base_url_override, remember)

    def refresh(self) -> None:
        if self.connection.online:
            self.live.reload_all()
        else:
            self.connection.retry()

    def set_api_key(self, key: str, profile: Profile | None = None) -> None:
        """Keep the key for ``profile`` (default: the active one) and connect with it."""
        self.connection.spawn(self._set_api_key(key, profile))

    async def _set_api_key(self, key: str, profile: Profile | None) -> None:
        target = profile or self.connection.profile
        if target is None:
            return
        persisted = await self.keys.set(target.key_account(), key)
        self.key_stored.emit(persisted, "" if persisted else
                             (self.keys.problem or "The key is kept for this session only."))
        if profile is not None and profile != self.connection.profile:
            self.activate(profile)
        else:
            self.connection.reconnect()

    def save_profiles(self, profiles: list[Profile]) -> None:
        """Save the list; keys of removed profiles, and of profiles whose URL changed, are deleted."""
        stale = self.profiles.save(profiles)
        if stale:
            self.connection.spawn(self._forget_keys(stale))

    async def _forget_keys(self, accounts: list[str]) -> None:
        for account in accounts:
            await self.keys.delete(account)

    # -- quitting -------------------------------------------------------------------------------
    def builds_in_flight(self) -> int:
        """Builds that quitting would interrupt: only those of an engine that is this app's to stop."""
        if not self.connection.is_local or not self.engine.ours:
            return 0
        return self.templates.store.building_count

    def keep_engine_running(self) -> None:
        """Quit without stopping the local engine: it finishes its builds, then stops by itself; the
        next start, if it comes first, finds it through engine.json and takes it back."""
        self._keep_engine = True

    async def close(self) -> None:
        self.logs.stop()
        await self._release_engine()
        await self.logins.close()
        await self.connection.close()
        await self.engine.stop()

    async def _release_engine(self) -> None:
        client = self.connection.client
        if client is None or not self.connection.is_local or not self.engine.ours:
            return
        try:
            if self._keep_engine:
                await client.engine.exit_when_idle(True)
                self.engine.detach()
            elif not self.engine.owned:  # taken back from an earlier start: ours to stop, not our child
                await client.engine.shutdown()
        except In10ntError as exc:
            log.warning("the local engine did not take the request: %s", exc)

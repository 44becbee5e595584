"""The app's connection to one In10nt server, and everything the window asks of it.

A ``Session`` owns the SDK client of the active profile, the stores the views observe, the
build monitor and every task; switching profile cancels them all. Widgets call its methods
(which return at once) and react to its signals: no widget awaits the network itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSettings, Signal

from in10nt_desktop.api import In10ntClient, In10ntError, SavedTemplate
from in10nt_desktop.api.models import InstanceData
from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app.build_monitor import BuildMonitor
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.errors import ErrorReporter, describe
from in10nt_desktop.app.keychain import KeyStore
from in10nt_desktop.app.local_engine import EngineStartError, LocalEngine
from in10nt_desktop.app.profiles import Profile, ProfileStore
from in10nt_desktop.app.tasks import TaskOwner
from in10nt_desktop.app.template_rows import TemplateStore

log = logging.getLogger(__name__)
Op = Callable[[In10ntClient], Awaitable[object]]


@dataclass(frozen=True)
class BulkResult:
    done: list[str]
    failed: list[tuple[str, str]]  # (item, sentence)


class Session(QObject):
    state_changed = Signal(str, str)          # connecting | online | offline | needs_key, and a sentence
    saved_templates_loaded = Signal(list)     # list[SavedTemplate]
    instances_loaded = Signal(list)           # list[InstanceData]
    template_created = Signal(object)         # TemplateRow
    bulk_finished = Signal(str, object)       # what ("Delete"), BulkResult
    info = Signal(str)                        # a short success sentence for the status bar

    def __init__(self, settings: QSettings, keys: KeyStore, engine: LocalEngine,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.profiles = ProfileStore(settings)
        self.keys = keys
        self.engine = engine
        self.errors = ErrorReporter(self)
        self.templates = TemplateStore(self)
        self.monitor = BuildMonitor(self.templates, self.errors, parent=self)
        self.tasks = TaskOwner(self.errors.report_task_failure)
        self.client: In10ntClient | None = None
        self.profile: Profile | None = None
        self._base_url_override: str | None = None
        self.state = "connecting"
        self.errors.offline.connect(self._on_offline)
        # Polling works again after an outage: reload everything, which also ends "offline".
        self.monitor.recovered.connect(lambda: self.tasks.spawn(self._load_all(), name="refresh"))
        self.errors.auth_required.connect(lambda text: self._set_state("needs_key", text))

    # -- connection ---------------------------------------------------------------------------
    def _set_state(self, state: str, text: str) -> None:
        self.state = state
        self.state_changed.emit(state, text)

    def _on_offline(self, text: str) -> None:
        self.templates.set_stale(True, [row.template_id for row in self.templates.rows])
        self._set_state("offline", text)

    def activate(self, profile: Profile, base_url_override: str | None = None, remember: bool = True) -> None:
        """Switch to ``profile``: cancels everything of the previous one first and clears its data."""
        self.profile, self._base_url_override = profile, base_url_override
        if remember and base_url_override is None:  # a one-off URL must not replace the saved choice
            self.profiles.set_active(profile.name)
        self.templates.clear()
        self.saved_templates_loaded.emit([])
        self.instances_loaded.emit([])
        self.reconnect()

    def reconnect(self) -> None:
        """(Re)connect the active profile. Everything using the old client stops first: closing a
        client under a running poll or bulk delete would kill them with an unhelpful error."""
        if self.profile is None:
            return
        self.monitor.detach()
        self.tasks.cancel_all(keep_current=True)
        self.tasks.spawn(self._connect(self.profile, self._base_url_override), name="connect")

    def retry(self) -> None:
        self.reconnect()

    async def _connect(self, profile: Profile, base_url_override: str | None) -> None:
        self._set_state("connecting", f"Connecting to {profile.label}…")
        old, self.client = self.client, None
        if old is not None:
            await old.aclose()
        try:
            if profile.kind == "local":
                endpoint = await self.engine.ensure(check=False)
                client = In10ntClient(endpoint.url, endpoint.token)
                if not await client.health():  # engine.json outlived its engine (a crash, a reused pid)
                    await client.aclose()
                    endpoint = await self.engine.ensure(check=True)
                    client = In10ntClient(endpoint.url, endpoint.token)
            else:
                key = await self.keys.get(profile.name)
                client = In10ntClient(base_url_override or profile.base_url, key)
                if not key:
                    self.client = client
                    self._set_state("needs_key", f"{profile.name} needs an API key.")
                    return
        except EngineStartError as exc:
            self._set_state("offline", str(exc))
            return
        except Exception as exc:  # anything else must still end "connecting": never a window stuck waiting
            self.errors.report(exc, f"Connecting to {profile.name}")
            self._set_state("offline", describe(exc, f"Connecting to {profile.name}")[0])
            return
        self.client = client
        await self._load_all()

    async def _load_all(self) -> None:
        client = self.client
        assert client is not None
        try:
            templates = await client.templates.list()
        except In10ntError as exc:
            self.errors.report(exc, "Loading templates")
            if self.state == "connecting":
                self._set_state("offline", str(exc))
            return
        was_building = {row.template_id for row in self.templates.rows if row.building}
        self.templates.replace_all(templates)
        for template_id in was_building:  # builds that ended while we were offline or reloading
            row = self.templates.get(template_id)
            if row is not None and not row.building:
                self.monitor.finished.emit(row)
        where = self.profile.label if self.profile else client.base_url
        self._set_state("online", f"Connected to {where}")
        self.monitor.attach(client)
        self.monitor.kick(fast=False)
        self.tasks.spawn(self._load_saved(), name="saved")
        self.tasks.spawn(self._load_instances(), name="instances")

    async def set_api_key(self, key: str) -> bool:
        """Keep the key for the active profile (keychain if any) and reconnect; True if persisted."""
        assert self.profile is not None
        persisted = await self.keys.set(self.profile.name, key)
        self.reconnect()
        return persisted

    def refresh(self) -> None:
        if self.client is not None:
            self.tasks.spawn(self._load_all(), name="refresh")
        else:
            self.retry()

    # -- templates ------------------------------------------------------------------------------
    def create_template(self, draft: TemplateDraft) -> None:
        self.tasks.spawn(self._create(draft))

    async def _create(self, draft: TemplateDraft) -> None:
        if self.client is None:
            self.errors.report(In10ntError("Not connected: pick a connection first."), "Creating the template")
            return
        try:
            auth = draft.registry_auth()
            template = await self.client.templates.create(name=draft.name, image=draft.image,
                                                          registry_type=draft.registry_type,
                                                          description=draft.description, registry_auth=auth)
        except (In10ntError, FieldError) as exc:
            self.errors.report(exc, f"Creating {draft.name}")
            return
        row = self.templates.add(template)
        self.template_created.emit(row)
        self.monitor.kick(fast=True)

    def delete_templates(self, ids: Iterable[str]) -> None:
        self.tasks.spawn(self._delete_templates(list(ids)))

    async def _delete_templates(self, ids: list[str]) -> None:
        done, failed = [], []
        for template_id in ids:  # keep going: one failure must not stop the rest
            row = self.templates.get(template_id)
            label = row.name if row else template_id
            try:
                if self.client is None:
                    raise In10ntError("Not connected.")
                await self.client.templates.delete(template_id)
            except In10ntError as exc:
                failed.append((label, str(exc)))
                continue
            self.templates.remove(template_id)
            done.append(label)
        self.bulk_finished.emit("Delete", BulkResult(done, failed))

    # -- saved templates and instances ---------------------------------------------------------------
    async def _load_saved(self) -> None:
        if self.client is None:
            return
        try:
            saved: list[SavedTemplate] = await self.client.saved_templates.list()
        except In10ntError as exc:
            self.errors.report(exc, "Loading saved templates")
            return
        self.saved_templates_loaded.emit(saved)

    async def _load_instances(self) -> None:
        if self.client is None:
            return
        try:
            instances: list[InstanceData] = list(await self.client.instances.list())
        except In10ntError as exc:
            # Servers without instances (or an engine without a container engine) say so; not an alarm.
            log.info("instances unavailable: %s", exc)
            instances = []
        self.instances_loaded.emit(instances)

    def reload_saved(self) -> None:
        self.tasks.spawn(self._load_saved(), name="saved")

    def reload_instances(self) -> None:
        self.tasks.spawn(self._load_instances(), name="instances")

    def delete_saved(self, names: Iterable[str]) -> None:
        self.tasks.spawn(self._delete_saved(list(names)))

    async def _delete_saved(self, names: list[str]) -> None:
        done, failed = [], []
        for name in names:
            try:
                if self.client is None:
                    raise In10ntError("Not connected.")
                await self.client.saved_templates.delete(name)
                done.append(name)
            except In10ntError as exc:
                failed.append((name, str(exc)))
        self.bulk_finished.emit("Delete saved template", BulkResult(done, failed))
        await self._load_saved()

    def run_op(self, coro_factory: Op, doing: str, reload: str | None = None) -> None:
        """Run an SDK call for an action (clone, instance create/run/snapshot/delete); report the outcome."""
        self.tasks.spawn(self._op(coro_factory, doing, reload))

    async def _op(self, coro_factory: Op, doing: str, reload: str | None) -> None:
        if self.client is None:
            self.errors.report(In10ntError("Not connected."), doing)
            return
        try:
            result = await coro_factory(self.client)
        except In10ntError as exc:
            self.errors.report(exc, doing)
            return
        self.info.emit(f"{doing}: done." if not isinstance(result, str) else result)
        if reload in ("instances", "both"):
            await self._load_instances()
        if reload in ("saved", "both"):
            await self._load_saved()

    # -- shutdown ----------------------------------------------------------------------------------
    async def close(self) -> None:
        await self.monitor.close()
        await self.tasks.shutdown()
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        await self.engine.stop()

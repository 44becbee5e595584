"""Tag drift: has a ready template's tag moved to another image since it was built?

At most once a day per ready template (the clock starts at its last build), one template at a
time, the app asks the server (``POST /container-templates/{id}/drift``), sending the login
remembered for the image's host because the server keeps no credentials. What it learnt is kept
per server in QSettings (digests and times: nothing secret), so a restart does not ask again
before the day is over. An answer of "could not say" (registry unreachable, credentials missing)
leaves the row as it was: only a registry that names another digest marks a template drifted.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal

from in10nt_desktop.api import In10ntError
from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app.connection import Connection
from in10nt_desktop.app.preflight_service import PreflightService
from in10nt_desktop.app.registry_vault import RegistryVault, login_host
from in10nt_desktop.app.template_rows import TemplateRow
from in10nt_desktop.app.templates_service import TemplatesService

if TYPE_CHECKING:  # the SDK's client and models load after the window's first paint
    from in10nt_desktop.api import DriftInfo, In10ntClient, RegistryAuth

log = logging.getLogger(__name__)
TASK, CLOCK, SCHEDULE = "drift", "drift-clock", "drift-schedule"
SCHEDULE_SLICE = 2_000  # rows looked at per turn of the event loop (~4 ms)


@dataclass(frozen=True)
class DriftState:
    template_id: str
    drifted: bool
    built_digest: str
    current_digest: str
    checked_at: datetime

    def applies_to(self, row: TemplateRow) -> bool:
        """Only for the build it was checked against: a template built again starts afresh."""
        return row.data.digest == self.built_digest

    def to_json(self) -> str:
        return json.dumps({"drifted": self.drifted, "built": self.built_digest, "current": self.current_digest,
                           "checkedAt": self.checked_at.isoformat()})

    @classmethod
    def from_json(cls, template_id: str, text: str) -> DriftState | None:
        try:
            data = json.loads(text)
            return cls(template_id, bool(data["drifted"]), str(data["built"]), str(data["current"]),
                       datetime.fromisoformat(data["checkedAt"]))
        except (ValueError, KeyError, TypeError):
            return None


class DriftStore(QObject):
    """What the window shows: the newest drift answer per template."""

    changed = Signal(str)          # template id
    enabled_changed = Signal(bool)  # the server can check drift (it has the image check)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.states: dict[str, DriftState] = {}
        self.enabled = False

    def set_enabled(self, enabled: bool) -> None:
        if enabled != self.enabled:
            self.enabled = enabled
            self.enabled_changed.emit(enabled)

    def get(self, template_id: str) -> DriftState | None:
        return self.states.get(template_id)

    def drifted(self, row: TemplateRow) -> DriftState | None:
        """The state to show on ``row``: only a moved tag, and only for the build that was checked."""
        state = self.states.get(row.template_id)
        return state if state is not None and state.drifted and state.applies_to(row) else None

    def put(self, state: DriftState) -> None:
        self.states[state.template_id] = state
        self.changed.emit(state.template_id)

    def clear(self) -> None:
        ids, self.states = list(self.states), {}
        for template_id in ids:
            self.changed.emit(template_id)


class DriftService(QObject):
    checked = Signal(str, object)       # template id, DriftInfo: every answer (a "Check now" shows it)
    check_failed = Signal(str, str)     # template id, sentence: the row stays as it was

    interval = timedelta(days=1)        # per template, counted from its last build or check
    retry_unknown = timedelta(hours=1)  # after "could not say", in this session
    clock_seconds = 3600.0              # how often the schedule is looked at again

    def __init__(self, connection: Connection, templates: TemplatesService, preflight: PreflightService,
                 vault: RegistryVault, settings: QSettings, now: Callable[[], datetime] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self._templates = templates
        self._preflight = preflight
        self._vault = vault
        self._settings = settings
        self._now = now or (lambda: datetime.now(UTC))
        self.store = DriftStore(self)
        # Template ids to check, in order, and the same ids as a set: scheduling 100,000 ready templates
        # asks "already queued?" once per row, which a deque alone answers by a scan (a minute of frozen
        # window). An id asked for again by "Check now" is queued twice; the later copy finds it done.
        self._queue: deque[str] = deque()
        self._queued: set[str] = set()
        self._attempted: dict[str, datetime] = {}
        self._server = ""
        connection.connected.connect(self._on_connected)
        templates.loaded.connect(self.schedule)
        preflight.availability_changed.connect(self._on_availability)

    def _on_availability(self, available: bool) -> None:
        self.store.set_enabled(available)
        if available:
            self.schedule()

    # -- persistence (per server) ------------------------------------------------------------------------
    def _key(self, template_id: str = "") -> str:
        return f"drift/{self._server}/{template_id}" if template_id else f"drift/{self._server}"

    def _on_connected(self, client: In10ntClient) -> None:
        self._server = hashlib.sha256(client.base_url.encode()).hexdigest()[:16]
        self._queue.clear()
        self._queued.clear()
        self._attempted.clear()
        self.store.clear()
        self.store.set_enabled(False)  # until this server says it has the check
        self._settings.beginGroup(self._key())
        saved = {tid: self._settings.value(tid) for tid in self._settings.childKeys()}
        self._settings.endGroup()
        for template_id, text in saved.items():
            state = DriftState.from_json(template_id, str(text)) if text else None
            if state is not None:
                self.store.put(state)
        self._c.spawn(self._clock(), name=CLOCK)

    def _save(self, state: DriftState) -> None:
        self.store.put(state)
        self._settings.setValue(self._key(state.template_id), state.to_json())

    def _prune(self) -> None:
        """Forget what was learnt about templates the server no longer has."""
        known = {row.template_id for row in self._templates.store.rows}
        for template_id in [t for t in self.store.states if t not in known]:
            del self.store.states[template_id]
            self._settings.remove(self._key(template_id))

    # -- scheduling ----------------------------------------------------------------------------------------
    def due(self, row: TemplateRow) -> bool:
        if row.status != "ready" or not row.data.digest:
            return False
        now = self._now()
        attempted = self._attempted.get(row.template_id)
        if attempted is not None and now - attempted < self.retry_unknown:
            return False
        state = self.store.get(row.template_id)
        if state is not None and state.applies_to(row):
            return now - state.checked_at >= self.interval
        built = row.updated_at or row.created_at  # a fresh build is its own check
        return built is None or now - built >= self.interval

    def schedule(self) -> None:
        if self._preflight.available is not True or not self._c.online or not self._templates.store.loaded:
            return  # asked again when the list arrives (TemplatesService.loaded)
        self._c.spawn(self._schedule(), name=SCHEDULE)  # a newer look replaces one under way

    async def _schedule(self) -> None:
        """Queue the templates that are due, a slice at a time: 100,000 rows take ~0.2 s to look at,
        which in one piece would be a stall of the window."""
        self._prune()
        rows = self._templates.store.rows  # already a copy: the store may change between slices
        for start in range(0, len(rows), SCHEDULE_SLICE):
            if start:
                await asyncio.sleep(0)
            for row in rows[start:start + SCHEDULE_SLICE]:
                if row.template_id not in self._queued and self.due(row):
                    self._queue.append(row.template_id)
                    self._queued.add(row.template_id)
        self._run()

    def check_now(self, template_id: str) -> None:
        """The user asked: check this one first, whenever it was checked last."""
        self._queue.appendleft(template_id)
        self._queued.add(template_id)
        self._attempted.pop(template_id, None)
        self._run()

    def _run(self) -> None:
        if self._queue and not self._c.tasks.running(TASK):
            self._c.spawn(self._work(), name=TASK)

    async def _clock(self) -> None:
        while True:
            await asyncio.sleep(self.clock_seconds)
            self.schedule()

    # -- the checks ------------------------------------------------------------------------------------------
    async def _auth(self, image: str, cache: dict[str, RegistryAuth | None]) -> RegistryAuth | None:
        try:
            host = login_host(image)
        except FieldError:
            return None
        if host not in cache:
            login = await self._vault.get(host)
            from in10nt_desktop.api import RegistryAuth

            cache[host] = None if login is None else RegistryAuth.model_validate(
                {"username": login.username, "password": login.secret})
        return cache[host]

    async def _work(self) -> None:
        logins: dict[str, RegistryAuth | None] = {}  # one keychain read per host per pass
        while self._queue:
            template_id = self._queue.popleft()
            if template_id not in self._queued:
                continue  # checked already, from a copy further up the queue
            self._queued.discard(template_id)
            row = self._templates.store.get(template_id)
            if row is None or row.status != "ready" or not row.data.digest:
                continue
            auth = await self._auth(row.image, logins)
            try:
                info = await self._c.call(functools.partial(_drift, template_id=template_id, auth=auth))
            except In10ntError as exc:
                self._attempted[template_id] = self._now()
                self.check_failed.emit(template_id, str(exc))
                continue
            self.checked.emit(template_id, info)
            if info.drifted is None or info.built_digest is None or info.current_digest is None:
                self._attempted[template_id] = self._now()
                reason = info.error.message if info.error is not None else "the registry could not say"
                self.check_failed.emit(template_id, reason)
                continue
            self._attempted.pop(template_id, None)
            self._save(DriftState(template_id, info.drifted, info.built_digest, info.current_digest,
                                  info.checked_at or self._now()))


async def _drift(client: In10ntClient, template_id: str, auth: RegistryAuth | None) -> DriftInfo:
    return await client.templates.drift(template_id, registry_auth=auth)

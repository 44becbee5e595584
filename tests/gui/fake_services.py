"""An in-memory implementation of ``WindowServices`` for the window's fast tier.

It is a fake of the *protocol* the window depends on (app/protocols.py), not a mock of the
real services' internals: commands change the rows at once, as a fast server would, and emit
the same past-tense signals. Tests drive its connection state directly.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import RunResult, SavedTemplate, TemplateData
from in10nt_desktop.api.models import InstanceData
from in10nt_desktop.app.connection import ConnState
from in10nt_desktop.app.docker_logins import DockerLogin
from in10nt_desktop.app.drafts import SecretSource, TemplateDraft
from in10nt_desktop.app.drift_service import DriftStore
from in10nt_desktop.app.preflight_service import AccessCheck, CheckOutcome
from in10nt_desktop.app.profiles import DEFAULT_PROFILES, Profile
from in10nt_desktop.app.registry_vault import LoginSummary
from in10nt_desktop.app.services import BulkResult
from in10nt_desktop.app.task_runs import TaskHistory, TaskRun
from in10nt_desktop.app.template_rows import TemplateStore
from in10nt_desktop.ui.main_window import MainWindow

_ids = itertools.count(1)


def template_data(name: str, status: str = "ready", image: str = "docker.io/library/busybox:1",
                  **extra: object) -> TemplateData:
    return TemplateData.model_validate({
        "templateId": f"tmpl_fake{next(_ids):04d}", "name": name, "image": image, "registryType": "dockerhub",
        "status": status, "createdAt": datetime(2026, 1, 1, tzinfo=UTC).isoformat(), **extra})


class FakeConnection(QObject):
    state_changed = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.profile: Profile | None = DEFAULT_PROFILES[0]
        self.sentence = ""
        self._state = ConnState.CONNECTING
        self.calls: list[str] = []

    @property
    def state(self) -> ConnState:
        return self._state

    @property
    def online(self) -> bool:
        return self._state is ConnState.ONLINE

    @property
    def where(self) -> str:
        return self.profile.label if self.profile else "no connection"

    @property
    def base_url(self) -> str:
        return "http://127.0.0.1:9"

    engine_file: str | None = None  # a hosted-like server unless a test says otherwise

    def go(self, state: ConnState, sentence: str = "") -> None:
        self._state, self.sentence = state, sentence or state.value
        self.state_changed.emit(state.value, self.sentence)

    def retry(self) -> None:
        self.calls.append("retry")

    def start_engine(self) -> None:
        self.calls.append("start_engine")


class FakeTemplates(QObject):
    created = Signal(object)
    build_finished = Signal(object)
    removed_elsewhere = Signal(str, str)
    bulk_finished = Signal(str, object)
    builds_loaded = Signal(str, list)
    build_log_loaded = Signal(str, str, list)
    rebuilt = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.store = TemplateStore(self)
        self.store.replace_all([])
        self.rebuilds: list[tuple[str, TemplateDraft | None]] = []
        self.records: dict[str, list[object]] = {}
        self.builds_asked: list[str] = []
        self.logs: dict[str, list[str]] = {}

    def rebuild(self, template_id: str, draft: TemplateDraft | None = None) -> None:
        self.rebuilds.append((template_id, draft))
        row = self.store.get(template_id)
        if row is not None:
            # As the engine answers: building again, a stall was the old build's.
            self.server_changed(row.data.model_copy(update={"status": "building", "error": None, "stalled": False,
                                                            "stalled_reason": None}))
            self.rebuilt.emit(self.store.get(template_id))

    def load_builds(self, template_id: str) -> None:
        self.builds_asked.append(template_id)
        self.builds_loaded.emit(template_id, list(self.records.get(template_id, [])))

    def load_build_log(self, template_id: str, build_id: str, log_from: int, log_to: int | None) -> None:
        self.build_log_loaded.emit(template_id, build_id, list(self.logs.get(build_id, [])))

    def create(self, draft: TemplateDraft) -> None:
        row = self.store.add(template_data(draft.name, "building", draft.image))
        self.created.emit(row)

    def delete(self, ids: Iterable[str]) -> None:
        done = []
        for template_id in list(ids):
            row = self.store.get(template_id)
            if row is not None and self.store.remove(template_id):
                done.append(row.name)
        self.bulk_finished.emit("template", BulkResult(done, []))

    # what the server would push
    def server_changed(self, data: TemplateData) -> None:
        for old, new in self.store.merge([data], complete=False):
            if old.building and not new.building:
                self.build_finished.emit(new)

    def server_deleted(self, template_id: str) -> None:
        row = self.store.get(template_id)
        if row is not None and self.store.remove(template_id):
            self.removed_elsewhere.emit(template_id, row.name)


class FakeSaved(QObject):
    loaded = Signal(list)
    bulk_finished = Signal(str, object)

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[SavedTemplate] = []

    def delete(self, names: Iterable[str]) -> None:
        gone = set(names)
        self.rows = [s for s in self.rows if s.name not in gone]
        self.loaded.emit(self.rows)
        self.bulk_finished.emit("saved template", BulkResult(sorted(gone), []))



class FakeInstances(QObject):
    loaded = Signal(list)
    task_started = Signal(str, str)
    task_finished = Signal(str, str, object)
    runs_changed = Signal(str)
    output_appended = Signal(str, int)
    done = Signal(str)
    bulk_finished = Signal(str, object)

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[InstanceData] = []
        self.created: list[tuple[str, str]] = []
        self.clones: list[tuple[str, str]] = []
        self.tasks: list[tuple[str, str]] = []
        self.history = TaskHistory()
        self.hold_tasks = False  # True: a run stays "running…" until finish_task()

    def create(self, name: str, template_id: str) -> None:
        self.created.append((name, template_id))
        self.rows.append(InstanceData.model_validate({"instanceId": f"inst_{name}", "name": name,
                                                      "status": "running", "containerTemplateId": template_id}))
        self.loaded.emit(self.rows)

    def clone(self, saved_name: str, instance_name: str) -> None:
        self.clones.append((saved_name, instance_name))
        self.done.emit(f"Instance {instance_name} started from {saved_name}.")

    def run(self, instance_id: str, name: str, task: str) -> None:
        self.tasks.append((instance_id, task))
        run = self.history.started(instance_id, task)
        self.runs_changed.emit(instance_id)
        self.task_started.emit(instance_id, name)
        self._pending = (instance_id, name, run.number)
        if not self.hold_tasks:
            self.finish_task("hi\n", 0)

    def print_task(self, text: str) -> None:
        """The held task prints ``text``: appended and announced, as the real service does (unthrottled here)."""
        instance_id, _name, number = self._pending
        if self.history.append(instance_id, number, text) is not None:
            self.output_appended.emit(instance_id, number)

    def finish_task(self, output: str | None, exit_code: int) -> None:
        """The held task ends; ``output`` None: it ends with what it printed (``print_task``)."""
        instance_id, name, number = self._pending
        run = self.history.finished(instance_id, number, exit_code=exit_code, output=output)
        self.runs_changed.emit(instance_id)
        self.task_finished.emit(instance_id, name, RunResult.model_validate({
            "output": run.output if run else output or "", "exitCode": exit_code}))

    def runs(self, instance_id: str) -> list[TaskRun]:
        return self.history.runs(instance_id)

    def snapshot(self, instance_id: str, name: str, saved_name: str) -> None:
        self.done.emit(f"Saved template {saved_name} created from {name}.")

    def delete(self, instances: Iterable[tuple[str, str]]) -> None:
        gone = dict(instances)
        self.rows = [i for i in self.rows if i.instance_id not in gone]
        self.loaded.emit(self.rows)
        self.bulk_finished.emit("instance", BulkResult(list(gone.values()), []))


class FakeErrors(QObject):
    reported = Signal(str, str)


class FakeLogs(QObject):
    reset = Signal(str)
    lines_added = Signal(str, list)
    unavailable = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.followed: list[str | None] = []

    def follow(self, template_id: str | None, force: bool = False) -> None:
        self.followed.append(template_id)
        self.reset.emit(template_id or "")

    def stop(self) -> None:
        pass


class FakeProfiles:
    def load(self) -> list[Profile]:
        return list(DEFAULT_PROFILES)


class FakeKeys:
    persistent = True
    problem: str | None = None


class FakeLive:
    def __init__(self) -> None:
        self.activations = 0

    def window_activated(self) -> None:
        self.activations += 1


class FakePreflight(QObject):
    """The image check: ``checks`` records what was asked; a test answers with ``answer``."""

    availability_changed = Signal(bool)
    checked = Signal(object)

    def __init__(self, available: bool | None = True) -> None:
        super().__init__()
        self.available = available
        self.checks: list[AccessCheck] = []
        self.cancels = 0

    def check(self, request: AccessCheck) -> int:
        self.checks.append(request)
        return len(self.checks)

    def cancel(self) -> None:
        self.cancels += 1

    def answer(self, ok: bool, text: str, field: str | None = None, number: int | None = None) -> CheckOutcome:
        outcome = CheckOutcome(number or len(self.checks), ok, text, field)
        self.checked.emit(outcome)
        return outcome


class FakeLogins(QObject):
    listed = Signal(list)
    remembered = Signal(str, bool)
    forgotten = Signal(str)
    failed = Signal(str)
    fetched = Signal(str, object)
    test_started = Signal(str, int)
    docker_found = Signal(list, list)
    imported = Signal(list, list)
    gcr_offered = Signal(object)
    gcloud_token_ready = Signal(object, str)

    def __init__(self) -> None:
        super().__init__()
        self.summaries: dict[str, LoginSummary] = {}
        self.persistent = True
        self.problem: str | None = None
        self.calls: list[tuple[str, object]] = []

    def login_for(self, host: str) -> LoginSummary | None:
        return self.summaries.get(host)

    def load(self) -> None:
        self.listed.emit(sorted(self.summaries.values(), key=lambda s: s.host))

    def remember(self, host: str, username: str, secret: SecretSource, image: str = "", source: str = "typed") -> None:
        self.calls.append(("remember", (host, username, secret, image)))
        self.summaries[host] = LoginSummary(host, username, source, "", image)
        self.remembered.emit(host, True)
        self.load()

    def forget(self, host: str) -> None:
        self.calls.append(("forget", host))
        self.summaries.pop(host, None)
        self.forgotten.emit(host)
        self.load()

    def fetch(self, host: str) -> None:
        self.calls.append(("fetch", host))

    def note_image(self, host: str, image: str) -> None:
        self.calls.append(("note_image", (host, image)))

    def test(self, host: str, image: str, registry_type: str) -> None:
        self.calls.append(("test", (host, image, registry_type)))

    def find_docker_logins(self) -> None:
        self.calls.append(("find_docker_logins", None))

    def import_docker(self, logins: list[DockerLogin]) -> None:
        self.calls.append(("import_docker", logins))

    def find_gcr(self) -> None:
        self.calls.append(("find_gcr", None))

    def gcloud_token(self, gcloud: str) -> None:
        self.calls.append(("gcloud_token", gcloud))


class FakeDrift(QObject):
    checked = Signal(str, object)
    check_failed = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.store = DriftStore(self)
        self.asked: list[str] = []

    def check_now(self, template_id: str) -> None:
        self.asked.append(template_id)


class FakeServices(QObject):
    key_stored = Signal(bool, str)

    def __init__(self) -> None:
        super().__init__()
        self.connection = FakeConnection()
        self.templates = FakeTemplates()
        self.saved = FakeSaved()
        self.instances = FakeInstances()
        self.errors = FakeErrors()
        self.logs = FakeLogs()
        self.profiles = FakeProfiles()
        self.keys = FakeKeys()
        self.live = FakeLive()
        self.preflight = FakePreflight()
        self.logins = FakeLogins()
        self.drift = FakeDrift()
        self.building_in_engine = 0
        self.kept_engine = False
        self.activated: list[Profile] = []
        self.refreshed = 0
        self.keys_set: list[tuple[str, Profile | None]] = []
        self.saved_profiles: list[list[Profile]] = []

    def activate(self, profile: Profile, base_url_override: str | None = None, remember: bool = True) -> None:
        self.activated.append(profile)
        self.connection.profile = profile

    def refresh(self) -> None:
        self.refreshed += 1

    def set_api_key(self, key: str, profile: Profile | None = None) -> None:
        self.keys_set.append((key, profile))

    def save_profiles(self, profiles: list[Profile]) -> None:
        self.saved_profiles.append(profiles)

    def builds_in_flight(self) -> int:
        return self.building_in_engine

    def keep_engine_running(self) -> None:
        self.kept_engine = True


@asynccontextmanager
async def fake_window(tmp_path: Path) -> AsyncIterator[tuple[MainWindow, FakeServices]]:
    """The main window over fresh fake services, shown and online; closed after (no quit question)."""
    from gui_helpers import ini_settings

    services = FakeServices()
    win = MainWindow(services, ini_settings(tmp_path / "s.ini"))  # type: ignore[arg-type]
    win.show()
    services.connection.go(ConnState.ONLINE, "Connected")
    try:
        yield win, services
    finally:
        services.building_in_engine = 0
        win._quit_decided = True
        win.close()
        win.deleteLater()
        await asyncio.sleep(0)

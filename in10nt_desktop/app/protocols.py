"""What the window needs from the app layer, as protocols.

``AppServices`` implements them against a real server; the window tests' fake implements them
in memory, so "Ctrl+N opens the wizard" is checked in milliseconds without a registry. Signals
are typed as the ``SignalInstance`` a ``Signal`` gives on an instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from PySide6.QtCore import SignalInstance

from in10nt_desktop.app.connection import ConnState
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.profiles import Profile
from in10nt_desktop.app.task_runs import TaskRun
from in10nt_desktop.app.template_rows import TemplateStore
from in10nt_desktop.app.vault_protocols import DriftView, LoginsView, PreflightView


class ConnectionView(Protocol):
    state_changed: SignalInstance
    profile: Profile | None
    sentence: str

    @property
    def state(self) -> ConnState: ...
    @property
    def online(self) -> bool: ...
    @property
    def where(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    @property
    def engine_file(self) -> str | None: ...
    def retry(self) -> None: ...
    def start_engine(self) -> None: ...


class TemplatesCommands(Protocol):
    store: TemplateStore
    created: SignalInstance
    build_finished: SignalInstance
    removed_elsewhere: SignalInstance
    bulk_finished: SignalInstance
    builds_loaded: SignalInstance
    build_log_loaded: SignalInstance
    rebuilt: SignalInstance

    def create(self, draft: TemplateDraft) -> None: ...
    def delete(self, ids: Iterable[str]) -> None: ...
    def rebuild(self, template_id: str, draft: TemplateDraft | None = None) -> None: ...
    def load_builds(self, template_id: str) -> None: ...
    def load_build_log(self, template_id: str, build_id: str, log_from: int, log_to: int | None) -> None: ...


class SavedCommands(Protocol):
    loaded: SignalInstance
    bulk_finished: SignalInstance

    def delete(self, names: Iterable[str]) -> None: ...


class InstancesCommands(Protocol):
    loaded: SignalInstance
    task_started: SignalInstance
    task_finished: SignalInstance
    runs_changed: SignalInstance
    output_appended: SignalInstance   # (instance id, run number): a running task printed; throttled
    done: SignalInstance
    bulk_finished: SignalInstance

    def create(self, name: str, template_id: str) -> None: ...
    def clone(self, saved_name: str, instance_name: str) -> None: ...
    def run(self, instance_id: str, name: str, task: str) -> None: ...
    def snapshot(self, instance_id: str, name: str, saved_name: str) -> None: ...
    def delete(self, instances: Iterable[tuple[str, str]]) -> None: ...
    def runs(self, instance_id: str) -> list[TaskRun]: ...


class ErrorsView(Protocol):
    reported: SignalInstance


class LogsView(Protocol):
    reset: SignalInstance
    lines_added: SignalInstance
    unavailable: SignalInstance

    def follow(self, template_id: str | None, force: bool = False) -> None: ...
    def stop(self) -> None: ...


class ProfilesView(Protocol):
    def load(self) -> list[Profile]: ...


class KeysView(Protocol):
    persistent: bool
    problem: str | None


class LiveView(Protocol):
    def window_activated(self) -> None: ...


class WindowServices(Protocol):
    key_stored: SignalInstance

    # Read-only members: an implementation may hold a more specific type (the real Connection).
    @property
    def connection(self) -> ConnectionView: ...
    @property
    def templates(self) -> TemplatesCommands: ...
    @property
    def saved(self) -> SavedCommands: ...
    @property
    def instances(self) -> InstancesCommands: ...
    @property
    def errors(self) -> ErrorsView: ...
    @property
    def logs(self) -> LogsView: ...
    @property
    def profiles(self) -> ProfilesView: ...
    @property
    def keys(self) -> KeysView: ...
    @property
    def live(self) -> LiveView: ...
    @property
    def preflight(self) -> PreflightView: ...
    @property
    def logins(self) -> LoginsView: ...
    @property
    def drift(self) -> DriftView: ...

    def activate(self, profile: Profile, base_url_override: str | None = None, remember: bool = True) -> None: ...
    def refresh(self) -> None: ...
    def set_api_key(self, key: str, profile: Profile | None = None) -> None: ...
    def save_profiles(self, profiles: list[Profile]) -> None: ...
    def builds_in_flight(self) -> int: ...
    def keep_engine_running(self) -> None: ...

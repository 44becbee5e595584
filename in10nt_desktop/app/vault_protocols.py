"""What the wizard, the connections dialog and the templates page need from the "know before you
build" services: the image check, the registry logins and tag drift, as protocols (the window
tests' fake implements them in memory)."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import SignalInstance

from in10nt_desktop.app.docker_logins import DockerLogin
from in10nt_desktop.app.drafts import SecretSource
from in10nt_desktop.app.drift_service import DriftStore
from in10nt_desktop.app.preflight_service import AccessCheck
from in10nt_desktop.app.registry_vault import LoginSummary


class PreflightView(Protocol):
    available: bool | None
    availability_changed: SignalInstance  # bool
    checked: SignalInstance               # CheckOutcome

    def check(self, request: AccessCheck) -> int: ...
    def cancel(self) -> None: ...


class LoginsView(Protocol):
    listed: SignalInstance
    remembered: SignalInstance
    forgotten: SignalInstance
    failed: SignalInstance
    fetched: SignalInstance
    test_started: SignalInstance
    docker_found: SignalInstance
    imported: SignalInstance
    gcr_offered: SignalInstance
    gcloud_token_ready: SignalInstance
    summaries: dict[str, LoginSummary]

    @property
    def persistent(self) -> bool: ...
    @property
    def problem(self) -> str | None: ...
    def login_for(self, host: str) -> LoginSummary | None: ...
    def load(self) -> None: ...
    def remember(self, host: str, username: str, secret: SecretSource, image: str = "",
                 source: str = "typed") -> None: ...
    def forget(self, host: str) -> None: ...
    def fetch(self, host: str) -> None: ...
    def note_image(self, host: str, image: str) -> None: ...
    def test(self, host: str, image: str, registry_type: str) -> None: ...
    def find_docker_logins(self) -> None: ...
    def import_docker(self, logins: list[DockerLogin]) -> None: ...
    def find_gcr(self) -> None: ...
    def gcloud_token(self, gcloud: str) -> None: ...


class DriftView(Protocol):
    checked: SignalInstance
    check_failed: SignalInstance

    @property
    def store(self) -> DriftStore: ...
    def check_now(self, template_id: str) -> None: ...

"""Registry logins as the window sees them: list, remember, forget, test, and import from Docker.

The secrets live in the keychain (app/registry_vault.py); this service only moves them between
the keychain and the request that needs them, on its own tasks (keychain work must not be
cancelled by a reconnect). Docker's logins and gcloud's token are read in worker threads and
offered first: nothing is copied into the keychain until the user imports it. Worker threads get
closures, never arguments: qasync's executor logs the arguments of what it runs at DEBUG level.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app import docker_logins, gcr_sources
from in10nt_desktop.app.docker_logins import DockerLogin, DockerLoginError
from in10nt_desktop.app.drafts import SecretSource
from in10nt_desktop.app.gcr_sources import GcrSourceError
from in10nt_desktop.app.preflight_service import AccessCheck, PreflightService
from in10nt_desktop.app.registry_vault import LoginSummary, RegistryLogin, RegistryVault
from in10nt_desktop.app.tasks import TaskOwner

log = logging.getLogger(__name__)


class RegistryLoginsService(QObject):
    listed = Signal(list)                 # list[LoginSummary], after every change
    remembered = Signal(str, bool)        # host, persisted in the keychain (False: this session only)
    forgotten = Signal(str)               # host
    failed = Signal(str)                  # a sentence (a bound broken, a helper that failed)
    fetched = Signal(str, object)         # host, RegistryLogin | None: for a form that will send it
    test_started = Signal(str, int)       # host, the preflight request number its answer will carry
    docker_found = Signal(list, list)     # list[DockerLogin], list[str] problems
    imported = Signal(list, list)         # hosts imported, list[str] problems
    gcr_offered = Signal(object)          # GcrOffers
    gcloud_token_ready = Signal(object, str)  # SecretSource | None, the sentence when None

    def __init__(self, vault: RegistryVault, preflight: PreflightService | None = None,
                 environ: Mapping[str, str] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.vault = vault
        self.preflight = preflight
        self._environ = environ  # None: the process environment (tests pass a HOME, DOCKER_CONFIG, PATH)
        self.summaries: dict[str, LoginSummary] = {}
        self.tasks = TaskOwner(self._task_failed)

    def _task_failed(self, exc: BaseException, name: str) -> None:
        log.error("registry logins: %s failed", name, exc_info=exc)
        self.failed.emit(f"Something went wrong with the registry logins ({type(exc).__name__}).")

    @property
    def persistent(self) -> bool:
        return self.vault.persistent

    @property
    def problem(self) -> str | None:
        return self.vault.problem

    def login_for(self, host: str) -> LoginSummary | None:
        return self.summaries.get(host)

    # -- the vault --------------------------------------------------------------------------------
    def load(self) -> None:
        self.tasks.spawn(self._load(), name="load")

    async def _load(self) -> None:
        summaries = await self.vault.list()
        self.summaries = {s.host: s for s in summaries}
        self.listed.emit(summaries)

    def remember(self, host: str, username: str, secret: SecretSource, image: str = "", source: str = "typed") -> None:
        self.tasks.spawn(self._remember(host, username, secret, image, source))

    async def _remember(self, host: str, username: str, secret: SecretSource, image: str, source: str) -> None:
        try:
            persisted = await self.vault.remember(RegistryLogin(host, username, secret.resolve(self._environ), source),
                                                  image)
        except FieldError as exc:
            self.failed.emit(exc.message)
            return
        self.remembered.emit(host, persisted)
        await self._load()

    def forget(self, host: str) -> None:
        self.tasks.spawn(self._forget(host))

    async def _forget(self, host: str) -> None:
        await self.vault.forget(host)
        self.forgotten.emit(host)
        await self._load()

    def fetch(self, host: str) -> None:
        """Read one host's login for a form that will send it (``fetched``); never shown."""
        self.tasks.spawn(self._fetch(host), name=f"fetch {host}")

    async def _fetch(self, host: str) -> None:
        self.fetched.emit(host, await self.vault.get(host))

    def note_image(self, host: str, image: str) -> None:
        if host in self.summaries:
            self.tasks.spawn(self.vault.note_image(host, image))

    def test(self, host: str, image: str, registry_type: str) -> None:
        """Check ``image`` with the remembered login of ``host``; the answer comes as the preflight's ``checked``."""
        if self.preflight is None:
            return
        number = self.preflight.check(AccessCheck(image, registry_type, use_login=True))
        self.test_started.emit(host, number)

    # -- Docker's logins -----------------------------------------------------------------------------
    def find_docker_logins(self) -> None:
        self.tasks.spawn(self._find_docker(), name="docker")

    async def _find_docker(self) -> None:
        env = self._environ
        try:
            found, problems = await asyncio.to_thread(lambda: docker_logins.find(env))
        except DockerLoginError as exc:
            found, problems = [], [str(exc)]
        self.docker_found.emit(found, problems)

    def import_docker(self, logins: list[DockerLogin]) -> None:
        """Copy the chosen logins into the keychain, reading each secret now."""
        self.tasks.spawn(self._import(list(logins)), name="import")

    async def _import(self, logins: list[DockerLogin]) -> None:
        done: list[str] = []
        problems: list[str] = []
        env = self._environ
        for login in logins:
            try:
                def read(login: DockerLogin = login) -> tuple[str, str]:
                    return docker_logins.read(login, env)

                username, secret = await asyncio.to_thread(read)
                await self.vault.remember(RegistryLogin(login.host, username, secret, login.source))
            except (DockerLoginError, FieldError) as exc:
                problems.append(f"{login.host}: {exc}")
                continue
            done.append(login.host)
        await self._load()
        self.imported.emit(done, problems)

    # -- GCR ---------------------------------------------------------------------------------------------
    def find_gcr(self) -> None:
        self.tasks.spawn(self._find_gcr(), name="gcr")

    async def _find_gcr(self) -> None:
        env = self._environ
        self.gcr_offered.emit(await asyncio.to_thread(lambda: gcr_sources.offers(env)))

    def gcloud_token(self, gcloud: str) -> None:
        self.tasks.spawn(self._gcloud_token(gcloud), name="gcloud")

    async def _gcloud_token(self, gcloud: str) -> None:
        env = self._environ
        try:
            token = await asyncio.to_thread(lambda: gcr_sources.gcloud_token(gcloud, env))
        except GcrSourceError as exc:
            self.gcloud_token_ready.emit(None, str(exc))
            return
        self.gcloud_token_ready.emit(SecretSource("typed", token), "")

    async def close(self) -> None:
        await self.tasks.shutdown()


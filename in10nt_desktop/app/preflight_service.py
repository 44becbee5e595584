""""Test access": the wizard's question "will this build work?", asked of the server's image check.

Commands return at once; ``checked`` answers with one line to show in place. A new check replaces
the one running (a keystroke cancels the check of what was typed before), and each answer carries
the request number it answers, so a late answer can never be shown for newer input. Whether the
server has the check at all is discovered once per connection (``available``): against a server
without it the wizard hides the button instead of inventing an answer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from in10nt_desktop.api import In10ntError
from in10nt_desktop.api.validation import FieldError
from in10nt_desktop.app.connection import Connection
from in10nt_desktop.app.drafts import SecretSource
from in10nt_desktop.app.registry_vault import RegistryVault, login_host
from in10nt_desktop.text_formats import human_size

if TYPE_CHECKING:  # the SDK's client and models load after the window's first paint
    from in10nt_desktop.api import In10ntClient, RegistryAuth, RegistryCheck

log = logging.getLogger(__name__)
TASK = "access-check"


@dataclass(frozen=True)
class AccessCheck:
    """What to check: the image, and which credentials (typed, from a variable, or the remembered login)."""

    image: str
    registry_type: str
    username: str | None = None
    secret: SecretSource | None = None
    use_login: bool = False       # the login remembered for the image's host, read from the keychain


@dataclass(frozen=True)
class CheckOutcome:
    request: int
    ok: bool
    text: str                     # the line shown in place: "✓ python:3.11-slim · linux/amd64 · 49 MB compressed"
    field: str | None = None      # what to fix: image | registryAuth | registryAuth.password | None
    code: str = ""
    result: RegistryCheck | None = None
    login_user: str | None = None  # the remembered login the check used

    @property
    def credentials_problem(self) -> bool:
        return self.field is not None and self.field.startswith("registryAuth")


def outcome_text(image: str, result: RegistryCheck, login_user: str | None = None) -> str:
    if result.ok:
        platforms = ", ".join(result.platforms) or result.platform or "platform unknown"
        who = f" · signed in as {login_user}" if login_user else ""
        return f"✓ {image} · {platforms} · {human_size(result.size_bytes) or 'size unknown'} compressed{who}"
    if result.error is not None and result.error.message:
        return result.error.message
    return "The registry check failed without a reason."


DISCOVERY = "access-check-discovery"


class PreflightService(QObject):
    availability_changed = Signal(bool)   # the server has (True) or lacks (False) the image check
    checked = Signal(object)              # CheckOutcome

    def __init__(self, connection: Connection, vault: RegistryVault, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._c = connection
        self._vault = vault
        self.available: bool | None = None
        self._request = 0
        connection.connected.connect(self._on_connected)

    # -- discovery ----------------------------------------------------------------------------------
    def _on_connected(self, _client: In10ntClient) -> None:
        self.available = None  # asked by ``discover`` once the list is on screen: the check's
                               # SDK module brings pydantic (~50 ms), not worth delaying the list for

    def discover(self) -> None:
        """Ask the server whether it checks images (once per connection; again after a failed ask)."""
        if self.available is None and self._c.online and not self._c.tasks.running(DISCOVERY):
            self._c.spawn(self._discover(), name=DISCOVERY)

    async def _discover(self) -> None:
        try:
            available = await self._c.call(lambda c: c.registry.available())
        except In10ntError as exc:
            log.info("could not tell whether the server checks images: %s", exc)
            return  # unknown: asked again on the next connect
        self.available = available
        self.availability_changed.emit(available)

    # -- commands -----------------------------------------------------------------------------------
    def check(self, request: AccessCheck) -> int:
        """Start a check (the running one is cancelled); ``checked`` answers with the number returned."""
        self._request += 1
        number = self._request
        self._c.spawn(self._check(number, request), name=TASK)
        return number

    def cancel(self) -> None:
        self._c.tasks.cancel(TASK)

    async def auth_for(self, request: AccessCheck) -> tuple[RegistryAuth | None, str | None]:
        """The credentials to send, read now; ``FieldError`` when a variable is unset."""
        from in10nt_desktop.api import RegistryAuth

        if request.use_login:
            login = await self._vault.get(login_host(request.image))
            if login is None:
                return None, None
            return RegistryAuth.model_validate({"username": login.username, "password": login.secret}), \
                login.username
        if request.username and request.secret is not None:
            return RegistryAuth.model_validate({"username": request.username,
                                                "password": request.secret.resolve()}), None
        return None, None

    async def _check(self, number: int, request: AccessCheck) -> None:
        try:
            auth, login_user = await self.auth_for(request)
        except FieldError as exc:
            self.checked.emit(CheckOutcome(number, False, exc.message, exc.field, "invalid"))
            return
        try:
            result = await self._c.call(lambda c: c.registry.check(request.image, registry_type=request.registry_type,
                                                                   registry_auth=auth))
        except In10ntError as exc:
            field = getattr(exc, "field", None)
            self.checked.emit(CheckOutcome(number, False, f"Could not check: {exc}", field, exc.code or "error"))
            return
        problem = result.error
        self.checked.emit(CheckOutcome(number, result.ok, outcome_text(request.image, result, login_user),
                                       problem.field if problem else None, problem.code if problem else "",
                                       result, login_user))

"""API keys in the OS keychain (``keyring``), never in QSettings, a file or a log.

Keyring calls can block for minutes (a locked keychain prompting the user), so each runs in a
worker thread with a timeout. ``keyring`` itself is imported in that thread too: finding its
backends costs ~0.2 s, which a start on the local engine (no key needed) should not pay.
Where no backend works (a bare Linux box has none), keys are kept for this session only and
``persistent`` says so, so the dialog can tell the user.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)
# qasync's executor logs what every worker thread is given and returns, at DEBUG level: with
# IN10NT_LOG=debug that would put keychain secrets in the log. Its debug lines say nothing else of use.
logging.getLogger("qasync").setLevel(logging.INFO)
SERVICE = "in10nt-desktop"
TIMEOUT = 5.0


class KeychainUnavailable(Exception):
    """No usable backend, or the backend failed; the original error is the cause."""


def _call(operation: str, *args: str) -> Any:
    """Runs in a worker thread."""
    import keyring
    import keyring.errors

    try:
        if operation == "get":
            return keyring.get_password(*args)
        if operation == "set":
            return keyring.set_password(*args)
        try:
            return keyring.delete_password(*args)
        except keyring.errors.PasswordDeleteError:
            return None  # nothing stored: already the wanted state
    except keyring.errors.KeyringError as exc:
        raise KeychainUnavailable(type(exc).__name__) from exc


class KeyStore:
    def __init__(self, service: str = SERVICE, timeout: float = TIMEOUT) -> None:
        self._service = service
        self._timeout = timeout
        self._session: dict[str, str] = {}
        self.persistent = True
        self.problem: str | None = None

    def __repr__(self) -> str:
        return f"KeyStore(service={self._service!r}, persistent={self.persistent}, keys=<{len(self._session)} hidden>)"

    async def _run(self, operation: str, *args: str) -> Any:
        # A closure, not arguments: qasync's executor logs the arguments of what it runs (at DEBUG level).
        service = self._service
        return await asyncio.wait_for(asyncio.to_thread(lambda: _call(operation, service, *args)), self._timeout)

    def _unavailable(self, exc: BaseException) -> None:
        if self.persistent:
            log.warning("keychain unavailable (%s); API keys are kept for this session only", exc)
        self.persistent = False
        if isinstance(exc, TimeoutError):
            self.problem = "The system keychain did not answer in time; the key is kept for this session only."
        else:
            self.problem = "No system keychain is available; the key is kept for this session only."

    async def get(self, profile: str) -> str | None:
        if self.persistent:
            try:
                value = await self._run("get", profile)
                if value is not None:
                    return str(value)
            except (KeychainUnavailable, TimeoutError, RuntimeError) as exc:
                self._unavailable(exc)
        return self._session.get(profile)

    async def get_migrating(self, account: str, legacy: str) -> str | None:
        """The key under ``account``; one still stored under an older account name is moved there."""
        value = await self.get(account)
        if value is None and legacy != account:
            value = await self.get(legacy)
            if value is not None:
                await self.set(account, value)
                await self.delete(legacy)
        return value

    async def set(self, profile: str, secret: str) -> bool:
        """Store ``secret``; True when it reached the keychain, False when kept for the session only."""
        self._session[profile] = secret
        if not self.persistent:
            return False
        try:
            await self._run("set", profile, secret)
        except (KeychainUnavailable, TimeoutError, RuntimeError) as exc:
            self._unavailable(exc)
            return False
        # The keychain has it; no need to hold a second copy in memory.
        self._session.pop(profile, None)
        return True

    async def delete(self, profile: str) -> None:
        self._session.pop(profile, None)
        if not self.persistent:
            return
        try:
            await self._run("delete", profile)
        except (KeychainUnavailable, TimeoutError, RuntimeError) as exc:
            self._unavailable(exc)

"""Registry logins the user chose to remember, one per registry host, in the OS keychain.

Kept apart from API keys: another keychain service name (``in10nt-desktop-registries``), so
listing or wiping one never touches the other. Each host's login is one keychain entry (username
and secret together, so they cannot drift apart); a second entry, the index, lists the hosts and
usernames so the app can show them without reading a single secret. Nothing here touches
QSettings or a file. Every keychain call runs off the GUI thread with a timeout (``KeyStore``);
with no usable keychain, logins are kept for this session only and ``persistent`` says so.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from in10nt_desktop.api.validation import DOCKER_HUB_HOSTS, FieldError, ImageRef, parse_image
from in10nt_desktop.app.keychain import KeyStore

SERVICE = "in10nt-desktop-registries"
INDEX_ACCOUNT = "index"
MAX_LOGINS = 100            # hosts remembered at most; the 101st is refused with a sentence
MAX_USERNAME = 256
MAX_SECRET = 64 * 1024      # a GCR service-account key is ~2.3 kB
MAX_HOST = 255


def login_host(image_or_ref: str | ImageRef) -> str:
    """The key a login is kept under: the image's registry as people name it, lowercase.

    Docker Hub's several names are one host (``docker.io``); a port is part of the host.
    """
    ref = parse_image(image_or_ref) if isinstance(image_or_ref, str) else image_or_ref
    host = ref.registry.lower()
    return "docker.io" if host in DOCKER_HUB_HOSTS else host


def _account(host: str) -> str:
    return f"login:{host}"


@dataclass(frozen=True)
class LoginSummary:
    """What may be shown of a remembered login: never the secret."""

    host: str
    username: str
    source: str = "typed"          # typed | docker config | docker-credential-<helper> | gcloud | key file
    saved_at: str = ""
    last_image: str = ""           # the image last used with it: what "Test" checks


@dataclass(frozen=True)
class RegistryLogin:
    host: str
    username: str
    secret: str = field(repr=False)
    source: str = "typed"

    def summary(self, last_image: str = "") -> LoginSummary:
        return LoginSummary(self.host, self.username, self.source, datetime.now(UTC).isoformat(timespec="seconds"),
                            last_image)


def check_login(host: str, username: str, secret: str) -> None:
    """Every input is bounded: a sentence for the first one that is not."""
    if not host or len(host) > MAX_HOST or any(c.isspace() or c == "/" for c in host):
        raise FieldError("host", "That is not a registry host (for example registry.example.com:5000).")
    if not username.strip() or len(username) > MAX_USERNAME:
        raise FieldError("registryAuth.username", f"The username must be 1 to {MAX_USERNAME} characters.")
    if not secret or len(secret.encode()) > MAX_SECRET:
        raise FieldError("registryAuth.password", f"The password must be 1 byte to {MAX_SECRET // 1024} KiB.")


class RegistryVault:
    """Async, Qt-free: the service (app/registry_logins.py) calls it from tasks on the qasync loop."""

    def __init__(self, keys: KeyStore | None = None) -> None:
        self._keys = keys or KeyStore(SERVICE)
        self._lock = asyncio.Lock()  # the index is read, changed and written back: one writer at a time

    def __repr__(self) -> str:
        return f"RegistryVault(persistent={self.persistent})"

    @property
    def persistent(self) -> bool:
        return self._keys.persistent

    @property
    def problem(self) -> str | None:
        problem = self._keys.problem
        return problem.replace("the key is", "logins are") if problem else None

    async def _index(self) -> dict[str, LoginSummary]:
        raw = await self._keys.get(INDEX_ACCOUNT)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {}
        out: dict[str, LoginSummary] = {}
        if isinstance(data, dict):
            for host, item in list(data.items())[:MAX_LOGINS]:
                if isinstance(item, dict) and isinstance(item.get("username"), str):
                    out[host] = LoginSummary(host, item["username"], str(item.get("source", "typed")),
                                             str(item.get("savedAt", "")), str(item.get("lastImage", "")))
        return out

    async def _write_index(self, index: dict[str, LoginSummary]) -> bool:
        data = {s.host: {"username": s.username, "source": s.source, "savedAt": s.saved_at,
                         "lastImage": s.last_image} for s in index.values()}
        return await self._keys.set(INDEX_ACCOUNT, json.dumps(data, separators=(",", ":")))

    async def list(self) -> list[LoginSummary]:
        return sorted((await self._index()).values(), key=lambda s: s.host)

    async def get(self, host: str) -> RegistryLogin | None:
        raw = await self._keys.get(_account(host))
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return RegistryLogin(host, str(data["username"]), str(data["secret"]), str(data.get("source", "typed")))
        except (ValueError, KeyError, TypeError):
            return None  # not ours, or damaged: as if nothing were remembered

    async def remember(self, login: RegistryLogin, last_image: str = "") -> bool:
        """Keep ``login`` for its host (replacing the one before); True when it reached the keychain."""
        check_login(login.host, login.username, login.secret)
        async with self._lock:
            index = await self._index()
            if login.host not in index and len(index) >= MAX_LOGINS:
                raise FieldError("host", f"At most {MAX_LOGINS} registry logins are remembered; forget one first.")
            entry = json.dumps({"username": login.username, "secret": login.secret, "source": login.source})
            stored = await self._keys.set(_account(login.host), entry)
            index[login.host] = login.summary(last_image or index.get(login.host, LoginSummary("", "")).last_image)
            return await self._write_index(index) and stored

    async def note_image(self, host: str, image: str) -> None:
        """Remember which image a login was last used with (what "Test" on the logins page checks)."""
        async with self._lock:
            index = await self._index()
            summary = index.get(host)
            if summary is not None and summary.last_image != image:
                index[host] = LoginSummary(host, summary.username, summary.source, summary.saved_at, image)
                await self._write_index(index)

    async def forget(self, host: str) -> None:
        async with self._lock:
            await self._keys.delete(_account(host))
            index = await self._index()
            if index.pop(host, None) is not None:
                await self._write_index(index)

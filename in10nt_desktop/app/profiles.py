"""Connection profiles: "This computer" (the local engine), "In10nt Cloud", and custom URLs.

Profiles (id, name, kind, URL) live in QSettings; their API keys never do (see ``keychain``).
A key is stored under the profile's stable id *and* its URL's origin, so renaming a profile
keeps its key while pointing it at another server never sends the old key there.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import Literal
from urllib.parse import urlsplit

from PySide6.QtCore import QSettings

from in10nt_desktop.api import HOSTED_BASE_URL

Kind = Literal["local", "cloud", "custom"]
LOCAL_NAME = "This computer"
CLOUD_NAME = "In10nt Cloud"


def origin(url: str) -> str:
    """``scheme://host[:port]`` in lower case: what a key is bound to."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def new_profile_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Profile:
    name: str
    kind: Kind
    base_url: str = ""
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:  # profiles saved before ids existed: derive one from the name, stable across starts
            object.__setattr__(self, "id", {"local": "local", "cloud": "cloud"}.get(self.kind) if
                               self.name in (LOCAL_NAME, CLOUD_NAME) else uuid.uuid5(uuid.NAMESPACE_URL,
                                                                                     self.name).hex[:12])

    def key_account(self, base_url_override: str | None = None) -> str:
        """The keychain entry of this profile's API key (no secret in it)."""
        return f"{self.id} {origin(base_url_override or self.base_url)}"

    @property
    def needs_api_key(self) -> bool:
        return self.kind != "local"

    @property
    def label(self) -> str:
        if self.kind == "local":
            return f"{self.name} (local engine)"
        return f"{self.name} ({self.base_url})"


DEFAULT_PROFILES = (Profile(LOCAL_NAME, "local"), Profile(CLOUD_NAME, "cloud", HOSTED_BASE_URL))


class ProfileStore:
    """Reads and writes profiles in QSettings; the two defaults always exist."""

    def __init__(self, settings: QSettings) -> None:
        self._settings = settings

    def load(self) -> list[Profile]:
        raw = self._settings.value("connection/profiles", "")
        profiles: list[Profile] = []
        try:
            for item in json.loads(str(raw)) if raw else []:
                if item.get("kind") in ("local", "cloud", "custom") and item.get("name"):
                    profiles.append(Profile(str(item["name"]), item["kind"], str(item.get("base_url", "")),
                                            str(item.get("id", ""))))
        except (ValueError, AttributeError, TypeError):
            profiles = []
        names = {p.name for p in profiles}
        for default in reversed(DEFAULT_PROFILES):
            if default.name not in names:
                profiles.insert(0, default)
        return profiles

    def save(self, profiles: list[Profile]) -> list[str]:
        """Save ``profiles``; returns the key accounts that no profile uses any more (a profile was
        removed, or its URL now points at another origin): the caller deletes those keys."""
        before = {p.key_account() for p in self.load() if p.needs_api_key}
        self._settings.setValue("connection/profiles", json.dumps([asdict(p) for p in profiles]))
        after = {p.key_account() for p in profiles if p.needs_api_key}
        return sorted(before - after)

    def active_name(self) -> str:
        return str(self._settings.value("connection/active", LOCAL_NAME))

    def set_active(self, name: str) -> None:
        self._settings.setValue("connection/active", name)

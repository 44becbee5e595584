"""Connection profiles: "This computer" (the local engine), "In10nt Cloud", and custom URLs.

Profiles (name, kind, URL) live in QSettings; their API keys never do (see ``keychain``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

from PySide6.QtCore import QSettings

from in10nt_desktop.api import HOSTED_BASE_URL

Kind = Literal["local", "cloud", "custom"]
LOCAL_NAME = "This computer"
CLOUD_NAME = "In10nt Cloud"


@dataclass(frozen=True)
class Profile:
    name: str
    kind: Kind
    base_url: str = ""

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
                    profiles.append(Profile(str(item["name"]), item["kind"], str(item.get("base_url", ""))))
        except (ValueError, AttributeError, TypeError):
            profiles = []
        names = {p.name for p in profiles}
        for default in reversed(DEFAULT_PROFILES):
            if default.name not in names:
                profiles.insert(0, default)
        return profiles

    def save(self, profiles: list[Profile]) -> None:
        self._settings.setValue("connection/profiles", json.dumps([asdict(p) for p in profiles]))

    def active_name(self) -> str:
        return str(self._settings.value("connection/active", LOCAL_NAME))

    def set_active(self, name: str) -> None:
        self._settings.setValue("connection/active", name)

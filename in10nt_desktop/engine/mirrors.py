"""Where a registry is reached: its own endpoint, or a mirror configured like Docker's.

``--registry-mirror docker.io=http://127.0.0.1:5000`` (repeatable, or ``IN10NT_REGISTRY_MIRRORS``
as a comma-separated list) replaces the endpoint of that registry for every registry type.
Unlike Docker, a mirror is not followed by a fall back to the origin: a mirror's own error
(wrong password, missing tag) is the truth the user needs, not an "unreachable" from the
origin behind it. Plain HTTP is allowed for loopback registries only.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from in10nt_desktop.api.validation import DOCKER_HUB_HOSTS
from in10nt_desktop.engine.hosts import is_loopback_host

DOCKER_HUB_ENDPOINT = "https://registry-1.docker.io"


class MirrorConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Endpoint:
    """Base URL of a registry's ``/v2/`` API and the name to show people."""

    base_url: str
    registry: str  # the registry the user named, e.g. docker.io
    via_mirror: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def display(self) -> str:
        name = "Docker Hub" if self.registry in DOCKER_HUB_HOSTS else self.registry
        return f"{name} (mirror {self.host})" if self.via_mirror else name


def parse_mirrors(specs: list[str]) -> dict[str, str]:
    """``["docker.io=http://127.0.0.1:5000", ...]`` → ``{"docker.io": "http://127.0.0.1:5000"}``."""
    out: dict[str, str] = {}
    for spec in specs:
        spec = spec.strip()
        if not spec:
            continue
        registry, sep, url = spec.partition("=")
        if not sep or not registry or not url:
            raise MirrorConfigError(f"'{spec}' is not REGISTRY=URL (for example docker.io=http://127.0.0.1:5000).")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise MirrorConfigError(f"Mirror URL '{url}' must start with http:// or https://.")
        if "@" in parts.netloc:
            raise MirrorConfigError(f"Mirror URL '{url}' must not carry a user name or password.")
        if parts.query or parts.fragment or "?" in url or "#" in url:
            # Request paths are appended to the URL: a query or fragment would swallow them.
            raise MirrorConfigError(f"Mirror URL '{url}' must not carry a ?query or #fragment: give the "
                                    "registry's base URL, for example http://127.0.0.1:5000.")
        if parts.scheme == "http" and not is_loopback_host(parts.netloc):
            raise MirrorConfigError(f"Mirror {url} uses plain HTTP; that is allowed for loopback registries only.")
        key = "docker.io" if registry in DOCKER_HUB_HOSTS else registry
        out[key] = url.rstrip("/")
    return out


def endpoint_for(registry: str, mirrors: dict[str, str]) -> Endpoint:
    key = "docker.io" if registry in DOCKER_HUB_HOSTS else registry
    if key in mirrors:
        return Endpoint(mirrors[key], registry, via_mirror=True)
    if key == "docker.io":
        return Endpoint(DOCKER_HUB_ENDPOINT, registry)
    scheme = "http" if is_loopback_host(registry) else "https"
    return Endpoint(f"{scheme}://{registry}", registry)

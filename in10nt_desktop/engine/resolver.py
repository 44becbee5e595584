"""Resolve an image reference to a pinned digest, its platform, size and layers (step 1 of a build)."""

from __future__ import annotations

import json
import platform as _platform
from dataclasses import dataclass
from typing import Any

import httpx

from in10nt_desktop.api.validation import Credentials, ImageRef
from in10nt_desktop.engine.mirrors import Endpoint, endpoint_for
from in10nt_desktop.engine.registry import INDEX_TYPES, Fetched, RegistryError, RegistrySession

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
         "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def host_platform() -> str:
    """Containers run Linux even on macOS and Windows hosts (inside the engine's VM)."""
    machine = _platform.machine().lower()
    arch = _ARCH.get(machine, machine)
    return "linux/arm/v7" if machine == "armv7l" else f"linux/{arch}"


@dataclass(frozen=True)
class Resolved:
    digest: str            # what the tag points to (an index or a manifest): the pull pins this
    platform: str          # the chosen manifest's, from its config: the pull asks for this one
    size_bytes: int
    layers: int
    endpoint: Endpoint
    repository: str
    layer_sizes: dict[str, int]


def _json_object(fetched: Fetched, what: str, where: str) -> dict[str, Any]:
    """Parse a manifest or config once; a proxy's HTML page or a captive portal is a sentence, not a crash."""
    try:
        data = json.loads(fetched.body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        got = fetched.content_type or "no content type"
        raise RegistryError(f"{where} did not answer with {what} (got {got}).", "protocol")
    return data


def _platform_of(entry: dict[str, Any]) -> str:
    p = entry.get("platform") or {}
    text = f"{p.get('os', '?')}/{p.get('architecture', '?')}"
    return f"{text}/{p['variant']}" if p.get("variant") else text


def choose_platform(index: dict[str, Any], wanted: str) -> dict[str, Any]:
    """Pick the manifest for ``wanted`` (``os/arch[/variant]``) from an index or manifest list."""
    entries = [m for m in index.get("manifests", []) if isinstance(m, dict)]
    # Attestation manifests (buildx) are listed as unknown/unknown; never pick them.
    images = [m for m in entries if (m.get("platform") or {}).get("os") not in (None, "unknown")]
    want_os, want_arch, *rest = wanted.split("/")
    want_variant = rest[0] if rest else None
    exact = [m for m in images if (m.get("platform") or {}).get("os") == want_os
             and (m.get("platform") or {}).get("architecture") == want_arch]
    if want_variant:
        # No fall-back to another variant: an arm/v7 image does not run on an arm/v6 machine.
        exact = [m for m in exact if (m.get("platform") or {}).get("variant") == want_variant]
    elif want_arch == "arm64":
        v8 = [m for m in exact if (m.get("platform") or {}).get("variant") in (None, "v8")]
        exact = v8 or exact
    if exact:
        return exact[0]
    offered = ", ".join(sorted({_platform_of(m) for m in images})) or "none"
    raise RegistryError(f"The image has no {wanted} variant (it offers: {offered}).", "not_found")


async def resolve(client: httpx.AsyncClient, ref: ImageRef, auth: Credentials | None, *,
                  mirrors: dict[str, str], platform: str | None = None,
                  log: Any = None) -> Resolved:
    """Ask the registry what ``ref`` is, with its real auth flow; raise ``RegistryError`` with a sentence."""
    say = log or (lambda _line: None)
    endpoint = endpoint_for(ref.registry, mirrors)
    session = RegistrySession(client, endpoint, ref.repository, auth)
    wanted = platform or host_platform()
    say(f"Resolving {ref.repository}:{ref.reference} on {endpoint.display} ({endpoint.base_url})")
    top = await session.manifest(ref.reference)
    if session.token_requests:
        say(f"Authenticated with a token from {endpoint.display}'s token service")
    data = _json_object(top, "an image manifest", endpoint.display)
    if top.media_type in INDEX_TYPES or "manifests" in data:
        count = len(data.get("manifests", []))
        entry = choose_platform(data, wanted)
        say(f"Image index lists {count} manifests; picked {_platform_of(entry)} ({entry['digest'][:19]}…)")
        data = _json_object(await session.manifest(entry["digest"]), "an image manifest", endpoint.display)
    if data.get("schemaVersion") == 1:
        raise RegistryError("The image uses the retired Docker schema 1 manifest format; push it again "
                            "with a current Docker or Podman.", "protocol")
    config_desc = data.get("config") or {}
    layers = [layer for layer in data.get("layers", []) if isinstance(layer, dict)]
    if not config_desc.get("digest"):
        raise RegistryError(f"{endpoint.display} sent a manifest without a config.", "protocol")
    config = _json_object(await session.blob(config_desc["digest"]), "an image config", endpoint.display)
    os_name, arch = config.get("os", "linux"), config.get("architecture", "unknown")
    found = f"{os_name}/{arch}" + (f"/{config['variant']}" if config.get("variant") else "")
    if found.split("/")[:2] != wanted.split("/")[:2]:
        say(f"Warning: the image is built for {found}, this computer runs {wanted}")
    size = sum(int(layer.get("size", 0)) for layer in layers)
    say(f"Resolved to {top.digest}: {found}, {len(layers)} layer{'' if len(layers) == 1 else 's'}, {size} bytes")
    return Resolved(digest=top.digest, platform=found, size_bytes=size, layers=len(layers), endpoint=endpoint,
                    repository=ref.repository,
                    layer_sizes={str(layer.get('digest')): int(layer.get('size', 0)) for layer in layers})

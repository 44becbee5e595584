"""Resolve an image reference to a pinned digest, its platform, size and layers (step 1 of a build).

What a registry sends is checked before it is used: descriptors need a well-formed digest and a
size, an index lists at most ``MAX_INDEX_ENTRIES`` manifests and a manifest at most ``MAX_LAYERS``
layers, so a hostile answer ends the build with a sentence rather than an engine error.
"""

from __future__ import annotations

import platform as _platform
import re
from dataclasses import dataclass
from typing import Any

import httpx

from in10nt_desktop.api.validation import Credentials, ImageRef
from in10nt_desktop.engine.limits import MAX_JSON_DEPTH
from in10nt_desktop.engine.mirrors import Endpoint, endpoint_for
from in10nt_desktop.engine.registry import (
    INDEX_TYPES,
    Fetched,
    RegistryError,
    RegistrySession,
    TooDeep,
    parse_json,
)

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "armv7l": "arm",
         "i686": "386", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}
# Docker and Podman stop at 128 stacked layers or fewer; 1,000 leaves room for any image they can run.
MAX_LAYERS = 1_000
MAX_INDEX_ENTRIES = 1_000  # real indexes list a few dozen platforms and attestations
# OCI image-spec digest grammar (algorithm:encoded); it also keeps "../" out of the blob URL.
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


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
    platforms: tuple[str, ...] = ()  # every platform the tag offers (an index lists several)


def _json_object(fetched: Fetched, what: str, where: str) -> dict[str, Any]:
    """Parse a manifest or config once; a proxy's HTML page or a captive portal is a sentence, not a crash."""
    try:
        data = parse_json(fetched.body)
    except TooDeep:
        nested = "an image config" if "config" in what else "a manifest or index"
        raise RegistryError(f"{where} sent {nested} nested deeper than {MAX_JSON_DEPTH} levels; refused.",
                            "protocol") from None
    except ValueError:
        data = None
    if not isinstance(data, dict):
        got = fetched.content_type or "no content type"
        raise RegistryError(f"{where} did not answer with {what} (got {got}).", "protocol")
    return data


def descriptor(value: Any, what: str, where: str) -> dict[str, Any]:
    """A content descriptor (``{digest, size, …}``) as the OCI image spec defines it, or a sentence."""
    if not isinstance(value, dict) or not isinstance(value.get("digest"), str) \
            or not _DIGEST_RE.match(value["digest"]) or len(value["digest"]) > 200:
        raise RegistryError(f"{where} sent a manifest whose {what} has no valid digest.", "protocol")
    size = value.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise RegistryError(f"{where} sent a manifest whose {what} has no valid size.", "protocol")
    return value


def _platform_dict(entry: dict[str, Any]) -> dict[str, Any]:
    p = entry.get("platform")
    return p if isinstance(p, dict) else {}


def _platform_of(entry: dict[str, Any]) -> str:
    p = _platform_dict(entry)
    text = f"{p.get('os', '?')}/{p.get('architecture', '?')}"
    return f"{text}/{p['variant']}" if p.get("variant") else text


def choose_platform(index: dict[str, Any], wanted: str) -> dict[str, Any]:
    """Pick the manifest for ``wanted`` (``os/arch[/variant]``) from an index or manifest list."""
    listed = index.get("manifests", [])
    entries = [m for m in listed if isinstance(m, dict)] if isinstance(listed, list) else []
    # Attestation manifests (buildx) are listed as unknown/unknown; never pick them.
    images = [m for m in entries if _platform_dict(m).get("os") not in (None, "unknown")]
    want_os, want_arch, *rest = wanted.split("/")
    want_variant = rest[0] if rest else None
    exact = [m for m in images if _platform_dict(m).get("os") == want_os
             and _platform_dict(m).get("architecture") == want_arch]
    if want_variant:
        # No fall-back to another variant: an arm/v7 image does not run on an arm/v6 machine.
        exact = [m for m in exact if _platform_dict(m).get("variant") == want_variant]
    elif want_arch == "arm64":
        v8 = [m for m in exact if _platform_dict(m).get("variant") in (None, "v8")]
        exact = v8 or exact
    if exact:
        return exact[0]
    offered = ", ".join(sorted({_platform_of(m) for m in images})) or "none"
    raise RegistryError(f"The image has no {wanted} variant (it offers: {offered}).", "not_found", "NO_PLATFORM")


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
    offered = listed_platforms(data)
    if top.media_type in INDEX_TYPES or "manifests" in data:
        listed = data.get("manifests")
        if not isinstance(listed, list):
            raise RegistryError(f"{endpoint.display} sent an image index without a list of manifests.", "protocol")
        count = len(listed)
        if count > MAX_INDEX_ENTRIES:
            raise RegistryError(f"{endpoint.display} sent an image index of {count:,} manifests; the engine "
                                f"accepts at most {MAX_INDEX_ENTRIES:,}.", "protocol")
        entry = descriptor(choose_platform(data, wanted), "chosen platform", endpoint.display)
        say(f"Image index lists {count} manifests; picked {_platform_of(entry)} ({entry['digest'][:19]}…)")
        data = _json_object(await session.manifest(entry["digest"]), "an image manifest", endpoint.display)
    if data.get("schemaVersion") == 1:
        raise RegistryError("The image uses the retired Docker schema 1 manifest format; push it again "
                            "with a current Docker or Podman.", "protocol")
    config_desc = data.get("config")
    if not isinstance(config_desc, dict) or not config_desc.get("digest"):
        raise RegistryError(f"{endpoint.display} sent a manifest without a config.", "protocol")
    descriptor(config_desc, "config", endpoint.display)
    listed_layers = data.get("layers", [])
    if not isinstance(listed_layers, list):
        raise RegistryError(f"{endpoint.display} sent a manifest whose layers are not a list.", "protocol")
    if len(listed_layers) > MAX_LAYERS:
        raise RegistryError(f"{endpoint.display} sent a manifest of {len(listed_layers):,} layers; the engine "
                            f"accepts at most {MAX_LAYERS:,}.", "protocol")
    layers = [descriptor(layer, f"layer {n + 1}", endpoint.display) for n, layer in enumerate(listed_layers)]
    config = _json_object(await session.blob(config_desc["digest"]), "an image config", endpoint.display)
    os_name, arch = config.get("os", "linux"), config.get("architecture", "unknown")
    found = f"{os_name}/{arch}" + (f"/{config['variant']}" if config.get("variant") else "")
    if found.split("/")[:2] != wanted.split("/")[:2]:
        say(f"Warning: the image is built for {found}, this computer runs {wanted}")
    size = sum(int(layer.get("size", 0)) for layer in layers)
    say(f"Resolved to {top.digest}: {found}, {len(layers)} layer{'' if len(layers) == 1 else 's'}, {size} bytes")
    return Resolved(digest=top.digest, platform=found, size_bytes=size, layers=len(layers), endpoint=endpoint,
                    repository=ref.repository,
                    layer_sizes={str(layer.get('digest')): int(layer.get('size', 0)) for layer in layers},
                    platforms=offered or (found,))


def listed_platforms(index: dict[str, Any]) -> tuple[str, ...]:
    """The platforms an index offers, attestations left out; empty for a single manifest."""
    listed = index.get("manifests")
    if not isinstance(listed, list):
        return ()
    names = (_platform_of(m) for m in listed if isinstance(m, dict) and isinstance(m.get("platform"), dict)
             and m["platform"].get("os") not in (None, "unknown"))
    return tuple(dict.fromkeys(names))

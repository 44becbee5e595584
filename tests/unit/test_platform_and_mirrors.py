"""Picking a platform from an image index, and where each registry is reached (mirrors, loopback http)."""

from __future__ import annotations

from typing import Any

import pytest

from in10nt_desktop.engine import resolver
from in10nt_desktop.engine.hosts import is_loopback_host
from in10nt_desktop.engine.mirrors import (
    DOCKER_HUB_ENDPOINT,
    Endpoint,
    MirrorConfigError,
    endpoint_for,
    parse_mirrors,
)
from in10nt_desktop.engine.registry import RegistryError
from in10nt_desktop.engine.resolver import choose_platform, host_platform


def entry(os_name: str | None, arch: str | None, variant: str | None = None, n: int = 0) -> dict[str, Any]:
    platform: dict[str, str] = {}
    if os_name is not None:
        platform["os"] = os_name
    if arch is not None:
        platform["architecture"] = arch
    if variant is not None:
        platform["variant"] = variant
    label = f"{os_name}-{arch}-{variant}-{n}"
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": f"sha256:{label}",
            "size": 100, "platform": platform}


def index(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": list(entries)}


ATTESTATION = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:att",
               "platform": {"os": "unknown", "architecture": "unknown"},
               "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}


# -- choose_platform ----------------------------------------------------------------------------

def test_picks_amd64_when_arm64_is_listed_first() -> None:
    idx = index(entry("linux", "arm64", "v8"), entry("linux", "amd64"), entry("linux", "arm", "v7"))
    assert choose_platform(idx, "linux/amd64")["digest"] == "sha256:linux-amd64-None-0"


def test_skips_attestation_entries() -> None:
    idx = index(ATTESTATION, entry("linux", "amd64"), dict(ATTESTATION, digest="sha256:att2"))
    assert choose_platform(idx, "linux/amd64")["digest"] == "sha256:linux-amd64-None-0"
    with pytest.raises(RegistryError) as info:
        choose_platform(idx, "unknown/unknown")
    assert str(info.value) == "The image has no unknown/unknown variant (it offers: linux/amd64)."


def test_skips_entries_without_platform_and_non_dicts() -> None:
    idx = index({"digest": "sha256:noplatform"}, "junk", entry("linux", "amd64"))  # type: ignore[arg-type]
    assert choose_platform(idx, "linux/amd64")["digest"] == "sha256:linux-amd64-None-0"


def test_arm64_prefers_v8_or_no_variant() -> None:
    idx = index(entry("linux", "arm64", "v9"), entry("linux", "arm64", "v8"))
    assert choose_platform(idx, "linux/arm64")["digest"] == "sha256:linux-arm64-v8-0"
    idx = index(entry("linux", "arm64", "v9"), entry("linux", "arm64"))
    assert choose_platform(idx, "linux/arm64")["digest"] == "sha256:linux-arm64-None-0"


def test_arm64_takes_another_variant_when_that_is_all_there_is() -> None:
    idx = index(entry("linux", "arm64", "v9"))
    assert choose_platform(idx, "linux/arm64")["digest"] == "sha256:linux-arm64-v9-0"


def test_arm_v7_picks_the_v7_variant() -> None:
    idx = index(entry("linux", "arm", "v5"), entry("linux", "arm", "v6"), entry("linux", "arm", "v7"),
                entry("linux", "amd64"))
    assert choose_platform(idx, "linux/arm/v7")["digest"] == "sha256:linux-arm-v7-0"


def test_os_must_match() -> None:
    idx = index(entry("windows", "amd64"), entry("linux", "amd64"))
    assert choose_platform(idx, "linux/amd64")["platform"]["os"] == "linux"
    assert choose_platform(idx, "windows/amd64")["platform"]["os"] == "windows"


def test_missing_platform_error_lists_what_is_offered() -> None:
    idx = index(ATTESTATION, entry("linux", "arm64", "v8"), entry("linux", "amd64"), entry("linux", "amd64", n=1))
    with pytest.raises(RegistryError) as info:
        choose_platform(idx, "linux/s390x")
    assert str(info.value) == "The image has no linux/s390x variant (it offers: linux/amd64, linux/arm64/v8)."
    assert info.value.kind == "not_found"


def test_empty_index_offers_none() -> None:
    with pytest.raises(RegistryError) as info:
        choose_platform({"manifests": []}, "linux/amd64")
    assert str(info.value) == "The image has no linux/amd64 variant (it offers: none)."


@pytest.mark.parametrize(("machine", "expected"), [
    ("x86_64", "linux/amd64"), ("AMD64", "linux/amd64"), ("aarch64", "linux/arm64"), ("arm64", "linux/arm64"),
    ("armv7l", "linux/arm/v7"), ("ppc64le", "linux/ppc64le"), ("s390x", "linux/s390x"),
    ("riscv64", "linux/riscv64"), ("i686", "linux/386"),
])
def test_host_platform_is_always_linux(monkeypatch: pytest.MonkeyPatch, machine: str, expected: str) -> None:
    monkeypatch.setattr(resolver._platform, "machine", lambda: machine)
    assert host_platform() == expected


# -- parse_mirrors --------------------------------------------------------------------------------

@pytest.mark.parametrize("alias", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_aliases_are_normalised(alias: str) -> None:
    assert parse_mirrors([f"{alias}=http://127.0.0.1:5000/"]) == {"docker.io": "http://127.0.0.1:5000"}


def test_several_mirrors_and_blank_specs() -> None:
    assert parse_mirrors([" docker.io=http://localhost:5000 ", "", "  ", "gcr.io=https://mirror.example.com/v"]) == {
        "docker.io": "http://localhost:5000", "gcr.io": "https://mirror.example.com/v"}


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000", "http://127.9.8.7", "http://localhost:5000",
                                 "http://LOCALHOST", "http://[::1]:5000", "https://mirror.example.com"])
def test_http_allowed_for_loopback_only(url: str) -> None:
    assert parse_mirrors([f"docker.io={url}"]) == {"docker.io": url}


@pytest.mark.parametrize("url", ["http://10.0.0.5:5000", "http://mirror.example.com",
                                 "http://localhost.example.com:5000", "http://127.0.0.1.nip.io"])
def test_http_refused_for_other_hosts(url: str) -> None:
    with pytest.raises(MirrorConfigError) as info:
        parse_mirrors([f"docker.io={url}"])
    assert str(info.value) == f"Mirror {url} uses plain HTTP; that is allowed for loopback registries only."


def test_http_refused_when_userinfo_disguises_a_remote_host() -> None:
    # The host of http://127.0.0.1:5000@evil.example.com/ is evil.example.com: credentials would go
    # to a remote machine over plain HTTP.
    url = "http://127.0.0.1:5000@evil.example.com/"
    with pytest.raises(MirrorConfigError) as info:
        parse_mirrors([f"docker.io={url}"])
    assert url in str(info.value)


@pytest.mark.parametrize(("spec", "message"), [
    ("docker.io", "'docker.io' is not REGISTRY=URL (for example docker.io=http://127.0.0.1:5000)."),
    ("=http://127.0.0.1:5000", "'=http://127.0.0.1:5000' is not REGISTRY=URL (for example "
                               "docker.io=http://127.0.0.1:5000)."),
    ("docker.io=", "'docker.io=' is not REGISTRY=URL (for example docker.io=http://127.0.0.1:5000)."),
    ("docker.io=ftp://127.0.0.1", "Mirror URL 'ftp://127.0.0.1' must start with http:// or https://."),
    ("docker.io=127.0.0.1:5000", "Mirror URL '127.0.0.1:5000' must start with http:// or https://."),
    ("docker.io=localhost:5000", "Mirror URL 'localhost:5000' must start with http:// or https://."),
    ("docker.io=http://", "Mirror URL 'http://' must start with http:// or https://."),
])
def test_bad_specs_explain_the_format(spec: str, message: str) -> None:
    with pytest.raises(MirrorConfigError) as info:
        parse_mirrors([spec])
    assert str(info.value) == message
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("url", ["http://127.0.0.1:5000/?x=1", "http://127.0.0.1:5000#frag",
                                 "https://mirror.example.com/v2?", "https://mirror.example.com/#"])
def test_mirror_url_with_query_or_fragment_is_refused(url: str) -> None:
    # Paths are appended to the mirror URL: "…/?x=1/v2/repo/manifests/1" would ask for something else.
    with pytest.raises(MirrorConfigError) as info:
        parse_mirrors([f"docker.io={url}"])
    assert str(info.value) == (f"Mirror URL '{url}' must not carry a ?query or #fragment: give the registry's "
                               "base URL, for example http://127.0.0.1:5000.")


# -- endpoint_for -----------------------------------------------------------------------------------

@pytest.mark.parametrize("registry", ["docker.io", "index.docker.io", "registry-1.docker.io"])
def test_docker_hub_default_endpoint(registry: str) -> None:
    ep = endpoint_for(registry, {})
    assert DOCKER_HUB_ENDPOINT == "https://registry-1.docker.io"
    assert ep == Endpoint("https://registry-1.docker.io", registry, via_mirror=False)
    assert ep.display == "Docker Hub"
    assert ep.host == "registry-1.docker.io"


@pytest.mark.parametrize(("registry", "base_url"), [
    ("localhost:5000", "http://localhost:5000"),
    ("127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("[::1]:5000", "http://[::1]:5000"),
    ("localhost", "http://localhost"),
    ("ghcr.io", "https://ghcr.io"),
    ("registry.example.com:8443", "https://registry.example.com:8443"),
    ("gcr.io", "https://gcr.io"),
    ("10.0.0.5:5000", "https://10.0.0.5:5000"),
])
def test_loopback_is_http_everything_else_https(registry: str, base_url: str) -> None:
    ep = endpoint_for(registry, {})
    assert ep.base_url == base_url
    assert not ep.via_mirror
    assert ep.display == registry


def test_docker_hub_mirror_is_used_for_every_alias() -> None:
    mirrors = parse_mirrors(["docker.io=http://127.0.0.1:5000"])
    for registry in ("docker.io", "index.docker.io"):
        ep = endpoint_for(registry, mirrors)
        assert ep.base_url == "http://127.0.0.1:5000"
        assert ep.via_mirror
        assert ep.display == "Docker Hub (mirror 127.0.0.1:5000)"


def test_mirror_used_for_gcr_too() -> None:
    mirrors = parse_mirrors(["gcr.io=http://127.0.0.1:6000", "docker.io=http://127.0.0.1:5000"])
    ep = endpoint_for("gcr.io", mirrors)
    assert ep == Endpoint("http://127.0.0.1:6000", "gcr.io", via_mirror=True)
    assert ep.display == "gcr.io (mirror 127.0.0.1:6000)"
    # Other registries are not affected by a mirror for a different one.
    assert endpoint_for("eu.gcr.io", mirrors).base_url == "https://eu.gcr.io"


# -- is_loopback_host -------------------------------------------------------------------------------

@pytest.mark.parametrize(("host", "expected"), [
    ("localhost", True), ("LocalHost:8080", True), ("127.0.0.1", True), ("127.0.0.1:5000", True),
    ("127.255.0.9:1", True), ("[::1]", True), ("[::1]:5000", True), ("::1", True),
    ("10.0.0.1", False), ("0.0.0.0", False), ("example.com", False), ("localhost.example.com", False),
    ("127.0.0.1.nip.io:80", False), ("[2001:db8::1]:5000", False), ("", False), ("evil.com:localhost", False),
    # Strict parsing: a lenient split would keep "localhost" or "127.0.0.1" from each of these.
    ("localhost:evil", False), ("localhost:", False), ("localhost:99999", False), ("localhost:+80", False),
    ("localhost:80:80", False), ("user@localhost", False), ("evil.com@127.0.0.1", False),
    ("localhost/path", False), ("localhost?q", False), ("127.0.0.1#f", False), ("local\nhost", False),
    ("[::1]x", False), ("[::1]:", False), ("localhost:\uff18\uff10", False), ("localhost :80", False),
])
def test_is_loopback_host(host: str, expected: bool) -> None:
    assert is_loopback_host(host) is expected


def test_a_missing_arm_variant_is_not_replaced_by_another() -> None:
    with pytest.raises(RegistryError) as err:
        choose_platform(index(entry("linux", "arm", "v7"), entry("linux", "amd64")), "linux/arm/v6")
    assert str(err.value) == "The image has no linux/arm/v6 variant (it offers: linux/amd64, linux/arm/v7)."

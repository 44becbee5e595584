"""Fast proofs that the test stack behaves like the real services the engine will meet.

If one of these fails, every engine/e2e failure is suspect: fix the stack first.
"""

from __future__ import annotations

from pathlib import Path

import docker
import httpx
import pytest

from .images import (
    DOCKER_MANIFEST,
    MANIFEST_ACCEPT,
    OCI_INDEX,
    OCI_MANIFEST,
    StackImages,
    parse_challenge,
    sha256,
)
from .podman import Podman
from .registry import Registry, start_registry
from .token_issuer import TokenIssuer

pytestmark = pytest.mark.stack


def get_manifest(
    registry: Registry, repo: str, ref: str, auth: tuple[str, str] | None = None
) -> httpx.Response:
    """GET a manifest like a pull client: answer the 401 challenge with the scope it names."""
    url = f"{registry.url}/v2/{repo}/manifests/{ref}"
    headers = {"Accept": MANIFEST_ACCEPT}
    with httpx.Client(timeout=10) as client:
        r = client.get(url, headers=headers)
        if r.status_code != 401:
            return r
        scheme, params = parse_challenge(r.headers["www-authenticate"])
        if scheme == "basic":
            return client.get(url, headers=headers, auth=auth) if auth else r
        assert scheme == "bearer", r.headers["www-authenticate"]
        query = {"service": params["service"], "scope": params["scope"]}
        t = client.get(params["realm"], params=query, auth=auth)
        if t.status_code != 200:
            return t
        return client.get(url, headers=headers | {"Authorization": f"Bearer {t.json()['token']}"})


def test_open_registry_serves_pushed_manifests(registry_open: Registry, images: StackImages) -> None:
    r = get_manifest(registry_open, "x/busybox", "1")
    assert r.status_code == 200
    assert r.headers["content-type"] == OCI_MANIFEST
    assert r.headers["docker-content-digest"] == images.open_busybox.digest == sha256(r.content)
    layers = r.json()["layers"]
    assert len(layers) == images.open_busybox.layers
    assert sum(layer["size"] for layer in layers) == images.open_busybox.size_bytes

    r = get_manifest(registry_open, "x/busybox", "docker")
    assert r.headers["content-type"] == DOCKER_MANIFEST
    assert r.headers["docker-content-digest"] == images.open_docker.digest

    r = get_manifest(registry_open, "x/multi", "1")
    assert r.headers["content-type"] == OCI_INDEX
    assert r.headers["docker-content-digest"] == images.open_multi.digest
    platforms = {
        (m["platform"]["os"], m["platform"]["architecture"]): m["digest"] for m in r.json()["manifests"]
    }
    assert platforms[("linux", "amd64")] == images.open_multi.manifest_digest
    assert platforms[("linux", "arm64")] != images.open_multi.manifest_digest


def test_htpasswd_registry_needs_credentials(registry_htpasswd: Registry, images: StackImages) -> None:
    r = get_manifest(registry_htpasswd, "team/busybox", "1")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Basic ")
    assert get_manifest(registry_htpasswd, "team/busybox", "1", ("testuser", "wrong")).status_code == 401
    r = get_manifest(registry_htpasswd, "team/busybox", "1", ("testuser", "testpass"))
    assert r.status_code == 200
    assert r.headers["docker-content-digest"] == images.private_busybox.digest


def test_token_registry_like_docker_hub_and_gcr(
    registry_token: Registry, token_issuer: TokenIssuer, images: StackImages, gcr_key_json: str
) -> None:
    before = token_issuer.issued
    r = get_manifest(registry_token, "library/busybox", "1.36")  # anonymous, public
    assert r.status_code == 200, r.text
    assert r.headers["docker-content-digest"] == images.hub_busybox.digest
    assert token_issuer.issued == before + 1
    assert token_issuer.requests[-1].username is None

    r = get_manifest(registry_token, "hubuser/secret-env", "1")  # anonymous, private
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert get_manifest(registry_token, "hubuser/secret-env", "1", ("hubuser", "hubpass")).status_code == 200

    r = get_manifest(registry_token, "hubuser/secret-env", "1", ("hubuser", "nope"))
    assert r.status_code == 401
    assert r.json() == {"details": "incorrect username or password"}

    r = get_manifest(registry_token, "proj/busybox", "v1", ("_json_key", gcr_key_json))
    assert r.status_code == 200
    assert r.headers["docker-content-digest"] == images.gcr_busybox.digest
    assert token_issuer.requests[-1].granted == [
        {"type": "repository", "name": "proj/busybox", "actions": ["pull"]}
    ]
    bad_key = gcr_key_json.replace("builder@", "intruder@")
    assert get_manifest(registry_token, "proj/busybox", "v1", ("_json_key", bad_key)).status_code == 401


def test_tls_registry_rejects_unverified_clients(tmp_path: Path) -> None:
    reg = start_registry(tmp_path / "tls", "open", tls=True)
    try:
        assert reg.url.startswith("https://")
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{reg.url}/v2/")
        assert httpx.get(f"{reg.url}/v2/", verify=reg.ssl_context()).status_code == 200
    finally:
        reg.stop()


def test_podman_pulls_private_image_and_runs_it(
    podman: Podman, registry_htpasswd: Registry, images: StackImages
) -> None:
    ref = f"{registry_htpasswd.host}/team/busybox@{images.private_busybox.digest}"
    client = docker.DockerClient(base_url=podman.docker_host, timeout=120)
    try:
        assert client.ping()
        events = list(
            client.api.pull(
                ref, stream=True, decode=True, auth_config={"username": "testuser", "password": "testpass"}
            )
        )
        assert not [e for e in events if "error" in e], events
        container = client.containers.run(ref, ["cat", "/etc/in10nt-test"], network_mode="none", detach=True)
        try:
            assert container.wait(timeout=60)["StatusCode"] == 0
            assert container.logs() == b"hello\n"
        finally:
            container.remove(force=True)
        # Other tests share this Podman: only this test's container must be gone.
        assert container.id not in [c.id for c in client.containers.list(all=True)]
    finally:
        client.close()


def test_podman_follows_the_token_flow(
    podman: Podman, token_issuer: TokenIssuer, images: StackImages
) -> None:
    """Anonymous pulls: public Docker-Hub-like repo works, private one reports 'denied'."""
    client = docker.DockerClient(base_url=podman.docker_host, timeout=120)
    try:
        before = token_issuer.issued
        events = list(client.api.pull(images.hub_busybox.ref, stream=True, decode=True))
        assert not [e for e in events if "error" in e], events
        assert token_issuer.issued > before
        assert (
            client.images.get(images.hub_busybox.ref).labels["org.in10nt.test.image"]
            == "library/busybox:1.36"
        )
        events = list(client.api.pull(images.hub_private.ref, stream=True, decode=True))
        errors = [e["error"] for e in events if "error" in e]
        assert errors and "denied" in errors[0], events
    finally:
        client.close()

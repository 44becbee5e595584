"""Builds against real registries: open, htpasswd (Basic), token (Bearer) as Docker Hub and GCR.

Each test creates a template over HTTP as the SDK would and checks what a user sees: the
status, the digest the registry itself reports, and the sentence of a failed build.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.images import StackImages
from stack.registry import Registry, start_registry
from stack.token_issuer import TokenIssuer, make_service_account_json


def create(engine: EngineProc, body: dict[str, object], **headers: str) -> dict[str, object]:
    with engine.http() as http:
        r = http.post("/container-templates", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return dict(r.json())


def build(engine: EngineProc, body: dict[str, object]) -> dict[str, object]:
    created = create(engine, body)
    assert created["status"] == "building"
    return wait_status(engine, str(created["templateId"]), {"ready", "failed"})


def logs(engine: EngineProc, tid: object) -> str:
    with engine.http() as http:
        return "\n".join(line["text"] for line in http.get(f"/container-templates/{tid}/logs").json()["lines"])


def test_open_registry_oci_build_pins_the_registry_digest(engine: EngineProc, images: StackImages) -> None:
    img = images.open_busybox
    t = build(engine, {"name": "open", "image": img.ref, "registryType": "private"})
    assert t["status"] == "ready", t
    assert t["digest"] == img.digest
    assert t["sizeBytes"] == img.size_bytes
    assert t["layers"] == img.layers == 1
    assert t["platform"] == "linux/amd64"
    assert t["error"] is None
    assert "registryAuth" not in t


def test_docker_v2_manifest_resolves(engine: EngineProc, images: StackImages) -> None:
    img = images.open_docker
    t = build(engine, {"name": "docker-format", "image": img.ref, "registryType": "private"})
    assert (t["status"], t["digest"]) == ("ready", img.digest)


def test_index_picks_this_machines_platform(engine: EngineProc, images: StackImages) -> None:
    img = images.open_multi
    t = build(engine, {"name": "multi", "image": img.ref, "registryType": "private"})
    assert t["status"] == "ready"
    assert t["digest"] == img.digest  # the index: a pull by it lets the engine pick the same platform
    assert t["platform"] == "linux/amd64"
    assert "picked linux/amd64" in logs(engine, t["templateId"])


def test_private_htpasswd_registry_with_credentials(engine: EngineProc, images: StackImages) -> None:
    img = images.private_busybox
    t = build(engine, {"name": "private", "image": img.ref, "registryType": "private",
                       "registryAuth": {"username": "testuser", "password": "testpass"}})
    assert (t["status"], t["digest"]) == ("ready", img.digest)


def test_private_registry_wrong_password_says_credentials_rejected(engine: EngineProc,
                                                                   images: StackImages) -> None:
    t = build(engine, {"name": "wrong", "image": images.private_busybox.ref, "registryType": "private",
                       "registryAuth": {"username": "testuser", "password": "not-the-password"}})
    assert t["status"] == "failed"
    assert "Credentials rejected by" in str(t["error"])
    assert images.private_busybox.registry in str(t["error"])
    assert "not-the-password" not in str(t["error"]) + logs(engine, t["templateId"])


def test_private_registry_without_credentials_asks_for_them(engine: EngineProc, images: StackImages) -> None:
    t = build(engine, {"name": "anon", "image": images.private_busybox.ref, "registryType": "private"})
    assert t["status"] == "failed"
    assert "requires credentials" in str(t["error"])


def test_missing_tag_is_not_found(engine: EngineProc, images: StackImages) -> None:
    img = images.open_busybox
    t = build(engine, {"name": "missing", "image": f"{img.registry}/{img.repo}:no-such-tag",
                       "registryType": "private"})
    assert t["status"] == "failed"
    assert str(t["error"]).startswith("Image or tag not found on ")
    assert "no-such-tag" in str(t["error"])


def test_unreachable_registry(engine: EngineProc) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t = build(engine, {"name": "nowhere", "image": f"127.0.0.1:{port}/x/y:1", "registryType": "private"})
    assert t["status"] == "failed"
    assert t["error"] == f"Registry 127.0.0.1:{port} is unreachable (connection refused)."


def test_dockerhub_official_image_through_mirror_uses_token_flow(engine: EngineProc, images: StackImages,
                                                                 token_issuer: TokenIssuer) -> None:
    before = token_issuer.issued
    t = build(engine, {"name": "hub", "image": "busybox:1.36", "registryType": "dockerhub"})
    assert (t["status"], t["digest"]) == ("ready", images.hub_busybox.digest)
    assert token_issuer.issued > before
    anonymous = [r for r in token_issuer.requests if "repository:library/busybox:pull" in r.scopes]
    assert anonymous and anonymous[-1].username in (None, "")
    assert "token" in logs(engine, t["templateId"])


def test_dockerhub_private_repo_needs_and_accepts_credentials(engine: EngineProc, images: StackImages) -> None:
    anon = build(engine, {"name": "hub-anon", "image": "hubuser/secret-env:1", "registryType": "dockerhub"})
    assert anon["status"] == "failed" and "requires credentials" in str(anon["error"])
    ok = build(engine, {"name": "hub-auth", "image": "docker.io/hubuser/secret-env:1", "registryType": "dockerhub",
                        "registryAuth": {"username": "hubuser", "password": "hubpass"}})
    assert (ok["status"], ok["digest"]) == ("ready", images.hub_private.digest)
    bad = build(engine, {"name": "hub-bad", "image": "hubuser/secret-env:1", "registryType": "dockerhub",
                         "registryAuth": {"username": "hubuser", "password": "wrong"}})
    assert bad["status"] == "failed"
    assert str(bad["error"]).startswith("Credentials rejected by Docker Hub")


def test_gcr_json_key_through_mirror(engine: EngineProc, images: StackImages, gcr_key_json: str) -> None:
    t = build(engine, {"name": "gcr", "image": "gcr.io/proj/busybox:v1", "registryType": "gcr",
                       "registryAuth": {"username": "_json_key", "password": gcr_key_json}})
    assert (t["status"], t["digest"]) == ("ready", images.gcr_busybox.digest)
    other_key = make_service_account_json("intruder@other.iam.gserviceaccount.com")
    bad = build(engine, {"name": "gcr-bad", "image": "gcr.io/proj/busybox:v1", "registryType": "gcr",
                         "registryAuth": {"username": "_json_key", "password": other_key}})
    assert bad["status"] == "failed"
    assert "Credentials rejected by gcr.io" in str(bad["error"])
    assert "private_key" not in str(bad["error"]) + logs(engine, bad["templateId"])


def test_tls_error_is_named(tmp_path: Path, images: StackImages) -> None:
    tls = start_registry(tmp_path / "tls-registry", "open", tls=True)
    engine = start_engine(tmp_path / "engine", mirrors={"docker.io": tls.url})
    try:
        t = build(engine, {"name": "tls", "image": "busybox:1", "registryType": "dockerhub"})
        assert t["status"] == "failed"
        assert str(t["error"]).startswith(f"TLS error talking to registry {tls.host}")
    finally:
        engine.stop()
        tls.stop()


def test_no_container_engine_still_ready_and_log_says_so(engine: EngineProc, images: StackImages) -> None:
    t = build(engine, {"name": "no-engine", "image": images.open_busybox.ref, "registryType": "private"})
    assert t["status"] == "ready"
    text = logs(engine, t["templateId"])
    assert "No container engine" in text and "instances will need an engine" in text


def test_credentials_never_reach_the_data_dir(engine: EngineProc, images: StackImages,
                                              registry_htpasswd: Registry) -> None:
    build(engine, {"name": "secret-check", "image": images.private_busybox.ref, "registryType": "private",
                   "registryAuth": {"username": "testuser", "password": "testpass"}})
    for path in engine.data_dir.rglob("*"):
        if path.is_file():  # the store, the WAL and the engine's own log alike
            assert b"testpass" not in path.read_bytes(), path


def test_engine_json_is_private_and_describes_the_engine(engine: EngineProc) -> None:
    path = engine.data_dir / "engine.json"
    assert path.stat().st_mode & 0o777 == 0o600
    info = json.loads(path.read_text())
    assert info == {"url": engine.url, "token": engine.token, "pid": engine.proc.pid}
    assert info["url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("registry_type", ["dockerhub", "gcr"])
def test_mirror_serves_every_registry_type(engine: EngineProc, images: StackImages, gcr_key_json: str,
                                           registry_type: str) -> None:
    image = "busybox:1.36" if registry_type == "dockerhub" else "gcr.io/proj/busybox:v1"
    body: dict[str, object] = {"name": f"mirror-{registry_type}", "image": image, "registryType": registry_type}
    if registry_type == "gcr":
        body["registryAuth"] = {"username": "_json_key", "password": gcr_key_json}
    t = build(engine, body)
    assert t["status"] == "ready"
    assert "(mirror 127.0.0.1:" in logs(engine, t["templateId"])

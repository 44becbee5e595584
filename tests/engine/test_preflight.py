"""``POST /registry/check`` against real registries: what a build would find, or why it would fail.

Open, htpasswd (Basic) and token (Bearer, as Docker Hub and GCR) registries; a missing tag and a
missing repository; a closed port; a registry that accepts the connection and never answers; an
index of several platforms. A check writes nothing: the engine's data directory is compared file
by file before and after.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from stack.engine_proc import EngineProc
from stack.gate_proxy import GateProxy
from stack.images import StackImages
from stack.registry import free_port

SECRET = "testpass"


def check(engine: EngineProc, body: dict[str, Any]) -> dict[str, Any]:
    with engine.http() as http:
        r = http.post("/registry/check", json=body)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    assert "registryAuth" not in answer
    return answer


def files_of(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and mtime; the test's own log of the engine's stdout is left out."""
    out = {}
    for path in root.rglob("*"):
        if path.is_file() and not (path.name.startswith("engine-") and path.suffix == ".log"):
            stat = path.stat()
            out[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return out


def test_open_registry_answers_what_the_build_would_pin(engine: EngineProc, images: StackImages) -> None:
    img = images.open_busybox
    answer = check(engine, {"image": img.ref, "registryType": "private"})
    assert answer["ok"] is True, answer
    assert answer["digest"] == img.digest
    assert (answer["platform"], answer["platforms"]) == ("linux/amd64", ["linux/amd64"])
    assert (answer["sizeBytes"], answer["layers"]) == (img.size_bytes, 1)
    assert answer["needsCredentials"] is False
    assert answer["error"] is None
    assert answer["registry"] == img.registry


def test_registry_type_is_required_as_in_a_create(engine: EngineProc, images: StackImages) -> None:
    with engine.http() as http:
        r = http.post("/registry/check", json={"image": images.open_busybox.ref})
    assert r.status_code == 422 and r.json()["error"]["field"] == "registryType"


def test_index_lists_every_platform(engine: EngineProc, images: StackImages) -> None:
    img = images.open_multi
    answer = check(engine, {"image": img.ref, "registryType": "private"})
    assert answer["ok"] is True, answer
    assert answer["digest"] == img.digest  # the index, as a build pins it
    assert answer["platforms"] == ["linux/amd64", "linux/arm64/v8"]
    assert answer["platform"] == "linux/amd64"


def test_basic_auth_registry(engine: EngineProc, images: StackImages) -> None:
    img = images.private_busybox
    anonymous = check(engine, {"image": img.ref, "registryType": "private"})
    assert anonymous["ok"] is False
    assert anonymous["needsCredentials"] is True
    assert anonymous["error"]["code"] == "credentials_required"
    assert anonymous["error"]["field"] == "registryAuth"
    assert "requires credentials" in anonymous["error"]["message"]

    wrong = check(engine, {"image": img.ref, "registryType": "private",
                           "registryAuth": {"username": "testuser", "password": "nope"}})
    assert wrong["error"]["code"] == "credentials_rejected"
    assert wrong["error"]["field"] == "registryAuth.password"
    assert wrong["error"]["message"].startswith(f"Credentials rejected by {img.registry}")
    assert wrong["needsCredentials"] is True

    right = check(engine, {"image": img.ref, "registryType": "private",
                           "registryAuth": {"username": "testuser", "password": SECRET}})
    assert (right["ok"], right["digest"], right["error"]) == (True, img.digest, None)


def test_token_registry_as_docker_hub(engine: EngineProc, images: StackImages) -> None:
    body = {"image": "hubuser/secret-env:1", "registryType": "dockerhub"}
    right = check(engine, {**body, "registryAuth": {"username": "hubuser", "password": "hubpass"}})
    assert (right["ok"], right["digest"]) == (True, images.hub_private.digest), right
    assert right["registry"].startswith("Docker Hub (mirror ")
    wrong = check(engine, {**body, "registryAuth": {"username": "hubuser", "password": "wrong"}})
    assert (wrong["ok"], wrong["error"]["code"]) == (False, "credentials_rejected")
    assert check(engine, {"image": "busybox:1.36", "registryType": "dockerhub"})["ok"] is True  # public, anonymously


def test_token_registry_as_gcr(engine: EngineProc, images: StackImages, gcr_key_json: str) -> None:
    answer = check(engine, {"image": "gcr.io/proj/busybox:v1", "registryType": "gcr",
                            "registryAuth": {"username": "_json_key", "password": gcr_key_json}})
    assert (answer["ok"], answer["digest"]) == (True, images.gcr_busybox.digest), answer
    not_a_key = check(engine, {"image": "gcr.io/proj/busybox:v1", "registryType": "gcr",
                               "registryAuth": {"username": "_json_key", "password": "not json"}})
    assert not_a_key["ok"] is False
    assert (not_a_key["error"]["code"], not_a_key["error"]["field"]) == ("credentials_invalid",
                                                                          "registryAuth.password")


def test_missing_tag_and_missing_repository(engine: EngineProc, images: StackImages) -> None:
    host = images.open_busybox.registry
    tag = check(engine, {"image": f"{host}/x/busybox:2024.07", "registryType": "private"})
    assert tag["ok"] is False
    assert tag["error"] == {"code": "tag_not_found", "field": "image",
                            "message": f"No tag 2024.07 in x/busybox on {host} — tags are checked, not listed."}
    repo = check(engine, {"image": f"{host}/ml-team/trainer:1", "registryType": "private"})
    assert repo["error"]["code"] == "repository_not_found", repo
    assert repo["error"]["message"] == f"No repository ml-team/trainer on {host}."
    assert repo["needsCredentials"] is False


def test_unreachable_host(engine: EngineProc) -> None:
    answer = check(engine, {"image": f"127.0.0.1:{free_port()}/x/busybox:1", "registryType": "private"})
    assert answer["ok"] is False
    assert answer["error"]["code"] == "unreachable"
    assert answer["error"]["field"] == "image"
    assert "connection refused" in answer["error"]["message"]


@pytest.fixture
def silent_registry(gate: GateProxy) -> GateProxy:
    """Accepts connections and never answers (the gate stays shut): a registry stuck behind a slow network."""
    return gate


def test_slow_registry_ends_in_a_timeout_sentence(engine: EngineProc, silent_registry: GateProxy) -> None:
    answer = check(engine, {"image": f"{silent_registry.host}/x/busybox:1", "registryType": "private",
                            "timeoutSeconds": 1})
    assert answer["ok"] is False
    assert answer["error"]["code"] == "timeout"
    assert answer["error"]["message"] == (f"{silent_registry.host} did not answer within 1 s; the registry may be "
                                          "slow or unreachable. Try again, or check the image's host.")
    assert silent_registry.connections >= 1


@pytest.mark.parametrize(("body", "field"), [
    ({"image": "Python:3", "registryType": "dockerhub"}, "image"),
    ({"registryType": "dockerhub"}, "image"),
    ({"image": "busybox:1", "registryType": "ecr"}, "registryType"),
    ({"image": "busybox:1", "registryType": None}, "registryType"),
    ({"image": "busybox:1", "registryType": "gcr"}, "image"),
    ({"image": "busybox:1", "registryType": "dockerhub", "registryAuth": {"username": "u"}}, "registryAuth.password"),
    ({"image": "busybox:1", "registryType": "dockerhub", "timeoutSeconds": 0}, "timeoutSeconds"),
    ({"image": "busybox:1", "registryType": "dockerhub", "timeoutSeconds": 61}, "timeoutSeconds"),
    ({"image": "busybox:1", "registryType": "dockerhub", "timeoutSeconds": True}, "timeoutSeconds"),
])
def test_bad_requests_name_the_field(engine: EngineProc, body: dict[str, Any], field: str) -> None:
    with engine.http() as http:
        r = http.post("/registry/check", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


def test_a_check_writes_nothing_and_never_echoes_the_password(engine: EngineProc, images: StackImages) -> None:
    before = files_of(engine.data_dir)
    with engine.http() as http:
        templates_before = http.get("/container-templates").content
    img = images.private_busybox
    for password in (SECRET, "a-wrong-password-42"):
        with engine.http() as http:
            r = http.post("/registry/check", json={"image": img.ref, "registryType": "private",
                                                   "registryAuth": {"username": "testuser", "password": password}})
        assert password not in r.text
    assert files_of(engine.data_dir) == before
    with engine.http() as http:
        assert http.get("/container-templates").content == templates_before
    for path in engine.data_dir.rglob("*"):
        if path.is_file():
            assert b"a-wrong-password-42" not in path.read_bytes(), path


def test_openapi_describes_both_routes(engine: EngineProc) -> None:
    with engine.http() as http:
        paths = http.get("/openapi.json").json()["paths"]
    assert "post" in paths["/registry/check"]
    assert "post" in paths["/container-templates/{template_id}/drift"]


def test_check_needs_the_engine_token(engine: EngineProc) -> None:
    r = httpx.post(engine.url + "/registry/check", json={"image": "busybox:1", "registryType": "dockerhub"})
    assert r.status_code == 401

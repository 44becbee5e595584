"""``POST /container-templates/{id}/drift``: a new image pushed to a ready template's tag is noticed.

The tag is moved for real (a second push with another config), against the real registry; a
registry that stops answering leaves ``drifted`` unknown, never true.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from stack.engine_proc import EngineProc, wait_status
from stack.gate_proxy import GateProxy
from stack.images import StackImages, push_image
from stack.registry import Registry


def drift(engine: EngineProc, template_id: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
    with engine.http() as http:
        r = http.post(f"/container-templates/{template_id}/drift", json=body) if body is not None else \
            http.post(f"/container-templates/{template_id}/drift")
    assert r.status_code == status, r.text
    return r.json()


def built(engine: EngineProc, image: str, auth: dict[str, str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "drift", "image": image, "registryType": "private"}
    if auth:
        body["registryAuth"] = auth
    with engine.http() as http:
        created = http.post("/container-templates", json=body).json()
    template = wait_status(engine, created["templateId"], {"ready", "failed"})
    assert template["status"] == "ready", template
    return template


def test_a_new_push_to_the_tag_is_drift(engine: EngineProc, registry_open: Registry) -> None:
    repo = f"x/drift-{uuid.uuid4().hex[:8]}"
    first = push_image(registry_open.url, repo, "1")
    template = built(engine, first.ref)
    same = drift(engine, template["templateId"])
    assert same["drifted"] is False
    assert same["builtDigest"] == same["currentDigest"] == first.digest
    assert same["error"] is None
    assert same["checkedAt"].endswith("Z")

    second = push_image(registry_open.url, repo, "1", labels={"rev": "2"})
    assert second.digest != first.digest
    moved = drift(engine, template["templateId"], {})
    assert moved["drifted"] is True
    assert (moved["builtDigest"], moved["currentDigest"]) == (first.digest, second.digest)
    with engine.http() as http:  # a check changes nothing: the template still says what it was built from
        assert http.get(f"/container-templates/{template['templateId']}").json()["digest"] == first.digest


def test_private_registry_needs_the_login_again(engine: EngineProc, images: StackImages) -> None:
    img = images.private_busybox
    template = built(engine, img.ref, {"username": "testuser", "password": "testpass"})
    anonymous = drift(engine, template["templateId"])
    assert anonymous["drifted"] is None
    assert anonymous["error"]["code"] == "credentials_required"
    signed_in = drift(engine, template["templateId"],
                      {"registryAuth": {"username": "testuser", "password": "testpass"}})
    assert (signed_in["drifted"], signed_in["currentDigest"]) == (False, img.digest)


def test_a_pinned_image_never_drifts(engine: EngineProc, images: StackImages) -> None:
    template = built(engine, images.open_busybox.pinned)
    answer = drift(engine, template["templateId"])
    assert (answer["drifted"], answer["currentDigest"]) == (False, images.open_busybox.digest)


@pytest.fixture
def gate(registry_open: Registry) -> Iterator[GateProxy]:
    host, port = registry_open.host.split(":")
    proxy = GateProxy(host, int(port))
    proxy.open()
    yield proxy
    proxy.close()


def test_an_unreachable_registry_is_unknown_not_drift(engine: EngineProc, gate: GateProxy,
                                                      images: StackImages) -> None:
    template = built(engine, f"{gate.host}/x/busybox:1")
    gate.close()
    answer = drift(engine, template["templateId"], {"timeoutSeconds": 2})
    assert answer["drifted"] is None
    assert answer["currentDigest"] is None
    assert answer["builtDigest"] == images.open_busybox.digest
    assert answer["error"]["code"] in ("unreachable", "timeout"), answer


def test_unknown_template_and_template_without_a_digest(engine: EngineProc, images: StackImages) -> None:
    assert drift(engine, "tmpl_nope", status=404)["error"]["code"] == "not_found"
    with engine.http() as http:
        created = http.post("/container-templates", json={
            "name": "no-digest", "image": f"{images.open_busybox.registry}/x/none:1",
            "registryType": "private"}).json()
    wait_status(engine, created["templateId"], {"failed"})
    answer = drift(engine, created["templateId"], status=409)
    assert answer["error"]["code"] == "not_built"
    with engine.http() as http:
        r = http.post(f"/container-templates/{created['templateId']}/drift", content=b"{nope",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400

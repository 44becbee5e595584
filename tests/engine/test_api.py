"""The engine's HTTP contract: auth, loopback-only hosts, validation, idempotency, logs, deletes."""

from __future__ import annotations

import json

import httpx
import pytest
from stack.engine_proc import EngineProc, wait_status
from stack.images import StackImages

GOOD = {"name": "ok", "image": "busybox:1.36", "registryType": "dockerhub"}
SA_KEY = '{"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key": "k"}'


def test_every_request_needs_the_token(engine: EngineProc) -> None:
    for path in ("/healthz", "/container-templates", "/openapi.json", "/saved-templates"):
        r = httpx.get(engine.url + path)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "unauthorized"
        r = httpx.get(engine.url + path, headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401, path


def test_non_loopback_host_header_is_refused(engine: EngineProc) -> None:
    with engine.http() as http:
        r = http.get("/container-templates", headers={"Host": "attacker.example:80"})
        assert r.status_code == 403
        assert "127.0.0.1 or localhost" in r.json()["error"]["message"]
        assert http.get("/healthz", headers={"Host": "localhost"}).status_code == 200


@pytest.mark.parametrize("host", ["localhost:evil", "127.0.0.1:80@attacker.example", "localhost:99999",
                                  "[::1]junk", "localhost/x"])
def test_host_header_is_parsed_strictly(engine: EngineProc, host: str) -> None:
    with engine.http() as http:
        r = http.get("/healthz", headers={"Host": host})
    assert r.status_code == 403, host
    assert r.json()["error"]["code"] == "forbidden_host"


@pytest.mark.parametrize("header", ["bearer {token}", "BEARER {token}", "Bearer  {token}"])
def test_bearer_scheme_is_case_insensitive(engine: EngineProc, header: str) -> None:
    r = httpx.get(engine.url + "/healthz", headers={"Authorization": header.format(token=engine.token)})
    assert r.status_code == 200, header


@pytest.mark.parametrize("header", ["Basic {token}", "{token}", "Bearer{token}", "Bearer {token}x", "Bearer"])
def test_only_a_bearer_with_the_exact_token_passes(engine: EngineProc, header: str) -> None:
    r = httpx.get(engine.url + "/healthz", headers={"Authorization": header.format(token=engine.token)})
    assert r.status_code == 401, header


def test_healthz_and_openapi(engine: EngineProc) -> None:
    with engine.http() as http:
        assert http.get("/healthz").json()["status"] == "ok"
        spec = http.get("/openapi.json").json()
        paths = spec["paths"]
        for path in ("/container-templates", "/container-templates/{template_id}",
                     "/container-templates/{template_id}/status", "/container-templates/{template_id}/logs",
                     "/saved-templates", "/saved-templates/{name}"):
            assert path in paths, path
        body = paths["/container-templates"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert [b["properties"]["registryType"]["const"] for b in body["oneOf"]] == ["dockerhub", "private", "gcr"]


@pytest.mark.parametrize(("body", "field", "words"), [
    ({**GOOD, "name": ""}, "name", "Give the template a name"),
    ({**GOOD, "name": "x" * 129}, "name", "limit is 128"),
    ({**GOOD, "name": "bad\x07name"}, "name", "control characters"),
    ({k: v for k, v in GOOD.items() if k != "name"}, "name", "Give the template a name"),
    ({**GOOD, "image": ""}, "image", "Enter a base image"),
    ({**GOOD, "image": "Python:3"}, "image", "lowercase"),
    ({**GOOD, "image": "python 3"}, "image", "spaces"),
    ({**GOOD, "image": "python@sha256:abc"}, "image", "64 lowercase hex"),
    ({**GOOD, "registryType": "ecr"}, "registryType", "dockerhub, private or gcr"),
    ({k: v for k, v in GOOD.items() if k != "registryType"}, "registryType", "Choose a registry type"),
    ({**GOOD, "image": "ghcr.io/org/img:1"}, "image", "not Docker Hub"),
    ({**GOOD, "registryType": "gcr"}, "image", "gcr.io"),
    ({**GOOD, "registryType": "private"}, "image", "must start with the registry host"),
    ({**GOOD, "registryAuth": "user:pass"}, "registryAuth", "object"),
    ({**GOOD, "registryAuth": {"username": "", "password": "p"}}, "registryAuth.username", "username"),
    ({**GOOD, "registryAuth": {"username": "u", "password": ""}}, "registryAuth.password", "password"),
    ({**GOOD, "description": 42}, "description", "text"),
])
def test_validation_answers_422_naming_the_field(engine: EngineProc, body: dict[str, object], field: str,
                                                 words: str) -> None:
    with engine.http() as http:
        before = len(http.get("/container-templates").json())
        r = http.post("/container-templates", json=body)
        assert r.status_code == 422, r.text
        err = r.json()["error"]
        assert (err["code"], err["field"]) == ("invalid", field)
        assert words in err["message"]
        assert len(http.get("/container-templates").json()) == before  # nothing half-created


@pytest.mark.parametrize(("password", "words"), [("not json", "not JSON"), ('{"type": "user"}', "service-account")])
def test_a_gcr_json_key_that_is_not_one_fails_the_build_with_a_sentence(engine: EngineProc, password: str,
                                                                       words: str) -> None:
    # Its contents are checked by the build, not at create: no request schema can state them (api/validation.py).
    with engine.http() as http:
        r = http.post("/container-templates", json={"name": "g", "image": "gcr.io/p/i:1", "registryType": "gcr",
                                                    "registryAuth": {"username": "_json_key", "password": password}})
        assert r.status_code == 201, r.text
    template = wait_status(engine, r.json()["templateId"], {"ready", "failed"})
    assert template["status"] == "failed" and words in str(template["error"])


def test_valid_gcr_json_key_passes_validation(engine: EngineProc) -> None:
    with engine.http() as http:
        r = http.post("/container-templates", json={"name": "g", "image": "us-docker.pkg.dev/p/r/i:1",
                                                    "registryType": "gcr",
                                                    "registryAuth": {"username": "_json_key", "password": SA_KEY}})
        assert r.status_code == 201, r.text
        http.delete(f"/container-templates/{r.json()['templateId']}")


def test_bad_json_body(engine: EngineProc) -> None:
    with engine.http() as http:
        r = http.post("/container-templates", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        assert r.json()["error"]["message"] == "The request body is not valid JSON."


def test_idempotency_key_gives_the_same_template_and_one_build(engine: EngineProc, images: StackImages) -> None:
    body = {"name": "idem", "image": images.open_busybox.ref, "registryType": "private"}
    with engine.http() as http:
        first = http.post("/container-templates", json=body, headers={"Idempotency-Key": "key-123"})
        second = http.post("/container-templates", json=body, headers={"Idempotency-Key": "key-123"})
        assert first.status_code == second.status_code == 201
        tid = first.json()["templateId"]
        assert second.json()["templateId"] == tid
        assert [t["templateId"] for t in http.get("/container-templates").json()].count(tid) == 1
        wait_status(engine, tid, {"ready"})
        log = http.get(f"/container-templates/{tid}/logs").json()["lines"]
        assert sum(1 for line in log if line["text"] == "Build started") == 1
        third = http.post("/container-templates", json=body, headers={"Idempotency-Key": "key-456"})
        assert third.json()["templateId"] != tid


def test_idempotency_key_reused_for_another_body_is_refused(engine: EngineProc, images: StackImages) -> None:
    body = {"name": "idem-a", "image": images.open_busybox.ref, "registryType": "private"}
    with engine.http() as http:
        first = http.post("/container-templates", json=body, headers={"Idempotency-Key": "key-reuse"})
        assert first.status_code == 201
        before = len(http.get("/container-templates").json())
        other = http.post("/container-templates", json={**body, "name": "idem-b"},
                          headers={"Idempotency-Key": "key-reuse"})
        assert other.status_code == 409, other.text
        err = other.json()["error"]
        assert err["code"] == "idempotency_key_reused"
        assert err["message"].startswith("This Idempotency-Key was already used for a different request")
        assert len(http.get("/container-templates").json()) == before
        # Key order and spacing are not a different request.
        same = http.post("/container-templates", content=json.dumps(dict(reversed(body.items())), indent=2),
                         headers={"Idempotency-Key": "key-reuse", "Content-Type": "application/json"})
        assert (same.status_code, same.json()["templateId"]) == (201, first.json()["templateId"])


def test_template_shape_ids_and_status(engine: EngineProc, images: StackImages) -> None:
    with engine.http() as http:
        r = http.post("/container-templates", json={"name": "shape", "description": "d",
                                                    "image": images.open_busybox.ref, "registryType": "private",
                                                    "registryAuth": {"username": "u", "password": "p"}})
        t = r.json()
        assert t["templateId"].startswith("tmpl_")
        assert {"templateId", "name", "description", "image", "registryType", "status", "error", "createdAt",
                "updatedAt"} <= set(t)
        assert "registryAuth" not in t and "p" not in (t.get("password"), t.get("registryAuth"))
        status = http.get(f"/container-templates/{t['templateId']}/status").json()
        assert set(status) >= {"templateId", "status", "error", "updatedAt"}
        assert status["templateId"] == t["templateId"]


def test_logs_after_n_returns_only_new_lines(engine: EngineProc, images: StackImages) -> None:
    with engine.http() as http:
        tid = http.post("/container-templates", json={"name": "logs", "image": images.open_busybox.ref,
                                                      "registryType": "private"}).json()["templateId"]
        wait_status(engine, tid, {"ready"})
        everything = http.get(f"/container-templates/{tid}/logs").json()
        assert everything["next"] == everything["lines"][-1]["n"] >= 4
        later = http.get(f"/container-templates/{tid}/logs", params={"after": 2}).json()
        assert [line["n"] for line in later["lines"]] == [line["n"] for line in everything["lines"][2:]]
        assert http.get(f"/container-templates/{tid}/logs", params={"after": everything["next"]}).json()["lines"] == []


def test_delete_and_404s(engine: EngineProc, images: StackImages) -> None:
    with engine.http() as http:
        tid = http.post("/container-templates", json={"name": "del", "image": images.open_busybox.ref,
                                                      "registryType": "private"}).json()["templateId"]
        wait_status(engine, tid, {"ready"})
        assert http.delete(f"/container-templates/{tid}").status_code == 204
        for path in (f"/container-templates/{tid}", f"/container-templates/{tid}/status"):
            r = http.get(path)
            assert r.status_code == 404
            assert r.json()["error"]["message"] == f"No template with ID {tid}."
        assert http.delete(f"/container-templates/{tid}").status_code == 404
        assert http.get("/no/such/path").json()["error"]["code"] == "not_found"


def test_saved_templates_list_and_delete_of_unknown(engine: EngineProc) -> None:
    with engine.http() as http:
        assert http.get("/saved-templates").json() == []
        r = http.delete("/saved-templates/old-template")
        assert r.status_code == 404
        assert "old-template" in r.json()["error"]["message"]


def test_a_method_a_path_does_not_take_is_405_with_allow(engine: EngineProc) -> None:
    with engine.http() as http:
        r = http.request("TRACE", "/container-templates/tmpl_0123456789abcdef")
        assert (r.status_code, r.headers["Allow"]) == (405, "DELETE, GET")
        assert r.json()["error"]["message"] == "TRACE is not allowed here; use DELETE or GET."
        assert http.request("PUT", "/container-templates").headers["Allow"] == "GET, POST"


@pytest.mark.parametrize(("content", "words"), [
    (b'{"name": "\\ud800", "image": "busybox", "registryType": "dockerhub"}', "unpaired surrogate"),
    (b"[" * 5000 + b"]" * 5000, "deeper than 32 levels"),
    (b"{not json", "not valid JSON"),
])
def test_bodies_no_store_can_hold_are_a_400_with_a_sentence(engine: EngineProc, content: bytes, words: str) -> None:
    with engine.http() as http:
        r = http.post("/container-templates", content=content, headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_json")
    assert words in r.json()["error"]["message"]


@pytest.mark.parametrize("key", [b"", b"k" * 201, "caf\u00e9".encode("latin-1")])
def test_an_idempotency_key_outside_its_rule_is_a_422(engine: EngineProc, key: bytes) -> None:
    with engine.http() as http:
        r = http.post("/container-templates", json=GOOD, headers={"Idempotency-Key": key})
    assert (r.status_code, r.json()["error"]["field"]) == (422, "Idempotency-Key")

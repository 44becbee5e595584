"""The SDK against the hosted service's possible shapes (httpx.MockTransport): lists, errors, retries, waits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from in10nt_desktop import __version__
from in10nt_desktop.api import (
    HOSTED_BASE_URL,
    APIError,
    AuthenticationError,
    BuildFailedError,
    ConflictError,
    ConnectionFailedError,
    In10ntClient,
    In10ntError,
    NotFoundError,
    RateLimitError,
    RegistryAuth,
    ServerError,
    StatusInfo,
    Template,
    ValidationError,
    WaitTimeoutError,
)
from in10nt_desktop.api.http import MAX_RETRY_AFTER

BASE = "http://api.test"
Handler = Callable[[httpx.Request], httpx.Response]


def row(tid: str = "tmpl_1", **over: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"templateId": tid, "name": "py", "image": "python:3.11-slim", "registryType": "dockerhub",
                           "status": "building", "error": None, "createdAt": "2024-05-01T12:00:00Z",
                           "updatedAt": "2024-05-01T12:00:00Z"}
    out.update(over)
    return out


class Recorder:
    """A MockTransport handler that answers from a script and records every request."""

    def __init__(self, answers: Iterable[httpx.Response | Exception | Handler]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return answer(request)

    @property
    def calls(self) -> int:
        return len(self.requests)


def client_for(recorder: Recorder, **kw: Any) -> In10ntClient:
    kw.setdefault("api_key", "sk-test")
    kw.setdefault("backoff", 0)
    return In10ntClient(base_url=BASE, transport=httpx.MockTransport(recorder), **kw)


def reply(status: int = 200, payload: Any = None, *, text: str | None = None, content_type: str | None = None,
          headers: dict[str, str] | None = None) -> httpx.Response:
    h = dict(headers or {})
    if text is not None:
        h["content-type"] = content_type or "text/plain"
        return httpx.Response(status, content=text.encode(), headers=h)
    if payload is None:
        return httpx.Response(status, headers=h)
    return httpx.Response(status, json=payload, headers=h)


# -- list and item shapes -------------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("wrap", [
    lambda rows: rows,
    lambda rows: {"templates": rows},
    lambda rows: {"containerTemplates": rows},
    lambda rows: {"data": rows, "total": 2},
    lambda rows: {"items": rows, "next": None},
    lambda rows: {"results": rows},
])
async def test_list_accepts_bare_arrays_and_envelopes(wrap: Callable[[list[Any]], Any]) -> None:
    rec = Recorder([reply(200, wrap([row("tmpl_1"), row("tmpl_2", name="other")]))])
    async with client_for(rec) as client:
        templates = await client.templates.list()
    assert [t.template_id for t in templates] == ["tmpl_1", "tmpl_2"]
    assert [t.name for t in templates] == ["py", "other"]
    assert all(isinstance(t, Template) for t in templates)
    assert rec.requests[0].method == "GET"
    assert rec.requests[0].url == f"{BASE}/container-templates"


@pytest.mark.asyncio
async def test_unknown_fields_are_kept_and_id_is_accepted() -> None:
    payload = [{"id": "tmpl_9", "name": "gpu", "image": "nvidia/cuda:12.2-runtime", "registryType": "dockerhub",
                "status": "ready", "owner": "team-a", "labels": {"tier": "gold"}, "sizeBytes": 1234,
                "createdAt": "2024-05-01T12:00:00Z", "progress": {"current": 5, "total": 10, "unit": "bytes"}}]
    async with client_for(Recorder([reply(200, payload)])) as client:
        [t] = await client.templates.list()
    assert t.template_id == "tmpl_9"
    assert t.model_extra == {"owner": "team-a", "labels": {"tier": "gold"}}
    assert t.size_bytes == 1234
    assert isinstance(t.created_at, datetime) and t.created_at.year == 2024
    assert t.progress is not None and t.progress.fraction == 0.5
    assert t.progress.model_extra == {"unit": "bytes"}
    wire = t.model_dump(mode="json", by_alias=True)
    assert wire["templateId"] == "tmpl_9" and wire["owner"] == "team-a" and wire["sizeBytes"] == 1234


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", [row("tmpl_7"), {"template": row("tmpl_7")}, {"data": row("tmpl_7")}])
async def test_get_accepts_wrapped_items(payload: Any) -> None:
    rec = Recorder([reply(200, payload)])
    async with client_for(rec) as client:
        t = await client.templates.get("tmpl_7")
    assert t.template_id == "tmpl_7"
    assert rec.requests[0].url == f"{BASE}/container-templates/tmpl_7"


@pytest.mark.asyncio
async def test_saved_templates_and_instances_lists() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/saved-templates":
            return reply(200, {"savedTemplates": [{"templateName": "web", "sizeBytes": 10, "instanceId": "i1"}]})
        return reply(200, {"instances": [{"id": "inst_1", "name": "box", "containerTemplateId": "tmpl_1"}]})

    async with client_for(Recorder([handler])) as client:
        [saved] = await client.saved_templates.list()
        [inst] = await client.instances.list()
    assert (saved.name, saved.size_bytes, saved.source_instance_id) == ("web", 10, "i1")
    assert (inst.instance_id, inst.container_template_id) == ("inst_1", "tmpl_1")


@pytest.mark.asyncio
async def test_saved_template_delete_quotes_the_name() -> None:
    rec = Recorder([reply(204)])
    async with client_for(rec) as client:
        assert await client.saved_templates.delete("my template/v1") is None
    assert rec.requests[0].method == "DELETE"
    assert rec.requests[0].url.raw_path == b"/saved-templates/my%20template%2Fv1"


@pytest.mark.asyncio
@pytest.mark.parametrize("payload", [{"unexpected": True}, {"templates": None}, "nope", [{"name": "no id"}]])
async def test_list_answer_without_a_list_is_a_typed_error(payload: Any) -> None:
    # A caller (and the CLI, which catches In10ntError) must get a sentence, not a bare ValueError.
    async with client_for(Recorder([reply(200, payload)])) as client:
        with pytest.raises(In10ntError):
            await client.templates.list()


@pytest.mark.asyncio
async def test_answer_that_is_not_json() -> None:
    rec = Recorder([reply(200, text="<html>hello</html>", content_type="text/html")])
    async with client_for(rec) as client:
        with pytest.raises(APIError) as info:
            await client.templates.get("tmpl_1")
    assert str(info.value) == f"{BASE} answered /container-templates/tmpl_1 with something that is not JSON."


# -- error bodies ---------------------------------------------------------------------------------

ERROR_CASES: list[tuple[int, httpx.Response, type[APIError], str, dict[str, Any]]] = [
    (422, reply(422, {"error": {"code": "invalid", "message": "Enter the registry username.",
                                "field": "registryAuth.username"}}),
     ValidationError, "Enter the registry username.", {"field": "registryAuth.username", "code": "invalid"}),
    (404, reply(404, {"error": "Template tmpl_x does not exist."}),
     NotFoundError, "Template tmpl_x does not exist.", {"code": None}),
    (409, reply(409, {"message": "A template named py exists.", "code": "name_taken"}),
     ConflictError, "A template named py exists.", {"code": "name_taken"}),
    (403, reply(403, {"detail": "This key cannot create templates."}),
     AuthenticationError, f"{BASE} rejected the API key (This key cannot create templates).", {"base_url": BASE}),
    (401, reply(401), AuthenticationError, f"{BASE} rejected the API key (HTTP 401).", {"base_url": BASE}),
    (401, reply(401, {"error": {"code": "unauthorized", "message": "Missing or wrong API token."}}),
     AuthenticationError, f"{BASE} rejected the API key (Missing or wrong API token).", {"code": "unauthorized"}),
    (403, reply(403, {"error": {"code": "forbidden_host", "message": "This engine only answers 127.0.0.1."}}),
     AuthenticationError, "This engine only answers 127.0.0.1.", {"base_url": None}),
    (422, reply(422, {"detail": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]}),
     ValidationError, "Field required", {"field": "name", "code": "invalid"}),
    (400, reply(400, {"error": "name is required", "field": "name"}),
     ValidationError, "name is required", {"field": "name", "status": 400}),
    (429, reply(429, {"error": {"code": "rate_limited", "message": "Slow down."}}, headers={"Retry-After": "7"}),
     RateLimitError, "Slow down.", {"retry_after": 7.0}),
    (429, reply(429), RateLimitError, "Too many requests; try again shortly.", {"retry_after": None}),
    (500, reply(500, text="upstream connect error or disconnect\nreset reason: overflow"),
     ServerError, "upstream connect error or disconnect", {}),
    (500, reply(500, text="<!DOCTYPE html><html><body><h1>500</h1></body></html>", content_type="text/html"),
     ServerError, "The server answered 500 Internal Server Error.", {}),
    (404, reply(404, text="\n  <html><body>nginx</body></html>", content_type="text/html"),
     NotFoundError, "Not found.", {}),
    (500, reply(500, [1, 2]), ServerError, "The server answered 500 Internal Server Error.", {}),
    (418, reply(418, {"message": "I am a teapot"}), APIError, "I am a teapot", {}),
    (418, reply(418), APIError, "The server answered 418 I'm a teapot.", {}),
]


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "response", "cls", "message", "attrs"), ERROR_CASES)
async def test_error_bodies_map_to_typed_errors(status: int, response: httpx.Response, cls: type[APIError],
                                                message: str, attrs: dict[str, Any]) -> None:
    async with client_for(Recorder([response]), retries=0) as client:
        with pytest.raises(APIError) as info:
            await client.templates.get("tmpl_x")
    err = info.value
    assert type(err) is cls
    assert str(err) == message
    assert err.status == status
    for name, value in attrs.items():
        assert getattr(err, name) == value, name
    assert isinstance(err, In10ntError)


@pytest.mark.asyncio
async def test_pydantic_detail_list_names_the_nested_wire_field() -> None:
    # The engine itself reports nested fields as "registryAuth.password" (loc minus "body"); the SDK must
    # say the same for a server that sends FastAPI's raw shape, not just the last path part.
    detail = [{"loc": ["body", "registryAuth", "password"], "msg": "Field required", "type": "missing"}]
    async with client_for(Recorder([reply(422, {"detail": detail})])) as client:
        with pytest.raises(ValidationError) as info:
            await client.templates.create(name="n", image="i", registry_type="private",
                                          registry_auth=RegistryAuth(username="u", password=SecretStr("p")))
    assert str(info.value) == "Field required"
    assert info.value.field == "registryAuth.password"


# -- retries ----------------------------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_get_is_retried_on_transient_status(status: int, sleeps: list[float]) -> None:
    rec = Recorder([reply(status, text="busy"), reply(status, text="busy"), reply(200, [row()])])
    async with client_for(rec) as client:
        templates = await client.templates.list()
    assert [t.template_id for t in templates] == ["tmpl_1"]
    assert rec.calls == 3
    assert sleeps == [0.0, 0.0]


@pytest.mark.asyncio
async def test_backoff_grows_with_jitter(sleeps: list[float]) -> None:
    rec = Recorder([reply(503), reply(503), reply(503), reply(200, [])])
    async with client_for(rec, backoff=0.5) as client:
        assert await client.templates.list() == []
    assert rec.calls == 4
    assert len(sleeps) == 3
    for attempt, delay in enumerate(sleeps):
        base = 0.5 * 2 ** attempt
        assert base * 0.75 <= delay <= base * 1.25


@pytest.mark.asyncio
async def test_gives_up_after_retries_with_the_last_error(sleeps: list[float]) -> None:
    rec = Recorder([reply(503, {"error": {"code": "busy", "message": "Engine is restarting."}})])
    async with client_for(rec, retries=2) as client:
        with pytest.raises(ServerError) as info:
            await client.templates.list()
    assert str(info.value) == "Engine is restarting."
    assert info.value.status == 503
    assert rec.calls == 3
    assert len(sleeps) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [500, 400, 404, 409])
async def test_non_transient_errors_are_not_retried(status: int, sleeps: list[float]) -> None:
    rec = Recorder([reply(status, {"error": "nope"})])
    async with client_for(rec) as client:
        with pytest.raises(APIError):
            await client.templates.list()
    assert rec.calls == 1
    assert sleeps == []


@pytest.mark.asyncio
async def test_transport_error_is_retried_then_names_the_base_url(sleeps: list[float]) -> None:
    rec = Recorder([httpx.ConnectError("[Errno 111] Connection refused")])
    async with client_for(rec) as client:
        with pytest.raises(ConnectionFailedError) as info:
            await client.templates.list()
    assert rec.calls == 4
    assert len(sleeps) == 3
    assert str(info.value) == f"Cannot reach {BASE}: connection refused."


@pytest.mark.asyncio
async def test_transport_error_then_success(sleeps: list[float]) -> None:
    rec = Recorder([httpx.ConnectError("refused"), httpx.ReadError("reset"), reply(200, [row()])])
    async with client_for(rec) as client:
        assert len(await client.templates.list()) == 1
    assert rec.calls == 3


@pytest.mark.asyncio
async def test_timeout_sentence(sleeps: list[float]) -> None:
    rec = Recorder([httpx.ReadTimeout("timed out")])
    async with client_for(rec, retries=1) as client:
        with pytest.raises(ConnectionFailedError) as info:
            await client.templates.get("tmpl_1")
    assert str(info.value) == f"{BASE} did not answer in time."
    assert rec.calls == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(("retry_after", "expected"), [("2", 2.0), ("0", 0.0), ("120", MAX_RETRY_AFTER),
                                                       ("1.5", 1.5)])
async def test_rate_limit_honours_retry_after_capped(retry_after: str, expected: float, sleeps: list[float]) -> None:
    assert MAX_RETRY_AFTER == 30.0
    rec = Recorder([reply(429, headers={"Retry-After": retry_after}), reply(200, [])])
    async with client_for(rec, backoff=10) as client:
        assert await client.templates.list() == []
    assert rec.calls == 2
    assert sleeps == [expected]


@pytest.mark.asyncio
async def test_rate_limit_without_retry_after_uses_backoff(sleeps: list[float]) -> None:
    rec = Recorder([reply(429), reply(200, [])])
    async with client_for(rec, backoff=1) as client:
        await client.templates.list()
    assert len(sleeps) == 1 and 0.75 <= sleeps[0] <= 1.25


@pytest.mark.asyncio
async def test_rate_limit_that_persists_raises_with_retry_after(sleeps: list[float]) -> None:
    rec = Recorder([reply(429, {"message": "Slow down."}, headers={"Retry-After": "600"})])
    async with client_for(rec) as client:
        with pytest.raises(RateLimitError) as info:
            await client.templates.list()
    assert rec.calls == 4
    assert sleeps == [MAX_RETRY_AFTER] * 3
    assert info.value.retry_after == 600.0
    assert str(info.value) == "Slow down."


@pytest.mark.asyncio
async def test_create_sends_an_idempotency_key_and_reuses_it_on_retry(sleeps: list[float]) -> None:
    rec = Recorder([reply(503), reply(201, row())])
    async with client_for(rec) as client:
        t = await client.templates.create(name="py", image="python:3.11-slim")
    assert t.template_id == "tmpl_1"
    assert rec.calls == 2
    keys = [r.headers.get("idempotency-key") for r in rec.requests]
    assert keys[0] and keys[0] == keys[1]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", keys[0])
    assert [r.method for r in rec.requests] == ["POST", "POST"]
    assert json.loads(rec.requests[0].content) == json.loads(rec.requests[1].content)


@pytest.mark.asyncio
async def test_each_create_gets_its_own_key_unless_given() -> None:
    rec = Recorder([reply(201, row())])
    async with client_for(rec) as client:
        await client.templates.create(name="a", image="python")
        await client.templates.create(name="b", image="python")
        await client.templates.create(name="c", image="python", idempotency_key="my-key-1")
    keys = [r.headers["idempotency-key"] for r in rec.requests]
    assert keys[0] != keys[1]
    assert keys[2] == "my-key-1"


@pytest.mark.asyncio
async def test_create_body_is_camel_case_with_auth() -> None:
    rec = Recorder([reply(201, {"template": row(registryType="private")})])
    async with client_for(rec) as client:
        t = await client.templates.create(name="py", image="localhost:5000/x:1", registry_type="private",
                                          description="desc",
                                          registry_auth=RegistryAuth(username="u", password=SecretStr("pw")))
    assert t.registry_type == "private"
    assert json.loads(rec.requests[0].content) == {
        "name": "py", "image": "localhost:5000/x:1", "registryType": "private", "description": "desc",
        "registryAuth": {"username": "u", "password": "pw"}}
    assert rec.requests[0].headers["content-type"] == "application/json"


@pytest.mark.asyncio
async def test_create_without_optional_fields_omits_them() -> None:
    rec = Recorder([reply(201, row())])
    async with client_for(rec) as client:
        await client.templates.create(name="py", image="python")
    assert json.loads(rec.requests[0].content) == {"name": "py", "image": "python", "registryType": "dockerhub"}


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", [reply(503), reply(429, headers={"Retry-After": "1"}),
                                     httpx.ConnectError("refused")])
async def test_post_without_key_is_not_retried(failure: httpx.Response | Exception, sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return reply(200, {"instanceId": "inst_1", "name": "box", "status": "running"})
        if isinstance(failure, Exception):
            raise failure
        return failure

    rec = Recorder([handler])
    async with client_for(rec) as client:
        inst = await client.instances.get("inst_1")
        with pytest.raises(In10ntError):
            await inst.run("Train classifier")
    posts = [r for r in rec.requests if r.method == "POST"]
    assert len(posts) == 1
    assert "idempotency-key" not in posts[0].headers
    assert json.loads(posts[0].content) == {"task": "Train classifier"}
    assert sleeps == []


@pytest.mark.asyncio
async def test_instance_create_and_snapshot_carry_keys(sleeps: list[float]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/instances":
            return reply(201, {"instance": {"instanceId": "inst_1", "name": "box"}})
        return reply(201, {"savedTemplate": {"name": "web-app-template", "sourceInstanceId": "inst_1"}})

    rec = Recorder([handler])
    async with client_for(rec) as client:
        inst = await client.instances.create(name="box", container_template_id="tmpl_1")
        saved = await inst.snapshot("web-app-template")
    assert inst.instance_id == "inst_1"
    assert saved.name == "web-app-template" and saved.source_instance_id == "inst_1"
    assert all(r.headers.get("idempotency-key") for r in rec.requests)
    assert json.loads(rec.requests[0].content) == {"name": "box", "containerTemplateId": "tmpl_1"}
    assert rec.requests[1].url.path == "/instances/inst_1/snapshot"
    assert json.loads(rec.requests[1].content) == {"templateName": "web-app-template"}


# -- wait_until_ready ---------------------------------------------------------------------------------

def build_server(statuses: list[dict[str, Any]], final: dict[str, Any] | None = None) -> Recorder:
    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/container-templates" and request.method == "POST":
            return reply(201, row())
        if path.endswith("/status"):
            answer = statuses.pop(0) if len(statuses) > 1 else statuses[0]
            return reply(200, {"templateId": "tmpl_1", "updatedAt": "2024-05-01T12:00:00Z", **answer})
        return reply(200, final or row())

    return Recorder([handler])


@pytest.mark.asyncio
async def test_wait_until_ready_returns_the_refreshed_template() -> None:
    rec = build_server([{"status": "building", "progress": {"current": 1, "total": 4}},
                        {"status": "building", "progress": {"current": 3, "total": 4}}, {"status": "ready"}],
                       final=row(status="ready", digest="sha256:abc", sizeBytes=99, extraField="kept"))
    seen: list[StatusInfo] = []
    async with client_for(rec) as client:
        t = await client.templates.create(name="py", image="python")
        same = await t.wait_until_ready(timeout=5, poll_interval=0.001, on_poll=seen.append)
    assert same is t
    assert (t.status, t.digest, t.size_bytes) == ("ready", "sha256:abc", 99)
    assert t.model_extra is not None and t.model_extra.get("extraField") == "kept"
    assert [s.status for s in seen] == ["building", "building", "ready"]
    assert seen[0].progress is not None and seen[0].progress.fraction == 0.25
    assert [r.url.path for r in rec.requests].count("/container-templates/tmpl_1/status") == 3


@pytest.mark.asyncio
async def test_wait_until_ready_raises_build_failed_with_the_reason() -> None:
    reason = "Image or tag not found on Docker Hub: library/pyhton:3.11."
    rec = build_server([{"status": "building"}, {"status": "failed", "error": reason}])
    async with client_for(rec) as client:
        t = await client.templates.create(name="py", image="pyhton:3.11")
        with pytest.raises(BuildFailedError) as info:
            await t.wait_until_ready(timeout=5, poll_interval=0.001)
    assert info.value.template_id == "tmpl_1"
    assert info.value.reason == reason
    assert str(info.value) == f"Template tmpl_1 failed to build: {reason}"
    assert t.status == "failed" and t.error == reason


@pytest.mark.asyncio
async def test_build_failed_without_a_reason() -> None:
    rec = build_server([{"status": "failed", "error": None}])
    async with client_for(rec) as client:
        t = await client.templates.create(name="py", image="python")
        with pytest.raises(BuildFailedError) as info:
            await t.wait_until_ready(timeout=5, poll_interval=0.001)
    assert str(info.value) == "Template tmpl_1 failed to build: no reason given"


@pytest.mark.asyncio
async def test_wait_until_ready_times_out() -> None:
    rec = build_server([{"status": "building"}])
    async with client_for(rec) as client:
        t = await client.templates.create(name="py", image="python")
        with pytest.raises(WaitTimeoutError) as info:
            await t.wait_until_ready(timeout=0.05, poll_interval=0.01)
    assert str(info.value) == "Template tmpl_1 was still building after 0.05 s."
    assert isinstance(info.value, In10ntError)
    assert 2 <= rec.calls <= 20


def test_unbound_template_says_so() -> None:
    with pytest.raises(RuntimeError, match="not bound to a client"):
        Template.model_validate(row())._core()


# -- headers and construction ---------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_authorization_header_carries_the_key() -> None:
    rec = Recorder([reply(200, [])])
    async with client_for(rec, api_key="sk-abc") as client:
        await client.templates.list()
        client.set_api_key("sk-new")
        await client.templates.list()
        client.set_api_key(None)
        await client.templates.list()
    assert rec.requests[0].headers["authorization"] == "Bearer sk-abc"
    assert rec.requests[1].headers["authorization"] == "Bearer sk-new"
    assert "authorization" not in rec.requests[2].headers
    assert rec.requests[0].headers["user-agent"] == f"in10nt-desktop/{__version__}"
    assert rec.requests[0].headers["accept"] == "application/json"


@pytest.mark.asyncio
async def test_base_url_trailing_slash_and_path_prefix() -> None:
    rec = Recorder([reply(200, [])])
    async with In10ntClient(base_url="http://api.test/v1/", api_key="k", transport=httpx.MockTransport(rec),
                            backoff=0) as client:
        assert client.base_url == "http://api.test/v1"
        await client.templates.list()
    assert str(rec.requests[0].url) == "http://api.test/v1/container-templates"


@pytest.mark.asyncio
async def test_from_env_reads_base_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IN10NT_BASE_URL", "http://env.test/")
    monkeypatch.setenv("IN10NT_API_KEY", "sk-from-env")
    rec = Recorder([reply(200, [])])
    async with In10ntClient.from_env(transport=httpx.MockTransport(rec), backoff=0) as client:
        assert client.base_url == "http://env.test"
        await client.templates.list()
    assert str(rec.requests[0].url) == "http://env.test/container-templates"
    assert rec.requests[0].headers["authorization"] == "Bearer sk-from-env"


@pytest.mark.asyncio
@pytest.mark.parametrize("blank", [None, ""])
async def test_from_env_defaults_to_the_hosted_service(monkeypatch: pytest.MonkeyPatch, blank: str | None) -> None:
    for var in ("IN10NT_BASE_URL", "IN10NT_API_KEY"):
        if blank is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, blank)
    rec = Recorder([reply(200, [])])
    async with In10ntClient.from_env(transport=httpx.MockTransport(rec)) as client:
        assert client.base_url == HOSTED_BASE_URL == "https://in10t-api-v2.fly.dev"
        assert repr(client) == "In10ntClient(base_url='https://in10t-api-v2.fly.dev', api_key=<none>)"
        await client.templates.list()
    assert "authorization" not in rec.requests[0].headers


@pytest.mark.asyncio
async def test_health_true_when_the_server_answers() -> None:
    async with client_for(Recorder([reply(200, {"status": "ok"})])) as client:
        assert await client.health() is True


@pytest.mark.asyncio
async def test_health_counts_a_404_as_answering() -> None:
    # Documented: "the hosted service may have no /healthz, so a 404 counts".
    async with client_for(Recorder([reply(404, text="Not Found")])) as client:
        assert await client.health() is True


@pytest.mark.asyncio
async def test_health_false_when_unreachable() -> None:
    rec = Recorder([httpx.ConnectError("refused")])
    async with client_for(rec) as client:
        assert await client.health() is False
    assert rec.calls == 1  # a health probe does not retry

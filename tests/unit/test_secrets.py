"""The API key, registry passwords and the engine token never show in a repr, a message or a log line."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from pydantic import SecretStr

import in10nt_desktop.api.http as http_mod
from in10nt_desktop.api import In10ntClient, In10ntError, RegistryAuth, ValidationError
from in10nt_desktop.cli.output import print_json
from in10nt_desktop.engine.app import EngineConfig
from in10nt_desktop.engine.mirrors import endpoint_for
from in10nt_desktop.engine.registry import RegistryError, RegistrySession

if TYPE_CHECKING:
    from .conftest import Loopback

API_KEY = "sk-live-SECRET"
PASSWORD = "hunter2-REGISTRY-PASSWORD"
SECRETS = (API_KEY, PASSWORD)


def assert_clean(*texts: object) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in str(text), f"secret leaked in: {text!r}"


def auth() -> RegistryAuth:
    return RegistryAuth(username="robot", password=SecretStr(PASSWORD))


def template_row(**over: Any) -> dict[str, Any]:
    out = {"templateId": "tmpl_1", "name": "py", "image": "localhost:5000/x:1", "registryType": "private",
           "status": "building", "error": None}
    out.update(over)
    return out


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_sleep(_delay: float) -> None:
        return None

    monkeypatch.setattr(http_mod, "asyncio", SimpleNamespace(sleep=fake_sleep))


def mock_client(handler: Any, **kw: Any) -> In10ntClient:
    return In10ntClient(base_url="http://api.test", api_key=API_KEY, transport=httpx.MockTransport(handler),
                        backoff=0, **kw)


def records_text(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        if record.exc_info:
            out.append("".join(traceback.format_exception(*record.exc_info)))
    return out


# -- reprs --------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_client_repr_and_str_hide_the_key() -> None:
    async with In10ntClient(base_url="http://api.test", api_key=API_KEY) as client:
        assert repr(client) == "In10ntClient(base_url='http://api.test', api_key=<set>)"
        assert_clean(repr(client), str(client), f"{client}", f"{client!r}")


def test_registry_auth_repr_hides_the_password() -> None:
    a = auth()
    assert_clean(repr(a), str(a), a.model_dump(), a.model_dump_json(), repr(a.password))
    assert "robot" in repr(a)
    assert a.to_wire() == {"username": "robot", "password": PASSWORD}  # only the wire body carries it


@pytest.mark.asyncio
async def test_created_template_does_not_carry_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(201, json=template_row())

    async with mock_client(handler) as client:
        t = await client.templates.create(name="py", image="localhost:5000/x:1", registry_type="private",
                                          registry_auth=auth())
    assert sent[0]["registryAuth"]["password"] == PASSWORD
    print_json(t)
    assert_clean(repr(t), str(t), t.model_dump(), t.model_dump_json(), vars(t), capsys.readouterr().out)


# -- exception messages ---------------------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("answer", [
    {"error": {"code": "invalid", "message": "Credentials look wrong.", "field": "registryAuth.password"}},
    {"detail": [{"loc": ["body", "registryAuth", "password"], "msg": "String should have at most 8 characters",
                 "type": "string_too_long", "input": PASSWORD, "ctx": {"max_length": 8}}]},
    {"detail": [{"loc": ["body", "registryAuth"], "msg": "Invalid credentials", "input": {"username": "robot",
                                                                                         "password": PASSWORD}}]},
])
async def test_422_error_does_not_repeat_the_request(answer: dict[str, Any]) -> None:
    async with mock_client(lambda _r: httpx.Response(422, json=answer)) as client:
        with pytest.raises(ValidationError) as info:
            await client.templates.create(name="py", image="localhost:5000/x:1", registry_type="private",
                                          registry_auth=auth())
    err = info.value
    assert err.field is not None and err.field.endswith(("password", "registryAuth"))
    assert_clean(str(err), repr(err), err.args, err.message, "".join(traceback.format_exception(err)))


@pytest.mark.asyncio
@pytest.mark.parametrize("failure", [httpx.ConnectError("[Errno 111] Connection refused"),
                                     httpx.ReadTimeout("timed out"), "503", "401"])
async def test_failures_after_retries_do_not_leak(failure: Any, no_sleep: None,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        if isinstance(failure, Exception):
            raise failure
        return httpx.Response(int(failure), text="nope")

    caplog.set_level(logging.DEBUG)
    async with mock_client(handler) as client:
        with pytest.raises(In10ntError) as info:
            await client.templates.create(name="py", image="localhost:5000/x:1", registry_type="private",
                                          registry_auth=auth())
        with pytest.raises(In10ntError):
            await client.templates.list()
    assert_clean(str(info.value), repr(info.value), "".join(traceback.format_exception(info.value)))
    assert caplog.records, "the retries should be logged at DEBUG"
    assert_clean(*records_text(caplog))


# -- logs over a real socket (httpx and httpcore debug traces) -------------------------------------------

@pytest.mark.asyncio
async def test_debug_logs_over_a_real_connection_hold_no_secrets(loopback: Loopback, no_sleep: None,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    answers = iter([(503, {"error": {"code": "busy", "message": "Busy."}}), (200, [template_row()])])
    loopback.routes[("GET", "/container-templates")] = lambda _seen: next(answers)
    loopback.routes[("POST", "/container-templates")] = (422, {"error": {
        "code": "invalid", "message": "Credentials look wrong.", "field": "registryAuth.password"}})
    caplog.set_level(logging.DEBUG)
    async with In10ntClient(base_url=loopback.url, api_key=API_KEY, backoff=0) as client:
        assert len(await client.templates.list()) == 1
        with pytest.raises(ValidationError):
            await client.templates.create(name="py", image="localhost:5000/x:1", registry_type="private",
                                          registry_auth=auth())
    assert loopback.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert PASSWORD in loopback.requests[-1].body.decode()  # it did go over the wire, once per request
    names = {r.name for r in caplog.records}
    assert any(n.startswith("httpcore") for n in names), names  # the wire-level traces were captured
    assert any(n == "in10nt_desktop.api.http" for n in names), names  # and the retry
    assert_clean(*records_text(caplog))


# -- engine side ---------------------------------------------------------------------------------------

def test_engine_config_repr_hides_the_token(tmp_path: Path) -> None:
    token = "tok-ENGINE-SECRET"
    config = EngineConfig(data_dir=tmp_path, token=token, mirrors={"docker.io": "http://127.0.0.1:5000"})
    for text in (repr(config), str(config), f"{config}"):
        assert token not in text
        assert "token=<hidden>" in text
        assert str(tmp_path) in text


@pytest.mark.asyncio
@pytest.mark.parametrize("scheme", ["basic", "bearer"])
async def test_registry_rejection_names_the_registry_not_the_password(scheme: str,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/token":
            return httpx.Response(401, json={"details": "incorrect username or password"})
        challenge = ('Basic realm="Registry Realm"' if scheme == "basic"
                     else 'Bearer realm="http://localhost:5000/token",service="reg",scope="repository:team/app:pull"')
        return httpx.Response(401, headers={"WWW-Authenticate": challenge},
                              json={"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]})

    caplog.set_level(logging.DEBUG)
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        session = RegistrySession(http, endpoint_for("localhost:5000", {}), "team/app", ("robot", PASSWORD))
        with pytest.raises(RegistryError) as info:
            await session.manifest("1")
    assert info.value.kind == "auth"
    assert str(info.value).startswith("Credentials rejected by localhost:5000")
    assert "check the username and password" in str(info.value)
    assert any("authorization" in r.headers for r in seen)  # the credentials were really tried
    assert_clean(str(info.value), repr(info.value), *records_text(caplog))


@pytest.mark.asyncio
async def test_a_server_that_echoes_registry_auth_does_not_put_it_in_the_row(
        capsys: pytest.CaptureFixture[str]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(201, json={**template_row(), "registryAuth": {"username": "robot",
                                                                             "password": PASSWORD}})

    async with mock_client(handler) as client:
        t = await client.templates.create(name="py", image="localhost:5000/x:1", registry_type="private",
                                          registry_auth=auth())
    print_json(t)
    assert_clean(repr(t), t.model_dump_json(), capsys.readouterr().out)

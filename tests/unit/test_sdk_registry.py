"""``client.registry`` against servers without the check (the hosted service may have none): the
feature is reported missing, never faked; and the request shapes the SDK sends."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from pydantic import SecretStr

from in10nt_desktop.api import In10ntClient, NotFoundError, RegistryAuth
from in10nt_desktop.cli.main import main

if TYPE_CHECKING:
    from .conftest import Loopback, Seen

PASSWORD = "s3cret-REGISTRY-PW"


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "available"), [(404, False), (405, False), (422, True), (200, True)])
async def test_available_follows_the_answer_to_an_empty_check(loopback: Loopback, status: int,
                                                              available: bool) -> None:
    loopback.routes[("POST", "/registry/check")] = (status, {"error": {"code": "x", "message": "m"}})
    async with In10ntClient(loopback.url, "k", retries=0) as client:
        assert await client.registry.available() is available
    assert json.loads(loopback.requests[0].body) == {}


@pytest.mark.asyncio
async def test_check_sends_the_create_fields_and_keeps_unknown_answer_fields(loopback: Loopback) -> None:
    def answer(seen: Seen) -> tuple[int, Any]:
        return 200, {"ok": True, "digest": "sha256:" + "a" * 64, "platforms": ["linux/amd64"], "sizeBytes": 5,
                     "layers": 1, "needsCredentials": False, "error": None, "cacheHit": True}

    loopback.routes[("POST", "/registry/check")] = answer
    async with In10ntClient(loopback.url, "k") as client:
        result = await client.registry.check("registry.example.com/a/b:1", registry_type="private", timeout=3,
                                             registry_auth=RegistryAuth(username="u", password=SecretStr(PASSWORD)))
    assert result.ok and result.size_bytes == 5 and result.model_extra == {"cacheHit": True}
    assert PASSWORD not in repr(result)
    assert json.loads(loopback.requests[0].body) == {
        "image": "registry.example.com/a/b:1", "registryType": "private", "timeoutSeconds": 3,
        "registryAuth": {"username": "u", "password": PASSWORD}}
    assert len(loopback.requests) == 1  # a check is never retried


@pytest.mark.asyncio
@pytest.mark.parametrize(("image", "implied"), [("python:3.11-slim", "dockerhub"), ("gcr.io/p/i:1", "gcr"),
                                                ("registry.example.com/a/b:1", "private"), ("Bad Image", "dockerhub")])
async def test_check_sends_the_registry_type_the_image_implies(loopback: Loopback, image: str, implied: str) -> None:
    loopback.routes[("POST", "/registry/check")] = (200, {"ok": True})
    async with In10ntClient(loopback.url, "k") as client:
        await client.registry.check(image)
    assert json.loads(loopback.requests[0].body)["registryType"] == implied


@pytest.mark.asyncio
async def test_drift_path_is_encoded_and_a_server_without_it_is_a_not_found(loopback: Loopback) -> None:
    async with In10ntClient(loopback.url, "k") as client:
        with pytest.raises(NotFoundError):
            await client.templates.drift("a/b?c")
    assert loopback.requests[0].path == "/container-templates/a%2Fb%3Fc/drift"


def test_cli_says_the_server_has_no_check(loopback: Loopback, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--base-url", loopback.url, "--api-key", "k", "images", "check", "python:3.11-slim"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.strip() == (f"error: {loopback.url} has no image check (POST /registry/check is an In10nt local "
                           "engine extension); create the template to find out, or use the local engine.")
    code = main(["--base-url", loopback.url, "--api-key", "k", "templates", "drift", "tmpl_1"])
    assert code == 1
    assert "has no image check" in capsys.readouterr().err

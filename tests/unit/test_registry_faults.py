"""Registry faults no local registry can be made to produce (Docker Hub's 429, a stalled read),
driven through the real resolver with ``httpx.MockTransport``."""

from __future__ import annotations

import hashlib
import socket
import ssl

import httpx
import pytest

from in10nt_desktop.api.validation import Credentials, parse_image
from in10nt_desktop.engine.registry import RegistryError
from in10nt_desktop.engine.resolver import resolve

TOKEN_CHALLENGE = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",' \
                  'scope="repository:library/python:pull"'


async def resolve_with(handler: httpx.MockTransport, image: str = "python:3.11-slim",
                       mirrors: dict[str, str] | None = None) -> RegistryError:
    async with httpx.AsyncClient(transport=handler) as client:
        with pytest.raises(RegistryError) as err:
            await resolve(client, parse_image(image), None, mirrors=mirrors or {})
    return err.value


@pytest.mark.asyncio
async def test_docker_hub_rate_limit_sentence() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "auth.docker.io":
            assert request.url.params["scope"] == "repository:library/python:pull"
            return httpx.Response(200, json={"token": "t"})
        if "Authorization" not in request.headers:
            return httpx.Response(401, headers={"WWW-Authenticate": TOKEN_CHALLENGE})
        return httpx.Response(429, json={"errors": [{"code": "TOOMANYREQUESTS", "message": "pull rate limit"}]})

    err = await resolve_with(httpx.MockTransport(handler))
    assert err.kind == "rate_limit"
    assert str(err) == ("Docker Hub rate limit reached: sign in with a Docker Hub account (username and access "
                        "token) or try again later.")
    assert seen[0] == "https://registry-1.docker.io/v2/library/python/manifests/3.11-slim"


@pytest.mark.asyncio
async def test_other_registry_rate_limit_names_it() -> None:
    err = await resolve_with(httpx.MockTransport(lambda r: httpx.Response(429)), "quay.io/org/app:1")
    assert str(err) == "quay.io is rate limiting requests; try again later."


@pytest.mark.asyncio
async def test_stalled_registry_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    err = await resolve_with(httpx.MockTransport(handler), "registry.example.com/team/app:1")
    assert err.kind == "timeout"
    assert str(err) == "Registry registry.example.com did not answer in time (timeout)."


@pytest.mark.asyncio
async def test_registry_5xx_is_a_try_later() -> None:
    err = await resolve_with(httpx.MockTransport(lambda r: httpx.Response(503)), "registry.example.com/a/b:1")
    assert str(err) == "registry.example.com failed with HTTP 503; try again later."


@pytest.mark.asyncio
async def test_manifest_that_does_not_match_its_digest_is_refused() -> None:
    digest = "sha256:" + "0" * 64
    err = await resolve_with(httpx.MockTransport(lambda r: httpx.Response(
        200, json={"schemaVersion": 2}, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})),
        f"registry.example.com/a/b@{digest}")
    assert err.kind == "protocol"
    assert "does not match digest" in str(err)


@pytest.mark.asyncio
async def test_schema1_manifest_is_explained() -> None:
    err = await resolve_with(httpx.MockTransport(lambda r: httpx.Response(
        200, json={"schemaVersion": 1, "name": "a/b"},
        headers={"Content-Type": "application/vnd.docker.distribution.manifest.v1+prettyjws"})),
        "registry.example.com/a/b:old")
    assert "retired Docker schema 1" in str(err)


@pytest.mark.asyncio
async def test_credentials_are_offered_when_only_the_api_root_challenges() -> None:
    """Some registries answer a bare 403 on repositories and challenge only on ``/v2/``."""
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.path, request.headers.get("Authorization")))
        if request.url.path == "/v2/":
            return httpx.Response(401, headers={"WWW-Authenticate": 'Basic realm="corp"'})
        if "Authorization" not in request.headers:
            return httpx.Response(403)
        return httpx.Response(401)  # the credentials really are wrong

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(RegistryError) as err:
            await resolve(client, parse_image("registry.example.com/team/app:1"), Credentials("u", "pw"),
                          mirrors={})
    assert [p for p, _ in seen] == ["/v2/team/app/manifests/1", "/v2/", "/v2/team/app/manifests/1"]
    assert seen[-1][1] is not None and seen[-1][1].startswith("Basic ")
    assert str(err.value).startswith("Credentials rejected by registry.example.com")


@pytest.mark.asyncio
async def test_a_realm_over_plain_http_on_another_host_never_gets_the_password() -> None:
    sent_to: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_to.append(str(request.url))
        return httpx.Response(401, headers={"WWW-Authenticate": 'Bearer realm="http://evil.example/token",'
                                                                'service="x"'})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(RegistryError) as err:
            await resolve(client, parse_image("registry.example.com/team/app:1"), Credentials("u", "pw"),
                          mirrors={})
    assert not any("evil.example" in url for url in sent_to)
    assert "over plain HTTP; refused" in str(err.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(("cause", "kind", "sentence"), [
    (socket.gaierror(-2, "Name or service not known"), "unreachable",
     "Registry registry.example.com is unreachable (its name does not resolve)."),
    (ConnectionRefusedError(111, "Connection refused"), "unreachable",
     "Registry registry.example.com is unreachable (connection refused)."),
    (OSError(101, "Network is unreachable"), "unreachable",
     "Registry registry.example.com is unreachable (no network route to it)."),
])
async def test_transport_failures_are_named_like_the_sdk_names_them(cause: OSError, kind: str,
                                                                    sentence: str) -> None:
    # One describe_transport_error() serves the SDK and the registry client alike.
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("All connection attempts failed", request=request) from cause

    err = await resolve_with(httpx.MockTransport(handler), "registry.example.com/team/app:1")
    assert (err.kind, str(err)) == (kind, sentence)


@pytest.mark.asyncio
async def test_tls_failure_names_the_verification_reason() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cause = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
        cause.verify_message = "certificate has expired"
        raise httpx.ConnectError("handshake failed", request=request) from cause

    err = await resolve_with(httpx.MockTransport(handler), "registry.example.com/team/app:1")
    assert err.kind == "tls"
    assert str(err) == "TLS error talking to registry registry.example.com: certificate has expired."


@pytest.mark.asyncio
async def test_a_proxy_page_instead_of_a_manifest_is_a_sentence() -> None:
    page = b"<html><body>Please sign in to the corporate proxy</body></html>"
    err = await resolve_with(httpx.MockTransport(lambda r: httpx.Response(
        200, content=page, headers={"Content-Type": "text/html; charset=utf-8"})), "registry.example.com/a/b:1")
    assert err.kind == "protocol"
    assert str(err) == "registry.example.com did not answer with an image manifest (got text/html)."


@pytest.mark.asyncio
async def test_a_config_that_is_not_json_is_a_sentence() -> None:
    config = b"<html>blocked</html>"
    config_digest = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"digest": config_digest, "size": len(config)}, "layers": []}

    def handler(request: httpx.Request) -> httpx.Response:
        if "/blobs/" in request.url.path:
            return httpx.Response(200, content=config, headers={"Content-Type": "text/html"})
        return httpx.Response(200, json=manifest, headers={"Content-Type": manifest["mediaType"]})

    err = await resolve_with(httpx.MockTransport(handler), "registry.example.com/a/b:1")
    assert (err.kind, str(err)) == ("protocol", "registry.example.com did not answer with an image config "
                                                "(got text/html).")


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    from in10nt_desktop.engine.limits import MAX_JSON_DEPTH, json_too_deep

    assert not json_too_deep(b'{"a": "' + b"[" * 1000 + b'\\"[{"}')
    assert not json_too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert json_too_deep(b'{"a":' * 40 + b"1" + b"}" * 40)


@pytest.mark.asyncio
async def test_a_gzip_bomb_is_cut_at_the_manifest_cap() -> None:
    import gzip

    bomb = gzip.compress(b" " * (64 * 1024 * 1024))  # 64 MiB of spaces in ~64 kB
    err = await resolve_with(httpx.MockTransport(lambda r: httpx.Response(
        200, content=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})),
        "registry.example.com/a/b:1")
    assert str(err) == ("registry.example.com answered with a manifest or index larger than 4 MiB (the engine's "
                        "limit); refused.")


@pytest.mark.asyncio
async def test_a_layer_without_a_valid_digest_is_a_sentence() -> None:
    import json

    manifest = {"schemaVersion": 2, "config": {"digest": "sha256:" + "a" * 64, "size": 2},
                "layers": [{"digest": "../../../etc/passwd", "size": 1}]}
    err = await resolve_with(httpx.MockTransport(lambda r: httpx.Response(
        200, content=json.dumps(manifest).encode(),
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})), "registry.example.com/a/b:1")
    assert str(err) == "registry.example.com sent a manifest whose layer 1 has no valid digest."

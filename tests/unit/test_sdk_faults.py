"""SDK faults a real server will not produce on demand (httpx.MockTransport): lost answers, odd
Retry-After forms, permanent 5xx conditions, transport failures named by cause, IDs that need encoding."""

from __future__ import annotations

import socket
import ssl
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from in10nt_desktop.api import ConnectionFailedError, NotFoundError, ServerError
from in10nt_desktop.api.errors import describe_transport_error, parse_retry_after

from .test_sdk_shapes import BASE, Recorder, client_for, reply, row

# -- Retry-After ---------------------------------------------------------------------------------------

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("7", 7.0), (" 2.5 ", 2.5), ("-3", 0.0), ("", None), (None, None), ("soon", None),
    ("Wed, 01 May 2024 12:00:09 GMT", 9.0),      # IMF-fixdate
    ("Wednesday, 01-May-24 12:00:30 GMT", 30.0),  # obsolete RFC 850 form
    ("Wed May  1 12:01:00 2024", 60.0),           # asctime: no zone, means UTC
    ("Wed, 01 May 2024 11:59:00 GMT", 0.0),       # already past
])
def test_retry_after_seconds_or_http_date(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.asyncio
async def test_rate_limit_with_an_http_date_waits_until_then(sleeps: list[float]) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    rec = Recorder([reply(429, headers={"Retry-After": when}), reply(200, [])])
    async with client_for(rec) as client:
        assert await client.templates.list() == []
    assert len(sleeps) == 1
    assert 17.0 <= sleeps[0] <= 20.0  # whole seconds in the header, and a moment passes


# -- permanent 5xx conditions ------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_engine_without_container_engine_is_not_retried(sleeps: list[float]) -> None:
    # What engine/instances.py answers when no Docker or Podman runs: retrying only delays the sentence.
    rec = Recorder([reply(503, {"error": {"code": "no_container_engine",
                                          "message": "Instances need a container engine."}})])
    async with client_for(rec) as client:
        with pytest.raises(ServerError) as info:
            await client.instances.list()
    assert (rec.calls, sleeps) == (1, [])
    assert str(info.value) == "Instances need a container engine."
    assert info.value.code == "no_container_engine"


@pytest.mark.asyncio
@pytest.mark.parametrize("answer", [reply(503, text="Service Unavailable"), reply(502),
                                    reply(504, {"error": {"code": "upstream_timeout", "message": "slow"}})])
async def test_proxy_5xx_is_still_retried(answer: httpx.Response, sleeps: list[float]) -> None:
    rec = Recorder([answer, reply(200, [])])
    async with client_for(rec) as client:
        assert await client.instances.list() == []
    assert rec.calls == 2


# -- DELETE after a lost answer --------------------------------------------------------------------------

@pytest.mark.asyncio
@pytest.mark.parametrize("lost", [httpx.ReadError("connection reset"), reply(502), reply(504)])
async def test_retried_delete_that_finds_it_gone_succeeded(lost: httpx.Response | Exception,
                                                           sleeps: list[float]) -> None:
    # The first DELETE reached the server and deleted the template; its answer was lost on the way back.
    rec = Recorder([lost, reply(404, {"error": {"code": "not_found", "message": "No template with ID tmpl_1."}})])
    async with client_for(rec) as client:
        assert await client.templates.delete("tmpl_1") is None
    assert [r.method for r in rec.requests] == ["DELETE", "DELETE"]


@pytest.mark.asyncio
async def test_first_delete_404_is_still_not_found(sleeps: list[float]) -> None:
    rec = Recorder([reply(404, {"error": {"code": "not_found", "message": "No template with ID tmpl_x."}})])
    async with client_for(rec) as client:
        with pytest.raises(NotFoundError):
            await client.templates.delete("tmpl_x")
    assert rec.calls == 1


@pytest.mark.asyncio
async def test_delete_404_after_a_rate_limit_is_not_success(sleeps: list[float]) -> None:
    # A 429 means the server did nothing: the 404 after it is the truth.
    rec = Recorder([reply(429, headers={"Retry-After": "0"}), reply(404, {"error": "No such template."})])
    async with client_for(rec) as client:
        with pytest.raises(NotFoundError):
            await client.templates.delete("tmpl_x")


@pytest.mark.asyncio
async def test_instance_delete_after_a_lost_answer(sleeps: list[float]) -> None:
    rec = Recorder([reply(200, {"instanceId": "inst_1", "name": "box"}), httpx.ReadError("reset"),
                    reply(404, {"error": "gone"})])
    async with client_for(rec) as client:
        instance = await client.instances.get("inst_1")
        assert await instance.delete() is None


# -- IDs in paths ------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_template_ids_are_percent_encoded() -> None:
    odd = "tmpl_1/../../saved-templates/x?y#z %"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith(("/status", "/logs")):
            return reply(200, {"templateId": odd, "status": "ready", "lines": [], "next": 0})
        return reply(200, row(odd))

    rec = Recorder([answer])
    encoded = "tmpl_1%2F..%2F..%2Fsaved-templates%2Fx%3Fy%23z%20%25"
    async with client_for(rec) as client:
        template = await client.templates.get(odd)
        await client.templates.status(odd)
        await client.templates.logs(odd)
        await template.refresh()
        await template.status_info()
        await template.logs()
    paths = [r.url.raw_path for r in rec.requests]
    assert paths[0] == f"/container-templates/{encoded}".encode()
    assert paths[1] == f"/container-templates/{encoded}/status".encode()
    assert paths[2] == f"/container-templates/{encoded}/logs?after=0".encode()
    assert all(p.startswith(f"/container-templates/{encoded}".encode()) for p in paths)
    rec.answers = [reply(204), reply(200, {"instanceId": "inst/1", "name": "box"}), reply(204)]
    async with client_for(rec) as client:
        await client.templates.delete(odd)
        instance = await client.instances.get("inst/1")
        await instance.delete()
    assert [r.url.raw_path for r in rec.requests[-3:]] == [
        f"/container-templates/{encoded}".encode(), b"/instances/inst%2F1", b"/instances/inst%2F1"]


# -- transport failures, named by cause --------------------------------------------------------------------

def _chained(outer: httpx.TransportError, cause: BaseException) -> httpx.TransportError:
    outer.__cause__ = cause
    return outer


def _self_signed() -> ssl.SSLCertVerificationError:
    err = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    err.verify_message = "self-signed certificate in certificate chain"  # as the ssl module sets it
    return err


TRANSPORT_CASES = [
    (httpx.ReadTimeout("timed out"), "timeout", f"{BASE} did not answer in time."),
    (_chained(httpx.ConnectError("All connection attempts failed"), ConnectionRefusedError(111, "refused")),
     "unreachable", f"Cannot reach {BASE}: connection refused."),
    (_chained(httpx.ConnectError("All connection attempts failed"),
              socket.gaierror(-2, "Name or service not known")),
     "unreachable", f"Cannot reach {BASE}: its name does not resolve."),
    (httpx.ConnectError("[Errno 101] Network is unreachable"), "unreachable",
     f"Cannot reach {BASE}: no network route to it."),
    (_chained(httpx.ConnectError("handshake failed"), _self_signed()),
     "tls", f"TLS error talking to {BASE}: self-signed certificate in certificate chain."),
    (httpx.ConnectError("[SSL: WRONG_VERSION_NUMBER] wrong version number"), "tls",
     f"TLS error talking to {BASE}: the certificate was not accepted."),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), "unreachable",
     f"Cannot reach {BASE}: Server disconnected without sending a response."),
]


@pytest.mark.parametrize(("exc", "kind", "_sentence"), TRANSPORT_CASES)
def test_describe_transport_error_kinds(exc: httpx.TransportError, kind: str, _sentence: str) -> None:
    assert describe_transport_error(exc)[0] == kind


@pytest.mark.asyncio
@pytest.mark.parametrize(("exc", "_kind", "sentence"), TRANSPORT_CASES)
async def test_sdk_transport_sentences(exc: httpx.TransportError, _kind: str, sentence: str,
                                       sleeps: list[float]) -> None:
    async with client_for(Recorder([exc]), retries=0) as client:
        with pytest.raises(ConnectionFailedError) as info:
            await client.templates.list()
    assert str(info.value) == sentence


# -- waits -----------------------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_a_wait_retries_a_500_and_honours_retry_after_on_a_503() -> None:
    status = {"templateId": "tmpl_1", "updatedAt": "2024-05-01T12:00:00Z"}
    rec = Recorder([reply(500), reply(503, headers={"Retry-After": "0"}), reply(200, {**status, "status": "ready"}),
                    reply(200, row(status="ready"))])
    retried: list[tuple[str, float]] = []
    async with client_for(rec) as client:
        template = await client.templates.wait_until_ready(
            "tmpl_1", timeout=5, poll_interval=0.01, on_retry=lambda err, delay: retried.append((str(err), delay)))
    assert template.status == "ready"
    assert [d for _e, d in retried][1] == 0.0  # the 503's Retry-After
    assert len(retried) == 2 and retried[0][0].startswith("The server")


@pytest.mark.asyncio
async def test_a_wait_stops_at_once_on_an_answer_a_retry_cannot_change() -> None:
    rec = Recorder([reply(404, {"error": {"code": "not_found", "message": "No template with ID tmpl_1."}})])
    retried: list[object] = []
    async with client_for(rec) as client:
        with pytest.raises(NotFoundError):
            await client.templates.wait_until_ready("tmpl_1", timeout=5, poll_interval=0.01,
                                                    on_retry=lambda err, delay: retried.append(err))
    assert (rec.calls, retried) == (1, [])

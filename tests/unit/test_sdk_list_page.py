"""``client.templates.list_page`` against shapes the hosted service may answer with (httpx.MockTransport):
no paging, no ETag, envelopes, odd Link headers. The local engine's paging and 304s are tested
against the real engine (tests/engine/test_list_paging.py and tests/gui/test_templates_load.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from in10nt_desktop.api import APIError, In10ntClient

BASE = "http://api.test"


def row(i: int, **extra: Any) -> dict[str, Any]:
    return {"templateId": f"tmpl_{i}", "name": f"t{i}", "image": "busybox:1", "registryType": "dockerhub",
            "status": "ready", "createdAt": "2024-05-01T12:00:00Z", **extra}


class Server:
    """Answers every list request with ``body`` (and ``headers``); records what was asked."""

    def __init__(self, body: Any, headers: dict[str, str] | None = None, status: int = 200) -> None:
        self.body, self.headers, self.status = body, headers or {}, status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        content = self.body if isinstance(self.body, bytes) else json.dumps(self.body).encode()
        return httpx.Response(self.status, content=content, headers={"content-type": "application/json",
                                                                     **self.headers})


def client(server: Server) -> In10ntClient:
    return In10ntClient(BASE, "sk-test", transport=httpx.MockTransport(server), backoff=0)


@pytest.mark.asyncio
@pytest.mark.parametrize("wrap", [lambda rows: rows, lambda rows: {"templates": rows},
                                  lambda rows: {"containerTemplates": rows}, lambda rows: {"data": rows}])
async def test_a_server_that_ignores_paging_answers_one_whole_page(wrap: Any) -> None:
    server = Server(wrap([row(i) for i in range(3)]))
    async with client(server) as c:
        page = await c.templates.list_page(limit=2, order="desc")
    assert [r["templateId"] for r in page.rows] == ["tmpl_0", "tmpl_1", "tmpl_2"]
    assert page.next is None and not page.not_modified
    assert server.requests[0].url.params["limit"] == "2" and server.requests[0].url.params["order"] == "desc"


@pytest.mark.asyncio
async def test_without_an_etag_an_unchanged_body_is_a_hash_compare_and_is_not_parsed() -> None:
    server = Server([row(i) for i in range(3)])
    seen: list[dict[str, Any]] = []

    def keep(item: dict[str, Any]) -> str:
        seen.append(item)
        return str(item["templateId"])

    async with client(server) as c:
        first = await c.templates.list_page(row=keep)
        assert first.rows == ["tmpl_0", "tmpl_1", "tmpl_2"] and first.validator and first.validator.startswith("#")
        seen.clear()
        again = await c.templates.list_page(if_none_match=first.validator, row=keep)
        assert again.not_modified and again.rows == [] and seen == []
        assert "if-none-match" not in server.requests[-1].headers  # a body hash is not an ETag
        server.body = [row(i) for i in range(4)]
        changed = await c.templates.list_page(if_none_match=first.validator, row=keep)
    assert not changed.not_modified and len(changed.rows) == 4 and changed.validator != first.validator


@pytest.mark.asyncio
async def test_an_etag_is_sent_back_and_a_304_is_not_modified() -> None:
    server = Server([row(1)], {"ETag": 'W/"v1"'})
    async with client(server) as c:
        first = await c.templates.list_page()
        assert first.validator == 'W/"v1"'
        server.status, server.body = 304, b""
        again = await c.templates.list_page(if_none_match=first.validator)
    assert server.requests[-1].headers["if-none-match"] == 'W/"v1"'
    assert again.not_modified and again.validator == 'W/"v1"'


@pytest.mark.asyncio
async def test_only_the_cursor_of_a_link_header_is_taken_never_its_host() -> None:
    link = '<https://elsewhere.example/steal?limit=5&after=2024-05-01T12%3A00%3A00Z~tmpl_4>; rel="next"'
    server = Server([row(i) for i in range(5)], {"Link": link})
    async with client(server) as c:
        page = await c.templates.list_page(limit=5)
        assert page.next == "2024-05-01T12:00:00Z~tmpl_4"
        await c.templates.list_page(limit=5, after=page.next)
    second = server.requests[-1].url
    assert second.host == "api.test" and second.path == "/container-templates"
    assert second.params["after"] == "2024-05-01T12:00:00Z~tmpl_4"


@pytest.mark.asyncio
async def test_the_next_cursor_is_told_before_the_page_is_parsed() -> None:
    """So that a caller can ask for the next page while this one is parsed."""
    link = '</container-templates?limit=5&after=c5>; rel="next"'
    told: list[tuple[str | None, int]] = []
    parsed: list[str] = []

    def keep(item: dict[str, Any]) -> str:
        parsed.append(item["templateId"])
        return str(item["templateId"])

    async with client(Server([row(i) for i in range(5)], {"Link": link})) as c:
        page = await c.templates.list_page(limit=5, row=keep, on_next=lambda cursor: told.append((cursor, len(parsed))))
    assert told == [("c5", 0)] and page.next == "c5" and len(page.rows) == 5
    async with client(Server([row(1)])) as c:
        await c.templates.list_page(on_next=lambda cursor: told.append((cursor, -1)))
    assert told[-1] == (None, -1)  # the last page: no next one


@pytest.mark.asyncio
async def test_echoed_credentials_never_reach_the_row_function() -> None:
    server = Server([row(1, registryAuth={"username": "u", "password": "hunter2"})])
    async with client(server) as c:
        page = await c.templates.list_page()
    assert "registryAuth" not in page.rows[0]


@pytest.mark.asyncio
@pytest.mark.parametrize("body", [b"{not json", b'{"no": "list"}', b'"text"'])
async def test_an_answer_that_is_not_a_list_is_an_api_error(body: bytes) -> None:
    async with client(Server(body)) as c:
        with pytest.raises(APIError, match="list this client does not understand"):
            await c.templates.list_page()


@pytest.mark.asyncio
async def test_a_row_function_that_rejects_an_object_is_an_api_error_for_big_pages_too() -> None:
    many = [row(i, description="x" * 600) for i in range(1000)]  # > 512 kB: read item by item
    many[500] = {"name": "no id"}

    def strict(item: dict[str, Any]) -> str:
        return str(item["templateId"])

    async with client(Server(many)) as c:
        with pytest.raises(APIError):
            await c.templates.list_page(row=strict)


def test_listing_templates_loads_neither_pydantic_nor_the_instance_models() -> None:
    """What the desktop app's start-up relies on: ``list_page`` needs httpx, not pydantic."""
    code = ("import sys, asyncio, httpx\n"
            "from in10nt_desktop.api import In10ntClient\n"
            "t = httpx.MockTransport(lambda r: httpx.Response(200, json=[{'templateId': 'a'}]))\n"
            "async def main():\n"
            "    async with In10ntClient('http://x', transport=t) as c:\n"
            "        page = await c.templates.list_page(limit=10)\n"
            "        assert page.rows[0]['templateId'] == 'a'\n"
            "asyncio.run(main())\n"
            "print(sorted(m for m in sys.modules if m == 'pydantic' or m.startswith('in10nt_desktop.api.')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pydantic" not in out and "models" not in out and "instances" not in out, out


def test_every_public_name_of_the_sdk_loads() -> None:
    """The package loads its names on first use: each one listed must be there (a TYPE_CHECKING import
    of a name it lacks would otherwise pass mypy as ``Any``)."""
    import in10nt_desktop.api as api

    for name in api.__all__:
        assert getattr(api, name) is not None, name
    with pytest.raises(AttributeError):
        api.NoSuchName  # noqa: B018


@pytest.mark.asyncio
@pytest.mark.parametrize("indent", [None, 2])
async def test_a_big_array_read_item_by_item_gives_what_json_loads_gives(indent: int | None) -> None:
    many = [row(i, description=f"line\n{i} \u00e9 [x], {{y}}" * 20) for i in range(2000)]  # > 512 kB
    body = ("  " + json.dumps(many, indent=indent) + "\n").encode()
    async with client(Server(body)) as c:
        page = await c.templates.list_page()
    assert page.rows == json.loads(body)


@pytest.mark.asyncio
@pytest.mark.parametrize("extra", [
    {"description": '},{"templateId": "not a row"},{' * 40},   # a cut in a string: the piece fails to decode
    {"layers": [{"digest": "a"}, {"digest": "b"}] * 40},        # a cut between two nested objects
    {"description": "plain"},                                   # every cut between two templates
], ids=["in-a-string", "nested", "plain"])
@pytest.mark.parametrize("every", [1, 7])
async def test_a_big_array_cut_into_pieces_gives_what_json_loads_gives(extra: dict[str, Any], every: int) -> None:
    """A big array is decoded in pieces cut where one object seems to end and the next to begin;
    items holding that very text, in strings or nested, are read as they are."""
    many = [row(i, **(extra if i % every == 0 else {}), sizeBytes=i) for i in range(6000)]  # ~1.5 MB
    for separators in ((",", ":"), (", ", ": ")):
        body = json.dumps(many, separators=separators).encode()
        async with client(Server(body)) as c:
            page = await c.templates.list_page()
        assert page.rows == many


@pytest.mark.asyncio
@pytest.mark.parametrize("tail", [b"]x", b"", b",]"])
async def test_a_big_array_cut_or_followed_by_garbage_is_an_api_error(tail: bytes) -> None:
    body = json.dumps([row(i, description="x" * 600) for i in range(1000)]).encode()[:-1] + tail
    async with client(Server(body)) as c:
        with pytest.raises(APIError):
            await c.templates.list_page()

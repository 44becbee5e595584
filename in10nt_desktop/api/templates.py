"""``client.templates``: create, list and get container templates; wait for their builds.

This module loads no pydantic: ``list_page`` hands each JSON object to a function of the caller
(the desktop app builds compact rows from them, a slice per turn of its event loop), and the
methods that answer with models import them on first use.
"""

from __future__ import annotations

import asyncio
import builtins
import hashlib
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload
from urllib.parse import parse_qs, quote, urlsplit

from in10nt_desktop.api.errors import APIError, BuildFailedError, In10ntError, WaitTimeoutError
from in10nt_desktop.api.shapes import unwrap_list
from in10nt_desktop.api.waits import RetryCallback, until_answered

if TYPE_CHECKING:
    import httpx

    from in10nt_desktop.api.bound_template import Template
    from in10nt_desktop.api.http import HttpCore
    from in10nt_desktop.api.models import BuildLog, BuildRecord, RegistryAuth, StatusInfo
    from in10nt_desktop.api.registry import DriftInfo

R = TypeVar("R")
LIST_PATH = "/container-templates"
_LIST_KEYS = ("templates", "containerTemplates")
LARGE_PAGE = 512 * 1024  # bigger bodies are hashed in a worker thread
# A bare array bigger than this is decoded a piece at a time, each piece ~CHUNK_BYTES of whole objects
# (json.loads of 128 kB, ~370 templates: ~1 ms here), so that no turn of the event loop holds it long.
CHUNK_BYTES = 128 * 1024
PARSE_SLICE = 500  # JSON objects handed to ``row`` per turn of the event loop at most (~2.5 µs each)
_BETWEEN = re.compile(rb"\}\s*,\s*\{")  # where one object of the array ends and the next begins (or so it seems)


def template_path(template_id: str, tail: str = "") -> str:
    """IDs are the server's to choose: encode everything, so ``a/b`` or ``?`` cannot reach another path."""
    return f"/container-templates/{quote(template_id, safe='')}{tail}"


@dataclass(frozen=True, slots=True)
class TemplatePage(Generic[R]):
    """One answer to ``list_page``.

    ``validator`` is the server's ``ETag`` or, when it sends none, ``#`` and a hash of the body:
    pass it back as ``if_none_match`` and an unchanged answer comes back ``not_modified``, with no
    rows parsed (a 304 from a server with ETags, a hash compare otherwise). ``next`` is the
    cursor of the next page when the server pages (the local engine does; a server that ignores
    ``limit`` answers the whole list, and ``next`` is None).
    """

    rows: list[R] = field(default_factory=list)
    validator: str | None = None
    next: str | None = None
    not_modified: bool = False


def _digest(content: bytes) -> str:
    return "#" + hashlib.blake2b(content, digest_size=16).hexdigest()


def _next_after(response: httpx.Response) -> str | None:
    """The ``after`` cursor of a ``Link: <…>; rel="next"`` header (httpx parses the header). Only the
    cursor is taken, never the URL: a page must not send the key to wherever a header points."""
    url = response.links.get("next", {}).get("url")
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("after")
    return values[0] if values else None


def _as_dict(item: dict[str, Any]) -> dict[str, Any]:
    return item


def _gave_up(template_id: str, timeout: float, what: str = "how its build ended") -> Callable[[In10ntError], str]:
    def sentence(err: In10ntError) -> str:
        return (f"Gave up on template {template_id} after {timeout:g} s without learning {what}: the last "
                f"request failed ({str(err).rstrip('.')}).")
    return sentence


async def wait_for_build(core: HttpCore, template_id: str, *, timeout: float, poll_interval: float,
                         on_poll: Callable[[StatusInfo], None], on_retry: RetryCallback | None) -> float:
    """Poll until ``ready`` (returns the deadline, for the calls that follow); raise as ``wait_until_ready``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    path = template_path(template_id, "/status")

    async def status() -> StatusInfo:
        from in10nt_desktop.api.models import StatusInfo

        return await core.item(StatusInfo, "GET", path, retry=False)

    while True:
        info = await until_answered(status, deadline=deadline, poll_interval=poll_interval, on_retry=on_retry,
                                    gave_up=_gave_up(template_id, timeout), server=core.base_url)
        on_poll(info)
        if info.status == "ready":
            return deadline
        if info.status == "failed":
            raise BuildFailedError(template_id, info.error)
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise WaitTimeoutError(f"Template {template_id} was still building after {timeout:g} s.")
        await asyncio.sleep(min(poll_interval, remaining))


def _item_lists(content: bytes) -> Iterator[list[Any]]:
    """The list's items, a piece at a time. A big bare array is cut after every ~``CHUNK_BYTES``
    where one object seems to end and the next to begin (``},{``), and each piece is decoded whole
    (``json.loads``: ~2 µs per template, half of what decoding them one at a time costs). A cut that
    is not between two items of the array (inside a string, or between two objects nested in one)
    leaves that piece unterminated, so it fails to decode: the rest is then decoded one item at a
    time, as is an array with no cut in reach (an item over ~3 pieces long). Envelopes
    (``{"templates": [...]}``) and small bodies are decoded whole."""
    if len(content) <= CHUNK_BYTES * 3 // 2 or not content.lstrip()[:1] == b"[":
        yield unwrap_list(json.loads(content or b"null"), *_LIST_KEYS)
        return
    pos = content.index(b"[") + 1
    while True:
        try:
            if len(content) - pos <= CHUNK_BYTES * 3 // 2:  # the last piece, with the closing bracket
                yield json.loads(b"[" + content[pos:])
                return
            cut = _BETWEEN.search(content, pos + CHUNK_BYTES, pos + 4 * CHUNK_BYTES)
            if cut is None:
                break
            items = json.loads(b"[" + content[pos:cut.start() + 1] + b"]")
        except ValueError:
            break
        yield items
        pos = cut.end() - 1
    yield from _one_by_one("[" + content[pos:].decode())


_DECODER = json.JSONDecoder()


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\n\r":
        pos += 1
    return pos


def _one_by_one(text: str) -> Iterator[list[Any]]:
    """A JSON array's items, decoded one at a time, ``PARSE_SLICE`` per list."""
    pos = _skip_space(text, text.index("[") + 1)
    if text[pos:pos + 1] == "]":
        if text[pos + 1:].strip():
            raise ValueError("extra data after the list")
        return
    items: list[Any] = []
    while True:
        item, pos = _DECODER.raw_decode(text, pos)
        items.append(item)
        if len(items) == PARSE_SLICE:
            yield items
            items = []
        pos = _skip_space(text, pos)
        sep = text[pos:pos + 1]
        if sep == "]":
            if text[pos + 1:].strip():
                raise ValueError("extra data after the list")
            yield items
            return
        if sep != ",":
            raise ValueError("expected , or ] in the list")
        pos = _skip_space(text, pos + 1)


class TemplatesResource:
    def __init__(self, http: HttpCore) -> None:
        self._http = http

    async def create(self, *, name: str, image: str, registry_type: str = "dockerhub",
                     description: str | None = None, registry_auth: RegistryAuth | None = None,
                     idempotency_key: str | None = None) -> Template:
        from in10nt_desktop.api.bound_template import Template

        body: dict[str, Any] = {"name": name, "image": image, "registryType": registry_type}
        if description is not None:
            body["description"] = description
        if registry_auth is not None:
            body["registryAuth"] = registry_auth.to_wire()
        # Always send a key: it makes the POST safe to retry after a dropped connection.
        key = idempotency_key or str(uuid.uuid4())
        template = await self._http.item(Template, "POST", "/container-templates", "template", json=body,
                                         idempotency_key=key)
        return template._bind(self._http)

    async def list(self) -> list[Template]:
        from in10nt_desktop.api.bound_template import Template

        rows = await self._http.rows(Template, LIST_PATH, *_LIST_KEYS)
        return [t._bind(self._http) for t in rows]

    @overload
    async def list_page(self, *, limit: int | None = None, after: str | None = None, order: str | None = None,
                        if_none_match: str | None = None,
                        on_next: Callable[[str | None], None] | None = None) -> TemplatePage[dict[str, Any]]: ...

    @overload
    async def list_page(self, *, limit: int | None = None, after: str | None = None, order: str | None = None,
                        if_none_match: str | None = None, row: Callable[[dict[str, Any]], R],
                        on_next: Callable[[str | None], None] | None = None) -> TemplatePage[R]: ...

    async def list_page(self, *, limit: int | None = None, after: str | None = None, order: str | None = None,
                        if_none_match: str | None = None, row: Callable[[dict[str, Any]], Any] = _as_dict,
                        on_next: Callable[[str | None], None] | None = None) -> TemplatePage[Any]:
        """One page of the list, as JSON objects handed to ``row`` (no pydantic: a caller with 100,000
        templates keeps what it needs, how it likes).

        ``limit``, ``after`` (a previous page's ``next``) and ``order`` (``"asc"`` oldest first, or
        ``"desc"``) page the list on servers that page it (the local engine); others answer the
        whole list in one page. ``registryAuth`` is removed from every object before ``row`` sees
        it. The body is parsed on the calling thread, a ~128 kB piece (at most ``PARSE_SLICE`` objects)
        per turn of the event loop: parsing in a worker thread would keep the GIL from the loop for
        10-25 ms at a time (the loop's thread waits for it at every return from C code), in pieces each
        turn is ~2 ms. An answer ``row`` rejects (``ValueError``, ``TypeError``, ``KeyError``) or that
        is not a list raises ``APIError``. ``on_next`` is called with the next page's cursor (None: no
        next page) as soon as the answer is in, before its body is parsed: a caller can ask for the
        next page while this one is parsed.
        """
        params = {key: value for key, value in (("limit", limit), ("after", after), ("order", order))
                  if value is not None}
        headers = {}
        if if_none_match and not if_none_match.startswith("#"):
            headers["If-None-Match"] = if_none_match
        response = await self._http.request("GET", LIST_PATH, params=params or None, headers=headers)
        etag = response.headers.get("etag")
        next_after = _next_after(response)
        if on_next is not None:
            on_next(next_after)
        if response.status_code == 304:
            return TemplatePage([], etag or if_none_match, next_after, not_modified=True)
        return await self._page(response.content, etag, next_after, if_none_match, row)

    async def _page(self, content: bytes, etag: str | None, next_after: str | None, known: str | None,
                    row: Callable[[dict[str, Any]], Any]) -> TemplatePage[Any]:
        # Hashing releases the GIL: a big body is hashed in a worker thread, truly alongside the loop.
        validator = etag or (await asyncio.to_thread(_digest, content) if len(content) > LARGE_PAGE
                             else _digest(content))
        if known is not None and validator == known:
            return TemplatePage([], validator, next_after, not_modified=True)
        try:
            rows = []
            for items in _item_lists(content):
                for start in range(0, len(items), PARSE_SLICE):
                    if start:
                        await asyncio.sleep(0)
                    for item in items[start:start + PARSE_SLICE]:
                        if isinstance(item, dict):
                            item.pop("registryAuth", None)  # never kept, even if a server echoes it
                            rows.append(row(item))
                await asyncio.sleep(0)  # the loop's turn: a GUI paints, events are read
        except (ValueError, TypeError, KeyError):
            raise APIError(f"{self._http.base_url} answered {LIST_PATH} with a list this client does not "
                           "understand.") from None
        return TemplatePage(rows, validator, next_after)

    async def get(self, template_id: str) -> Template:
        from in10nt_desktop.api.bound_template import Template

        template = await self._http.item(Template, "GET", template_path(template_id), "template")
        return template._bind(self._http)

    async def status(self, template_id: str) -> StatusInfo:
        from in10nt_desktop.api.models import StatusInfo

        return await self._http.item(StatusInfo, "GET", template_path(template_id, "/status"))

    async def logs(self, template_id: str, after: int = 0) -> BuildLog:
        from in10nt_desktop.api.models import BuildLog

        return await self._http.item(BuildLog, "GET", template_path(template_id, "/logs"),
                                     params={"after": after})

    async def delete(self, template_id: str) -> None:
        await self._http.request("DELETE", template_path(template_id))

    async def wait_until_ready(self, template_id: str, timeout: float = 300, poll_interval: float = 5,
                               on_poll: Callable[[StatusInfo], None] | None = None,
                               on_retry: RetryCallback | None = None) -> Template:
        """``Template.wait_until_ready`` by ID: no request before the first poll, so a flaky start is retried too."""
        deadline = await wait_for_build(self._http, template_id, timeout=timeout, poll_interval=poll_interval,
                                        on_poll=on_poll or (lambda _info: None), on_retry=on_retry)

        from in10nt_desktop.api.bound_template import Template

        async def fetch() -> Template:
            return await self._http.item(Template, "GET", template_path(template_id), "template", retry=False)

        template = await until_answered(fetch, deadline=deadline, poll_interval=poll_interval, on_retry=on_retry,
                                        gave_up=_gave_up(template_id, timeout, "its ready template"),
                                        server=self._http.base_url)
        return template._bind(self._http)

    async def drift(self, template_id: str, registry_auth: RegistryAuth | None = None,
                    timeout: float | None = None) -> DriftInfo:
        """Does the template's tag still point to the digest it was built from?

        ``drifted`` is None when the registry could not say (unreachable, credentials needed: see
        ``error``). The server keeps no credentials, so a private image needs ``registry_auth`` again.
        ``ConflictError`` while the template has no pinned digest yet; ``NotFoundError`` for an unknown
        template or a server without the check (``client.registry.available()`` tells which).
        """
        from in10nt_desktop.api.registry import CHECK_TIMEOUT, DriftInfo, timed_body

        return await self._http.item(DriftInfo, "POST", template_path(template_id, "/drift"),
                                     json=timed_body(registry_auth, timeout), retry=False,
                                     timeout=(timeout or CHECK_TIMEOUT) + 5.0)

    async def builds(self, template_id: str) -> builtins.list[BuildRecord]:
        """The template's build records, newest first (the local engine keeps 20 per template)."""
        from in10nt_desktop.api.models import BuildRecord

        return await self._http.rows(BuildRecord, template_path(template_id, "/builds"), "builds")

    async def rebuild(self, template_id: str, registry_auth: RegistryAuth | None = None, *,
                      idempotency_key: str | None = None) -> Template:
        """Build the template again in place (same id, a new record); ``building`` when this returns.

        A template whose last build had credentials (``needs_credentials``) needs them again:
        without, ``ValidationError`` with code ``credentials_required``. A running build: ``ConflictError``
        (``build_running``), unless it is ``stalled``: the engine then stops it (its record ends ``failed``,
        "Stopped to rebuild: …") and starts the new build.
        """
        from in10nt_desktop.api.bound_template import Template

        body: dict[str, Any] = {"registryAuth": registry_auth.to_wire()} if registry_auth is not None else {}
        key = idempotency_key or str(uuid.uuid4())  # a retried POST then never builds twice
        template = await self._http.item(Template, "POST", template_path(template_id, "/rebuild"), "template",
                                         json=body, idempotency_key=key)
        return template._bind(self._http)

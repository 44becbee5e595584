"""The SDK's one HTTP path: auth header, timeouts, retries and error mapping.

GETs (and DELETEs, which are idempotent) retry transient failures with backoff; a POST is
retried only when it carries an ``Idempotency-Key``, so a retry can never build twice.
A 502/503/504 is retried when it is a proxy's bare answer, not when the server says, with an
error code, that the condition is permanent (no container engine on this machine): waiting
seconds for the same answer would only delay the sentence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from in10nt_desktop import __version__
from in10nt_desktop.api.errors import (
    APIError,
    ConnectionFailedError,
    RateLimitError,
    ServerError,
    connection_error,
    error_from_response,
)
from in10nt_desktop.api.shapes import unwrap_item, unwrap_list

if TYPE_CHECKING:
    from pydantic import BaseModel

log = logging.getLogger(__name__)
M = TypeVar("M", bound="BaseModel")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_RETRY_AFTER = 30.0
LARGE_ANSWER = 256 * 1024  # a server asking for minutes would freeze a CLI; cap and let the caller decide
_TRANSIENT = (502, 503, 504)
# Codes servers send with a 5xx for conditions a retry cannot change (engine/instances.py sends the first).
PERMANENT_ERROR_CODES = frozenset({"no_container_engine"})


def _unlink(response: httpx.Response) -> None:
    """Let dropping a read response free it.

    httpx keeps a response in reference cycles (its stream refers back to it), so only the cyclic
    garbage collector frees it: ~25 objects and the whole body per request, kept until a full
    collection, which in an app holding 100,000 rows costs tens of ms each time it runs. The body
    is read by now: a stream of those bytes instead of the bound one breaks every cycle.
    """
    response.stream = httpx.ByteStream(response.content)


class HttpCore:
    """Owns the ``httpx.AsyncClient``; never logs headers or bodies (secrets live there)."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout: httpx.Timeout | float | None = None,
                 transport: httpx.AsyncBaseTransport | None = None, retries: int = 3,
                 backoff: float = 0.5) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.retries = retries
        self.backoff = backoff
        headers = {"User-Agent": f"in10nt-desktop/{__version__}", "Accept": "application/json"}
        # Plain-http servers (the local engine) use no TLS: skip loading the CA bundle (~20 ms).
        # Redirects are not followed, so this never downgrades verification of an https hop.
        verify = not self.base_url.startswith("http://")
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout or DEFAULT_TIMEOUT,
                                         transport=transport, headers=headers, verify=verify)

    @property
    def has_api_key(self) -> bool:
        return bool(self._api_key)

    def set_api_key(self, api_key: str | None) -> None:
        self._api_key = api_key

    async def aclose(self) -> None:
        await self._client.aclose()

    @property
    def client(self) -> httpx.AsyncClient:
        """The one ``httpx.AsyncClient`` (for the event stream, which is not a request/answer call)."""
        return self._client

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    async def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                      idempotency_key: str | None = None, retry: bool | None = None,
                      timeout: float | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        headers = {**(headers or {}), **self.auth_headers()}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if retry is None:
            retry = method in ("GET", "HEAD", "DELETE") or idempotency_key is not None
        attempts = self.retries + 1 if retry else 1
        last: APIError | ConnectionFailedError | None = None
        # A per-call read timeout for calls that legitimately take long (a task, a create that pulls).
        extra: dict[str, Any] = {} if timeout is None else {
            "timeout": httpx.Timeout(timeout, connect=DEFAULT_TIMEOUT.connect)}
        for attempt in range(attempts):
            try:
                response = await self._client.request(method, path, json=json, params=params, headers=headers,
                                                      **extra)
                _unlink(response)
            except httpx.TransportError as exc:
                last = connection_error(self.base_url, exc)
                log.debug("%s %s: %s (attempt %d)", method, path, type(exc).__name__, attempt + 1)
            else:
                if response.status_code < 400:
                    return response
                if method == "DELETE" and response.status_code == 404 and isinstance(
                        last, ConnectionFailedError | ServerError):
                    # The earlier attempt may have deleted it and lost the answer: gone is what was asked for.
                    return response
                err = error_from_response(response, self.base_url)
                if not self._retryable(err):
                    raise err
                last = err
                log.debug("%s %s: %d (attempt %d)", method, path, response.status_code, attempt + 1)
            if attempt + 1 < attempts:
                await asyncio.sleep(self._delay(attempt, last))
        assert last is not None
        raise last

    @staticmethod
    def _retryable(err: APIError) -> bool:
        if isinstance(err, RateLimitError):
            return True
        return isinstance(err, ServerError) and err.status in _TRANSIENT and err.code not in PERMANENT_ERROR_CODES

    def _delay(self, attempt: int, err: Exception | None) -> float:
        if isinstance(err, RateLimitError | ServerError) and err.retry_after is not None:
            return min(float(err.retry_after), MAX_RETRY_AFTER)
        jitter = 0.75 + random.random() / 2
        return float(min(self.backoff * (2 ** attempt) * jitter, MAX_RETRY_AFTER))

    async def json(self, method: str, path: str, **kw: Any) -> Any:
        response = await self.request(method, path, **kw)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise APIError(f"{self.base_url} answered {path} with something that is not JSON.",
                           status=response.status_code) from exc

    async def item(self, model: type[M], method: str, path: str, *keys: str, **kw: Any) -> M:
        """One row of ``model`` (possibly wrapped in ``{"template": {...}}``); odd shapes raise ``APIError``."""
        data = await self.json(method, path, **kw)
        try:
            return model.model_validate(unwrap_item(data, *keys))
        except ValueError:  # pydantic's ValidationError is one
            raise APIError(f"{self.base_url} answered {path} with something this client does not "
                           "understand.") from None

    async def rows(self, model: type[M], path: str, *keys: str) -> list[M]:
        """A list of ``model``: a bare array or any known envelope; odd shapes raise ``APIError``.

        A big answer (10,000 templates is 4 MB) is parsed in a worker thread: parsing it inline
        would freeze a GUI's event loop for ~100 ms on every poll.
        """
        response = await self.request("GET", path)
        if len(response.content) > LARGE_ANSWER:
            return await asyncio.to_thread(self._parse_rows, response.content, model, path, keys)
        return self._parse_rows(response.content, model, path, keys)

    def _parse_rows(self, content: bytes, model: type[M], path: str, keys: tuple[str, ...]) -> list[M]:
        try:
            return [model.model_validate(item) for item in unwrap_list(json.loads(content or b"null"), *keys)]
        except ValueError:
            raise APIError(f"{self.base_url} answered {path} with a list this client does not "
                           "understand.") from None

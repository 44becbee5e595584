"""``instance.run_stream(task)``: a task's output as it is printed, then its result.

::

    async with instance.run_stream("make test") as stream:
        async for piece in stream:          # str: output as it arrives (stdout and stderr together)
            print(piece, end="", flush=True)
    stream.result.exit_code                 # the RunResult, as instance.run() returns it

The local engine streams (``Accept: text/event-stream``, engine/task_stream.py). A server that answers
plain JSON instead (the hosted service ignores the header) gives the whole output as one piece when the
task ends, and ``stream.streamed`` is False: nothing is faked. Errors raise the SDK's typed errors: an
error answer before the task runs (``RateLimitError`` for a busy engine, ``NotFoundError`` …), an
``error`` event after it started, or ``ConnectionFailedError`` when the stream ends without a result
(the task itself goes on on the server until it ends or times out).

Leaving the ``async for`` early closes the connection when the ``async with`` ends (or when the
stream is collected without it); that does not stop the task either.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx
from httpx_sse import EventSource

from in10nt_desktop.api.errors import APIError, ConnectionFailedError, connection_error, error_from_response
from in10nt_desktop.api.models import RunResult
from in10nt_desktop.api.shapes import unwrap_item

if TYPE_CHECKING:
    from in10nt_desktop.api.http import HttpCore

# JSON is listed too: a server that cannot stream answers as it always does rather than 406.
ACCEPT = "text/event-stream, application/json;q=0.5"


class TaskStream:
    """One task's output pieces (``async for``) and, once they ended, its ``result``. Iterate it once."""

    def __init__(self, http: HttpCore, path: str, body: dict[str, Any], read_timeout: float) -> None:
        self._http, self._path, self._body = http, path, body
        self._timeout = httpx.Timeout(read_timeout, connect=10.0)
        self._pieces: AsyncGenerator[str, None] | None = None
        self._result: RunResult | None = None
        self.streamed = False  # True once the server answered with an event stream

    @property
    def result(self) -> RunResult:
        """How the task ended; there once the ``async for`` ran to its end."""
        if self._result is None:
            raise RuntimeError("the task's result is known once its output was read to the end (async for)")
        return self._result

    def __aiter__(self) -> AsyncIterator[str]:
        if self._pieces is not None:
            raise RuntimeError("a task's stream can be read once")
        self._pieces = self._read()
        return self._pieces

    async def __aenter__(self) -> TaskStream:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection now (the task goes on on the server)."""
        if self._pieces is not None:
            await self._pieces.aclose()

    async def _read(self) -> AsyncGenerator[str, None]:
        http = self._http
        headers = {**http.auth_headers(), "Accept": ACCEPT}
        try:
            async with http.client.stream("POST", self._path, json=self._body, headers=headers,
                                          timeout=self._timeout) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise error_from_response(response, http.base_url)
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" in content_type:
                    self.streamed = True
                    async for piece in self._events(response):
                        yield piece
                    return
                await response.aread()
                self._result = self._parse(response.content, "an answer")
        except httpx.TransportError as exc:
            if self.streamed:
                raise ConnectionFailedError(f"{http.base_url} closed the task's output stream before its result; "
                                            "the task goes on on the server until it ends or times out.") from None
            raise connection_error(http.base_url, exc) from None
        if self._result.output:  # a plain answer: the whole output at once, as the server sent it
            yield self._result.output

    async def _events(self, response: httpx.Response) -> AsyncGenerator[str, None]:
        async for sse in EventSource(response).aiter_sse():
            if sse.event == "output":
                text = self._field(sse.data, "text")
                if text:
                    yield text
            elif sse.event == "result":
                self._result = self._parse(sse.data.encode(), "a result")
                return
            elif sse.event == "error":
                raise self._error(sse.data, response)
        raise ConnectionFailedError(f"{self._http.base_url} ended the task's output stream without its result; "
                                    "the task may still run on the server.")

    def _parse(self, content: bytes, what: str) -> RunResult:
        try:
            return RunResult.model_validate(unwrap_item(json.loads(content or b"null")))
        except ValueError:  # JSON's and pydantic's errors are ValueErrors
            raise APIError(f"{self._http.base_url} answered the task with {what} this client does not "
                           "understand.") from None

    def _field(self, data: str, name: str) -> str:
        try:
            value = json.loads(data).get(name)
        except (ValueError, AttributeError):
            value = None
        if not isinstance(value, str):
            raise APIError(f"{self._http.base_url} sent task output this client does not understand.")
        return value

    def _error(self, data: str, response: httpx.Response) -> APIError:
        """An ``error`` event ``{status, error}``, as the typed error the same plain answer would raise."""
        try:
            payload = json.loads(data)
            status = int(payload["status"])
            body = {"error": payload["error"]}
        except (ValueError, TypeError, KeyError):
            status, body = 500, {"error": {"message": "The server reported an error it did not describe."}}
        if not 400 <= status <= 599:
            status = 500
        answer = httpx.Response(status, json=body, request=response.request)
        return error_from_response(answer, self._http.base_url)

"""``client.events()``: the server's change feed (``GET /events``, Server-Sent Events) as an async iterator.

The iterator reconnects by itself, with backoff, sending ``Last-Event-ID`` so that nothing is
missed; when the server can no longer say what was missed it sends ``reset`` and the caller lists
again. Each successful (re)connection first yields a synthetic ``open`` event. A server without
``/events`` (404 on the first try) raises ``EventsUnsupportedError``: the caller polls instead.

Stop it by leaving the ``async for`` or cancelling the task. To close the HTTP stream at once
rather than when the generator is collected, wrap it in ``contextlib.aclosing``::

    async with aclosing(client.events()) as events:
        async for event in events:
            ...
"""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import random
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
from httpx_sse import EventSource

from in10nt_desktop.api.errors import (
    APIError,
    AuthenticationError,
    ConnectionFailedError,
    EventsUnsupportedError,
    In10ntError,
    connection_error,
    error_from_response,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from in10nt_desktop.api.http import HttpCore
    from in10nt_desktop.api.models import InstanceData, SavedTemplate, TemplateData

__all__ = ["OPEN", "RESET", "Event", "EventsUnsupportedError", "event_stream", "server_has_events"]
log = logging.getLogger(__name__)
M = TypeVar("M", bound="BaseModel")

OPEN, RESET = "open", "reset"
TEMPLATE_EVENTS = ("template.created", "template.changed")
SAVED_TEMPLATE_EVENTS = ("saved_template.created",)
INSTANCE_EVENTS = ("instance.created", "instance.changed")
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 10.0  # seconds between reconnection attempts: doubling, jittered
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Event:
    """One event: ``type`` is the server's event name (``template.changed`` …), ``reset`` or the synthetic ``open``.

    ``id`` is None for synthetic events. ``data`` is the server's JSON object.
    """

    id: int | None
    type: str
    data: dict[str, Any]

    # The models load on first use: a reader that takes ``data`` as it is never imports pydantic.
    def template(self) -> TemplateData:
        """The template of a ``template.created`` or ``template.changed`` event."""
        from in10nt_desktop.api.models import TemplateData

        return self._row(TemplateData, TEMPLATE_EVENTS)

    def saved_template(self) -> SavedTemplate:
        """The saved template of a ``saved_template.created`` event."""
        from in10nt_desktop.api.models import SavedTemplate

        return self._row(SavedTemplate, SAVED_TEMPLATE_EVENTS)

    def instance(self) -> InstanceData:
        """The instance of an ``instance.created`` or ``instance.changed`` event."""
        from in10nt_desktop.api.models import InstanceData

        return self._row(InstanceData, INSTANCE_EVENTS)

    def _row(self, model: builtins.type[M], types: tuple[str, ...]) -> M:  # ``type`` is a field here
        if self.type not in types:
            raise ValueError(f"a {self.type} event carries no {model.__name__} (only {', '.join(types)} do)")
        try:
            return model.model_validate(self.data)
        except ValueError:  # pydantic's ValidationError is one
            raise APIError(f"The server sent a {self.type} event this client does not understand.") from None


def _event(sse_id: str, sse_type: str, text: str) -> Event:
    event_id = int(sse_id) if sse_id.isdigit() else None
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # Delivered as a reset: the caller lists again, so a change it could not read is not lost.
        log.warning("unreadable %s event on the event stream; treated as a reset", sse_type or "message")
        return Event(event_id, RESET, {"latestId": event_id})
    data.pop("registryAuth", None)  # never kept, even if a server echoes it
    return Event(event_id, sse_type or "message", data)


def _delay(failures: int) -> float:
    return float(min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** min(failures, 10)) * (0.5 + random.random() / 2))


class _StreamFailed(Exception):
    def __init__(self, error: In10ntError) -> None:
        super().__init__(str(error))
        self.error = error


def _unsupported(base_url: str, why: str) -> EventsUnsupportedError:
    return EventsUnsupportedError(f"{base_url} has no event stream ({why}); poll it instead.", status=404)


async def _refusal(response: httpx.Response, base_url: str, first: bool) -> In10ntError:
    """What an error answer to ``GET /events`` means: raised (no events, bad key) or a failed attempt."""
    await response.aread()
    error = error_from_response(response, base_url)
    if response.status_code == 404 and first:
        return _unsupported(base_url, "GET /events answered 404")
    if isinstance(error, AuthenticationError):
        return error
    raise _StreamFailed(error)


async def event_stream(http: HttpCore, last_event_id: int | None = None, *, reconnect: bool = True,
                       on_disconnect: Callable[[In10ntError], None] | None = None,
                       heartbeat_timeout: float = 45.0) -> AsyncGenerator[Event, None]:
    """The generator behind ``In10ntClient.events`` (see there)."""
    if heartbeat_timeout <= 0:
        raise ValueError("heartbeat_timeout must be a number of seconds above 0")
    last = None if last_event_id is None else str(last_event_id)
    opened = False
    failures = 0
    timeout = httpx.Timeout(heartbeat_timeout, connect=CONNECT_TIMEOUT)
    while True:
        streaming = False
        headers = {**http.auth_headers(), "Accept": "text/event-stream", "Cache-Control": "no-store"}
        if last is not None:
            headers["Last-Event-ID"] = last
        try:
            # httpx's read timeout is per network read, so a heartbeat comment restarts the clock.
            async with http.client.stream("GET", "/events", headers=headers, timeout=timeout) as response:
                if response.status_code >= 400:
                    raise await _refusal(response, http.base_url, not opened)
                content_type = response.headers.get("content-type", "")
                if "text/event-stream" not in content_type:
                    if not opened:
                        raise _unsupported(http.base_url, f"GET /events answered {content_type or 'no type'}")
                    raise _StreamFailed(APIError(f"{http.base_url} answered GET /events with something that is "
                                                 "not an event stream."))
                opened, streaming, failures = True, True, 0
                yield Event(None, OPEN, {})
                async for sse in EventSource(response).aiter_sse():
                    if sse.id:
                        last = sse.id
                    if sse.data:  # as the SSE spec says: no data, no event (an ``id:`` line alone moves the id)
                        yield _event(sse.id, sse.event, sse.data)
            error: In10ntError = ConnectionFailedError(f"{http.base_url} closed the event stream.")
        except httpx.ReadTimeout:
            error = ConnectionFailedError(f"{http.base_url} sent nothing on the event stream for "
                                          f"{heartbeat_timeout:g} s, not even a heartbeat; the connection is lost.")
        except httpx.TransportError as exc:
            # Once the stream was open, a broken read means the server went away mid-stream.
            error = ConnectionFailedError(f"{http.base_url} closed the event stream.") if streaming \
                else connection_error(http.base_url, exc)
        except _StreamFailed as exc:
            error = exc.error
        if on_disconnect is not None:
            on_disconnect(error)
        if not reconnect:
            raise error
        await asyncio.sleep(_delay(failures))
        failures += 1


async def server_has_events(http: HttpCore, timeout: float = 5.0) -> bool:
    """True if ``GET /events`` answers with an event stream (closed at once), False on 404."""
    headers = {**http.auth_headers(), "Accept": "text/event-stream"}
    try:
        async with http.client.stream("GET", "/events", headers=headers, timeout=timeout) as response:
            if response.status_code == 404:
                return False
            if response.status_code >= 400:
                await response.aread()
                raise error_from_response(response, http.base_url)
            return "text/event-stream" in response.headers.get("content-type", "")
    except httpx.TransportError as exc:
        raise connection_error(http.base_url, exc) from None

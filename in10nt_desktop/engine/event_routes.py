"""``GET /events``: the change feed (engine/events.py) as Server-Sent Events, and its OpenAPI description."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from in10nt_desktop.engine.events import EventBus

_DESCRIPTION = """\
One event per change, each with an increasing integer `id` and one line of JSON `data`:

| event | data |
|---|---|
| `template.created`, `template.changed` | the template, as `GET /container-templates/{id}` answers it |
| `template.deleted` | `{"templateId": "…"}` |
| `saved_template.created` | the saved template, as `GET /saved-templates` lists it |
| `saved_template.deleted` | `{"name": "…"}` |
| `instance.created`, `instance.changed` | the instance, as `GET /instances/{id}` answers it |
| `instance.deleted` | `{"instanceId": "…"}` |
| `reset` | `{"latestId": N}`: events were missed (the resume id is too old or from another engine \
process, or the client read too slowly); list again, then carry on |

Resume with the `Last-Event-ID` header (or `?lastEventId=`) to get every event after that id from
the engine's bounded buffer. A comment line `: ping` is sent every 15 s (the engine's
`--events-heartbeat`), so a client that hears nothing for much longer knows the connection is dead.
"""

EVENTS_OPENAPI: dict[str, Any] = {
    "parameters": [{"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"},
                    "description": "Resume after this event id; an id the buffer no longer holds gets `reset` "
                                   "first."}],
    "responses": {"200": {"description": "An endless `text/event-stream`", "content": {"text/event-stream": {
        "schema": {"type": "string"},
        "example": 'id: 1700000000000001\nevent: template.changed\ndata: {"templateId":"tmpl_0123456789abcdef",'
                   '"status":"building","phase":"pulling","progress":{"current":1024,"total":4096}}\n\n',
    }}}},
}


def _ping() -> ServerSentEvent:
    return ServerSentEvent(comment="ping", sep="\n")


def sse_response(frames: AsyncIterator[bytes] | AsyncIterator[ServerSentEvent], ping: float) -> EventSourceResponse:
    """The engine's event streams (this one, a streamed task's): LF line ends, and a ``: ping`` comment
    line after ``ping`` seconds without an event."""
    return EventSourceResponse(frames, ping=ping, sep="\n", ping_message_factory=_ping)


def events_router(bus: Callable[[], EventBus], heartbeat: float) -> APIRouter:
    router = APIRouter()

    @router.get("/events", summary="Stream every change (Server-Sent Events)", description=_DESCRIPTION,
                openapi_extra=EVENTS_OPENAPI, response_class=Response)
    async def events(request: Request, lastEventId: str | None = None) -> Response:  # the wire name
        feed = bus()
        # The start point is fixed here, before the answer's headers go out: a client that has seen
        # them will get every change made after that moment.
        start = feed.resume_point(request.headers.get("last-event-id") or lastEventId)
        return sse_response(feed.stream(start), heartbeat)

    return router

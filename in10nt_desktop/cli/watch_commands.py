"""``in10nt events`` and ``in10nt templates list --watch``: changes printed as they happen.

Both read the server's event stream (``client.events()``), which reconnects by itself; a
dropped connection is said on stderr. ``templates list --watch`` against a server without an
event stream polls the list instead. Ctrl+C ends both with exit code 0: stopping is how a watch ends.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncGenerator, Sequence
from typing import Any

from in10nt_desktop.api import Event, EventsUnsupportedError, In10ntClient, In10ntError, TemplateData
from in10nt_desktop.cli.output import print_table, to_jsonable

EXIT_NO_EVENTS = 3  # the server has no event stream (README: exit codes)
POLL_INTERVAL = 5.0  # seconds between list requests when the server has no event stream


class NoEventStream(In10ntError):
    """``in10nt events`` against a server without ``GET /events``."""


def template_details(t: TemplateData) -> str:
    """``building/pulling 40%``, ``queued #3``, ``ready`` or ``failed: why``."""
    if t.status == "failed":
        return f"failed: {t.error}" if t.error else "failed"
    if t.status != "building":
        return t.status
    if t.phase == "queued":
        return f"queued #{t.queue_position}" if t.queue_position else "queued"
    text = f"building/{t.phase}" if t.phase else "building"
    fraction = t.progress.fraction if t.progress is not None else None
    return f"{text} {fraction:.0%}" if fraction is not None else text


def event_line(event: Event) -> str:
    """One line: ``ID  TYPE  subject  details``."""
    data = event.data
    if event.type in ("template.created", "template.changed"):
        t = event.template()
        subject, details = f"{t.template_id}  {t.name}", template_details(t)
    elif event.type == "template.deleted":
        subject, details = str(data.get("templateId", "")), ""
    elif event.type.startswith("saved_template."):
        subject, details = str(data.get("name", "")), str(data.get("image") or "")
    elif event.type in ("instance.created", "instance.changed"):
        i = event.instance()
        subject, details = f"{i.instance_id}  {i.name}", i.status + (f": {i.error}" if i.error else "")
    elif event.type == "instance.deleted":
        subject, details = str(data.get("instanceId", "")), ""
    elif event.type == "reset":
        subject, details = "-", "events were missed: list again"
    else:
        subject, details = "-", json.dumps(data)[:200]
    ident = "-" if event.id is None else str(event.id)
    return f"{ident}  {event.type:<22}  {subject}  {details}".rstrip()


def _json_line(event: Event) -> str:
    return json.dumps({"id": event.id, "type": event.type, "data": event.data}, separators=(",", ":"))


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _stream(client: In10ntClient, since: int | None) -> AsyncGenerator[Event, None]:
    opened = False

    def on_disconnect(err: In10ntError) -> None:
        if not opened:
            raise err  # never connected: the command fails now rather than retrying in silence
        _say(f"connection lost: {err} Reconnecting…")

    async def events() -> AsyncGenerator[Event, None]:
        nonlocal opened
        async with contextlib.aclosing(client.events(since, on_disconnect=on_disconnect)) as stream:
            async for event in stream:
                if event.type == "open":
                    if opened:
                        _say("reconnected")
                    opened = True
                yield event

    return events()


async def events_cmd(client: In10ntClient, args: argparse.Namespace) -> int:
    args.watching = True
    try:
        async for event in _stream(client, args.since):
            if event.type == "open":
                continue
            print(_json_line(event) if args.json else event_line(event), flush=True)
    except EventsUnsupportedError:
        raise NoEventStream(f"{client.base_url} has no event stream (GET /events answered 404); "
                            "`in10nt templates list --watch` polls it instead.") from None
    return 0


def _print_list(templates: Sequence[TemplateData], as_json: bool) -> None:
    if as_json:
        print(json.dumps(to_jsonable(templates), separators=(",", ":")), flush=True)
        return
    print_table(("ID", "NAME", "STATUS"), ((t.template_id, t.name, template_details(t)) for t in templates))
    sys.stdout.flush()


async def templates_watch(client: In10ntClient, args: argparse.Namespace) -> int:
    """The list once (again after a ``reset``), then every template change."""
    args.watching = True
    listed = False
    try:
        async for event in _stream(client, None):
            if event.type == "reset" or (event.type == "open" and not listed):
                if event.type == "reset":
                    _say("events were missed; listing again")
                _print_list(list(await client.templates.list()), args.json)
                listed = True
            elif event.type.startswith("template."):
                print(_json_line(event) if args.json else event_line(event), flush=True)
    except EventsUnsupportedError:
        _say(f"{client.base_url} has no event stream: polling the list every {POLL_INTERVAL:g} s")
        await _poll(client, args)
    return 0


async def _poll(client: In10ntClient, args: argparse.Namespace) -> None:
    """Without events: list every few seconds and print what differs, as events without ids."""
    seen: dict[str, dict[str, Any]] = {}
    first = True
    while True:
        rows = list(await client.templates.list())
        if first:
            _print_list(rows, args.json)
        current = {t.template_id: t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in rows}
        if not first:
            changes = [Event(None, "template.created" if tid not in seen else "template.changed", row)
                       for tid, row in current.items() if seen.get(tid) != row]
            changes += [Event(None, "template.deleted", {"templateId": tid}) for tid in seen if tid not in current]
            for event in changes:
                print(_json_line(event) if args.json else event_line(event), flush=True)
        seen, first = current, False
        await asyncio.sleep(POLL_INTERVAL)

"""One coroutine per CLI command; each returns its exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from in10nt_desktop.api import BuildRecord, In10ntClient, In10ntError, StatusInfo, TemplateData, ValidationError
from in10nt_desktop.cli.output import print_fields, print_json, print_table
from in10nt_desktop.text_formats import build_words, human_size, relative_age

Handler = Callable[[In10ntClient, argparse.Namespace], Awaitable[int]]


def _progress_text(info: StatusInfo | TemplateData) -> str:
    """A ``/status`` answer's or a listed template's status words (both carry the same build fields)."""
    fraction = info.progress.fraction if info.progress is not None else None
    return build_words(info.status, info.phase, info.queue_position, fraction)


async def templates_list(client: In10ntClient, args: argparse.Namespace) -> int:
    templates = await client.templates.list()
    if args.json:
        print_json(templates)
        return 0
    now = datetime.now(UTC)
    print_table(("ID", "NAME", "IMAGE", "REGISTRY", "STATUS", "SIZE", "CREATED"),
                ((t.template_id, t.name, t.image, t.registry_type, _progress_text(t), human_size(t.size_bytes),
                  relative_age(t.created_at, now) if t.created_at else "") for t in templates))
    return 0


async def templates_create(client: In10ntClient, args: argparse.Namespace) -> int:
    template = await client.templates.create(name=args.name, image=args.image, registry_type=args.registry_type,
                                             description=args.description, registry_auth=args.registry_auth,
                                             idempotency_key=args.idempotency_key)
    # The ID first, before any wait: a build that fails or outlasts --timeout still leaves its ID to look at.
    if not args.json:
        print(template.template_id, flush=True)
    elif args.wait:
        print(f"created {template.template_id}; waiting for its build", file=sys.stderr, flush=True)
    if args.wait:
        await template.wait_until_ready(timeout=args.timeout, poll_interval=1)
    if args.json:
        print_json(template)
    else:
        print(f"{template.name}: {template.status} ({template.image})", file=sys.stderr)
    return 0


async def templates_get(client: In10ntClient, args: argparse.Namespace) -> int:
    template = await client.templates.get(args.template_id)
    print_json(template) if args.json else print_fields(template)
    return 0


async def templates_status(client: In10ntClient, args: argparse.Namespace) -> int:
    info = await client.templates.status(args.template_id)
    if args.json:
        print_json(info)
    else:
        print(_progress_text(info) + (f": {info.error}" if info.error else ""))
    return 1 if info.status == "failed" else 0


async def templates_wait(client: In10ntClient, args: argparse.Namespace) -> int:
    seen: list[str] = []

    def on_poll(info: StatusInfo) -> None:
        text = _progress_text(info)
        if not args.json and (not seen or seen[-1] != text):
            seen.append(text)
            print(f"{args.template_id}: {text}", file=sys.stderr)

    def on_retry(error: In10ntError, delay: float) -> None:
        if not args.json:
            print(f"{args.template_id}: no answer this time ({str(error).rstrip('.')}); asking again in "
                  f"{delay:.1f} s", file=sys.stderr)

    template = await client.templates.wait_until_ready(args.template_id, timeout=args.timeout,
                                                       poll_interval=args.poll_interval, on_poll=on_poll,
                                                       on_retry=on_retry)
    if args.json:
        print_json(template)
    else:
        print(f"{template.template_id} ready: {template.digest or template.image}")
    return 0


async def templates_logs(client: In10ntClient, args: argparse.Namespace) -> int:
    after = 0
    while True:
        log = await client.templates.logs(args.template_id, after)
        for line in log.lines:
            if args.json:
                print(json.dumps(line.model_dump(mode="json")), flush=True)
            else:
                print(f"{line.at:%H:%M:%S}  {line.text}" if line.at else line.text, flush=True)
        after = log.next
        if not args.follow or (log.status != "building" and not log.lines):
            return 0
        await asyncio.sleep(0.5 if log.lines else 1.0)


def _phases_text(record: BuildRecord) -> str:
    return ", ".join(f"{p.name} {p.seconds:.1f} s" if p.seconds is not None else p.name for p in record.phases)


async def templates_builds(client: In10ntClient, args: argparse.Namespace) -> int:
    records = await client.templates.builds(args.template_id)
    if args.json:
        print_json(records)
        return 0
    print_table(("#", "TRIGGER", "RESULT", "QUEUED", "TOOK", "PHASES", "ERROR"),
                ((r.number, r.trigger, r.result, r.queued_at.strftime("%Y-%m-%d %H:%M:%S") if r.queued_at else "",
                  f"{r.seconds:.1f} s" if r.seconds is not None else "", _phases_text(r), r.error or "")
                 for r in records))
    return 0


async def templates_rebuild(client: In10ntClient, args: argparse.Namespace) -> int:
    try:
        template = await client.templates.rebuild(args.template_id, args.registry_auth)
    except ValidationError as exc:
        if exc.code != "credentials_required":
            raise
        user = (await client.templates.get(args.template_id)).registry_username or "USER"
        raise In10ntError(f"Template {args.template_id}'s last build used registry credentials, which are never "
                          f"stored: rebuild it with --username {user} and --password-env VAR (or "
                          "--password-stdin).") from None
    if not args.json:
        print(f"{template.template_id}: build #{template.build_count} started", file=sys.stderr, flush=True)
    if args.wait:
        await template.wait_until_ready(timeout=args.timeout, poll_interval=1)
    if args.json:
        print_json(template)
    elif args.wait:
        print(f"{template.template_id} ready: {template.digest or template.image}")
    return 0


async def delete_each(items: list[str], delete: Callable[[str], Awaitable[str | None]]) -> int:
    """Delete every item, reporting each failure and going on; exit 1 if any failed."""
    failed = 0
    for item in items:
        try:
            label = await delete(item)
            print(f"deleted {label or item}", file=sys.stderr)
        except In10ntError as exc:
            failed += 1
            print(f"error: {item}: {exc}", file=sys.stderr)
    return 1 if failed else 0


async def templates_delete(client: In10ntClient, args: argparse.Namespace) -> int:
    async def delete(template_id: str) -> None:
        await client.templates.delete(template_id)

    return await delete_each(args.template_id, delete)


async def saved_list(client: In10ntClient, args: argparse.Namespace) -> int:
    saved = await client.saved_templates.list()
    if args.json:
        print_json(saved)
        return 0
    print_table(("NAME", "SIZE", "CREATED", "FROM INSTANCE"),
                ((s.name, human_size(s.size_bytes), s.created_at.strftime("%Y-%m-%d %H:%M") if s.created_at else "",
                  s.source_instance_id) for s in saved))
    return 0


async def saved_delete(client: In10ntClient, args: argparse.Namespace) -> int:
    async def delete(name: str) -> None:
        await client.saved_templates.delete(name)

    return await delete_each(args.name, delete)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("templates", "list"): templates_list,
    ("templates", "create"): templates_create,
    ("templates", "get"): templates_get,
    ("templates", "status"): templates_status,
    ("templates", "wait"): templates_wait,
    ("templates", "logs"): templates_logs,
    ("templates", "delete"): templates_delete,
    ("templates", "builds"): templates_builds,
    ("templates", "rebuild"): templates_rebuild,
    ("saved-templates", "list"): saved_list,
    ("saved-templates", "delete"): saved_delete,
}


# The engine's server stack is the `[engine]` extra: a base install (SDK + CLI) lacks it.
ENGINE_EXTRA_MODULES = frozenset({"fastapi", "starlette", "sse_starlette", "uvicorn", "docker"})
ENGINE_EXTRA_MISSING = ("in10nt engine serve: error: the local engine is not installed ({missing} is missing): "
                        "pip install 'in10nt-desktop[engine]'")


def engine_serve(args: argparse.Namespace) -> int:
    from in10nt_desktop.engine.mirrors import MirrorConfigError, parse_mirrors
    from in10nt_desktop.engine.runtime_file import default_data_dir

    try:
        from in10nt_desktop.engine.server import run
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in ENGINE_EXTRA_MODULES:
            raise
        print(ENGINE_EXTRA_MISSING.format(missing=exc.name.split(".")[0]), file=sys.stderr)
        return 1

    specs = list(args.registry_mirror)
    env = os.environ.get("IN10NT_REGISTRY_MIRRORS", "")
    specs = [s for s in env.split(",") if s.strip()] + specs
    try:
        mirrors = parse_mirrors(specs)
    except MirrorConfigError as exc:
        print(f"in10nt engine serve: error: {exc}", file=sys.stderr)
        return 2
    data_dir = getattr(args, "data_dir", None) or default_data_dir()
    run(data_dir, port=args.port, mirrors=mirrors, docker_host=args.docker_host, pull=not args.no_pull,
        max_parallel=max(1, args.max_builds), platform=args.platform, log_level=args.log_level,
        instance_network=args.instance_network, events=not args.no_events,
        events_heartbeat=args.events_heartbeat, events_buffer=args.events_buffer,
        max_tasks=max(1, args.max_tasks), stall_seconds=args.stall_seconds, owner_pid=args.owner_pid)
    return 0

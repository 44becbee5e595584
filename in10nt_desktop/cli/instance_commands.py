"""``in10nt instances …`` and ``in10nt saved-templates clone``: the seed's loop from a terminal.

An instance can be named by its ID or its name (names are unique), so a walk-through reads
``in10nt instances run c1 'cat /marker'``. ``run`` prints the task's output as it is printed and exits
with the task's exit code, like ``docker exec``; the engine's notes (output cut, timeout) are in the
output. ``--json`` prints the one result object when the task ended.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

from in10nt_desktop.api import In10ntClient, In10ntError, Instance, NotFoundError
from in10nt_desktop.cli.commands import Handler, delete_each
from in10nt_desktop.cli.output import print_fields, print_json, print_table
from in10nt_desktop.text_formats import human_size

HELP = "instances: containers of a template that run tasks (on the local engine: shell commands)"


def add_parsers(top: Any, common: argparse.ArgumentParser) -> None:
    """Register ``instances list|get|create|run|snapshot|delete`` under ``top``."""
    inst = top.add_parser("instances", help=HELP).add_subparsers(dest="cmd", required=True)
    inst.add_parser("list", parents=[common], help="list instances")
    get = inst.add_parser("get", parents=[common], help="show an instance")
    get.add_argument("instance", metavar="INST", help="instance ID or name")
    create = inst.add_parser("create", parents=[common], allow_abbrev=False,
                             help="create an instance from a ready template (prints its ID)")
    create.add_argument("--template", required=True, metavar="ID", help="container template ID")
    create.add_argument("--name", help="unique instance name (default: the template's name and a short suffix)")
    create.add_argument("--description")
    run = inst.add_parser("run", parents=[common], help="run a task (locally: a shell command, sh -c) and print "
                                                        "its output as it is printed; exits with its exit code")
    run.add_argument("instance", metavar="INST", help="instance ID or name")
    run.add_argument("task", metavar="TASK")
    run.add_argument("--timeout", type=float, help="seconds before the task is killed (engine default 600)")
    snap = inst.add_parser("snapshot", parents=[common], help="save the instance as a saved template")
    snap.add_argument("instance", metavar="INST", help="instance ID or name")
    snap.add_argument("--name", required=True, help="saved template name (unique)")
    delete = inst.add_parser("delete", parents=[common], help="delete instances (removes their containers)")
    delete.add_argument("instance", metavar="INST", nargs="+", help="instance IDs or names")


def add_clone_parser(saved: Any, common: argparse.ArgumentParser) -> None:
    clone = saved.add_parser("clone", parents=[common], allow_abbrev=False,
                             help="create an instance from a saved template (prints its ID)")
    clone.add_argument("name", metavar="NAME", help="saved template name")
    clone.add_argument("--new-instance-name", required=True, metavar="N")


async def find_instance(client: In10ntClient, ref: str) -> Instance:
    """By ID first, then by name."""
    if ref.startswith("inst_"):
        try:
            return await client.instances.get(ref)
        except NotFoundError as exc:
            if exc.code == "gone":
                raise
    named = [i for i in await client.instances.list() if i.name == ref]
    if not named:
        raise In10ntError(f"No instance with the ID or name '{ref}' (see `in10nt instances list`).")
    return named[0]


def _origin(i: Instance) -> str:
    return f"saved:{i.saved_template_name}" if i.saved_template_name else (i.container_template_id or "")


async def instances_list(client: In10ntClient, args: argparse.Namespace) -> int:
    instances = await client.instances.list()
    if args.json:
        print_json(instances)
        return 0
    print_table(("ID", "NAME", "STATUS", "FROM", "CREATED"),
                ((i.instance_id, i.name, i.status + (f": {i.error}" if i.error else ""), _origin(i),
                  i.created_at.strftime("%Y-%m-%d %H:%M") if i.created_at else "") for i in instances))
    return 0


async def instances_get(client: In10ntClient, args: argparse.Namespace) -> int:
    instance = await find_instance(client, args.instance)
    print_json(instance) if args.json else print_fields(instance)
    return 0


def _announce(instance: Instance, args: argparse.Namespace) -> None:
    if args.json:
        print_json(instance)
        return
    print(instance.instance_id)
    print(f"{instance.name}: {instance.status} (from {_origin(instance)})", file=sys.stderr)


async def instances_create(client: In10ntClient, args: argparse.Namespace) -> int:
    name = args.name
    if not name:
        template = await client.templates.get(args.template)
        name = f"{template.name}-{secrets.token_hex(2)}"
    instance = await client.instances.create(name=name, description=args.description,
                                             container_template_id=args.template)
    _announce(instance, args)
    return 0


async def instances_run(client: In10ntClient, args: argparse.Namespace) -> int:
    instance = await find_instance(client, args.instance)
    if args.json:
        result = await instance.run(args.task, timeout=args.timeout)
        print_json(result)
    else:
        async with instance.run_stream(args.task, timeout=args.timeout) as stream:
            async for piece in stream:  # as the task prints it (a server that cannot stream: all at the end)
                sys.stdout.write(piece)
                sys.stdout.flush()
        result = stream.result
    if result.exit_code is None:
        return 1
    return result.exit_code if 0 <= result.exit_code <= 255 else 1


async def instances_snapshot(client: In10ntClient, args: argparse.Namespace) -> int:
    instance = await find_instance(client, args.instance)
    saved = await instance.snapshot(args.name)
    if args.json:
        print_json(saved)
    else:
        print(saved.name)
        size = human_size(saved.size_bytes)
        print(f"saved {saved.name}{f' ({size})' if size else ''} from {instance.instance_id}", file=sys.stderr)
    return 0


async def instances_delete(client: In10ntClient, args: argparse.Namespace) -> int:
    async def delete(ref: str) -> str:
        instance = await find_instance(client, ref)
        await instance.delete()
        return f"{instance.instance_id} ({instance.name})"

    return await delete_each(args.instance, delete)


async def saved_clone(client: In10ntClient, args: argparse.Namespace) -> int:
    instance = await client.instances.create_from_saved_template(template_name=args.name,
                                                                 new_instance_name=args.new_instance_name)
    _announce(instance, args)
    return 0


HANDLERS: dict[tuple[str, str], Handler] = {
    ("instances", "list"): instances_list,
    ("instances", "get"): instances_get,
    ("instances", "create"): instances_create,
    ("instances", "run"): instances_run,
    ("instances", "snapshot"): instances_snapshot,
    ("instances", "delete"): instances_delete,
    ("saved-templates", "clone"): saved_clone,
}

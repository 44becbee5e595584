"""``in10nt images check`` and ``in10nt templates drift``: know before you build, and notice a moved tag.

Both ask the local engine's extensions (``POST /registry/check``, ``POST /container-templates/{id}/drift``);
a server without them gets a sentence saying so, never a guess. Credentials come as for ``templates
create``: ``--username`` with ``--password-env VAR`` or ``--password-stdin``, never a flag value.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from in10nt_desktop.api import REGISTRY_TYPES, In10ntClient, In10ntError, NotFoundError
from in10nt_desktop.api.registry import MAX_CHECK_TIMEOUT, MIN_CHECK_TIMEOUT
from in10nt_desktop.cli.commands import Handler
from in10nt_desktop.cli.output import print_json
from in10nt_desktop.text_formats import human_size

NO_CHECK = ("{server} has no image check (POST /registry/check is an In10nt local engine extension); "
            "create the template to find out, or use the local engine.")


def credential_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", help="registry username (_json_key or oauth2accesstoken for gcr)")
    pw = parser.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="read the registry password from this env variable")
    pw.add_argument("--password-stdin", action="store_true", help="read the registry password from stdin")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a number of seconds") from None
    if not MIN_CHECK_TIMEOUT <= value <= MAX_CHECK_TIMEOUT:
        raise argparse.ArgumentTypeError(f"{text[:40]} is outside {MIN_CHECK_TIMEOUT:g}-{MAX_CHECK_TIMEOUT:g}")
    return value


def add_parsers(top: Any, templates: Any, common: argparse.ArgumentParser) -> None:
    """``images check`` under ``top`` and ``templates drift`` under the templates subcommands."""
    images = top.add_parser("images", help="images on their registries").add_subparsers(dest="cmd", required=True)
    check = images.add_parser("check", parents=[common], allow_abbrev=False,
                              help="check that an image can be built (digest, platforms, size) without pulling "
                                   "it; exit 1 if it cannot")
    check.add_argument("image", metavar="IMAGE", help="e.g. python:3.11-slim or registry.example.com/team/app:1")
    check.add_argument("--registry-type", choices=REGISTRY_TYPES, help="default: follows the image's host")
    credential_options(check)
    check.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                       help=f"the whole check ({MIN_CHECK_TIMEOUT:g}-{MAX_CHECK_TIMEOUT:g}, engine default 10)")
    drift = templates.add_parser("drift", parents=[common], allow_abbrev=False,
                                 help="has the template's tag moved since it was built? (exit 1 if the registry "
                                      "could not say)")
    drift.add_argument("template_id", metavar="ID")
    credential_options(drift)
    drift.add_argument("--timeout", type=_seconds, default=None, metavar="SECONDS",
                       help=f"{MIN_CHECK_TIMEOUT:g}-{MAX_CHECK_TIMEOUT:g}, engine default 10")


def _platforms(answer: Any) -> str:
    return ", ".join(answer.platforms) or answer.platform or "?"


async def images_check(client: In10ntClient, args: argparse.Namespace) -> int:
    try:
        answer = await client.registry.check(args.image, registry_type=args.registry_type,
                                             registry_auth=args.registry_auth, timeout=args.timeout)
    except NotFoundError:
        raise In10ntError(NO_CHECK.format(server=client.base_url)) from None
    if args.json:
        print_json(answer)
    elif answer.ok:
        layers = f"{answer.layers} layer{'' if answer.layers == 1 else 's'}"
        print(f"ok: {args.image} · {_platforms(answer)} · {human_size(answer.size_bytes)} compressed ({layers})")
        print(f"digest: {answer.digest}")
    if not answer.ok:
        problem = answer.error
        where = f"{problem.field}: " if problem is not None and problem.field else ""
        text = problem.message if problem is not None else "the check failed without a reason"
        print(f"error: {where}{text}", file=sys.stderr)
        return 1
    return 0


async def templates_drift(client: In10ntClient, args: argparse.Namespace) -> int:
    try:
        info = await client.templates.drift(args.template_id, registry_auth=args.registry_auth,
                                            timeout=args.timeout)
    except NotFoundError:
        if await client.registry.available():
            raise  # the server has the check: it is the template it does not know
        raise In10ntError(NO_CHECK.format(server=client.base_url)) from None
    if args.json:
        print_json(info)
    elif info.drifted is True:
        print(f"{info.template_id}: base image updated since build")
        print(f"built from: {info.built_digest}")
        print(f"tag now:    {info.current_digest}")
    elif info.drifted is False:
        print(f"{info.template_id}: up to date ({info.built_digest})")
    if info.drifted is None:
        reason = info.error.message if info.error is not None else "no reason given"
        print(f"error: the registry could not say whether the tag moved: {reason}", file=sys.stderr)
        return 1
    return 0


HANDLERS: dict[tuple[str, str], Handler] = {
    ("images", "check"): images_check,
    ("templates", "drift"): templates_drift,
}

"""``in10nt``: templates, saved templates, instances and the local engine from a terminal.

Exit codes: 0 ok (also Ctrl+C ending `events` or `--watch`), 1 the API or a build failed, 2 usage
error, 3 the server has no event stream (`events`), 4 a wait gave up without knowing how the build
ends (its timeout ran out while the build ran, or the server did not answer). Passwords are read from
an environment variable or stdin, never from a flag value (flags end up in shell history).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, NoReturn

from pydantic import SecretStr

from in10nt_desktop import __version__
from in10nt_desktop.api import (
    HOSTED_BASE_URL,
    REGISTRY_TYPES,
    AuthenticationError,
    BuildFailedError,
    ConnectionFailedError,
    In10ntClient,
    In10ntError,
    RegistryAuth,
    ValidationError,
    WaitTimeoutError,
)
from in10nt_desktop.api.validation import FieldError, parse_image, registry_type_for
from in10nt_desktop.cli import commands, image_commands, instance_commands, watch_commands
from in10nt_desktop.engine.runtime_file import RUNTIME_FILE, default_data_dir, read_runtime

EXIT_UNKNOWN = 4  # a wait gave up: the build may still end either way (3 is `events` without a stream)


class UsageError(Exception):
    """Exit code 2: the command line itself is wrong."""


# Options whose value is (or may be mistaken for) a secret, whatever their exact spelling: --password-stdin,
# --password-env, a misspelt --pasword or --api-keyy, -p. The word after one is never echoed.
_SECRET_OPTION = re.compile(r"^--?[\w-]*(pas|pw|secret|token|key|auth|cred)", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def secret_words(argv: list[str]) -> list[str]:
    """The command-line words that sit next to a password-like option (``--opt WORD`` or ``--opt=WORD``)."""
    words: list[str] = []
    for i, word in enumerate(argv):
        if word.startswith("-p") and not word.startswith("--"):  # -p PASSWORD, -pPASSWORD (mysql's habit)
            words += [word, word[2:]] if word[2:] else argv[i + 1:i + 2]
            continue
        if not _SECRET_OPTION.match(word):
            continue
        _name, eq, value = word.partition("=")
        if eq:
            words.append(value)
        elif i + 1 < len(argv):
            words.append(argv[i + 1])
    return [w for w in words if w]


class RedactingParser(argparse.ArgumentParser):
    """argparse, except that its errors never repeat a word that sat next to a password-like option.

    argparse quotes what it did not understand ("unrecognized arguments: Hunter2"), and a password typed
    in the wrong place is exactly that. Subparsers are made of the same class (argparse's default).
    """

    secrets: tuple[str, ...] = ()  # set by main() for the command line being parsed

    def error(self, message: str) -> NoReturn:
        for secret in sorted(self.secrets, key=len, reverse=True):
            message = re.sub(rf"(?<![\w]){re.escape(secret)}(?![\w])", "***", message)
        super().error(message)


def _global_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument("--base-url", default=default, help="API URL (env IN10NT_BASE_URL; default: the local "
                        "engine if one runs, else the hosted service)")
    parser.add_argument("--api-key", default=default, help="API key (env IN10NT_API_KEY)")
    parser.add_argument("--data-dir", default=default, type=Path,
                        help="local engine data directory (env IN10NT_DATA_DIR)")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS if suppress else False,
                        help="machine-readable output")


def _bounded(kind: Callable[[str], float], low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text[:40]}' is not a {kind.__name__} number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text[:40]} is outside {low:g}-{high:g}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    common = RedactingParser(add_help=False, allow_abbrev=False)
    _global_options(common, suppress=True)
    parser = RedactingParser(prog="in10nt", allow_abbrev=False,
                                     description="In10nt agent environments from any Docker image.")
    parser.add_argument("--version", action="version", version=f"in10nt {__version__}")
    _global_options(parser, suppress=False)
    top = parser.add_subparsers(dest="group", required=True,
                                metavar="{templates,saved-templates,instances,images,events,engine}")

    tpl = top.add_parser("templates", help="container templates").add_subparsers(dest="cmd", required=True)
    tlist = tpl.add_parser("list", parents=[common], help="list templates")
    tlist.add_argument("--watch", action="store_true", help="then print every change until Ctrl+C")
    # No abbreviations: `--password-e` must not quietly mean --password-env.
    create = tpl.add_parser("create", parents=[common], allow_abbrev=False,
                            help="create a template and start its build")
    create.add_argument("--name", required=True)
    create.add_argument("--image", required=True, help="base image, e.g. python:3.11-slim")
    create.add_argument("--registry-type", choices=REGISTRY_TYPES,
                        help="default: follows the image's host")
    create.add_argument("--description")
    create.add_argument("--username", help="registry username (_json_key or oauth2accesstoken for gcr)")
    pw = create.add_mutually_exclusive_group()
    pw.add_argument("--password-env", metavar="VAR", help="read the registry password from this env variable")
    pw.add_argument("--password-stdin", action="store_true", help="read the registry password from stdin")
    create.add_argument("--idempotency-key", help="same key, same template (safe retries)")
    create.add_argument("--wait", action="store_true", help="wait until the build ends")
    create.add_argument("--timeout", type=float, default=300, help="seconds --wait waits (default 300)")
    for name, text in (("get", "show a template"), ("status", "show a template's build status"),
                       ("delete", "delete templates (cancels their builds)")):
        p = tpl.add_parser(name, parents=[common], help=text)
        p.add_argument("template_id", nargs="+" if name == "delete" else None, metavar="ID")
    wait = tpl.add_parser("wait", parents=[common], help="wait until a template is ready (exit 1 if it fails, 4 if "
                          "the wait gave up without knowing)")
    wait.add_argument("template_id", metavar="ID")
    wait.add_argument("--timeout", type=float, default=300, help="seconds (default 300)")
    wait.add_argument("--poll-interval", type=float, default=5, help="seconds (default 5)")
    logs = tpl.add_parser("logs", parents=[common], help="print a template's build log")
    logs.add_argument("template_id", metavar="ID")
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing while it builds")
    builds = tpl.add_parser("builds", parents=[common], help="list a template's builds, newest first")
    builds.add_argument("template_id", metavar="ID")
    rebuild = tpl.add_parser("rebuild", parents=[common], allow_abbrev=False,
                             help="build a template again in place (same ID, a new build record)")
    rebuild.add_argument("template_id", metavar="ID")
    rebuild.add_argument("--username", help="registry username, when the template's last build had credentials")
    rpw = rebuild.add_mutually_exclusive_group()
    rpw.add_argument("--password-env", metavar="VAR", help="read the registry password from this env variable")
    rpw.add_argument("--password-stdin", action="store_true", help="read the registry password from stdin")
    rebuild.add_argument("--wait", action="store_true", help="wait until the build ends")
    rebuild.add_argument("--timeout", type=float, default=300, help="seconds --wait waits (default 300)")

    saved = top.add_parser("saved-templates", help="saved templates (snapshots)").add_subparsers(
        dest="cmd", required=True)
    saved.add_parser("list", parents=[common], help="list saved templates")
    sdel = saved.add_parser("delete", parents=[common], help="delete a saved template")
    sdel.add_argument("name", nargs="+")
    instance_commands.add_clone_parser(saved, common)
    instance_commands.add_parsers(top, common)
    image_commands.add_parsers(top, tpl, common)

    events = top.add_parser("events", parents=[common], help="print every change on the server as it happens")
    events.add_argument("--since", type=_bounded(int, 0, 2**63 - 1), metavar="ID",
                        help="first replay the events after this id (a reset if the server no longer has them)")
    events.set_defaults(cmd="stream")

    engine = top.add_parser("engine", help="the local engine").add_subparsers(dest="cmd", required=True)
    # Not the client options: the engine serves, it connects to no URL and needs no API key.
    serve = engine.add_parser("serve", help="serve the In10nt API on 127.0.0.1", allow_abbrev=False)
    serve.add_argument("--data-dir", default=argparse.SUPPRESS, type=Path,
                       help="data directory (env IN10NT_DATA_DIR; default: the user's data dir)")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    serve.add_argument("--registry-mirror", action="append", default=[], metavar="REGISTRY=URL",
                       help="e.g. docker.io=http://127.0.0.1:5000 (repeatable; env IN10NT_REGISTRY_MIRRORS)")
    serve.add_argument("--docker-host", help="Docker Engine API to pull through (default: DOCKER_HOST or the "
                       "usual sockets)")
    serve.add_argument("--no-pull", action="store_true", help="resolve images only, never pull")
    serve.add_argument("--max-builds", type=int, default=4, help="builds run at once (default 4)")
    serve.add_argument("--max-tasks", type=int, default=16, help="instance tasks run at once; as many more wait "
                       "up to 30 s for a slot, then get 429 (default 16)")
    serve.add_argument("--platform", help="os/arch to pick from image indexes (default: this computer's)")
    serve.add_argument("--instance-network", metavar="MODE", help="network mode of instance containers, e.g. none "
                       "or bridge (default: the container engine's default)")
    serve.add_argument("--no-events", action="store_true", help="serve no GET /events (clients then poll)")
    serve.add_argument("--events-heartbeat", type=_bounded(float, 0.1, 300), default=15.0, metavar="SECONDS",
                       help="seconds between heartbeats on the event stream (0.1-300, default 15)")
    serve.add_argument("--events-buffer", type=_bounded(int, 100, 1_000_000), default=10_000, metavar="N",
                       help="events kept for Last-Event-ID resumes (100-1000000, default 10000)")
    serve.add_argument("--stall-seconds", type=_bounded(float, 1, 3600), default=60.0, metavar="SECONDS",
                       help="registry silence before a build is flagged stalled (1-3600, default 60)")
    serve.add_argument("--owner-pid", type=_bounded(int, 1, 2**31 - 1), metavar="PID",
                       help="exit once no build runs after this process is gone (the app that started the engine "
                            "passes its own)")
    serve.add_argument("--log-level", default="warning", choices=["debug", "info", "warning", "error"])
    return parser


def connect(args: argparse.Namespace) -> In10ntClient:
    base_url = getattr(args, "base_url", None) or os.environ.get("IN10NT_BASE_URL")
    api_key = getattr(args, "api_key", None) or os.environ.get("IN10NT_API_KEY")
    if not base_url:
        data_dir = getattr(args, "data_dir", None) or default_data_dir()
        info = read_runtime(data_dir)
        if info is not None:
            args.announced_by = data_dir / RUNTIME_FILE  # for the hint when that engine does not answer
            # The engine's own token: an IN10NT_API_KEY exported for the hosted service must not shadow it.
            return In10ntClient(str(info["url"]), getattr(args, "api_key", None) or str(info["token"]))
        if not api_key:
            raise In10ntError("No local engine is running (start one with `in10nt engine serve`) and no API key "
                              "is set for the hosted service (--api-key or IN10NT_API_KEY).")
        base_url = HOSTED_BASE_URL
    return In10ntClient(base_url, api_key)


def read_auth(args: argparse.Namespace) -> RegistryAuth | None:
    password: str | None = None
    if args.password_env:
        # The name is never repeated: what was typed after --password-env may be the password itself.
        if not _ENV_NAME.match(args.password_env):
            raise UsageError("--password-env takes the NAME of an environment variable that holds the password "
                             "(letters, digits and _), for example --password-env REGISTRY_PASSWORD.")
        password = os.environ.get(args.password_env)
        if not password:
            raise UsageError("--password-env: the environment variable it names is not set or is empty (the name "
                             "is not repeated here, in case a password was typed in its place).")
    elif args.password_stdin:
        # At a terminal, do not echo what is typed; from a pipe, read one line.
        password = getpass.getpass("Registry password: ") if sys.stdin.isatty() else \
            sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UsageError("--password-stdin: nothing was read from standard input.")
    if password is not None and not args.username:
        raise UsageError("A password was given without --username.")
    if args.username and password is None:
        raise UsageError("--username needs --password-env VAR or --password-stdin.")
    return RegistryAuth(username=args.username, password=SecretStr(password)) if password is not None else None


def explain(exc: In10ntError, args: argparse.Namespace) -> str:
    """The SDK's sentence, with what to do about it in this command line's terms."""
    announced: Path | None = getattr(args, "announced_by", None)
    if isinstance(exc, ConnectionFailedError) and announced is not None:
        # engine.json outlived its engine (a crash, and its pid now belongs to another process).
        return (f"{str(exc).removesuffix('.')}; the local engine announced in {announced} is not running: "
                "start it with `in10nt engine serve`.")
    if isinstance(exc, AuthenticationError) and exc.base_url is not None:
        if announced is not None:
            return (f"{str(exc).removesuffix('.')}; {announced} may be stale: restart the local engine with "
                    "`in10nt engine serve`, or set --api-key.")
        return f"{str(exc).removesuffix('.')}; set --api-key or IN10NT_API_KEY."
    return str(exc)


def infer_registry_type(image: str) -> str:
    try:
        return registry_type_for(parse_image(image)) or "dockerhub"
    except FieldError:
        return "dockerhub"  # let the server name the problem with the image


async def _run(args: argparse.Namespace) -> int:
    if args.group == "engine":
        raise AssertionError("engine commands run outside asyncio")
    handlers = {**commands.HANDLERS, **instance_commands.HANDLERS, **image_commands.HANDLERS,
                ("events", "stream"): watch_commands.events_cmd}
    if args.group == "templates" and args.cmd == "list" and args.watch:
        handlers[("templates", "list")] = watch_commands.templates_watch
    handler: Callable[[In10ntClient, argparse.Namespace], Awaitable[int]] = handlers[(args.group, args.cmd)]
    if hasattr(args, "password_stdin"):  # every command that takes registry credentials
        args.registry_auth = read_auth(args)
    if args.group == "templates" and args.cmd == "create":
        args.registry_type = args.registry_type or infer_registry_type(args.image)
    async with connect(args) as client:
        return await handler(client, args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    RedactingParser.secrets = tuple(secret_words(argv))
    if any(a == "--password" or a.startswith("--password=") for a in argv):
        # Said before argparse runs, so the password is not echoed back in an "unrecognized" error.
        parser.error("there is no --password flag (flags end up in shell history): "
                     "use --password-env VAR or --password-stdin")
    args = parser.parse_args(argv)
    args.json = getattr(args, "json", False)
    if args.group == "engine":
        return commands.engine_serve(args)
    try:
        return asyncio.run(_run(args))
    except UsageError as exc:
        parser.error(str(exc))
    except watch_commands.NoEventStream as exc:
        print(f"error: {exc}", file=sys.stderr)
        return watch_commands.EXIT_NO_EVENTS
    except ValidationError as exc:
        where = f"{exc.field}: " if exc.field else ""
        print(f"error: {where}{exc}", file=sys.stderr)
    except WaitTimeoutError as exc:
        print(f"error: {explain(exc, args)}", file=sys.stderr)
        return EXIT_UNKNOWN
    except (BuildFailedError, In10ntError) as exc:
        print(f"error: {explain(exc, args)}", file=sys.stderr)
    except KeyboardInterrupt:
        return 0 if getattr(args, "watching", False) else 130
    except BrokenPipeError:
        # The reader left (`in10nt … | head`): not an error worth a traceback. Python would write to the
        # closed pipe again when it flushes at exit, so stdout goes to the null device first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE
    return 1


if __name__ == "__main__":
    sys.exit(main())

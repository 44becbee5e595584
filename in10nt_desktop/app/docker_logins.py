"""Logins Docker already has: ``~/.docker/config.json`` and the credential helpers it names.

``find`` lists them host by host (usernames only: what to offer); ``read`` fetches one login's
secret when the user asks to import it. Both are plain blocking functions for a worker thread.
Docker keeps a login either inline (``auths.<host>.auth`` = base64 of ``user:password``) or in a
helper: ``credsStore`` for every host, ``credHelpers.<host>`` for one. A helper is the program
``docker-credential-<name>``: ``get`` reads the server URL on stdin and prints
``{"Username", "Secret"}``; ``list`` prints ``{url: username}``. Each run is bounded in time and
output; nothing found here is written anywhere until the user imports it into the keychain.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from in10nt_desktop.api.validation import DOCKER_HUB_HOSTS

HELPER_TIMEOUT = 5.0
MAX_CONFIG_BYTES = 1024 * 1024
MAX_HELPER_OUTPUT = 64 * 1024
MAX_LOGINS_FOUND = 100
IDENTITY_TOKEN_USER = "<token>"  # what helpers answer for an OAuth identity token: not a password login


class DockerLoginError(Exception):
    """``str(err)`` is the sentence to show."""


@dataclass(frozen=True)
class DockerLogin:
    host: str                     # as the app keys logins (login_host): docker.io, registry.example.com:5000
    server: str                   # as Docker keys it (https://index.docker.io/v1/): what a helper is asked for
    username: str | None          # None: a helper knows it, and is asked only on import
    source: str                   # "config.json" or "docker-credential-<helper>"
    helper: str | None = None
    inline: str | None = field(default=None, repr=False)  # the base64 auth value of an inline login


def config_path(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("DOCKER_CONFIG"):
        return Path(env["DOCKER_CONFIG"]) / "config.json"
    home = env.get("HOME") or str(Path.home())
    return Path(home) / ".docker" / "config.json"


def normalise_host(server: str) -> str:
    """``https://index.docker.io/v1/`` → ``docker.io``; ``registry.example.com:5000`` stays."""
    text = server.strip()
    host = urlsplit(text).netloc if "://" in text else text.split("/", 1)[0]
    host = host.lower()
    return "docker.io" if host in DOCKER_HUB_HOSTS else host


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise DockerLoginError(f"There is no Docker config at {path}.") from None
    except OSError as exc:
        raise DockerLoginError(f"{path} could not be read: {exc.strerror or exc}.") from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise DockerLoginError(f"{path} is larger than 1 MiB; it is not read.")
    try:
        data = json.loads(raw)
    except ValueError:
        raise DockerLoginError(f"{path} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise DockerLoginError(f"{path} is not a Docker config (no JSON object).")
    return data


def _decode_inline(value: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(value, validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise DockerLoginError("A login in the Docker config is not valid base64 text.") from None
    username, sep, secret = text.partition(":")
    if not sep or not username or not secret:
        raise DockerLoginError("A login in the Docker config has no user:password in it.")
    return username, secret


def run_helper(helper: str, action: str, stdin: str, environ: Mapping[str, str] | None = None) -> Any:
    """Run ``docker-credential-<helper> <action>``: its JSON answer, or a sentence."""
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run([program, action], input=stdin.encode(), capture_output=True, timeout=HELPER_TIMEOUT,
                              check=False, env=None if environ is None else dict(environ))
    except FileNotFoundError:
        raise DockerLoginError(f"{program} is not installed (the Docker config names it).") from None
    except subprocess.TimeoutExpired:
        raise DockerLoginError(f"{program} did not answer within {HELPER_TIMEOUT:g} s (a locked keychain?).") \
            from None
    except OSError as exc:
        raise DockerLoginError(f"{program} could not be run: {exc.strerror or exc}.") from None
    if done.returncode != 0:
        # Helpers print "credentials not found in native keychain" and the like; never echo stdin back.
        reason = done.stdout.decode("utf-8", "replace").strip().splitlines()[:1] or ["no reason given"]
        raise DockerLoginError(f"{program} {action} failed: {reason[0][:200]}")
    if len(done.stdout) > MAX_HELPER_OUTPUT:
        raise DockerLoginError(f"{program} answered with more than 64 KiB; refused.")
    try:
        return json.loads(done.stdout or b"null")
    except ValueError:
        raise DockerLoginError(f"{program} did not answer with JSON.") from None


def find(environ: Mapping[str, str] | None = None) -> tuple[list[DockerLogin], list[str]]:
    """The logins Docker has, one per host, and sentences about what could not be read."""
    path = config_path(environ)
    config = _read_config(path)
    problems: list[str] = []
    found: dict[str, DockerLogin] = {}
    auths = config.get("auths") if isinstance(config.get("auths"), dict) else {}
    helpers = config.get("credHelpers") if isinstance(config.get("credHelpers"), dict) else {}
    store = config.get("credsStore") if isinstance(config.get("credsStore"), str) else None
    assert isinstance(auths, dict) and isinstance(helpers, dict)
    for server, entry in auths.items():
        if not isinstance(server, str) or not isinstance(entry, dict):
            continue
        host = normalise_host(server)
        if isinstance(entry.get("auth"), str) and entry["auth"]:
            try:
                username, _secret = _decode_inline(entry["auth"])
            except DockerLoginError as exc:
                problems.append(f"{host}: {exc}")
                continue
            found[host] = DockerLogin(host, server, username, "config.json", inline=entry["auth"])
        elif entry.get("identitytoken"):
            problems.append(f"{host}: signed in with an identity token, which cannot be imported; sign in with "
                            "a password or access token instead.")
        elif store and host not in helpers:  # an empty entry: the login is in the store
            found.setdefault(host, DockerLogin(host, server, None, f"docker-credential-{store}", store))
    if store:
        try:
            listed = run_helper(store, "list", "", environ)
        except DockerLoginError as exc:
            problems.append(str(exc))
            listed = {}
        for server, username in (listed.items() if isinstance(listed, dict) else []):
            if isinstance(server, str) and isinstance(username, str):
                host = normalise_host(server)
                if host not in helpers and (host not in found or found[host].helper == store):
                    found[host] = DockerLogin(host, server, username if username != IDENTITY_TOKEN_USER else None,
                                              f"docker-credential-{store}", store)
    for server, helper in helpers.items():
        if isinstance(server, str) and isinstance(helper, str) and helper:
            host = normalise_host(server)
            found[host] = DockerLogin(host, server, None, f"docker-credential-{helper}", helper)
    logins = sorted(found.values(), key=lambda login: login.host)
    if len(logins) > MAX_LOGINS_FOUND:
        problems.append(f"The Docker config lists {len(logins)} logins; the first {MAX_LOGINS_FOUND} are shown.")
    return logins[:MAX_LOGINS_FOUND], problems


def read(login: DockerLogin, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
    """``(username, secret)`` of one login, read now (the user asked to import it)."""
    if login.inline is not None:
        return _decode_inline(login.inline)
    assert login.helper is not None
    answer = run_helper(login.helper, "get", login.server, environ)
    if not isinstance(answer, dict) or not isinstance(answer.get("Secret"), str) or not answer["Secret"]:
        raise DockerLoginError(f"docker-credential-{login.helper} has no login for {login.host}.")
    username = answer.get("Username")
    if username == IDENTITY_TOKEN_USER:
        raise DockerLoginError(f"{login.host} is signed in with an identity token, which cannot be imported.")
    if not isinstance(username, str) or not username:
        raise DockerLoginError(f"docker-credential-{login.helper} gave no username for {login.host}.")
    return username, answer["Secret"]

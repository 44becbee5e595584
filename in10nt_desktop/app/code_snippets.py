""""Copy as code": the same template as a Python SDK call, an ``in10nt`` command and the seed's curl.

Secrets never appear: a typed password becomes a ``REGISTRY_PASS`` environment variable
reference, an env-sourced one keeps its variable's name — as the seed advises.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, replace
from typing import Any

from in10nt_desktop.api import HOSTED_BASE_URL
from in10nt_desktop.app.drafts import SecretSource, TemplateDraft

DEFAULT_PASSWORD_VAR = "REGISTRY_PASS"


def _password_var(draft: TemplateDraft) -> str:
    if draft.secret is not None and draft.secret.kind == "env":
        return draft.secret.value
    return DEFAULT_PASSWORD_VAR


# The SDK alone is the base install: no Qt, no engine (see pyproject.toml's extras).
SDK_INSTALL = "pip install in10nt-desktop"


def draft_for_code(template: Any) -> TemplateDraft:
    """A template as a draft for its code and its rebuild: when its build used a registry login, the
    username it gave and the password as ``$REGISTRY_PASS`` (the engine keeps no password)."""
    draft = TemplateDraft.from_template(template)
    if getattr(template, "needs_credentials", False):
        username = getattr(template, "registry_username", None) or "USERNAME"
        draft = replace(draft, username=username, secret=SecretSource("env", DEFAULT_PASSWORD_VAR))
    return draft


@dataclass(frozen=True)
class CodeTarget:
    """Where the copied code sends its request, and what it asks for.

    ``engine_file``: the app talks to the local engine, whose address and token change with each
    start and live in this ``engine.json``: the code reads them from there (as the CLI does), where
    code aimed at the hosted service reads ``IN10NT_BASE_URL`` / ``IN10NT_API_KEY``.
    ``rebuild_of``: a template ID: the code rebuilds that template in place instead of creating one.
    """

    base_url: str = HOSTED_BASE_URL
    engine_file: str | None = None
    rebuild_of: str | None = None


def python_sdk(draft: TemplateDraft, target: CodeTarget = CodeTarget()) -> str:
    lines = [f"# {SDK_INSTALL}   (the SDK alone: no Qt, no engine)", "",
             "import asyncio"]
    if draft.has_credentials:
        lines.append("import os")
    if target.engine_file:
        where = ["    # this computer's engine: its address and token from its engine.json, as the CLI finds them",
                 "    async with In10ntClient.for_local_engine() as client:"]
    else:
        where = ["    async with In10ntClient.from_env() as client:  # IN10NT_BASE_URL, IN10NT_API_KEY"]
    lines += ["", "from in10nt_desktop.api import In10ntClient" + (", RegistryAuth" if draft.has_credentials else ""),
              "", "", "async def main() -> None:", *where]
    auth = (f"RegistryAuth(username={draft.username!r}, password=os.environ[{_password_var(draft)!r}])"
            if draft.has_credentials else None)
    if target.rebuild_of:
        lines.append(f"        template = await client.templates.rebuild({target.rebuild_of!r}"
                     + (f", {auth})" if auth else ")"))
    else:
        lines += ["        template = await client.templates.create(",
                  f"            name={draft.name!r},",
                  f"            image={draft.image!r},",
                  f"            registry_type={draft.registry_type!r},"]
        if draft.description:
            lines.append(f"            description={draft.description!r},")
        if auth:
            lines.append(f"            registry_auth={auth},")
        lines.append("        )")
    lines += ["        await template.wait_until_ready(timeout=300, poll_interval=5)",
              "        print(template.template_id, template.status)", "", "", "asyncio.run(main())", ""]
    return "\n".join(lines)


def cli(draft: TemplateDraft, target: CodeTarget = CodeTarget()) -> str:
    if target.rebuild_of:
        parts = ["in10nt", "templates", "rebuild", target.rebuild_of]
    else:
        parts = ["in10nt", "templates", "create", "--name", draft.name, "--image", draft.image,
                 "--registry-type", draft.registry_type]
        if draft.description:
            parts += ["--description", draft.description]
    if draft.has_credentials:
        parts += ["--username", str(draft.username), "--password-env", _password_var(draft)]
    return " ".join(shlex.quote(p) for p in parts)


def curl(draft: TemplateDraft, target: CodeTarget = CodeTarget()) -> str:
    body: dict[str, object] = {}
    if not target.rebuild_of:
        body = {"name": draft.name, "image": draft.image, "registryType": draft.registry_type}
        if draft.description:
            body["description"] = draft.description
    var = _password_var(draft)
    if draft.has_credentials:
        # A placeholder the shell expands: the JSON is built around it, never with the value.
        body["registryAuth"] = {"username": draft.username, "password": f"__{var}__"}
    payload = json.dumps(body, indent=2).replace("'", "'\\''")  # the payload sits in single quotes
    if draft.has_credentials:
        payload = payload.replace(f'"__{var}__"', f'"\'"${var}"\'"')
    path = f"/container-templates/{target.rebuild_of}/rebuild" if target.rebuild_of else "/container-templates"
    head, url, token = "", target.base_url.rstrip("/"), "$IN10NT_API_KEY"
    if target.engine_file:
        # The local engine's address and token change with each start: read from its engine.json when run
        # (the token never enters the snippet itself).
        read = "python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "
        where = shlex.quote(target.engine_file)
        # Shell variables, not exported: nothing run later from this shell inherits a token or a port
        # that the next start of the engine makes stale.
        head = (f'ENGINE_URL="$({read}{where} url)"\n'
                f'ENGINE_TOKEN="$({read}{where} token)"\n')
        url, token = "$ENGINE_URL", "$ENGINE_TOKEN"
    return (f'{head}curl -X POST "{url}{path}" \\\n'
            f'  -H "Authorization: Bearer {token}" \\\n'
            f'  -H "Content-Type: application/json" \\\n'
            f"  -d '{payload}'")

"""``client.registry.check``, ``client.templates.drift`` and ``in10nt images check`` / ``templates drift``
against the real engine and registries."""

from __future__ import annotations

import uuid

import pytest
from pydantic import SecretStr
from stack.engine_proc import EngineProc, wait_status
from stack.images import StackImages, push_image
from stack.registry import Registry

from in10nt_desktop.api import RegistryAuth

WRONG = "wrong-pass-9d1f"


@pytest.mark.asyncio
async def test_sdk_check_and_drift(engine: EngineProc, images: StackImages, registry_open: Registry) -> None:
    img = images.private_busybox
    async with engine.client() as client:
        assert await client.registry.available() is True
        ok = await client.registry.check(img.ref, registry_auth=RegistryAuth(username="testuser",
                                                                            password=SecretStr("testpass")))
        assert (ok.ok, ok.digest, ok.platforms, ok.size_bytes) == (True, img.digest, ["linux/amd64"], img.size_bytes)
        wrong = await client.registry.check(img.ref, registry_type="private",
                                            registry_auth=RegistryAuth(username="testuser", password=SecretStr(WRONG)))
        assert wrong.ok is False and wrong.error is not None
        assert (wrong.error.code, wrong.error.field) == ("credentials_rejected", "registryAuth.password")
        assert WRONG not in repr(wrong)

        repo = f"x/sdk-drift-{uuid.uuid4().hex[:6]}"
        first = push_image(registry_open.url, repo, "1")
        template = await client.templates.create(name="sdk-drift", image=first.ref, registry_type="private")
        wait_status(engine, template.template_id, {"ready"})
        assert (await client.templates.drift(template.template_id)).drifted is False
        second = push_image(registry_open.url, repo, "1", labels={"rev": "2"})
        info = await client.templates.drift(template.template_id, timeout=5)
        assert (info.drifted, info.built_digest, info.current_digest) == (True, first.digest, second.digest)
        assert info.checked_at is not None


def test_cli_images_check(engine: EngineProc, images: StackImages) -> None:
    img = images.private_busybox
    ok = engine.cli("images", "check", img.ref, "--username", "testuser", "--password-env", "REG_PW",
                    env={"REG_PW": "testpass"})
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == f"ok: {img.ref} · linux/amd64 · 1.0 MB compressed (1 layer)"
    assert f"digest: {img.digest}" in ok.stdout

    wrong = engine.cli("images", "check", img.ref, "--username", "testuser", "--password-stdin", stdin=WRONG + "\n")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith(f"error: registryAuth.password: Credentials rejected by {img.registry}")
    assert WRONG not in wrong.stdout + wrong.stderr

    missing = engine.cli("images", "check", f"{img.registry}/team/busybox:nope", "--json")
    assert missing.returncode == 1
    assert '"ok": false' in missing.stdout
    assert "error: registryAuth: " in missing.stderr  # anonymous: the registry wants credentials first

    usage = engine.cli("images", "check", img.ref, "--timeout", "0")
    assert usage.returncode == 2
    assert "outside 0.5-60" in usage.stderr


def test_cli_templates_drift(engine: EngineProc, registry_open: Registry) -> None:
    repo = f"x/cli-drift-{uuid.uuid4().hex[:6]}"
    first = push_image(registry_open.url, repo, "1")
    created = engine.cli("templates", "create", "--name", "cli-drift", "--image", first.ref)
    assert created.returncode == 0, created.stderr
    tid = created.stdout.strip()
    wait_status(engine, tid, {"ready"})
    same = engine.cli("templates", "drift", tid)
    assert (same.returncode, same.stdout.strip()) == (0, f"{tid}: up to date ({first.digest})")
    second = push_image(registry_open.url, repo, "1", labels={"rev": "2"})
    moved = engine.cli("templates", "drift", tid)
    assert moved.returncode == 0
    assert moved.stdout.splitlines() == [f"{tid}: base image updated since build", f"built from: {first.digest}",
                                         f"tag now:    {second.digest}"]
    unknown = engine.cli("templates", "drift", "tmpl_0000000000000000")
    assert unknown.returncode == 1
    assert "No template with ID tmpl_0000000000000000" in unknown.stderr

"""Build records and rebuilds through the SDK and the ``in10nt`` CLI, against the real engine and registries."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from stack.builds_api import unique_repo
from stack.engine_proc import EngineProc
from stack.gate_proxy import GateProxy
from stack.images import StackImages, push_image
from stack.registry import Registry

from in10nt_desktop.api import BuildFailedError, BuildRecord, ConflictError, RegistryAuth, ValidationError


@pytest.mark.asyncio
async def test_sdk_rebuild_of_a_running_build_is_a_conflict(engine: EngineProc, registry_open: Registry,
                                                            images: StackImages) -> None:
    host, port = registry_open.host.split(":")
    gate = GateProxy(host, int(port))  # never opened: the build stays in its resolve
    try:
        async with engine.client() as client:
            t = await client.templates.create(name="sdk-held", image=f"{gate.host}/{images.open_busybox.repo}:1",
                                              registry_type="private")
            assert (t.build_count, t.needs_credentials, t.registry_username) == (1, False, None)
            assert (t.expected_seconds, t.stalled, t.stalled_reason) == (None, False, None)
            with pytest.raises(ConflictError) as running:
                await client.templates.rebuild(t.template_id)
            assert running.value.code == "build_running"
            [record] = await client.templates.builds(t.template_id)
            assert (record.result, record.finished_at, record.log_to) == ("building", None, None)
            await t.delete()
    finally:
        gate.close()


@pytest.mark.asyncio
async def test_sdk_history_and_credentials(engine: EngineProc, registry_open: Registry, images: StackImages) -> None:
    repo = unique_repo("sdk-history")
    async with engine.client() as client:
        t = await client.templates.create(name="sdk-history", image=f"{registry_open.host}/{repo}:1",
                                          registry_type="private")
        with pytest.raises(BuildFailedError, match="not found"):
            await t.wait_until_ready(timeout=30, poll_interval=0.1)
        pushed = push_image(registry_open.url, repo, "1")
        again = await client.templates.rebuild(t.template_id)
        assert (again.template_id, again.status, again.build_count) == (t.template_id, "building", 2)
        ready = await again.wait_until_ready(timeout=30, poll_interval=0.1)
        assert ready.digest == pushed.digest and ready.started_at is not None
        newest, oldest = await client.templates.builds(t.template_id)
        assert isinstance(newest, BuildRecord)
        assert (newest.number, newest.trigger, newest.result) == (2, "rebuild", "ready")
        assert (oldest.number, oldest.trigger, oldest.result) == (1, "create", "failed")
        assert [p.name for p in newest.phases] == ["resolving"] and newest.phases[0].seconds is not None
        assert newest.seconds is not None and newest.seconds >= 0
        assert oldest.log_to is not None and oldest.log_to < newest.log_from

        private = await client.templates.create(
            name="sdk-private", image=images.private_busybox.ref, registry_type="private",
            registry_auth=RegistryAuth(username="testuser", password=SecretStr("testpass")))
        await private.wait_until_ready(timeout=30, poll_interval=0.1)
        assert (private.needs_credentials, private.registry_username) == (True, "testuser")
        with pytest.raises(ValidationError) as refused:
            await client.templates.rebuild(private.template_id)
        assert (refused.value.code, refused.value.field) == ("credentials_required", "registryAuth")
        rebuilt = await client.templates.rebuild(
            private.template_id, RegistryAuth(username="testuser", password=SecretStr("testpass")))
        assert rebuilt.build_count == 2
        await rebuilt.wait_until_ready(timeout=30, poll_interval=0.1)


def test_cli_builds_and_rebuild(engine: EngineProc, images: StackImages) -> None:
    img = images.private_busybox
    created = engine.cli("templates", "create", "--name", "cli-rebuild", "--image", img.ref, "--username", "testuser",
                         "--password-env", "REG_PASS", "--wait", env={"REG_PASS": "testpass"})
    assert created.returncode == 0, created.stderr
    tid = created.stdout.strip()

    refused = engine.cli("templates", "rebuild", tid)
    assert refused.returncode == 1
    assert "--username testuser" in refused.stderr and "--password-env" in refused.stderr, refused.stderr

    rebuilt = engine.cli("templates", "rebuild", tid, "--username", "testuser", "--password-stdin", "--wait",
                         stdin="testpass\n")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"{tid}: build #2 started" in rebuilt.stderr
    assert rebuilt.stdout.strip() == f"{tid} ready: {img.digest}"
    assert "testpass" not in rebuilt.stdout + rebuilt.stderr

    wrong = engine.cli("templates", "rebuild", tid, "--username", "testuser", "--password-env", "REG_PASS", "--wait",
                       env={"REG_PASS": "nope"})
    assert wrong.returncode == 1 and "Credentials rejected" in wrong.stderr

    table = engine.cli("templates", "builds", tid)
    assert table.returncode == 0, table.stderr
    header, *rows = table.stdout.splitlines()
    assert header.split() == ["#", "TRIGGER", "RESULT", "QUEUED", "TOOK", "PHASES", "ERROR"]
    assert [row.split()[:3] for row in rows] == [["3", "rebuild", "failed"], ["2", "rebuild", "ready"],
                                                 ["1", "create", "ready"]]
    assert "Credentials rejected" in rows[0] and "resolving " in rows[1]

    as_json = json.loads(engine.cli("--json", "templates", "builds", tid).stdout)
    assert [r["number"] for r in as_json] == [3, 2, 1]
    assert as_json[0]["error"].startswith("Credentials rejected") and as_json[2]["trigger"] == "create"
    got = json.loads(engine.cli("--json", "templates", "get", tid).stdout)
    assert (got["buildCount"], got["needsCredentials"], got["registryUsername"]) == (3, True, "testuser")

    missing = engine.cli("templates", "builds", "tmpl_doesnotexist")
    assert missing.returncode == 1 and "No template with ID tmpl_doesnotexist" in missing.stderr

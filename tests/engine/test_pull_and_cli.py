"""The engine pull through Podman's Docker API, the seed's curl commands, and the CLI as documented."""

from __future__ import annotations

import json
import re
import subprocess

import docker
from stack.engine_proc import EngineProc, wait_status
from stack.images import StackImages
from stack.podman import Podman


def test_build_pulls_into_the_container_engine_with_progress(engine_with_podman: EngineProc, podman: Podman,
                                                            images: StackImages) -> None:
    img = images.private_busybox
    client = docker.DockerClient(base_url=podman.docker_host)
    try:
        with engine_with_podman.http() as http:
            tid = http.post("/container-templates", json={
                "name": "pulled", "image": img.ref, "registryType": "private",
                "registryAuth": {"username": "testuser", "password": "testpass"}}).json()["templateId"]
            t = wait_status(engine_with_podman, tid, {"ready", "failed"})
            assert (t["status"], t["digest"]) == ("ready", img.digest), t
            assert "progress" not in t  # progress is for building templates only
            lines = [x["text"] for x in http.get(f"/container-templates/{tid}/logs").json()["lines"]]
        assert any(line.startswith(f"Pulling {img.registry}/{img.repo}@{img.digest}") for line in lines)
        assert any(line.startswith("Pulled ") for line in lines)
        pulled = client.images.get(f"{img.registry}/{img.repo}@{img.digest}")
        assert img.config_digest == pulled.id
    finally:
        client.close()


def test_hub_build_pulls_through_the_mirror_anonymously(engine_with_podman: EngineProc, podman: Podman,
                                                        images: StackImages) -> None:
    with engine_with_podman.http() as http:
        tid = http.post("/container-templates", json={"name": "hub-pull", "image": "busybox:1.36",
                                                      "registryType": "dockerhub"}).json()["templateId"]
    t = wait_status(engine_with_podman, tid, {"ready", "failed"})
    assert (t["status"], t["digest"]) == ("ready", images.hub_busybox.digest), t
    out = podman.cli("images", "--digests", "--format", "{{.Repository}} {{.Digest}}")
    assert images.hub_busybox.digest in out.stdout


def test_seed_curl_commands_as_written(engine: EngineProc, images: StackImages, registry_token: object) -> None:
    """The five curl commands of the seed, with only the URL and key swapped for the engine's."""
    from stack.images import push_image

    # The seed creates python:3.11-slim from Docker Hub; the engine's Docker Hub mirror serves a tiny one.
    pushed = push_image(registry_token.url, "library/python", "3.11-slim", auth=("hubuser", "hubpass"),  # type: ignore[attr-defined]
                        token_flow=True)

    def curl(command: str) -> str:
        command = command.replace("https://in10t-api-v2.fly.dev", engine.url).replace("YOUR_API_KEY", engine.token)
        result = subprocess.run(["bash", "-c", command + " -sS -w '\\n%{http_code}'"], capture_output=True,
                                text=True, check=True, timeout=60)
        return result.stdout

    out = curl('''curl -X POST https://in10t-api-v2.fly.dev/container-templates \\
-H "Authorization: Bearer YOUR_API_KEY" \\
-H "Content-Type: application/json" \\
-d '{
"name": "python-ml",
"image": "python:3.11-slim",
"registryType": "dockerhub"
}' ''')
    body, code = out.rsplit("\n", 1)
    assert code == "201"
    template_id = json.loads(body)["templateId"]
    assert re.fullmatch(r"tmpl_[0-9a-f]{16}", template_id)

    body, code = curl('curl -H "Authorization: Bearer YOUR_API_KEY" \\\nhttps://in10t-api-v2.fly.dev/container-templates'
                      ).rsplit("\n", 1)
    assert code == "200" and template_id in [t["templateId"] for t in json.loads(body)]

    t = wait_status(engine, template_id, {"ready", "failed"})
    assert (t["status"], t["digest"]) == ("ready", pushed.digest)
    body, code = curl('curl -H "Authorization: Bearer YOUR_API_KEY" \\\n'
                      f'https://in10t-api-v2.fly.dev/container-templates/{template_id}/status').rsplit("\n", 1)
    assert code == "200" and json.loads(body)["status"] == "ready"

    body, code = curl('curl -H "Authorization: Bearer YOUR_API_KEY" \\\nhttps://in10t-api-v2.fly.dev/saved-templates'
                      ).rsplit("\n", 1)
    assert (code, json.loads(body)) == ("200", [])

    body, code = curl(f'curl -X DELETE https://in10t-api-v2.fly.dev/container-templates/{template_id} \\\n'
                      '-H "Authorization: Bearer YOUR_API_KEY"').rsplit("\n", 1)
    assert code == "204"


def test_cli_private_registry_create_and_wait(engine: EngineProc, images: StackImages) -> None:
    """The README's walk-through: create with --password-env, wait, and a wrong password."""
    img = images.private_busybox
    created = engine.cli("templates", "create", "--name", "cli-private", "--image", img.ref,
                         "--registry-type", "private", "--username", "testuser", "--password-env", "REG_PASS",
                         env={"REG_PASS": "testpass"})
    assert created.returncode == 0, created.stderr
    tid = created.stdout.strip()
    assert tid.startswith("tmpl_")
    waited = engine.cli("templates", "wait", tid, "--poll-interval", "0.2")
    assert waited.returncode == 0, waited.stderr
    assert img.digest in waited.stdout
    got = engine.cli("--json", "templates", "get", tid)
    assert json.loads(got.stdout)["digest"] == img.digest

    wrong = engine.cli("templates", "create", "--name", "cli-wrong", "--image", img.ref, "--username", "testuser",
                       "--password-stdin", stdin="nope\n")
    assert wrong.returncode == 0, wrong.stderr
    failed = engine.cli("templates", "wait", wrong.stdout.strip(), "--poll-interval", "0.2")
    assert failed.returncode == 1
    assert "Credentials rejected by" in failed.stderr
    assert "nope" not in failed.stderr + failed.stdout

    listed = engine.cli("templates", "list")
    assert "cli-private" in listed.stdout and "ready" in listed.stdout
    logs = engine.cli("templates", "logs", tid)
    assert "Resolved to " + img.digest in logs.stdout
    status = engine.cli("templates", "status", wrong.stdout.strip())
    assert status.returncode == 1 and status.stdout.startswith("failed: Credentials rejected")
    deleted = engine.cli("templates", "delete", tid, "tmpl_doesnotexist")
    assert deleted.returncode == 1
    assert f"deleted {tid}" in deleted.stderr and "tmpl_doesnotexist" in deleted.stderr


def test_cli_validation_error_names_the_field(engine: EngineProc) -> None:
    r = engine.cli("templates", "create", "--name", "x", "--image", "Not/Valid")
    assert r.returncode == 1
    assert r.stderr.strip() == "error: image: Repository names must be lowercase."


def test_cli_list_says_queued_with_its_place_and_ends_quietly_when_its_reader_leaves(engine: EngineProc,
                                                                                   images: StackImages) -> None:
    import os
    import sys

    with engine.http() as http:
        for n in range(3):
            r = http.post("/container-templates", json={"name": f"cli-pipe-{n}", "image": images.open_busybox.ref,
                                                        "registryType": "private"})
            assert r.status_code == 201, r.text
            wait_status(engine, r.json()["templateId"], {"ready"})
    out = engine.cli("templates", "list")
    assert out.returncode == 0, out.stderr
    line = next(line for line in out.stdout.splitlines() if "cli-pipe-0" in line)
    assert re.search(r"\bready\b", line) and re.search(r"just now|min ago", line)  # an age, as `docker ps` shows
    # `in10nt templates list | head -1`: head leaves after a line; no traceback, the shell's SIGPIPE code.
    env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
    env["IN10NT_DATA_DIR"] = str(engine.data_dir)
    piped = subprocess.run(["bash", "-c", f"{sys.executable} -m in10nt_desktop.cli.main --json templates list "
                                          "| head -c 1; exit ${PIPESTATUS[0]}"],
                           capture_output=True, text=True, env=env, timeout=60, check=False)
    assert piped.stdout == "[" and "Traceback" not in piped.stderr and "BrokenPipe" not in piped.stderr, piped.stderr
    assert piped.returncode in (0, 141), piped.returncode  # 0 when the whole answer fit the pipe before head left

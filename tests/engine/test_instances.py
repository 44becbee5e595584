"""Instances, snapshots and clones on the real stack: the engine runs containers through Podman's Docker API.

The module's engine starts as a user would start it for these machines (``--instance-network none``,
since the test Podman has no network namespaces); its templates pull from the loopback registry.
Everything is asserted from the outside: HTTP answers, CLI output, and what Podman itself holds.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import tarfile
from pathlib import Path

import httpx
import pytest
from stack.builds_api import ready_template
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.gate_proxy import GateProxy
from stack.images import StackImages
from stack.podman import Podman
from stack.registry import Registry

from in10nt_desktop.api import ConflictError

INST_ID = re.compile(r"^inst_[0-9a-f]{16}$")


@pytest.fixture(scope="module")
def template_id(instances_engine: EngineProc, images: StackImages) -> str:
    return ready_template(instances_engine, images.open_busybox.ref)


def create(http: httpx.Client, template: str, name: str, **extra: object) -> dict[str, object]:
    r = http.post("/instances", json={"name": name, "containerTemplateId": template, **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def run(http: httpx.Client, iid: object, task: str, **extra: object) -> dict[str, object]:
    r = http.post(f"/instances/{iid}/run", json={"task": task, **extra})
    assert r.status_code == 200, r.text
    return dict(r.json())


def containers(podman: Podman, engine: EngineProc) -> list[str]:
    """Names of the containers Podman holds for ``engine`` (by its data-dir label)."""
    out = podman.cli("ps", "-a", "--filter", f"label=in10nt.engine-data-dir={engine.data_dir.resolve()}",
                     "--format", "{{.Names}}").stdout
    return sorted(out.split())


def test_instance_from_a_ready_template_runs_its_pinned_image(instances_engine: EngineProc, template_id: str,
                                                              podman: Podman, images: StackImages) -> None:
    img = images.open_busybox
    with instances_engine.http() as http:
        inst = create(http, template_id, "first", description="the first one")
        assert INST_ID.match(str(inst["instanceId"]))
        assert (inst["name"], inst["description"], inst["containerTemplateId"], inst["status"], inst["error"]) == \
            ("first", "the first one", template_id, "running", None)
        assert inst["savedTemplateName"] is None and str(inst["createdAt"]).endswith("Z")
        assert http.get(f"/instances/{inst['instanceId']}").json() == inst
        assert inst in http.get("/instances").json()
        # The image's own command is /bin/sh, which exits at once without a terminal: the instance stays up.
        assert run(http, inst["instanceId"], "echo $((6 * 7))")["output"] == "42\n"
        assert http.get(f"/instances/{inst['instanceId']}").json()["status"] == "running"

    info = json.loads(podman.cli("inspect", f"in10nt-{inst['instanceId']}").stdout)[0]
    labels = info["Config"]["Labels"]
    assert labels["in10nt.instance-id"] == inst["instanceId"]
    assert (labels["in10nt.name"], labels["in10nt.template-id"]) == ("first", template_id)
    assert labels["in10nt.engine-data-dir"] == str(instances_engine.data_dir.resolve())
    assert labels["in10nt.created-at"] == inst["createdAt"]
    assert info["HostConfig"]["NetworkMode"] == "none"
    assert info["ImageName"] == f"{img.registry}/{img.repo}@{img.digest}"


@pytest.mark.asyncio
async def test_seed_loop_task_snapshot_clone_with_the_sdk(instances_engine: EngineProc, template_id: str,
                                                          podman: Podman) -> None:
    async with instances_engine.client() as client:
        instance = await client.instances.create(name="ml-agent", description="ML tasks",
                                                 container_template_id=template_id)
        wrote = await instance.run("echo hi > /marker && echo written")
        assert (wrote.exit_code, wrote.output, wrote.timed_out) == (0, "written\n", False)
        assert wrote.started_at is not None and wrote.finished_at is not None
        assert wrote.finished_at >= wrote.started_at

        saved = await instance.snapshot("web-app-template")
        assert saved.name == "web-app-template"
        assert saved.size_bytes is not None and saved.size_bytes > 0
        assert (saved.source_instance_id, saved.container_template_id) == (instance.instance_id, template_id)
        assert [s.name for s in await client.saved_templates.list()].count("web-app-template") == 1
        with pytest.raises(ConflictError, match="already exists"):
            await instance.snapshot("web-app-template")

        clone = await client.instances.create_from_saved_template(template_name="web-app-template",
                                                                  new_instance_name="my-web-app-v2")
        assert (clone.name, clone.status, clone.saved_template_name) == ("my-web-app-v2", "running",
                                                                         "web-app-template")
        assert clone.instance_id != instance.instance_id
        assert (await clone.run("cat /marker")).output == "hi\n"
        # The clone is its own copy: a change there does not reach the source.
        await clone.run("echo changed > /marker")
        assert (await instance.run("cat /marker")).output == "hi\n"
        await clone.delete()
        await instance.delete()
    images_out = podman.cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
    assert saved.image is not None and saved.image in images_out
    assert saved.image.startswith("localhost/in10nt-saved/web-app-template:")


def test_saved_template_in_use_is_refused_then_deleted_with_its_image(instances_engine: EngineProc, template_id: str,
                                                                       podman: Podman) -> None:
    with instances_engine.http() as http:
        source = create(http, template_id, "snap-source")
        r = http.post(f"/instances/{source['instanceId']}/snapshot", json={"templateName": "Shared env v1"})
        assert r.status_code == 201, r.text
        image = r.json()["image"]
        clone = http.post("/instances/from-saved-template",
                          json={"templateName": "Shared env v1", "newInstanceName": "shared-user"}).json()

        refused = http.delete("/saved-templates/Shared env v1")
        assert refused.status_code == 409
        message = refused.json()["error"]["message"]
        assert "'shared-user'" in message and clone["instanceId"] in message and "delete it first" in message
        assert image in podman.cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout

        assert http.delete(f"/instances/{clone['instanceId']}").status_code == 204
        assert http.delete("/saved-templates/Shared env v1").status_code == 204
        assert "Shared env v1" not in [s["name"] for s in http.get("/saved-templates").json()]
        assert image not in podman.cli("images", "--format", "{{.Repository}}:{{.Tag}}").stdout
        assert http.delete("/saved-templates/Shared env v1").status_code == 404
        gone = http.post("/instances/from-saved-template",
                         json={"templateName": "Shared env v1", "newInstanceName": "late"})
        assert (gone.status_code, gone.json()["error"]["field"]) == (404, "templateName")


def test_snapshot_and_clone_names_follow_the_template_rules(instances_engine: EngineProc, template_id: str) -> None:
    with instances_engine.http() as http:
        source = create(http, template_id, "rules")
        for bad in ("", "   ", "x" * 129, "tab\there"):
            r = http.post(f"/instances/{source['instanceId']}/snapshot", json={"templateName": bad})
            assert (r.status_code, r.json()["error"]["field"]) == (422, "templateName"), bad
        r = http.post("/instances/from-saved-template", json={"templateName": "nope", "newInstanceName": ""})
        assert (r.status_code, r.json()["error"]["field"]) == (422, "newInstanceName")
        r = http.post("/instances", json={"containerTemplateId": template_id})
        assert (r.status_code, r.json()["error"]["field"], r.json()["error"]["message"]) == \
            (422, "name", "Give it a name.")
        r = http.post(f"/instances/{source['instanceId']}/run", json={"task": "true", "timeout": 0})
        assert (r.status_code, r.json()["error"]["field"]) == (422, "timeout")
        r = http.post(f"/instances/{source['instanceId']}/run", json={"task": ""})
        assert (r.status_code, r.json()["error"]["field"]) == (422, "task")


def test_a_failing_task_keeps_its_exit_code_and_output(instances_engine: EngineProc, template_id: str) -> None:
    with instances_engine.http() as http:
        inst = create(http, template_id, "failing")
        result = run(http, inst["instanceId"], "echo to-out; echo to-err >&2; exit 3")
        assert (result["exitCode"], result["timedOut"], result["outputTruncated"]) == (3, False, False)
        assert "to-out\n" in str(result["output"]) and "to-err\n" in str(result["output"])
        missing = run(http, inst["instanceId"], "no-such-command")
        assert missing["exitCode"] == 127 and "not found" in str(missing["output"])


def test_a_task_that_times_out_is_killed_with_its_children(instances_engine: EngineProc, template_id: str) -> None:
    with instances_engine.http() as http:
        inst = create(http, template_id, "slow")
        result = run(http, inst["instanceId"], "echo started; sleep 4321 & sleep 4322; echo never", timeout=1)
        assert result["timedOut"] is True
        assert result["exitCode"] == 137
        assert result["output"] == "started\n[in10nt: the task was stopped after 1 s (timeout)]\n"
        # Neither the task nor the child it started in the background is left running.
        procs = run(http, inst["instanceId"], "for p in /proc/[0-9]*; do cat $p/cmdline; echo; done")["output"]
        assert "4321" not in str(procs) and "4322" not in str(procs)
        assert run(http, inst["instanceId"], "echo still usable")["output"] == "still usable\n"


def test_huge_output_keeps_the_tail_and_says_it_was_cut(instances_engine: EngineProc, template_id: str) -> None:
    with instances_engine.http() as http:
        inst = create(http, template_id, "chatty")
        dots = "." * 32
        task = f'i=0; while [ $i -lt 60000 ]; do echo "line $i {dots}"; i=$((i+1)); done'
        result = run(http, inst["instanceId"], task)
    output = str(result["output"])
    total = sum(len(f"line {i} {dots}\n") for i in range(60000))
    assert (result["exitCode"], result["outputTruncated"], result["outputBytes"]) == (0, True, total)
    first, rest = output.split("\n", 1)
    assert re.fullmatch(r"\[in10nt: output cut: the first [\d,]+ bytes were dropped; the last [\d,]+ bytes follow\]",
                        first)
    assert rest.endswith(f"line 59999 {dots}\n")
    assert "line 0 " not in rest
    assert rest.startswith("line ")  # the tail starts on a whole line
    assert len(rest.encode()) <= 1_000_000


def test_instance_whose_container_was_removed_outside_shows_as_gone(instances_engine: EngineProc, template_id: str,
                                                                    podman: Podman) -> None:
    with instances_engine.http() as http:
        inst = create(http, template_id, "doomed")
        iid = inst["instanceId"]
        podman.cli("rm", "-f", "-t", "0", f"in10nt-{iid}")
        assert iid not in [i["instanceId"] for i in http.get("/instances").json()]
        r = http.get(f"/instances/{iid}")
        assert r.status_code == 404
        assert r.json()["error"]["message"] == f"Instance {iid} ('doomed') is gone: its container was removed " \
                                               "outside In10nt."
        assert http.post(f"/instances/{iid}/run", json={"task": "true"}).status_code == 404
        assert http.delete(f"/instances/{iid}").status_code == 404
        # The name is free again.
        assert create(http, template_id, "doomed")["instanceId"] != iid


def test_an_instance_stopped_outside_starts_again_for_a_task(instances_engine: EngineProc, template_id: str,
                                                             podman: Podman) -> None:
    with instances_engine.http() as http:
        inst = create(http, template_id, "rebooted")
        run(http, inst["instanceId"], "echo kept > /state")
        podman.cli("stop", "-t", "5", f"in10nt-{inst['instanceId']}")  # PID 1 ends on SIGTERM at once
        assert http.get(f"/instances/{inst['instanceId']}").json()["status"] == "stopped"
        assert run(http, inst["instanceId"], "cat /state")["output"] == "kept\n"
        assert http.get(f"/instances/{inst['instanceId']}").json()["status"] == "running"


def test_delete_removes_the_container(instances_engine: EngineProc, template_id: str, podman: Podman) -> None:
    with instances_engine.http() as http:
        inst = create(http, template_id, "short-lived")
        assert f"in10nt-{inst['instanceId']}" in containers(podman, instances_engine)
        assert http.delete(f"/instances/{inst['instanceId']}").status_code == 204
        assert f"in10nt-{inst['instanceId']}" not in containers(podman, instances_engine)
        r = http.get(f"/instances/{inst['instanceId']}")
        assert (r.status_code, r.json()["error"]["message"]) == (404, f"No instance with ID {inst['instanceId']}.")


@pytest.mark.asyncio
async def test_concurrent_creates_make_no_duplicates(instances_engine: EngineProc, template_id: str,
                                                     podman: Podman) -> None:
    headers = {"Authorization": f"Bearer {instances_engine.token}"}
    async with httpx.AsyncClient(base_url=instances_engine.url, headers=headers, timeout=60) as http:
        def post(name: str, key: str | None = None) -> asyncio.Future[httpx.Response]:
            extra = {"Idempotency-Key": key} if key else {}
            return asyncio.ensure_future(http.post("/instances", headers=extra,
                                                   json={"name": name, "containerTemplateId": template_id}))

        same = await asyncio.gather(*(post("twin") for _ in range(6)))
        assert sorted(r.status_code for r in same) == [201] + [409] * 5
        for r in same:
            if r.status_code == 409:
                assert r.json()["error"]["code"] == "name_taken" and "'twin' already exists" in \
                    r.json()["error"]["message"]

        different = await asyncio.gather(*(post(f"crowd-{n}") for n in range(5)))
        assert [r.status_code for r in different] == [201] * 5
        assert len({r.json()["instanceId"] for r in different}) == 5

        retried = await asyncio.gather(*(post("retried", key="same-key-1") for _ in range(4)))
        assert [r.status_code for r in retried] == [201] * 4
        assert len({r.json()["instanceId"] for r in retried}) == 1

        listed = (await http.get("/instances")).json()
    names = [i["name"] for i in listed]
    assert len(names) == len(set(names))
    assert names.count("twin") == names.count("retried") == 1
    held = containers(podman, instances_engine)
    assert len(held) == len(set(held)) == len(listed)
    assert sorted(f"in10nt-{i['instanceId']}" for i in listed) == held


def test_template_must_exist_and_be_ready(instances_engine: EngineProc, registry_open: Registry,
                                          images: StackImages) -> None:
    host, port = registry_open.host.split(":")
    gate = GateProxy(host, int(port))
    try:
        with instances_engine.http() as http:
            r = http.post("/instances", json={"name": "x", "containerTemplateId": "tmpl_0000000000000000"})
            assert (r.status_code, r.json()["error"]["field"]) == (404, "containerTemplateId")

            failed = http.post("/container-templates", json={
                "name": "broken", "image": f"{registry_open.host}/x/busybox:no-such-tag",
                "registryType": "private"}).json()["templateId"]
            wait_status(instances_engine, failed, {"failed"})
            r = http.post("/instances", json={"name": "x", "containerTemplateId": failed})
            assert r.status_code == 409
            assert r.json()["error"]["message"].startswith(f"Template {failed} failed to build (Image or tag not found")

            building = http.post("/container-templates", json={
                "name": "held", "image": f"{gate.host}/{images.open_busybox.repo}:1",
                "registryType": "private"}).json()["templateId"]
            r = http.post("/instances", json={"name": "x", "containerTemplateId": building})
            assert r.status_code == 409
            assert r.json()["error"]["message"] == (f"Template {building} is still building; create the instance "
                                                    f"once it is ready (`in10nt templates wait {building}`).")
            http.delete(f"/container-templates/{building}")
    finally:
        gate.close()


def test_template_image_missing_from_the_engine_is_pulled_again(instances_engine: EngineProc, podman: Podman,
                                                                images: StackImages) -> None:
    img = images.open_docker
    tid = ready_template(instances_engine, img.ref, "docker-format")
    podman.cli("rmi", "-f", f"{img.registry}/{img.repo}@{img.digest}")
    with instances_engine.http() as http:
        inst = create(http, tid, "repulled")
        assert run(http, inst["instanceId"], "cat /etc/in10nt-test")["output"] == "hello\n"
    assert img.digest in podman.cli("images", "--digests", "--format", "{{.Digest}}").stdout


def test_an_image_without_a_shell_is_refused_with_a_sentence(instances_engine: EngineProc, podman: Podman,
                                                             registry_open: Registry) -> None:
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("data.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    rootfs = podman.workdir / "noshell.tar"
    rootfs.write_bytes(layer.getvalue())
    ref = f"{registry_open.host}/x/noshell:1"
    podman.cli("import", "--change", 'CMD ["/app"]', str(rootfs), ref)
    podman.cli("push", "--tls-verify=false", ref)
    tid = ready_template(instances_engine, ref, "no-shell")
    before = containers(podman, instances_engine)
    with instances_engine.http() as http:
        r = http.post("/instances", json={"name": "shell-less", "containerTemplateId": tid})
    assert r.status_code == 409
    assert r.json()["error"]["message"].startswith("The image has no /bin/sh")
    assert containers(podman, instances_engine) == before  # nothing half-made is left behind


def test_restart_rereads_instances_from_labels_and_data_dirs_stay_apart(
        tmp_path: Path, hub_mirrors: dict[str, str], podman: Podman, images: StackImages) -> None:
    def start(data_dir: Path) -> EngineProc:
        return start_engine(data_dir, mirrors=hub_mirrors, docker_host=podman.docker_host,
                            extra=["--instance-network", "none"])

    engine = start(tmp_path / "a")
    try:
        tid = ready_template(engine, images.open_busybox.ref)
        with engine.http() as http:
            kept = create(http, tid, "kept", description="survives")
            run(http, kept["instanceId"], "echo before > /f")
            removed = create(http, tid, "removed")
    finally:
        engine.stop()
    podman.cli("rm", "-f", "-t", "0", f"in10nt-{removed['instanceId']}")

    other = start(tmp_path / "b")  # same Podman, other data dir: sees none of them
    try:
        with other.http() as http:
            assert http.get("/instances").json() == []
            r = http.get(f"/instances/{kept['instanceId']}")
            assert r.status_code == 404
    finally:
        other.stop()

    again = start(tmp_path / "a")
    try:
        with again.http() as http:
            assert http.get("/instances").json() == [kept]
            assert run(http, kept["instanceId"], "cat /f")["output"] == "before\n"
            assert http.get(f"/instances/{removed['instanceId']}").status_code == 404
            assert http.delete(f"/instances/{kept['instanceId']}").status_code == 204
    finally:
        again.stop()


def test_without_a_container_engine_instance_routes_answer_503(engine: EngineProc, images: StackImages) -> None:
    """The resolve-only engine: templates work, instances say what to install or set."""
    tid = ready_template(engine, images.open_busybox.ref, "no-engine")
    with engine.http() as http:
        for method, path, body in (
                ("POST", "/instances", {"name": "x", "containerTemplateId": tid}),
                ("GET", "/instances", None),
                ("GET", "/instances/inst_0123456789abcdef", None),
                ("DELETE", "/instances/inst_0123456789abcdef", None),
                ("POST", "/instances/inst_0123456789abcdef/run", {"task": "true"}),
                ("POST", "/instances/inst_0123456789abcdef/snapshot", {"templateName": "s"})):
            r = http.request(method, path, json=body)
            assert r.status_code == 503, (method, path, r.text)
            error = r.json()["error"]
            assert error["code"] == "no_container_engine"
            assert error["message"].startswith("Instances need a container engine. No container engine answers")
            assert "install Docker or Podman" in error["message"] and "DOCKER_HOST" in error["message"]
        assert http.get("/container-templates").status_code == 200
        assert http.get("/saved-templates").status_code == 200
    listed = engine.cli("instances", "list")
    assert listed.returncode == 1
    assert listed.stderr.startswith("error: Instances need a container engine.")


def test_cli_walkthrough_from_the_issue(instances_engine: EngineProc, template_id: str) -> None:
    created = instances_engine.cli("instances", "create", "--template", template_id)
    assert created.returncode == 0, created.stderr
    inst = created.stdout.strip()
    assert INST_ID.match(inst) and "busybox-" in created.stderr and "running" in created.stderr

    wrote = instances_engine.cli("instances", "run", inst, "echo hi > /marker")
    assert (wrote.returncode, wrote.stdout) == (0, "")
    snap = instances_engine.cli("instances", "snapshot", inst, "--name", "s1")
    assert (snap.returncode, snap.stdout) == (0, "s1\n"), snap.stderr
    clone = instances_engine.cli("saved-templates", "clone", "s1", "--new-instance-name", "c1")
    assert clone.returncode == 0, clone.stderr
    assert INST_ID.match(clone.stdout.strip())
    cat = instances_engine.cli("instances", "run", "c1", "cat /marker")
    assert (cat.returncode, cat.stdout) == (0, "hi\n"), cat.stderr

    listed = instances_engine.cli("saved-templates", "list")
    row = next(line for line in listed.stdout.splitlines() if line.startswith("s1 "))
    assert re.search(r"\b\d+\.\d (kB|MB)\b", row) and inst in row

    failing = instances_engine.cli("instances", "run", "c1", "exit 7")
    assert failing.returncode == 7
    table = instances_engine.cli("instances", "list").stdout
    assert re.search(r"c1\s+running\s+saved:s1", table)
    in_use = instances_engine.cli("saved-templates", "delete", "s1")
    assert in_use.returncode == 1 and "used by instance 'c1'" in in_use.stderr
    deleted = instances_engine.cli("instances", "delete", "c1", inst, "nope")
    assert deleted.returncode == 1
    assert "deleted" in deleted.stderr and "error: nope: No instance with the ID or name 'nope'" in deleted.stderr
    assert instances_engine.cli("saved-templates", "delete", "s1").returncode == 0

"""Build records and rebuilds on the real engine and registry: history, phases, queue, ETA, restarts, stalls.

The pulls through Podman (layers, "already present", slow and stalled pulls) are in test_build_pulls.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from stack.builds_api import api, check_phases, create, log_texts, poll, records, unique_repo, when
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.event_reader import EventReader
from stack.gate_proxy import GateProxy
from stack.images import StackImages, push_image
from stack.registry import Registry


def test_a_failed_build_rebuilt_in_place_keeps_both_records(engine: EngineProc, registry_open: Registry) -> None:
    repo = unique_repo("rebuilt")
    image = f"{registry_open.host}/{repo}:1"
    first = create(engine, "rebuilt", image)
    assert (first["buildCount"], first["needsCredentials"], first["registryUsername"]) == (1, False, None)
    tid = first["templateId"]
    failed = wait_status(engine, tid, {"ready", "failed"})
    assert failed["status"] == "failed" and "not found" in failed["error"]

    pushed = push_image(registry_open.url, repo, "1")  # the tag exists now: the retry can succeed
    r = api(engine, "POST", f"/container-templates/{tid}/rebuild")
    assert r.status_code == 202, r.text
    again = r.json()
    assert (again["templateId"], again["status"], again["buildCount"], again["error"]) == (tid, "building", 2, None)
    assert again["phase"] in ("queued", "resolving")
    ready = wait_status(engine, tid, {"ready", "failed"})
    assert (ready["status"], ready["digest"], ready["buildCount"]) == ("ready", pushed.digest, 2)
    assert ready["startedAt"] is not None

    newest, oldest = records(engine, tid)
    assert (newest["number"], newest["trigger"], newest["result"], newest["error"], newest["digest"]) == \
        (2, "rebuild", "ready", None, pushed.digest)
    assert (oldest["number"], oldest["trigger"], oldest["result"]) == (1, "create", "failed")
    assert oldest["error"] == failed["error"] and oldest["digest"] is None
    assert newest["buildId"] != oldest["buildId"] and newest["buildId"].startswith("bld_")
    check_phases(newest, ["resolving"])  # a resolve-only engine never pulls
    check_phases(oldest, ["resolving"])
    assert newest["layers"] == [] and newest["sizeBytes"] == pushed.size_bytes
    # Each record owns its stretch of the one log.
    assert oldest["logFrom"] == 1 and oldest["logTo"] < newest["logFrom"] <= newest["logTo"]
    first_log = log_texts(engine, tid, oldest["logFrom"], oldest["logTo"])
    assert first_log[0].startswith("Template created for") and first_log[-1].startswith("Build failed:")
    second_log = log_texts(engine, tid, newest["logFrom"], newest["logTo"])
    assert second_log[0] == "Rebuild requested (build #2)" and second_log[-1].startswith("Ready in ")
    # One row, not a second one beside the failed one.
    listed = api(engine, "GET", "/container-templates").json()
    assert [t["templateId"] for t in listed if t["image"] == image] == [tid]


def test_expected_seconds_come_from_earlier_builds_of_the_same_image(engine: EngineProc,
                                                                    registry_open: Registry) -> None:
    img = push_image(registry_open.url, unique_repo("eta"), "1")
    first = create(engine, "eta-1", img.ref)
    assert "expectedSeconds" in first and first["expectedSeconds"] is None  # nothing known: no number at all
    done = wait_status(engine, first["templateId"], {"ready"})
    assert "expectedSeconds" not in done and "stalled" not in done  # only while building

    second = create(engine, "eta-2", img.ref)
    [record] = records(engine, first["templateId"])
    took = (when(record["finishedAt"]) - when(record["startedAt"])).total_seconds()
    assert second["expectedSeconds"] is not None and second["expectedSeconds"] > 0
    assert second["expectedSeconds"] == pytest.approx(took, abs=0.01)  # the median of one build is that build
    wait_status(engine, second["templateId"], {"ready"})
    other = create(engine, "eta-other", f"{img.registry}/{img.repo}@{img.digest}")  # another image text
    assert other["expectedSeconds"] is None
    wait_status(engine, other["templateId"], {"ready"})


def test_a_template_keeps_its_newest_20_records(engine: EngineProc, images: StackImages) -> None:
    tid = create(engine, "many", images.open_busybox.ref)["templateId"]
    wait_status(engine, tid, {"ready"})
    for _ in range(21):
        assert api(engine, "POST", f"/container-templates/{tid}/rebuild").status_code == 202
        wait_status(engine, tid, {"ready"})
    kept = records(engine, tid)
    assert [r["number"] for r in kept] == list(range(22, 2, -1))
    assert api(engine, "GET", f"/container-templates/{tid}").json()["buildCount"] == 22
    assert api(engine, "DELETE", f"/container-templates/{tid}").status_code == 204
    assert api(engine, "GET", f"/container-templates/{tid}/builds").status_code == 404


def test_rebuild_asks_for_credentials_again_and_never_keeps_the_password(engine: EngineProc,
                                                                         images: StackImages) -> None:
    img = images.private_busybox
    good = {"username": "testuser", "password": "testpass"}
    t = create(engine, "private-rebuild", img.ref, registryAuth=good)
    tid = t["templateId"]
    assert (t["needsCredentials"], t["registryUsername"]) == (True, "testuser")
    wait_status(engine, tid, {"ready"})

    r = api(engine, "POST", f"/container-templates/{tid}/rebuild", json={})
    assert r.status_code == 422
    error = r.json()["error"]
    assert (error["code"], error["field"]) == ("credentials_required", "registryAuth")
    assert "testuser" in error["message"] and "send them again" in error["message"]

    wrong = api(engine, "POST", f"/container-templates/{tid}/rebuild",
                json={"registryAuth": {"username": "testuser", "password": "not-it"}})
    assert wrong.status_code == 202
    assert "Credentials rejected" in str(wait_status(engine, tid, {"failed"})["error"])
    r = api(engine, "POST", f"/container-templates/{tid}/rebuild", json={"registryAuth": good},
            headers={"Idempotency-Key": "rebuild-key-1"})
    assert (r.status_code, r.json()["buildCount"]) == (202, 3)
    again = api(engine, "POST", f"/container-templates/{tid}/rebuild", json={"registryAuth": good},
                headers={"Idempotency-Key": "rebuild-key-1"})
    assert (again.status_code, again.json()["buildCount"]) == (202, 3)  # the same rebuild, not a fourth
    other = api(engine, "POST", f"/container-templates/{tid}/rebuild",
                json={"registryAuth": {"username": "someone", "password": "x"}},
                headers={"Idempotency-Key": "rebuild-key-1"})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "idempotency_key_reused")
    done = wait_status(engine, tid, {"ready", "failed"})
    assert (done["status"], done["buildCount"], done["registryUsername"]) == ("ready", 3, "testuser")
    assert [r["result"] for r in records(engine, tid)] == ["ready", "failed", "ready"]

    everything = "".join(api(engine, "GET", path).text for path in (
        f"/container-templates/{tid}", "/container-templates", f"/container-templates/{tid}/builds",
        f"/container-templates/{tid}/logs"))
    assert "testpass" not in everything and "not-it" not in everything
    assert not any(b"testpass" in p.read_bytes() for p in engine.data_dir.glob("engine.sqlite3*"))


def test_rebuild_refusals(engine: EngineProc, images: StackImages, gate: GateProxy) -> None:
    tid = create(engine, "held", f"{gate.host}/{images.open_busybox.repo}:1")["templateId"]
    r = api(engine, "POST", f"/container-templates/{tid}/rebuild")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "build_running")
    sentence = r.json()["error"]["message"]
    assert "still building and has not stalled" in sentence and "flagged stalled" in sentence
    # The CLI says the engine's sentence and fails: a healthy build is never stopped by a rebuild.
    cli = engine.cli("templates", "rebuild", tid)
    assert cli.returncode == 1 and sentence in cli.stderr, cli.stderr
    [record] = records(engine, tid)
    assert (record["result"], record["finishedAt"]) == ("building", None)
    assert api(engine, "DELETE", f"/container-templates/{tid}").status_code == 204

    assert api(engine, "POST", "/container-templates/tmpl_nope/rebuild").status_code == 404
    assert api(engine, "GET", "/container-templates/tmpl_nope/builds").status_code == 404
    ready = create(engine, "refusals", images.open_busybox.ref)["templateId"]
    wait_status(engine, ready, {"ready"})
    bad = api(engine, "POST", f"/container-templates/{ready}/rebuild", content=b"{nope")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "invalid_json")
    half = api(engine, "POST", f"/container-templates/{ready}/rebuild", json={"registryAuth": {"username": "u"}})
    assert (half.status_code, half.json()["error"]["field"]) == (422, "registryAuth.password")
    assert len(records(engine, ready)) == 1  # no refused request left a record behind


def test_queued_builds_have_a_queued_phase_and_no_start_yet(tmp_path: Path, images: StackImages,
                                                            gate: GateProxy) -> None:
    engine = start_engine(tmp_path / "engine", extra=["--max-builds", "1"])
    try:
        image = f"{gate.host}/{images.open_busybox.repo}:1"
        a, b = create(engine, "a", image), create(engine, "b", image)
        assert (b["phase"], b["queuePosition"], b["startedAt"]) == ("queued", 1, None)
        [waiting] = records(engine, b["templateId"])
        assert (waiting["result"], waiting["startedAt"], waiting["logTo"]) == ("building", None, None)
        assert [(p["name"], p["endedAt"]) for p in waiting["phases"]] == [("queued", None)]
        gate.open()
        for t in (a, b):
            assert wait_status(engine, t["templateId"], {"ready", "failed"})["status"] == "ready"
        [done] = records(engine, b["templateId"])
        check_phases(done, ["queued", "resolving"])
        assert done["startedAt"] == done["phases"][1]["startedAt"]  # the queue is not part of the build's time
        [first] = records(engine, a["templateId"])
        check_phases(first, ["resolving"])  # it never waited
    finally:
        engine.stop()


def test_an_engine_restart_mid_build_records_a_restart_build(fresh_engine_dir: Path, gate: GateProxy,
                                                             images: StackImages) -> None:
    img = images.open_busybox
    engine = start_engine(fresh_engine_dir)
    try:
        tid = create(engine, "restarted", f"{gate.host}/{img.repo}:1")["templateId"]
        poll(lambda: gate.connections, "connection to the registry")
        engine.crash()
    finally:
        engine.stop()
    gate.open()
    again = start_engine(fresh_engine_dir)
    try:
        t = wait_status(again, tid, {"ready", "failed"})
        assert (t["status"], t["buildCount"]) == ("ready", 2)
        newest, oldest = records(again, tid)
        assert (newest["number"], newest["trigger"], newest["result"]) == (2, "restart", "ready")
        assert (oldest["number"], oldest["trigger"], oldest["result"]) == (1, "create", "failed")
        assert oldest["error"] == "Interrupted by an engine restart; resumed as build #2."
        assert oldest["phases"][-1]["name"] == "resolving" and oldest["phases"][-1]["endedAt"] is None
        assert log_texts(again, tid, newest["logFrom"], newest["logFrom"]) == [
            "The engine restarted during this build; resuming."]
        assert oldest["logTo"] == newest["logFrom"] - 1
    finally:
        again.stop()


def test_a_registry_that_never_answers_flags_the_build_stalled(tmp_path: Path, images: StackImages,
                                                               gate: GateProxy) -> None:
    engine = start_engine(tmp_path / "engine", extra=["--stall-seconds", "1"])
    try:
        with EventReader(engine) as reader:
            tid = create(engine, "silent", f"{gate.host}/{images.open_busybox.repo}:1")["templateId"]
            flagged = reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("stalled") is True,
                                      "a template.changed with stalled")
        assert flagged.type == "template.changed"
        reason = f"stalled: no answer from registry {gate.host} for 1 s"
        assert (flagged.data["phase"], flagged.data["stalledReason"]) == ("resolving", reason)
        t = api(engine, "GET", f"/container-templates/{tid}").json()
        assert (t["status"], t["stalled"], t["stalledReason"]) == ("building", True, reason)
        assert log_texts(engine, tid).count(reason) == 1  # once per stall, not once per check
        assert api(engine, "DELETE", f"/container-templates/{tid}").status_code == 204
        assert api(engine, "GET", "/healthz").json()["activeBuilds"] == 0
    finally:
        engine.stop()


def test_a_stalled_build_is_rebuilt_at_once_after_its_credentials(tmp_path: Path, images: StackImages,
                                                                   gate: GateProxy) -> None:
    """Issue 9: a stalled build is flagged with Retry offered; the rebuild stops it, keeping its record."""
    engine = start_engine(tmp_path / "engine", extra=["--stall-seconds", "1"])
    auth = {"username": "robot", "password": "robot-secret"}  # the open registry never asks for them
    try:
        with EventReader(engine) as reader:
            tid = create(engine, "stuck", f"{gate.host}/{images.open_busybox.repo}:1", registryAuth=auth)["templateId"]
            reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("stalled") is True,
                            "a template.changed with stalled")
        # Credentials are asked before anything is stopped: the stalled build is still there.
        r = api(engine, "POST", f"/container-templates/{tid}/rebuild", json={})
        assert (r.status_code, r.json()["error"]["code"]) == (422, "credentials_required")
        assert api(engine, "GET", f"/container-templates/{tid}").json()["stalled"] is True
        assert [x["result"] for x in records(engine, tid)] == ["building"]

        rebuilt = engine.cli("templates", "rebuild", tid, "--username", "robot", "--password-env", "REG_PASS",
                             env={"REG_PASS": auth["password"]})
        assert rebuilt.returncode == 0, rebuilt.stderr
        assert f"{tid}: build #2 started" in rebuilt.stderr
        t = api(engine, "GET", f"/container-templates/{tid}").json()
        assert (t["status"], t["buildCount"], t["error"]) == ("building", 2, None)
        assert "stalledReason" not in t  # the stall was the old build's (the new one may stall in its turn)
        newest, oldest = records(engine, tid)
        assert (newest["number"], newest["trigger"], newest["result"]) == (2, "rebuild", "building")
        assert (oldest["number"], oldest["result"]) == (1, "failed")
        assert re.fullmatch(rf"Stopped to rebuild: no answer from registry {re.escape(gate.host)} for \d+ s\.",
                            oldest["error"]), oldest["error"]
        assert oldest["finishedAt"] is not None and oldest["phases"][-1]["endedAt"] == oldest["finishedAt"]
        assert log_texts(engine, tid, oldest["logTo"], oldest["logTo"]) == [oldest["error"]]
        assert log_texts(engine, tid, newest["logFrom"], newest["logFrom"]) == [
            "Rebuild requested (build #2, with credentials)"]
        assert api(engine, "GET", "/healthz").json()["activeBuilds"] == 1  # the stopped build gave its slot back

        gate.open()
        done = wait_status(engine, tid, {"ready", "failed"})
        assert (done["status"], done["buildCount"], done["digest"]) == ("ready", 2, images.open_busybox.digest)
        assert [x["result"] for x in records(engine, tid)] == ["ready", "failed"]
        assert "robot-secret" not in rebuilt.stdout + rebuilt.stderr
    finally:
        engine.stop()

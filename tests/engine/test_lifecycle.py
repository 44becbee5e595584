"""Builds across engine restarts and deletes: nothing stays ``building`` forever, nothing half-done."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import pytest
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.gate_proxy import GateProxy
from stack.images import StackImages


def wait_connections(gate: GateProxy, n: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while gate.connections < n:
        assert time.monotonic() < deadline, "the build never reached the registry"
        time.sleep(0.02)


def test_restart_resumes_anonymous_builds_and_fails_credentialed_ones(fresh_engine_dir: Path, gate: GateProxy,
                                                                     images: StackImages) -> None:
    img = images.open_busybox
    engine = start_engine(fresh_engine_dir)
    try:
        with engine.http() as http:
            anon = http.post("/container-templates", json={"name": "anon", "image": f"{gate.host}/{img.repo}:1",
                                                           "registryType": "private"}).json()["templateId"]
            creds = http.post("/container-templates", json={
                "name": "creds", "image": f"{gate.host}/{img.repo}:1", "registryType": "private",
                "registryAuth": {"username": "u", "password": "p"}}).json()["templateId"]
        wait_connections(gate, 2)
        engine.crash()
    finally:
        engine.stop()
    assert not (fresh_engine_dir / "engine.json").exists() or engine.proc.returncode == -signal.SIGKILL

    gate.open()
    again = start_engine(fresh_engine_dir)
    try:
        failed = wait_status(again, creds, {"ready", "failed"})
        assert failed["status"] == "failed"
        interrupted = "Build interrupted by an engine restart; rebuild it with its credentials (they are never stored)."
        assert failed["error"] == interrupted
        with again.http() as http:
            history = http.get(f"/container-templates/{creds}/builds").json()["builds"]
        assert [(r["trigger"], r["result"], r["error"]) for r in history] == [("create", "failed", interrupted)]
        resumed = wait_status(again, anon, {"ready", "failed"})
        assert (resumed["status"], resumed["digest"]) == ("ready", img.digest)
        with again.http() as http:
            text = [line["text"] for line in http.get(f"/container-templates/{anon}/logs").json()["lines"]]
        assert any("resuming" in line for line in text)
    finally:
        again.stop()


def test_delete_cancels_a_running_build(fresh_engine_dir: Path, gate: GateProxy, images: StackImages) -> None:
    engine = start_engine(fresh_engine_dir)
    try:
        with engine.http() as http:
            tid = http.post("/container-templates", json={
                "name": "doomed", "image": f"{gate.host}/{images.open_busybox.repo}:1",
                "registryType": "private"}).json()["templateId"]
            wait_connections(gate, 1)
            assert http.get("/healthz").json()["activeBuilds"] == 1
            assert http.delete(f"/container-templates/{tid}").status_code == 204
            assert http.get("/healthz").json()["activeBuilds"] == 0
            gate.open()
            time.sleep(0.5)  # a cancelled build that was not really cancelled would write its row back now
            assert http.get(f"/container-templates/{tid}").status_code == 404
            assert all(t["templateId"] != tid for t in http.get("/container-templates").json())
    finally:
        engine.stop()


def test_sigterm_removes_engine_json_and_restart_keeps_templates(fresh_engine_dir: Path,
                                                                images: StackImages) -> None:
    engine = start_engine(fresh_engine_dir)
    with engine.http() as http:
        tid = http.post("/container-templates", json={"name": "kept", "image": images.open_busybox.ref,
                                                      "registryType": "private"}).json()["templateId"]
    wait_status(engine, tid, {"ready"})
    assert engine.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert not (fresh_engine_dir / "engine.json").exists()
    again = start_engine(fresh_engine_dir)
    try:
        assert again.token == engine.token  # the key is made once and kept, so saved profiles keep working
        with again.http() as http:
            t = http.get(f"/container-templates/{tid}").json()
        assert (t["status"], t["digest"]) == ("ready", images.open_busybox.digest)
    finally:
        again.stop()


def test_second_engine_on_the_same_data_dir_is_refused(engine: EngineProc) -> None:
    with pytest.raises(RuntimeError, match="An engine already runs for"):
        start_engine(engine.data_dir, timeout=15)
    assert httpx.get(engine.url + "/healthz", headers={"Authorization": f"Bearer {engine.token}"}).status_code == 200


def test_serve_makes_an_open_data_dir_and_token_private(fresh_engine_dir: Path) -> None:
    fresh_engine_dir.mkdir(mode=0o755)
    fresh_engine_dir.chmod(0o755)  # as an older version or a 022 umask left it
    (fresh_engine_dir / "token").write_text("token-others-could-read\n")
    (fresh_engine_dir / "token").chmod(0o644)
    engine = start_engine(fresh_engine_dir)
    try:
        assert fresh_engine_dir.stat().st_mode & 0o777 == 0o700
        assert (fresh_engine_dir / "token").stat().st_mode & 0o777 == 0o600
        assert engine.token != "token-others-could-read"
        assert httpx.get(engine.url + "/healthz", headers={"Authorization": "Bearer token-others-could-read"}
                         ).status_code == 401
        assert "could be read by other users" in engine.log_tail()
    finally:
        engine.stop()

"""Pulls through Podman that are cancelled or platform-pinned: the engine's side of the pull.

A GateProxy, set up as the registry's mirror in a Podman of its own, holds Podman's pull for as
long as a test needs, while the engine resolves against the registry directly.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.gate_proxy import GateProxy
from stack.images import StackImages, push_image
from stack.podman import Podman, start_podman
from stack.registry import Registry

AMD64_ARM64 = [("linux", "amd64"), ("linux", "arm64")]


@pytest.fixture
def held_pulls(tmp_path_factory: pytest.TempPathFactory,
               registry_open: Registry) -> Iterator[tuple[GateProxy, Podman]]:
    host, port = registry_open.host.split(":")
    gate = GateProxy(host, int(port))
    # A short path: the podman socket must stay under 108 bytes.
    pod = start_podman(tmp_path_factory.mktemp("pod"), [registry_open.host, gate.host],
                       mirrors={registry_open.host: gate.host})
    try:
        yield gate, pod
    finally:
        gate.close()  # still shut: the held connections are dropped, none is half-opened
        pod.stop()


def log_lines(engine: EngineProc, tid: str) -> list[str]:
    with engine.http() as http:
        return [line["text"] for line in http.get(f"/container-templates/{tid}/logs").json()["lines"]]


def test_delete_during_a_held_pull_ends_it_and_the_engine_still_stops_at_once(
        tmp_path: Path, held_pulls: tuple[GateProxy, Podman], images: StackImages) -> None:
    gate, pod = held_pulls
    engine = start_engine(tmp_path / "engine", docker_host=pod.docker_host)
    try:
        with engine.http() as http:
            tid = http.post("/container-templates", json={"name": "held", "image": images.open_busybox.ref,
                                                          "registryType": "private"}).json()["templateId"]
            deadline = time.monotonic() + 20
            while not (gate.connections and any(x.startswith("Pulling ") for x in log_lines(engine, tid))):
                assert time.monotonic() < deadline, f"the pull never reached the gate\n{engine.log_tail()}"
                time.sleep(0.05)
            assert http.get(f"/container-templates/{tid}").json()["status"] == "building"
            assert http.delete(f"/container-templates/{tid}").status_code == 204
            assert http.get("/healthz").json()["activeBuilds"] == 0
        started = time.monotonic()
        # Ctrl-C: asyncio.run then waits for worker threads, and one left blocked on the cancelled pull's
        # stream used to keep the engine alive until it was killed.
        code = engine.stop(signal.SIGINT, timeout=10)
        assert code == 0, f"engine ended with {code}\n{engine.log_tail()}"
        assert time.monotonic() - started < 8
        assert not (tmp_path / "engine" / "engine.json").exists()
    finally:
        engine.stop(signal.SIGKILL)


def test_platform_setting_is_what_the_engine_pulls(tmp_path: Path, podman: Podman, registry_open: Registry) -> None:
    img = push_image(registry_open.url, "x/multi-platform-pull", "1", platforms=AMD64_ARM64)
    engine = start_engine(tmp_path / "engine", docker_host=podman.docker_host, extra=["--platform", "linux/arm64"])
    try:
        with engine.http() as http:
            tid = http.post("/container-templates", json={"name": "arm", "image": img.ref,
                                                          "registryType": "private"}).json()["templateId"]
        t = wait_status(engine, tid, {"ready", "failed"})
        assert (t["status"], t["digest"]) == ("ready", img.digest), t
        assert str(t["platform"]).startswith("linux/arm64"), t
    finally:
        engine.stop()
    # Without the platform the engine picks its own (amd64) from the index: not what the template recorded.
    pulled = podman.cli("image", "inspect", "--format", "{{.Os}}/{{.Architecture}}",
                        f"{img.registry}/{img.repo}@{img.digest}")
    assert pulled.stdout.strip() == "linux/arm64"

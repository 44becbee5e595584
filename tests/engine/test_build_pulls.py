"""Build records of real pulls through Podman: per-layer lines, "already present", slow pulls and stalls.

Slow and stalled pulls use a Podman of their own whose mirror for the open registry is a
ThrottleProxy: the engine resolves against the registry directly, Podman's pull goes through the
proxy, which paces the bytes (a slow link) or stops sending in the middle of a blob (``hold``).
Every image here has a random layer of its own, so no Podman has it before the test pulls it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack.builds_api import api, check_phases, create, log_texts, poll, records, unique_repo
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.event_reader import EventReader
from stack.images import busybox_layer, push_image, random_layer
from stack.podman import Podman, start_podman
from stack.registry import Registry
from stack.throttle_proxy import ThrottleProxy

from in10nt_desktop.text_formats import human_size


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]


def test_layers_the_engine_had_are_already_present_and_not_counted(engine_with_podman: EngineProc,
                                                                  registry_open: Registry) -> None:
    engine = engine_with_podman
    base = push_image(registry_open.url, unique_repo("base"), "1")
    extra = random_layer(200_000)
    both = push_image(registry_open.url, unique_repo("two-layers"), "1", extra_layers=[extra])
    wait_status(engine, create(engine, "base", base.ref)["templateId"], {"ready"})  # busybox's layer is local now

    tid = create(engine, "two-layers", both.ref)["templateId"]
    assert wait_status(engine, tid, {"ready", "failed"})["status"] == "ready"
    [record] = records(engine, tid)
    check_phases(record, ["resolving", "pulling", "finishing"])
    busybox = busybox_layer()
    assert [(x["digest"], x["sizeBytes"], x["state"]) for x in record["layers"]] == [
        (busybox.digest, len(busybox.blob), "already present"), (extra.digest, len(extra.blob), "done")]
    assert record["layers"][1]["bytesDone"] == len(extra.blob)
    lines = log_texts(engine, tid)
    assert f"layer {short(busybox.digest)}: already present" in lines
    assert any(x.startswith(f"layer {short(extra.digest)}: done, {human_size(len(extra.blob))}") for x in lines)
    summary = f"Pulled {human_size(len(extra.blob))} (2 layers; 1 already present); engine image "
    assert any(x.startswith(summary) for x in lines), lines
    assert not any("Pulling fs layer" in x for x in lines)  # the engine's raw statuses are not the log

    # Everything is local now: a rebuild transfers nothing and says so.
    assert api(engine, "POST", f"/container-templates/{tid}/rebuild").status_code == 202
    assert wait_status(engine, tid, {"ready", "failed"})["status"] == "ready"
    newest = records(engine, tid)[0]
    assert [x["state"] for x in newest["layers"]] == ["already present", "already present"]
    rebuilt = log_texts(engine, tid, newest["logFrom"], newest["logTo"])
    assert any(x.startswith("Pulled 0 B (2 layers; 2 already present)") for x in rebuilt), rebuilt


@pytest.fixture(scope="module")
def slow_link(tmp_path_factory: pytest.TempPathFactory, registry_open: Registry) -> Iterator[tuple[ThrottleProxy,
                                                                                                    Podman]]:
    host, port = registry_open.host.split(":")
    proxy = ThrottleProxy(host, int(port))
    pod = start_podman(tmp_path_factory.mktemp("pod"), [registry_open.host, proxy.host],
                       mirrors={registry_open.host: proxy.host})
    try:
        yield proxy, pod
    finally:
        proxy.close()
        pod.stop()


@pytest.fixture
def link(slow_link: tuple[ThrottleProxy, Podman]) -> Iterator[tuple[ThrottleProxy, Podman]]:
    proxy, pod = slow_link
    yield proxy, pod
    proxy.release()
    proxy.rate = None


def test_a_slow_pull_logs_each_layers_progress_by_tenths(tmp_path: Path, registry_open: Registry,
                                                         link: tuple[ThrottleProxy, Podman]) -> None:
    proxy, pod = link
    layer = random_layer(600_000)
    img = push_image(registry_open.url, unique_repo("slow"), "1", extra_layers=[layer])
    proxy.rate = 150_000  # about 5 s for the pull
    engine = start_engine(tmp_path / "engine", docker_host=pod.docker_host)
    try:
        tid = create(engine, "slow", img.ref)["templateId"]

        def moving() -> dict[str, object] | None:
            [record] = records(engine, tid)
            return next((x for x in record["layers"]
                         if x["digest"] == layer.digest and 0 < x["bytesDone"] < len(layer.blob)), None)

        seen = poll(moving, "a layer part way through", timeout=60)
        assert seen["state"] == "pulling" and seen["seconds"] is None
        t = api(engine, "GET", f"/container-templates/{tid}").json()
        assert t["phase"] == "pulling" and 0 < t["progress"]["current"] < t["progress"]["total"]
        assert wait_status(engine, tid, {"ready", "failed"}, timeout=120)["status"] == "ready"
        lines = log_texts(engine, tid)
    finally:
        engine.stop()
    size = human_size(len(layer.blob))
    pattern = rf"layer {short(layer.digest)}: (\d+)% of {size}"
    tenths = [int(m.group(1)) for x in lines if (m := re.fullmatch(pattern, x))]
    assert len(tenths) >= 2 and tenths == sorted(set(tenths)), lines  # each tenth once, in order
    assert all(t % 10 == 0 and 10 <= t <= 90 for t in tenths)
    [record] = records_after(engine, tid)
    done = next(x for x in record["layers"] if x["digest"] == layer.digest)
    assert done["state"] == "done" and done["seconds"] > 0


def records_after(engine: EngineProc, tid: str) -> list[dict[str, object]]:
    """The records as a restarted engine reads them from its store (the engine above was stopped)."""
    again = start_engine(engine.data_dir)
    try:
        return records(again, tid)
    finally:
        again.stop()


def test_a_registry_that_stops_mid_blob_flags_a_stall_which_clears_when_data_flows(
        tmp_path: Path, registry_open: Registry, link: tuple[ThrottleProxy, Podman]) -> None:
    proxy, pod = link
    layer = random_layer(800_000)
    img = push_image(registry_open.url, unique_repo("stall"), "1", extra_layers=[layer])
    proxy.rate = 100_000
    engine = start_engine(tmp_path / "engine", docker_host=pod.docker_host, extra=["--stall-seconds", "1"])
    reason = f"stalled: no data from registry {registry_open.host} for 1 s"
    try:
        with EventReader(engine) as reader:
            tid = create(engine, "stalls", img.ref)["templateId"]
            poll(lambda: any(x["bytesDone"] > 0 for x in records(engine, tid)[0]["layers"]), "bytes moving", 60)
            proxy.hold()  # the registry stops sending in the middle of the blob
            flagged = reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("stalled") is True,
                                      "a stalled template.changed")
            assert (flagged.data["phase"], flagged.data["stalledReason"]) == ("pulling", reason)
            assert reason in log_texts(engine, tid)
            proxy.release()
            reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("stalled") is False
                            and e.id is not None and e.id > (flagged.id or 0), "the stall cleared")
        t = api(engine, "GET", f"/container-templates/{tid}").json()
        assert "stalledReason" not in t
        assert wait_status(engine, tid, {"ready", "failed"}, timeout=120)["status"] == "ready"
        lines = log_texts(engine, tid)
        assert lines.index(reason) < lines.index("data flowing again")

        # A stalled build is still the user's to cancel.
        again = push_image(registry_open.url, unique_repo("stall-delete"), "1", extra_layers=[random_layer(800_000)])
        doomed = create(engine, "stalled-then-deleted", again.ref)["templateId"]
        poll(lambda: any(x["bytesDone"] > 0 for x in records(engine, doomed)[0]["layers"]), "bytes moving", 60)
        proxy.hold()
        poll(lambda: api(engine, "GET", f"/container-templates/{doomed}").json().get("stalled"), "the stall", 30)
        assert api(engine, "DELETE", f"/container-templates/{doomed}").status_code == 204
        assert api(engine, "GET", "/healthz").json()["activeBuilds"] == 0
        assert api(engine, "GET", f"/container-templates/{doomed}").status_code == 404
    finally:
        proxy.release()
        engine.stop()


def test_a_pull_stalled_mid_blob_is_rebuilt_at_once_and_a_flowing_one_is_not(
        tmp_path: Path, registry_open: Registry, link: tuple[ThrottleProxy, Podman]) -> None:
    """Issue 9: Rebuild is offered for a stalled build, whose pull would otherwise hold a slot until its timeout."""
    proxy, pod = link
    img = push_image(registry_open.url, unique_repo("stall-rebuild"), "1", extra_layers=[random_layer(800_000)])
    proxy.rate = 100_000
    # Two seconds: a slow link never goes that long without a byte, so the flowing pull is not flagged.
    engine = start_engine(tmp_path / "engine", docker_host=pod.docker_host, extra=["--stall-seconds", "2"])
    try:
        with EventReader(engine) as reader:
            tid = create(engine, "stall-rebuild", img.ref)["templateId"]
            poll(lambda: any(x["bytesDone"] > 0 for x in records(engine, tid)[0]["layers"]), "bytes moving", 60)
            slow = api(engine, "POST", f"/container-templates/{tid}/rebuild")
            assert (slow.status_code, slow.json()["error"]["code"]) == (409, "build_running")
            assert "has not stalled" in slow.json()["error"]["message"]

            proxy.hold()  # the registry stops sending in the middle of the blob
            reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("stalled") is True,
                            "a stalled template.changed", 60)
            r = api(engine, "POST", f"/container-templates/{tid}/rebuild")
            assert r.status_code == 202, r.text
            assert (r.json()["buildCount"], r.json()["stalled"]) == (2, False)
            reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("buildCount") == 2,
                            "the rebuild's template.changed")
        newest, oldest = records(engine, tid)
        assert (newest["number"], newest["result"], oldest["result"]) == (2, "building", "failed")
        assert re.fullmatch(rf"Stopped to rebuild: no data from registry {re.escape(registry_open.host)} "
                            r"for \d+ s\.", oldest["error"]), oldest["error"]
        assert oldest["phases"][-1]["name"] == "pulling" and oldest["layers"][-1]["state"] == "pulling"
        assert api(engine, "GET", "/healthz").json()["activeBuilds"] == 1  # the stalled pull was cancelled
        lines = log_texts(engine, tid)
        assert lines.index(oldest["error"]) < lines.index("Rebuild requested (build #2)")

        proxy.rate = None  # the registry is back, at full speed
        proxy.release()
        done = wait_status(engine, tid, {"ready", "failed"}, timeout=120)
        assert (done["status"], done["buildCount"], done["digest"]) == ("ready", 2, img.digest)
        assert [x["result"] for x in records(engine, tid)] == ["ready", "failed"]
    finally:
        proxy.release()
        engine.stop()

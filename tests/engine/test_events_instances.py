"""Instance and saved-template events, and a pulled build's phases, on the real stack (Podman's Docker API)."""

from __future__ import annotations

from pathlib import Path

from stack.engine_proc import start_engine
from stack.event_reader import EventReader
from stack.images import StackImages
from stack.podman import Podman


def test_instances_snapshots_and_a_pull_are_announced(tmp_path: Path, images: StackImages, podman: Podman) -> None:
    engine = start_engine(tmp_path / "engine", docker_host=podman.docker_host,
                          extra=["--instance-network", "none", "--events-heartbeat", "0.5"])
    try:
        with EventReader(engine) as reader, engine.http() as http:
            tid = http.post("/container-templates", json={"name": "pulled", "image": images.open_busybox.ref,
                                                          "registryType": "private"}).json()["templateId"]
            ready = reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("status") == "ready",
                                    "the build's end", timeout=120)
            phases = [e.data.get("phase") for e in reader.of(tid)]
            assert "pulling" in phases and phases.index("resolving") < phases.index("pulling")
            assert "phase" not in ready.data

            r = http.post("/instances", json={"name": "watched", "containerTemplateId": tid})
            assert r.status_code == 201, r.text
            iid = r.json()["instanceId"]
            running = reader.wait_for(lambda e: e.data.get("instanceId") == iid and e.type == "instance.changed",
                                      "the running instance")
            created = reader.of(iid)[0]
            assert (created.type, created.data["status"], created.data["name"]) == ("instance.created", "creating",
                                                                                     "watched")
            assert running.data == http.get(f"/instances/{iid}").json() and running.data["status"] == "running"

            podman.cli("stop", "-t", "0", f"in10nt-{iid}")  # behind the engine's back: not announced
            assert http.post(f"/instances/{iid}/run", json={"task": "true"}).json()["exitCode"] == 0
            restarted = reader.wait_for(lambda e: e.data.get("instanceId") == iid and e.id != running.id
                                        and e.type == "instance.changed", "the instance started again by a task")
            assert restarted.data["status"] == "running"

            assert http.post(f"/instances/{iid}/snapshot", json={"templateName": "snap"}).status_code == 201
            saved = reader.wait_for(lambda e: e.type == "saved_template.created", "saved_template.created")
            assert saved.data == next(s for s in http.get("/saved-templates").json() if s["name"] == "snap")

            assert http.delete(f"/instances/{iid}").status_code == 204
            reader.wait_for(lambda e: e.type == "instance.deleted" and e.data == {"instanceId": iid},
                            "instance.deleted")
            assert http.delete("/saved-templates/snap").status_code == 204
            reader.wait_for(lambda e: e.type == "saved_template.deleted" and e.data == {"name": "snap"},
                            "saved_template.deleted")
    finally:
        engine.stop()

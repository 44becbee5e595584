"""A build's record from the container engine's pull events, the stall flag's rules, and older stores.

The events are the shapes Podman 4.3's Docker-compatible pull sends (recorded from the real
service): ``Pulling fs layer``, ``Downloading`` with ``progressDetail`` about once a second,
``Download complete``, ``Already exists`` for a layer it had, and events about the config blob.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from in10nt_desktop.engine.build_records import MAX_RECORDS
from in10nt_desktop.engine.build_run import BuildRun
from in10nt_desktop.engine.build_watchdog import StallWatchdog
from in10nt_desktop.engine.store import Store
from in10nt_desktop.text_formats import human_size

NEW = "sha256:" + "ab" * 32
HAD = "sha256:" + "cd" * 32
CONFIG = "ef" * 6


def run_with_layers() -> BuildRun:
    run = BuildRun(template_id="tmpl_x", number=1, trigger="create", image="busybox", log_from=1)
    run.enter("resolving")
    run.enter("pulling")
    run.expect_layers({NEW: 10_000, HAD: 5_000})
    return run


def downloading(current: int) -> dict[str, object]:
    return {"status": "Downloading", "progressDetail": {"current": current, "total": 10_000}, "id": NEW[7:19]}


def test_progress_lines_come_once_per_tenth_and_present_layers_are_not_counted_as_pulled() -> None:
    run = run_with_layers()
    lines: list[str] = []
    for event in ({"status": "Already exists", "progressDetail": {}, "id": HAD[7:19]},
                  {"status": "Pulling fs layer", "progressDetail": {}, "id": NEW[7:19]},
                  downloading(500), downloading(1_500), downloading(1_900), downloading(3_600), downloading(3_600),
                  downloading(9_999), {"status": "Download complete", "progressDetail": {}, "id": NEW[7:19]},
                  {"status": "Download complete", "progressDetail": {}, "id": CONFIG}):
        lines += run.feed(event)[0]
    short = NEW[7:19]
    assert lines[0] == f"layer {HAD[7:19]}: already present"
    assert lines[1:4] == [f"layer {short}: 10% of 10.0 kB", f"layer {short}: 30% of 10.0 kB",
                          f"layer {short}: 90% of 10.0 kB"]
    assert lines[4].startswith(f"layer {short}: done, 10.0 kB in ") and len(lines) == 5
    assert run.downloaded and run.bytes_done == 15_000
    assert run.end_pull() == "Pulled 10.0 kB (2 layers; 1 already present)"
    assert [(x["state"], x["bytesDone"]) for x in run.json()["layers"]] == [("done", 10_000), ("already present", 0)]


def test_what_moves_and_what_does_not() -> None:
    run = run_with_layers()
    assert run.feed(downloading(100)) == ([], True)
    assert run.feed(downloading(100)) == ([], False)  # the same count again: nothing moved
    assert run.feed({"status": "Pulling fs layer", "id": HAD[7:19]}) == ([], True)
    assert run.feed({"status": "Pulling fs layer", "id": HAD[7:19]}) == ([], False)
    assert run.feed({"status": "Download complete", "id": CONFIG}) == ([], True)  # the config: no line
    assert run.feed({"status": "Digest: sha256:00"}) == (["Digest: sha256:00"], True)  # about the whole image


def test_layers_the_engine_never_mentions_were_already_there() -> None:
    run = run_with_layers()  # Docker answers "Image is up to date" and nothing per layer
    assert run.end_pull() == "Pulled 0 B (2 layers; 2 already present)"


def test_phases_end_where_the_next_begins_and_the_queue_is_not_the_build() -> None:
    run = BuildRun(template_id="tmpl_x", number=1, trigger="create", image="busybox", log_from=1)
    run.enter("queued")
    assert run.started_at is None
    run.enter("resolving")
    run.finish("ready", None, 7)
    record = run.json()
    assert [p["name"] for p in record["phases"]] == ["queued", "resolving"]
    assert record["phases"][0]["endedAt"] == record["phases"][1]["startedAt"] == record["startedAt"]
    assert record["phases"][1]["endedAt"] == record["finishedAt"] and record["logTo"] == 7
    assert run.phase is None and run.seconds is not None


def test_human_bytes() -> None:
    assert [human_size(n) for n in (0, 999, 1_000, 12_345_678, 3 * 10**9)] == ["0 B", "999 B", "1.0 kB", "12.3 MB",
                                                                               "3.0 GB"]


def test_a_stall_is_flagged_once_and_cleared_by_the_next_sign_of_life(tmp_path: Path) -> None:
    store = Store(tmp_path / "engine.sqlite3")
    try:
        t = store.insert_template(name="n", description=None, image="busybox", registry_type="dockerhub",
                                  needs_credentials=False, idempotency_key=None)
        tid = t["templateId"]
        run = BuildRun(template_id=tid, number=1, trigger="create", image="busybox", log_from=1)
        run.registry_host = "127.0.0.1:5000"
        run.enter("resolving")
        store.set_live(tid, "resolving")
        changes: list[dict[str, object]] = []
        store.on_change = lambda _event, data: changes.append(data)
        watchdog = StallWatchdog(store, seconds=60)
        watchdog.check(run, run.last_activity + 59)
        assert not run.stalled and not changes
        watchdog.check(run, run.last_activity + 60)
        watchdog.check(run, run.last_activity + 61)
        reason = "stalled: no answer from registry 127.0.0.1:5000 for 60 s"
        assert changes[-1]["stalled"] is True and changes[-1]["stalledReason"] == reason
        assert [x["text"] for x in store.logs(tid)] == [reason]  # once per stall
        watchdog.activity(run)
        assert store.get_template(tid)["stalled"] is False  # type: ignore[index]
        assert "stalledReason" not in store.get_template(tid)  # type: ignore[operator]
        assert [x["text"] for x in store.logs(tid)] == [reason, "data flowing again"]
        run.enter("finishing")  # the engine unpacking on its own is never a stall
        watchdog.check(run, run.last_activity + 3600)
        assert not run.stalled
    finally:
        store.close()


OLD_TEMPLATES = """CREATE TABLE templates (id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT,
    image TEXT NOT NULL, registry_type TEXT NOT NULL, status TEXT NOT NULL, error TEXT, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, digest TEXT, size_bytes INTEGER, platform TEXT, layers INTEGER,
    progress_current INTEGER, progress_total INTEGER, needs_credentials INTEGER NOT NULL DEFAULT 0,
    engine_image TEXT)"""


def test_a_store_from_before_build_records_opens_with_its_templates(tmp_path: Path) -> None:
    path = tmp_path / "engine.sqlite3"
    db = sqlite3.connect(path)
    db.execute(OLD_TEMPLATES)
    db.execute("INSERT INTO templates (id, name, image, registry_type, status, created_at, updated_at, "
               "needs_credentials) VALUES ('tmpl_old', 'old', 'busybox', 'dockerhub', 'ready', 't', 't', 1)")
    db.commit()
    db.close()
    store = Store(path)
    try:
        old = store.get_template("tmpl_old")
        assert old is not None and old["status"] == "ready"
        assert (old["buildCount"], old["needsCredentials"], old["registryUsername"], old["startedAt"]) == \
            (1, True, None, None)
        assert store.records.list("tmpl_old") == []
    finally:
        store.close()
    Store(path).close()  # migrating twice is a no-op


def test_records_beyond_the_bound_are_dropped_oldest_first(tmp_path: Path) -> None:
    store = Store(tmp_path / "engine.sqlite3")
    try:
        for number in range(1, MAX_RECORDS + 4):
            run = BuildRun(template_id="tmpl_x", number=number, trigger="rebuild", image="busybox", log_from=number)
            store.records.insert("tmpl_x", "busybox", run.json())
        assert [r["number"] for r in store.records.list("tmpl_x")] == list(range(MAX_RECORDS + 3, 3, -1))
    finally:
        store.close()

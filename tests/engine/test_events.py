"""``GET /events`` on the real engine process: what a client of the stream sees, read off the wire.

Templates are built resolve-only (no container engine), so a build against the open registry
is ready in milliseconds; one against a closed port fails as fast.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stack.engine_proc import EngineProc, start_engine
from stack.event_reader import EventReader, SseEvent
from stack.gate_proxy import GateProxy
from stack.images import StackImages
from stack.registry import Registry

HEARTBEAT = ["--events-heartbeat", "0.5"]
DEAD_REGISTRY = "127.0.0.1:1"  # connection refused at once: a build that fails in a millisecond


@pytest.fixture(scope="module")
def events_engine(tmp_path_factory: pytest.TempPathFactory, images: StackImages) -> Iterator[EngineProc]:
    proc = start_engine(tmp_path_factory.mktemp("events") / "engine", extra=HEARTBEAT)
    yield proc
    proc.stop()


def create(engine: EngineProc, name: str, image: str, **extra: object) -> dict[str, object]:
    with engine.http() as http:
        r = http.post("/container-templates", json={"name": name, "image": image, "registryType": "private",
                                                     **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def get(engine: EngineProc, path: str) -> dict[str, object]:
    with engine.http() as http:
        return dict(http.get(path).json())


def health(engine: EngineProc) -> dict[str, object]:
    return get(engine, "/healthz")


def wait_health(engine: EngineProc, key: str, want: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while (value := health(engine)[key]) != want:
        assert time.monotonic() < deadline, f"{key} stayed {value}, not {want}"
        time.sleep(0.05)


def final(reader: EventReader, tid: object) -> SseEvent:
    return reader.wait_for(lambda e: e.data.get("templateId") == tid and e.data.get("status") in ("ready", "failed"),
                           f"the end of {tid}'s build")


def test_create_then_build_then_ready_in_order(events_engine: EngineProc, images: StackImages) -> None:
    with EventReader(events_engine) as reader:
        assert reader.status == 200
        t = create(events_engine, "order", images.open_busybox.ref)
        tid = t["templateId"]
        assert t["phase"] in ("queued", "resolving")  # the create answer already says where the build is
        final(reader, tid)
        mine = reader.of(str(tid))
    assert mine[0].type == "template.created"
    assert (mine[0].data["status"], mine[0].data["phase"]) == ("building", t["phase"])
    assert all(e.type == "template.changed" for e in mine[1:])
    assert [e.data["status"] for e in mine[:-1]] == ["building"] * (len(mine) - 1)
    assert mine[-1].data["status"] == "ready" and "phase" not in mine[-1].data
    ids = [e.id for e in mine]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # Each event carries the object exactly as GET answers it.
    assert mine[-1].data == get(events_engine, f"/container-templates/{tid}")


def test_delete_sends_template_deleted(events_engine: EngineProc) -> None:
    tid = create(events_engine, "doomed", f"{DEAD_REGISTRY}/x:1")["templateId"]
    with EventReader(events_engine) as reader:
        with events_engine.http() as http:
            assert http.delete(f"/container-templates/{tid}").status_code == 204
        gone = reader.wait_for(lambda e: e.type == "template.deleted", "template.deleted")
    assert gone.data == {"templateId": tid}


def test_resume_with_last_event_id_gets_exactly_the_missed_events(events_engine: EngineProc) -> None:
    with EventReader(events_engine) as live:
        first = create(events_engine, "before", f"{DEAD_REGISTRY}/x:1")["templateId"]
        resume_from = final(live, first).id
        missed = [create(events_engine, f"missed-{n}", f"{DEAD_REGISTRY}/x:1")["templateId"] for n in range(3)]
        for tid in missed:
            final(live, tid)
        expected = [(e.id, e.type, e.data) for e in live.events if e.id is not None and e.id > (resume_from or 0)]
        for query in (False, True):  # the header, and ?lastEventId= for curl users
            with EventReader(events_engine, str(resume_from), query=query) as resumed:
                resumed.wait_until(lambda r=resumed: len(r.events) >= len(expected), "the replayed events")
                got = [(e.id, e.type, e.data) for e in resumed.events[:len(expected)]]
            assert got == expected
    assert {e[2]["templateId"] for e in expected} == set(missed)


@pytest.mark.parametrize("last_id", ["1", "99999999999999999999", "not-a-number"])
def test_an_id_too_old_unknown_or_foreign_gets_reset_first(events_engine: EngineProc, last_id: str) -> None:
    with EventReader(events_engine, last_id) as reader:
        reset = reader.wait_for(lambda e: True, "the first event")
        assert reset.type == "reset"
        assert reset.data == {"latestId": reset.id}
        tid = create(events_engine, "after-reset", f"{DEAD_REGISTRY}/x:1")["templateId"]
        created = reader.wait_for(lambda e: e.data.get("templateId") == tid, "the next event")
    assert created.type == "template.created" and created.id is not None and reset.id is not None
    assert created.id > reset.id


def test_two_clients_see_the_same_events(events_engine: EngineProc) -> None:
    with EventReader(events_engine) as a, EventReader(events_engine) as b:
        tids = [create(events_engine, f"both-{n}", f"{DEAD_REGISTRY}/x:1")["templateId"] for n in range(5)]
        for tid in tids:
            final(a, tid)
            final(b, tid)
        assert [(e.id, e.type, e.data) for e in a.events] == [(e.id, e.type, e.data) for e in b.events]


def test_a_client_that_hangs_up_mid_stream_is_freed(events_engine: EngineProc) -> None:
    before = int(str(health(events_engine)["eventClients"]))
    with EventReader(events_engine) as staying:
        sock = socket.create_connection(("127.0.0.1", int(events_engine.url.rsplit(":", 1)[1])))
        host = events_engine.url.removeprefix("http://")
        sock.sendall(f"GET /events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {events_engine.token}\r\n\r\n"
                     .encode())
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        wait_health(events_engine, "eventClients", before + 2)
        sock.close()  # mid-stream, without a word
        wait_health(events_engine, "eventClients", before + 1)
        tid = create(events_engine, "still-served", f"{DEAD_REGISTRY}/x:1")["templateId"]
        final(staying, tid)  # the engine kept serving the other client
    wait_health(events_engine, "eventClients", before)


def test_heartbeat_comment_arrives(events_engine: EngineProc) -> None:
    with EventReader(events_engine) as reader:
        reader.wait_until(lambda: ": ping" in reader.comments, "a heartbeat comment")
        assert reader.position is not None  # the opening id line: a resume point even before any event


def test_a_burst_of_1000_creates_loses_no_event(events_engine: EngineProc) -> None:
    async def create_all() -> list[str]:
        async with events_engine.client() as client:
            sem = asyncio.Semaphore(16)

            async def one(n: int) -> str:
                async with sem:
                    t = await client.templates.create(name=f"burst-{n}", image=f"{DEAD_REGISTRY}/x:{n}",
                                                      registry_type="private")
                    return t.template_id

            return await asyncio.gather(*(one(n) for n in range(1000)))

    with EventReader(events_engine) as reader:
        tids = asyncio.run(create_all())
        done = set(tids)
        reader.wait_until(lambda: done <= {e.data.get("templateId") for e in list(reader.events)
                                           if e.data.get("status") == "failed"}, "every build's end", timeout=120)
        events = list(reader.events)
    ids = [e.id for e in events]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "ids have a gap: an event was lost"  # type: ignore[operator]
    created = [e.data["templateId"] for e in events if e.type == "template.created"]
    assert sorted(created) == sorted(tids)
    assert not any(e.type == "reset" for e in events)


def test_no_events_flag_gives_404_and_has_events_false(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "engine", events=False)
    try:
        with engine.http() as http:
            r = http.get("/events")
            assert r.status_code == 404
            assert r.json()["error"]["code"] == "not_found"
            assert "/events" not in http.get("/openapi.json").json()["paths"]

        async def ask() -> bool:
            async with engine.client() as client:
                return await client.has_events()

        assert asyncio.run(ask()) is False
    finally:
        engine.stop()


def test_openapi_describes_the_event_stream(events_engine: EngineProc) -> None:
    op = get(events_engine, "/openapi.json")["paths"]["/events"]["get"]  # type: ignore[index]
    assert "text/event-stream" in op["responses"]["200"]["content"]
    for name in ("template.created", "template.deleted", "saved_template.created", "instance.changed", "reset"):
        assert name in op["description"]
    assert any(p["name"] == "Last-Event-ID" for p in op["parameters"])


def test_events_need_the_token(events_engine: EngineProc) -> None:
    r = httpx.get(f"{events_engine.url}/events", headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401
    r = httpx.get(f"{events_engine.url}/events", headers={"Authorization": f"Bearer {events_engine.token}",
                                                         "Host": "evil.example"})
    assert r.status_code == 403


def test_queued_builds_show_their_place_and_move_up(tmp_path: Path, registry_open: Registry,
                                                    images: StackImages) -> None:
    img = images.open_busybox
    host, port = registry_open.host.split(":")
    gate = GateProxy(host, int(port))
    engine = start_engine(tmp_path / "engine", extra=["--max-builds", "1", *HEARTBEAT])
    try:
        with EventReader(engine) as reader:
            a, b, c = (create(engine, name, f"{gate.host}/{img.repo}:{img.tag}") for name in "abc")
            assert (a["phase"], a.get("queuePosition")) == ("resolving", None)
            assert (b["phase"], b["queuePosition"]) == ("queued", 1)
            assert (c["phase"], c["queuePosition"]) == ("queued", 2)
            status = get(engine, f"/container-templates/{c['templateId']}/status")
            assert (status["status"], status["phase"], status["queuePosition"]) == ("building", "queued", 2)
            with engine.http() as http:
                listed = {t["templateId"]: t for t in http.get("/container-templates").json()}
            assert listed[c["templateId"]]["queuePosition"] == 2
            gate.open()  # a's build goes on and ends; the others move up, one slot at a time
            for t in (a, b, c):
                assert final(reader, t["templateId"]).data["status"] == "ready"
            steps = [(e.data.get("phase"), e.data.get("queuePosition")) for e in reader.of(str(c["templateId"]))]
        compact = [s for i, s in enumerate(steps) if i == 0 or s != steps[i - 1]]
        assert compact[:3] == [("queued", 2), ("queued", 1), ("resolving", None)], steps
        assert compact[-1] == (None, None)
        first_b = reader.of(str(b["templateId"]))[0]
        assert (first_b.type, first_b.data["queuePosition"]) == ("template.created", 1)
    finally:
        engine.stop()
        gate.close()


def rss_kib(engine: EngineProc) -> int:
    for line in Path(f"/proc/{engine.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc")


def position(engine: EngineProc) -> int:
    """The engine's latest event id: a new stream opens with it."""
    with EventReader(engine) as reader:
        reader.wait_until(lambda: reader.position is not None, "the opening id line")
    assert reader.position is not None
    return reader.position


def test_a_stalled_client_is_reset_and_the_engine_memory_stays_bounded(tmp_path: Path, registry_open: Registry,
                                                                        images: StackImages) -> None:
    """A client that never reads while ~50 MB of events go by: the engine keeps its ring, not a backlog."""
    host, port = registry_open.host.split(":")
    gate = GateProxy(host, int(port))  # never opened: the first build holds the only slot
    # The held blocker must not be flagged stalled meanwhile (60 s by default, less than this test takes on a
    # busy machine): one more event after ``last_id`` would move the ring's edge the test resumes from.
    engine = start_engine(tmp_path / "engine", extra=["--max-builds", "1", "--events-buffer", "1000", *HEARTBEAT,
                                                      "--stall-seconds", "3600"])
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel must not absorb the backlog
    try:
        stalled.connect(("127.0.0.1", int(engine.url.rsplit(":", 1)[1])))
        stalled.sendall(f"GET /events HTTP/1.1\r\nHost: {engine.url.removeprefix('http://')}\r\n"
                        f"Authorization: Bearer {engine.token}\r\n\r\n".encode())
        wait_health(engine, "eventClients", 1)
        description = "x" * 2000  # the longest allowed: every event of a queued template carries it
        create(engine, "blocker", f"{gate.host}/{images.open_busybox.repo}:1")
        queued = [str(create(engine, f"q{n}", f"{gate.host}/x/q:{n}", description=description)["templateId"])
                  for n in range(800)]
        before, first_id = rss_kib(engine), position(engine)
        with engine.http() as http:
            # each delete moves every later build up: the first 20 places are told each time, the
            # others when their place improves by a tenth (engine/build_queue.py): ~20,000 events of ~2.3 kB
            for tid in queued:
                assert http.delete(f"/container-templates/{tid}").status_code == 204
        last_id = position(engine)
        grown_mib = (rss_kib(engine) - before) / 1024
        published_mib = (last_id - first_id) * (len(description) + 300) / 2**20
        assert published_mib > 40
        assert grown_mib < 15, f"the engine grew by {grown_mib:.0f} MiB while {published_mib:.0f} MiB went by"
        # The ring holds the newest 1,000: a resume inside it replays, one just before it is a reset.
        with EventReader(engine, str(last_id - 1000)) as inside:
            inside.wait_until(lambda: len(inside.events) >= 1000, "the replay")
            assert inside.events[0].type != "reset"
        with EventReader(engine, str(last_id - 1001)) as outside:
            assert outside.wait_for(lambda e: True, "the first event").type == "reset"
        # The stalled client, reading at last: what the socket buffers held, then a reset.
        stalled.settimeout(30)
        received = b""
        deadline = time.monotonic() + 60
        while b"event: reset" not in received:
            assert time.monotonic() < deadline, "the stalled client never got its reset"
            chunk = stalled.recv(65536)
            assert chunk, "the engine closed the stalled client's stream instead of resetting it"
            received = received[-100:] + chunk
        print(f"engine RSS grew {grown_mib:.1f} MiB while ~{published_mib:.0f} MiB of events were published")
    finally:
        stalled.close()
        engine.stop()
        gate.close()

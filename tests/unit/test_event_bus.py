"""The engine's event ring and build queue on their own: bounds, resume rules, threads, order."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest

from in10nt_desktop.engine.build_queue import EXACT, BuildQueue
from in10nt_desktop.engine.events import EventBus


def frames(chunk: bytes) -> list[tuple[int, str, dict[str, object]]]:
    out = []
    for block in chunk.decode().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line)
        if "data" in fields:
            out.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return out


async def read_until(stream: object, count: int) -> list[tuple[int, str, dict[str, object]]]:
    got: list[tuple[int, str, dict[str, object]]] = []
    async for chunk in stream:  # type: ignore[attr-defined]
        got += frames(chunk)
        if len(got) >= count:
            return got
    return got


def test_the_ring_keeps_the_newest_events_within_both_bounds() -> None:
    bus = EventBus(capacity=100, max_bytes=10_000_000)
    for n in range(250):
        bus.publish("template.deleted", {"templateId": f"t{n}"})
    assert bus.buffered == 100 and bus.oldest_id == bus.latest_id - 99
    small = EventBus(capacity=1000, max_bytes=2_000)
    for n in range(50):
        small.publish("template.changed", {"description": "x" * 100, "n": n})
    assert 10 <= small.buffered < 20  # ~140-byte frames, 2,000 bytes at most


def test_resume_rules() -> None:
    bus = EventBus(capacity=10)
    assert bus.resume_point(None) == bus.latest_id + 1
    assert bus.resume_point(str(bus.latest_id)) == bus.latest_id + 1  # nothing published yet: up to date
    for n in range(15):
        bus.publish("template.deleted", {"templateId": f"t{n}"})
    assert bus.resume_point(str(bus.oldest_id - 1)) == bus.oldest_id  # its successor is the oldest kept
    assert bus.resume_point(str(bus.oldest_id - 2)) is None  # one event after it is gone
    assert bus.resume_point(str(bus.latest_id + 1)) is None  # never handed out here
    assert bus.resume_point("12") is None  # an earlier process's range
    assert bus.resume_point("abc") is None and bus.resume_point("9" * 40) is None


@pytest.mark.asyncio
async def test_publishing_from_other_threads_keeps_every_event_in_order() -> None:
    bus = EventBus()
    bus.bind(asyncio.get_running_loop())
    stream = bus.stream(bus.resume_point(None))
    assert (await anext(stream)).startswith(b"id: ")  # the opening position line

    def publish(worker: int) -> None:
        for n in range(500):
            bus.publish("template.changed", {"worker": worker, "n": n})

    threads = [threading.Thread(target=publish, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    got = await asyncio.wait_for(read_until(stream, 2000), 30)
    for t in threads:
        t.join()
    await stream.aclose()
    ids = [event_id for event_id, _type, _data in got]
    assert ids == list(range(ids[0], ids[0] + 2000))
    for worker in range(4):
        assert [d["n"] for _i, _t, d in got if d["worker"] == worker] == list(range(500))
    assert bus.clients == 0


@pytest.mark.asyncio
async def test_a_reader_that_falls_out_of_the_ring_gets_a_reset_then_live_events() -> None:
    bus = EventBus(capacity=10)
    bus.bind(asyncio.get_running_loop())
    stream = bus.stream(bus.resume_point(None))
    await anext(stream)
    bus.publish("template.deleted", {"templateId": "first"})
    assert frames(await anext(stream))[0][2] == {"templateId": "first"}
    for n in range(30):  # the reader is not reading: 30 go by, the ring keeps 10
        bus.publish("template.deleted", {"templateId": f"t{n}"})
    (reset_id, kind, data), = frames(await anext(stream))
    assert (kind, data, reset_id) == ("reset", {"latestId": bus.latest_id}, bus.latest_id)
    bus.publish("template.deleted", {"templateId": "after"})
    assert frames(await anext(stream)) == [(reset_id + 1, "template.deleted", {"templateId": "after"})]
    await stream.aclose()


@pytest.mark.asyncio
async def test_the_build_queue_is_first_come_first_served_and_says_where_each_waits() -> None:
    told: list[tuple[str, int]] = []
    queue = BuildQueue(1, lambda tid, pos: told.append((tid, pos)))
    assert [queue.enter(t) for t in "abcd"] == [None, 1, 2, 3]
    started: list[str] = []

    async def build(tid: str) -> None:
        await queue.wait(tid)
        started.append(tid)

    tasks = {t: asyncio.create_task(build(t)) for t in "bcd"}
    await asyncio.sleep(0)
    tasks["c"].cancel()  # deleted while waiting: its place is freed
    await asyncio.gather(tasks["c"], return_exceptions=True)
    queue.leave("c")
    await asyncio.sleep(0)
    assert told == [("d", 2)]
    queue.leave("a")  # a's build ends: b runs, d moves up
    await asyncio.sleep(0)
    assert started == ["b"] and told[-1] == ("d", 1) and queue.position("d") == 1
    queue.leave("b")
    await asyncio.gather(tasks["d"])
    assert started == ["b", "d"]
    queue.leave("d")
    assert queue.enter("e") is None  # the slot is free again


@pytest.mark.asyncio
async def test_a_build_cancelled_as_it_is_handed_the_slot_passes_it_on() -> None:
    queue = BuildQueue(1, lambda _tid, _pos: None)
    queue.enter("a"), queue.enter("b"), queue.enter("c")
    b = asyncio.create_task(queue.wait("b"))
    c = asyncio.create_task(queue.wait("c"))
    await asyncio.sleep(0)
    queue.leave("a")  # b is handed the slot ...
    b.cancel()  # ... and deleted before it could run
    await asyncio.gather(b, return_exceptions=True)
    await asyncio.wait_for(c, 5)  # c got it
    queue.leave("b")  # the build task's done-callback: nothing left to do
    assert queue.enter("d") == 1


@pytest.mark.asyncio
async def test_a_long_queue_drains_with_a_bounded_number_of_position_changes() -> None:
    """1,000 waiting builds: telling every place on every move was ~500,000 events; now the first 20
    places are exact and the others move when they improve by a tenth, never showing a better place."""

    told: dict[str, int] = {}
    changes = 0

    def on_position(tid: str, position: int) -> None:
        nonlocal changes
        changes += 1
        told[tid] = position

    queue = BuildQueue(1, on_position)
    assert queue.enter("running") is None
    ids = [f"t{n}" for n in range(1000)]
    for tid in ids:
        told[tid] = queue.enter(tid) or 0
    holder = "running"
    for n, tid in enumerate(ids):
        queue.leave(holder)
        await asyncio.sleep(0)  # the renumbering runs once per loop turn
        holder = tid
        for place, waiting in enumerate(ids[n + 1:], 1):
            assert told[waiting] >= place  # never a better place than the true one
            if place <= EXACT:
                assert told[waiting] == place
    assert changes < 60_000, changes
    queue.close()

"""A task's output as it is printed (``POST /instances/{id}/run`` with ``Accept: text/event-stream``), on the
real engine and Podman: the wire, the SDK's ``run_stream`` and the CLI, against the plain answer.

Waits are on what the client sees (an event, a line, a file in the container), each with a deadline;
a task that must still run when the test looks blocks on a file the test writes (``/tmp/go-…``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from httpx_sse import EventSource
from stack.builds_api import new_instance, ready_template
from stack.engine_proc import EngineProc, start_engine
from stack.images import StackImages
from stack.podman import Podman

STREAM = {"Accept": "text/event-stream"}
DEADLINE = 60.0


@pytest.fixture(scope="module")
def instance(instances_engine: EngineProc, images: StackImages) -> str:
    return new_instance(instances_engine, ready_template(instances_engine, images.open_busybox.ref, "streams"),
                        "streams")


def _client(engine: EngineProc) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=engine.url, headers={"Authorization": f"Bearer {engine.token}"},
                             timeout=httpx.Timeout(DEADLINE))


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, object]]]:
    async for sse in EventSource(response).aiter_sse():
        yield sse.event, json.loads(sse.data)


def _run(engine: EngineProc, iid: str, task: str) -> dict[str, object]:
    with engine.http() as http:
        r = http.post(f"/instances/{iid}/run", json={"task": task})
        assert r.status_code == 200, r.text
        return dict(r.json())


def _wait_output(engine: EngineProc, iid: str, task: str, want: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if _run(engine, iid, task)["output"] == want:
            return
        time.sleep(0.2)
    raise AssertionError(f"{task!r} never printed {want!r}")


@pytest.mark.asyncio
async def test_output_arrives_in_pieces_before_the_result_which_is_the_plain_answer(
        instances_engine: EngineProc, instance: str) -> None:
    task = "for i in 1 2 3; do echo $i; sleep 0.5; done"
    async with _client(instances_engine) as http, \
            http.stream("POST", f"/instances/{instance}/run", json={"task": task}, headers=STREAM) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [event async for event in _events(response)]
    kinds = [kind for kind, _data in events]
    assert kinds[-1] == "result" and set(kinds[:-1]) == {"output"}
    assert len(kinds) - 1 >= 2, events  # printed half a second apart: not one piece at the end
    pieces = "".join(str(data["text"]) for kind, data in events if kind == "output")
    result = events[-1][1]
    assert pieces == result["output"] == "1\n2\n3\n"
    assert (result["exitCode"], result["timedOut"], result["outputTruncated"], result["outputBytes"]) == (
        0, False, False, 6)

    plain = _run(instances_engine, instance, task)  # without the header: exactly the answer it always was
    assert set(plain) == set(result) == {"exitCode", "output", "startedAt", "finishedAt", "timedOut",
                                         "outputTruncated", "outputBytes"}
    assert plain["output"] == "1\n2\n3\n" and plain["exitCode"] == 0


@pytest.mark.asyncio
async def test_a_character_split_across_writes_arrives_whole(instances_engine: EngineProc, instance: str) -> None:
    # "é" is c3 a9: its two bytes are written half a second apart, so they arrive in two reads.
    task = r"printf 'caf\303'; sleep 0.5; printf '\251 ok\n'; exit 3"
    async with _client(instances_engine) as http, \
            http.stream("POST", f"/instances/{instance}/run", json={"task": task}, headers=STREAM) as response:
        events = [event async for event in _events(response)]
    assert "".join(str(d["text"]) for k, d in events if k == "output") == "café ok\n"
    assert events[-1][0] == "result" and events[-1][1]["exitCode"] == 3


@pytest.mark.asyncio
async def test_a_timeout_ends_the_stream_with_its_note_then_the_result(instances_engine: EngineProc,
                                                                       instance: str) -> None:
    async with _client(instances_engine) as http, \
            http.stream("POST", f"/instances/{instance}/run", json={"task": "echo begun; sleep 600", "timeout": 1},
                        headers=STREAM) as response:
        events = [event async for event in _events(response)]
    outputs = [str(d["text"]) for k, d in events if k == "output"]
    assert "".join(outputs) == "begun\n[in10nt: the task was stopped after 1 s (timeout)]\n"
    assert events[-1][0] == "result" and events[-1][1]["timedOut"] is True
    assert events[-1][1]["output"] == "".join(outputs)


@pytest.mark.asyncio
async def test_a_client_that_leaves_the_stream_does_not_stop_the_task(instances_engine: EngineProc, instance: str,
                                                                      podman: Podman) -> None:
    task = "echo waiting; while [ ! -e /tmp/go-leave ]; do sleep 0.1; done; echo finished > /tmp/after-leave"
    async with _client(instances_engine) as http:
        async with http.stream("POST", f"/instances/{instance}/run", json={"task": task},
                               headers=STREAM) as response:
            async for kind, data in _events(response):
                assert (kind, data) == ("output", {"text": "waiting\n"})
                break
        # The connection is closed; the engine hears of it on the same loop that answers this round trip.
        assert (await http.get(f"/instances/{instance}")).status_code == 200
    ps = podman.cli("exec", f"in10nt-{instance}", "busybox", "ps").stdout
    assert "/tmp/go-leave" in ps, ps  # still waiting for its file, not killed with the connection
    _run(instances_engine, instance, "touch /tmp/go-leave")
    _wait_output(instances_engine, instance, "cat /tmp/after-leave 2>/dev/null", "finished\n")


@pytest.mark.asyncio
async def test_errors_before_the_task_runs_are_json_answers(instances_engine: EngineProc, instance: str) -> None:
    async with _client(instances_engine) as http:
        missing = await http.post("/instances/inst_0123456789abcdef/run", json={"task": "true"}, headers=STREAM)
        empty = await http.post(f"/instances/{instance}/run", json={"task": " "}, headers=STREAM)
        timeout = await http.post(f"/instances/{instance}/run", json={"task": "true", "timeout": 0}, headers=STREAM)
    for answer, status in ((missing, 404), (empty, 422), (timeout, 422)):
        assert answer.status_code == status, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.json()["error"]["message"]
    assert timeout.json()["error"]["field"] == "timeout"


@pytest.mark.asyncio
async def test_the_sdk_yields_pieces_as_they_are_printed_then_the_result(instances_engine: EngineProc,
                                                                        instance: str) -> None:
    task = "echo one; while [ ! -e /tmp/go-sdk ]; do sleep 0.1; done; echo two; exit 4"
    async with instances_engine.client() as client:
        inst = await client.instances.get(instance)
        pieces: list[str] = []
        async with inst.run_stream(task) as stream:
            async for piece in stream:
                pieces.append(piece)
                if piece == "one\n":  # the task is still waiting: this piece came before its end
                    await inst.run("touch /tmp/go-sdk")
        assert stream.streamed and "".join(pieces) == "one\ntwo\n" and pieces[0] == "one\n"
        assert (stream.result.exit_code, stream.result.output) == (4, "one\ntwo\n")


def test_the_cli_prints_output_as_it_arrives_and_exits_with_the_task_s_code(instances_engine: EngineProc,
                                                                           instance: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
    env["IN10NT_DATA_DIR"] = str(instances_engine.data_dir)
    task = "echo first; while [ ! -e /tmp/go-cli ]; do sleep 0.1; done; echo second; exit 5"
    cli = subprocess.Popen([sys.executable, "-m", "in10nt_desktop.cli.main", "instances", "run", instance, task],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert cli.stdout is not None
        assert cli.stdout.readline() == "first\n"  # printed while the task still waits for its file
        _run(instances_engine, instance, "touch /tmp/go-cli")
        rest, errors = cli.communicate(timeout=DEADLINE)
    finally:
        cli.kill()
    assert (rest, cli.returncode) == ("second\n", 5), errors
    as_json = instances_engine.cli("instances", "run", instance, "echo json", "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["output"] == "json\n"


@pytest.mark.asyncio
async def test_engine_shutdown_stops_a_streamed_task(stack_dir: Path, hub_mirrors: dict[str, str],
                                                     images: StackImages, podman: Podman) -> None:
    engine = start_engine(stack_dir / "engine-stream-shutdown", mirrors=hub_mirrors, docker_host=podman.docker_host,
                          extra=["--instance-network", "none"])
    try:
        iid = new_instance(engine, ready_template(engine, images.open_busybox.ref, "stream-shutdown"),
                           "stream-shutdown")
        async with _client(engine) as http, \
                http.stream("POST", f"/instances/{iid}/run", json={"task": "echo up; sleep 4321"},
                            headers=STREAM) as response:
            async for kind, data in _events(response):
                assert (kind, data) == ("output", {"text": "up\n"})
                break
            await asyncio.to_thread(engine.stop)
        assert engine.proc.returncode is not None
        ps = podman.cli("exec", f"in10nt-{iid}", "busybox", "ps").stdout
        assert "sleep 4321" not in ps, ps
    finally:
        engine.stop()

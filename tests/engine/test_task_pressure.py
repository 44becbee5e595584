"""Many long tasks at once on real Podman: every one answers, and the rest of the engine keeps answering.

Before the engine had its own executors, cores + 5 tasks that each print nothing filled the shared
default thread pool (each pumps its output in a thread), and the kill, the container engine ping, the
instance list and even the DNS lookups of a build queued behind them: nothing answered again.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import httpx
import pytest
from stack.engine_proc import EngineProc, start_engine
from stack.images import StackImages
from stack.podman import Podman

# Far longer than the tasks' own 5 s timeout plus the kill: a request still open then is a hang.
ANSWER_WITHIN = 45.0


async def _ready_template(http: httpx.AsyncClient, image: str, name: str) -> str:
    r = await http.post("/container-templates", json={"name": name, "image": image, "registryType": "private"})
    assert r.status_code == 201, r.text
    tid = str(r.json()["templateId"])
    for _ in range(int(ANSWER_WITHIN / 0.1)):
        status = (await http.get(f"/container-templates/{tid}/status")).json()
        if status["status"] != "building":
            assert status["status"] == "ready", status
            return tid
        await asyncio.sleep(0.1)
    raise AssertionError(f"template {tid} still building after {ANSWER_WITHIN} s")


async def _instance(http: httpx.AsyncClient, template_id: str, name: str) -> str:
    r = await http.post("/instances", json={"name": name, "containerTemplateId": template_id})
    assert r.status_code == 201, r.text
    return str(r.json()["instanceId"])


def _client(engine: EngineProc) -> httpx.AsyncClient:
    # One connection per request, as separate users or CLI runs would have.
    return httpx.AsyncClient(base_url=engine.url, headers={"Authorization": f"Bearer {engine.token}"},
                             timeout=httpx.Timeout(ANSWER_WITHIN), limits=httpx.Limits(max_connections=64))


@pytest.mark.asyncio
async def test_cores_plus_five_silent_tasks_all_answer_while_lists_and_builds_go_on(
        instances_engine: EngineProc, images: StackImages) -> None:
    count = (os.cpu_count() or 1) + 5
    async with _client(instances_engine) as http:
        template = await _ready_template(http, images.open_busybox.ref, "pressure")
        instance = await _instance(http, template, "pressure")
        tasks = [asyncio.ensure_future(http.post(f"/instances/{instance}/run",
                                                 json={"task": "sleep 100000", "timeout": 5}))
                 for _ in range(count)]
        await asyncio.sleep(1.0)  # every task has started and holds its output stream
        listed = await http.get("/instances")
        assert listed.status_code == 200 and instance in listed.text
        # A build needs DNS lookups and the container engine's ping: neither may queue behind the tasks.
        other = await _ready_template(http, images.open_docker.ref, "during-pressure")
        answers = await asyncio.gather(*tasks)
    for r in answers:
        assert r.status_code in (200, 429), r.text
        if r.status_code == 200:
            assert r.json()["timedOut"] is True and r.json()["exitCode"] == 137
        else:
            assert "Retry-After" in r.headers
    assert other


@pytest.mark.asyncio
async def test_a_full_task_queue_is_a_429_with_a_sentence_and_queued_tasks_run_later(
        stack_dir: Path, hub_mirrors: dict[str, str], images: StackImages, podman: Podman) -> None:
    engine = start_engine(stack_dir / "engine-one-task", mirrors=hub_mirrors, docker_host=podman.docker_host,
                          extra=["--instance-network", "none", "--max-tasks", "1"])
    try:
        async with _client(engine) as http:
            template = await _ready_template(http, images.open_busybox.ref, "one-slot")
            instance = await _instance(http, template, "one-slot")
            running = asyncio.ensure_future(http.post(f"/instances/{instance}/run",
                                                      json={"task": "sleep 100000", "timeout": 2}))
            await asyncio.sleep(0.5)
            queued = asyncio.ensure_future(http.post(f"/instances/{instance}/run",
                                                     json={"task": "echo queued", "timeout": 5}))
            await asyncio.sleep(0.5)
            refused = await http.post(f"/instances/{instance}/run", json={"task": "echo refused"})
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "tasks_busy"
            assert refused.json()["error"]["message"] == (
                "The engine already runs 1 task and 1 more waits for a slot (its limits, --max-tasks); "
                "try again when one ends.")
            assert int(refused.headers["Retry-After"]) >= 1
            # Asked as a stream, the refusal is the same JSON answer: the task never started.
            refused = await http.post(f"/instances/{instance}/run", json={"task": "echo refused"},
                                      headers={"Accept": "text/event-stream"})
            assert (refused.status_code, refused.headers["content-type"]) == (429, "application/json")
            assert refused.json()["error"]["code"] == "tasks_busy" and "Retry-After" in refused.headers
            first, second = await asyncio.gather(running, queued)
            assert first.status_code == 200 and first.json()["timedOut"] is True
            assert second.status_code == 200 and second.json()["output"] == "queued\n"
    finally:
        engine.stop()

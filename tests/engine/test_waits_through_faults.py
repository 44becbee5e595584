"""Waits through a lossy network: a proxy in front of the real engine drops ~30 % of connections and answers
others with 502, 503 or 429 itself. Every wait on a build that ends ``ready`` must say so, and a wait that
gives up must say it does not know (exit 4), never that the build failed (exit 1).

Before waits retried, 3 of 12 CLI waits on builds that ended ``ready`` exited 1 ("Cannot reach …"), and
10 of 14 SDK waits raised.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from stack.engine_proc import EngineProc
from stack.gate_proxy import GateProxy
from stack.images import StackImages
from stack.lossy_proxy import LossyProxy
from stack.registry import Registry, free_port

from in10nt_desktop.api import In10ntClient, In10ntError, WaitTimeoutError

HOLD = 3.0  # the builds stay `building` this long, so every wait polls through the faults for a while
WAIT_TIMEOUT = 60.0  # the waits' own bound; the builds end after HOLD


@pytest.fixture
def lossy(engine: EngineProc) -> Iterator[LossyProxy]:
    proxy = LossyProxy(int(engine.url.rsplit(":", 1)[1]), seed=13)
    yield proxy
    proxy.close()


@pytest.fixture
def held_builds(engine: EngineProc, registry_open: Registry, images: StackImages) -> Iterator[list[str]]:
    """16 templates whose builds stay `building` until the gate in front of their registry opens."""
    host, port = registry_open.host.split(":")
    gate = GateProxy(host, int(port))
    image = images.open_busybox.ref.replace(registry_open.host, gate.host)
    ids = []
    with engine.http() as http:
        for n in range(16):
            r = http.post("/container-templates", json={"name": f"held-{n}", "image": image,
                                                        "registryType": "private"})
            assert r.status_code == 201, r.text
            ids.append(r.json()["templateId"])
    timer = threading.Timer(HOLD, gate.open)
    timer.start()
    yield ids
    timer.cancel()
    gate.open()
    gate.close()


def _cli(proxy: LossyProxy, engine: EngineProc, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
    return subprocess.Popen([sys.executable, "-m", "in10nt_desktop.cli.main", "--base-url", proxy.url,
                             "--api-key", engine.token, "templates", "wait", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.asyncio
async def test_sdk_waits_outlast_drops_and_gateway_errors(engine: EngineProc, lossy: LossyProxy,
                                                          held_builds: list[str]) -> None:
    retries: list[In10ntError] = []
    async with In10ntClient(lossy.url, engine.token) as client:
        templates = await asyncio.gather(*(
            client.templates.wait_until_ready(tid, timeout=WAIT_TIMEOUT, poll_interval=0.2,
                                              on_retry=lambda err, _delay: retries.append(err))
            for tid in held_builds[:14]))
    assert [t.status for t in templates] == ["ready"] * 14
    assert [t.template_id for t in templates] == held_builds[:14]
    assert all(t.digest for t in templates)
    # The faults did happen, and every kind reached a wait.
    assert lossy.fates["drop-before"] and lossy.fates["drop-after"] and lossy.fates["429"]
    assert {type(e).__name__ for e in retries} >= {"ConnectionFailedError", "RateLimitError", "ServerError"}


def test_cli_waits_exit_0_when_ready_and_4_when_they_give_up(engine: EngineProc, lossy: LossyProxy,
                                                             held_builds: list[str], registry_open: Registry,
                                                             images: StackImages) -> None:
    waits = [_cli(lossy, engine, tid, "--poll-interval", "0.2", "--timeout", str(WAIT_TIMEOUT))
             for tid in held_builds[:12]]
    # Gives up while its build is still held: it does not know how the build ends.
    host, port = registry_open.host.split(":")
    closed = GateProxy(host, int(port))
    with engine.http() as http:
        never = http.post("/container-templates", json={
            "name": "never", "image": images.open_busybox.ref.replace(registry_open.host, closed.host),
            "registryType": "private"}).json()["templateId"]
    early = _cli(lossy, engine, never, "--poll-interval", "0.2", "--timeout", "0.5")
    # Nothing answers on this port for the whole wait.
    unreachable = subprocess.Popen([sys.executable, "-m", "in10nt_desktop.cli.main", "--base-url",
                                    f"http://127.0.0.1:{free_port()}", "--api-key", "x", "templates", "wait",
                                    "tmpl_0123456789abcdef", "--timeout", "1.5"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        results = [p.communicate(timeout=WAIT_TIMEOUT + 30) for p in [*waits, early, unreachable]]
    finally:
        closed.close()
    codes = [p.returncode for p in [*waits, early, unreachable]]
    assert codes == [0] * 12 + [4, 4], results
    for tid, (out, _err) in zip(held_builds[:12], results, strict=False):
        assert out.startswith(f"{tid} ready: sha256:")
    assert "no answer this time" in "".join(err for _out, err in results[:12])  # retries were said
    # It gave up while the build was held: either its last poll said "building" or the proxy failed it.
    gave_up = results[12][1].strip().splitlines()[-1]
    assert gave_up.endswith("was still building after 0.5 s.") or "after 0.5 s without learning" in gave_up, gave_up
    assert "Gave up on template tmpl_0123456789abcdef after 1.5 s without learning how its build ended: " \
           "the last request failed (Cannot reach" in results[13][1]


@pytest.mark.asyncio
async def test_a_failed_build_still_fails_the_wait_through_the_faults(engine: EngineProc, lossy: LossyProxy,
                                                                      registry_open: Registry) -> None:
    with engine.http() as http:
        tid = http.post("/container-templates", json={
            "name": "missing", "image": f"{registry_open.host}/x/busybox:no-such-tag",
            "registryType": "private"}).json()["templateId"]
    async with In10ntClient(lossy.url, engine.token) as client:
        with pytest.raises(In10ntError) as info:
            await client.templates.wait_until_ready(tid, timeout=WAIT_TIMEOUT, poll_interval=0.2)
    assert not isinstance(info.value, WaitTimeoutError)
    assert "failed to build: Image or tag not found" in str(info.value)

"""A registry that misbehaves on purpose: every build fails with a sentence naming it, and the engine stays small.

Before the engine read registry answers with caps, an endless manifest grew it past 3 GB in 16 s and
a redirect loop or a deeply nested manifest ended the build with "Internal engine error".
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from stack.bad_registry import BadRegistry
from stack.engine_proc import EngineProc, start_engine
from stack.memory import MemoryWatch

RSS_LIMIT_MB = 300
SETTLE = 60.0  # every build ends well within this; a build still running then is a hang


@pytest.fixture(scope="module")
def bad_registry() -> Iterator[BadRegistry]:
    registry = BadRegistry()
    yield registry
    registry.close()


@pytest.fixture(scope="module")
def abuse_engine(stack_dir: Path) -> Iterator[EngineProc]:
    proc = start_engine(stack_dir / "engine-abuse")  # resolve only: every misbehaviour is in the resolve
    yield proc
    proc.stop()


def expected(host: str) -> dict[str, str]:
    manifest_cap = f"{host} answered with a manifest or index larger than 4 MiB (the engine's limit); refused."
    return {
        "endless": manifest_cap,
        "huge-length": manifest_cap,
        "two-million-layers": manifest_cap,
        "endless-token": f"The token service of {host} answered with more than 1 MiB (the engine's limit for a "
                         "token answer); refused.",
        "many-layers": f"{host} sent a manifest of 5,000 layers; the engine accepts at most 1,000.",
        "deep-json": f"{host} sent a manifest or index nested deeper than 32 levels; refused.",
        "redirect-loop": f"{host} redirected the request more than 10 times (a redirect loop?); check the "
                         "registry address.",
        "endless-config": f"{host} answered with an image config larger than 8 MiB (the engine's limit); refused.",
    }


def test_every_misbehaviour_fails_its_build_with_a_sentence_and_the_engine_stays_small(
        abuse_engine: EngineProc, bad_registry: BadRegistry) -> None:
    want = expected(bad_registry.host)
    with MemoryWatch(abuse_engine.proc.pid) as memory, abuse_engine.http() as http:
        ids = {}
        for mode in want:
            r = http.post("/container-templates", json={"name": mode, "image": bad_registry.image(mode),
                                                        "registryType": "private"})
            assert r.status_code == 201, r.text
            ids[mode] = r.json()["templateId"]
        errors: dict[str, str] = {}
        deadline = time.monotonic() + SETTLE
        while len(errors) < len(ids) and time.monotonic() < deadline and not memory.killed:
            for mode, tid in ids.items():
                status = http.get(f"/container-templates/{tid}/status").json()
                if status["status"] != "building":
                    assert status["status"] == "failed", status
                    errors[mode] = status["error"]
            time.sleep(0.2)
        health = http.get("/healthz")
    assert not memory.killed, f"the engine passed {memory.kill_above_mb} MB and was killed"
    assert errors == want, abuse_engine.log_tail()
    assert health.status_code == 200
    assert memory.peak_mb < RSS_LIMIT_MB, f"peak RSS {memory.peak_mb:.0f} MB"
    assert "Traceback" not in abuse_engine.log_tail()
    # The engine stopped reading: the registry never got a body much past the caps out.
    for mode in ("endless", "huge-length", "two-million-layers", "endless-token", "endless-config"):
        assert bad_registry.sent[mode] < 64 * 1024 * 1024, (mode, bad_registry.sent[mode])

"""The build's pull step with a container engine that never finishes (no real engine can be told to).

The registry is an ``httpx.MockTransport`` serving one manifest; the engine is a stand-in whose
pull waits forever, so the build's own ``pull_timeout`` is what ends it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from in10nt_desktop.api.validation import Credentials, parse_image
from in10nt_desktop.engine.builds import BuildManager, BuildSettings
from in10nt_desktop.engine.store import Store

CONFIG = json.dumps({"os": "linux", "architecture": "arm64", "variant": "v8"}).encode()
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "1" * 64, "size": 1234}
MANIFEST = json.dumps({
    "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + hashlib.sha256(CONFIG).hexdigest(), "size": len(CONFIG)},
    "layers": [LAYER]}).encode()


def registry(request: httpx.Request) -> httpx.Response:
    if "/blobs/" in request.url.path:
        return httpx.Response(200, content=CONFIG)
    return httpx.Response(200, content=MANIFEST, headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"})


class StuckEngine:
    """Answers ``connect()``; its pull never ends until cancelled."""

    host = "unix:///fake/engine.sock"

    def __init__(self) -> None:
        self.pulls: list[dict[str, Any]] = []
        self.cancelled = asyncio.Event()

    async def connect(self) -> object:
        return object()

    async def pull(self, repository: str, digest: str, auth: Credentials | None, registry: str,
                   on_event: Callable[[dict[str, Any]], None], *, platform: str | None = None) -> str:
        self.pulls.append({"repository": repository, "digest": digest, "platform": platform})
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        raise AssertionError("unreachable")


@pytest.mark.asyncio
async def test_a_pull_that_outlasts_pull_timeout_says_the_engine_pull_timed_out(tmp_path: Path) -> None:
    store = Store(tmp_path / "engine.sqlite3")
    engine = StuckEngine()
    async with httpx.AsyncClient(transport=httpx.MockTransport(registry)) as http:
        builds = BuildManager(store, engine, http,  # type: ignore[arg-type]  # a stand-in engine
                              BuildSettings(mirrors={}, pull_timeout=0.2, platform="linux/arm64"))
        t = store.insert_template(name="n", description=None, image="registry.example.com/a/b:1",
                                  registry_type="private", needs_credentials=False, idempotency_key=None)
        builds.start(t["templateId"], parse_image(t["image"]), None)
        for _ in range(200):
            if (row := store.get_template(t["templateId"])) and row["status"] != "building":
                break
            await asyncio.sleep(0.02)
        await builds.shutdown()
    assert row is not None and row["status"] == "failed"
    assert row["error"] == ("The container engine's pull did not finish within 0.2 s; check the engine's network "
                            "to the registry, or try again.")
    assert engine.cancelled.is_set()  # the pull itself was cancelled, not left running
    # What is pulled is what was resolved and recorded: the same platform.
    assert engine.pulls == [{"repository": "registry.example.com/a/b",
                             "digest": "sha256:" + hashlib.sha256(MANIFEST).hexdigest(),
                             "platform": "linux/arm64/v8"}]
    assert row["platform"] == "linux/arm64/v8"
    store.close()

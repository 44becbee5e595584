"""The build routes as tests call them: plain HTTP on the real engine, polls with a deadline, phase checks."""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx

from stack.engine_proc import EngineProc, wait_status

T = TypeVar("T")


def poll(fetch: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


def api(engine: EngineProc, method: str, path: str, **kw: Any) -> httpx.Response:
    with engine.http() as http:
        return http.request(method, path, **kw)


def create(engine: EngineProc, name: str, image: str, **extra: Any) -> dict[str, Any]:
    r = api(engine, "POST", "/container-templates", json={"name": name, "image": image, "registryType": "private",
                                                           **extra})
    assert r.status_code == 201, r.text
    return dict(r.json())


def ready_template(engine: EngineProc, image: str, name: str = "busybox") -> str:
    """A template of ``image``, built: its ID."""
    tid = str(create(engine, name, image)["templateId"])
    done = wait_status(engine, tid, {"ready", "failed"})
    assert done["status"] == "ready", done
    return tid


def new_instance(engine: EngineProc, template_id: str, name: str) -> str:
    """An instance of the template, running: its ID (the first one may pull the image into Podman)."""
    r = api(engine, "POST", "/instances", json={"name": name, "containerTemplateId": template_id}, timeout=120)
    assert r.status_code == 201, r.text
    return str(r.json()["instanceId"])


def records(engine: EngineProc, tid: str) -> list[dict[str, Any]]:
    r = api(engine, "GET", f"/container-templates/{tid}/builds")
    assert r.status_code == 200, r.text
    assert r.json()["templateId"] == tid
    return list(r.json()["builds"])


def log_texts(engine: EngineProc, tid: str, first: int = 1, last: int | None = None) -> list[str]:
    lines = api(engine, "GET", f"/container-templates/{tid}/logs").json()["lines"]
    return [x["text"] for x in lines if x["n"] >= first and (last is None or x["n"] <= last)]


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check_phases(record: dict[str, Any], names: list[str]) -> None:
    """The phases are the ones named, in order, back to back, each with its own duration."""
    phases = record["phases"]
    assert [p["name"] for p in phases] == names, phases
    for before, after in itertools.pairwise(phases):
        assert before["endedAt"] == after["startedAt"]
    for p in phases:
        assert p["seconds"] is not None and p["seconds"] >= 0
        assert when(p["endedAt"]) >= when(p["startedAt"])
    assert phases[-1]["endedAt"] == record["finishedAt"]


def unique_repo(prefix: str) -> str:
    return f"x/{prefix}-{secrets.token_hex(4)}"

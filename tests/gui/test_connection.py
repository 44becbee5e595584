"""The connection's one state machine (offline, 401, a server that dies and returns, an engine that
stops, restarts or moves), bulk delete, live rows, and the local engine the app finds or starts —
all against real processes, no mocks."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gui_helpers import (
    MemoryKeyring,
    closed_port,
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    go_online,
    ini_settings,
    keyring_backend,
    open_session,
    wait_until,
)
from PySide6.QtWidgets import QApplication
from stack.engine_proc import EngineProc, start_engine
from stack.gate_proxy import GateProxy
from stack.images import StackImages

from in10nt_desktop.app.app_services import AppServices
from in10nt_desktop.app.keychain import SERVICE, KeyStore
from in10nt_desktop.app.local_engine import LocalEngine
from in10nt_desktop.app.profiles import Profile
from in10nt_desktop.app.services import BulkResult
from in10nt_desktop.ui.status_badge import badge_look

pytestmark = pytest.mark.asyncio


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with keyring_backend(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


def record_states(session: AppServices) -> list[tuple[str, str]]:
    states: list[tuple[str, str]] = []
    session.connection.state_changed.connect(lambda state, text: states.append((state, text)))
    return states


async def until_state(states: list[tuple[str, str]], wanted: str, timeout: float = 15.0) -> str:
    await wait_until(lambda: any(s == wanted for s, _ in states), timeout,
                     f"never {wanted}; states were {[s for s, _ in states]}")
    return next(text for s, text in states if s == wanted)


# -- offline ------------------------------------------------------------------------------------------


async def test_unreachable_server_is_offline_with_a_sentence(memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    port = closed_port()
    async with open_session(ini_settings(tmp_path / "s.ini"), tmp_path / "no-engine") as session:
        profile = Profile("Nowhere", "custom", f"http://127.0.0.1:{port}")
        await session.keys.set(profile.key_account(), "some-key")
        states = record_states(session)
        session.activate(profile)
        text = await until_state(states, "offline")
        assert f"127.0.0.1:{port}" in text and "reach" in text
        assert states[0][0] == "connecting"
        assert session.connection.state == "offline"
        assert len(session.templates.store) == 0


async def test_server_death_marks_rows_stale_not_failed(gate: GateProxy, fresh_engine_dir: Path,
                                                        images: StackImages, tmp_path: Path) -> None:
    proc = await asyncio.to_thread(start_engine, fresh_engine_dir)
    try:
        async with proc.client() as setup:
            ready = await setup.templates.create(name="was-ready", image=images.open_busybox.ref,
                                                 registry_type="private")
            held = await setup.templates.create(name="was-building", image=f"{gate.host}/{images.open_busybox.repo}:1",
                                                registry_type="private")
            for _ in range(500):
                if (await setup.templates.status(ready.template_id)).status == "ready":
                    break
                await asyncio.sleep(0.02)
        async with open_session(ini_settings(tmp_path / "s.ini"), fresh_engine_dir) as session:
            await go_online(session)
            assert {r.name: r.status for r in session.templates.store.rows} == {"was-ready": "ready",
                                                                         "was-building": "building"}
            states = record_states(session)
            await asyncio.to_thread(proc.crash)

            # The event stream ends at once; engine.json names a process that is gone: the engine stopped.
            text = await until_state(states, "engine_stopped", 5)
            assert text == "The local engine stopped."
            building = session.templates.store.get(held.template_id)
            assert building is not None and building.status == "building" and building.stale
            done = session.templates.store.get(ready.template_id)
            assert done is not None and done.status == "ready"  # last data kept, nothing marked failed
            assert all(r.status != "failed" for r in session.templates.store.rows)
            stale = {r.name: r.stale for r in session.templates.store.rows}
            assert stale == {"was-ready": True, "was-building": True}, \
                f"offline: every row should be marked stale, got {stale}"
            assert all(badge_look(r, _palette()).text.endswith("(stale)") for r in session.templates.store.rows)
    finally:
        await asyncio.to_thread(proc.stop)


def _palette():
    return QApplication.palette()



# -- 401: the key is asked for, and a good one brings the session online ----------------------------------


async def test_wrong_api_key_needs_key_then_the_right_one_connects(engine: EngineProc, memory_keyring: MemoryKeyring,
                                                                   tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "s.ini"), tmp_path / "unused") as session:
        profile = Profile("Engine by URL", "custom", engine.url)
        assert await session.keys.set(profile.key_account(), "wrong-key") is True
        states = record_states(session)
        session.activate(profile)
        text = await until_state(states, "needs_key")
        assert text
        assert session.connection.state == "needs_key"
        assert "wrong-key" not in text

        states.clear()
        stored: list[bool] = []
        session.key_stored.connect(lambda persisted, _text: stored.append(persisted))
        session.set_api_key(engine.token)
        await until_state(states, "online")
        assert stored == [True]
        await wait_until(lambda: session.templates.store.loaded)
        assert memory_keyring.items[(SERVICE, profile.key_account())] == engine.token
        assert session.live.mode == "events"


async def test_profile_without_a_key_asks_for_one(engine: EngineProc, memory_keyring: MemoryKeyring,
                                                  tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "s.ini"), tmp_path / "unused") as session:
        states = record_states(session)
        session.activate(Profile("Keyless", "custom", engine.url))
        text = await until_state(states, "needs_key")
        assert "Keyless needs an API key" in text


# -- bulk delete keeps going ----------------------------------------------------------------------------------


async def test_bulk_delete_reports_each_failure_and_keeps_going(engine: EngineProc, images: StackImages,
                                                                tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "s.ini"), engine.data_dir) as session:
        await go_online(session)
        name = f"gui-bulk-{uuid.uuid4().hex[:6]}"
        assert session.connection.client is not None
        created = await session.connection.client.templates.create(name=name, image=images.open_busybox.ref,
                                                        registry_type="private")
        session.refresh()
        await wait_until(lambda: session.templates.store.get(created.template_id) is not None)
        results: list[tuple[str, BulkResult]] = []
        session.templates.bulk_finished.connect(lambda what, result: results.append((what, result)))

        session.templates.delete(["tpl_does_not_exist", created.template_id])
        await wait_until(lambda: results)
        what, result = results[0]
        assert what == "template"
        assert result.done == [name]
        assert len(result.failed) == 1 and result.failed[0][0] == "tpl_does_not_exist"
        assert result.failed[0][1]  # a sentence saying why
        assert session.templates.store.get(created.template_id) is None
        remaining = [t.template_id for t in await session.connection.client.templates.list()]
        assert created.template_id not in remaining


# -- the local engine: found or started, stopped only if started here --------------------------------------


def _answers(url: str, token: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", headers={"Authorization": f"Bearer {token}"}, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_local_engine_is_started_reused_and_stopped(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine-data"
    local = LocalEngine(data_dir, extra_args=["--docker-host", f"unix://{tmp_path}/no-container-engine.sock"])
    try:
        first = await local.ensure()
        assert local.started_by_us
        info = json.loads((data_dir / "engine.json").read_text())
        assert info["url"] == first.url
        assert await asyncio.to_thread(_answers, first.url, first.token)
        assert first.token not in repr(first)

        again = await local.ensure()
        assert again == first
        assert json.loads((data_dir / "engine.json").read_text())["pid"] == info["pid"]  # no second engine

        await local.stop()
        assert not local.started_by_us
        assert not await asyncio.to_thread(_answers, first.url, first.token)
        assert not (data_dir / "engine.json").exists()
    finally:
        local.stop_now()


async def test_engine_started_elsewhere_is_used_and_left_running(tmp_path: Path) -> None:
    elsewhere = await asyncio.to_thread(start_engine, tmp_path / "user-engine")
    try:
        local = LocalEngine(elsewhere.data_dir)
        endpoint = await local.ensure()
        assert (endpoint.url, endpoint.token) == (elsewhere.url, elsewhere.token)
        assert not local.started_by_us
        await local.stop()
        assert elsewhere.proc.poll() is None
        assert await asyncio.to_thread(_answers, elsewhere.url, elsewhere.token)
    finally:
        await asyncio.to_thread(elsewhere.stop)


async def test_session_on_this_computer_starts_the_engine_and_stops_it_on_close(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine-data"
    engine = LocalEngine(data_dir, extra_args=["--docker-host", f"unix://{tmp_path}/none.sock"])
    session = AppServices(ini_settings(tmp_path / "s.ini"), KeyStore(timeout=2.0), engine)
    try:
        await go_online(session)
        url = session.connection.client.base_url if session.connection.client else ""
        assert engine.started_by_us
        assert session.templates.store.rows == []
    finally:
        await session.close()
    assert not engine.started_by_us
    assert url and not (data_dir / "engine.json").exists()


async def test_back_online_by_itself_after_the_server_returns(gate: GateProxy, fresh_engine_dir: Path,
                                                              images: StackImages, tmp_path: Path) -> None:
    """An outage must not leave the window offline and stale until someone clicks Retry."""
    port = closed_port()
    proc = await asyncio.to_thread(start_engine, fresh_engine_dir, extra=["--port", str(port)])
    try:
        async with proc.client() as setup:
            await setup.templates.create(name="held", image=f"{gate.host}/{images.open_busybox.repo}:1",
                                         registry_type="private")
        async with open_session(ini_settings(tmp_path / "s.ini"), fresh_engine_dir) as session:
            await go_online(session)
            states = record_states(session)
            await asyncio.to_thread(proc.crash)
            await until_state(states, "offline", 20)
            assert all(r.stale for r in session.templates.store.rows)

            proc = await asyncio.to_thread(start_engine, fresh_engine_dir, extra=["--port", str(port)])
            await until_state(states, "online", 30)
            await wait_until(lambda: not any(r.stale for r in session.templates.store.rows), 10,
                             "rows stayed stale after the server came back")
            assert [r.name for r in session.templates.store.rows] == ["held"]
    finally:
        await asyncio.to_thread(proc.stop)

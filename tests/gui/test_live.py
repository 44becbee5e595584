"""The window's data stays true by itself, on the real engine: changes made by the CLI show
without a click, an engine that stops is said and healed, one that moves is found again, and
quitting with builds in flight loses none of them.

Every wait is for an event (a state, a row); none sleeps and then asserts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

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
from stack.engine_proc import EngineProc, start_engine
from stack.gate_proxy import GateProxy
from stack.images import StackImages

from in10nt_desktop.app.app_services import AppServices
from in10nt_desktop.app.drafts import TemplateDraft
from in10nt_desktop.app.keychain import KeyStore
from in10nt_desktop.app.local_engine import LocalEngine
from in10nt_desktop.app.profiles import Profile
from in10nt_desktop.platforms import process_alive

pytestmark = pytest.mark.asyncio


def record_states(services: AppServices) -> list[tuple[str, str]]:
    states: list[tuple[str, str]] = []
    services.connection.state_changed.connect(lambda state, text: states.append((state, text)))
    return states


async def until_state(states: list[tuple[str, str]], wanted: str, timeout: float = 15.0, after: int = 0) -> str:
    await wait_until(lambda: any(s == wanted for s, _ in states[after:]), timeout,
                     f"never {wanted}; states were {[s for s, _ in states]}")
    return next(text for s, text in states[after:] if s == wanted)



def engine_pid(data_dir: Path) -> int:
    return int(json.loads((data_dir / "engine.json").read_text())["pid"])


# -- changes made elsewhere show by themselves ----------------------------------------------------------------


async def test_templates_created_and_deleted_by_the_cli_show_while_the_app_is_idle(
        engine: EngineProc, images: StackImages, tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "s.ini"), engine.data_dir) as services:
        await go_online(services)
        assert services.live.mode == "events"
        gone: list[str] = []
        services.templates.removed_elsewhere.connect(lambda tid, _name: gone.append(tid))
        out = await asyncio.to_thread(engine.cli, "templates", "create", "--name", "live-from-cli",
                                      "--image", images.open_busybox.ref, "--registry-type", "private")
        assert out.returncode == 0, out.stderr
        tid = out.stdout.strip()
        await wait_until(lambda: services.templates.store.get(tid) is not None, 5,
                         "a template created by the CLI never showed without a refresh")
        await wait_until(lambda: services.templates.store.get(tid).status == "ready", 30)

        out = await asyncio.to_thread(engine.cli, "templates", "delete", tid)
        assert out.returncode == 0, out.stderr
        await wait_until(lambda: services.templates.store.get(tid) is None, 5,
                         "a template deleted by the CLI stayed in the window")
        assert gone == [tid]
        assert services.monitor.requests == 0  # no status poll at all: the stream told everything


# -- the local engine stops, is restarted, moves ------------------------------------------------------------


async def test_an_app_owned_engine_killed_is_said_and_started_again_by_itself(tmp_path: Path) -> None:
    data_dir = tmp_path / "engine-data"
    engine = LocalEngine(data_dir, extra_args=["--docker-host", f"unix://{tmp_path}/none.sock"])
    services = AppServices(ini_settings(tmp_path / "s.ini"), KeyStore(timeout=2.0), engine)
    try:
        await go_online(services)
        first = engine_pid(data_dir)
        assert engine.owned
        states = record_states(services)
        os.kill(first, signal.SIGKILL)
        text = await until_state(states, "engine_stopped", 5)
        assert "The local engine stopped" in text
        await until_state(states, "online", 30)
        assert engine_pid(data_dir) != first and engine.alive
        await wait_until(lambda: services.templates.store.loaded and services.live.mode == "events", 10)

        second = engine_pid(data_dir)  # a second death in a row is not restarted: it is said, with Start
        mark = len(states)
        os.kill(second, signal.SIGKILL)
        await until_state(states, "engine_stopped", 5, after=mark)
        await asyncio.sleep(0.5)
        assert services.connection.state == "engine_stopped"
        services.connection.start_engine()  # the Start button
        await until_state(states, "online", 30, after=mark)
    finally:
        await services.close()
    assert not (data_dir / "engine.json").exists()


async def test_an_engine_restarted_elsewhere_on_another_port_is_found_through_engine_json(
        fresh_engine_dir: Path, tmp_path: Path) -> None:
    proc = await asyncio.to_thread(start_engine, fresh_engine_dir)
    try:
        async with open_session(ini_settings(tmp_path / "s.ini"), fresh_engine_dir) as services:
            await go_online(services)
            old_url = services.connection.base_url
            states = record_states(services)
            await asyncio.to_thread(proc.stop)
            text = await until_state(states, "engine_stopped", 5)
            assert text == "The local engine stopped."
            proc = await asyncio.to_thread(start_engine, fresh_engine_dir)
            assert proc.url != old_url
            await until_state(states, "online", 15)
            assert services.connection.base_url == proc.url
            assert not services.engine.owned  # found, not started: still the user's engine
    finally:
        await asyncio.to_thread(proc.stop)


async def test_after_an_action_met_connection_refused_the_app_is_online_again_without_a_click(
        fresh_engine_dir: Path, tmp_path: Path) -> None:
    port = closed_port()
    proc = await asyncio.to_thread(start_engine, fresh_engine_dir, extra=["--port", str(port)])
    try:
        with keyring_backend(MemoryKeyring()):
            async with open_session(ini_settings(tmp_path / "s.ini"), tmp_path / "unused") as services:
                profile = Profile("Engine by URL", "custom", proc.url)
                await services.keys.set(profile.key_account(), proc.token)
                states = record_states(services)
                services.activate(profile)
                await until_state(states, "online")
                await asyncio.to_thread(proc.stop)
                mark = len(states)
                services.templates.create(TemplateDraft(name="while-down", image="busybox:1",
                                                        registry_type="dockerhub"))
                text = await until_state(states, "offline", 15, after=mark)
                assert "127.0.0.1" in text
                proc = await asyncio.to_thread(start_engine, fresh_engine_dir, extra=["--port", str(port)])
                await until_state(states, "online", 30, after=mark)
                assert services.connection.online
                await wait_until(lambda: services.templates.store.loaded, 10)
    finally:
        await asyncio.to_thread(proc.stop)


# -- quitting with builds in flight -------------------------------------------------------------------------


async def test_keeping_the_engine_for_builds_in_flight_lets_the_next_start_see_them_finish(
        gate: GateProxy, images: StackImages, tmp_path: Path) -> None:
    data_dir = tmp_path / "engine-data"
    settings = ini_settings(tmp_path / "s.ini")
    await _quit_keeping_a_held_build(data_dir, settings, gate, images, tmp_path)
    pid = engine_pid(data_dir)
    again = AppServices(settings, KeyStore(timeout=2.0), LocalEngine(data_dir))
    try:
        await go_online(again)
        row = next(r for r in again.templates.store.rows if r.name == "long-build")
        assert row.status == "building" and engine_pid(data_dir) == pid  # the same engine, taken back
        assert again.engine.adopted and again.builds_in_flight() == 1  # quitting now would ask again
        # ... and names this app its owner: should the app die unasked, the engine stops once idle.
        assert again.connection.client is not None
        assert (await again.connection.client.engine.info())["ownerPid"] == os.getpid()
        finished: list[str] = []
        again.templates.build_finished.connect(lambda r: finished.append(r.status))
        gate.open()
        await wait_until(lambda: finished == ["ready"], 30, "the kept build never finished in the window")
        assert pid_alive(pid)  # taken back: it no longer stops by itself while the app runs
    finally:
        await again.close()
    await wait_until(lambda: not pid_alive(pid), 15, "quitting did not stop the engine it had taken back")


async def test_an_engine_kept_for_its_builds_stops_by_itself_once_they_finish(
        gate: GateProxy, images: StackImages, tmp_path: Path) -> None:
    data_dir = tmp_path / "engine-data"
    await _quit_keeping_a_held_build(data_dir, ini_settings(tmp_path / "s.ini"), gate, images, tmp_path)
    pid = engine_pid(data_dir)
    assert pid_alive(pid)
    gate.open()
    await wait_until(lambda: not pid_alive(pid), 30, "the kept engine went on running after its build")
    assert not (data_dir / "engine.json").exists()


async def _quit_keeping_a_held_build(data_dir: Path, settings: object, gate: GateProxy, images: StackImages,
                                     tmp_path: Path) -> None:
    engine = LocalEngine(data_dir, extra_args=["--docker-host", f"unix://{tmp_path}/none.sock"])
    services = AppServices(settings, KeyStore(timeout=2.0), engine)  # type: ignore[arg-type]
    try:
        await go_online(services)
        assert services.connection.client is not None  # the engine it started names it its owner
        assert (await services.connection.client.engine.info())["ownerPid"] == os.getpid()
        services.templates.create(TemplateDraft(name="long-build", image=f"{gate.host}/{images.open_busybox.repo}:1",
                                                registry_type="private"))
        await wait_until(lambda: services.builds_in_flight() == 1, 10)
        services.keep_engine_running()  # "Keep building in background"
    finally:
        await services.close()


def pid_alive(pid: int) -> bool:
    return process_alive(pid)  # a zombie (exited, not yet reaped) counts as gone

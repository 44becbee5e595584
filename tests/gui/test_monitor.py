"""Live status against the real local engine and a real registry: through the event stream (the
local engine) and through polling (a server without events, played by the engine with
``--no-events``).

A create goes through ``TemplatesService.create`` as the wizard's draft would; the badge's data
is read from the table model. Held builds come from a ``GateProxy`` in front of the open
registry: they stay ``building`` until the test opens the gate. Request counts come from a
counting transport under the SDK client, and polling ticks are driven with
``await monitor.tick()`` (intervals set to an hour), so no count depends on timing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from gui_helpers import (
    CountingTransport,
    MemoryKeyring,
    closed_port,
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    go_online,
    ini_settings,
    keyring_backend,
    open_session,
    wait_until,
)
from PySide6.QtCore import Qt
from stack.engine_proc import EngineProc, start_engine
from stack.gate_proxy import GateProxy
from stack.images import StackImages

from in10nt_desktop.api import In10ntClient
from in10nt_desktop.app.build_monitor import BuildMonitor
from in10nt_desktop.app.connection import Connection
from in10nt_desktop.app.drafts import SecretSource, TemplateDraft
from in10nt_desktop.app.errors import ErrorReporter
from in10nt_desktop.app.keychain import KeyStore
from in10nt_desktop.app.local_engine import LocalEngine
from in10nt_desktop.app.profiles import LOCAL_NAME, Profile, ProfileStore
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.app.templates_service import TemplatesService
from in10nt_desktop.ui.templates_model import Column, TemplatesModel

pytestmark = pytest.mark.asyncio
NO_DIGEST = "the finished row never got its digest (the row fetched after /status said ready)"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"



@pytest.fixture
def own_engine(fresh_engine_dir: Path, images: StackImages) -> Iterator[EngineProc]:
    """An engine of this test's own without events (a hosted-like server), so its template list holds
    only what the test made and the app has to poll."""
    proc = start_engine(fresh_engine_dir, extra=["--no-events"])
    yield proc
    proc.stop()


def held_image(gate: GateProxy, images: StackImages) -> str:
    return f"{gate.host}/{images.open_busybox.repo}:1"


def status_tooltip(store: TemplateStore, template_id: str) -> str:
    model = TemplatesModel(store)
    pos = model.position(template_id)
    assert pos is not None
    return str(model.index(pos, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole))


@asynccontextmanager
async def polling(engine: EngineProc, transport: CountingTransport,
                  tmp_path: Path) -> AsyncIterator[tuple[Connection, TemplatesService, BuildMonitor]]:
    """A connection to ``engine`` through ``transport``, its templates service and a monitor whose
    ticks only the test drives (every interval an hour)."""
    conn = Connection(ProfileStore(ini_settings(tmp_path / "p.ini")), KeyStore(timeout=2.0),
                      LocalEngine(engine.data_dir), lambda url, key: In10ntClient(url, key, transport=transport))
    templates = TemplatesService(conn, ErrorReporter())
    monitor = BuildMonitor(conn, templates, interval=3600, fast_interval=3600, idle_interval=3600)
    try:
        conn.activate(Profile(LOCAL_NAME, "local"), remember=False)
        await wait_until(lambda: conn.client is not None, 15, "never connected")
        templates.reload()
        await wait_until(lambda: templates.store.loaded, 15)
        assert conn.online
        yield conn, templates, monitor
    finally:
        await conn.close()


# -- create → building → ready / failed, through the session ---------------------------------------


async def test_private_template_with_credentials_goes_building_then_ready(engine: EngineProc, images: StackImages,
                                                                          tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "settings.ini"), engine.data_dir) as session:
        await go_online(session)
        seen_at_create: list[str] = []
        session.templates.created.connect(
            lambda row: seen_at_create.append(session.templates.store.get(row.template_id).status))
        finished: list[TemplateRow] = []
        session.templates.build_finished.connect(finished.append)
        name = unique("gui-private")
        session.templates.create(TemplateDraft(name=name, image=images.private_busybox.ref, registry_type="private",
                                              username="testuser", secret=SecretSource("typed", "testpass")))
        await wait_until(lambda: seen_at_create, message="the new row never appeared")
        assert seen_at_create == ["building"]  # in the table at once, before any poll
        row = next(r for r in session.templates.store.rows if r.name == name)
        tid = row.template_id
        assert session.live.mode == "events"

        await wait_until(lambda: session.templates.store.get(tid).status == "ready", 30, "the badge never turned ready")
        # the next tick fetches the whole row: the details get the digest the registry reports
        await wait_until(lambda: session.templates.store.get(tid).data.digest == images.private_busybox.digest, 5,
                         NO_DIGEST)
        assert [(r.template_id, r.status) for r in finished] == [(tid, "ready")]
        assert session.templates.store.get(tid).stale is False
        assert status_tooltip(session.templates.store, tid) == "ready"
        await session.connection.client.templates.delete(tid)


async def test_wrong_password_fails_with_credentials_rejected_in_the_tooltip(engine: EngineProc,
                                                                             images: StackImages,
                                                                             tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "settings.ini"), engine.data_dir) as session:
        await go_online(session)
        finished: list[TemplateRow] = []
        session.templates.build_finished.connect(finished.append)
        name = unique("gui-wrong")
        session.templates.create(TemplateDraft(name=name, image=images.private_busybox.ref, registry_type="private",
                                              username="testuser", secret=SecretSource("typed", "not-the-password")))
        await wait_until(lambda: any(r.name == name for r in session.templates.store.rows))
        tid = next(r.template_id for r in session.templates.store.rows if r.name == name)
        await wait_until(lambda: session.templates.store.get(tid).status == "failed", 30)
        tip = status_tooltip(session.templates.store, tid)
        assert "Credentials rejected" in tip
        assert "not-the-password" not in tip
        assert [(r.template_id, r.status) for r in finished] == [(tid, "failed")]
        assert "Credentials rejected" in str(finished[0].error)
        await session.connection.client.templates.delete(tid)


# -- without events: one request per tick, a light list when idle -------------------------------------------


async def wait_until_engine_says(client: In10ntClient, template_id: str, status: str) -> None:
    for _ in range(500):
        if (await client.templates.status(template_id)).status == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{template_id} never became {status}")


async def test_one_request_per_tick_list_for_several_status_for_one_list_when_idle(
        gate: GateProxy, own_engine: EngineProc, images: StackImages, tmp_path: Path) -> None:
    counting = CountingTransport()
    async with own_engine.client() as setup:
        ids = [(await setup.templates.create(name=f"held-{i}", image=held_image(gate, images),
                                             registry_type="private")).template_id for i in range(3)]
        async with polling(own_engine, counting, tmp_path) as (_conn, templates, monitor):
            store = templates.store
            assert sorted(store.building_ids()) == sorted(ids)
            ticks: list[int] = []
            monitor.tick_done.connect(ticks.append)
            finished: list[TemplateRow] = []
            templates.build_finished.connect(finished.append)
            for _ in range(3):  # three builds: the list answers for all of them
                counting.seen.clear()
                assert await monitor.tick() == 1
                assert counting.seen == [("GET", "/container-templates")]
            assert all(store.get(t).status == "building" for t in ids)

            for t in ids[1:]:  # deleted elsewhere: the next list drops them
                await setup.templates.delete(t)
            counting.seen.clear()
            await monitor.tick()
            assert counting.seen == [("GET", "/container-templates")]
            assert store.building_ids() == [ids[0]]

            counting.seen.clear()  # one build: its /status
            assert await monitor.tick() == 1
            assert counting.seen == [("GET", f"/container-templates/{ids[0]}/status")]

            gate.open()
            await wait_until_engine_says(setup, ids[0], "ready")
            counting.seen.clear()
            await monitor.tick()
            assert counting.seen == [("GET", f"/container-templates/{ids[0]}/status")]
            assert store.get(ids[0]).status == "ready"
            assert [(r.template_id, r.status) for r in finished] == [(ids[0], "ready")]

            counting.seen.clear()  # /status has no digest: one GET of the row fills it in
            await monitor.tick()
            assert counting.seen == [("GET", f"/container-templates/{ids[0]}")]
            assert store.get(ids[0]).data.digest == images.open_busybox.digest

            counting.seen.clear()  # nothing builds: the idle tick is one light list (what others changed)
            assert await monitor.tick() == 1
            assert counting.seen == [("GET", "/container-templates")]
            assert ticks == [1] * 8
            assert len(finished) == 1


async def test_without_events_the_idle_refresh_and_window_activation_bring_other_clients_changes(
        own_engine: EngineProc, images: StackImages, tmp_path: Path) -> None:
    counting = CountingTransport()
    async with open_session(ini_settings(tmp_path / "s.ini"), own_engine.data_dir,
                            client_factory=lambda url, key: In10ntClient(url, key, transport=counting)) as services:
        services.monitor.idle_interval = 0.3
        await go_online(services)
        await wait_until(lambda: services.live.mode == "polling", 10)
        assert services.monitor.running
        out = await asyncio.to_thread(own_engine.cli, "templates", "create", "--name", "from-cli",
                                      "--image", images.open_busybox.ref, "--registry-type", "private")
        assert out.returncode == 0, out.stderr
        await wait_until(lambda: any(r.name == "from-cli" for r in services.templates.store.rows), 10,
                         "the idle refresh never brought the CLI's template")

        services.monitor.idle_interval = 3600  # now only an activation may look
        await asyncio.sleep(0)
        services.monitor.kick(fast=False)  # re-arm the wait with the long interval
        tid = next(r.template_id for r in services.templates.store.rows if r.name == "from-cli")
        await asyncio.to_thread(own_engine.cli, "templates", "delete", tid)
        services.live.window_activated()
        await wait_until(lambda: services.templates.store.get(tid) is None, 10,
                         "activating the window did not refresh the list")


async def test_polling_loop_asks_often_only_while_something_builds(gate: GateProxy, own_engine: EngineProc,
                                                                   images: StackImages, tmp_path: Path) -> None:
    counting = CountingTransport()
    async with own_engine.client() as setup, polling(own_engine, counting, tmp_path) as (_c, templates, monitor):
        monitor.interval = monitor.fast_interval = 0.05
        monitor.start()
        held = await setup.templates.create(name="held", image=held_image(gate, images), registry_type="private")
        counting.seen.clear()
        templates.apply(held)
        monitor.kick()
        await wait_until(lambda: monitor.requests >= 3, 10)
        assert set(counting.seen) == {("GET", f"/container-templates/{held.template_id}/status")}


# -- start-up: resume building ones, no notification storm -------------------------------------------


async def test_start_up_resumes_building_templates_and_announces_only_real_finishes(
        gate: GateProxy, fresh_engine_dir: Path, images: StackImages, tmp_path: Path) -> None:
    engine = await asyncio.to_thread(start_engine, fresh_engine_dir)  # with events
    try:
        async with engine.client() as setup:
            ready = await setup.templates.create(name="old-ready", image=images.open_busybox.ref,
                                                 registry_type="private")
            failed = await setup.templates.create(name="old-failed", image=images.private_busybox.ref,
                                                  registry_type="private")  # no credentials: fails
            held = await setup.templates.create(name="still-building", image=held_image(gate, images),
                                                registry_type="private")
            await wait_until_engine_says(setup, ready.template_id, "ready")
            await wait_until_engine_says(setup, failed.template_id, "failed")

        async with open_session(ini_settings(tmp_path / "settings.ini"), engine.data_dir) as session:
            finished: list[TemplateRow] = []
            session.templates.build_finished.connect(finished.append)
            await go_online(session)
            statuses = {r.name: r.status for r in session.templates.store.rows}
            assert statuses == {"old-ready": "ready", "old-failed": "failed", "still-building": "building"}
            assert finished == []  # the two finished before start-up are not announced

            gate.open()
            await wait_until(lambda: session.templates.store.get(held.template_id).status == "ready", 30)
            await wait_until(lambda: session.templates.store.get(held.template_id).data.digest is not None, 5,
                             NO_DIGEST)
            assert [(r.name, r.status) for r in finished] == [("still-building", "ready")]
            assert session.monitor.requests == 0  # with events: no status poll at all
    finally:
        await asyncio.to_thread(engine.stop)


# -- profile switch cancels every watcher ---------------------------------------------------------------


async def test_profile_switch_cancels_the_event_subscriber(engine: EngineProc, tmp_path: Path) -> None:
    with keyring_backend(MemoryKeyring()):  # an empty keychain: the other profile has no key
        await _switch(engine, tmp_path)


async def _switch(engine: EngineProc, tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "settings.ini"), engine.data_dir) as session:
        await go_online(session)
        watchers = [t for t in asyncio.all_tasks() if t.get_name() == "events" and not t.done()]
        assert len(watchers) == 1

        session.activate(Profile("Nowhere", "custom", f"http://127.0.0.1:{closed_port()}"))
        await wait_until(lambda: watchers[0].done(), 5)
        assert watchers[0].cancelled()
        assert len(session.templates.store) == 0  # the other server's rows are gone at once
        await wait_until(lambda: session.connection.state == "needs_key", 5)  # no key stored for it
        assert not session.connection.tasks.running("events")

        await go_online(session)  # back to this computer: watching again
        assert session.connection.tasks.running("events")
        await session.connection.close()
        await asyncio.sleep(0)
        assert [t for t in asyncio.all_tasks() if t.get_name() in ("events", "poll") and not t.done()] == []

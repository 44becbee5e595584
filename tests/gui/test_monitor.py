"""The build monitor against the real local engine and a real registry.

A create goes through ``Session.create_template`` as the wizard's draft would; the badge's data
is read from the table model. Held builds come from a ``GateProxy`` in front of the open
registry: they stay ``building`` until the test opens the gate. Request counts come from a
counting transport under the SDK client, and ticks are driven with ``await monitor.tick()``
(intervals set to an hour), so no count depends on timing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
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
from stack.registry import Registry

from in10nt_desktop.api import In10ntClient
from in10nt_desktop.app.build_monitor import BuildMonitor
from in10nt_desktop.app.drafts import SecretSource, TemplateDraft
from in10nt_desktop.app.errors import ErrorReporter
from in10nt_desktop.app.profiles import Profile
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.ui.templates_model import Column, TemplatesModel

pytestmark = pytest.mark.asyncio
NO_DIGEST = "the finished row never got its digest (the row fetched after /status said ready)"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


@pytest.fixture
def gate(registry_open: Registry) -> Iterator[GateProxy]:
    host, port = registry_open.host.split(":")
    proxy = GateProxy(host, int(port))
    yield proxy
    proxy.close()  # without opening: an opened gate would connect upstream while it closes


@pytest.fixture
def own_engine(fresh_engine_dir: Path, images: StackImages) -> Iterator[EngineProc]:
    """An engine of this test's own, so its template list holds only what the test made."""
    proc = start_engine(fresh_engine_dir)
    yield proc
    proc.stop()


def held_image(gate: GateProxy, images: StackImages) -> str:
    return f"{gate.host}/{images.open_busybox.repo}:1"


def status_tooltip(store: TemplateStore, template_id: str) -> str:
    model = TemplatesModel(store)
    pos = store.position(template_id)
    assert pos is not None
    return str(model.index(pos, Column.STATUS).data(Qt.ItemDataRole.ToolTipRole))


# -- create → building → ready / failed, through the session ---------------------------------------


async def test_private_template_with_credentials_goes_building_then_ready(engine: EngineProc, images: StackImages,
                                                                          tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "settings.ini"), engine.data_dir) as session:
        await go_online(session)
        session.monitor.fast_interval = 0.2
        seen_at_create: list[str] = []
        session.template_created.connect(
            lambda row: seen_at_create.append(session.templates.get(row.template_id).status))
        finished: list[TemplateRow] = []
        session.monitor.finished.connect(finished.append)
        name = unique("gui-private")
        session.create_template(TemplateDraft(name=name, image=images.private_busybox.ref, registry_type="private",
                                              username="testuser", secret=SecretSource("typed", "testpass")))
        await wait_until(lambda: seen_at_create, message="the new row never appeared")
        assert seen_at_create == ["building"]  # in the table at once, before any poll
        row = next(r for r in session.templates.rows if r.name == name)
        tid = row.template_id
        assert session.monitor.running

        await wait_until(lambda: session.templates.get(tid).status == "ready", 30, "the badge never turned ready")
        # the next tick fetches the whole row: the details get the digest the registry reports
        await wait_until(lambda: session.templates.get(tid).data.digest == images.private_busybox.digest, 5,
                         NO_DIGEST)
        assert [(r.template_id, r.status) for r in finished] == [(tid, "ready")]
        assert session.templates.get(tid).stale is False
        assert status_tooltip(session.templates, tid) == "ready"
        await session.client.templates.delete(tid)


async def test_wrong_password_fails_with_credentials_rejected_in_the_tooltip(engine: EngineProc,
                                                                             images: StackImages,
                                                                             tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "settings.ini"), engine.data_dir) as session:
        await go_online(session)
        session.monitor.fast_interval = 0.2
        finished: list[TemplateRow] = []
        session.monitor.finished.connect(finished.append)
        name = unique("gui-wrong")
        session.create_template(TemplateDraft(name=name, image=images.private_busybox.ref, registry_type="private",
                                              username="testuser", secret=SecretSource("typed", "not-the-password")))
        await wait_until(lambda: any(r.name == name for r in session.templates.rows))
        tid = next(r.template_id for r in session.templates.rows if r.name == name)
        await wait_until(lambda: session.templates.get(tid).status == "failed", 30)
        tip = status_tooltip(session.templates, tid)
        assert "Credentials rejected" in tip
        assert "not-the-password" not in tip
        assert [(r.template_id, r.status) for r in finished] == [(tid, "failed")]
        assert "Credentials rejected" in str(finished[0].error)
        await session.client.templates.delete(tid)


# -- one request per tick, none when idle ---------------------------------------------------------------


async def test_one_request_per_tick_list_for_several_status_for_one_none_for_none(
        gate: GateProxy, own_engine: EngineProc, images: StackImages) -> None:
    counting = CountingTransport()
    async with own_engine.client() as setup, In10ntClient(own_engine.url, own_engine.token,
                                                          transport=counting) as client:
        ids = [(await setup.templates.create(name=f"held-{i}", image=held_image(gate, images),
                                             registry_type="private")).template_id for i in range(3)]
        store = TemplateStore()
        store.replace_all(await setup.templates.list())
        assert sorted(store.building_ids()) == sorted(ids)
        monitor = BuildMonitor(store, ErrorReporter(), interval=3600, fast_interval=3600)
        ticks: list[int] = []
        monitor.tick_done.connect(ticks.append)
        finished: list[TemplateRow] = []
        monitor.finished.connect(finished.append)
        monitor.attach(client)
        try:
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

            counting.seen.clear()  # nothing builds: no request at all
            assert await monitor.tick() == 0
            assert await monitor.tick() == 0
            assert counting.seen == []
            assert ticks == [1, 1, 1, 1, 1, 1, 1, 0, 0]
            assert len(finished) == 1
        finally:
            await monitor.close()


async def wait_until_engine_says(client: In10ntClient, template_id: str, status: str) -> None:
    for _ in range(500):
        if (await client.templates.status(template_id)).status == status:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{template_id} never became {status}")


async def test_polling_loop_asks_only_while_something_builds(gate: GateProxy, own_engine: EngineProc,
                                                             images: StackImages) -> None:
    counting = CountingTransport()
    async with own_engine.client() as setup, In10ntClient(own_engine.url, own_engine.token,
                                                          transport=counting) as client:
        ready = await setup.templates.create(name="done", image=images.open_busybox.ref, registry_type="private")
        await wait_until_engine_says(setup, ready.template_id, "ready")
        store = TemplateStore()
        store.replace_all(await setup.templates.list())
        monitor = BuildMonitor(store, ErrorReporter(), interval=0.05, fast_interval=0.05)
        monitor.attach(client)
        try:
            await asyncio.sleep(0.5)  # ten intervals with nothing building
            assert counting.seen == [] and monitor.requests == 0
            assert monitor.running

            held = await setup.templates.create(name="held", image=held_image(gate, images), registry_type="private")
            store.add(held)
            monitor.kick()
            await wait_until(lambda: monitor.requests >= 3, 10)
            assert set(counting.seen) == {("GET", f"/container-templates/{held.template_id}/status")}
        finally:
            await monitor.close()
        assert not monitor.running


# -- start-up: resume building ones, no notification storm -------------------------------------------


async def test_start_up_resumes_building_templates_and_announces_only_real_finishes(
        gate: GateProxy, own_engine: EngineProc, images: StackImages, tmp_path: Path) -> None:
    async with own_engine.client() as setup:
        ready = await setup.templates.create(name="old-ready", image=images.open_busybox.ref,
                                             registry_type="private")
        failed = await setup.templates.create(name="old-failed", image=images.private_busybox.ref,
                                              registry_type="private")  # no credentials: fails
        held = await setup.templates.create(name="still-building", image=held_image(gate, images),
                                            registry_type="private")
        await wait_until_engine_says(setup, ready.template_id, "ready")
        await wait_until_engine_says(setup, failed.template_id, "failed")

    async with open_session(ini_settings(tmp_path / "settings.ini"), own_engine.data_dir) as session:
        finished: list[TemplateRow] = []
        session.monitor.finished.connect(finished.append)
        session.monitor.interval = 0.1
        await go_online(session)
        statuses = {r.name: r.status for r in session.templates.rows}
        assert statuses == {"old-ready": "ready", "old-failed": "failed", "still-building": "building"}
        start = session.monitor.requests
        await wait_until(lambda: session.monitor.requests >= start + 3, 10, "the building template is not polled")
        assert finished == []  # the two finished before start-up are not announced

        gate.open()
        await wait_until(lambda: session.templates.get(held.template_id).status == "ready", 30)
        await wait_until(lambda: session.templates.get(held.template_id).data.digest is not None, 5, NO_DIGEST)
        assert [(r.name, r.status) for r in finished] == [("still-building", "ready")]


# -- profile switch cancels the monitor ------------------------------------------------------------------


async def test_profile_switch_and_detach_cancel_the_monitor_task(engine: EngineProc, tmp_path: Path) -> None:
    with keyring_backend(MemoryKeyring()):  # an empty keychain: the other profile has no key
        await _switch_and_detach(engine, tmp_path)


async def _switch_and_detach(engine: EngineProc, tmp_path: Path) -> None:
    async with open_session(ini_settings(tmp_path / "settings.ini"), engine.data_dir) as session:
        await go_online(session)
        assert session.monitor.running
        polls = [t for t in asyncio.all_tasks() if t.get_name() == "poll" and not t.done()]
        assert len(polls) == 1

        session.activate(Profile("Nowhere", "custom", f"http://127.0.0.1:{closed_port()}"))
        assert not session.monitor.running
        await wait_until(lambda: polls[0].done(), 5)
        assert polls[0].cancelled()
        assert len(session.templates) == 0  # the other server's rows are gone at once
        await wait_until(lambda: session.state == "needs_key", 5)  # no key stored for it
        assert not session.monitor.running

        await go_online(session)  # back to this computer: monitoring again
        assert session.monitor.running
        session.monitor.detach()
        assert not session.monitor.running
        await asyncio.sleep(0)
        assert [t for t in asyncio.all_tasks() if t.get_name() == "poll" and not t.done()] == []

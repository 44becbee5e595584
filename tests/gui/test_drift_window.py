"""Tag drift in the window, against the real engine and registry: a new image pushed to a ready
template's tag marks its row "base image updated since build", the details show both digests and
offer "Rebuild now" (the same template, built again in place); a registry that can no longer say leaves the row as it
was; what was learnt survives a restart without asking the registry again within the day."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from gui_helpers import (
    CountingTransport,
    MemoryKeyring,
    collect_qt_garbage,  # noqa: F401 - autouse fixture
    go_online,
    ini_settings,
    keyring_backend,
    open_session,
    wait_until,
)
from PySide6.QtWidgets import QWidget
from stack.engine_proc import EngineProc, start_engine, wait_status
from stack.images import MANIFEST_ACCEPT, push_image
from stack.registry import Registry

from in10nt_desktop.api import In10ntClient
from in10nt_desktop.app.app_services import AppServices
from in10nt_desktop.ui.drift_box import DriftBox
from in10nt_desktop.ui.main_window import MainWindow
from in10nt_desktop.ui.templates_model import DRIFT_MARK, Column

pytestmark = pytest.mark.asyncio


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    with keyring_backend(MemoryKeyring()) as backend:
        assert isinstance(backend, MemoryKeyring)
        yield backend


def image_cell(window: MainWindow, template_id: str) -> str:
    model = window.templates_page.model
    pos = model.position(template_id)
    assert pos is not None
    return str(model.index(pos, Column.IMAGE).data())


def ready_template(engine: EngineProc, name: str, image: str) -> str:
    """A template of ``image`` built by the engine, before the window opens: its ID."""
    with engine.http() as http:
        tid = http.post("/container-templates", json={"name": name, "image": image,
                                                      "registryType": "private"}).json()["templateId"]
    wait_status(engine, tid, {"ready"})
    return str(tid)


async def drift_box_of(window: MainWindow, services: AppServices, template_id: str) -> DriftBox:
    """The window online, drift checks on, the template selected: its details' base-image box."""
    await go_online(services)
    await wait_until(lambda: services.drift.store.enabled)
    window.templates_page.select(template_id)
    return window.templates_page.details.drift_box


async def test_a_moved_tag_is_shown_with_both_digests_and_create_again(
        engine: EngineProc, registry_open: Registry, memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    repo = f"x/window-drift-{uuid.uuid4().hex[:6]}"
    first = push_image(registry_open.url, repo, "1")
    tid = ready_template(engine, "drifting", first.ref)
    settings = ini_settings(tmp_path / "settings.ini")
    transport = CountingTransport()

    def factory(base_url: str, key: str | None) -> In10ntClient:
        return In10ntClient(base_url, key, transport=transport)

    async with open_session(settings, engine.data_dir, client_factory=factory) as services:
        window = MainWindow(services, settings)
        window.show()
        try:
            box = await drift_box_of(window, services, tid)
            assert box.isVisible()
            assert box.line.text() == "Base image: not checked yet (checked once a day)."  # built minutes ago

            box.check_button.click()  # "Check now"
            await wait_until(lambda: services.drift.store.get(tid) is not None)
            assert box.line.text().startswith("Base image: up to date (checked ")
            assert image_cell(window, tid) == first.ref

            second = await asyncio.to_thread(push_image, registry_open.url, repo, "1", labels={"rev": "2"})
            box.check_button.click()
            await wait_until(lambda: DRIFT_MARK in image_cell(window, tid))
            assert image_cell(window, tid) == f"{first.ref}  ⟳ {DRIFT_MARK}"
            assert box.headline.isVisible() and box.headline.text() == "Base image updated since build"
            assert (box.built.text(), box.current.text()) == (first.digest, second.digest)
            assert box.recreate_button.isVisible()

            # The registry can no longer say (the tag is gone): the row stays as it was.
            r = await asyncio.to_thread(httpx.delete, f"{registry_open.url}/v2/{repo}/manifests/{second.digest}",
                                        headers={"Accept": MANIFEST_ACCEPT})
            assert r.status_code == 202, r.text
            box.check_button.click()
            await wait_until(lambda: box.line.text().startswith("Could not check the tag: No tag 1 in"),
                             message=box.line.text())
            assert DRIFT_MARK in image_cell(window, tid)
            assert box.headline.isVisible()

            assert box.recreate_button.text() == "Rebuild no&w"  # (rebuilt in the next test)
        finally:
            for child in window.findChildren(QWidget):
                if child.isWindow() and child.isVisible():
                    child.close()
            window.close()
            window.deleteLater()
            await asyncio.sleep(0)

    # A restart: the mark is back at once, and the registry is not asked again within the day.
    transport.seen.clear()
    async with open_session(settings, engine.data_dir, client_factory=factory) as services:
        await go_online(services)
        await wait_until(lambda: services.drift.store.enabled)
        row = services.templates.store.get(tid)
        assert row is not None and services.drift.store.drifted(row) is not None
        services.drift.schedule()  # decides at once: nothing is due, so no check is started
        assert not services.connection.tasks.running("drift")
        assert not [path for _method, path in transport.seen if path.endswith("/drift")]

        services.drift.interval = timedelta(0)  # a day later
        services.drift.schedule()
        await wait_until(lambda: any(path.endswith(f"{tid}/drift") for _m, path in transport.seen))


async def test_rebuild_now_pins_the_moved_tag_in_place(fresh_engine_dir: Path, registry_open: Registry,
                                                      memory_keyring: MemoryKeyring, tmp_path: Path) -> None:
    # An engine of its own: on the shared one, builds other tests hold could keep this rebuild queued.
    engine = await asyncio.to_thread(start_engine, fresh_engine_dir)
    try:
        await _rebuild_now(engine, registry_open, tmp_path)
    finally:
        await asyncio.to_thread(engine.stop)


async def _rebuild_now(engine: EngineProc, registry_open: Registry, tmp_path: Path) -> None:
    repo = f"x/rebuild-drift-{uuid.uuid4().hex[:6]}"
    first = await asyncio.to_thread(push_image, registry_open.url, repo, "1", labels={"rev": "1"})
    tid = ready_template(engine, "rebuilt", first.ref)
    settings = ini_settings(tmp_path / "settings.ini")
    async with open_session(settings, engine.data_dir) as services:
        window = MainWindow(services, settings)
        window.show()
        try:
            box = await drift_box_of(window, services, tid)
            second = await asyncio.to_thread(push_image, registry_open.url, repo, "1", labels={"rev": "2"})
            box.check_button.click()
            await wait_until(lambda: box.recreate_button.isVisible(), 15, "the moved tag was never shown")
            box.recreate_button.click()  # "Rebuild now": the same template, built again from the moved tag
            await wait_until(lambda: (row := services.templates.store.get(tid)) is not None
                             and row.status == "ready" and row.data.digest == second.digest, 30,
                             "the rebuild never pinned the tag's new digest")
            assert [r.template_id for r in services.templates.store.rows if r.name == "rebuilt"] == [tid]
            assert services.templates.store.get(tid).data.build_count == 2
            await wait_until(lambda: not box.recreate_button.isVisible(), 10,
                             "the drift mark stayed after the rebuild pinned the new digest")
        finally:
            window.close()
            window.deleteLater()
            await asyncio.sleep(0)

"""Loading the template list against the real engine: pages, unchanged answers, events meanwhile,
the start-up cache, and what the window imports before its first paint.

What a user would notice, asserted through the store's and the model's signals: an unchanged
list repaints nothing; a deleted template leaves, the others stay put; the last session's rows
show at once, marked stale, until the server answers.
"""

from __future__ import annotations

import gc
import json
import os
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from gui_helpers import collect_qt_garbage  # noqa: F401 - autouse fixture
from stack.engine_proc import EngineProc, start_engine

from in10nt_desktop.api import APIError, In10ntClient
from in10nt_desktop.app.row_cache import CACHE_ROWS, RowCache
from in10nt_desktop.app.template_loader import NEXT_PAGE_SIZE, PAGE_SIZE, TemplateLoader
from in10nt_desktop.app.template_rows import TemplateRow, TemplateStore
from in10nt_desktop.engine.store import Store
from in10nt_desktop.ui.templates_model import TemplatesModel

COUNT = PAGE_SIZE + NEXT_PAGE_SIZE + 500  # three pages: a small first one, then bigger ones


def fill(db: Path, count: int) -> None:
    """``count`` ready templates, written straight into the engine's own store (no builds needed)."""
    store = Store(db)
    try:
        store._db.executemany(  # one transaction: inserting them one by one would take seconds
            "INSERT INTO templates (id, name, image, registry_type, status, created_at, updated_at, digest) "
            "VALUES (?, ?, 'busybox:1', 'dockerhub', 'ready', ?, ?, ?)",
            [(f"tmpl_{i:016x}", f"template {i:05d}", f"2026-01-01T{i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
              "2026-01-01T00:00:00.000Z", f"sha256:{i:064x}") for i in range(count)])
    finally:
        store.close()


@pytest.fixture(scope="module")
def listed_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProc]:
    data = tmp_path_factory.mktemp("load") / "engine"
    data.mkdir()
    fill(data / "engine.sqlite3", COUNT)
    proc = start_engine(data)
    yield proc
    proc.stop()


class Recorded:
    """What the store announced."""

    def __init__(self, store: TemplateStore) -> None:
        self.added: list[TemplateRow] = []
        self.changed: list[tuple[TemplateRow, TemplateRow]] = []
        self.removed: list[TemplateRow] = []
        store.added.connect(self.added.extend)
        store.changed.connect(self.changed.extend)
        store.removed.connect(self.removed.extend)

    def clear(self) -> None:
        self.added.clear()
        self.changed.clear()
        self.removed.clear()


@pytest_asyncio.fixture
async def client(listed_engine: EngineProc) -> AsyncIterator[In10ntClient]:
    async with listed_engine.client() as c:
        yield c


def loader_for(store: TemplateStore, client: In10ntClient) -> TemplateLoader:
    async def call(fn: Any) -> Any:
        return await fn(client)

    return TemplateLoader(store, call)


@pytest.mark.asyncio
async def test_pages_fill_the_store_newest_first_and_an_unchanged_list_repaints_nothing(
        client: In10ntClient, listed_engine: EngineProc) -> None:
    store = TemplateStore()
    model = TemplatesModel(store)
    loader = loader_for(store, client)
    pages: list[int] = []
    seen_first: list[str] = []

    def on_page(number: int) -> None:
        pages.append(number)
        if number == 0:  # the first screenful: the newest templates, already in the table
            seen_first.extend(model.row_at(r).name for r in range(3))

    gone = await loader.load(lambda _t: None, on_page)
    assert gone == set() and pages == [0, 1, 2] and len(store) == COUNT and store.loaded
    assert seen_first == [f"template {i:05d}" for i in (COUNT - 1, COUNT - 2, COUNT - 3)]
    assert model.rowCount() == COUNT

    recorded = Recorded(store)
    await loader.load(lambda _t: None)  # every page a 304: nothing parsed, nothing announced
    assert (recorded.added, recorded.changed, recorded.removed) == ([], [], [])

    with listed_engine.http() as http:
        assert http.delete(f"/container-templates/tmpl_{7:016x}").status_code == 204
    gone = await loader.load(lambda _t: None)
    assert gone == {f"tmpl_{7:016x}"}
    assert [r.template_id for r in recorded.removed] == [f"tmpl_{7:016x}"]
    assert recorded.added == [] and recorded.changed == []  # the other 2,499 rows are the same objects
    assert model.rowCount() == COUNT - 1


@pytest.mark.asyncio
async def test_what_an_event_said_during_a_load_is_kept(client: In10ntClient) -> None:
    """Events about rows of a page still to come win over that page (the event is as new or newer)."""
    store = TemplateStore()
    model = TemplatesModel(store)  # gathers the pages' rows while the load runs
    loader = loader_for(store, client)
    changed_id, deleted_id = f"tmpl_{1:016x}", f"tmpl_{0:016x}"  # the oldest: on the last page

    def during(number: int) -> None:
        if number == 0:
            assert changed_id not in store.by_id  # not loaded yet
            loader.note_event(changed_id)
            store.upsert([TemplateRow.from_json({"templateId": changed_id, "name": "template 00001",
                                                 "status": "failed", "error": "said by an event"})])
            loader.note_event(deleted_id)
            store.remove(deleted_id)

    await loader.load(lambda _t: None, during)
    assert store.by_id[changed_id].error == "said by an event"
    assert deleted_id not in store.by_id
    assert model.rowCount() == len(store) == len(set(map(model.row_at, range(model.rowCount()))))  # each once
    assert model.row_at(model.position(changed_id) or 0).error == "said by an event"
    loader.forget()  # a load told of no event: the server's rows again
    await loader.load(lambda _t: None)
    assert store.by_id[changed_id].status == "ready" and deleted_id in store.by_id


@pytest.mark.asyncio
async def test_a_page_failing_midway_leaves_the_pages_that_arrived_in_the_table(client: In10ntClient) -> None:
    store = TemplateStore()
    model = TemplatesModel(store)
    asked = 0

    async def call(fn: Any) -> Any:
        nonlocal asked
        asked += 1
        if asked == 3:
            raise APIError("the server went away during the third page")
        return await fn(client)

    with pytest.raises(APIError):
        await TemplateLoader(store, call).load(lambda _t: None)
    assert not store.loading and not store.loaded and gc.isenabled()  # the collector paused by the load runs again
    assert model.rowCount() == len(store) == PAGE_SIZE + NEXT_PAGE_SIZE  # nothing left gathered
    await loader_for(store, client).load(lambda _t: None)  # asked again: the rest arrives
    assert model.rowCount() == len(store) > PAGE_SIZE + NEXT_PAGE_SIZE and store.loaded


@pytest.mark.asyncio
async def test_the_last_sessions_rows_are_stale_until_the_answer_and_gone_if_the_server_lacks_them(
        client: In10ntClient, tmp_path: Path) -> None:
    cache = RowCache.for_connection("local test", tmp_path)
    ghost = TemplateRow.from_json({"templateId": "tmpl_ghost", "name": "deleted while the app was closed",
                                   "createdAt": "2030-01-01T00:00:00.000Z", "status": "ready"})
    kept = TemplateRow.from_json({"templateId": f"tmpl_{(COUNT - 3):016x}", "name": "renamed? no: cached",
                                  "status": "building", "createdAt": "2026-01-01T00:00:00.000Z"})
    cache.save([ghost, kept])

    store = TemplateStore()
    cached = cache.load()
    assert [r.template_id for r in cached] == ["tmpl_ghost", kept.template_id] and all(r.stale for r in cached)
    store.replace_all(cached, loaded=False, stale=True)
    assert store.stale and not store.loaded
    await loader_for(store, client).load(lambda _t: None)
    assert "tmpl_ghost" not in store.by_id
    assert store.by_id[kept.template_id].status == "ready" and not store.by_id[kept.template_id].stale
    assert not store.stale and store.loaded


def test_the_cache_keeps_rows_only_readable_by_the_user_and_bounded(tmp_path: Path) -> None:
    cache = RowCache.for_connection("profile https://api.example", tmp_path)
    rows = [TemplateRow.from_json({"templateId": f"t{i}", "name": f"n{i}", "image": "busybox:1",
                                   "registryAuth": {"username": "u", "password": "hunter2"}, "futureField": i})
            for i in range(CACHE_ROWS + 50)]
    cache.save(rows)
    text = cache.path.read_text()
    assert "hunter2" not in text and "registryAuth" not in text
    assert stat.S_IMODE(os.stat(cache.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache.path.parent).st_mode) == 0o700
    loaded = cache.load()
    assert len(loaded) == CACHE_ROWS and loaded[3].extra == {"futureField": 3}
    cache.path.write_text("{not json")
    assert cache.load() == []  # a damaged cache is no cache, never an error
    cache.path.write_text(json.dumps({"version": 99, "rows": []}))
    assert cache.load() == []
    assert RowCache.for_connection("another profile", tmp_path).load() == []


def test_the_window_paints_before_httpx_and_pydantic_are_imported(listed_engine: EngineProc, tmp_path: Path) -> None:
    """The real app, ``--self-test`` against the real engine, with ``-X importtime``: nothing of the SDK's
    dependencies, asyncio or the services is imported before the first paint, and the whole list is
    loaded after it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
    env.update(IN10NT_DATA_DIR=str(listed_engine.data_dir), IN10NT_MARK_PAINT="1", QT_QPA_PLATFORM="offscreen",
               HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-X", "importtime", "-m", "in10nt_desktop", "--self-test"], env=env,
                           capture_output=True, text=True, timeout=120) for _ in range(2)]
    for number, run in enumerate(runs):
        assert run.returncode == 0, run.stderr[-2000:]
        before, marker, after = run.stderr.partition("-- first paint --")
        assert marker, "no first paint"
        modules = {line.rsplit("|", 1)[-1].strip() for line in before.splitlines() if line.startswith("import time:")}
        early = {name.split(".")[0] for name in modules}
        assert not early & {"httpx", "httpcore", "anyio", "pydantic", "pydantic_core", "httpx_sse", "asyncio",
                            "qasync"}, early
        # The first frame (ui/first_frame.py) is painted before the services and the live widgets load,
        # and a plain start after a session opens the cache it remembered, without the profiles.
        assert "in10nt_desktop.ui.first_frame" in modules
        assert not modules & {"in10nt_desktop.app.app_services", "in10nt_desktop.app.connection",
                              "in10nt_desktop.ui.templates_page", "in10nt_desktop.ui.actions"}, modules
        if number:
            assert "in10nt_desktop.app.profiles" not in modules
        assert "httpx" in after
        assert f"{COUNT - 1} templates" in run.stdout or f"{COUNT} templates" in run.stdout
    assert list((tmp_path / "cache").rglob("*.json")), "the second start had no cache to show"

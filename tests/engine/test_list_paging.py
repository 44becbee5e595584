"""``GET /container-templates`` paging (``?limit=&after=&order=``, ours) and its ETag / 304.

The store is filled through the engine's own ``Store`` before the engine starts (no registry is
needed for rows that already exist); many rows share a creation millisecond, so the cursor's
tie-break on the ID is exercised too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from stack.engine_proc import EngineProc, start_engine, wait_status

from in10nt_desktop.engine.store import Store

COUNT = 25


@pytest.fixture(scope="module")
def paged_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EngineProc]:
    data = tmp_path_factory.mktemp("paging") / "engine"
    data.mkdir()
    fill(data / "engine.sqlite3", COUNT)
    proc = start_engine(data)
    yield proc
    proc.stop()


def fill(db: Path, count: int) -> None:
    store = Store(db)
    try:
        for i in range(count):
            t = store.insert_template(name=f"t{i:02d}", description=None, image="busybox:1", registry_type="dockerhub",
                                      needs_credentials=False, idempotency_key=None)
            store.update_template(t["templateId"], status="ready")
    finally:
        store.close()


def walk(http: httpx.Client, first: str) -> tuple[list[str], int]:
    """Follow ``Link: rel=next`` from ``first``; returns the IDs in order and the number of pages."""
    ids: list[str] = []
    url: str | None = first
    pages = 0
    while url is not None:
        r = http.get(url)
        assert r.status_code == 200, r.text
        ids += [t["templateId"] for t in r.json()]
        pages += 1
        link = r.links.get("next")
        url = urlsplit(link["url"])._replace(scheme="", netloc="").geturl() if link else None
        assert pages <= COUNT + 1, "the pages never end"
    return ids, pages


def test_pages_give_every_template_once_in_both_orders(paged_engine: EngineProc) -> None:
    with paged_engine.http() as http:
        everything = [t["templateId"] for t in http.get("/container-templates").json()]
        assert len(everything) == COUNT
        ascending, pages = walk(http, "/container-templates?limit=7")
        assert ascending == everything and pages == 4  # 7 + 7 + 7 + 4, no empty page at the end
        descending, _ = walk(http, "/container-templates?limit=7&order=desc")
        assert descending == list(reversed(everything))
        one_page = http.get("/container-templates?limit=100")
        assert [t["templateId"] for t in one_page.json()] == everything and "next" not in one_page.links


def test_a_change_between_pages_shifts_nothing(paged_engine: EngineProc) -> None:
    """Keyset pages: a delete or create while paging neither skips nor repeats the other rows."""
    with paged_engine.http() as http:
        first = http.get("/container-templates?limit=5&order=desc")
        seen = [t["templateId"] for t in first.json()]
        doomed = seen[0]
        assert http.delete(f"/container-templates/{doomed}").status_code == 204
        rest, _ = walk(http, urlsplit(first.links["next"]["url"])._replace(scheme="", netloc="").geturl())
        now = [t["templateId"] for t in http.get("/container-templates").json()]
        assert sorted(seen[1:] + rest) == sorted(now)
        assert len(set(seen + rest)) == len(seen + rest)


def test_etag_answers_304_until_any_template_changes(paged_engine: EngineProc) -> None:
    with paged_engine.http() as http:
        full = http.get("/container-templates")
        etag = full.headers["ETag"]
        again = http.get("/container-templates", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
        page = http.get("/container-templates?limit=3", headers={"If-None-Match": etag})
        assert page.status_code == 304  # the tag is the list's version: every page shares it
        assert http.get("/container-templates", headers={"If-None-Match": 'W/"other", ' + etag}).status_code == 304
        victim = full.json()[-1]["templateId"]
        assert http.delete(f"/container-templates/{victim}").status_code == 204
        changed = http.get("/container-templates", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag
        assert victim not in {t["templateId"] for t in changed.json()}
        # The API's own document says so: a client generated from it knows the 304 and the headers.
        listing = http.get("/openapi.json").json()["paths"]["/container-templates"]["get"]["responses"]
        assert "If-None-Match" in listing["304"]["description"] and "ETag" in listing["304"]["headers"]
        assert {"ETag", "Link"} <= set(listing["200"]["headers"])


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=5001", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"),
    ("limit=5&after=nonsense", "after"), ("limit=5&order=sideways", "order"),
])
def test_bad_paging_parameters_get_a_sentence_naming_them(paged_engine: EngineProc, query: str, field: str) -> None:
    with paged_engine.http() as http:
        r = http.get(f"/container-templates?{query}")
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["field"] == field and field in error["message"]


def test_pages_show_each_row_as_it_is_now(paged_engine: EngineProc) -> None:
    """Pages keep each row's JSON between requests; a write to the row must show on the next page."""
    with paged_engine.http() as http:
        walk(http, "/container-templates?limit=4&order=desc")  # every row encoded once and kept
        tid = http.post("/container-templates", json={"name": "fresh", "image": "127.0.0.1:9/x/busybox:1",
                                                      "registryType": "private"}).json()["templateId"]
        first = http.get("/container-templates?limit=4&order=desc").json()[0]
        assert first["templateId"] == tid
        wait_status(paged_engine, tid, {"failed"}, timeout=30)
        first = http.get("/container-templates?limit=4&order=desc").json()[0]
        assert (first["templateId"], first["status"]) == (tid, "failed") and first["error"]
        everything = [t["templateId"] for t in http.get("/container-templates").json()]
        assert walk(http, "/container-templates?limit=4")[0] == everything

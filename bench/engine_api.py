"""Benchmark the engine's HTTP API on a 10,000-template store.

Run by hand: ``python bench/engine_api.py``. Starts its own engine (``--no-pull``, fresh temp
data dir), stops it at the end. The store is filled *before* the engine starts, straight
through ``Store.insert_template`` + ``update_template(status="ready")``, so no build runs.

Targets (median over one persistent HTTP/1.1 keep-alive client):
  GET  /container-templates (10,000 rows)  <= 50 ms
  POST /container-templates                <= 10 ms
Baseline for the ratios: GET /healthz median in the same run (the engine's per-request floor).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time

import _common  # noqa: F401  (sets sys.path)
import httpx
from _common import Stats, Verdicts, header, ms, ratio_line, start_engine, temp_root, timed, wait_idle

from in10nt_desktop.engine.store import Store

ROWS = 10_000
LIST_RUNS = 30
POST_RUNS = 200
HEALTH_RUNS = 200
LIST_TARGET = 0.050
POST_TARGET = 0.010
# A private image on a closed loopback port: its build fails "unreachable" at once, harmlessly.
DEAD_IMAGE = "127.0.0.1:9/x/y:1"


def fill_store(path: object, rows: int) -> float:
    start = time.perf_counter()
    store = Store(path)  # type: ignore[arg-type]
    try:
        for i in range(rows):
            t = store.insert_template(name=f"bench template {i:05d}", description=f"benchmark row {i}",
                                      image=f"127.0.0.1:5000/bench/image-{i % 97}:{i % 13}",
                                      registry_type="private", needs_credentials=False, idempotency_key=None)
            digest = "sha256:" + hashlib.sha256(str(i).encode()).hexdigest()
            store.update_template(t["templateId"], status="ready", digest=digest, size_bytes=1_000_000 + i,
                                  platform="linux/amd64", layers=1 + i % 5)
    finally:
        store.close()
    return time.perf_counter() - start


def in_process_breakdown(path: object) -> None:
    """Where a list request's time goes, measured in this process on the same database file."""
    store = Store(path)  # type: ignore[arg-type]
    try:
        q = timed(store.list_templates, 10, warmup=2, name="in-process Store.list_templates()")
        rows = store.list_templates()
        d = timed(lambda: json.dumps(rows, separators=(",", ":")).encode(), 10, warmup=2,
                  name="in-process json.dumps(10k rows)")
        body = json.dumps(rows, separators=(",", ":")).encode()
    finally:
        store.close()
    print(q.line())
    print(d.line())
    print(f"  response body size: {len(body) / 1e6:.2f} MB")


def main() -> int:
    verdicts = Verdicts()
    with temp_root("bench-api-") as root:
        data_dir = root / "engine"
        data_dir.mkdir()
        db = data_dir / "engine.sqlite3"
        header(f"filling the store with {ROWS} ready templates (before the engine starts)")
        took = fill_store(db, ROWS)
        print(f"  {ROWS} rows inserted+updated in {took:.2f} s ({ROWS / took:,.0f} rows/s)")

        engine = None
        try:
            t0 = time.perf_counter()
            engine = start_engine(data_dir, "--no-pull")
            print(f"  engine up at {engine.url} in {time.perf_counter() - t0:.2f} s "
                  f"(process start to engine.json, {ROWS}-row store)")
            with httpx.Client(base_url=engine.url, headers=engine.headers, timeout=30) as client:
                # Baseline: the engine's floor per request (routing, auth middleware, JSON answer).
                health = timed(lambda: client.get("/healthz").raise_for_status(), HEALTH_RUNS, warmup=20,
                               name="GET /healthz (baseline)")

                last: list[httpx.Response] = []

                def list_once() -> None:
                    r = client.get("/container-templates")
                    r.raise_for_status()
                    last.append(r)

                listing = timed(list_once, LIST_RUNS, warmup=3, name=f"GET /container-templates ({ROWS} rows)")
                counts = {len(r.json()) for r in last}
                body_mb = len(last[-1].content) / 1e6
                last.clear()

                body = {"name": "bench post", "image": DEAD_IMAGE, "registryType": "private"}
                created: list[str] = []

                def post_once() -> None:
                    r = client.post("/container-templates", json=body)
                    if r.status_code != 201:
                        raise RuntimeError(f"POST answered {r.status_code}: {r.text[:300]}")
                    created.append(r.json()["templateId"])

                for _ in range(5):  # warm-up (also creates rows; they are not counted)
                    post_once()
                    wait_idle(client)
                posting = timed(post_once, POST_RUNS, name="POST /container-templates")

                # The POSTed builds must end "failed" (unreachable), not hang.
                active = wait_idle(client)
                sample = client.get(f"/container-templates/{created[-1]}").json()

            header("results")
            print(health.line())
            print(listing.line())
            print(posting.line())
            print(f"  list rows returned: {sorted(counts)} (body {body_mb:.2f} MB)")
            print(f"  list throughput: {ROWS / listing.median:,.0f} rows/s at the median "
                  f"({ROWS / listing.p95:,.0f} rows/s at p95)")
            print(f"  after POSTs: activeBuilds={active}; last POSTed template status={sample['status']!r}, "
                  f"error={sample.get('error')!r}")
            header("ratios against GET /healthz median (same run)")
            print(ratio_line("GET /container-templates median / healthz", listing.median, health.median))
            print(ratio_line("POST /container-templates median / healthz", posting.median, health.median))
            print(ratio_line("POST /container-templates p95 / healthz", posting.p95, health.median))
            header("in-process breakdown of a list (same DB file, informational)")
            in_process_breakdown(db)

            ok_rows = counts == {ROWS}
            verdicts.check("GET /container-templates returns 10,000 rows", ok_rows, f"row counts seen: {sorted(counts)}")
            verdicts.check(f"GET /container-templates median <= {LIST_TARGET * 1000:.0f} ms",
                           listing.median <= LIST_TARGET,
                           f"median {ms(listing.median).strip()}, p95 {ms(listing.p95).strip()}, "
                           f"{listing.median / health.median:.1f}x healthz")
            verdicts.check(f"POST /container-templates median <= {POST_TARGET * 1000:.0f} ms",
                           posting.median <= POST_TARGET,
                           f"median {ms(posting.median).strip()}, p95 {ms(posting.p95).strip()}, "
                           f"{posting.median / health.median:.1f}x healthz")
            verdicts.check("POSTed builds fail harmlessly", active == 0 and sample["status"] == "failed",
                           f"activeBuilds={active}, status={sample['status']}")
        except Exception as exc:
            verdicts.fail("benchmark ran", f"{type(exc).__name__}: {exc}")
            if engine is not None:
                print("engine log tail:\n" + engine.log_tail(), file=sys.stderr)
        finally:
            if engine is not None:
                engine.stop()
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

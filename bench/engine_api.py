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
import sys
import time
from dataclasses import dataclass

import _common  # noqa: F401  (sets sys.path)
import httpx
from _common import Engine, Stats, Verdicts, header, ms, ratio_line, start_engine, temp_root, timed, wait_idle

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


@dataclass
class Run:
    health: Stats
    listing: Stats
    posting: Stats
    counts: set[int]
    body_mb: float
    active: int
    sample: dict


def measure(engine: Engine, health_runs: int, list_runs: int, post_runs: int) -> Run:
    with httpx.Client(base_url=engine.url, headers=engine.headers, timeout=30) as client:
        # Baseline: the engine's floor per request (routing, auth middleware, JSON answer).
        health = timed(lambda: client.get("/healthz").raise_for_status(), health_runs, warmup=20,
                       name="GET /healthz (baseline)")
        last: list[httpx.Response] = []

        def list_once() -> None:
            r = client.get("/container-templates")
            r.raise_for_status()
            last.append(r)

        # Timed: request out to the whole body in (not the client's JSON parsing).
        listing = timed(list_once, list_runs, warmup=3, name=f"GET /container-templates ({ROWS} rows)")
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

        for _ in range(5):  # warm-up (also creates rows, after the list runs)
            post_once()
            wait_idle(client)
        posting = timed(post_once, post_runs, name="POST /container-templates")
        # The POSTed builds must end "failed" (unreachable), not hang.
        active = wait_idle(client)
        sample = client.get(f"/container-templates/{created[-1]}").json()
    return Run(health, listing, posting, counts, body_mb, active, sample)


def print_run(run: Run) -> None:
    print(run.health.line())
    print(run.listing.line())
    print(run.posting.line())
    print(f"  list rows returned: {sorted(run.counts)} (body {run.body_mb:.2f} MB)")
    print(f"  list throughput: {ROWS / run.listing.median:,.0f} rows/s at the median "
          f"({ROWS / run.listing.p95:,.0f} rows/s at p95)")
    print(f"  after POSTs: activeBuilds={run.active}; last POSTed template status={run.sample['status']!r}, "
          f"error={run.sample.get('error')!r}")
    print("  ratios against GET /healthz median (same run):")
    print(ratio_line("  GET /container-templates median / healthz", run.listing.median, run.health.median))
    print(ratio_line("  POST /container-templates median / healthz", run.posting.median, run.health.median))
    print(ratio_line("  POST /container-templates p95 / healthz", run.posting.p95, run.health.median))


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
            run = measure(engine, HEALTH_RUNS, LIST_RUNS, POST_RUNS)
            engine.stop()
            engine = None

            header("results: the engine as shipped (`in10nt engine serve --no-pull`)")
            print_run(run)
            verdicts.check("GET /container-templates returns 10,000 rows", run.counts == {ROWS},
                           f"row counts seen: {sorted(run.counts)}")
            verdicts.check(f"GET /container-templates median <= {LIST_TARGET * 1000:.0f} ms",
                           run.listing.median <= LIST_TARGET,
                           f"median {ms(run.listing.median).strip()}, p95 {ms(run.listing.p95).strip()}, "
                           f"{run.listing.median / run.health.median:.2f}x healthz")
            verdicts.check(f"POST /container-templates median <= {POST_TARGET * 1000:.0f} ms",
                           run.posting.median <= POST_TARGET,
                           f"median {ms(run.posting.median).strip()}, p95 {ms(run.posting.p95).strip()}, "
                           f"{run.posting.median / run.health.median:.2f}x healthz")
            verdicts.check("POSTed builds fail harmlessly", run.active == 0 and run.sample["status"] == "failed",
                           f"activeBuilds={run.active}, status={run.sample['status']}")
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

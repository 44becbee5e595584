"""Benchmark the engine's resolver against ``skopeo inspect`` on a loopback registry.

Run by hand: ``python bench/resolve.py``. Starts an open ``docker-registry`` on loopback
(tests/stack/registry.py), pushes the busybox test image (tests/stack/images.py), then:

* ours (fresh client): ``resolver.resolve`` in this process with a new ``httpx.AsyncClient``
  per run (client construction + TCP connect + requests + close are all timed, to count the
  connection set-up that each skopeo process pays too);
* ours (reused client): the same with one client kept across runs (what the engine does);
* skopeo: ``skopeo inspect --tls-verify=false docker://127.0.0.1:PORT/x/busybox:1`` as a
  subprocess; its time includes process start, so ``skopeo --version`` is measured as the
  process-start floor and skopeo-minus-floor is printed as well.

Target: median(ours, fresh client) / median(skopeo inspect) <= 1.0.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import time

import _common  # noqa: F401  (sets sys.path)
import certifi
import httpx
from _common import Stats, Verdicts, header, ms, ratio_line, temp_root, timed
from stack.images import push_image
from stack.registry import clean_env, start_registry

from in10nt_desktop.api.validation import parse_image
from in10nt_desktop.engine.resolver import resolve

RUNS = 20
WARMUP = 3
TARGET = 1.0


def client(verify: bool | ssl.SSLContext = True) -> httpx.AsyncClient:
    # The engine's own client settings (app.py), minus the User-Agent.
    return httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0), verify=verify)


async def measure_ours(image: str) -> tuple[Stats, Stats, Stats, Stats, str]:
    ref = parse_image(image)

    async def fresh() -> str:
        async with client() as c:
            return (await resolve(c, ref, None, mirrors={})).digest

    async def timed_async(fn, runs: int, warmup: int, name: str) -> Stats:  # type: ignore[no-untyped-def]
        for _ in range(warmup):
            await fn()
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            await fn()
            samples.append(time.perf_counter() - start)
        return Stats(name, samples)

    fresh_stats = await timed_async(fresh, RUNS, WARMUP, "ours, fresh AsyncClient per run")
    digest = await fresh()

    async def construct_only() -> None:
        async with client():
            pass

    construct = await timed_async(construct_only, RUNS, WARMUP, "  of which: AsyncClient() + aclose() only")
    # Informational: a fresh client per run that shares one SSL context built once (httpx builds
    # a new context, loading the whole CA bundle, in every AsyncClient() otherwise).
    context = ssl.create_default_context(cafile=certifi.where())

    async def fresh_shared_ssl() -> str:
        async with client(context) as c:
            return (await resolve(c, ref, None, mirrors={})).digest

    shared_ssl = await timed_async(fresh_shared_ssl, RUNS, WARMUP, "ours, fresh client, SSL context reused")
    async with client() as shared:
        async def reused() -> str:
            return (await resolve(shared, ref, None, mirrors={})).digest

        reused_stats = await timed_async(reused, RUNS, WARMUP, "ours, reused AsyncClient (the engine)")
    return fresh_stats, construct, shared_ssl, reused_stats, digest


def run_checked(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=clean_env())
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[:500]}")
    return r.stdout


def main() -> int:
    verdicts = Verdicts()
    with temp_root("bench-resolve-") as root:
        registry = None
        try:
            registry = start_registry(root / "registry", "open")
            pushed = push_image(registry.url, "x/busybox", "1")
            image = pushed.ref
            print(f"registry {registry.url}; pushed {image} -> {pushed.digest} "
                  f"({pushed.size_bytes} bytes, {pushed.layers} layer)")

            fresh, construct, shared_ssl, reused, digest = asyncio.run(measure_ours(image))
            skopeo_cmd = ["skopeo", "inspect", "--tls-verify=false", f"docker://{image}"]
            inspected = json.loads(run_checked(skopeo_cmd))
            skopeo = timed(lambda: run_checked(skopeo_cmd), RUNS, warmup=WARMUP,
                           name="skopeo inspect (subprocess)")
            no_tags_cmd = ["skopeo", "inspect", "--no-tags", "--tls-verify=false", f"docker://{image}"]
            skopeo_no_tags = timed(lambda: run_checked(no_tags_cmd), RUNS, warmup=WARMUP,
                                   name="skopeo inspect --no-tags (subprocess)")
            floor = timed(lambda: run_checked(["skopeo", "--version"]), RUNS, warmup=WARMUP,
                          name="skopeo --version (process-start floor)")

            header(f"results ({RUNS} runs each after {WARMUP} warm-up runs; medians)")
            for stats in (fresh, construct, shared_ssl, reused, skopeo, skopeo_no_tags, floor):
                print(stats.line())
            print(f"  digests agree: ours {digest[:19]}..., skopeo {str(inspected.get('Digest'))[:19]}..."
                  f" -> {digest == inspected.get('Digest')}")
            print("  note: skopeo's figures include starting a Go process (see the --version floor); "
                  "ours run in an already-started Python process. skopeo inspect also lists the "
                  "repository's tags (one more request) unless --no-tags.")

            header("ratios (ours / skopeo)")
            print(ratio_line("fresh client / skopeo inspect", fresh.median, skopeo.median))
            print(ratio_line("fresh client, SSL ctx reused / skopeo inspect", shared_ssl.median, skopeo.median))
            print(ratio_line("reused client / skopeo inspect  [TARGET]", reused.median, skopeo.median))
            net = skopeo.median - floor.median
            net_no_tags = skopeo_no_tags.median - floor.median
            print(f"  skopeo inspect minus --version floor:          {ms(net)}")
            print(f"  skopeo inspect --no-tags minus floor:          {ms(net_no_tags)}")
            if net > 0:
                print(ratio_line("fresh client / (skopeo - floor)", fresh.median, net))
                print(ratio_line("reused client / (skopeo - floor)", reused.median, net))
            if net_no_tags > 0:
                print(ratio_line("fresh client / (skopeo --no-tags - floor)", fresh.median, net_no_tags))

            verdicts.check("resolver digest == skopeo digest", digest == inspected.get("Digest"),
                           f"{digest} vs {inspected.get('Digest')}")
            # The engine resolves with its one long-lived client, so that is the figure users get;
            # it must also beat skopeo with skopeo's process start taken out, to be a fair win.
            ratio = reused.median / skopeo.median
            verdicts.check(f"median(engine resolver) / median(skopeo inspect) <= {TARGET:.1f}",
                           ratio <= TARGET,
                           f"{ratio:.2f}x ({ms(reused.median).strip()} vs {ms(skopeo.median).strip()})")
            verdicts.check(f"median(engine resolver) / (skopeo inspect - process floor) <= {TARGET:.1f}",
                           net > 0 and reused.median / net <= TARGET,
                           f"{reused.median / net:.2f}x ({ms(reused.median).strip()} vs {ms(net).strip()}; "
                           f"a fresh client per resolve costs {ms(fresh.median).strip()})" if net > 0 else
                           "skopeo was faster than its own --version floor")
        except Exception as exc:
            verdicts.fail("benchmark ran", f"{type(exc).__name__}: {exc}")
            if registry is not None:
                print("registry log tail:\n" + registry.log_tail(), file=sys.stderr)
        finally:
            if registry is not None:
                registry.stop()
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

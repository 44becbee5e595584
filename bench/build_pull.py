"""Benchmark a template build with a pull (engine -> Podman's Docker API) against a bare ``podman pull``.

Run by hand: ``python bench/build_pull.py``. Starts on loopback: an open ``docker-registry``
(tests/stack/registry.py), a ``podman system service`` with private storage
(tests/stack/podman.py), and two engines (subprocesses):

* engine A: ``--docker-host <podman>`` (resolves, then pulls through Podman's Docker API);
* engine B: ``--no-pull`` (resolves only).

Images pushed: ``x/big:1`` = busybox layer + a layer of ~40 MB of random (incompressible) bytes,
and ``x/busybox:1`` (the busybox layer alone). Per round, after ``podman rmi -af``:

  (a) ``podman pull --tls-verify=false 127.0.0.1:PORT/x/big@sha256:...`` (the CLI, same storage);
  (b) engine A: ``POST /container-templates`` (registryType private), then ``GET .../status``
      every 50 ms until ``ready``; timed from the POST to the first ``ready`` seen.

Target: median(b) / median(a) <= 1.10. Also printed: B's create->ready (resolve only) and the
busybox-only figures, plus each build's engine-internal time (the template's updatedAt - createdAt).
"""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime

import _common  # noqa: F401  (sets sys.path)
import httpx
from _common import Engine, Stats, Verdicts, header, ms, ratio_line, start_engine, temp_root, timed
from stack.images import (
    OCI_CONFIG,
    OCI_LAYER,
    OCI_MANIFEST,
    _Pusher,
    busybox_layer,
    canonical_json,
    push_image,
    random_layer,
    sha256,
)
from stack.podman import Podman, start_podman
from stack.registry import start_registry

ROUNDS = 5
RANDOM_MB = 40
POLL = 0.05
BUILD_TIMEOUT = 120.0
TARGET = 1.10


# -- the big image -----------------------------------------------------------------------------
@dataclass(frozen=True)
class BigImage:
    ref: str
    pinned: str
    digest: str
    size_bytes: int


def push_big_image(registry_url: str, host: str, repo: str, tag: str) -> BigImage:
    """Two-layer OCI image (busybox + random bytes); tests/stack/images.py pushes one layer only."""
    layers = [busybox_layer(), random_layer(RANDOM_MB * 1024 * 1024, "opt/bench/random.bin")]
    config = canonical_json({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Labels": {"org.in10nt.bench.image": f"{repo}:{tag}"}},
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "in10nt bench"}] * len(layers),
    })
    manifest = canonical_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER, "digest": layer.digest, "size": len(layer.blob)} for layer in layers],
    })
    pusher = _Pusher(registry_url, repo, None, "auto", True)
    try:
        for layer in layers:
            pusher.blob(layer.blob, layer.digest)
        pusher.blob(config, sha256(config))
        digest = pusher.manifest(tag, manifest, OCI_MANIFEST)
    finally:
        pusher.client.close()
    return BigImage(f"{host}/{repo}:{tag}", f"{host}/{repo}@{digest}", digest,
                    sum(len(layer.blob) for layer in layers))


# -- the measured steps ----------------------------------------------------------------------------
def clear_images(pod: Podman) -> None:
    pod.cli("rmi", "-af", timeout=60, check=False)
    left = pod.cli("images", "-q").stdout.split()
    if left:
        raise RuntimeError(f"podman still has images after rmi -af: {left}")


def podman_pull(pod: Podman, pinned: str) -> float:
    clear_images(pod)
    start = time.perf_counter()
    pod.cli("pull", "--tls-verify=false", pinned, timeout=BUILD_TIMEOUT)
    took = time.perf_counter() - start
    if pod.cli("image", "exists", pinned, check=False).returncode != 0:
        raise RuntimeError(f"podman pull left no image {pinned}")
    return took


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def engine_build(client: httpx.Client, image: str, pod: Podman | None, pinned: str | None) -> tuple[float, float]:
    """POST a template, poll its status every 50 ms.

    Returns (POST->ready seen by the client, the engine's own createdAt->updatedAt of the
    ready template: its time from insert to the ``ready`` write, without the HTTP round trips
    or the polling).
    """
    if pod is not None:
        clear_images(pod)
    body = {"name": "bench build", "image": image, "registryType": "private"}
    start = time.perf_counter()
    r = client.post("/container-templates", json=body)
    if r.status_code != 201:
        raise RuntimeError(f"POST answered {r.status_code}: {r.text[:300]}")
    tid = r.json()["templateId"]
    created_at = r.json()["createdAt"]
    deadline = start + BUILD_TIMEOUT
    while True:
        status = client.get(f"/container-templates/{tid}/status").json()
        if status["status"] == "ready":
            took = time.perf_counter() - start
            break
        if status["status"] == "failed":
            raise RuntimeError(f"build failed: {status.get('error')}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"build not ready in {BUILD_TIMEOUT}s")
        time.sleep(POLL)
    own = (_ts(status["updatedAt"]) - _ts(created_at)).total_seconds()
    if pod is not None and pinned is not None and pod.cli("image", "exists", pinned, check=False).returncode != 0:
        raise RuntimeError(f"engine build is ready but podman has no {pinned}")
    return took, own


def engine_client(engine: Engine) -> httpx.Client:
    return httpx.Client(base_url=engine.url, headers=engine.headers, timeout=60)


def main() -> int:
    verdicts = Verdicts()
    registry = pod = None
    engines: list[Engine] = []
    with temp_root("bench-pull-") as root:
        try:
            registry = start_registry(root / "registry", "open")
            pod = start_podman(root / "podman", [registry.host])
            t0 = time.perf_counter()
            big = push_big_image(registry.url, registry.host, "x/big", "1")
            small = push_image(registry.url, "x/busybox", "1")
            print(f"registry {registry.url}, podman {pod.docker_host}")
            print(f"pushed {big.ref} -> {big.digest[:19]}... ({big.size_bytes / 1e6:.1f} MB in 2 layers) and "
                  f"{small.ref} ({small.size_bytes / 1e6:.2f} MB, 1 layer) in {time.perf_counter() - t0:.1f} s")
            pull_engine = start_engine(root / "engine-pull", "--docker-host", pod.docker_host)
            engines.append(pull_engine)
            resolve_engine = start_engine(root / "engine-nopull", "--no-pull")
            engines.append(resolve_engine)

            a_samples: list[float] = []
            b_samples: list[float] = []
            b_own: list[float] = []
            with engine_client(pull_engine) as ca, engine_client(resolve_engine) as cb:
                # warm-up: one of each, untimed (first pulls also fill the page cache of the registry's files)
                podman_pull(pod, big.pinned)
                engine_build(ca, big.ref, pod, big.pinned)
                for i in range(ROUNDS):
                    # alternate the order so neither side always runs right after the other
                    steps = ("a", "b") if i % 2 == 0 else ("b", "a")
                    for step in steps:
                        if step == "a":
                            a_samples.append(podman_pull(pod, big.pinned))
                        else:
                            took, own = engine_build(ca, big.ref, pod, big.pinned)
                            b_samples.append(took)
                            b_own.append(own)
                a = Stats(f"(a) podman pull {big.size_bytes / 1e6:.0f} MB image (CLI)", a_samples)
                b = Stats("(b) engine create->ready, with pull", b_samples)
                b_self = Stats("    engine-internal createdAt->updatedAt", b_own)

                nopull = [engine_build(cb, big.ref, None, None) for _ in range(ROUNDS)]
                c = Stats("engine create->ready, --no-pull (resolve)", [t for t, _ in nopull])
                c_self = Stats("    engine-internal createdAt->updatedAt", [o for _, o in nopull])

                small_pull = Stats("busybox: podman pull (CLI)",
                                   [podman_pull(pod, small.pinned) for _ in range(ROUNDS)])
                small_built = [engine_build(ca, small.ref, pod, small.pinned) for _ in range(ROUNDS)]
                small_b = Stats("busybox: engine create->ready, with pull", [t for t, _ in small_built])
                small_b_self = Stats("    engine-internal createdAt->updatedAt", [o for _, o in small_built])
                small_nopull = [engine_build(cb, small.ref, None, None) for _ in range(ROUNDS)]
                small_c = Stats("busybox: engine create->ready, --no-pull", [t for t, _ in small_nopull])
                small_c_self = Stats("    engine-internal createdAt->updatedAt", [o for _, o in small_nopull])
                podman_floor = timed(lambda: pod.cli("--version"), ROUNDS, warmup=1,
                                     name="podman --version (CLI process floor)")
                podman_images = timed(lambda: pod.cli("images", "-q"), ROUNDS, warmup=1,
                                      name="podman images -q (CLI + storage open)")
                health = timed(lambda: ca.get("/healthz").raise_for_status(), 20, warmup=3,
                               name="engine GET /healthz (one API round trip)")

            header(f"results ({ROUNDS} rounds after 1 warm-up; status polled every {POLL * 1000:.0f} ms)")
            for stats in (a, b, b_self, c, c_self, small_pull, small_b, small_b_self, small_c, small_c_self,
                          podman_floor, podman_images, health):
                print(stats.line())
            print("  notes: (a) includes starting the podman CLI and opening its storage (see the floors); "
                  "(b) includes the POST, resolving on the registry, the pull through Podman's service, "
                  "and up to one poll interval + one status request before 'ready' is seen; "
                  "'engine-internal' is the template's updatedAt - createdAt (ms resolution).")
            header("ratios")
            print(ratio_line("median(b) / median(a)  [TARGET]", b.median, a.median))
            print(ratio_line("engine-internal create->ready / median(a)", b_self.median, a.median))
            print(ratio_line("--no-pull create->ready / median(a)", c.median, a.median))
            print(ratio_line("busybox: engine with pull / podman pull", small_b.median, small_pull.median))
            print(f"  (b) - (a) medians: {ms(b.median - a.median).strip()}; busybox: "
                  f"{ms(small_b.median - small_pull.median).strip()}")
            ratio = b.median / a.median
            verdicts.check(f"median(engine create->ready with pull) / median(podman pull) <= {TARGET:.2f}",
                           ratio <= TARGET,
                           f"{ratio:.2f}x ({ms(b.median).strip()} vs {ms(a.median).strip()}, "
                           f"{big.size_bytes / 1e6:.0f} MB image)")
        except Exception as exc:
            verdicts.fail("benchmark ran", f"{type(exc).__name__}: {exc}")
            for engine in engines:
                print(f"engine log tail ({engine.data_dir.name}):\n{engine.log_tail()}", file=sys.stderr)
            if pod is not None:
                print("podman log tail:\n" + pod.log_tail(), file=sys.stderr)
        finally:
            for engine in engines:
                engine.stop()
            if pod is not None:
                try:
                    pod.stop()
                except subprocess.SubprocessError as exc:
                    print(f"podman stop: {exc}", file=sys.stderr)
            if registry is not None:
                registry.stop()
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark "Test access": an image check through the engine against ``skopeo inspect``, and the
wizard's event loop while checks run.

Run by hand: ``python bench/preflight.py`` (offscreen). Starts an open ``docker-registry`` on loopback
(tests/stack/registry.py), pushes the busybox test image (1 MB, tests/stack/images.py), starts the
engine (``in10nt engine serve --no-pull``), then:

* check: ``client.registry.check(image)`` through one SDK client, as the app asks it: app -> engine
  (HTTP) -> registry (manifest, config) -> engine -> app, all timed;
* skopeo: ``skopeo inspect --tls-verify=false docker://IMAGE`` as a subprocess, with ``--no-tags`` and
  ``skopeo --version`` (the process-start floor) for context;
* wizard: the real app services and the create wizard on the qasync loop; the image field is typed
  into, a character every 40 ms, for ~6 s (a check starts whenever typing pauses, and each keystroke
  cancels the running one) while a sampler measures how late the loop wakes up. The same sampler
  on the same wizard with nobody typing is the baseline.

Targets: median(check) / median(skopeo inspect) <= 1.0; no event-loop stall > 16 ms while checks run.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import _common  # noqa: F401  (sets sys.path)
from _common import Stats, Verdicts, header, ms, ratio_line, start_engine, temp_root, timed
from stack.images import push_image
from stack.registry import clean_env, start_registry

RUNS = 20
WARMUP = 3
TARGET = 1.0
FRAME = 0.016


def run_checked(cmd: list[str]) -> str:
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=clean_env())
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[:500]}")
    return r.stdout


async def measure_checks(url: str, token: str, image: str) -> tuple[Stats, str]:
    from in10nt_desktop.api import In10ntClient

    async with In10ntClient(url, token) as client:
        for _ in range(WARMUP):
            await client.registry.check(image)
        samples = []
        digest = ""
        for _ in range(RUNS):
            start = time.perf_counter()
            answer = await client.registry.check(image)
            samples.append(time.perf_counter() - start)
            if not answer.ok:
                raise RuntimeError(f"the check failed: {answer.error}")
            digest = answer.digest or ""
    return Stats("check through the engine (SDK, one client)", samples), digest


async def sample_lags(seconds: float, lags: list[float], cpu: list[float] | None = None) -> None:
    """How late a 5 ms sleep wakes up; ``cpu``: the GUI thread's own CPU time in each interval.

    On a shared machine the wall-clock lateness includes time the OS gave to other processes; the
    thread's CPU time in the interval is the part this process spent running callbacks.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        before, cpu_before = loop.time(), time.thread_time()
        await asyncio.sleep(0.005)
        lags.append(loop.time() - before - 0.005)
        if cpu is not None:
            cpu.append(time.thread_time() - cpu_before)


async def wizard_run(engine_dir: str, image: str, other: str) -> dict[str, object]:
    """The wizard on the real services: idle baseline, then typing with checks running."""
    from pathlib import Path

    from PySide6.QtCore import QSettings

    from in10nt_desktop.app.app_services import AppServices
    from in10nt_desktop.app.keychain import KeyStore
    from in10nt_desktop.app.local_engine import LocalEngine
    from in10nt_desktop.app.preflight_service import CheckOutcome
    from in10nt_desktop.ui.wizard import CreateTemplateWizard

    settings = QSettings(str(Path(engine_dir).parent / "bench-settings.ini"), QSettings.Format.IniFormat)
    services = AppServices(settings, KeyStore(), LocalEngine(Path(engine_dir)))
    try:
        services.activate(next(p for p in services.profiles.load() if p.kind == "local"))
        ready = asyncio.Event()
        services.templates.loaded.connect(lambda: ready.set() if services.preflight.available is not None else None)
        services.preflight.availability_changed.connect(
            lambda _available: ready.set() if services.templates.store.loaded else None)
        await asyncio.wait_for(ready.wait(), 30)
        wizard = CreateTemplateWizard(set(), services.connection.base_url, preflight=services.preflight,
                                      logins=services.logins)
        wizard.show()
        wizard.name_page.name_edit.setText("bench")
        wizard.next()
        answers: list[CheckOutcome] = []
        services.preflight.checked.connect(answers.append)
        idle: list[float] = []
        await sample_lags(3.0, idle)

        busy: list[float] = []
        busy_cpu: list[float] = []
        sampling = asyncio.ensure_future(sample_lags(6.0, busy, busy_cpu))
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        round_no = 0
        while loop.time() - t0 < 5.5:
            target = image if round_no % 2 == 0 else other
            for n in range(1, len(target) + 1):  # typing: each keystroke cancels the running check
                wizard.image_page.image_edit.setText(target[:n])
                await asyncio.sleep(0.04)
            await asyncio.sleep(0.9)  # a pause: the check runs and answers in place
            round_no += 1
        await sampling
        shown = wizard.image_page.access.text()
        wizard.close()
        wizard.deleteLater()
        await asyncio.sleep(0)
    finally:
        await services.close()
    return {"idle": idle, "busy": busy, "busy_cpu": busy_cpu, "answers": len(answers), "rounds": round_no,
            "ok": sum(1 for a in answers if a.ok), "shown": shown,
            "failed": [a.text for a in answers if not a.ok]}


def main() -> int:
    verdicts = Verdicts()
    with temp_root("bench-preflight-") as root:
        registry = engine = None
        try:
            registry = start_registry(root / "registry", "open")
            pushed = push_image(registry.url, "x/busybox", "1")
            other = push_image(registry.url, "x/other", "1")
            print(f"registry {registry.url}; pushed {pushed.ref} -> {pushed.digest} ({pushed.size_bytes} bytes)")
            engine = start_engine(root / "engine", "--no-pull")

            checks, digest = asyncio.run(measure_checks(engine.url, engine.token, pushed.ref))
            skopeo_cmd = ["skopeo", "inspect", "--tls-verify=false", f"docker://{pushed.ref}"]
            inspected = json.loads(run_checked(skopeo_cmd))
            skopeo = timed(lambda: run_checked(skopeo_cmd), RUNS, warmup=WARMUP, name="skopeo inspect (subprocess)")
            no_tags_cmd = ["skopeo", "inspect", "--no-tags", "--tls-verify=false", f"docker://{pushed.ref}"]
            no_tags = timed(lambda: run_checked(no_tags_cmd), RUNS, warmup=WARMUP,
                            name="skopeo inspect --no-tags (subprocess)")
            floor = timed(lambda: run_checked(["skopeo", "--version"]), RUNS, warmup=WARMUP,
                          name="skopeo --version (process-start floor)")

            header(f"image check vs skopeo inspect ({RUNS} runs each after {WARMUP} warm-up runs)")
            for stats in (checks, skopeo, no_tags, floor):
                print(stats.line())
            print(f"  digests agree: {digest == inspected.get('Digest')}")
            header("ratios")
            print(ratio_line("check / skopeo inspect  [TARGET]", checks.median, skopeo.median))
            print(ratio_line("check / skopeo inspect --no-tags", checks.median, no_tags.median))
            net = skopeo.median - floor.median
            if net > 0:
                print(ratio_line("check / (skopeo inspect - process floor)", checks.median, net))
            verdicts.check("check digest == skopeo digest", digest == inspected.get("Digest"), digest[:19])
            ratio = checks.median / skopeo.median
            verdicts.check(f"median(image check) / median(skopeo inspect) <= {TARGET:.1f}", ratio <= TARGET,
                           f"{ratio:.2f}x ({ms(checks.median).strip()} vs {ms(skopeo.median).strip()})")

            from PySide6.QtWidgets import QApplication

            from in10nt_desktop.app.event_loop import new_event_loop

            app = QApplication.instance() or QApplication([])
            app.setQuitOnLastWindowClosed(False)  # type: ignore[attr-defined]  # as in the app
            loop = new_event_loop(app)
            try:
                result = loop.run_until_complete(wizard_run(str(engine.data_dir), pushed.ref, other.ref))
            finally:
                loop.close()
            idle, busy, busy_cpu = result["idle"], result["busy"], result["busy_cpu"]
            assert isinstance(idle, list) and isinstance(busy, list) and isinstance(busy_cpu, list)
            header("wizard: event-loop lateness (5 ms sleeps) while typing and checking")
            for name, lags in (("idle wizard (baseline)", idle), ("typing, checks running", busy)):
                ordered = sorted(lags)
                print(f"  {name:<28} n={len(lags):<5} median {ms(statistics.median(lags))}  "
                      f"p99 {ms(ordered[int(len(ordered) * 0.99) - 1])}  max {ms(max(lags))}")
            print(f"  {'GUI-thread CPU per interval':<28} n={len(busy_cpu):<5} median "
                  f"{ms(statistics.median(busy_cpu))}  max {ms(max(busy_cpu))}  (typing, checks running)")
            print(f"  load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (wall figures include other "
                  "processes' turns)")
            print(f"  rounds typed: {result['rounds']}; checks answered: {result['answers']} "
                  f"({result['ok']} ok); last answer shown: {result['shown']!r}")
            for text in result["failed"]:  # type: ignore[attr-defined]
                print(f"  not ok: {text}")
            busy_p99 = sorted(busy)[int(len(busy) * 0.99) - 1]
            verdicts.check(f"the GUI thread never works > {FRAME * 1000:.0f} ms at a stretch while checks run",
                           max(busy_cpu) <= FRAME, f"max {ms(max(busy_cpu)).strip()} of CPU in one interval")
            verdicts.check(f"event-loop lateness p99 <= {FRAME * 1000:.0f} ms while checks run", busy_p99 <= FRAME,
                           f"p99 {ms(busy_p99).strip()}, max {ms(max(busy)).strip()} (idle baseline max "
                           f"{ms(max(idle)).strip()})")
            verdicts.check("every typing pause got its answer, no stale one", result["answers"] == result["rounds"]
                           and str(result["shown"]).startswith("✓"), f"{result['answers']} answers for "
                           f"{result['rounds']} pauses")
        except Exception as exc:
            verdicts.fail("benchmark ran", f"{type(exc).__name__}: {exc}")
            if engine is not None:
                print("engine log tail:\n" + engine.log_tail(), file=sys.stderr)
        finally:
            if engine is not None:
                engine.stop()
            if registry is not None:
                registry.stop()
    return verdicts.print()


if __name__ == "__main__":
    sys.exit(main())

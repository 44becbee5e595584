"""One running build as its record: phases with their times, layers with their bytes, the pull's log lines.

The record's JSON is the shape of GET /container-templates/{id}/builds. Phases are the ones the
build went through, in order: ``queued`` (only when it waited for a slot), ``resolving``, then
with a container engine ``pulling`` and ``finishing``. Layers come from the resolved manifest and
are moved on by the container engine's pull events, which name a layer by the first 12 hex digits
of its digest (Docker and Podman alike); Podman and Docker both say "Already exists" for a layer
they had. The config blob shows up in Podman's events too; it is not a layer and is not listed.

Times are wall-clock ISO for the record and monotonic for durations, so a clock change mid-build
cannot make a phase last a negative time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from in10nt_desktop.engine.store_schema import new_id, now_iso
from in10nt_desktop.text_formats import human_size

DOWNLOADING = ("Downloading", "Copying")  # Podman's older API said "Copying blob"
DONE = ("Download complete", "Pull complete")
PRESENT = "Already exists"


@dataclass
class _Layer:
    digest: str
    size: int | None
    done: int = 0
    state: str = "waiting"  # waiting | pulling | done | already present
    began: float | None = None
    seconds: float | None = None
    logged_decile: int = 0

    def json(self) -> dict[str, Any]:
        return {"digest": self.digest, "sizeBytes": self.size, "bytesDone": self.done, "state": self.state,
                "seconds": self.seconds}


class BuildRun:
    """A build from the moment it is queued to its end; only the loop's thread touches it."""

    def __init__(self, *, template_id: str, number: int, trigger: str, image: str, log_from: int) -> None:
        self.template_id, self.number, self.trigger, self.image = template_id, number, trigger, image
        self.build_id = new_id("bld")
        self.queued_at = now_iso()
        self.log_from = log_from
        self.log_to: int | None = None
        self.started_at: str | None = None
        self.finished_at: str | None = None
        self.result = "building"
        self.error: str | None = None
        self.digest: str | None = None
        self.size_bytes: int | None = None
        self.phases: list[dict[str, Any]] = []
        self._phase_began = 0.0
        self._began: float | None = None
        self.seconds: float | None = None  # start to end, for the expected duration of later builds
        self._layers: dict[str, _Layer] = {}  # short id (12 hex) -> layer, in manifest order
        # The stall watchdog's view: when the registry last answered or a byte last moved.
        self.last_activity = time.monotonic()
        self.stalled = False
        self.registry_host = ""

    @property
    def phase(self) -> str | None:
        return self.phases[-1]["name"] if self.phases and self.result == "building" else None

    # -- phases ---------------------------------------------------------------------------------------
    def _end_phase(self, at: str, now: float) -> None:
        if self.phases and self.phases[-1]["endedAt"] is None:
            self.phases[-1].update(endedAt=at, seconds=round(now - self._phase_began, 3))

    def enter(self, name: str) -> None:
        at, now = now_iso(), time.monotonic()
        self._end_phase(at, now)
        self.phases.append({"name": name, "startedAt": at, "endedAt": None, "seconds": None})
        self._phase_began = now
        self.last_activity = now
        if name != "queued" and self.started_at is None:
            self.started_at, self._began = at, now

    def finish(self, result: str, error: str | None, log_to: int) -> None:
        at, now = now_iso(), time.monotonic()
        self._end_phase(at, now)
        self.result, self.error, self.finished_at, self.log_to = result, error, at, log_to
        if self._began is not None:
            self.seconds = round(now - self._began, 3)

    def json(self) -> dict[str, Any]:
        return {"buildId": self.build_id, "number": self.number, "trigger": self.trigger,
                "queuedAt": self.queued_at, "startedAt": self.started_at, "finishedAt": self.finished_at,
                "result": self.result, "error": self.error, "digest": self.digest, "sizeBytes": self.size_bytes,
                "phases": [dict(p) for p in self.phases], "layers": [layer.json() for layer in self._layers.values()],
                "logFrom": self.log_from, "logTo": self.log_to}

    # -- layers and the pull's events -----------------------------------------------------------------
    def expect_layers(self, sizes: dict[str, int]) -> None:
        """The resolved manifest's layers (digest -> compressed size), all waiting."""
        self._layers = {d.split(":", 1)[-1][:12]: _Layer(d, s) for d, s in sizes.items()}

    @property
    def bytes_done(self) -> int:
        return sum((layer.size or 0) if layer.state == "already present" else layer.done
                   for layer in self._layers.values())

    @property
    def downloaded(self) -> bool:
        """Every layer is here: the engine now only unpacks (the ``finishing`` phase)."""
        return bool(self._layers) and all(x.state in ("done", "already present") for x in self._layers.values())

    def feed(self, event: dict[str, Any]) -> tuple[list[str], bool]:
        """One pull event: the log lines it earns (throttled to one per layer per 10 %) and whether anything moved."""
        short = str(event.get("id") or "")[:12]
        status = str(event.get("status") or "")
        layer = self._layers.get(short)
        if layer is None:
            # The config blob, or a message about the whole image ("Pulling from…", "Digest: …"): it shows that
            # the engine is talking to the registry, and only the image-wide messages are worth a line.
            return ([status] if status and not short and not status.startswith(DOWNLOADING) else []), True
        if layer.state in ("done", "already present"):
            return [], False
        now = time.monotonic()
        if status == PRESENT:
            layer.state = "already present"
            return [f"layer {short}: already present"], True
        if status in DONE:
            layer.state, layer.done = "done", layer.size if layer.size is not None else layer.done
            layer.seconds = round(now - layer.began, 3) if layer.began is not None else None
            size = f", {human_size(layer.done)}" if layer.done else ""
            took = f" in {layer.seconds:.1f} s" if layer.seconds is not None else ""
            return [f"layer {short}: done{size}{took}"], True
        started = layer.state == "waiting" and (status.startswith(DOWNLOADING) or status == "Pulling fs layer")
        if started:
            layer.state, layer.began = "pulling", now
        current = (event.get("progressDetail") or {}).get("current")
        if not status.startswith(DOWNLOADING) or not isinstance(current, int) or current <= layer.done:
            return [], started
        layer.done = current
        if not layer.size:
            return [], True
        decile = min(9, current * 10 // layer.size)
        if decile <= layer.logged_decile:
            return [], True
        layer.logged_decile = decile
        return [f"layer {short}: {decile * 10}% of {human_size(layer.size)}"], True

    def end_pull(self) -> str:
        """The pull returned: layers it never mentioned were already there (Docker: "Image is up to date").

        Returns the summary line, which counts only bytes that were transferred.
        """
        for layer in self._layers.values():
            if layer.state == "waiting":
                layer.state = "already present"
            elif layer.state == "pulling":
                layer.state = "done"
                layer.done = layer.size if layer.size is not None else layer.done
        pulled = sum(x.done for x in self._layers.values() if x.state == "done")
        present = sum(1 for x in self._layers.values() if x.state == "already present")
        count = len(self._layers)
        text = f"Pulled {human_size(pulled)} ({count} layer{'' if count == 1 else 's'}"
        return text + (f"; {present} already present)" if present else ")")

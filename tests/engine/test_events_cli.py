"""``in10nt events`` and ``in10nt templates list --watch`` as a user runs them, against the real engine."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from stack.engine_proc import EngineProc, start_engine

DEAD = "127.0.0.1:1/x:1"


class Watching:
    """``in10nt ARGS`` left running; its stdout lines are read in a thread, waited for with a deadline."""

    def __init__(self, engine: EngineProc, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IN10NT_")}
        env["IN10NT_DATA_DIR"] = str(engine.data_dir)
        self.proc = subprocess.Popen([sys.executable, "-m", "in10nt_desktop.cli.main", *args], env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, out: object) -> None:
        for line in out:  # type: ignore[attr-defined]
            self.lines.put(line.rstrip("\n"))

    def until(self, predicate: object, what: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {what} within {timeout} s; printed: {self.seen}"
            try:
                line = self.lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.proc.stderr.read()}"  # type: ignore[union-attr]
                continue
            self.seen.append(line)
            if predicate(line):  # type: ignore[operator]
                return line

    def interrupt(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)  # Ctrl+C
        _out, err = self.proc.communicate(timeout=15)
        return self.proc.returncode, err


def test_events_json_prints_a_created_templates_events_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "engine")
    watch = Watching(engine, "events", "--json")
    try:
        # It prints nothing until something changes; wait until its stream is open (engine's count).
        deadline = time.monotonic() + 30
        with engine.http() as http:
            while http.get("/healthz").json()["eventClients"] < 1:
                assert time.monotonic() < deadline, "in10nt events never connected"
                time.sleep(0.05)
        created = engine.cli("templates", "create", "--name", "watched", "--image", DEAD, "--registry-type", "private")
        tid = created.stdout.strip()
        first = json.loads(watch.until(lambda line: tid in line, "the created event"))
        last = json.loads(watch.until(lambda line: tid in line and '"failed"' in line, "the failed event"))
    finally:
        code, err = watch.interrupt()
        engine.stop()
    assert (first["type"], first["data"]["templateId"], first["data"]["status"]) == ("template.created", tid,
                                                                                      "building")
    assert isinstance(first["id"], int) and last["id"] > first["id"]
    assert last["type"] == "template.changed"
    assert code == 0, err
    assert "Traceback" not in err


def test_templates_list_watch_prints_the_list_then_each_change(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "engine")
    try:
        old = engine.cli("templates", "create", "--name", "existing", "--image", DEAD, "--registry-type", "private")
        watch = Watching(engine, "templates", "list", "--watch")
        try:
            watch.until(lambda line: line.startswith("ID"), "the table's header")
            watch.until(lambda line: old.stdout.strip() in line and "failed" in line, "the existing template")
            tid = engine.cli("templates", "create", "--name", "fresh", "--image", DEAD,
                             "--registry-type", "private").stdout.strip()
            line = watch.until(lambda line: tid in line and "template.created" in line, "the created line")
            assert "fresh" in line and "building" in line
            engine.cli("templates", "delete", tid)
            watch.until(lambda line: tid in line and "template.deleted" in line, "the deleted line")
        finally:
            code, _err = watch.interrupt()
        assert code == 0
    finally:
        engine.stop()


def test_events_against_a_server_without_them_says_so_and_exits_3(tmp_path: Path) -> None:
    engine = start_engine(tmp_path / "engine", events=False)
    try:
        result = engine.cli("events")
        assert result.returncode == 3
        assert "has no event stream" in result.stderr and "templates list --watch" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        engine.stop()

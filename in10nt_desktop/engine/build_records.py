"""Build records in SQLite: one row per build of a template (create, each rebuild, a resume after a restart).

A record's phases and layers are JSON columns: they are read whole, with the record, and never
queried inside. Each template keeps its newest ``MAX_RECORDS`` records; older ones are dropped
when a new one is written, so the table stays bounded by the number of templates. The running
build's record is rewritten at each phase change and at its end, not at every progress tick:
GET …/builds answers the running one from memory (engine/build_run.py), and after a crash the
last written phase is what the history shows.

The same module adds the template columns the records need (``build_count``, ``registry_username``,
``started_at``) to stores made before them: ``ALTER TABLE … ADD COLUMN`` keeps every row.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
from typing import Any

MAX_RECORDS = 20  # per template, newest kept
ETA_SAMPLES = 5  # successful builds of the same image the expected duration is the median of

SCHEMA = """
CREATE TABLE IF NOT EXISTS builds (
    id TEXT PRIMARY KEY,
    template_id TEXT NOT NULL,
    number INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    image TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    result TEXT NOT NULL,
    error TEXT,
    digest TEXT,
    size_bytes INTEGER,
    phases TEXT NOT NULL DEFAULT '[]',
    layers TEXT NOT NULL DEFAULT '[]',
    log_from INTEGER NOT NULL,
    log_to INTEGER,
    seconds REAL
);
CREATE INDEX IF NOT EXISTS builds_template ON builds(template_id, number);
CREATE INDEX IF NOT EXISTS builds_image ON builds(image, result, finished_at);
"""

# Added to ``templates`` after it first shipped: (column, declaration).
TEMPLATE_COLUMNS = (
    ("build_count", "INTEGER NOT NULL DEFAULT 1"),
    ("registry_username", "TEXT"),
    ("started_at", "TEXT"),
)

_COLUMNS = ("id, number, trigger, queued_at, started_at, finished_at, result, error, digest, size_bytes, "
            "phases, layers, log_from, log_to")


def ensure_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)
    have = {row[1] for row in db.execute("PRAGMA table_info(templates)")}
    for column, declaration in TEMPLATE_COLUMNS:
        if column not in have:
            db.execute(f"ALTER TABLE templates ADD COLUMN {column} {declaration}")


def _record_json(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"buildId": row[0], "number": row[1], "trigger": row[2], "queuedAt": row[3], "startedAt": row[4],
            "finishedAt": row[5], "result": row[6], "error": row[7], "digest": row[8], "sizeBytes": row[9],
            "phases": json.loads(row[10]), "layers": json.loads(row[11]), "logFrom": row[12], "logTo": row[13]}


class BuildRecords:
    """The ``builds`` table; shares the store's connection (one writer: this process, on the loop's thread)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        ensure_schema(db)

    def insert(self, template_id: str, image: str, record: dict[str, Any]) -> None:
        """A new build's record; the template's oldest records beyond ``MAX_RECORDS`` go."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO builds (id, template_id, number, trigger, image, queued_at, started_at, finished_at, "
                "result, error, digest, size_bytes, phases, layers, log_from, log_to) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record["buildId"], template_id, record["number"], record["trigger"], image, record["queuedAt"],
                 record["startedAt"], record["finishedAt"], record["result"], record["error"], record["digest"],
                 record["sizeBytes"], json.dumps(record["phases"]), json.dumps(record["layers"]),
                 record["logFrom"], record["logTo"]))
            self._db.execute(
                "DELETE FROM builds WHERE template_id = ? AND id NOT IN (SELECT id FROM builds WHERE template_id = ? "
                "ORDER BY number DESC LIMIT ?)", (template_id, template_id, MAX_RECORDS))

    def save(self, record: dict[str, Any], seconds: float | None = None) -> None:
        """Rewrites a record's changing parts; ``seconds`` (start to end) is kept for the expected duration."""
        self._db.execute(
            "UPDATE builds SET started_at = ?, finished_at = ?, result = ?, error = ?, digest = ?, size_bytes = ?, "
            "phases = ?, layers = ?, log_to = ?, seconds = ? WHERE id = ?",
            (record["startedAt"], record["finishedAt"], record["result"], record["error"], record["digest"],
             record["sizeBytes"], json.dumps(record["phases"]), json.dumps(record["layers"]), record["logTo"],
             seconds, record["buildId"]))

    def list(self, template_id: str) -> list[dict[str, Any]]:
        """Newest first."""
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM builds WHERE template_id = ? ORDER BY number DESC",
                                (template_id,)).fetchall()
        return [_record_json(row) for row in rows]

    def interrupt(self, template_id: str, error: str, finished_at: str, log_to: int) -> None:
        """Closes the record(s) a stopped engine left running: failed, with the phase they were in left open."""
        self._db.execute("UPDATE builds SET result = 'failed', error = ?, finished_at = ?, log_to = ? "
                         "WHERE template_id = ? AND result = 'building'", (error, finished_at, log_to, template_id))

    def expected_seconds(self, image: str) -> float | None:
        """Median start-to-end time of the last ``ETA_SAMPLES`` successful builds of ``image``; None if none."""
        rows = self._db.execute(
            "SELECT seconds FROM builds WHERE image = ? AND result = 'ready' AND seconds IS NOT NULL "
            "ORDER BY finished_at DESC LIMIT ?", (image, ETA_SAMPLES)).fetchall()
        return round(statistics.median(r[0] for r in rows), 3) if rows else None

    def delete_for(self, template_id: str) -> None:
        self._db.execute("DELETE FROM builds WHERE template_id = ?", (template_id,))

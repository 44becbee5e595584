"""The engine's SQLite store (WAL): templates, build logs, idempotency keys, saved templates.

Instances are not stored here: the container engine's labels are their record (engine/instances.py).
A running build's ``phase``, ``queuePosition``, ``expectedSeconds`` and ``stalled`` are not stored
either: they live in memory (``set_live``), because a restart resumes every build from the queue anyway.
Build records are in engine/build_records.py, on the same connection; the tables and a row's JSON in
engine/store_schema.py.

Calls are short and run on the event loop's thread: a local engine serves one user. Turning
10,000 rows into JSON costs ~70 ms, so the store keeps each template's encoded JSON and
refreshes one row's bytes when that row is written: a list answer is then a join of bytes.
Only this process writes the database (one engine per data dir, by lock), so the cache cannot
go stale. Credentials are never stored: only whether a build needed them, so a restart knows
it cannot resume that build.
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from in10nt_desktop.engine.build_records import BuildRecords
from in10nt_desktop.engine.events import (
    SAVED_CREATED,
    SAVED_DELETED,
    TEMPLATE_CHANGED,
    TEMPLATE_CREATED,
    TEMPLATE_DELETED,
)
from in10nt_desktop.engine.store_schema import (
    SCHEMA,
    TEMPLATE_COLUMNS,
    encode,
    new_id,
    now_iso,
    template_json,
)


class Store:
    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across app crashes in WAL mode; only a power cut may lose the last commit.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._migrate()
        self.records = BuildRecords(self._db)  # also adds the template columns it needs to an older store
        self._encoded: dict[str, bytes] | None = None  # id -> JSON, in list order; built on first list
        self._paged: dict[str, bytes] = {}  # id -> JSON of rows pages sent while there is no whole-list cache
        # Bumped at every template write: the list's ETag. The random part tells a restarted engine
        # (whose counter starts again) from the one that gave the tag.
        self._generation = secrets.token_hex(4)
        self._version = 0
        # id -> {"phase", "queuePosition", "expectedSeconds", "stalled", "stalledReason"} of a running build
        self._live: dict[str, dict[str, Any]] = {}
        # Told of every change after it is written: (event name, the object as GET answers it).
        self.on_change: Callable[[str, dict[str, Any]], None] | None = None
        self._held: dict[str, str] | None = None  # inside coalesced(): template id -> event name

    def _migrate(self) -> None:
        """Columns added after a store may have been created (CREATE TABLE IF NOT EXISTS keeps old tables)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(idempotency)")}
        if "request_hash" not in columns:  # keys stored before it match any request, as they did then
            self._db.execute("ALTER TABLE idempotency ADD COLUMN request_hash TEXT")

    def _row_json(self, row: tuple[Any, ...]) -> dict[str, Any]:
        template = template_json(row)
        live = self._live.get(row[0])
        if live:
            template.update(live)
        return template

    def _encoded_rows(self) -> dict[str, bytes]:
        if self._encoded is None:
            self._paged = {}  # the whole-list cache takes over
            rows = self._db.execute(f"SELECT {TEMPLATE_COLUMNS} FROM templates ORDER BY created_at, id")
            self._encoded = {row[0]: encode(self._row_json(row)) for row in rows}
        return self._encoded

    # -- change notices -----------------------------------------------------------------------------
    def _emit(self, event: str, data: dict[str, Any]) -> None:
        if self.on_change is not None:
            self.on_change(event, data)

    def _template_changed(self, event: str, template: dict[str, Any]) -> None:
        tid = template["templateId"]
        if self._held is not None:
            self._held[tid] = TEMPLATE_CREATED if self._held.get(tid) == TEMPLATE_CREATED else event
            return
        self._emit(event, template)

    @contextlib.contextmanager
    def coalesced(self) -> Iterator[None]:
        """Template writes inside are announced once each, at the end, with the final row.

        A create announces ``template.created`` with its build's first phase already in it, and a
        step that writes two things (a phase and its progress) is one event. Nested, the outer one announces.
        """
        if self._held is not None:
            yield
            return
        self._held = {}
        try:
            yield
        finally:
            held, self._held = self._held, None
            for tid, event in held.items():
                template = self.get_template(tid)
                if template is not None:
                    self._emit(event, template)

    def _refresh(self, tid: str) -> dict[str, Any] | None:
        self._version += 1
        self._paged.pop(tid, None)
        template = self.get_template(tid)
        if self._encoded is not None:
            if template is None:
                self._encoded.pop(tid, None)
            else:
                self._encoded[tid] = encode(template)
        return template

    def close(self) -> None:
        self._db.close()

    # -- templates ---------------------------------------------------------------------------
    def insert_template(self, *, name: str, description: str | None, image: str, registry_type: str,
                        needs_credentials: bool, idempotency_key: str | None,
                        request_hash: str | None = None) -> dict[str, Any]:
        tid, ts = new_id("tmpl"), now_iso()
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO templates (id, name, description, image, registry_type, status, created_at, "
                "updated_at, needs_credentials) VALUES (?, ?, ?, ?, ?, 'building', ?, ?, ?)",
                (tid, name, description, image, registry_type, ts, ts, int(needs_credentials)))
            if idempotency_key:
                self._db.execute("INSERT INTO idempotency (key, template_id, created_at, request_hash) "
                                 "VALUES (?, ?, ?, ?)", (idempotency_key, tid, ts, request_hash))
        template = self._refresh(tid)
        assert template is not None
        self._template_changed(TEMPLATE_CREATED, template)
        return template

    def begin_rebuild(self, tid: str, *, idempotency_key: str | None, request_hash: str | None) -> None:
        """The template builds again (same id, its build count one up); its last digest stays until a new one."""
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute(
                "UPDATE templates SET status = 'building', error = NULL, progress_current = NULL, "
                "progress_total = NULL, started_at = NULL, build_count = build_count + 1, updated_at = ? "
                "WHERE id = ?", (now_iso(), tid))
            if idempotency_key:
                self._db.execute("INSERT INTO idempotency (key, template_id, created_at, request_hash) "
                                 "VALUES (?, ?, ?, ?)", (idempotency_key, tid, now_iso(), request_hash))
        template = self._refresh(tid)
        if template is not None:
            self._template_changed(TEMPLATE_CHANGED, template)

    def template_for_key(self, key: str) -> tuple[str, str | None] | None:
        """``(template_id, request_hash)`` of the create that used ``key``."""
        row = self._db.execute("SELECT template_id, request_hash FROM idempotency WHERE key = ?", (key,)).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def get_template(self, tid: str) -> dict[str, Any] | None:
        row = self._db.execute(f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE id = ?", (tid,)).fetchone()
        return None if row is None else self._row_json(row)

    def list_templates_json(self) -> bytes:
        """The whole list as a JSON array, from the per-row cache."""
        return b"[" + b",".join(self._encoded_rows().values()) + b"]"

    @property
    def list_etag(self) -> str:
        """Changes whenever any template does (insert, update, phase, delete): the list's ETag."""
        return f'W/"{self._generation}-{self._version}"'

    def list_templates_page(self, limit: int, after: tuple[str, str] | None,
                            descending: bool) -> tuple[bytes, tuple[str, str] | None]:
        """Up to ``limit`` templates after the ``(createdAt, id)`` cursor, oldest first (or newest
        first), as a JSON array, and the cursor of the next page (None on the last one).

        A keyset page: rows written or deleted meanwhile never shift the pages still to come.
        """
        op, order = ("<", "DESC") if descending else (">", "ASC")
        where, args = (f"WHERE (created_at, id) {op} (?, ?) ", after) if after else ("", ())
        keys = self._db.execute(f"SELECT created_at, id FROM templates {where}ORDER BY created_at {order}, "
                                f"id {order} LIMIT ?", (*args, limit + 1)).fetchall()  # the index alone
        more = len(keys) > limit
        keys = keys[:limit]
        whole, paged = self._encoded or {}, self._paged
        missing = [tid for _, tid in keys if tid not in whole and tid not in paged]
        if missing:  # encoded once, then kept (and dropped at each write of the row), as for the whole list
            marks = ",".join("?" * len(missing))
            for row in self._db.execute(f"SELECT {TEMPLATE_COLUMNS} FROM templates WHERE id IN ({marks})", missing):
                paged[row[0]] = encode(self._row_json(row))
        body = b"[" + b",".join(filter(None, (whole.get(tid) or paged.get(tid) for _, tid in keys))) + b"]"
        return body, ((keys[-1][0], keys[-1][1]) if more else None)

    def building(self) -> list[tuple[str, str, str, bool]]:
        """``(id, image, registry_type, needs_credentials)`` of every template still building."""
        rows = self._db.execute(
            "SELECT id, image, registry_type, needs_credentials FROM templates WHERE status = 'building'")
        return [(r[0], r[1], r[2], bool(r[3])) for r in rows]

    def update_template(self, tid: str, **fields: Any) -> None:
        allowed = {"status", "error", "digest", "size_bytes", "platform", "layers", "progress_current",
                   "progress_total", "engine_image", "build_count", "needs_credentials", "registry_username",
                   "started_at"}
        assert set(fields) <= allowed, set(fields) - allowed
        if fields.get("status", "building") != "building":
            self._live.pop(tid, None)  # a finished build has no phase
        fields["updated_at"] = now_iso()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self._db.execute(f"UPDATE templates SET {assignments} WHERE id = ?", (*fields.values(), tid))
        template = self._refresh(tid)
        if template is not None:
            self._template_changed(TEMPLATE_CHANGED, template)

    def set_live(self, tid: str, phase: str | None, queue_position: int | None = None,
                 fields: dict[str, Any] | None = None) -> None:
        """A building template's ``phase`` (and ``queuePosition`` while queued), in memory; None clears them.

        ``fields``: more of them at once (as ``set_live_fields``); the ones set before stay.
        """
        current = self._live.get(tid, {})
        live: dict[str, Any] = {}
        if phase is not None:
            live = {k: v for k, v in current.items() if k not in ("phase", "queuePosition")}
            live.update({"phase": phase, **({"queuePosition": queue_position} if queue_position is not None else {}),
                         **(fields or {})})
        if current == live:
            return
        self._put_live(tid, live)

    def set_live_fields(self, tid: str, fields: dict[str, Any], drop: tuple[str, ...] = ()) -> None:
        """More in-memory fields of a building template (``stalled``, ``expectedSeconds``…); ignored once it ended."""
        current = self._live.get(tid)
        if not current:
            return
        live = {k: v for k, v in current.items() if k not in drop}
        live.update(fields)
        if live != current:
            self._put_live(tid, live)

    def _put_live(self, tid: str, live: dict[str, Any]) -> None:
        if live:
            self._live[tid] = live
        else:
            self._live.pop(tid, None)
        template = self._refresh(tid)
        if template is None:
            self._live.pop(tid, None)
        else:
            self._template_changed(TEMPLATE_CHANGED, template)

    def engine_image(self, tid: str) -> str | None:
        row = self._db.execute("SELECT engine_image FROM templates WHERE id = ?", (tid,)).fetchone()
        return None if row is None else row[0]

    def delete_template(self, tid: str) -> bool:
        with self._db:
            self._db.execute("BEGIN")
            cur = self._db.execute("DELETE FROM templates WHERE id = ?", (tid,))
            self._db.execute("DELETE FROM build_logs WHERE template_id = ?", (tid,))
            self.records.delete_for(tid)
            self._db.execute("DELETE FROM idempotency WHERE template_id = ?", (tid,))
        if self._encoded is not None:
            self._encoded.pop(tid, None)
        self._paged.pop(tid, None)
        self._version += 1
        self._live.pop(tid, None)
        if cur.rowcount > 0:
            self._emit(TEMPLATE_DELETED, {"templateId": tid})
        return cur.rowcount > 0

    # -- build logs ---------------------------------------------------------------------------
    def append_log(self, tid: str, text: str) -> int:
        row = self._db.execute("SELECT COALESCE(MAX(n), 0) FROM build_logs WHERE template_id = ?",
                               (tid,)).fetchone()
        n = int(row[0]) + 1
        self._db.execute("INSERT INTO build_logs (template_id, n, at, text) VALUES (?, ?, ?, ?)",
                         (tid, n, now_iso(), text))
        return n

    def last_log_n(self, tid: str) -> int:
        """The number of the template's newest log line (0: none yet)."""
        row = self._db.execute("SELECT COALESCE(MAX(n), 0) FROM build_logs WHERE template_id = ?", (tid,)).fetchone()
        return int(row[0])

    def logs(self, tid: str, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT n, at, text FROM build_logs WHERE template_id = ? AND n > ? ORDER BY n LIMIT ?",
            (tid, after, limit)).fetchall()
        return [{"n": r[0], "at": r[1], "text": r[2]} for r in rows]

    # -- saved templates ------------------------------------------------------------------------
    _SAVED_COLUMNS = "name, size_bytes, created_at, source_instance_id, container_template_id, image_ref"

    @staticmethod
    def _saved_json(r: tuple[Any, ...]) -> dict[str, Any]:
        return {"name": r[0], "sizeBytes": r[1], "createdAt": r[2], "sourceInstanceId": r[3],
                "containerTemplateId": r[4], "image": r[5]}

    def list_saved(self) -> list[dict[str, Any]]:
        rows = self._db.execute(f"SELECT {self._SAVED_COLUMNS} FROM saved_templates ORDER BY created_at").fetchall()
        return [self._saved_json(r) for r in rows]

    def get_saved(self, name: str) -> dict[str, Any] | None:
        row = self._db.execute(f"SELECT {self._SAVED_COLUMNS} FROM saved_templates WHERE name = ?",
                               (name,)).fetchone()
        return None if row is None else self._saved_json(row)

    def insert_saved(self, *, name: str, image_ref: str, size_bytes: int | None, source_instance_id: str,
                     container_template_id: str | None) -> dict[str, Any]:
        self._db.execute(
            "INSERT INTO saved_templates (name, image_ref, size_bytes, created_at, source_instance_id, "
            "container_template_id) VALUES (?, ?, ?, ?, ?, ?)",
            (name, image_ref, size_bytes, now_iso(), source_instance_id, container_template_id))
        saved = self.get_saved(name)
        assert saved is not None
        self._emit(SAVED_CREATED, saved)
        return saved

    def delete_saved(self, name: str) -> bool:
        deleted = self._db.execute("DELETE FROM saved_templates WHERE name = ?", (name,)).rowcount > 0
        if deleted:
            self._emit(SAVED_DELETED, {"name": name})
        return deleted

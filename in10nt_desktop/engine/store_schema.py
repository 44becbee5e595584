"""The engine's tables, and how a template row reads as the API's JSON.

Kept apart from the store's operations (engine/store.py) so the shape of a row is read in one place.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    image TEXT NOT NULL,
    registry_type TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    digest TEXT,
    size_bytes INTEGER,
    platform TEXT,
    layers INTEGER,
    progress_current INTEGER,
    progress_total INTEGER,
    needs_credentials INTEGER NOT NULL DEFAULT 0,
    engine_image TEXT
);
CREATE INDEX IF NOT EXISTS templates_created ON templates(created_at);
CREATE INDEX IF NOT EXISTS templates_created_id ON templates(created_at, id);
CREATE TABLE IF NOT EXISTS build_logs (
    template_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    at TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (template_id, n)
);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    template_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    request_hash TEXT
);
CREATE TABLE IF NOT EXISTS saved_templates (
    name TEXT PRIMARY KEY,
    image_ref TEXT NOT NULL,
    size_bytes INTEGER,
    created_at TEXT NOT NULL,
    source_instance_id TEXT,
    container_template_id TEXT
);
"""

TEMPLATE_COLUMNS = ("id, name, description, image, registry_type, status, error, created_at, updated_at, "
                     "digest, size_bytes, platform, layers, progress_current, progress_total, "
                     "build_count, needs_credentials, registry_username, started_at")


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def template_json(row: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "templateId": row[0], "name": row[1], "description": row[2], "image": row[3],
        "registryType": row[4], "status": row[5], "error": row[6], "createdAt": row[7], "updatedAt": row[8],
    }
    if row[9] is not None:
        out["digest"] = row[9]
    if row[10] is not None:
        out["sizeBytes"] = row[10]
    if row[11] is not None:
        out["platform"] = row[11]
    if row[12] is not None:
        out["layers"] = row[12]
    if row[13] is not None:
        out["progress"] = {"current": row[13], "total": row[14]}
    out.update(build_fields(row))
    return out


def build_fields(row: tuple[Any, ...]) -> dict[str, Any]:
    """What the build records add to a template (engine/build_records.py); the password is never stored."""
    return {"buildCount": row[15], "needsCredentials": bool(row[16]), "registryUsername": row[17],
            "startedAt": row[18]}


def encode(template: dict[str, Any]) -> bytes:
    return json.dumps(template, separators=(",", ":")).encode()

"""The store across versions, and what an Idempotency-Key is bound to."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from in10nt_desktop.engine.app import request_fingerprint
from in10nt_desktop.engine.store import Store

OLD_IDEMPOTENCY = "CREATE TABLE idempotency (key TEXT PRIMARY KEY, template_id TEXT NOT NULL, created_at TEXT NOT NULL)"


def test_a_store_from_before_request_hashes_opens_and_keeps_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "engine.sqlite3"
    db = sqlite3.connect(path)
    db.execute(OLD_IDEMPOTENCY)
    db.execute("INSERT INTO idempotency VALUES ('old-key', 'tmpl_old', '2024-01-01T00:00:00.000Z')")
    db.commit()
    db.close()
    store = Store(path)
    try:
        assert store.template_for_key("old-key") == ("tmpl_old", None)  # matches any body, as before
        t = store.insert_template(name="n", description=None, image="busybox", registry_type="dockerhub",
                                  needs_credentials=False, idempotency_key="new-key", request_hash="abc")
        assert store.template_for_key("new-key") == (t["templateId"], "abc")
    finally:
        store.close()
    Store(path).close()  # migrating twice is a no-op


def test_fingerprint_ignores_key_order_but_not_values() -> None:
    body = {"name": "a", "image": "busybox", "registryType": "dockerhub"}
    assert request_fingerprint(body) == request_fingerprint(dict(reversed(body.items())))
    assert request_fingerprint(body) != request_fingerprint({**body, "name": "b"})
    assert request_fingerprint(body) != request_fingerprint({**body, "description": "d"})


def test_fingerprint_leaves_the_password_out() -> None:
    # Credentials never reach the disk, not even as a hash: only the username is bound to the key.
    with_auth = {"name": "a", "image": "r.example/x:1", "registryType": "private",
                 "registryAuth": {"username": "u", "password": "hunter2"}}
    other_password = {**with_auth, "registryAuth": {"username": "u", "password": "other"}}
    other_user = {**with_auth, "registryAuth": {"username": "v", "password": "hunter2"}}
    assert request_fingerprint(with_auth) == request_fingerprint(other_password)
    assert request_fingerprint(with_auth) != request_fingerprint(other_user)

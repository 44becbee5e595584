"""The first rows of the last session's template list, kept for the next start.

The window shows them at its first paint, marked stale, before the SDK is even imported; the
server's first answer replaces them (app/template_loader.py). Only template rows are kept —
what the list answer said, never a credential (the SDK drops ``registryAuth`` before a row is
built) — and only the first ``CACHE_ROWS`` in the table's order: enough for a screenful or two,
small enough to read in a millisecond. One file per connection (its profile, its server, and for
the local engine its data dir), in the user's cache directory, readable by the user only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from in10nt_desktop.app.template_rows import TemplateRow

log = logging.getLogger(__name__)
CACHE_ROWS = 200           # rows kept: a few screenfuls
MAX_CACHE_BYTES = 1 << 20  # a file bigger than this is not ours (or is damaged): ignored
VERSION = 1


def cache_dir() -> Path:
    """``~/.cache/In10nt/In10nt Desktop`` on Linux (``XDG_CACHE_HOME`` respected), the platform's cache
    directory elsewhere."""
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation))


class RowCache:
    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def for_connection(cls, key: str, directory: Path | None = None) -> RowCache:
        """``key`` names the connection (profile, server, data dir); it is hashed into the file name."""
        name = hashlib.sha256(key.encode()).hexdigest()[:20]
        return cls((directory or cache_dir()) / "templates" / f"{name}.json")

    def load(self) -> list[TemplateRow]:
        """The cached rows, stale; none when there is no readable cache (never an error: it is only a cache)."""
        try:
            with open(self.path, "rb") as f:
                raw = f.read(MAX_CACHE_BYTES + 1)
            if len(raw) > MAX_CACHE_BYTES:
                return []
            data = json.loads(raw)
            if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("rows"), list):
                return []
            return [TemplateRow.from_json(item, stale=True) for item in data["rows"][:CACHE_ROWS]
                    if isinstance(item, dict)]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, TypeError, KeyError) as exc:
            log.info("template cache %s not used: %s", self.path, exc)
            return []

    def save(self, rows: Sequence[TemplateRow]) -> None:
        """Keep ``rows`` (the first ``CACHE_ROWS``): a private file (0600, in a 0700 folder), written whole
        and renamed into place by the one writer the engine's own files use."""
        from in10nt_desktop.engine.runtime_file import ensure_private_dir, write_private

        payload = json.dumps({"version": VERSION, "rows": [row.as_json() for row in rows[:CACHE_ROWS]]},
                             separators=(",", ":"))
        try:
            ensure_private_dir(self.path.parent)
            write_private(self.path, payload)
        except OSError as exc:
            log.info("template cache %s not written: %s", self.path, exc)
            with contextlib.suppress(OSError):
                self.path.with_suffix(self.path.suffix + ".tmp").unlink()

    def clear(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()

"""The shapes a list or an item answer may come in (bare, or wrapped in an envelope).

No pydantic here: ``http.py`` unwraps answers before any model sees them, and the desktop app
reads the template list without models at all.
"""

from __future__ import annotations

from typing import Any


def unwrap_list(payload: Any, *keys: str) -> list[Any]:
    """A list answer may be a bare array or an envelope; the hosted shape is not documented."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in (*keys, "data", "items", "results"):
            value = payload.get(key)
            if isinstance(value, list):
                return value
    raise ValueError("the server's list answer has no list in it")


def unwrap_item(payload: Any, *keys: str) -> Any:
    """A single item may also come wrapped (``{"template": {...}}``)."""
    if isinstance(payload, dict):
        for key in (*keys, "data"):
            value = payload.get(key)
            if isinstance(value, dict):
                return value
    return payload

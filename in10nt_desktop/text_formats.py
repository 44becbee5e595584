"""How sizes and ages read, for the CLI and the window alike (no Qt, no pydantic: the window's table
uses these before either the SDK or the CLI is imported)."""

from __future__ import annotations

from datetime import datetime


def human_size(n: int | None) -> str:
    """Decimal units, as registries and ``docker images`` print them: ``1.2 MB``; "" when unknown."""
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def build_words(status: str, phase: str | None = None, place: int | None = None,
                fraction: float | None = None) -> str:
    """A template's status as a terminal shows it: "queued (3rd)", "building: pulling 40%", "ready"."""
    if status != "building":
        return status
    if phase == "queued":
        return f"queued ({ordinal(place)})" if place else "queued"
    words = f"building: {phase}" if phase else "building"
    return f"{words} {fraction:.0%}" if fraction is not None else words


def relative_age(then: datetime, now: datetime) -> str:
    """How long ago, to the unit a person counts in: "just now", "5 min ago", "3 h ago", "4 days ago";
    the date after 30 days (and for a time ahead of ``now`` by more than a minute: a skewed clock
    must not read "-3 min ago")."""
    seconds = (now - then).total_seconds()
    if seconds < -60 or seconds >= 30 * 86400:
        return then.astimezone().strftime("%Y-%m-%d")
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86400)
    return "yesterday" if days == 1 else f"{days} days ago"

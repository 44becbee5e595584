"""``client.engine``: the local engine's own routes (ours; the hosted service has none of them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from in10nt_desktop.api.http import HttpCore


class EngineResource:
    def __init__(self, http: HttpCore) -> None:
        self._http = http

    async def info(self, timeout: float = 5.0) -> dict[str, Any]:
        """``/healthz``: version, active builds, event clients, whether it exits when idle."""
        data = await self._http.json("GET", "/healthz", retry=False, timeout=timeout)
        return data if isinstance(data, dict) else {}

    async def exit_when_idle(self, enabled: bool = True, owner_pid: int | None = None) -> None:
        """Ask the engine to stop by itself once no build runs (``False`` takes that back). ``owner_pid``:
        from now on the engine also stops once idle when that process is gone (the app taking it back)."""
        body: dict[str, Any] = {"enabled": enabled}
        if owner_pid is not None:
            body["ownerPid"] = owner_pid
        await self._http.json("POST", "/engine/exit-when-idle", json=body, retry=False)

    async def shutdown(self) -> None:
        """Stop the engine now: running builds are interrupted (resumed on its next start when they need
        no credentials)."""
        await self._http.json("POST", "/engine/shutdown", retry=False)

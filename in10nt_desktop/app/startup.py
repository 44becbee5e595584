"""Start-up in two steps: paint the first frame, then build the app behind it.

1. ``paint_first_frame`` (no event loop yet): read the rows the last session left for this
   connection and paint the window's first frame with them (ui/first_frame.py). Nothing else is
   imported on the way: not asyncio, the services, the SDK or httpx, not even the connection
   profiles on a plain start (the last session remembered which cache file a plain start opens).
2. ``Startup.complete`` (the event loop's first step): the connection profile, the services, the
   window's real widgets in place of the first frame, the app icon.

Why: a bare PySide6 window paints in ~90 ms here (~270 ms on a slow laptop); the whole window with
its services takes ~2.5x that before its first paint. The user sees the window, with the last
session's rows, at ~1.2-1.4x, and the live one ~150 ms later here.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings

from in10nt_desktop.app.row_cache import RowCache

if TYPE_CHECKING:
    import argparse

    from in10nt_desktop.app.app_services import AppServices
    from in10nt_desktop.app.profiles import Profile
    from in10nt_desktop.app.template_row import TemplateRow
    from in10nt_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)
# Which cache file a plain start (no --profile, no --base-url) paints first, and the IN10NT_DATA_DIR it
# was written under (another data dir is another local engine: its rows are not these).
LAST_CACHE = "startup/cache_file"
LAST_DATA_DIR = "startup/data_dir"


def icon_path() -> Path | None:
    here = Path(__file__).resolve()
    for base in (here.parents[2] / "resources", here.parents[1] / "resources",
                 Path(getattr(sys, "_MEIPASS", "")) / "resources"):
        candidate = base / "icons" / "in10nt-desktop.svg"
        if candidate.is_file():
            return candidate
    return None


def cache_for(profile: Profile | None, override: str | None, data_dir: Path) -> RowCache:
    """The row cache of one connection: its profile, its server, and for the local engine its data dir."""
    key = profile.key_account(override) if profile is not None else ""
    if profile is not None and profile.kind == "local" and override is None:
        key += f" {data_dir}"
    return RowCache.for_connection(key)


def pick_profile(args: argparse.Namespace, settings: QSettings) -> tuple[Profile, str | None] | str:
    """The connection to open (and the one-off URL, if any); a sentence if ``--profile`` names none."""
    from in10nt_desktop.app.profiles import Profile, ProfileStore

    store = ProfileStore(settings)
    profiles = store.load()
    wanted = args.profile or store.active_name()
    profile = next((p for p in profiles if p.name == wanted), None)
    if args.profile and profile is None:
        return f"no profile named {args.profile!r} (have: {', '.join(p.name for p in profiles)})"
    if args.base_url:  # a one-off URL: not remembered as the last connection
        return Profile("Command line", "custom", args.base_url), args.base_url
    return profile or profiles[0], None


def _remembered(settings: QSettings) -> RowCache | None:
    path, data_dir = settings.value(LAST_CACHE), settings.value(LAST_DATA_DIR)
    if isinstance(path, str) and path and data_dir == os.environ.get("IN10NT_DATA_DIR", ""):
        return RowCache(Path(path))
    return None


class Startup:
    """The painted first frame, and then the services and the whole window."""

    def __init__(self, args: argparse.Namespace, settings: QSettings, window: MainWindow,
                 picked: tuple[Profile, str | None] | None, rows: list[TemplateRow], painted: Path) -> None:
        self.args, self.settings, self.window, self._picked, self._rows = args, settings, window, picked, rows
        self._painted = painted  # the cache file ``rows`` were read from
        self.services: AppServices | None = None

    async def shown(self, limit: float = 0.5) -> None:
        """Return once the first frame is on screen (the window exposed, so painted), or after ``limit`` s.

        Offscreen a shown window is exposed at once; on X11 or Wayland the server says so a few ms later,
        and building the rest first would keep the first frame from ever being seen.
        """
        import asyncio

        from PySide6.QtCore import QEvent, QObject

        handle = self.window.windowHandle()
        if handle is None or handle.isExposed():
            return
        exposed = asyncio.get_running_loop().create_future()

        class Watch(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                # Seen before the window handles it: the future's callback runs after its paint.
                if event.type() == QEvent.Type.Expose and not exposed.done():
                    exposed.set_result(None)
                return False

        watch = Watch()
        handle.installEventFilter(watch)
        started = time.monotonic()
        try:
            await asyncio.wait_for(exposed, limit)
            log.debug("first frame exposed after %.0f ms", (time.monotonic() - started) * 1000)
        except TimeoutError:
            log.info("first frame not exposed after %.1f s: building the window anyway", limit)
        finally:
            handle.removeEventFilter(watch)

    @property
    def chosen(self) -> Profile:
        assert self._picked is not None, "complete() first"
        return self._picked[0]

    @property
    def override(self) -> str | None:
        return self._picked[1] if self._picked is not None else None

    def complete(self) -> AppServices:
        """The services (asyncio, the SDK, the connection) and the window's real widgets, in place of the
        first frame; the cached rows go into the store the table shows."""
        from PySide6.QtGui import QIcon
        from PySide6.QtWidgets import QApplication

        from in10nt_desktop.app.app_services import AppServices
        from in10nt_desktop.app.keychain import KeyStore
        from in10nt_desktop.app.local_engine import LocalEngine

        if self._picked is None:
            picked = pick_profile(self.args, self.settings)
            assert not isinstance(picked, str)  # only --profile can name a missing one, and it was checked
            self._picked = picked
        path = icon_path()
        icon = QIcon(str(path)) if path else None
        if icon is not None:
            QApplication.setWindowIcon(icon)
        self.services = services = AppServices(self.settings, KeyStore(), LocalEngine())
        rows, self._rows = self._rows, []
        # A plain start painted the remembered cache, and the active profile may have changed since (another
        # instance, or the profile was renamed or edited): then those rows are not this connection's.
        services.templates.show_cached(rows if cache_for(*self._picked, services.engine.data_dir).path
                                       == self._painted else [])
        self.window.complete(services, icon)
        # What start-up made (modules, the window) lives as long as the app: the collector's full passes
        # need not walk it again (one over everything takes tens of ms, a stall whenever it comes).
        gc.freeze()
        gc.enable()  # disabled by application.main while start-up built all this
        return services

    def save_rows(self) -> None:
        """At quit: keep the current connection's first rows for the next start (if its list loaded: else the
        cache keeps what an earlier session saw), and remember its cache for a plain start. Remembered even
        without rows: a switch to a connection that never answered must not leave the next start painting
        the previous connection's rows."""
        from in10nt_desktop.app.row_cache import CACHE_ROWS

        assert self.services is not None
        current = self.services.connection.profile  # the connection in use now (it may have changed)
        override = self.override if current == self.chosen else None
        cache = cache_for(current, override, self.services.engine.data_dir)
        if self.services.templates.store.loaded:
            cache.save(self.window.templates_page.model.top_rows(CACHE_ROWS))
        if override is None and current is not None and current.name == self.services.profiles.active_name():
            self.settings.setValue(LAST_CACHE, str(cache.path))
            self.settings.setValue(LAST_DATA_DIR, os.environ.get("IN10NT_DATA_DIR", ""))


def paint_first_frame(args: argparse.Namespace) -> Startup | str:
    """Paint the window's first frame: the last layout and the last session's rows, stale. A sentence
    instead when ``--profile`` names no profile."""
    from in10nt_desktop.ui.main_window import MainWindow

    settings = QSettings()
    picked: tuple[Profile, str | None] | None = None
    cache = None if args.profile or args.base_url else _remembered(settings)
    if cache is None:  # the profiles, and for the local engine its data dir, name the cache
        from in10nt_desktop.engine.runtime_file import default_data_dir

        found = pick_profile(args, settings)
        if isinstance(found, str):
            return found
        picked = found
        cache = cache_for(*picked, default_data_dir())
    rows = cache.load()
    window = MainWindow(None, settings, cached=rows)
    window.show()
    window.repaint()
    return Startup(args, settings, window, picked, rows, cache.path)

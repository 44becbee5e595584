"""Which remembered rows a plain start paints first (app/startup.py): only the last connection's.

The first frame of a plain start reads the cache file the last session remembered, before the profiles
are loaded; a session that switched to another connection must leave that connection's cache
remembered, also when its list never loaded (offline, a key missing), or the next start shows the rows
of a server that is no longer the one in use.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest
from fake_services import template_data
from gui_helpers import collect_qt_garbage, ini_settings, open_session  # noqa: F401 - autouse fixture

from in10nt_desktop.app.profiles import Profile
from in10nt_desktop.app.startup import Startup, _remembered, cache_for
from in10nt_desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.asyncio


async def test_a_switch_to_a_connection_whose_list_never_loaded_is_what_the_next_start_paints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where RowCache keeps its files
    monkeypatch.delenv("IN10NT_DATA_DIR", raising=False)
    settings = ini_settings(tmp_path / "s.ini")
    args = argparse.Namespace(profile=None, base_url=None)
    async with open_session(settings, tmp_path / "engine") as services:
        local = next(p for p in services.profiles.load() if p.kind == "local")
        window = MainWindow(services, settings)
        painted = cache_for(local, None, services.engine.data_dir).path
        startup = Startup(args, settings, window, (local, None), [], painted)
        startup.services = services
        # The first session: "This computer" listed "alpha", and the app quit.
        services.connection.profile = local
        services.templates.store.replace_all([template_data("alpha")], loaded=True)
        startup.save_rows()
        remembered = _remembered(settings)
        assert remembered is not None and [r.name for r in remembered.load()] == ["alpha"]

        # The next session switches to a server that never answers its list, and quits.
        staging = Profile("Staging", "custom", "http://127.0.0.1:9")
        services.templates.store.clear()
        services.connection.profile = staging
        services.profiles.set_active(staging.name)
        assert not services.templates.store.loaded
        startup.save_rows()
        remembered = _remembered(settings)
        assert remembered is not None and remembered.load() == [], "the next start would paint another server's rows"
        window._quit_decided = True
        window.close()
        window.deleteLater()
        await asyncio.sleep(0)

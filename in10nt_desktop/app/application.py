"""``in10nt-desktop``: start Qt on a qasync loop, connect, show the window, and shut down cleanly."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from in10nt_desktop import __version__

log = logging.getLogger("in10nt_desktop")
SELF_TEST_TIMEOUT = 90.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Our options; anything else is left in ``qt_args`` for Qt's own (``-style Fusion``,
    ``-platform xcb``, ``-reverse`` …), and what Qt does not take either is refused in ``main``."""
    parser = argparse.ArgumentParser(prog="in10nt-desktop", allow_abbrev=False,
                                     description="Build agent environments from any Docker image.",
                                     epilog="Qt's standard options (-style NAME, -platform NAME, -reverse, …) "
                                            "are accepted too.")
    parser.add_argument("--version", action="version", version=f"In10nt Desktop {__version__}")
    parser.add_argument("--profile", help="connection profile to open (default: the last one)")
    parser.add_argument("--base-url", help="connect to this In10nt API URL for this session")
    parser.add_argument("--self-test", action="store_true",
                        help="start offscreen, find or start the local engine, load the tables, exit 0 or 1")
    args, rest = parser.parse_known_args(argv)
    args.qt_args = rest
    args.usage = parser.format_usage()
    return args


def icon_path() -> Path | None:
    here = Path(__file__).resolve()
    for base in (here.parents[2] / "resources", here.parents[1] / "resources",
                 Path(getattr(sys, "_MEIPASS", "")) / "resources"):
        candidate = base / "icons" / "in10nt-desktop.svg"
        if candidate.is_file():
            return candidate
    return None


# ``in10nt`` command groups a frozen bundle runs as the CLI: it has no ``in10nt`` script, so the app
# starts its engine as ``in10nt-desktop engine serve`` (see local_engine.engine_command).
CLI_GROUPS = frozenset({"engine", "templates", "saved-templates", "instances"})


def _frozen_cli(argv: list[str]) -> bool:
    """In a bundle: a CLI command group, or the executable invoked as ``in10nt`` (the .deb's launcher)."""
    if not getattr(sys, "frozen", False):
        return False
    return (bool(argv) and argv[0] in CLI_GROUPS) or Path(sys.argv[0]).stem == "in10nt"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if _frozen_cli(argv):
        from in10nt_desktop.cli.main import main as cli_main  # before, and without, any Qt import

        return cli_main(argv)
    args = parse_args(argv)
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=os.environ.get("IN10NT_LOG", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Import the non-Qt stack first: once PySide6 is loaded, it reads the source of every module
    # imported after it (looking for ``__feature__`` use), which cost ~60 ms of start-up here.
    import httpx  # noqa: F401
    import pydantic  # noqa: F401
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    import in10nt_desktop.api  # noqa: F401
    from in10nt_desktop.app.event_loop import new_event_loop

    app = QApplication.instance() or QApplication([*sys.argv[:1], *args.qt_args])
    assert isinstance(app, QApplication)
    unknown = app.arguments()[1:] if args.qt_args else []  # what neither we nor Qt took
    if unknown:
        print(f"{args.usage}in10nt-desktop: error: unrecognized arguments: {' '.join(unknown)}", file=sys.stderr)
        return 2
    app.setApplicationName("In10nt Desktop")
    app.setOrganizationName("In10nt")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("in10nt-desktop")
    app.setQuitOnLastWindowClosed(False)  # the loop ends when the window has closed *and* cleanup ran
    path = icon_path()
    icon = QIcon(str(path)) if path else None
    if icon is not None:
        app.setWindowIcon(icon)
    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    with loop:
        code = int(loop.run_until_complete(_run(args, icon)))
        loop.run_until_complete(loop.shutdown_asyncgens())
        return code


async def _run(args: argparse.Namespace, icon: Any) -> int:
    from PySide6.QtCore import QSettings

    from in10nt_desktop.app.app_services import AppServices
    from in10nt_desktop.app.keychain import KeyStore
    from in10nt_desktop.app.local_engine import LocalEngine
    from in10nt_desktop.app.profiles import Profile
    from in10nt_desktop.ui.main_window import MainWindow

    settings = QSettings()
    services = AppServices(settings, KeyStore(), LocalEngine())
    _install_error_hooks(services)
    window = MainWindow(services, settings, icon)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    signalled = _quit_on_signals(closed, window)
    profiles = services.profiles.load()
    wanted = args.profile or services.profiles.active_name()
    profile = next((p for p in profiles if p.name == wanted), None)
    if args.profile and profile is None:
        print(f"in10nt-desktop: no profile named {args.profile!r} (have: {', '.join(p.name for p in profiles)})",
              file=sys.stderr)
        return 2
    window.show()
    if args.base_url:  # a one-off URL: not remembered as the last connection
        services.activate(Profile("Command line", "custom", args.base_url), args.base_url, remember=False)
    else:
        services.activate(profile or profiles[0])
    try:
        if args.self_test:
            return await _self_test(services, window)
        await closed.wait()
        return 0
    finally:
        if signalled.is_set() and services.builds_in_flight():
            # A logout or ``kill`` cannot be asked: never lose a build silently, leave the engine running.
            log.warning("quitting on a signal with %d builds in flight: the local engine keeps running",
                        services.builds_in_flight())
            services.keep_engine_running()
        window.close()
        await services.close()


async def _self_test(services: Any, window: Any) -> int:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SELF_TEST_TIMEOUT
    conn = services.connection
    while loop.time() < deadline:
        if conn.state == "online" and services.templates.store.loaded:
            window.repaint()  # painted with the list loaded: the moment the start-up benchmark measures
            t0 = os.environ.get("IN10NT_T0")  # set by bench/gui.py to the time it spawned this process
            timing = f"; painted {time.time() - float(t0):.3f} s after start" if t0 else ""
            from in10nt_desktop.platforms import peak_resident_memory_mb

            rss = peak_resident_memory_mb()
            print(f"self-test ok: {conn.where}, {len(services.templates.store)} templates{timing}; "
                  f"max RSS {rss:.0f} MB", flush=True)
            return 0
        if conn.state in ("offline", "needs_key", "engine_stopped"):
            print(f"self-test failed: {conn.state}: {conn.sentence}", file=sys.stderr, flush=True)
            return 1
        await asyncio.sleep(0.05)
    print(f"self-test failed: not connected after {SELF_TEST_TIMEOUT:.0f} s", file=sys.stderr)
    return 1


def _quit_on_signals(closed: asyncio.Event, owner: Any) -> asyncio.Event:
    """The signals that ask a process to quit here (SIGTERM/SIGINT on POSIX: a logout, ``kill``,
    Ctrl+C; SIGINT/SIGBREAK on Windows) end the app like closing its window, so the engine it
    started is stopped too. Python runs signal handlers only between bytecodes, so a short Qt
    timer gives it the chance while Qt's own loop is waiting."""
    import signal

    from PySide6.QtCore import QTimer

    from in10nt_desktop.platforms import quit_signals

    signalled = asyncio.Event()

    def on_signal(*_args: object) -> None:
        signalled.set()
        closed.set()

    for sig in quit_signals():
        signal.signal(sig, on_signal)
    timer = QTimer(owner)  # owned by the window: lives exactly as long as the app runs
    timer.timeout.connect(lambda: None)
    timer.start(250)
    return signalled


def _install_error_hooks(services: Any) -> None:
    """``asyncSlot`` and callback errors end up here; show them instead of losing them."""

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        log.error("unhandled error", exc_info=(kind, exc, tb))
        services.errors.report(exc)

    def loop_handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            excepthook(type(exc), exc, exc.__traceback__)
        else:
            log.error("event loop: %s", context.get("message"))

    sys.excepthook = excepthook
    asyncio.get_running_loop().set_exception_handler(loop_handler)

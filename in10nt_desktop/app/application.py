"""``in10nt-desktop``: start Qt on a qasync loop, connect, show the window, and shut down cleanly."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from in10nt_desktop.app.startup import Startup

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
    # Start-up allocates for good (modules, widgets) and leaves no cycles to find: the collector's ~100
    # passes over it (~12 ms) wait until start-up has been frozen out of its sight (startup.py).
    gc.disable()
    try:
        return _start(argv)
    finally:
        gc.enable()  # on again already once start-up is frozen; this is for the ways out before that


def _start(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(level=os.environ.get("IN10NT_LOG", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx tries to import its own command-line client at import time (click, pygments, rich: ~15 ms
    # on the way to the first list); the app never runs it, so that import fails at once instead.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from PySide6.QtWidgets import QApplication

    _skip_feature_scan()
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
    from in10nt_desktop.app.startup import paint_first_frame

    opened = paint_first_frame(args)
    if isinstance(opened, str):
        print(f"in10nt-desktop: {opened}", file=sys.stderr)
        return 2
    marks = _Marks(opened.window) if args.self_test else None
    import asyncio

    from in10nt_desktop.app.event_loop import new_event_loop  # qasync: after the first paint

    loop = new_event_loop(app)
    asyncio.set_event_loop(loop)
    with loop:
        running = loop.create_task(_run(args, opened, marks), name="app")
        try:
            code = int(loop.run_until_complete(running))
        except RuntimeError:
            if running.done():
                raise
            # Qt's loop ended under the app: the display went away (the X server or the session ended), so
            # nothing can be shown or asked. An engine this app started stops by itself once its builds are
            # done (it watches this process: app/local_engine.py).
            log.warning("the window system went away: quitting (the local engine stops by itself once idle)")
            return 1
        loop.run_until_complete(loop.shutdown_asyncgens())
        return code


def _skip_feature_scan() -> None:
    """Stop PySide6 reading the source of every module imported after it.

    For ``from __feature__ import snake_case`` (which this app does not use), PySide6 calls
    ``inspect.getsource`` on each newly imported module to see whether it names PySide6: ~0.3 ms a
    module, 20-40 ms for the window's modules and the SDK's (httpx alone is ~60 modules) on the way
    to the first list. Answering "no" marks a module "ignore" (-1) instead of "default features"
    (0), which PySide treats alike when no module selects a feature. A private hook: if a PySide6
    release renames it, this does nothing (PySide6 is pinned below 6.12 in pyproject.toml).
    """
    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        setattr(feature, "_mod_uses_pyside", lambda _module: False)  # noqa: B010 - a module mypy cannot see


def _since_start() -> float | None:
    """Seconds since ``IN10NT_T0`` (set by bench/gui.py to the moment it spawned this process)."""
    t0 = os.environ.get("IN10NT_T0")
    return time.time() - float(t0) if t0 else None


async def _run(args: argparse.Namespace, opened: Startup, marks: _Marks | None) -> int:
    import asyncio

    await opened.shown()
    services = opened.complete()
    window = opened.window
    _install_error_hooks(services)
    closed = asyncio.Event()
    window.closed.connect(closed.set)
    signalled = _quit_on_signals(closed, window)
    # Straight to the connection: ``services.activate`` would first clear the rows just painted (it is
    # for switching to another server, whose rows these are not).
    services.connection.activate(opened.chosen, opened.override, remember=not args.base_url)
    try:
        if marks is not None:
            return await _self_test(services, marks)
        await closed.wait()
        return 0
    finally:
        if signalled.is_set() and services.builds_in_flight():
            # A logout or ``kill`` cannot be asked: never lose a build silently, leave the engine running.
            log.warning("quitting on a signal with %d builds in flight: the local engine keeps running",
                        services.builds_in_flight())
            services.keep_engine_running()
        opened.save_rows()
        window.close()
        await services.close()


class _Marks:
    """When the window first painted, showed the first page of the list, and the whole list (--self-test):
    wall-clock seconds since ``IN10NT_T0``, and the process's CPU seconds at first paint and at the end."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.first_paint = _since_start()
        self.paint_cpu = time.process_time()
        if os.environ.get("IN10NT_MARK_PAINT"):  # bench/gui.py splits ``-X importtime`` output here
            print("-- first paint --", file=sys.stderr, flush=True)
        self.first_page: float | None = None
        self.loaded: float | None = None

    def page(self, _rows: int) -> None:
        if self.first_page is None:
            self.window.repaint()  # painted with the first page: the moment the benchmark measures
            self.first_page = _since_start()

    def text(self) -> str:
        if self.first_paint is None:
            return ""
        return (f"; first paint {self.first_paint:.3f} s, first page {self.first_page or 0:.3f} s, "
                f"list loaded {self.loaded or 0:.3f} s after start (CPU {self.paint_cpu:.3f} s, "
                f"{time.process_time():.3f} s)")


async def _self_test(services: Any, marks: _Marks) -> int:
    import asyncio

    conn = services.connection
    outcome = asyncio.Event()
    services.templates.page_loaded.connect(marks.page)
    services.templates.loaded.connect(outcome.set)
    conn.state_changed.connect(lambda state, _text: outcome.set() if state in _FAILED else None)
    try:
        await asyncio.wait_for(outcome.wait(), SELF_TEST_TIMEOUT)
    except TimeoutError:
        print(f"self-test failed: not connected after {SELF_TEST_TIMEOUT:.0f} s", file=sys.stderr)
        return 1
    if conn.state in _FAILED:
        print(f"self-test failed: {conn.state}: {conn.sentence}", file=sys.stderr, flush=True)
        return 1
    marks.window.repaint()  # painted with the list loaded
    marks.loaded = _since_start()
    from in10nt_desktop.platforms import peak_resident_memory_mb

    rss = peak_resident_memory_mb()
    print(f"self-test ok: {conn.where}, {len(services.templates.store)} templates{marks.text()}; "
          f"max RSS {rss:.0f} MB", flush=True)
    return 0


_FAILED = ("offline", "needs_key", "engine_stopped")


def _quit_on_signals(closed: asyncio.Event, owner: Any) -> asyncio.Event:
    """The signals that ask a process to quit here (SIGTERM/SIGINT on POSIX: a logout, ``kill``,
    Ctrl+C; SIGINT/SIGBREAK on Windows) end the app like closing its window, so the engine it
    started is stopped too. Python runs signal handlers only between bytecodes, so a short Qt
    timer gives it the chance while Qt's own loop is waiting."""
    import asyncio
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

    import asyncio

    sys.excepthook = excepthook
    asyncio.get_running_loop().set_exception_handler(loop_handler)

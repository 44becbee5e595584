"""PyInstaller entry script: the ``in10nt-desktop`` executable of the bundle.

``in10nt-desktop`` opens the app; ``in10nt-desktop engine serve …`` (and the other ``in10nt``
command groups) run the CLI instead, which is how the app starts its own engine from a bundle
(see ``in10nt_desktop.app.application.main``).

``in10nt-desktop --bundle-check [--keyring-roundtrip]`` checks what freezing tends to lose and exits
0 or 1 (packaging/check_deb.sh and the release workflow run it): keyring's backends, found through
entry points; uvicorn's implementations, imported by name; Qt's platform plugins; on Windows the
console twin ``in10nt.exe``.
"""

from __future__ import annotations

import sys


def bundle_check(argv: list[str]) -> int:
    import importlib
    import os
    from importlib.metadata import entry_points
    from pathlib import Path

    problems: list[str] = []
    print(f"frozen: {getattr(sys, 'frozen', False)}; executable: {sys.executable}")

    eps = sorted(ep.name for ep in entry_points(group="keyring.backends"))
    print(f"keyring entry points: {', '.join(eps) or 'none'}")
    if not eps:
        problems.append("keyring.backends entry points are missing (dist-info metadata not bundled)")
    import keyring.backend

    viable = [f"{type(k).__module__}.{type(k).__name__}" for k in keyring.backend.get_all_keyring()]
    known = sorted(f"{c.__module__}.{c.__name__}" for c in getattr(keyring.backend.KeyringBackend, "_classes", ()))
    print(f"keyring backends: {', '.join(known) or 'none'}")
    print(f"keyring viable here: {', '.join(viable) or 'none'}")
    wanted = {"linux": "keyring.backends.SecretService", "win32": "keyring.backends.Windows",
              "darwin": "keyring.backends.macOS"}.get(sys.platform)
    if wanted:
        try:
            importlib.import_module(wanted)
        except ImportError as exc:
            problems.append(f"{wanted} does not import: {exc}")
    if "--keyring-roundtrip" in argv:
        import keyring

        kr = keyring.get_keyring()
        name = f"{type(kr).__module__}.{type(kr).__name__}"
        try:
            keyring.set_password("in10nt-desktop-bundle-check", "probe", "s3cret")
            got = keyring.get_password("in10nt-desktop-bundle-check", "probe")
            keyring.delete_password("in10nt-desktop-bundle-check", "probe")
        except Exception as exc:  # reported, not raised
            problems.append(f"keyring round trip through {name} failed: {type(exc).__name__}: {exc}")
        else:
            print(f"keyring round trip through {name}: {'ok' if got == 's3cret' else 'WRONG VALUE'}")
            if got != "s3cret":
                problems.append(f"keyring round trip through {name} returned {got!r}")

    for mod in ("uvicorn.loops.auto", "uvicorn.protocols.http.auto", "uvicorn.lifespan.on", "fastapi", "docker",
                "platformdirs", "psutil", "in10nt_desktop.platforms", "in10nt_desktop.engine.server",
                "in10nt_desktop.ui.main_window"):
        try:
            importlib.import_module(mod)
        except ImportError as exc:
            problems.append(f"{mod} does not import: {exc}")
    missing = [p for p in problems if "does not import" in p]
    print("engine modules: MISSING" if missing else "engine modules: imported")

    base = Path(getattr(sys, "_MEIPASS", Path(__file__).resolve().parents[1]))
    plugins = sorted(p.name for p in base.glob("PySide6/**/plugins/platforms/*"))
    print(f"Qt platform plugins: {', '.join(plugins) or 'none'}")
    need = {"linux": ("qxcb", "qoffscreen"), "win32": ("qwindows", "qoffscreen"),
            "darwin": ("qcocoa", "qoffscreen")}.get(sys.platform, ())
    for n in need:
        if getattr(sys, "frozen", False) and not any(n in p for p in plugins):
            problems.append(f"Qt platform plugin {n} is not in the bundle")
    if getattr(sys, "frozen", False) and sys.platform == "win32":
        twin = Path(sys.executable).with_name("in10nt.exe")
        print(f"console twin: {'found' if twin.is_file() else 'MISSING'} ({twin})")
        if not twin.is_file():
            problems.append(f"{twin} is missing: `in10nt` would print nothing in a console")
    icon = base / "resources" / "icons" / "in10nt-desktop.svg"
    print(f"icon: {'found' if icon.is_file() else 'MISSING'} ({icon})")
    if not icon.is_file():
        problems.append(f"{icon} is missing")
    print(f"LANG={os.environ.get('LANG', '')}")
    for p in problems:
        print(f"bundle-check: {p}", file=sys.stderr)
    print("bundle-check ok" if not problems else "bundle-check FAILED", flush=True)
    return 1 if problems else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--bundle-check"]:
        sys.exit(bundle_check(sys.argv[2:]))
    from in10nt_desktop.app.application import main

    sys.exit(main())

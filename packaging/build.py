#!/usr/bin/env python3
"""Build the In10nt Desktop bundle and the Linux .deb.

    python packaging/build.py bundle   # PyInstaller one-folder bundle: packaging/dist/in10nt-desktop/
    python packaging/build.py deb      # the bundle, then packaging/dist/in10nt-desktop_<version>_<arch>.deb

The build runs in its own virtualenv (packaging/build/venv: the project's runtime dependencies and a
pinned PyInstaller, nothing from the dev extras), made with the Python that runs this script; give
``--python PATH`` to use an interpreter that already has both instead. On Linux that Python must be a
shared-library build (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared). Windows and macOS use ``bundle``
(the installers are made from it by packaging/windows/ and packaging/macos/, see the release workflow).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
BUILD = PACKAGING / "build"
DIST = PACKAGING / "dist"
SPEC = PACKAGING / "in10nt-desktop.spec"
NAME = "in10nt-desktop"
PYINSTALLER = "pyinstaller==6.22.*"
INSTALL_DIR = f"/opt/{NAME}"

# The libraries the bundle leaves to the system (the spec's SYSTEM_LIBS) and what the Qt xcb and
# offscreen plugins load; names valid on Debian 12 and Ubuntu 22.04/24.04 (t64 names as alternatives).
DEPENDS = [
    "libc6",  # (>= the newest GLIBC_ symbol version the bundle uses; filled in by deb())
    "libstdc++6", "libgcc-s1",
    "libegl1", "libgl1",
    "libfontconfig1", "libfreetype6", "fonts-dejavu-core | fonts-liberation2 | fonts-noto-core",
    "libglib2.0-0t64 | libglib2.0-0", "libdbus-1-3",
    "libx11-6", "libx11-xcb1", "libxkbcommon0", "libxkbcommon-x11-0",
    "libxcb1", "libxcb-cursor0", "libxcb-glx0", "libxcb-icccm4", "libxcb-image0", "libxcb-keysyms1",
    "libxcb-randr0", "libxcb-render0", "libxcb-render-util0", "libxcb-shape0", "libxcb-shm0", "libxcb-sync1",
    "libxcb-util1", "libxcb-xfixes0", "libxcb-xkb1",
]
RECOMMENDS = ["gnome-keyring | kwalletmanager", "podman | docker.io | docker-ce"]


def log(msg: str) -> None:
    print(f"== {msg}", flush=True)


def run(cmd: list[str], **kw: object) -> None:
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)  # type: ignore[call-overload]


def version() -> str:
    text = (ROOT / "in10nt_desktop" / "__init__.py").read_text()
    m = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    if not m:
        raise SystemExit("no __version__ in in10nt_desktop/__init__.py")
    return m.group(1)


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if not p.is_dir())


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


# ---------------------------------------------------------------- build environment
def build_python(args: argparse.Namespace) -> Path:
    if args.python:
        return Path(args.python)
    venv = BUILD / "venv"
    py = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    stamp = venv / ".in10nt-deps"
    want = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + PYINSTALLER.encode()).hexdigest()
    if not py.exists():
        log(f"creating the build virtualenv {venv.relative_to(ROOT)}")
        run([sys.executable, "-m", "venv", venv])
    if not stamp.exists() or stamp.read_text() != want:
        log("installing the app's dependencies and PyInstaller into it")
        run([py, "-m", "pip", "install", "-q", "--upgrade", "pip"])
        # The package itself comes from the source tree (the spec puts ROOT on the path); only its
        # dependencies are installed, so an old copy in site-packages never shadows the tree.
        deps = subprocess.run([sys.executable, "-c", _READ_DEPS, str(ROOT / "pyproject.toml")], check=True,
                              capture_output=True, text=True).stdout.split("\n")
        run([py, "-m", "pip", "install", "-q", PYINSTALLER, *[d for d in deps if d.strip()]])
        stamp.write_text(want)
    return py


# The whole app: the base dependencies and the [engine] and [gui] extras (the bundle is both).
_READ_DEPS = """
import sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
extras = project["optional-dependencies"]
print("\\n".join(project["dependencies"] + extras["engine"] + extras["gui"]))
"""


def check_python(py: Path) -> None:
    if sys.platform.startswith("linux"):
        shared = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_config_var('Py_ENABLE_SHARED'))"],
                                check=True, capture_output=True, text=True).stdout.strip()
        if shared != "1":
            raise SystemExit(f"{py} is not a shared-library Python build; PyInstaller needs one "
                             "(pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.11)")


# ---------------------------------------------------------------- bundle
def bundle(args: argparse.Namespace) -> Path:
    if sys.platform.startswith("linux") and shutil.which("objdump") is None:
        raise SystemExit("objdump is needed to trim the bundle and check its libraries: apt-get install binutils")
    py = build_python(args)
    check_python(py)
    log("PyInstaller (packaging/in10nt-desktop.spec)")
    t0 = time.monotonic()
    work = BUILD / "pyinstaller"
    run([py, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", args.pyinstaller_log,
         "--distpath", DIST, "--workpath", work, SPEC], cwd=ROOT)
    seconds = time.monotonic() - t0
    out = DIST / ("In10nt Desktop.app" if sys.platform == "darwin" else NAME)
    if not out.exists():
        raise SystemExit(f"PyInstaller did not produce {out}")
    if sys.platform.startswith("linux"):
        check_bundle_libs(out)
    print(f"bundle: {out.relative_to(ROOT)} {mb(du(out))} ({seconds:.0f} s)", flush=True)
    args.timings["bundle"] = seconds
    return out


def elf_files(root: Path) -> list[Path]:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    out.append(p)
    return out


def needed(path: Path) -> list[str]:
    text = subprocess.run(["objdump", "-p", str(path)], capture_output=True, text=True).stdout
    return re.findall(r"^\s*NEEDED\s+(\S+)", text, re.M)


def check_bundle_libs(root: Path) -> dict[str, list[str]]:
    """Every library a bundled ELF file links must be in the bundle or be a system library the .deb
    depends on; returns {system library: [bundled files that link it]}."""
    bundled = {p.name for p in root.rglob("*") if p.is_file() or p.is_symlink()}
    external: dict[str, list[str]] = {}
    for f in elf_files(root):
        for lib in needed(f):
            if lib not in bundled:
                external.setdefault(lib, []).append(str(f.relative_to(root)))
    return external


def glibc_needed(root: Path) -> str:
    """The newest GLIBC_x.y symbol version any bundled ELF file needs (dpkg-shlibdeps would say the same)."""
    newest = (2, 17)
    for f in elf_files(root):
        text = subprocess.run(["objdump", "-T", str(f)], capture_output=True, text=True).stdout
        for major, minor in re.findall(r"GLIBC_(\d+)\.(\d+)", text):
            newest = max(newest, (int(major), int(minor)))
    return f"{newest[0]}.{newest[1]}"


def depends_list() -> list[str]:
    """DEPENDS with one package per line, alternatives as "a | b" (for check_deb.sh to install them)."""
    return [d for d in DEPENDS if not d.startswith("libc6")]


def deb_check_depends(external: dict[str, list[str]]) -> None:
    """Map each system library the bundle links to its Debian package (dpkg -S, like dpkg-shlibdeps)
    and fail if DEPENDS does not name that package."""
    ldconfig = subprocess.run(["/sbin/ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    paths: dict[str, str] = {}
    for m in re.finditer(r"^\s*(\S+) \(libc6,x86-64[^)]*\) => (\S+)$", ldconfig, re.M):
        paths.setdefault(m.group(1), m.group(2))
    allowed = {alt.split()[0].strip() for dep in DEPENDS for alt in dep.split("|")}
    problems = []
    for lib, users in sorted(external.items()):
        path = paths.get(lib)
        if path is None:
            problems.append(f"{lib} (linked by {users[0]}) is neither bundled nor installed here")
            continue
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(path)], capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
        pkg = owner.stdout.split(":", 1)[0].strip() if owner.returncode == 0 else None
        base = re.sub(r"t64$", "", pkg or "")
        if pkg is None:
            problems.append(f"{lib} ({path}) belongs to no Debian package")
        elif pkg not in allowed and base not in allowed:
            problems.append(f"{lib} is in package {pkg}, which Depends does not name (linked by {users[0]})")
    if problems:
        raise SystemExit("the .deb's Depends is incomplete:\n  " + "\n  ".join(problems))
    print(f"depends: the bundle links {len(external)} system libraries, all from packages in Depends", flush=True)


# ---------------------------------------------------------------- .deb
LAUNCHER = f"""#!/bin/sh
# In10nt Desktop launcher (the app is a PyInstaller bundle in {INSTALL_DIR}).
# Qt warns about and misbehaves in the C/POSIX locale: use UTF-8 unless the user chose a locale.
if [ -z "${{LANG:-}}" ] && [ -z "${{LC_ALL:-}}" ]; then
    LANG=C.UTF-8
    export LANG
fi
exec {INSTALL_DIR}/{NAME} "$@"
"""

CLI_LAUNCHER = f"""#!/bin/bash
# The in10nt command line, from the In10nt Desktop bundle: called as "in10nt" (bash's exec -a sets
# argv[0]), the bundle's executable runs the CLI instead of the app.
if [ -z "${{LANG:-}}" ] && [ -z "${{LC_ALL:-}}" ]; then
    LANG=C.UTF-8
    export LANG
fi
exec -a in10nt {INSTALL_DIR}/{NAME} "$@"
"""

POSTINST = """#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f /usr/share/icons/hicolor/index.theme ]; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""

POSTRM = """#!/bin/sh
set -e
if [ "$1" = "remove" ] || [ "$1" = "purge" ]; then
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q /usr/share/applications || true
    fi
    if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f /usr/share/icons/hicolor/index.theme ]; then
        gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    fi
fi
exit 0
"""


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)


def deb(args: argparse.Namespace) -> Path:
    if not sys.platform.startswith("linux") or shutil.which("dpkg-deb") is None:
        raise SystemExit("the .deb is built on Debian/Ubuntu (dpkg-deb)")
    bundle_dir = bundle(args)
    external = check_bundle_libs(bundle_dir)
    deb_check_depends(external)
    glibc = glibc_needed(bundle_dir)
    print(f"depends: libc6 (>= {glibc}), the newest GLIBC_ symbol version the bundle uses", flush=True)
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    ver = version()
    log(f".deb {NAME} {ver} {arch}")
    stage = BUILD / "debroot"
    shutil.rmtree(stage, ignore_errors=True)
    opt = stage / INSTALL_DIR.lstrip("/")
    shutil.copytree(bundle_dir, opt, symlinks=True)
    write(stage / "usr/bin" / NAME, LAUNCHER, 0o755)
    write(stage / "usr/bin/in10nt", CLI_LAUNCHER, 0o755)
    apps = stage / "usr/share/applications"
    apps.mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / f"{NAME}.desktop", apps / f"{NAME}.desktop")
    icons = stage / "usr/share/icons/hicolor"
    (icons / "scalable/apps").mkdir(parents=True)
    shutil.copy2(ROOT / "resources/icons" / f"{NAME}.svg", icons / "scalable/apps" / f"{NAME}.svg")
    for png in sorted((ROOT / "resources/icons/hicolor").glob(f"*/apps/{NAME}.png")):
        dest = icons / png.relative_to(ROOT / "resources/icons/hicolor")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(png, dest)
    doc = stage / "usr/share/doc" / NAME
    doc.mkdir(parents=True)
    write(doc / "copyright", "In10nt Desktop\nLicense: MIT\n\nThe bundle in /opt/in10nt-desktop also contains "
          "Python, Qt (LGPLv3) via PySide6 (LGPLv3) and the Python packages listed in its _internal folder, "
          "each under its own license.\n")
    for p in stage.rglob("*"):  # plain permissions whatever the umask was
        if p.is_symlink():
            continue
        p.chmod(0o755 if p.is_dir() or os.access(p, os.X_OK) else 0o644)
    # md5sums (dpkg --verify uses it)
    sums = []
    for p in sorted(stage.rglob("*")):
        if p.is_file() and not p.is_symlink():
            sums.append(f"{hashlib.md5(p.read_bytes()).hexdigest()}  {p.relative_to(stage)}")
    installed_kb = (du(stage) + 1023) // 1024
    control = "\n".join([
        f"Package: {NAME}",
        f"Version: {ver}",
        "Section: devel",
        "Priority: optional",
        f"Architecture: {arch}",
        f"Installed-Size: {installed_kb}",
        f"Maintainer: {os.environ.get('DEB_MAINTAINER', 'In10nt Desktop maintainers <maintainers@in10nt.invalid>')}",
        f"Depends: {', '.join(f'libc6 (>= {glibc})' if d == 'libc6' else d for d in DEPENDS)}",
        f"Recommends: {', '.join(RECOMMENDS)}",
        "Description: build custom agent environments from any Docker image",
        " In10nt Desktop is a desktop app, a command line (in10nt) and a local engine that",
        " builds agent environment templates from Docker images and runs them as",
        " containers through Docker or Podman. It starts its local engine itself.",
        "",
    ])
    write(stage / "DEBIAN/control", control)
    write(stage / "DEBIAN/md5sums", "\n".join(sums) + "\n")
    write(stage / "DEBIAN/postinst", POSTINST, 0o755)
    write(stage / "DEBIAN/postrm", POSTRM, 0o755)
    DIST.mkdir(parents=True, exist_ok=True)
    out = DIST / f"{NAME}_{ver}_{arch}.deb"
    t0 = time.monotonic()
    comp = ["-Z", args.compress] + (["-z", str(args.level)] if args.compress != "none" else [])
    run(["dpkg-deb", "--root-owner-group", *comp, "--build", stage, out])
    args.timings[f"dpkg-deb -Z{args.compress} -z{args.level}"] = time.monotonic() - t0
    if not args.keep_stage:
        shutil.rmtree(stage)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", choices=["bundle", "deb", "depends"],
                        help="depends: print the .deb's Depends, one a line (for installing them)")
    parser.add_argument("--python", help="interpreter with the app's dependencies and PyInstaller (default: make "
                        "packaging/build/venv)")
    parser.add_argument("--compress", choices=["xz", "zstd", "gzip", "none"], default="xz",
                        help=".deb compression (default xz)")
    parser.add_argument("--level", type=int, default=6, help="compression level (default 6; dpkg-deb's own "
                        "default for xz)")
    parser.add_argument("--keep-stage", action="store_true", help="keep packaging/build/debroot")
    parser.add_argument("--pyinstaller-log", default="WARN", help="PyInstaller --log-level (default WARN)")
    args = parser.parse_args(argv)
    args.timings = {}
    if args.target == "depends":
        print("\n".join(depends_list()))
        return 0
    t0 = time.monotonic()
    if args.target == "bundle":
        out = bundle(args)
    else:
        out = deb(args)
    total = time.monotonic() - t0
    print()
    bundle_dir = DIST / ("In10nt Desktop.app" if sys.platform == "darwin" else NAME)
    print(f"bundle   {bundle_dir.relative_to(ROOT)}: {mb(du(bundle_dir))}")
    if args.target == "deb":
        print(f"package  {out.relative_to(ROOT)}: {mb(du(out))}")
    for what, seconds in args.timings.items():
        print(f"time     {what}: {seconds:.0f} s")
    print(f"time     total: {total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

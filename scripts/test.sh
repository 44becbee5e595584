#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine, as CI runs it:
#   1. installs the Debian packages the real parts need (registry, podman, Qt's libraries),
#   2. makes a virtualenv in .venv and installs the project with its dev extras, the tools that
#      gate this script pinned by constraints/dev.txt,
#   3. runs ruff, mypy (for Linux, Windows and macOS), the workflow checks (GitHub's workflow
#      schema, zizmor), then pytest. The pytest fixtures start the real parts
#      (docker-registry x3, a token issuer, podman's API service, the local engine) on
#      127.0.0.1 and stop them at the end; this script kills any that a crash left behind.
# What the parts are and how they are set up: docs/test-stack.md. Arguments go to pytest
# (`bash scripts/test.sh -m "not stack"` is the fast tier).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

# Run with sudo (the real parts run as root, as in CI), the checkout -- .venv and the caches this
# script makes in it -- goes back to the user who ran sudo at the end.
give_back() {
  if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_UID:-}" ]; then chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "$ROOT"; fi
}
trap give_back EXIT

APT_PKGS=(
  python3-venv docker-registry podman runc conmon busybox-static skopeo curl ca-certificates
  # a real Secret Service for the registry-login vault test: gnome-keyring in a private D-Bus session
  gnome-keyring dbus-daemon
  # Qt (PySide6) offscreen and under Xvfb; see docs/test-stack.md
  xvfb libegl1 libgl1 libfontconfig1 libfreetype6 libglib2.0-0 libdbus-1-3 fonts-dejavu-core
  libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 libxcb-xfixes0
  libxcb-sync1 libxcb-shm0 libxcb-util1
  # what a screen reader reads, through the accessibility bus (tests/gui/test_accessibility_tree.py)
  dbus at-spi2-core python3-pyatspi
)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "== installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
for tool in docker-registry podman runc skopeo curl gnome-keyring-daemon dbus-run-session; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing after the install step" >&2; exit 1; }
done

PY=${PYTHON:-python3}
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: $PY is older than Python 3.11; run with PYTHON=/path/to/python3.11" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$PY" -m venv .venv
fi
echo "== installing the project into .venv"
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -c constraints/dev.txt -e '.[dev]'

echo "== ruff"
.venv/bin/ruff check in10nt_desktop tests bench
echo "== mypy (Linux, then as on Windows and on macOS: resource, fcntl, AF_UNIX, os.killpg and friends)"
.venv/bin/mypy
.venv/bin/mypy --platform win32
.venv/bin/mypy --platform darwin
echo "== workflows: GitHub's schema, then zizmor's audit (offline: no GitHub API calls)"
.venv/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
.venv/bin/zizmor --offline --no-progress .github/workflows

# Anything the fixtures started lives under this directory; a crash cannot leave it running.
export TMPDIR="${TMPDIR:-/tmp}"
STACK_BASE=$(mktemp -d "$TMPDIR/in10nt-tests.XXXXXX")
cleanup() {
  pkill -f -- "$STACK_BASE" 2>/dev/null || true
  sleep 0.5
  pkill -9 -f -- "$STACK_BASE" 2>/dev/null || true
  awk -v base="$STACK_BASE" '$2 ~ "^"base {print $2}' /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$STACK_BASE"
  give_back
}
trap cleanup EXIT

echo "== pytest"
QT_QPA_PLATFORM=offscreen .venv/bin/python -m pytest -p no:cacheprovider --basetemp="$STACK_BASE/pytest" "$@"

#!/usr/bin/env bash
# End-to-end check of the Linux package, as a user would meet it (Debian/Ubuntu, as root or with sudo):
#   1. builds the .deb (python packaging/build.py deb),
#   2. installs it with dpkg -i (apt-get install -f for missing Depends),
#   3. runs the installed `in10nt-desktop --self-test` in a clean environment (env -i: HOME, PATH,
#      LANG=C.UTF-8): offscreen, it starts the bundled engine as a child, loads the tables, stops it,
#   4. the same under Xvfb with the xcb platform plugin (the system X libraries from Depends),
#   5. the bundle's own checks (keyring entry points, uvicorn, Qt plugins) and a keychain round trip
#      through gnome-keyring in a D-Bus session, the launcher's LANG and the `in10nt` CLI launcher,
#   6. desktop-file-validate on the installed .desktop entry, its Exec and Icon,
#   7. purges the package (dpkg -P) and checks that nothing of it is left.
# Exits non-zero naming the failed step. Whatever it started is stopped and the package purged on exit.
#
#   bash packaging/check_deb.sh            # build + check
#   DEB=path/to.deb bash packaging/check_deb.sh   # check a .deb built earlier
#   CLEAN=1 ...                            # also remove packaging/build and packaging/dist afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PKG=in10nt-desktop
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

passed=0; failed=0; installed=0; xvfb_pid=""
WORK=$(mktemp -d "${TMPDIR:-/tmp}/in10nt-deb-check.XXXXXX")
step() { printf '\n== %s\n' "$*"; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() {
  failed=$((failed + 1))
  echo "FAILED: $*" >&2
  exit 1
}
cleanup() {
  local rc=$?
  set +e
  if [ -n "$xvfb_pid" ] && kill -0 "$xvfb_pid" 2>/dev/null; then kill "$xvfb_pid"; wait "$xvfb_pid" 2>/dev/null; fi
  # an engine a failed self-test left behind: it runs from the package and has a data dir under $WORK
  for pid in $(pgrep -f -- "$WORK" 2>/dev/null); do kill "$pid" 2>/dev/null; done
  if [ "$installed" = 1 ] && dpkg -s "$PKG" >/dev/null 2>&1; then
    echo "cleanup: purging $PKG"
    $SUDO dpkg -P "$PKG" >/dev/null
  fi
  rm -rf "$WORK"
  if [ "${CLEAN:-0}" = 1 ]; then rm -rf "$ROOT/packaging/build" "$ROOT/packaging/dist"; fi
  echo
  [ "$rc" -eq 0 ] || echo "packaging check failed (exit $rc)" >&2
  echo "packaging: $passed passed, $failed failed"
  exit "$rc"
}
trap cleanup EXIT

step "tools and the package's Depends (the build maps each library the bundle links to its package)"
need=()
command -v desktop-file-validate >/dev/null || need+=(desktop-file-utils)
command -v objdump >/dev/null || need+=(binutils)
command -v Xvfb >/dev/null || need+=(xvfb)
command -v gnome-keyring-daemon >/dev/null || need+=(gnome-keyring)
command -v dbus-run-session >/dev/null || need+=(dbus)
updated=0
apt_update() { [ "$updated" = 1 ] || { $SUDO apt-get update -qq; updated=1; }; }
while IFS= read -r dep; do   # "a | b": the first alternative this distribution has
  pick=""
  IFS='|' read -ra alts <<<"$dep"
  for alt in "${alts[@]}"; do
    alt=$(echo "$alt" | awk '{print $1}')
    if dpkg -s "$alt" >/dev/null 2>&1; then pick=""; break; fi
    if [ -z "$pick" ]; then
      apt-cache show "$alt" >/dev/null 2>&1 || { apt_update; apt-cache show "$alt" >/dev/null 2>&1; } && pick=$alt
    fi
  done
  [ -n "$pick" ] && need+=("$pick")
done < <("${PYTHON:-python3}" packaging/build.py depends)
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  apt_update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if dpkg -s "$PKG" >/dev/null 2>&1; then
  if [ "${CI:-}" = "true" ]; then
    # CI's machine: a leftover of an interrupted earlier check, not a user's install.
    echo "note: purging a leftover $PKG before the check"
    $SUDO dpkg -P "$PKG" >/dev/null
  else
    fail "$PKG is already installed on this machine; this check installs and purges it, so remove it first (dpkg -P $PKG)"
  fi
fi
ok "desktop-file-validate, objdump, Xvfb, gnome-keyring, dbus-run-session and the Depends are installed"

if [ -z "${DEB:-}" ]; then
  step "build: python packaging/build.py deb"
  t0=$SECONDS
  "${PYTHON:-python3}" packaging/build.py deb 2>&1 | grep -v "^WARNING: Location 'file:" \
    || fail "packaging/build.py deb"
  DEB=$(ls -t packaging/dist/"${PKG}"_*.deb | head -1)
  ok "built $DEB in $((SECONDS - t0)) s"
fi
[ -f "$DEB" ] || fail "no .deb at $DEB"
size_mb=$(( $(stat -c %s "$DEB") / 1000000 ))
[ "$size_mb" -lt 60 ] || fail "$DEB is $size_mb MB; the target is under 60 MB"
ok "$(basename "$DEB"): $size_mb MB (target < 60 MB)"

step "install: dpkg -i"
installed=1
if ! $SUDO dpkg -i "$DEB"; then
  echo "dpkg -i left dependencies unmet; apt-get install -f"
  $SUDO apt-get install -f -y -qq >/dev/null || fail "apt-get install -f could not satisfy the Depends"
fi
dpkg -s "$PKG" | grep -q "^Status: install ok installed" || fail "$PKG is not installed after dpkg -i"
for f in /usr/bin/in10nt-desktop /usr/bin/in10nt /opt/in10nt-desktop/in10nt-desktop \
         /usr/share/applications/in10nt-desktop.desktop /usr/share/icons/hicolor/scalable/apps/in10nt-desktop.svg \
         /usr/share/icons/hicolor/{16x16,32x32,48x48,64x64,128x128,256x256}/apps/in10nt-desktop.png; do
  [ -e "$f" ] || fail "the package did not install $f"
done
ok "installed $(dpkg-query -W -f '${Version}' "$PKG"): launcher, bundle, .desktop entry and icons in place"

clean_env() {  # clean_env HOME CMD...: what a fresh login would give the app, and nothing from this shell
  local home=$1; shift
  env -i HOME="$home" PATH=/usr/bin:/bin LANG=C.UTF-8 "$@"
}

step "self-test (offscreen) in a clean environment"
H1=$WORK/home-offscreen; mkdir -p "$H1"
out=$(cd / && clean_env "$H1" timeout 120 in10nt-desktop --self-test 2>"$WORK/selftest.err") \
  || { cat "$WORK/selftest.err" >&2; fail "in10nt-desktop --self-test exited $? ($out)"; }
echo "$out"
grep -q "^self-test ok" <<<"$out" || fail "no 'self-test ok' line"
engine_log=$(find "$H1" -name engine.log | head -1)
[ -n "$engine_log" ] || fail "the self-test did not start the bundled engine (no engine.log under the clean HOME)"
grep -q "In10nt engine ready" "$engine_log" || { cat "$engine_log" >&2; fail "the bundled engine did not announce itself"; }
grep -q "Finished server process" "$engine_log" || { cat "$engine_log" >&2; fail "the engine was not stopped"; }
sleep 0.5
if pgrep -f -- "$H1" >/dev/null; then fail "a process of the self-test outlived it: $(pgrep -af -- "$H1")"; fi
ok "self-test offscreen: the bundle started its own engine (in10nt-desktop engine serve), loaded the tables, stopped it"

step "self-test under Xvfb (xcb platform plugin, system X libraries)"
disp=""
for n in $(seq 90 120); do
  if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then disp=":$n"; break; fi
done
[ -n "$disp" ] || fail "no free X display number in :90-:120"
Xvfb "$disp" -screen 0 1280x800x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 100); do [ -e "/tmp/.X11-unix/X${disp#:}" ] && break; sleep 0.05; done
[ -e "/tmp/.X11-unix/X${disp#:}" ] || { cat "$WORK/xvfb.log" >&2; fail "Xvfb $disp did not start"; }
H2=$WORK/home-xcb; mkdir -p "$H2"
out=$(cd / && clean_env "$H2" DISPLAY="$disp" QT_QPA_PLATFORM=xcb timeout 120 in10nt-desktop --self-test \
      2>"$WORK/xcb.err") || { cat "$WORK/xcb.err" >&2; fail "--self-test under Xvfb (xcb) failed"; }
echo "$out"
grep -q "^self-test ok" <<<"$out" || fail "no 'self-test ok' line under xcb"
if grep -qiE "could not (load|find) the Qt platform plugin|xcb-cursor0" "$WORK/xcb.err"; then
  cat "$WORK/xcb.err" >&2; fail "the xcb platform plugin did not load"
fi
kill "$xvfb_pid"; wait "$xvfb_pid" 2>/dev/null || true; xvfb_pid=""
ok "self-test on X11 (xcb) with the libraries from Depends"

step "bundle check: keyring entry points, uvicorn, Qt plugins; the launcher's LANG"
out=$(cd / && env -i HOME="$WORK" PATH=/usr/bin:/bin in10nt-desktop --bundle-check) \
  || { echo "$out"; fail "in10nt-desktop --bundle-check"; }
echo "$out"
grep -q "^LANG=C.UTF-8$" <<<"$out" || fail "the launcher did not set LANG=C.UTF-8 in an environment without a locale"
grep -q "keyring.backends.SecretService.Keyring" <<<"$out" || fail "keyring's SecretService backend is not registered"
ok "bundle check (launcher sets LANG=C.UTF-8 when unset)"

step "keychain round trip through the Secret Service (gnome-keyring in a D-Bus session)"
H3=$WORK/home-keyring; mkdir -p "$H3/run"; chmod 700 "$H3/run"
cat >"$WORK/keyring.sh" <<'EOF'
set -e
eval "$(printf 'in10nt-check' | gnome-keyring-daemon --unlock --components=secrets --daemonize)"
export GNOME_KEYRING_CONTROL
in10nt-desktop --bundle-check --keyring-roundtrip
EOF
out=$(cd / && env -i HOME="$H3" PATH=/usr/bin:/bin LANG=C.UTF-8 XDG_RUNTIME_DIR="$H3/run" \
      timeout 60 dbus-run-session -- sh "$WORK/keyring.sh" 2>&1) || { echo "$out"; fail "keychain round trip"; }
grep -E "^keyring (round trip|viable)" <<<"$out" || true
grep -q "round trip through keyring.backends.SecretService.Keyring: ok" <<<"$out" \
  || { echo "$out"; fail "the bundled keyring did not store and read a secret through the Secret Service"; }
ok "keyring in the bundle stores, reads and deletes a secret through the Secret Service"

step "the in10nt CLI from the package"
v=$(clean_env "$WORK" in10nt --version 2>&1) || fail "in10nt --version: $v"
echo "$v"
clean_env "$WORK" in10nt engine serve --help >/dev/null || fail "in10nt engine serve --help"
ok "in10nt launcher runs the CLI ($v)"

step "desktop entry"
desktop-file-validate /usr/share/applications/in10nt-desktop.desktop || fail "desktop-file-validate"
exec_cmd=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' /usr/share/applications/in10nt-desktop.desktop)
icon=$(sed -n 's/^Icon=//p' /usr/share/applications/in10nt-desktop.desktop)
PATH=/usr/bin:/bin command -v "$exec_cmd" >/dev/null || fail "Exec=$exec_cmd is not on PATH"
ls /usr/share/icons/hicolor/*/apps/"$icon".* >/dev/null 2>&1 || fail "Icon=$icon has no file in the hicolor theme"
ok "desktop-file-validate passes; Exec=$exec_cmd on PATH; Icon=$icon in hicolor ($(ls /usr/share/icons/hicolor/*/apps/"$icon".* | wc -l) sizes)"

step "purge: dpkg -P"
$SUDO dpkg -P "$PKG"
installed=0
! dpkg -s "$PKG" >/dev/null 2>&1 || fail "$PKG is still known to dpkg after dpkg -P"
for f in /opt/in10nt-desktop /usr/bin/in10nt-desktop /usr/bin/in10nt /usr/share/applications/in10nt-desktop.desktop \
         /usr/share/icons/hicolor/scalable/apps/in10nt-desktop.svg; do
  [ ! -e "$f" ] || fail "$f is left after dpkg -P"
done
ok "purged; nothing of the package is left"

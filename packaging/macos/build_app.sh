#!/usr/bin/env bash
# macOS: "In10nt Desktop.app" (PyInstaller BUNDLE) and a .dmg, signed and notarised when the secrets
# for it are in the environment. Runs on a macOS machine or runner (the CI workflow's macos-13 and
# macos-14 jobs, one per architecture); it cannot run on Linux.
#
#   bash packaging/macos/build_app.sh        # -> packaging/dist/In10ntDesktop-<version>-<arm64|x86_64>.dmg
#
# The app is built for the machine's own architecture: see packaging/macos/README.md for why there
# is one .dmg per architecture rather than a universal2 one.
#
# Signing (all optional; without them the app is ad-hoc signed and users right-click -> Open once):
#   MACOS_CERT_P12           base64 of a "Developer ID Application" certificate + key (.p12)
#   MACOS_CERT_PASSWORD      its password
#   MACOS_CODESIGN_IDENTITY  e.g. "Developer ID Application: Jane Doe (TEAMID1234)" (default: the
#                            first Developer ID Application identity in the imported certificate)
# Notarisation (needs signing too):
#   APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD (an app-specific password of that Apple ID)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON:-python3}
VERSION=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' in10nt_desktop/__init__.py)
APP="packaging/dist/In10nt Desktop.app"
ARCH=$(uname -m)   # arm64 or x86_64
DMG="packaging/dist/In10ntDesktop-${VERSION}-${ARCH}.dmg"
BUILD=packaging/build
mkdir -p "$BUILD" packaging/dist
KEYCHAIN=""

MOUNT=""

cleanup() {
  if [ -n "$MOUNT" ]; then hdiutil detach "$MOUNT" -force >/dev/null 2>&1 || true; fi
  if [ -n "$KEYCHAIN" ]; then security delete-keychain "$KEYCHAIN" >/dev/null 2>&1 || true; fi
  rm -f "$BUILD/cert.p12"
}
trap cleanup EXIT

echo "== icon: .iconset from the PNGs -> iconutil"
ICONSET="$BUILD/in10nt-desktop.iconset"
rm -rf "$ICONSET"; mkdir -p "$ICONSET"
png() { echo "resources/icons/hicolor/${1}x${1}/apps/in10nt-desktop.png"; }
cp "$(png 16)" "$ICONSET/icon_16x16.png"
cp "$(png 32)" "$ICONSET/icon_16x16@2x.png"
cp "$(png 32)" "$ICONSET/icon_32x32.png"
cp "$(png 64)" "$ICONSET/icon_32x32@2x.png"
cp "$(png 128)" "$ICONSET/icon_128x128.png"
cp "$(png 256)" "$ICONSET/icon_128x128@2x.png"
cp "$(png 256)" "$ICONSET/icon_256x256.png"
cp "$(png 512)" "$ICONSET/icon_256x256@2x.png"
cp "$(png 512)" "$ICONSET/icon_512x512.png"
cp resources/icons/in10nt-desktop-1024.png "$ICONSET/icon_512x512@2x.png"
iconutil -c icns "$ICONSET" -o "$BUILD/in10nt-desktop.icns"   # the spec picks it up from here

SIGN=0
if [ -n "${MACOS_CERT_P12:-}" ]; then
  echo "== signing identity: importing the certificate into a temporary keychain"
  KEYCHAIN="$ROOT/$BUILD/signing.keychain-db"
  KC_PASS=$(uuidgen)
  printf '%s' "$MACOS_CERT_P12" | base64 --decode >"$BUILD/cert.p12"
  security create-keychain -p "$KC_PASS" "$KEYCHAIN"
  security set-keychain-settings -lut 3600 "$KEYCHAIN"
  security unlock-keychain -p "$KC_PASS" "$KEYCHAIN"
  security import "$BUILD/cert.p12" -k "$KEYCHAIN" -P "${MACOS_CERT_PASSWORD:-}" -T /usr/bin/codesign
  security set-key-partition-list -S apple-tool:,apple:,codesign: -s -k "$KC_PASS" "$KEYCHAIN" >/dev/null
  # codesign looks the identity up in the search list: put the temporary keychain first
  security list-keychains -d user -s "$KEYCHAIN" $(security list-keychains -d user | tr -d '"')
  if [ -z "${MACOS_CODESIGN_IDENTITY:-}" ]; then
    MACOS_CODESIGN_IDENTITY=$(security find-identity -v -p codesigning "$KEYCHAIN" \
      | sed -n 's/.*"\(Developer ID Application: .*\)"/\1/p' | head -1)
  fi
  [ -n "$MACOS_CODESIGN_IDENTITY" ] || { echo "no Developer ID Application identity in MACOS_CERT_P12" >&2; exit 1; }
  export MACOS_CODESIGN_IDENTITY   # read by packaging/in10nt-desktop.spec
  export PYINSTALLER_STRICT_BUNDLE_CODESIGN_ERROR=1
  SIGN=1
  echo "signing as: $MACOS_CODESIGN_IDENTITY"
else
  echo "== no MACOS_CERT_P12: ad-hoc signature (not notarised)"
  unset MACOS_CODESIGN_IDENTITY || true
fi

echo "== bundle (PyInstaller: each binary signed with the hardened runtime + entitlements, then the .app)"
"$PY" packaging/build.py bundle
[ -d "$APP" ] || { echo "no $APP" >&2; exit 1; }
codesign --verify --deep --strict --verbose=2 "$APP"
/usr/libexec/PlistBuddy -c "Print :CFBundleIdentifier" -c "Print :LSMinimumSystemVersion" "$APP/Contents/Info.plist"

echo "== the .app's own checks"
"$APP/Contents/MacOS/in10nt-desktop" --bundle-check
H=$(mktemp -d)
env -i HOME="$H" PATH=/usr/bin:/bin LANG=en_US.UTF-8 "$APP/Contents/MacOS/in10nt-desktop" --self-test
rm -rf "$H"

echo "== .dmg"
STAGE="$BUILD/dmg"
rm -rf "$STAGE"; mkdir -p "$STAGE"
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "In10nt Desktop" -srcfolder "$STAGE" -fs HFS+ -format UDZO -imagekey zlib-level=9 -ov "$DMG"
rm -rf "$STAGE"

if [ "$SIGN" = 1 ]; then
  codesign --force --timestamp --sign "$MACOS_CODESIGN_IDENTITY" "$DMG"
  if [ -n "${APPLE_ID:-}" ] && [ -n "${APPLE_TEAM_ID:-}" ] && [ -n "${APPLE_APP_PASSWORD:-}" ]; then
    echo "== notarisation (xcrun notarytool submit --wait), then staple"
    xcrun notarytool submit "$DMG" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
      --password "$APPLE_APP_PASSWORD" --wait --timeout 30m --output-format json | tee "$BUILD/notary.json"
    grep -q '"status" *: *"Accepted"' "$BUILD/notary.json" || {
      id=$(sed -n 's/.*"id" *: *"\([^"]*\)".*/\1/p' "$BUILD/notary.json" | head -1)
      [ -n "$id" ] && xcrun notarytool log "$id" --apple-id "$APPLE_ID" --team-id "$APPLE_TEAM_ID" \
        --password "$APPLE_APP_PASSWORD" || true
      echo "notarisation was not accepted" >&2; exit 1
    }
    xcrun stapler staple "$DMG"
    xcrun stapler validate "$DMG"
    spctl --assess --type open --context context:primary-signature --verbose=2 "$DMG"
  else
    echo "== signed but not notarised (APPLE_ID, APPLE_TEAM_ID, APPLE_APP_PASSWORD not all set)"
  fi
fi

echo "== the .app as a user gets it: from the mounted .dmg, in a bare environment"
MOUNT=$(mktemp -d)
hdiutil attach -nobrowse -readonly -mountpoint "$MOUNT" "$DMG" >/dev/null
FROM_DMG="$MOUNT/In10nt Desktop.app"
[ -x "$FROM_DMG/Contents/MacOS/in10nt-desktop" ] || { echo "no app in the .dmg" >&2; exit 1; }
[ -L "$MOUNT/Applications" ] || { echo "no Applications link in the .dmg" >&2; exit 1; }
file "$FROM_DMG/Contents/MacOS/in10nt-desktop" | grep -q "$ARCH" || { echo "the app is not built for $ARCH" >&2; exit 1; }
codesign --verify --deep --strict --verbose=2 "$FROM_DMG"
if [ "$SIGN" = 1 ]; then
  codesign --display --verbose=2 "$FROM_DMG" 2>&1 | grep -q "Authority=Developer ID Application" \
    || { echo "the app in the .dmg is not signed with the Developer ID" >&2; exit 1; }
fi
H=$(mktemp -d)
env -i HOME="$H" PATH=/usr/bin:/bin LANG=en_US.UTF-8 "$FROM_DMG/Contents/MacOS/in10nt-desktop" --self-test
rm -rf "$H"
hdiutil detach "$MOUNT" >/dev/null
MOUNT=""

du -sh "$APP" "$DMG"

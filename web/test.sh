#!/usr/bin/env bash
# The dashboard's test command (called from scripts/test):
#   1. npm ci from the lock file;
#   2. a fresh type check and Vite build, compared byte for byte with the
#      committed web/dist (which cargo embeds into cascade-server);
#   3. browser tests in Debian's Chromium, driven by playwright-core,
#      against a real `cascade serve` on 127.0.0.1 with the example loaded.
#
# Environment: CASCADE_BIN (the cascade binary; default: build it with
# `cargo build --release --workspace --all-targets` into $CARGO_TARGET_DIR or ../target),
# CHROMIUM (default /usr/bin/chromium), SCREENSHOTS=0 to leave
# docs/screenshots alone.
set -euo pipefail
cd "$(dirname "$0")"
web=$(pwd)

echo "== npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "== fresh build vs committed web/dist"
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT
npx tsc --noEmit
npx vite build --logLevel warn --outDir "$fresh/dist" --emptyOutDir
if ! diff -r "$fresh/dist" "$web/dist"; then
  echo "web/dist differs from a fresh build of web/: run 'npm run build' in web/ and commit web/dist" >&2
  exit 1
fi
echo "web/dist matches a fresh build ($(find dist -type f | wc -l) files)"

echo "== browser tests"
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  else
    echo "no Chromium at $chromium: apt-get install -y chromium" >&2
    exit 1
  fi
fi
if [ -z "${CASCADE_BIN:-}" ]; then
  (cd .. && cargo build --release -q --workspace --all-targets)
  CASCADE_BIN="${CARGO_TARGET_DIR:-$web/../target}/release/cascade"
fi
CASCADE_BIN="$CASCADE_BIN" CHROMIUM="$chromium" node tests/browser.mjs

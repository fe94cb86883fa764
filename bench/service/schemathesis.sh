#!/usr/bin/env bash
# Runs schemathesis (PyPI, pinned) against `cascade serve` on a free
# loopback port, with the example scenario loaded, once with an admin
# token and once with a party token. Checks: no 5xx
# (not_a_server_error) and every response matches the OpenAPI document
# (response_schema_conformance). Exits non-zero on any failure.
#
#   bench/service/schemathesis.sh            # about 80 s on 2 cores
#   MAX_EXAMPLES=20 bench/service/schemathesis.sh
#
# The venv lives in ~/.cache/cascade (created on first use).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
VERSION=4.32.5
VENV=${SCHEMATHESIS_VENV:-$HOME/.cache/cascade/schemathesis-$VERSION}
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$VERSION"
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cascade/target}
# The same build as scripts/test: a `-p` build unifies features differently
# and can rebuild HiGHS from C++ (10-40 min) into the shared target dir.
cargo build --release -q --workspace --all-targets
BIN=$CARGO_TARGET_DIR/release/cascade

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

DB="sqlite://$TMP/schemathesis.db"
"$BIN" load examples/compute-chain-2025.toml --database "$DB" >/dev/null
PARTY=$("$BIN" token create --party openai --database "$DB")
"$BIN" serve --database "$DB" --listen 127.0.0.1:0 --admin-token-file "$TMP/admin.token" --write-rate 0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" "$TMP/serve.out" 2>/dev/null && break
    sleep 0.1
done
ADDR=$(grep -o '127.0.0.1:[0-9]*' "$TMP/serve.out" | head -1)
[ -n "$ADDR" ] || { cat "$TMP/serve.err" >&2; exit 1; }
ADMIN=$(cat "$TMP/admin.token")

status=0
cd "$TMP" # schemathesis keeps its example database in ./.schemathesis
for who in admin party; do
    if [ "$who" = admin ]; then TOKEN=$ADMIN; else TOKEN=$PARTY; fi
    echo "== schemathesis $VERSION as $who against http://$ADDR/openapi.json"
    "$VENV/bin/schemathesis" run "http://$ADDR/openapi.json" \
        -H "Authorization: Bearer $TOKEN" \
        --checks not_a_server_error,response_schema_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "${MAX_EXAMPLES:-80}" \
        --seed "${SEED:-20261126}" \
        --workers 2 \
        --request-timeout 30 \
        --no-color \
        --report junit --report-junit-path "$TMP/junit-$who.xml" || status=1
done
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "cascade serve died during the run:" >&2
    cat "$TMP/serve.err" >&2
    status=1
fi
exit $status

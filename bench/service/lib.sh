# Shared start-up of the service scripts (run.sh, flood.sh, schemathesis.sh): sourced,
# not run. Builds the workspace, sets BIN (or takes CASCADE_BIN) and LOADGEN, makes TMP (removed at
# exit, with the server stopped), and defines start_server.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cascade/target}
# The same build as scripts/test: a `-p` build unifies features differently
# and can rebuild HiGHS from C++ (10-40 min) into the shared target dir.
cargo build --release -q --workspace --all-targets
# CASCADE_BIN: another build of `cascade` to measure (paired runs of two builds).
BIN=${CASCADE_BIN:-$CARGO_TARGET_DIR/release/cascade}
LOADGEN=$CARGO_TARGET_DIR/release/examples/loadgen

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# start_server URL [serve flags...]: `cascade serve` on 127.0.0.1:0 over
# URL, without a write limit (the writers' own rate is what is measured);
# sets SERVER_PID and ADDR once it listens.
start_server() {
    local url=$1
    shift
    "$BIN" serve --database "$url" --listen 127.0.0.1:0 --admin-token-file "$TMP/admin.token" \
        --write-rate 0 "$@" >"$TMP/serve.out" 2>"$TMP/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q "listening on" "$TMP/serve.out" 2>/dev/null && break
        sleep 0.1
    done
    ADDR=$(grep -o '127.0.0.1:[0-9]*' "$TMP/serve.out" | head -1)
    [ -n "$ADDR" ] || { cat "$TMP/serve.err" >&2; exit 1; }
}

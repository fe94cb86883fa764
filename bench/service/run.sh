#!/usr/bin/env bash
# Load benchmark of `cascade serve` on loopback (see README.md).
#
#   bench/service/run.sh            # SQLite (a temp file)
#   scripts/with-postgres bench/service/run.sh postgres
#
# Env: SECONDS_PER_RUN (default 10), CONCURRENCY (default 64).
# Prints one JSON line per run (writes, then exposure reads) and appends
# them to bench/out/service-<backend>.jsonl.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BACKEND=${1:-sqlite}
DUR=${SECONDS_PER_RUN:-10}
CONC=${CONCURRENCY:-64}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/cascade/target}
# The same build as scripts/test: a `-p` build unifies features differently
# and can rebuild HiGHS from C++ (10-40 min) into the shared target dir.
cargo build --release -q --workspace --all-targets
BIN=$CARGO_TARGET_DIR/release/cascade
LOADGEN=$CARGO_TARGET_DIR/release/examples/loadgen

TMP=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

case "$BACKEND" in
    sqlite) URL="sqlite://$TMP/bench.db" ;;
    postgres)
        : "${CASCADE_TEST_PG_URL:?run under scripts/with-postgres}"
        DBNAME="bench_$$_$RANDOM"
        psql -q "$CASCADE_TEST_PG_URL" -c "CREATE DATABASE $DBNAME"
        URL="${CASCADE_TEST_PG_URL%/*}/$DBNAME" ;;
    *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac

"$BIN" load examples/compute-chain-2025.toml --database "$URL" >/dev/null
"$BIN" load bench/service/bench-scenario.toml --database "$URL" >/dev/null
PROVIDER=$("$BIN" token create --party bench-provider --database "$URL")
READER=$("$BIN" token create --party openai --database "$URL")

"$BIN" serve --database "$URL" --listen 127.0.0.1:0 --admin-token-file "$TMP/admin.token" --write-rate 0 >"$TMP/serve.out" 2>"$TMP/serve.err" &
SERVER_PID=$!
for _ in $(seq 100); do
    grep -q "listening on" "$TMP/serve.out" 2>/dev/null && break
    sleep 0.1
done
ADDR=$(grep -o '127.0.0.1:[0-9]*' "$TMP/serve.out" | head -1)
[ -n "$ADDR" ] || { cat "$TMP/serve.err" >&2; exit 1; }

mkdir -p bench/out
OUT=bench/out/service-$BACKEND.jsonl

# CPU ticks (1/100 s) used so far by the server and, on PostgreSQL, by every
# postgres process: the figures are also given per request, so that runs on
# a machine shared with other work can be compared.
ticks() {
    local t=0 pid
    for pid in "$SERVER_PID" $( [ "$BACKEND" = postgres ] && pgrep -x postgres ); do
        [ -r "/proc/$pid/stat" ] || continue
        t=$((t + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')))
    done
    echo "$t"
}

# Runs the load generator and appends its JSON line with the backend, the
# server-side CPU per request and the load average of the machine.
measure() {
    local t0 t1 load line
    t0=$(ticks)
    line=$("$LOADGEN" --addr "$ADDR" "$@")
    t1=$(ticks)
    load=$(cut -d' ' -f1 /proc/loadavg)
    python3 -c '
import json, sys
d = json.loads(sys.argv[1])
out = {"backend": sys.argv[2], "cores": int(sys.argv[3]), "loadavg_1m_after": float(sys.argv[6])}
out.update(d)
out["server_cpu_us_per_request"] = round((int(sys.argv[5]) - int(sys.argv[4])) * 1e4 / max(d["requests"], 1))
print(json.dumps(out))
' "$line" "$BACKEND" "$(nproc)" "$t0" "$t1" "$load" | tee -a "$OUT"
}

# Warm-up (connections, caches, page cache), not recorded.
"$LOADGEN" --addr "$ADDR" --token "$PROVIDER" --mode write --seconds 2 --concurrency "$CONC" --prefix warm >/dev/null
measure --token "$PROVIDER" --mode write --seconds "$DUR" --concurrency "$CONC" --prefix run
"$LOADGEN" --addr "$ADDR" --token "$READER" --mode read --buyer openai --at 2026-01-01 --seconds 2 --concurrency "$CONC" >/dev/null
measure --token "$READER" --mode read --buyer openai --at 2026-01-01 --seconds "$DUR" --concurrency "$CONC"

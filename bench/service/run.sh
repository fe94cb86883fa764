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
BACKEND=${1:-sqlite}
DUR=${SECONDS_PER_RUN:-10}
CONC=${CONCURRENCY:-64}
# shellcheck source=bench/service/lib.sh
source "$(dirname "$0")/lib.sh"

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

start_server "$URL"

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

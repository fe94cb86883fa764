#!/usr/bin/env bash
# Flood test of `cascade serve` on loopback (issue 9, bounded planning):
# 200 concurrent POST /plan on a large planning scenario while writers keep
# writing. Reports the writers' latency percentiles and every status count
# of both loads, one JSON line each. Target: write p99 < 50 ms, no 5xx.
#
#   bench/service/flood.sh                 # SQLite (a temp file)
#
# Env: SECONDS_PER_RUN (default 20), PLANNERS (200), WRITERS (8),
# PLAN_WORKERS / PLAN_QUEUE / PLAN_TIME_LIMIT / PLAN_PER_TOKEN (the serve flags; defaults the
# service's own), NO_BACKOFF (1: planners ignore Retry-After). The scenario is cascade-plan's bench scenario (2,000
# offers from the SkyPilot catalog in ../shared/data/gpu-offers).
set -euo pipefail
DUR=${SECONDS_PER_RUN:-20}
PLANNERS=${PLANNERS:-200}
WRITERS=${WRITERS:-8}
# shellcheck source=bench/service/lib.sh
source "$(dirname "$0")/lib.sh"
CSV=${OFFERS_CSV:-../shared/data/gpu-offers/offers.csv}
[ -f "$CSV" ] || CSV=/work/shared/data/gpu-offers/offers.csv

URL="sqlite://$TMP/flood.db"
"$CARGO_TARGET_DIR/release/examples/bench_scenario" "$CSV" > "$TMP/plan.toml"
BUYER=$(grep -m1 -A1 '^\[\[demand\]\]' "$TMP/plan.toml" | sed -n 's/^buyer = "\(.*\)"/\1/p')
"$BIN" load "$TMP/plan.toml" --database "$URL" >/dev/null
# The writers sell from bench-scenario.toml, which uses the example's h100 class.
"$BIN" load examples/compute-chain-2025.toml --database "$URL" >/dev/null
"$BIN" load bench/service/bench-scenario.toml --database "$URL" >/dev/null
PROVIDER=$("$BIN" token create --party bench-provider --database "$URL")
PLANNER=$("$BIN" token create --party "$BUYER" --database "$URL")

FLAGS=()
[ -n "${PLAN_WORKERS:-}" ] && FLAGS+=(--plan-workers "$PLAN_WORKERS")
[ -n "${PLAN_QUEUE:-}" ] && FLAGS+=(--plan-queue "$PLAN_QUEUE")
[ -n "${PLAN_TIME_LIMIT:-}" ] && FLAGS+=(--plan-time-limit "$PLAN_TIME_LIMIT")
[ -n "${PLAN_PER_TOKEN:-}" ] && FLAGS+=(--plan-per-token "$PLAN_PER_TOKEN")
start_server "$URL" "${FLAGS[@]}"

# The planners flood; the writers start a second later, when the pool is full.
PLAN_FLAGS=()
# NO_BACKOFF=1: the planners retry a 429 at once instead of after its Retry-After.
[ "${NO_BACKOFF:-0}" = 1 ] && PLAN_FLAGS+=(--no-backoff)
"$LOADGEN" --addr "$ADDR" --token "$PLANNER" --mode plan --buyer "$BUYER" "${PLAN_FLAGS[@]}" \
    --seconds "$((DUR + 2))" --concurrency "$PLANNERS" > "$TMP/plan.json" &
PLANS=$!
sleep 1
"$LOADGEN" --addr "$ADDR" --token "$PROVIDER" --mode write --seconds "$DUR" \
    --concurrency "$WRITERS" > "$TMP/write.json"
wait "$PLANS"
echo "writes: $(cat "$TMP/write.json")"
echo "plans:  $(cat "$TMP/plan.json")"
echo "loadavg: $(cut -d' ' -f1-3 /proc/loadavg), cores: $(nproc)"
if grep -q '"5[0-9][0-9]"' "$TMP/write.json" "$TMP/plan.json"; then
    echo "FAIL: 5xx answers" >&2
    exit 1
fi

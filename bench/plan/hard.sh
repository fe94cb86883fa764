#!/usr/bin/env bash
# The planner's hard family (issue 15): `cascade plan` (the whole command)
# against a plain HiGHS model written from the spec (bench/plan/plain_highspy.py),
# alternating per instance, on seeded instances from bench/plan/hard/gen.py.
#
#   bench/plan/hard.sh                     # 6 × 600 offers / 24 months + 2 × 2,000 / 36
#   SEEDS="1 2" BIG_SEEDS="" bench/plan/hard.sh
#   TIME_LIMIT=300 bench/plan/hard.sh      # both sides stop there (then: feasible, gap)
#   CASCADE_ARGS="--whole-model" bench/plan/hard.sh
#
# Needs cargo, python3 (3.11+, tomllib) with highspy 1.16.0. Prints a table:
# instance, seconds and objective of each side, HiGHS's nodes on the baseline,
# and whether the optima agree within 1e-4.
set -euo pipefail

cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cascade/target}"
OUT="${OUT:-$(mktemp -d)}"
SEEDS="${SEEDS-1 2 3 4 5 6}"
BIG_SEEDS="${BIG_SEEDS-7 8}"
TIME_LIMIT="${TIME_LIMIT:-}"
CASCADE_ARGS="${CASCADE_ARGS:-}"

if ! python3 -c 'import highspy' 2>/dev/null; then
  echo "highspy missing: pip install highspy==1.16.0" >&2
  exit 1
fi
# --workspace: building one package alone unifies features differently and
# rebuilds HiGHS from source.
cargo build --release -q --workspace --all-targets
BIN="$CARGO_TARGET_DIR/release"

tl_c=() tl_p=()
if [[ -n "$TIME_LIMIT" ]]; then
  tl_c=(--time-limit "$TIME_LIMIT")
  tl_p=(--time-limit "$TIME_LIMIT")
fi

gen() { # name seed offers months
  python3 bench/plan/hard/gen.py --seed "$2" --offers "$3" --months "$4" > "$OUT/$1.toml" 2>/dev/null
  "$BIN/cascade" validate "$OUT/$1.toml" > /dev/null
}

now() { date +%s.%N; }

run_one() { # name
  local n=$1 s e
  s=$(now)
  # shellcheck disable=SC2086
  "$BIN/cascade" plan "$OUT/$n.toml" --buyer lab --no-compare --json "${tl_c[@]}" $CASCADE_ARGS \
    > "$OUT/$n.cascade.json" || true
  e=$(now)
  python3 -c "print(round($e - $s, 2))" > "$OUT/$n.cascade.wall"
  s=$(now)
  python3 bench/plan/plain_highspy.py "$OUT/$n.toml" --buyer lab "${tl_p[@]}" 2>/dev/null \
    | tail -1 > "$OUT/$n.plain.json" || true
  e=$(now)
  python3 -c "print(round($e - $s, 2))" > "$OUT/$n.plain.wall"
  echo "$n: cascade $(cat "$OUT/$n.cascade.wall") s, plain $(cat "$OUT/$n.plain.wall") s" >&2
}

names=()
for s in $SEEDS; do gen "h600-s$s" "$s" 600 24; names+=("h600-s$s"); done
for s in $BIG_SEEDS; do gen "h2000-s$s" "$s" 2000 36; names+=("h2000-s$s"); done
for n in "${names[@]}"; do run_one "$n"; done

python3 - "$OUT" "${names[@]}" <<'PY'
import json, sys
out, names = sys.argv[1], sys.argv[2:]
print(f"| instance | cascade s | status | objective | plain s | status | nodes | objective | agree 1e-4 |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
tc = tp = 0.0
for n in names:
    wc = float(open(f"{out}/{n}.cascade.wall").read())
    wp = float(open(f"{out}/{n}.plain.wall").read())
    tc += wc; tp += wp
    try:
        c = json.load(open(f"{out}/{n}.cascade.json"))
    except Exception:
        c = {"status": "error"}
    try:
        p = json.load(open(f"{out}/{n}.plain.json"))
    except Exception:
        p = {"status": "error"}
    oc = float(c["objective_usd"]) if c.get("objective_usd") not in (None, "0.00") or c.get("status") == "optimal" else None
    op = p.get("objective_usd")
    agree = "n/a"
    if oc is not None and op is not None:
        agree = "yes" if abs(oc - op) <= 1e-4 * max(abs(oc), abs(op), 1.0) else f"no ({(oc-op)/op:+.2e})"
    f = lambda v: "-" if v is None else f"{v:,.2f}"
    print(f"| {n} | {wc:.2f} | {c.get('status')} | {f(oc)} | {wp:.2f} | {p.get('status')} | "
          f"{p.get('nodes', '-')} | {f(op)} | {agree} |")
print(f"| **total** | **{tc:.1f}** | | | **{tp:.1f}** | | | | ratio {tc/tp:.2f} |")
PY
echo "(files in $OUT)"

#!/usr/bin/env bash
# Planning benchmark: cascade plan vs the same MILP built and solved with
# HiGHS's Python interface (highspy), on a scenario generated from the real
# SkyPilot catalog (2,000 offers, 52 physical providers usable, 36 monthly
# segments, every constraint family on).
#
#   bench/plan/run.sh            # from the repository root
#
# Needs: cargo, python3 with highspy (pip install highspy); reads
# ../shared/data/gpu-offers/offers.csv (skips when it is absent).
set -euo pipefail

cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cascade/target}"
CSV="${CSV:-../shared/data/gpu-offers/offers.csv}"
OUT="${OUT:-$(mktemp -d)}"
MONTHS="${MONTHS:-36}"   # horizon of the generated scenario

if [[ ! -f "$CSV" ]]; then
  echo "skipped: $CSV not found" >&2
  exit 0
fi
if ! python3 -c 'import highspy' 2>/dev/null; then
  echo "highspy missing: pip install highspy" >&2
  exit 1
fi

# --workspace, never -p: building one package alone unifies features
# differently and rebuilds HiGHS from its C++ sources.
cargo build --release -q --workspace --examples
BIN="$CARGO_TARGET_DIR/release"

"$BIN/examples/bench_scenario" "$CSV" "$MONTHS" > "$OUT/bench.toml"
"$BIN/cascade" validate "$OUT/bench.toml"

echo
echo "== cascade plan (whole command: parse, ledger, build, solve, print) =="
start=$(date +%s.%N)
"$BIN/cascade" plan "$OUT/bench.toml" --buyer frontier-lab --no-compare \
  --export-model "$OUT/model.json" > "$OUT/plan.txt"
end=$(date +%s.%N)
grep -E "^(Plan for|Total \(objective\)|Model:|Built in)" "$OUT/plan.txt"
cascade_wall=$(python3 -c "print(round($end - $start, 3))")
echo "wall: ${cascade_wall} s"

echo
echo "== HiGHS from Python, same model (model.json), expression API =="
start=$(date +%s.%N)
python3 bench/plan/highs_py.py "$OUT/model.json" --api expr | tail -1 | tee "$OUT/py_expr.json"
end=$(date +%s.%N)
py_expr_wall=$(python3 -c "print(round($end - $start, 3))")
echo
echo "== HiGHS from Python, same model, low-level addCol/addRow =="
start=$(date +%s.%N)
python3 bench/plan/highs_py.py "$OUT/model.json" --api arrays | tail -1 | tee "$OUT/py_arrays.json"
end=$(date +%s.%N)
py_arrays_wall=$(python3 -c "print(round($end - $start, 3))")
echo
echo "== HiGHS from Python, same rows in plain USD (no money unit), addCol/addRow =="
start=$(date +%s.%N)
python3 bench/plan/highs_py.py "$OUT/model.json" --api arrays --money usd | tail -1 | tee "$OUT/py_usd.json"
end=$(date +%s.%N)
py_usd_wall=$(python3 -c "print(round($end - $start, 3))")
echo
echo "== Python running cascade's own method (LP bound + restricted MIPs), same model =="
start=$(date +%s.%N)
python3 bench/plan/highs_py.py "$OUT/model.json" --method guided | tail -1 | tee "$OUT/py_guided.json"
end=$(date +%s.%N)
py_guided_wall=$(python3 -c "print(round($end - $start, 3))")

echo
python3 - "$OUT" "$cascade_wall" "$py_expr_wall" "$py_arrays_wall" "$py_usd_wall" "$py_guided_wall" <<'PY'
import json, re, sys
out, wall = sys.argv[1], float(sys.argv[2])
py_wall = {"expr": float(sys.argv[3]), "arrays": float(sys.argv[4]), "usd": float(sys.argv[5]),
           "guided": float(sys.argv[6])}
text = open(f"{out}/plan.txt").read()
m = re.search(r"Built in ([\d.]+) (ms|s), solved in ([\d.]+) (ms|s)", text)
sec = lambda v, u: float(v) / (1000 if u == "ms" else 1)
build, solve = sec(m[1], m[2]), sec(m[3], m[4])
obj = re.search(r"Total \(objective\):\s+\$([\d,.]+)", text)[1].replace(",", "")
print(f"cascade: build {build*1e3:.1f} ms, solve {solve:.2f} s, wall {wall:.2f} s, "
      f"everything but the solve {(wall - solve)*1e3:.0f} ms, objective {obj}")
for api in ("expr", "arrays", "usd", "guided"):
    p = json.load(open(f"{out}/py_{api}.json"))
    w = py_wall[api]
    b = "n/a (three models)" if p["build_seconds"] is None else f"{p['build_seconds']*1e3:.0f} ms"
    print(f"python/{api}: build {b}, solve {p['solve_seconds']:.2f} s, "
          f"in-script total {p['total_seconds']:.2f} s, process wall {w:.2f} s, objective {p['objective_usd']:.2f}; "
          f"python wall / cascade wall = {w/wall:.2f}x, "
          f"outside the solver {(w - p['solve_seconds'])/(wall - solve):.1f}x")
PY
echo "(files in $OUT)"

#!/usr/bin/env bash
# Peer comparison: SkyPilot 0.14.1's own optimizer, run offline, beside
# `cascade plan --request` on the same catalog rows (issue 14).
#
#   bench/skypilot/compare.sh [CATALOG.csv]
#
# CATALOG defaults to ../shared/data/gpu-offers/offers.csv (see its README),
# looked up beside the checkout.
# Needs python3 with venv and network to PyPI (SkyPilot is installed,
# pinned, in a throwaway venv under $WORK); set CASCADE to the cascade
# binary (default: target/release/cascade, or $CARGO_TARGET_DIR's).
# Results and the reasons for every choice are in bench/README.md, "SkyPilot".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
catalog="${1:-}"
if [ -z "$catalog" ]; then
  # The shared data sits beside the main checkout (../shared) or, from a
  # worktree under wt/, two levels up.
  for c in "$repo/../shared/data/gpu-offers/offers.csv" "$repo/../../shared/data/gpu-offers/offers.csv"; do
    [ -f "$c" ] && { catalog="$c"; break; }
  done
fi
[ -f "$catalog" ] || { echo "no catalog at $catalog" >&2; exit 1; }
cascade="${CASCADE:-${CARGO_TARGET_DIR:-$repo/target}/release/cascade}"
[ -x "$cascade" ] || { echo "no cascade binary at $cascade (cargo build --release, or set CASCADE)" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cascade-skypilot.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

# SkyPilot, pinned; only its Python package (no cloud extras: the optimizer
# runs offline on the catalog files, no cloud is contacted).
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet --disable-pip-version-check 'skypilot==0.14.1' >&2

# The same rows for both: GCP's rows are accelerator-only prices (no host
# VM), and SkyPilot's GCP catalog module cannot price them without the host
# VM rows the file lacks (it fails on the empty InstanceType), so GCP is
# left out of both sides.
rows="$WORK/rows.csv"
awk -F, 'NR == 1 || $1 != "gcp"' "$catalog" > "$rows"

requests=(H100:8 A100-80GB:8 H100:1 L4:1 A100:8 H200:8 B200:8 L40S:1 H100:2 V100:8 T4:1)
"$WORK/venv/bin/python" "$here/sky_optimize.py" "$rows" "${requests[@]}" \
  2>"$WORK/sky.log" | grep '^{' > "$WORK/sky.jsonl" || true

"$cascade" offers import-skypilot "$rows" --capacity-gpus 4096 -o "$WORK/offers.toml" 2>"$WORK/import.log"
# One day: the comparison is per GPU-hour. Two questions per request:
# SkyPilot's (one node of COUNT GPUs: only instances of exactly COUNT GPUs
# imported), and Cascade's per-site one (COUNT GPUs in one site, any
# instance size, every size imported).
for r in "${requests[@]}"; do
  n="${r##*:}"
  [ -f "$WORK/offers-x$n.toml" ] ||
    "$cascade" offers import-skypilot "$rows" --capacity-gpus 4096 --instance-gpus "$n" \
      -o "$WORK/offers-x$n.toml" 2>>"$WORK/import.log"
  "$cascade" plan "$WORK/offers-x$n.toml" --request "$r" --from 2027-01-01 --to 2027-01-02 --json \
    > "$WORK/node-$r.json" 2>"$WORK/node-$r.err" || true
  "$cascade" plan "$WORK/offers.toml" --request "$r" --from 2027-01-01 --to 2027-01-02 --json \
    > "$WORK/site-$r.json" 2>"$WORK/site-$r.err" || true
done

# The portfolio: 4,096 H100e for 12 months, no provider above 25 %.
{
  cat "$WORK/offers.toml"
  cat <<'TOML'

[[party]]
id = "lab"

[[demand]]
buyer = "lab"
start = 2027-01-01
end = 2028-01-01
h100e = 4096

[policy.lab]
max_provider_share = 0.25
TOML
} > "$WORK/portfolio.toml"
"$cascade" plan "$WORK/portfolio.toml" --buyer lab --json --time-limit 120 \
  > "$WORK/portfolio.json" 2>"$WORK/portfolio.err" || true

python3 "$here/table.py" "$WORK" "${requests[@]}"

#!/usr/bin/env bash
# Settlement benchmark (issue 12), figures for bench/README.md:
#  1. a year of invoices for 100,000 contracts: core's criterion bench
#     (crates/core/benches/settle.rs: delivery rule + settle + checks for the
#     twelve months of 2026; goal < 2 s). SKIP_CRITERION=1 skips it.
#  2. peak RSS of `cascade bill --format focus` (`/usr/bin/time -v`, "Maximum
#     resident set size") on generated scenarios of 10,000 and 100,000
#     contracts, for one month and for a year: with a streamed export the RSS
#     follows the contracts (the ledger), not the rows (twelve times more for
#     a year).
#  3. the CLI end to end for a year of invoices at 100,000 contracts
#     (`bill --json`: parse, validate, settle, write), for scale.
# Run on a quiet machine; figures taken under load are marked so in the README.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
bin="${CASCADE_BIN:-$CARGO_TARGET_DIR/release/cascade}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

if [ "${SKIP_CRITERION:-0}" != 1 ]; then
  cargo bench --workspace --bench settle
fi
[ -x "$bin" ] || cargo build --release --workspace

# A scenario of N contracts: 100 sites of one provider; every contract runs
# the whole of 2026; one in ten is a purchase by the reseller "mid", and the
# next one resells half of it to "lab"; one half-site outage in March.
gen() {
  local n=$1 f=$2
  python3 - "$n" > "$f" <<'PY'
import sys
n = int(sys.argv[1])
sites = 100
per_site = (n + sites - 1) // sites
out = ['name = "settle-bench"', '[[gpu]]', 'id = "h100"', 'h100e = 1.0', 'watts = 700',
       '[[party]]', 'id = "cw"', '[[party]]', 'id = "mid"', '[[party]]', 'id = "lab"']
for s in range(sites):
    out += ['[[site]]', f'id = "s{s}"', 'owner = "cw"', 'region = "us-east"',
            f'gpus = {{ h100 = {per_site * 10} }}']
for i in range(n):
    if i % 10 == 9:
        out += ['[[contract]]', f'id = "r{i}"', 'seller = "mid"', 'buyer = "lab"', 'gpu = "h100"',
                'gpus = 5', 'start = 2026-01-01', 'end = 2027-01-01', 'price_per_gpu_hour = "2.50"',
                f'backed_by = "c{i-1}"']
    else:
        buyer = "mid" if i % 10 == 8 else "lab"
        out += ['[[contract]]', f'id = "c{i}"', 'seller = "cw"', f'buyer = "{buyer}"', 'gpu = "h100"',
                'gpus = 10', 'start = 2026-01-01', 'end = 2027-01-01', 'price_per_gpu_hour = "2.00"',
                f'site = "s{i % sites}"'] + (['resale = true'] if buyer == "mid" else [])
out += ['[[outage]]', 'site = "s0"', 'start = 2026-03-10T06:00:00Z', 'end = 2026-03-10T18:00:00Z',
        'fraction = 0.5']
print("\n".join(out))
PY
}

# One timed run: prints rows, peak RSS and wall clock of `cascade "$@"`.
timed() {
  local label=$1
  shift
  /usr/bin/time -v "$bin" "$@" > "$work/out" 2> "$work/time"
  local rows rss wall user
  rows=$(($(wc -l < "$work/out") - 1))
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time")
  user=$(awk -F': ' '/User time/ {print $2}' "$work/time")
  printf '%-44s %9d rows  peak RSS %7d KiB  wall %s  user %ss\n' "$label" "$rows" "$rss" "$wall" "$user"
}

for n in 10000 100000; do
  gen "$n" "$work/s$n.toml"
  timed "FOCUS export, $n contracts, 1 month" \
    bill "$work/s$n.toml" --from 2026-03 --to 2026-03 --format focus
  timed "FOCUS export, $n contracts, 12 months" \
    bill "$work/s$n.toml" --from 2026-01 --to 2026-12 --format focus
done
timed "bill --json, 100000 contracts, 12 months" \
  bill "$work/s100000.toml" --from 2026-01 --to 2026-12 --json

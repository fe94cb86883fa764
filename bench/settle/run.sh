#!/usr/bin/env bash
# Settlement benchmark: a year of invoices for 100,000 contracts (core's
# criterion bench, crates/core/benches/settle.rs), then peak RSS of the FOCUS
# export of a generated scenario at 10k and 100k contracts
# (`/usr/bin/time -v`, "Maximum resident set size").
# Run on a quiet machine; figures under load are marked as such in bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
bin="$CARGO_TARGET_DIR/release/cascade"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"

cargo bench --workspace --bench settle

# A scenario of N contracts: 100 sites of one provider, each contract sold
# directly from a site for a whole year, one in ten resold once, one outage.
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
k = 0
for i in range(n):
    s = i % sites
    if i % 10 == 9:
        out += ['[[contract]]', f'id = "r{i}"', 'seller = "mid"', 'buyer = "lab"', 'gpu = "h100"',
                'gpus = 5', 'start = 2026-01-01', 'end = 2027-01-01', 'price_per_gpu_hour = "2.50"',
                f'backed_by = "c{i-1}"']
    else:
        buyer = "mid" if i % 10 == 8 else "lab"
        out += ['[[contract]]', f'id = "c{i}"', 'seller = "cw"', f'buyer = "{buyer}"', 'gpu = "h100"',
                'gpus = 10', 'start = 2026-01-01', 'end = 2027-01-01', 'price_per_gpu_hour = "2.00"',
                f'site = "s{s}"'] + (['resale = true'] if buyer == "mid" else [])
out += ['[[outage]]', 'site = "s0"', 'start = 2026-03-10T06:00:00Z', 'end = 2026-03-10T18:00:00Z',
        'fraction = 0.5']
print("\n".join(out))
PY
}

for n in 10000 100000; do
  gen "$n" "$work/s$n.toml"
  /usr/bin/time -v "$bin" bill "$work/s$n.toml" --from 2026-01 --to 2026-12 --format focus \
    > "$work/focus$n.csv" 2> "$work/time$n.txt"
  rows=$(($(wc -l < "$work/focus$n.csv") - 1))
  rss=$(grep "Maximum resident set size" "$work/time$n.txt" | awk '{print $NF}')
  wall=$(grep "Elapsed (wall clock)" "$work/time$n.txt" | awk '{print $NF}')
  echo "FOCUS export, $n contracts: $rows rows, peak RSS ${rss} KiB, wall $wall"
done

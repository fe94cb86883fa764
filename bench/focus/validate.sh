#!/usr/bin/env bash
# Runs the official FOCUS validator (focus-validator 1.0.0, FOCUS 1.0 rules)
# on the `--focus-version 1.0` export of examples/compute-chain-2025.toml,
# March 2025 to February 2030: usage at every tier of the resale chain,
# outage credits (February 2026) and the commitment's true-up (February
# 2030), so every kind of row is checked. Prints the summary; exits 1 when
# any rule fails or errors, or when the validator could not run.
#
# The validator's 2.x line needs Python 3.12 and downloads the 1.3 rules at
# run time; 1.0.0 (with multimethod<2, which it needs but does not pin) is
# the last that runs here (second-wave.md, FOCUS paragraph). It is installed
# in a virtual environment made here, $FOCUS_VENV (default
# $CARGO_TARGET_DIR/focus-venv), on first use; python3-venv comes from
# scripts/setup.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
bin="${CASCADE_BIN:-$target/release/cascade}"
venv="${FOCUS_VENV:-$target/focus-venv}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if [ ! -x "$bin" ]; then
  echo "validate.sh: $bin not found (cargo build --release --workspace --all-targets, or set CASCADE_BIN)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/focus-validator" ]; then
  echo "validate.sh: installing focus-validator 1.0.0 in $venv" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "focus-validator==1.0.0" "multimethod<2"
fi

"$bin" bill examples/compute-chain-2025.toml --from 2025-03 --to 2030-02 \
  --format focus --focus-version 1.0 > "$out/focus.csv"
rows=$(($(wc -l < "$out/focus.csv") - 1))
echo "FOCUS 1.0 export of examples/compute-chain-2025.toml, 2025-03 to 2030-02: $rows rows"

# The unittest report carries the counts; the console one only says
# succeeded/failed. A validator that crashes writes no report: that fails too.
# It reads its ISO 4217 list from a path relative to the working directory
# (focus_validator/utils/currency_codes.csv), so it runs from site-packages;
# elsewhere BillingCurrency_IsCurrencyCode fails on any file.
site="$("$venv/bin/python" -c 'import focus_validator, os; print(os.path.dirname(os.path.dirname(focus_validator.__file__)))')"
(cd "$site" && "$venv/bin/focus-validator" --data-file "$out/focus.csv" --validate-version 1.0 \
  --output-type unittest --output-destination "$out/report.xml") > "$out/log.txt" 2>&1 || {
  cat "$out/log.txt" >&2
  echo "focus-validator exited with an error" >&2
  exit 1
}
"$venv/bin/python" - "$out/report.xml" "$out/focus.csv" <<'PY'
import collections
import csv
import sys
import xml.etree.ElementTree as ET

with open(sys.argv[2], newline="") as f:
    kinds = collections.Counter(r["ChargeCategory"] for r in csv.DictReader(f))
print("rows by ChargeCategory: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))

root = ET.parse(sys.argv[1]).getroot()
tests, failed, errored, skipped = (int(root.get(k)) for k in ("tests", "failures", "errors", "skipped"))
print(f"focus-validator 1.0.0 (FOCUS 1.0 rules): {tests} rules, "
      f"{tests - failed - errored - skipped} passed, {failed} failed, "
      f"{errored} errored, {skipped} skipped")
for case in root.iter("testcase"):
    for bad in list(case.findall("failure")) + list(case.findall("error")):
        print(f"  {bad.tag.upper()}: {case.get('name')}: {bad.get('message')}")
if tests == 0 or failed or errored:
    sys.exit(1)
PY

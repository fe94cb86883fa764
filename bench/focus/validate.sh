#!/usr/bin/env bash
# Runs the official FOCUS validator (focus-validator 1.0.0, FOCUS 1.0 rules)
# on the `--focus-version 1.0` export of examples/compute-chain-2025.toml
# (which has an outage, so credit rows are checked too). Fails on any failed
# rule. Needs python3 with venv and PyPI access the first time; the venv is
# kept in $FOCUS_VENV (default target/focus-venv).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${CASCADE_BIN:-${CARGO_TARGET_DIR:-target}/release/cascade}"
venv="${FOCUS_VENV:-${CARGO_TARGET_DIR:-target}/focus-venv}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

if [ ! -x "$venv/bin/focus-validator" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "focus-validator==1.0.0" "multimethod<2"
fi

"$bin" bill examples/compute-chain-2025.toml --from 2026-01 --to 2026-12 \
  --format focus --focus-version 1.0 > "$out/focus.csv"
rows=$(($(wc -l < "$out/focus.csv") - 1))
echo "FOCUS 1.0 export: $rows rows"

"$venv/bin/focus-validator" --data-file "$out/focus.csv" --validate-version 1.0 \
  --output-type console > "$out/report.txt" 2>&1 || true
cat "$out/report.txt"
# The console report marks each failed rule; zero of them is success.
if grep -Eiq "fail" "$out/report.txt" && ! grep -Eiq "failed[^0-9]*0\b|0 fail" "$out/report.txt"; then
  echo "focus-validator: failed rules above" >&2
  exit 1
fi
echo "focus-validator: no failed rule"

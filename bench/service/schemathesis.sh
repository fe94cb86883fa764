#!/usr/bin/env bash
# Runs schemathesis (PyPI, pinned) against `cascade serve` on a free
# loopback port, with the example scenario loaded, once with an admin
# token and once with a party token. Checks: no 5xx
# (not_a_server_error) and every response matches the OpenAPI document
# (response_schema_conformance). Exits non-zero on any failure.
#
#   bench/service/schemathesis.sh            # about 80 s on 2 cores
#   MAX_EXAMPLES=20 bench/service/schemathesis.sh
#
# The venv lives in ~/.cache/cascade (created on first use).
set -euo pipefail
VERSION=4.32.5
VENV=${SCHEMATHESIS_VENV:-$HOME/.cache/cascade/schemathesis-$VERSION}
if [ ! -x "$VENV/bin/schemathesis" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$VERSION"
fi
# shellcheck source=bench/service/lib.sh
source "$(dirname "$0")/lib.sh"

DB="sqlite://$TMP/schemathesis.db"
"$BIN" load examples/compute-chain-2025.toml --database "$DB" >/dev/null
PARTY=$("$BIN" token create --party openai --database "$DB")
start_server "$DB"
ADMIN=$(cat "$TMP/admin.token")

status=0
cd "$TMP" # schemathesis keeps its example database in ./.schemathesis
for who in admin party; do
    if [ "$who" = admin ]; then TOKEN=$ADMIN; else TOKEN=$PARTY; fi
    echo "== schemathesis $VERSION as $who against http://$ADDR/openapi.json"
    "$VENV/bin/schemathesis" run "http://$ADDR/openapi.json" \
        -H "Authorization: Bearer $TOKEN" \
        --checks not_a_server_error,response_schema_conformance \
        --phases examples,coverage,fuzzing \
        --max-examples "${MAX_EXAMPLES:-80}" \
        --seed "${SEED:-20261126}" \
        --workers 2 \
        --request-timeout 30 \
        --no-color \
        --report junit --report-junit-path "$TMP/junit-$who.xml" || status=1
done
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    echo "cascade serve died during the run:" >&2
    cat "$TMP/serve.err" >&2
    status=1
fi
exit $status

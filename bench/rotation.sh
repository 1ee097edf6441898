#!/usr/bin/env bash
# Key rotation with two instances on one PostgreSQL database: how long until both publish the
# new key and sign with it, and whether any token is refused by the other instance meanwhile.
# See bench/README.md ("Faults and overload").
#
#   bash bench/rotation.sh
#
# Two rotations with the CLI, one after the other: `portcullis keys rotate --alg RS256` (the
# scheduled one: published now, signing after keys.publish_ahead_secs) and `... --now` (the
# emergency one). Knobs: PORT (18120; instance b on PORT+1), RELOAD (1: keys.reload_interval_secs),
# MAX_AGE (1: keys.jwks_max_age_secs), PUBLISH_AHEAD (10: keys.publish_ahead_secs), BENCH_BIN,
# BENCH_PG_URL. About 40 s after the build.
set -euo pipefail
BENCH_DB=postgres
# shellcheck source=bench/faults-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults-lib.sh"

PORT="${PORT:-18120}"
PORT_B=$((PORT + 1))
RELOAD="${RELOAD:-1}"
MAX_AGE="${MAX_AGE:-1}"
PUBLISH_AHEAD="${PUBLISH_AHEAD:-10}"

setup_db
# Behind one load balancer: the same issuer; a keys directory each.
export PORTCULLIS_ISSUER="http://127.0.0.1:$PORT"
export PORTCULLIS_KEYS__RELOAD_INTERVAL_SECS="$RELOAD"
export PORTCULLIS_KEYS__JWKS_MAX_AGE_SECS="$MAX_AGE"
export PORTCULLIS_KEYS__PUBLISH_AHEAD_SECS="$PUBLISH_AHEAD"
log "clients"
CC="$(client rotation-service --grant client_credentials --scope read)"
RS="$(client rotation-rs --grant client_credentials --introspect)"
mkdir -m 700 "$TMP/keys-a" "$TMP/keys-b"
PORTCULLIS_KEYS_DIR="$TMP/keys-a" start_server a "$PORT"
PORTCULLIS_KEYS_DIR="$TMP/keys-b" start_server b "$PORT_B"

python3 - "$TMP/config.json" <<PY
import json, sys
json.dump({"bin": "$BIN", "tmp": "$TMP", "port_a": $PORT, "port_b": $PORT_B, "reload": $RELOAD,
           "max_age": $MAX_AGE, "publish_ahead": $PUBLISH_AHEAD,
           "cc": json.loads('''$CC'''), "rs": json.loads('''$RS''')}, open(sys.argv[1], "w"))
PY
log "rotating (scheduled, then --now) with a validation loop"
rc=0
python3 "$ROOT/bench/faults.py" rotation "$TMP/config.json" >"$TMP/report.md" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { tail -n 30 "$TMP/a.log" "$TMP/b.log" >&2; die "the driver failed (exit $rc)"; }
header "key rotation across two instances (bench/rotation.sh)"
echo "Command: \`bash bench/rotation.sh\` (RELOAD=$RELOAD, MAX_AGE=$MAX_AGE, PUBLISH_AHEAD=$PUBLISH_AHEAD)"
echo
cat "$TMP/report.md"
exit "$rc"

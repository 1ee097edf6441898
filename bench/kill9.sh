#!/usr/bin/env bash
# kill -9 under load, then restart on the same database: ready again, and no half-written state.
# See bench/README.md ("Faults and overload").
#
#   bash bench/kill9.sh                     # SQLite
#   BENCH_DB=postgres bash bench/kill9.sh   # a PostgreSQL database of its own
#
# Knobs: PORT (18100), KILLS (5), BETWEEN (3: seconds of load before each kill), CHAINS (8
# refresh-token chains), CC_THREADS (2 client_credentials loops), REUSE_GRACE (10:
# sessions.refresh_reuse_grace_secs; 0 is the strict default, where a retry after a lost answer
# may break its chain), BENCH_BIN, BENCH_DB, BENCH_PG_URL. About 30 s after the build.
set -euo pipefail
# shellcheck source=bench/faults-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults-lib.sh"

PORT="${PORT:-18100}"
KILLS="${KILLS:-5}"
BETWEEN="${BETWEEN:-3}"
CHAINS="${CHAINS:-8}"
CC_THREADS="${CC_THREADS:-2}"
REUSE_GRACE="${REUSE_GRACE:-10}"
PASSWORD='Kill9-Passw0rd'
EMAIL='kill9@example.com'

setup_db
export PORTCULLIS_ISSUER="http://127.0.0.1:$PORT"
export PORTCULLIS_SESSIONS__MAX_PER_USER=100
export PORTCULLIS_SESSIONS__REFRESH_REUSE_GRACE_SECS="$REUSE_GRACE"
port_free "$PORT"
log "clients and a user"
APP="$(client kill9-app --grant password,refresh_token --scope read)"
CC="$(client kill9-service --grant client_credentials --scope read)"
CODE="$(client kill9-web --grant authorization_code --scope openid --redirect-uri http://127.0.0.1:9/cb --skip-consent)"
printf '%s\n' "$PASSWORD" | "$BIN" user create --email "$EMAIL" --password-stdin >/dev/null 2>>"$TMP/setup.err" ||
    { cat "$TMP/setup.err" >&2; die "user create"; }

python3 - "$TMP/config.json" <<PY
import json, sys
json.dump({"bin": "$BIN", "tmp": "$TMP", "port": $PORT, "db_url": "$DB_URL", "kills": $KILLS,
           "between": $BETWEEN, "chains": $CHAINS, "cc_threads": $CC_THREADS, "grace": $REUSE_GRACE,
           "email": "$EMAIL", "password": "$PASSWORD",
           "app": json.loads('''$APP'''), "cc": json.loads('''$CC'''), "code": json.loads('''$CODE''')},
          open(sys.argv[1], "w"))
PY
log "load, $KILLS kills, one every ${BETWEEN}s"
rc=0
python3 "$ROOT/bench/faults.py" kill9 "$TMP/config.json" >"$TMP/report.md" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { tail -n 30 "$TMP/server.log" >&2; die "the driver failed (exit $rc)"; }
header "kill -9 under load (bench/kill9.sh)"
echo "Command: \`${DB_PREFIX:+$DB_PREFIX }bash bench/kill9.sh\` (KILLS=$KILLS, BETWEEN=$BETWEEN, CHAINS=$CHAINS, REUSE_GRACE=$REUSE_GRACE)"
echo
cat "$TMP/report.md"
exit "$rc"

#!/usr/bin/env bash
# Database outage on PostgreSQL, for this server alone: the server reaches PostgreSQL through a
# TCP proxy on loopback (bench/faults.py proxy), which this script stops (every connection
# closed, new ones refused) and resumes; the shared PostgreSQL server is never touched.
# See bench/README.md ("Faults and overload").
#
#   bash bench/outage.sh
#
# Knobs: PORT (18110; the proxy listens on PORT+1), BEFORE (5 s of load before the outage),
# OUTAGE (10 s), AFTER (5 s), PAUSE (0.05 s between a loop's requests), FLAPS (10: then the proxy
# is cut that many times for 0.5 s, a second apart, under load; 0 skips it), BENCH_BIN,
# BENCH_PG_URL. About 45 s after the build.
set -euo pipefail
BENCH_DB=postgres
# shellcheck source=bench/faults-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults-lib.sh"

PORT="${PORT:-18110}"
PROXY_PORT=$((PORT + 1))
BEFORE="${BEFORE:-5}"
OUTAGE="${OUTAGE:-10}"
AFTER="${AFTER:-5}"
PAUSE="${PAUSE:-0.05}"
FLAPS="${FLAPS:-10}"
PASSWORD='Outage-Passw0rd'
EMAIL='outage@example.com'

setup_db
export PORTCULLIS_ISSUER="http://127.0.0.1:$PORT"
export PORTCULLIS_SESSIONS__MAX_PER_USER=1000
log "clients and a user"
CC="$(client outage-service --grant client_credentials --scope read)"
PW="$(client outage-app --grant password --scope read)"
CODE="$(client outage-web --grant authorization_code --scope openid --redirect-uri http://127.0.0.1:9/cb)"
printf '%s\n' "$PASSWORD" | "$BIN" user create --email "$EMAIL" --password-stdin >/dev/null 2>>"$TMP/setup.err" ||
    { cat "$TMP/setup.err" >&2; die "user create"; }

read -r PG_HOST PG_PORT < <(python3 -c 'import sys, urllib.parse; u = urllib.parse.urlparse(sys.argv[1]); print(u.hostname or "127.0.0.1", u.port or 5432)' "$BENCH_PG_URL")
case "$PG_HOST" in
    127.0.0.1 | localhost | ::1) ;;
    *) die "BENCH_PG_URL must be on loopback (got $PG_HOST)" ;;
esac
port_free "$PROXY_PORT"
python3 "$ROOT/bench/faults.py" proxy "$PROXY_PORT" "$PG_HOST" "$PG_PORT" >"$TMP/proxy.log" 2>&1 &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
for _ in $(seq 1 50); do grep -q 'proxy ready' "$TMP/proxy.log" 2>/dev/null && break; sleep 0.1; done
grep -q 'proxy ready' "$TMP/proxy.log" || die "the proxy did not start"
# The server (only it) goes through the proxy; the CLI above went straight to PostgreSQL.
PROXIED_URL="$(python3 -c 'import sys, urllib.parse; u = urllib.parse.urlparse(sys.argv[1]); print(u._replace(netloc=(u.username + "@" if u.username else "") + "127.0.0.1:" + sys.argv[2]).geturl())' "$DB_URL" "$PROXY_PORT")"
PORTCULLIS_DATABASE_URL="$PROXIED_URL" start_server server "$PORT"

python3 - "$TMP/config.json" <<PY
import json, sys
json.dump({"bin": "$BIN", "tmp": "$TMP", "port": $PORT, "proxy_pid": $PROXY_PID, "before": $BEFORE,
           "outage": $OUTAGE, "after": $AFTER, "flaps": $FLAPS, "pause": $PAUSE, "email": "$EMAIL", "password": "$PASSWORD",
           "cc": json.loads('''$CC'''), "pw": json.loads('''$PW'''),
           "code_client_id": json.loads('''$CODE''')["client_id"]}, open(sys.argv[1], "w"))
PY
log "load ${BEFORE}s, outage ${OUTAGE}s, load ${AFTER}s"
rc=0
python3 "$ROOT/bench/faults.py" outage "$TMP/config.json" >"$TMP/report.md" || rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { tail -n 30 "$TMP/server.log" >&2; die "the driver failed (exit $rc)"; }
kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during the outage"
if [ "$FLAPS" -gt 0 ]; then
    log "flapping: $FLAPS cuts of 0.5 s"
    frc=0
    python3 "$ROOT/bench/faults.py" flap "$TMP/config.json" >>"$TMP/report.md" || frc=$?
    [ "$frc" -eq 0 ] || [ "$frc" -eq 3 ] || die "the flapping driver failed (exit $frc)"
    [ "$frc" -eq 0 ] || rc=3
fi
header "database outage through a proxy (bench/outage.sh)"
echo "Command: \`bash bench/outage.sh\` (BEFORE=$BEFORE, OUTAGE=$OUTAGE, AFTER=$AFTER, PAUSE=$PAUSE, FLAPS=$FLAPS; load: two client_credentials loops, a password-grant loop, a \`POST /api/auth/login\` loop, a \`GET /authorize\` page loop, each with a ${PAUSE} s pause, and \`/readyz\` every 0.2 s)"
echo
cat "$TMP/report.md"
echo
echo "Server log lines at WARN / ERROR: $(grep -c WARN "$TMP/server.log" || true) / $(grep -c ERROR "$TMP/server.log" || true) (mostly r2d2's \`no connection to the server\` while the proxy is down). Lines \`internal error\` (a 500's cause; first 5):"
echo
echo '```text'
grep -m5 'internal error' "$TMP/server.log" | cut -c1-600 || echo '(none)'
echo '```'
exit "$rc"

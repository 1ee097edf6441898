#!/usr/bin/env bash
# Storage soak: does the database stay bounded under steady traffic? See bench/README.md.
#
#   bash bench/soak.sh                     # 10 minutes, SQLite, release build
#   DURATION=120 PURGE_INTERVAL=20 bash bench/soak.sh
#
# Knobs (environment, all optional):
#   DURATION=600        seconds of load
#   SAMPLE=30           seconds between samples (DB size, row counts, server RSS)
#   PURGE_INTERVAL=60   purge.interval_secs of the server under test
#   GRACE=60            purge.grace_secs (dead rows kept this long)
#   AUDIT_RETENTION=180 audit.retention_secs (the default of 90 days would grow the audit log
#                       through any soak; 0 keeps events)
#   LOGIN_RPS=3 REFRESH_RPS=6 CC_RPS=10   request rates (password grant, refresh, client_credentials)
#   USERS=20            users the logins spread over (5 live sessions each at most)
#   DATABASE_URL=...    a postgres:// database to soak instead of a fresh SQLite file (its
#                       tables are used as they are: give it an empty database)
#   PORT=18090          loopback port of the server under test
#   BENCH_BIN=...       this binary instead of building target/release/portcullis
#   OUT=...             where the samples go (TSV; default: soak-<date>.tsv in the current dir)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DURATION="${DURATION:-600}"
SAMPLE="${SAMPLE:-30}"
PURGE_INTERVAL="${PURGE_INTERVAL:-60}"
GRACE="${GRACE:-60}"
AUDIT_RETENTION="${AUDIT_RETENTION:-180}"
USERS="${USERS:-20}"
PORT="${PORT:-18090}"
OUT="$(realpath -m "${OUT:-soak-$(date -u +%Y%m%dT%H%M%SZ).tsv}")"
BASE_URL="http://127.0.0.1:${PORT}"
PASSWORD='Soak-Pass-1234'

log() { printf '>>> %s\n' "$*" >&2; }
die() {
    printf 'soak: FAILED: %s\n' "$*" >&2
    exit 1
}
for tool in python3 curl; do command -v "$tool" >/dev/null || die "$tool is required"; done

if [ -n "${BENCH_BIN:-}" ]; then
    BIN="$(realpath "$BENCH_BIN")"
else
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis"
fi
[ -x "$BIN" ] || die "server binary not found: $BIN"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-soak.XXXXXX")"
SERVER_PID=""
# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
    local rc=$?
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -m 700 "$TMP/keys"
export PORTCULLIS_DATABASE_URL="${DATABASE_URL:-sqlite://$TMP/soak.db}"
export PORTCULLIS_KEYS_DIR="$TMP/keys"
export PORTCULLIS_ISSUER="$BASE_URL"
export PORTCULLIS_PURGE__INTERVAL_SECS="$PURGE_INTERVAL"
export PORTCULLIS_PURGE__GRACE_SECS="$GRACE"
export PORTCULLIS_AUDIT__RETENTION_SECS="$AUDIT_RETENTION"
# Access tokens of a minute, so revoked refresh tokens (kept until the access token issued with
# them expires) go within the soak too.
export PORTCULLIS_TOKENS__ACCESS_TOKEN_TTL_SECS=60
export PORTCULLIS_TOKENS__MAX_ACCESS_TOKEN_TTL_SECS=60
# Many logins from one address, all right: nothing for the guess budget to refuse.
export PORTCULLIS_LOCKOUT__IP_MAX_FAILURES=64
export RUST_LOG="${RUST_LOG:-info,portcullis::access=off}"
cd "$TMP"
curl -fsS -o /dev/null --max-time 2 "$BASE_URL/readyz" 2>/dev/null &&
    die "something already answers on $BASE_URL; set PORT to a free port"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }
log "setting up: two clients, $USERS users"
"$BIN" migrate >/dev/null 2>"$TMP/setup.err" || { cat "$TMP/setup.err" >&2; die "migrate"; }
pw="$("$BIN" client create --name soak-app --grant password,refresh_token --scope read 2>>"$TMP/setup.err")"
cc="$("$BIN" client create --name soak-service --grant client_credentials --scope read 2>>"$TMP/setup.err")"
users=()
for i in $(seq 1 "$USERS"); do
    printf '%s' "$PASSWORD" | "$BIN" user create --email "soak$i@example.com" \
        --password-stdin >/dev/null 2>>"$TMP/setup.err" || { cat "$TMP/setup.err" >&2; die "user create"; }
    users+=("soak$i@example.com")
done
python3 - "$TMP/creds.json" "$PASSWORD" "$(json client_id <<<"$pw")" "$(json client_secret <<<"$pw")" \
    "$(json client_id <<<"$cc")" "$(json client_secret <<<"$cc")" "${users[@]}" <<'PY'
import json, sys
path, password, pid, psec, cid, csec, *users = sys.argv[1:]
json.dump({"password": password, "pw_client_id": pid, "pw_client_secret": psec,
           "cc_client_id": cid, "cc_client_secret": csec, "users": users}, open(path, "w"))
PY

"$BIN" serve 2>"$TMP/server.log" &
SERVER_PID=$!
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null --max-time 1 "$BASE_URL/readyz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "the server exited"; }
    sleep 0.2
done
log "soaking for ${DURATION}s (login ${LOGIN_RPS:-3}/s, refresh ${REFRESH_RPS:-6}/s, client_credentials ${CC_RPS:-10}/s), sampling every ${SAMPLE}s; purge every ${PURGE_INTERVAL}s, grace ${GRACE}s"
python3 "$ROOT/bench/soak.py" "$BASE_URL" "$PORTCULLIS_DATABASE_URL" "$SERVER_PID" "$DURATION" \
    "$SAMPLE" "$TMP/creds.json" "$OUT"

log "purge runs (server log):"
grep -a "purge finished" "$TMP/server.log" | sed 's/^/    /' >&2 || log "no purge ran: DURATION shorter than PURGE_INTERVAL?"
log "samples in $OUT"

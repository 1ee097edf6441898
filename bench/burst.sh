#!/usr/bin/env bash
# Memory after bursts: the server's idle RSS before and after bursts of 2,000 connections.
# See bench/README.md ("Memory after bursts").
#
#   bash bench/burst.sh
#
# Knobs: PORT (default 18090), BURSTS (3), BURST_SECS (5), BURST_CONNECTIONS (2000),
# BENCH_BIN (a built binary; default: cargo build --release). SQLite in a temporary directory,
# 127.0.0.1 only; everything is removed on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PORT="${PORT:-18090}"
BURSTS="${BURSTS:-3}"
BURST_SECS="${BURST_SECS:-5}"
CONNS="${BURST_CONNECTIONS:-2000}"
BASE_URL="http://127.0.0.1:${PORT}"

die() {
    printf 'burst: FAILED: %s\n' "$*" >&2
    exit 1
}
command -v wrk >/dev/null 2>&1 || die "wrk is required (apt-get install wrk)"
command -v python3 >/dev/null 2>&1 || die "python3 is required"
# wrk needs a descriptor per connection, the server one more per connection too.
[ "$(ulimit -n)" -gt $((CONNS + 100)) ] || ulimit -n $((CONNS * 2 + 200)) ||
    die "ulimit -n is below $CONNS connections"

if [ -n "${BENCH_BIN:-}" ]; then
    BIN="$(realpath "$BENCH_BIN")"
else
    (cd "$ROOT" && cargo build --release)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis"
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-burst.XXXXXX")"
SERVER_PID=""
cleanup() {
    local rc=$?
    if [ -n "$SERVER_PID" ]; then
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
export PORTCULLIS_DATABASE_URL="sqlite://$TMP/bench.db" PORTCULLIS_KEYS_DIR="$TMP/keys"
export PORTCULLIS_ISSUER="$BASE_URL" RUST_LOG=warn
cd "$TMP"
"$BIN" migrate >/dev/null 2>&1 || die "portcullis migrate failed"
BENCH_AUTHORIZATION="$("$BIN" client create --name burst --grant client_credentials --scope read 2>/dev/null |
    python3 -c 'import base64, json, sys; c = json.load(sys.stdin); print("Basic " + base64.b64encode((c["client_id"] + ":" + c["client_secret"]).encode()).decode())')" ||
    die "portcullis client create failed"
export BENCH_AUTHORIZATION BENCH_BODY="grant_type=client_credentials&scope=read"

"$BIN" serve >"$TMP/server.log" 2>&1 </dev/null &
SERVER_PID=$!
for _ in $(seq 1 60); do
    curl -fsS -o /dev/null --max-time 1 "$BASE_URL/readyz" 2>/dev/null && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "server exited"; }
    sleep 0.5
done

rss() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }
hwm() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"; }

# A few ordinary requests first, so "idle" is a server that has served.
BENCH_METHOD=POST wrk -t1 -c4 -d1s -s "$ROOT/bench/token.lua" "$BASE_URL/token" >/dev/null
sleep 2
echo "| moment | RSS MiB | peak (VmHWM) MiB | burst req/s | burst non-2xx | burst socket errors |"
echo "|---|---:|---:|---:|---:|---:|"
echo "| idle, before the bursts | $(rss) | $(hwm) | | | |"
for i in $(seq 1 "$BURSTS"); do
    BENCH_METHOD=POST BENCH_COMMON_LUA="$ROOT/bench/token.lua" \
        wrk -t2 -c"$CONNS" -d"${BURST_SECS}s" --timeout 10s -s "$ROOT/bench/token.lua" \
        "$BASE_URL/token" >"$TMP/burst-$i.txt" 2>&1 || { cat "$TMP/burst-$i.txt" >&2; die "wrk failed"; }
    line="$(grep '^BENCH_RESULT ' "$TMP/burst-$i.txt")"
    field() { printf '%s\n' "$line" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
    sleep 5
    echo "| 5 s after burst $i (-c$CONNS, ${BURST_SECS} s) | $(rss) | $(hwm) | $(field rps) | $(field non2xx) | $(field socket_errors) |"
done
sleep 25
echo "| 30 s after the last burst | $(rss) | $(hwm) | | | |"

#!/usr/bin/env bash
# Overload: more concurrent load than the server can take, for a bounded time. Records
# throughput, latency and every status (shedding must be 429/503 with Retry-After, never 500),
# whether /healthz stays responsive meanwhile, and how fast the server recovers afterwards.
# See bench/README.md ("Faults and overload").
#
#   bash bench/overload.sh                     # SQLite
#   BENCH_DB=postgres bash bench/overload.sh   # a PostgreSQL database of its own
#
# Knobs: PORT (18130), DURATION (20: seconds of overload), CC_CONNECTIONS (1000, client_credentials),
# PW_CONNECTIONS (200, password grant: argon2id), RECOVER (10: seconds watched afterwards),
# GUESS_BUDGET (100000: lockout.ip_max_failures and account_max_failures, see below), BENCH_BIN,
# BENCH_DB, BENCH_PG_URL. About 45 s after the build.
set -euo pipefail
# shellcheck source=bench/faults-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/faults-lib.sh"

PORT="${PORT:-18130}"
DURATION="${DURATION:-20}"
CC_CONNS="${CC_CONNECTIONS:-1000}"
PW_CONNS="${PW_CONNECTIONS:-200}"
RECOVER="${RECOVER:-10}"
GUESS_BUDGET="${GUESS_BUDGET:-100000}"
PASSWORD='Overload-Passw0rd'
EMAIL='overload@example.com'
BASE_URL="http://127.0.0.1:$PORT"
command -v wrk >/dev/null 2>&1 || die "wrk is required (apt-get install wrk)"
NEED_FDS=$(((CC_CONNS + PW_CONNS) * 2 + 200))
[ "$(ulimit -n)" -ge "$NEED_FDS" ] || ulimit -n "$NEED_FDS" || die "ulimit -n is below $NEED_FDS"

setup_db
export PORTCULLIS_ISSUER="$BASE_URL"
# Every login succeeds; each opens a session. In-flight guesses count against the per-address
# and per-account guess budgets (5 and 10 by default), so from one address the default answers
# nearly every concurrent login 429 before hashing; GUESS_BUDGET raises both, so the logins reach
# the argon2 hashing pool and its bounded queue (password.hash_queue, 503 beyond). GUESS_BUDGET=5
# measures the default instead.
export PORTCULLIS_SESSIONS__MAX_PER_USER=100
export PORTCULLIS_LOCKOUT__IP_MAX_FAILURES="$GUESS_BUDGET" PORTCULLIS_LOCKOUT__ACCOUNT_MAX_FAILURES="$GUESS_BUDGET"
log "clients and a user"
basic() { python3 -c 'import base64, json, sys; c = json.loads(sys.argv[1]); print("Basic " + base64.b64encode((c["client_id"] + ":" + c["client_secret"]).encode()).decode())' "$1"; }
CC_AUTH="$(basic "$(client overload-service --grant client_credentials --scope read)")"
PW_AUTH="$(basic "$(client overload-app --grant password --scope read)")"
printf '%s\n' "$PASSWORD" | "$BIN" user create --email "$EMAIL" --password-stdin >/dev/null 2>>"$TMP/setup.err" ||
    { cat "$TMP/setup.err" >&2; die "user create"; }
CC_BODY="grant_type=client_credentials&scope=read"
PW_BODY="grant_type=password&username=overload%40example.com&password=$PASSWORD&scope=read"
start_server server "$PORT"

token_status() { # AUTH BODY: the status of one POST /token (000 when no answer within 10 s)
    curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H "Authorization: $1" \
        -H 'Content-Type: application/x-www-form-urlencoded' --data "$2" "$BASE_URL/token" 2>/dev/null || true
}
[ "$(token_status "$CC_AUTH" "$CC_BODY")" = 200 ] || die "client_credentials does not answer 200"
[ "$(token_status "$PW_AUTH" "$PW_BODY")" = 200 ] || die "the password grant does not answer 200"

# /healthz every 0.1 s, from 3 s before the load to RECOVER s after it.
PROBE_SECS=$((3 + DURATION + RECOVER))
python3 "$ROOT/bench/faults.py" probe "$BASE_URL/healthz" "$PROBE_SECS" 0.1 "$TMP/probe.json" &
PIDS+=("$!")
PROBE_PID=$!
sleep 3
log "overload: ${DURATION}s, client_credentials -c$CC_CONNS and password grant -c$PW_CONNS"
LOAD_START=$(date +%s.%N)
BENCH_METHOD=POST BENCH_AUTHORIZATION="$CC_AUTH" BENCH_BODY="$CC_BODY" \
    wrk -t2 -c"$CC_CONNS" -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/status.lua" "$BASE_URL/token" \
    >"$TMP/wrk-cc.txt" 2>&1 </dev/null &
CC_PID=$!
PIDS+=("$CC_PID")
BENCH_METHOD=POST BENCH_AUTHORIZATION="$PW_AUTH" BENCH_BODY="$PW_BODY" \
    wrk -t1 -c"$PW_CONNS" -d"${DURATION}s" --timeout 10s -s "$ROOT/bench/status.lua" "$BASE_URL/token" \
    >"$TMP/wrk-pw.txt" 2>&1 </dev/null &
PW_PID=$!
PIDS+=("$PW_PID")
wait "$CC_PID" || { cat "$TMP/wrk-cc.txt" >&2; die "wrk (client_credentials) failed"; }
wait "$PW_PID" || { cat "$TMP/wrk-pw.txt" >&2; die "wrk (password) failed"; }
LOAD_END=$(date +%s.%N)
kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 30 "$TMP/server.log" >&2; die "the server died under overload"; }
PEAK_RSS="$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status")"

# Recovery: the first 200 of each grant after the load stopped.
recover() { # AUTH BODY: seconds from now to the first 200 (30 s at most)
    local start now
    start=$(date +%s.%N)
    for _ in $(seq 1 300); do
        [ "$(token_status "$1" "$2")" = 200 ] && break
        sleep 0.1
    done
    now=$(date +%s.%N)
    python3 -c 'import sys; print(f"{float(sys.argv[2]) - float(sys.argv[1]):.3f}")' "$start" "$now"
}
CC_RECOVER="$(recover "$CC_AUTH" "$CC_BODY")"
PW_RECOVER="$(recover "$PW_AUTH" "$PW_BODY")"
wait "$PROBE_PID" || true
SHEDDING_LINES="$(grep -c -E 'WARN|ERROR' "$TMP/server.log" || true)"
INTERNAL="$(grep -c 'internal error' "$TMP/server.log" || true)"

header "overload (bench/overload.sh)"
echo "Command: \`${DB_PREFIX:+$DB_PREFIX }bash bench/overload.sh\` (DURATION=$DURATION, CC_CONNECTIONS=$CC_CONNS, PW_CONNECTIONS=$PW_CONNS, GUESS_BUDGET=$GUESS_BUDGET): wrk -t2 -c$CC_CONNS on client_credentials (RS256) and wrk -t1 -c$PW_CONNS on the password grant, together, ${DURATION} s, --timeout 10s; /healthz every 0.1 s from 3 s before to ${RECOVER} s after."
echo
python3 - "$TMP/wrk-cc.txt" "$TMP/wrk-pw.txt" "$TMP/probe.json" "$LOAD_START" "$LOAD_END" "$CC_RECOVER" \
    "$PW_RECOVER" "$PEAK_RSS" "$INTERNAL" "$SHEDDING_LINES" <<'PY'
import json, sys
cc_f, pw_f, probe_f, t0, t1, cc_rec, pw_rec, rss, internal, warn = sys.argv[1:]
def parse(path):
    line = [l for l in open(path) if l.startswith("OVERLOAD_RESULT ")][-1]
    return dict(kv.split("=", 1) for kv in line.split()[1:])
problems = []
print("| load | req/s | p50 ms | p90 ms | p99 ms | max ms | statuses (code:count) | 429/503 with Retry-After | socket errors (connect/read/write/timeout) |")
print("|---|---:|---:|---:|---:|---:|---|---:|---|")
for name, path in (("client_credentials", cc_f), ("password grant", pw_f)):
    r = parse(path)
    print(f"| {name} | {float(r['rps']):.0f} | {r['p50_ms']} | {r['p90_ms']} | {r['p99_ms']} | {r['max_ms']} | {r['statuses']} "
          f"| {r['shed_with_retry_after']} of {r['shed']} | {r['connect']}/{r['read']}/{r['write']}/{r['timeout']} |")
    st = dict(kv.split(":") for kv in r["statuses"].split(",") if kv)
    bad = {k: v for k, v in st.items() if k not in ("200", "429", "503")}
    if bad:
        problems.append(f"{name}: statuses other than 200/429/503: {bad}")
    if r["shed_with_retry_after"] != r["shed"]:
        problems.append(f"{name}: {int(r['shed']) - int(r['shed_with_retry_after'])} 429/503 without Retry-After")
    if int(r["timeout"]):
        problems.append(f"{name}: {r['timeout']} requests unanswered within 10 s")
print()
# The probe's clock starts 3 s before the load (monotonic seconds since it started).
samples = json.load(open(probe_f))
dur = float(t1) - float(t0)
def stats(sel):
    took = sorted(s[2] for s in sel)
    ok = sum(1 for s in sel if s[1] == 200)
    if not took:
        return "-"
    p = lambda q: took[min(len(took) - 1, int(round(q / 100 * (len(took) - 1))))] * 1000
    return f"{len(sel)} probes, {ok} answered 200, p50 {p(50):.1f} ms, p99 {p(99):.1f} ms, max {took[-1] * 1000:.1f} ms"
before = [s for s in samples if s[0] < 3]
during = [s for s in samples if 3 <= s[0] - s[2] and s[0] < 3 + dur]
after = [s for s in samples if s[0] - s[2] >= 3 + dur]
print(f"- `/healthz` before the load: {stats(before)}")
print(f"- `/healthz` during the overload: {stats(during)}")
print(f"- `/healthz` after it: {stats(after)}")
print(f"- Recovery after the load stopped: the first client_credentials 200 after {cc_rec} s, the first password-grant 200 after {pw_rec} s.")
print(f"- Server peak RSS (VmHWM): {rss} MiB; server log: {warn} WARN/ERROR lines, {internal} `internal error` (500) lines.")
if any(s[1] != 200 for s in during + after):
    problems.append(f"/healthz failed {sum(1 for s in during + after if s[1] != 200)} times")
if during and max(s[2] for s in during) > 2:
    problems.append("/healthz took over 2 s during the overload")
if float(cc_rec) > 5 or float(pw_rec) > 5:
    problems.append("recovery over 5 s")
if int(internal):
    problems.append(f"{internal} internal errors in the server log")
print()
print("Verdict: " + ("PASS — shed with 429/503 + Retry-After only, /healthz answered throughout, recovered at once."
                     if not problems else "FAIL — " + "; ".join(problems)))
PY

#!/usr/bin/env bash
# Reproducible load benchmark for Portcullis. See bench/README.md.
#
#   bash bench/run.sh            # from any directory
#
# Environment knobs (all optional):
#   PORT=18080            loopback port for the server under test
#   DURATION=10s          length of each measured wrk run
#   BENCH_STRICT=1        exit 1 when a target is missed (default: report only)
#   BENCH_BIN=...         benchmark this binary instead of building target/release/portcullis
#   BENCH_DB=sqlite       sqlite (default) or postgres: a database of its own on BENCH_PG_URL,
#                         created for the run and dropped at the end
#   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432   the PostgreSQL server (no database part)
#   BENCH_ONLY=a,b        only the named runs (e.g. introspect-c64,refresh-c64,mixed,flood);
#                         set-up still runs, the report leaves the others out
#
# Everything runs on 127.0.0.1; every load run is bounded by wrk's -d.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PORT="${PORT:-18080}"
DURATION="${DURATION:-10s}"
BENCH_STRICT="${BENCH_STRICT:-0}"
BENCH_DB="${BENCH_DB:-sqlite}"
BENCH_PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
case "$BENCH_DB" in
    sqlite | postgres) ;;
    *) printf 'bench: BENCH_DB must be sqlite or postgres (got %s)\n' "$BENCH_DB" >&2; exit 2 ;;
esac
BASE_URL="http://127.0.0.1:${PORT}"
LUA="$ROOT/bench/token.lua"

log() { printf '>>> %s\n' "$*" >&2; }
die() {
    printf 'bench: FAILED: %s\n' "$*" >&2
    exit 1
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root (or passwordless sudo) to run: $*"
    fi
}

# ---------------------------------------------------------------- tools
command -v python3 >/dev/null 2>&1 || die "python3 is required"
command -v curl >/dev/null 2>&1 || die "curl is required"
command -v openssl >/dev/null 2>&1 || die "openssl is required"
if [ "$BENCH_DB" = postgres ]; then
    for tool in createdb dropdb; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is required for BENCH_DB=postgres (postgresql-client)"
    done
fi
if ! command -v wrk >/dev/null 2>&1; then
    log "installing wrk"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk </dev/null ||
        { as_root apt-get update && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y wrk </dev/null; }
fi
command -v wrk >/dev/null 2>&1 || die "wrk is not installed"

# ---------------------------------------------------------------- build
if [ -n "${BENCH_BIN:-}" ]; then
    BIN="$(realpath "$BENCH_BIN")"
    log "using BENCH_BIN=$BIN (no build)"
else
    log "cargo build --release"
    cargo build --release
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis"
fi
[ -x "$BIN" ] || die "server binary not found: $BIN"

# ---------------------------------------------------------------- environment
TMP="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-bench.XXXXXX")"
SERVER_PID=""
WRK_PIDS=()
PG_DB=""
PG_DB_ARGS=()

# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
    local rc=$?
    local pid
    for pid in ${WRK_PIDS[@]+"${WRK_PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            kill -9 "$SERVER_PID" 2>/dev/null || true
        fi
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [ -n "$PG_DB" ]; then
        dropdb --if-exists "${PG_DB_ARGS[@]}" "$PG_DB" 2>/dev/null || true
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -m 700 "$TMP/keys"
if [ "$BENCH_DB" = postgres ]; then
    # A database of its own on the shared server, dropped on exit; the server is never touched.
    PG_DB="portcullis_bench_$$"
    PG_DB_ARGS=(--maintenance-db="$BENCH_PG_URL/postgres")
    createdb "${PG_DB_ARGS[@]}" "$PG_DB" || { PG_DB=""; die "createdb $PG_DB failed on $BENCH_PG_URL"; }
    # No TLS on loopback (libpq's default, sslmode=prefer, would encrypt every query to a
    # server with ssl on: a fifth of the server's CPU in the refresh run, measured).
    export PORTCULLIS_DATABASE_URL="$BENCH_PG_URL/$PG_DB?sslmode=disable"
    # PostgreSQL needs an explicit key-encryption key (SQLite generates one into keys_dir).
    PORTCULLIS_KEYS__ENCRYPTION_KEY="$(openssl rand -base64 32)"
    export PORTCULLIS_KEYS__ENCRYPTION_KEY
else
    export PORTCULLIS_DATABASE_URL="sqlite://$TMP/bench.db"
fi
export PORTCULLIS_KEYS_DIR="$TMP/keys"
# Keys of every algorithm, so clients can sign their access tokens with ES256 and EdDSA.
export PORTCULLIS_KEYS__ALGORITHMS=RS256,ES256,EdDSA
export PORTCULLIS_ISSUER="$BASE_URL"
# The password runs are 8 concurrent sign-ins from one address. A source's guess budget counts
# in-flight guesses too (they are reserved before hashing), so the default of 5 would refuse
# some of them: raised, as behind a NAT with many users.
export PORTCULLIS_LOCKOUT__IP_MAX_FAILURES=64
# The refresh run holds 64 refresh-token chains, each from its own password login of the one
# bench user: each login is its own session, and the default of 5 sessions per user would end
# the older ones (revoking their refresh tokens).
export PORTCULLIS_SESSIONS__MAX_PER_USER=100
export RUST_LOG=warn
# A portcullis.toml in the current directory must not leak into the benchmark.
cd "$TMP"

if curl -fsS -o /dev/null --max-time 2 "$BASE_URL/readyz" 2>/dev/null; then
    die "something already answers on $BASE_URL; set PORT to a free port"
fi

# ---------------------------------------------------------------- ceiling
log "openssl speed -seconds 5 -multi 2 rsa2048 (about 10 s)"
openssl speed -seconds 5 -multi 2 rsa2048 >"$TMP/openssl-speed.txt" 2>"$TMP/openssl-speed.err" ||
    { cat "$TMP/openssl-speed.err" >&2; die "openssl speed failed"; }
RSA_SIGN_PER_S="$(python3 - "$TMP/openssl-speed.txt" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
header = None
for line in lines:
    if "sign/s" in line.split():
        header = line.split()
    m = re.match(r"^rsa\s+2048\s+bits\s+(.*)$", line.strip())
    if m:
        values = m.group(1).split()
        if header is not None and len(header) == len(values):
            print(float(values[header.index("sign/s")]))
        else:
            # OpenSSL 3.0 layout: sign verify sign/s verify/s
            print(float(values[-2]))
        break
else:
    sys.exit("no 'rsa 2048 bits' line in openssl speed output")
PY
)" || die "could not parse openssl speed output"
TARGET_CC_RPS="$(python3 -c "import sys; print(round(float(sys.argv[1]) * 0.85, 1))" "$RSA_SIGN_PER_S")"
log "RSA-2048 sign/s (2 processes): $RSA_SIGN_PER_S; 85% target: $TARGET_CC_RPS"

# ---------------------------------------------------------------- clients
log "migrate + client create"
"$BIN" migrate >"$TMP/migrate.out" 2>"$TMP/migrate.err" ||
    { cat "$TMP/migrate.err" >&2; die "portcullis migrate failed"; }

# create_client NAME ARGS...: `portcullis client create --name NAME ARGS...`; prints the HTTP
# Basic header of the new confidential client (its JSON stays in $TMP/client-NAME.json).
create_client() {
    local name=$1
    shift
    "$BIN" client create --name "$name" "$@" >"$TMP/client-$name.json" 2>"$TMP/client-$name.err" ||
        { cat "$TMP/client-$name.err" >&2; die "portcullis client create --name $name failed"; }
    python3 - "$TMP/client-$name.json" <<'PY' || { cat "$TMP/client-$name.json" >&2; die "could not parse the client create output ($name)"; }
import base64, json, sys
with open(sys.argv[1]) as f:
    client = json.load(f)
cid, secret = client["client_id"], client["client_secret"]
if not cid or not secret:
    sys.exit("client create returned no client_id/client_secret")
print("Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode())
PY
}

# client_credentials, one client per access-token algorithm (RS256 is the server's default).
BENCH_AUTHORIZATION="$(create_client bench --grant client_credentials --scope read --scope write)"
export BENCH_AUTHORIZATION
export BENCH_BODY="grant_type=client_credentials&scope=read"
ES256_AUTHORIZATION="$(create_client bench-es256 --grant client_credentials --scope read --token-alg ES256)"
EDDSA_AUTHORIZATION="$(create_client bench-eddsa --grant client_credentials --scope read --token-alg EdDSA)"
# A resource server that may introspect every token.
RS_AUTHORIZATION="$(create_client bench-rs --grant client_credentials --scope read --introspect)"

# Password grant: a confidential client allowed the password grant and one user. Every
# request must succeed: failed logins are rate-limited per IP and lock the account.
log "client create (password grant, refresh) + user create"
PW_AUTHORIZATION="$(create_client bench-pw --grant password --scope read)"
# Refresh: the password grant starts each chain (a session of its own), refresh_token rotates it.
REFRESH_AUTHORIZATION="$(create_client bench-refresh --grant password,refresh_token --scope read)"
REFRESH_EDDSA_AUTHORIZATION="$(create_client bench-refresh-eddsa --grant password,refresh_token \
    --scope read --token-alg EdDSA)"
printf '%s' 'Bench-Passw0rd' |
    "$BIN" user create --email bench@example.com --password-stdin \
        >"$TMP/user.json" 2>"$TMP/user.err" ||
    { cat "$TMP/user.err" >&2; die "portcullis user create failed"; }
python3 -c 'import json, sys; json.load(open(sys.argv[1]))["id"]' "$TMP/user.json" ||
    { cat "$TMP/user.json" >&2; die "could not parse the user create output"; }
PW_BODY="grant_type=password&username=bench%40example.com&password=Bench-Passw0rd&scope=read"

# ---------------------------------------------------------------- server
log "starting $BIN serve on $BASE_URL"
"$BIN" serve >"$TMP/server.log" 2>&1 </dev/null &
SERVER_PID=$!

ready=0
for _ in $(seq 1 60); do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
        cat "$TMP/server.log" >&2
        die "server exited during start-up"
    fi
    if curl -fsS -o /dev/null --max-time 1 "$BASE_URL/readyz" 2>/dev/null; then
        ready=1
        break
    fi
    sleep 0.5
done
if [ "$ready" -ne 1 ]; then
    tail -n 50 "$TMP/server.log" >&2
    die "server not ready on $BASE_URL/readyz within 30 s"
fi

# One real request per grant first: a benchmark of error responses is worthless.
# check_token LABEL AUTHORIZATION BODY
check_token() {
    local label=$1 auth=$2 body=$3 status
    status="$(curl -sS -o "$TMP/check.json" -w '%{http_code}' --max-time 10 \
        -H "Authorization: $auth" \
        -H 'Content-Type: application/x-www-form-urlencoded' \
        --data "$body" "$BASE_URL/token")" || die "POST /token ($label) failed"
    if [ "$status" != "200" ] || ! grep -q '"access_token"' "$TMP/check.json"; then
        cat "$TMP/check.json" >&2
        echo >&2
        die "POST /token ($label) answered $status without an access_token"
    fi
}
check_token client_credentials "$BENCH_AUTHORIZATION" "$BENCH_BODY"
check_token "client_credentials ES256" "$ES256_AUTHORIZATION" "$BENCH_BODY"
check_token "client_credentials EdDSA" "$EDDSA_AUTHORIZATION" "$BENCH_BODY"
curl -fsS -o /dev/null --max-time 5 "$BASE_URL/jwks.json" || die "GET /jwks.json failed"

peak_rss_mib() {
    awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER_PID/status"
}

# The peak so far (start-up: configuration, migrations, keys, catalog and theme checks; and the
# one check request per grant above) is kept apart: then the kernel's peak is reset
# (`clear_refs` 5, Linux 4.0+), so every figure below is the peak while serving the
# benchmark's requests. The whole-run peak is the larger of the two. The server gives back the
# code only start-up touched a second after it began serving (src/memory.rs): waited for here.
sleep 1.5
START_RSS="$(peak_rss_mib)"
if ! echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null; then
    log "warning: could not reset the server's peak RSS; the figures below include start-up"
fi

# ---------------------------------------------------------------- runs
RESULTS="$TMP/results.tsv"
: >"$RESULTS"

# Password logins wait for an argon2id hash (by default on half the cores), so at 8
# connections a response can take far longer than a signature; a 2 s client timeout would
# turn queueing into socket errors.
PW_TIMEOUT=10s

# start_wrk NAME METHOD CONNECTIONS PATH AUTHORIZATION BODY TIMEOUT
# Starts one bounded wrk run in the background (output in $TMP/wrk-NAME.txt); sets WRK_PID.
start_wrk() {
    local name=$1 method=$2 conns=$3 path=$4 auth=$5 body=$6 timeout=$7
    BENCH_METHOD="$method" BENCH_AUTHORIZATION="$auth" BENCH_BODY="$body" BENCH_COMMON_LUA="$LUA" \
        wrk -t2 -c"$conns" -d"$DURATION" --timeout "$timeout" --latency \
        -s "${WRK_LUA:-$LUA}" "$BASE_URL$path" >"$TMP/wrk-$name.txt" 2>&1 </dev/null &
    WRK_PID=$!
    WRK_PIDS+=("$WRK_PID")
}

# finish_wrk NAME PID: waits for a run started by start_wrk and prints its output.
finish_wrk() {
    local name=$1 pid=$2
    local rc=0 p rest=()
    wait "$pid" || rc=$?
    for p in ${WRK_PIDS[@]+"${WRK_PIDS[@]}"}; do
        [ "$p" = "$pid" ] || rest+=("$p")
    done
    WRK_PIDS=(${rest[@]+"${rest[@]}"})
    if [ "$rc" -ne 0 ]; then
        cat "$TMP/wrk-$name.txt" >&2
        die "wrk failed for $name (exit $rc)"
    fi
    cat "$TMP/wrk-$name.txt"
}

# record NAME REQUEST CONNECTIONS: one row of the results table from $TMP/wrk-NAME.txt.
record() {
    local name=$1 request=$2 conns=$3 line
    kill -0 "$SERVER_PID" 2>/dev/null || {
        tail -n 50 "$TMP/server.log" >&2
        die "server died during $name"
    }
    line="$(grep '^BENCH_RESULT ' "$TMP/wrk-$name.txt" | tail -n 1)" ||
        die "no BENCH_RESULT from wrk for $name"
    printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$request" "$conns" "$(peak_rss_mib)" \
        "${line#BENCH_RESULT }" >>"$RESULTS"
}

# selected NAME: whether BENCH_ONLY (when set) names the run.
selected() {
    [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]
}

# run_wrk NAME METHOD CONNECTIONS PATH [AUTHORIZATION BODY TIMEOUT [REQUEST]]
# One measured run on its own; defaults: the client_credentials request, 2 s timeout.
run_wrk() {
    local name=$1 method=$2 conns=$3 path=$4
    selected "$name" || return 0
    local auth=${5-$BENCH_AUTHORIZATION} body=${6-$BENCH_BODY} timeout=${7-2s}
    local request=${8-"$method $path"}
    echo
    echo "### $name: $request, -t2 -c$conns -d$DURATION"
    start_wrk "$name" "$method" "$conns" "$path" "$auth" "$body" "$timeout"
    finish_wrk "$name" "$WRK_PID"
    record "$name" "$request" "$conns"
}

log "warm-up: 2 s, 4 connections (not reported)"
BENCH_METHOD=POST wrk -t2 -c4 -d2s --timeout 2s -s "$LUA" "$BASE_URL/token" >/dev/null

run_wrk token-c16 POST 16 /token "$BENCH_AUTHORIZATION" "$BENCH_BODY" 2s \
    "POST /token (client_credentials, RS256)"
run_wrk token-c64 POST 64 /token "$BENCH_AUTHORIZATION" "$BENCH_BODY" 2s \
    "POST /token (client_credentials, RS256)"
run_wrk token-es256-c64 POST 64 /token "$ES256_AUTHORIZATION" "$BENCH_BODY" 2s \
    "POST /token (client_credentials, ES256)"
run_wrk token-eddsa-c64 POST 64 /token "$EDDSA_AUTHORIZATION" "$BENCH_BODY" 2s \
    "POST /token (client_credentials, EdDSA)"
# Peak RSS under client_credentials load only (before any password hash or login).
CC_RSS="$(peak_rss_mib)"
run_wrk jwks-c64 GET 64 /jwks.json

# Introspection of a JWT access token (RS256, client_credentials) by a resource server.
curl -sS -o "$TMP/introspected.json" --max-time 10 -H "Authorization: $BENCH_AUTHORIZATION" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "$BENCH_BODY" "$BASE_URL/token" ||
    die "POST /token (a token to introspect) failed"
INTROSPECT_BODY="token=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["access_token"])' "$TMP/introspected.json")" ||
    die "no access token to introspect"
ACTIVE="$(curl -sS --max-time 10 -H "Authorization: $RS_AUTHORIZATION" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "$INTROSPECT_BODY" "$BASE_URL/introspect")"
case "$ACTIVE" in
    *'"active":true'*) ;;
    *) die "introspection does not answer active: $ACTIVE" ;;
esac
run_wrk introspect-c64 POST 64 /introspect "$RS_AUTHORIZATION" "$INTROSPECT_BODY" 2s \
    "POST /introspect (RS256 access token, client_credentials)"

# The first password hash: from here on the server holds argon2's working memory (19 MiB).
check_token password "$PW_AUTHORIZATION" "$PW_BODY"

# Refresh: 64 chains, each started by its own password login (its own session; the logins
# hash one password each, a few seconds in all), then each connection rotates a chain.
REFRESH_CHAINS=64
# start_chains AUTHORIZATION: prints $REFRESH_CHAINS refresh tokens, comma-separated.
start_chains() {
    python3 - "$BASE_URL/token" "$1" "$REFRESH_CHAINS" <<'PY'
import json, sys, urllib.request
url, auth, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
body = b"grant_type=password&username=bench%40example.com&password=Bench-Passw0rd&scope=read"
tokens = []
for _ in range(n):
    req = urllib.request.Request(url, data=body, headers={
        "Authorization": auth, "Content-Type": "application/x-www-form-urlencoded"})
    with urllib.request.urlopen(req, timeout=30) as r:
        tokens.append(json.load(r)["refresh_token"])
print(",".join(tokens))
PY
}
export BENCH_THREADS=2
log "$REFRESH_CHAINS password logins for the refresh chains"
BENCH_REFRESH_TOKENS="$(start_chains "$REFRESH_AUTHORIZATION")" || die "could not start the refresh chains"
export BENCH_REFRESH_TOKENS
WRK_LUA="$ROOT/bench/refresh.lua" run_wrk refresh-c64 POST 64 /token "$REFRESH_AUTHORIZATION" "" 2s \
    "POST /token (refresh_token, RS256; 64 chains)"
# The same with EdDSA access tokens: what the refresh costs without an RSA signature.
log "$REFRESH_CHAINS password logins for the EdDSA refresh chains"
BENCH_REFRESH_TOKENS="$(start_chains "$REFRESH_EDDSA_AUTHORIZATION")" || die "could not start the refresh chains"
WRK_LUA="$ROOT/bench/refresh.lua" run_wrk refresh-eddsa-c64 POST 64 /token "$REFRESH_EDDSA_AUTHORIZATION" "" 2s \
    "POST /token (refresh_token, EdDSA; 64 chains)"
unset BENCH_REFRESH_TOKENS
run_wrk password-c8 POST 8 /token "$PW_AUTHORIZATION" "$PW_BODY" "$PW_TIMEOUT" \
    "POST /token (password grant)"

# Browser SSO: a signed-in browser, consent on record (a skip-consent client), asks /authorize
# for a code with prompt=none: session lookup, one code row written, a 302. No page, no hash.
log "client create (code flow) + a browser sign-in for the SSO run"
SSO_AUTHORIZATION="$(create_client bench-sso --grant authorization_code --scope openid \
    --redirect-uri http://127.0.0.1:9/cb --skip-consent)"
SSO_CLIENT="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["client_id"])' "$TMP/client-bench-sso.json")" ||
    die "no client_id for bench-sso"
JAR="$TMP/cookies.txt"
curl -fsS -c "$JAR" -b "$JAR" -o "$TMP/login.html" "$BASE_URL/login" || die "GET /login failed"
CSRF="$(python3 -c 'import re, sys; print(re.search(r"name=\"csrf_token\" value=\"([^\"]+)\"", open(sys.argv[1]).read()).group(1))' "$TMP/login.html")" ||
    die "no csrf_token on the login page"
curl -fsS -c "$JAR" -b "$JAR" -o /dev/null --data-urlencode "csrf_token=$CSRF" \
    --data-urlencode "username=bench@example.com" --data-urlencode "password=Bench-Passw0rd" \
    "$BASE_URL/login" || die "POST /login failed"
BENCH_COOKIE="$(python3 - "$JAR" <<'PY'
import sys
pairs = []
for line in open(sys.argv[1]):
    if line.startswith("#HttpOnly_"):
        line = line[len("#HttpOnly_"):]
    elif line.startswith("#") or not line.strip():
        continue
    fields = line.rstrip("\n").split("\t")
    if len(fields) == 7:
        pairs.append(f"{fields[5]}={fields[6]}")
print("; ".join(pairs))
PY
)"
SSO_PATH="/authorize?response_type=code&client_id=$SSO_CLIENT&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&scope=openid&state=s&prompt=none&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
SSO_CHECK="$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -H "Cookie: $BENCH_COOKIE" "$BASE_URL$SSO_PATH")"
case "$SSO_CHECK" in
    "302 http://127.0.0.1:9/cb?code="*) ;;
    *) die "the SSO request does not return a code: $SSO_CHECK" ;;
esac
export BENCH_COOKIE
run_wrk sso-authorize-c16 GET 16 "$SSO_PATH" "" "" 2s "GET /authorize (SSO, prompt=none → code)"

# The whole code flow: the same /authorize, then POST /token with the code and the PKCE
# verifier (RFC 7636 appendix B's pair): one access token and one id_token, RS256.
export BENCH_AUTHORIZE_PATH="$SSO_PATH" BENCH_REDIRECT_URI="http%3A%2F%2F127.0.0.1%3A9%2Fcb"
export BENCH_VERIFIER="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
WRK_LUA="$ROOT/bench/authcode.lua" run_wrk authcode-c64 GET 64 /authorize "$SSO_AUTHORIZATION" "" 2s \
    "GET /authorize + POST /token (code flow; rate in flows/s)"
unset BENCH_COOKIE BENCH_AUTHORIZE_PATH

# Mixed: client_credentials at 32 connections while password logins run at 8, started
# together, same duration.
if selected mixed; then
echo
echo "### mixed: client_credentials -c32 and password grant -c8 at once, -t2 each, -d$DURATION"
start_wrk mixed-cc-c32 POST 32 /token "$BENCH_AUTHORIZATION" "$BENCH_BODY" 2s
MIXED_CC_PID=$WRK_PID
start_wrk mixed-password-c8 POST 8 /token "$PW_AUTHORIZATION" "$PW_BODY" "$PW_TIMEOUT"
MIXED_PW_PID=$WRK_PID
echo "#### mixed-cc-c32"
finish_wrk mixed-cc-c32 "$MIXED_CC_PID"
echo "#### mixed-password-c8"
finish_wrk mixed-password-c8 "$MIXED_PW_PID"
record mixed-cc-c32 "POST /token (client_credentials, with password-c8)" 32
record mixed-password-c8 "POST /token (password grant, with cc-c32)" 8
fi

# Sign-up flood: client_credentials at 32 connections while one address floods
# /api/auth/register at 16 (almost all refused by the registration budget, before hashing).
if selected flood; then
echo
echo "### flood: client_credentials -c32 beside a sign-up flood -c16, -t2 each, -d$DURATION"
start_wrk flood-cc-c32 POST 32 /token "$BENCH_AUTHORIZATION" "$BENCH_BODY" 2s
FLOOD_CC_PID=$WRK_PID
WRK_LUA="$ROOT/bench/register.lua" start_wrk flood-register-c16 POST 16 /api/auth/register "" "" 2s
FLOOD_REG_PID=$WRK_PID
echo "#### flood-cc-c32"
finish_wrk flood-cc-c32 "$FLOOD_CC_PID"
echo "#### flood-register-c16"
finish_wrk flood-register-c16 "$FLOOD_REG_PID"
record flood-cc-c32 "POST /token (client_credentials, beside a sign-up flood)" 32
record flood-register-c16 "POST /api/auth/register (flood from one address; 429 expected)" 16
fi

FINAL_RSS="$(python3 -c 'import sys; print(max(map(float, sys.argv[1:])))' "$START_RSS" "$(peak_rss_mib)")"

# ---------------------------------------------------------------- report
CPU_MODEL="$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
[ -n "$CPU_MODEL" ] || CPU_MODEL="unknown CPU"
COMMIT="$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo "no-commit")"
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
    COMMIT="$COMMIT (dirty tree)"
fi

echo
echo "============================================================"
echo "Paste into bench/RESULTS.md"
echo "============================================================"
echo
set +e
BENCH_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" BENCH_COMMIT="$COMMIT" \
    BENCH_MACHINE="$(nproc) cores, $CPU_MODEL, Linux $(uname -r)" \
    BENCH_SIGN="$RSA_SIGN_PER_S" BENCH_TARGET_CC="$TARGET_CC_RPS" BENCH_FINAL_RSS="$FINAL_RSS" \
    BENCH_CC_RSS="$CC_RSS" BENCH_START_RSS="$START_RSS" BENCH_DURATION="$DURATION" BENCH_DB="$BENCH_DB" \
    python3 - "$RESULTS" <<'PY'
import os
import sys

env = os.environ
rows = []
for line in open(sys.argv[1]):
    name, request, conns, rss, rest = line.rstrip("\n").split("\t")
    kv = dict(item.split("=", 1) for item in rest.split())
    rows.append(dict(name=name, request=request, conns=int(conns), rss=float(rss), **kv))

sign = float(env["BENCH_SIGN"])
target_cc = float(env["BENCH_TARGET_CC"])
final_rss = float(env["BENCH_FINAL_RSS"])
cc_rss = float(env["BENCH_CC_RSS"])
start_rss = float(env["BENCH_START_RSS"])
db = {"sqlite": "SQLite", "postgres": "PostgreSQL"}[env["BENCH_DB"]]

print(f"## {env['BENCH_DATE']} — commit {env['BENCH_COMMIT']}, {db}")
print()
print(f"Machine: {env['BENCH_MACHINE']}")
print()
print(f"Ceiling: `openssl speed -seconds 5 -multi 2 rsa2048` = {sign:.1f} sign/s; "
      f"85% = {target_cc:.1f} req/s")
print()
print(f"wrk -t2, {env['BENCH_DURATION']} per run, loopback; wrk and the server share the machine; "
      f"server on {db}, RUST_LOG=warn.")
print()
print("| run | request | conns | req/s | p50 ms | p99 ms | non-2xx | socket errors | server peak RSS MiB |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    print(f"| {r['name']} | {r['request']} | {r['conns']} | {float(r['rps']):.0f} "
          f"| {float(r['p50_ms']):.2f} | {float(r['p99_ms']):.2f} | {r['non2xx']} "
          f"| {r['socket_errors']} | {r['rss']:.1f} |")
print()
print("Server peak RSS is VmHWM read after each run (the peak so far since the server was "
      f"ready: the kernel's peak was reset then; the peak before, start-up and one check request "
      f"per grant, was {start_rss:.1f} MiB); "
      f"under client_credentials load alone (the four token runs, before any password hash): "
      f"{cc_rss:.1f} MiB.")
print()

by = {r["name"]: r for r in rows}
checks = []


def errors(r):
    return int(r["non2xx"]) + int(r["socket_errors"])


cc = by.get("token-c64")
if cc:
    checks.append((f"RS256 client_credentials @64 ≥ 85% of RSA sign/s ({target_cc:.0f} req/s)",
                   float(cc["rps"]) >= target_cc, f"{float(cc['rps']):.0f} req/s"))
    checks.append(("RS256 client_credentials @64: 0 errors", errors(cc) == 0, str(errors(cc))))
    checks.append(("RS256 client_credentials @64: p99 < 15 ms", float(cc["p99_ms"]) < 15,
                   f"{float(cc['p99_ms']):.2f} ms"))
    for name, alg in (("token-es256-c64", "ES256"), ("token-eddsa-c64", "EdDSA")):
        r = by.get(name)
        if r:
            ratio = float(r["rps"]) / max(float(cc["rps"]), 1e-9)
            checks.append((f"{alg} client_credentials @64 ≥ 3× RS256",
                           ratio >= 3 and errors(r) == 0,
                           f"{float(r['rps']):.0f} req/s = {ratio:.2f}×, {errors(r)} errors"))
rt = by.get("refresh-c64")
if rt:
    label = "refresh_token @64 ≥ 2,000/s" + ("" if db == "PostgreSQL" else " (the target is PostgreSQL's)")
    checks.append((label, float(rt["rps"]) >= 2000 and errors(rt) == 0,
                   f"{float(rt['rps']):.0f} req/s, {errors(rt)} errors"))
it = by.get("introspect-c64")
if it:
    checks.append(("introspection of a JWT @64 ≥ 20,000/s", float(it["rps"]) >= 20000 and errors(it) == 0,
                   f"{float(it['rps']):.0f} req/s, {errors(it)} errors"))
checks.append(("peak RSS under client_credentials load < 30 MiB" +
               ("" if db == "SQLite" else " (the target is SQLite's)"), cc_rss < 30, f"{cc_rss:.1f} MiB"))
jw = by.get("jwks-c64")
if jw:
    checks.append(("JWKS @64 ≥ 30,000 req/s", float(jw["rps"]) >= 30000,
                   f"{float(jw['rps']):.0f} req/s"))
    checks.append(("JWKS @64: 0 errors", errors(jw) == 0, str(errors(jw))))
mcc = by.get("mixed-cc-c32")
if mcc:
    checks.append(("mixed: client_credentials p99 < 50 ms", float(mcc["p99_ms"]) < 50,
                   f"{float(mcc['p99_ms']):.2f} ms"))
    checks.append(("mixed: client_credentials 0 errors", errors(mcc) == 0, str(errors(mcc))))
ac = by.get("authcode-c64")
if ac:
    checks.append(("code flow (authorize + token): 0 errors", errors(ac) == 0, str(errors(ac))))
checks.append(("server peak RSS over the whole run < 50 MB", final_rss < 50, f"{final_rss:.1f} MiB"))

print("| target | result | measured |")
print("|---|---|---|")
for label, ok, measured in checks:
    print(f"| {label} | {'PASS' if ok else 'FAIL'} | {measured} |")

# Password logins have no target: argon2id cost is a security setting, not a speed goal.
info = [r for r in rows if r["name"] in ("password-c8", "mixed-password-c8")]
if info:
    print()
    print("Password grant (information, no target):")
    print()
    for r in info:
        errs = int(r["non2xx"]) + int(r["socket_errors"])
        note = "" if errs == 0 else " — WARNING: failed logins are rate-limited and lock the account"
        print(f"- {r['name']}: {float(r['rps']):.1f} logins/s, p50 {float(r['p50_ms']):.2f} ms, "
              f"p99 {float(r['p99_ms']):.2f} ms, non-2xx {r['non2xx']}, "
              f"socket errors {r['socket_errors']}{note}")
sys.exit(0 if all(ok for _, ok, _ in checks) else 3)
PY
report_rc=$?
set -e
if [ "$report_rc" -eq 3 ]; then
    echo
    echo "Some targets were missed."
    [ "$BENCH_STRICT" = "1" ] && exit 1
elif [ "$report_rc" -ne 0 ]; then
    die "could not produce the report"
fi
exit 0

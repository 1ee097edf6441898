# Shared by the fault and overload experiments (kill9.sh, outage.sh, rotation.sh, overload.sh);
# sourced, not run. See bench/README.md ("Faults and overload").
#
# Knobs read here: BENCH_BIN (a built binary; default: cargo build --release into
# $CARGO_TARGET_DIR), BENCH_DB (sqlite or postgres), BENCH_PG_URL (the PostgreSQL server, no
# database part; default postgres://postgres@127.0.0.1:5432), PORT (first loopback port).
# Everything runs on 127.0.0.1. On exit (also on failure or Ctrl-C) every process started here is
# killed, the PostgreSQL database of the run (portcullis_bench_<pid>) dropped and the temporary
# directory removed; the PostgreSQL server itself is never touched.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DB="${BENCH_DB:-sqlite}"
BENCH_PG_URL="${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}"
SCRIPT="$(basename "$0" .sh)"
case "$BENCH_DB" in
    sqlite | postgres) ;;
    *) printf '%s: BENCH_DB must be sqlite or postgres (got %s)\n' "$SCRIPT" "$BENCH_DB" >&2; exit 2 ;;
esac

log() { printf '>>> %s\n' "$*" >&2; }
die() {
    printf '%s: FAILED: %s\n' "$SCRIPT" "$*" >&2
    exit 1
}
for tool in python3 curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is required"
done
if [ "$BENCH_DB" = postgres ]; then
    for tool in createdb dropdb psql; do
        command -v "$tool" >/dev/null 2>&1 || die "$tool is required for BENCH_DB=postgres (postgresql-client)"
    done
fi

if [ -n "${BENCH_BIN:-}" ]; then
    BIN="$(realpath "$BENCH_BIN")"
    log "using BENCH_BIN=$BIN (no build)"
else
    log "cargo build --release"
    (cd "$ROOT" && cargo build --release)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis"
fi
[ -x "$BIN" ] || die "server binary not found: $BIN"
export BIN

TMP="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-$SCRIPT.XXXXXX")"
PIDS=()
PG_DB=""
# shellcheck disable=SC2317  # invoked through the EXIT trap
cleanup() {
    local rc=$?
    local pid f
    # Processes started by the Python drivers write their pid to $TMP/*.pid.
    for f in "$TMP"/*.pid; do
        if [ -f "$f" ]; then PIDS+=("$(cat "$f")"); fi
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in ${PIDS[@]+"${PIDS[@]}"}; do
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [ -n "$PG_DB" ]; then
        dropdb --if-exists --force --maintenance-db="$BENCH_PG_URL/postgres" "$PG_DB" 2>/dev/null ||
            printf '%s: could not drop database %s\n' "$SCRIPT" "$PG_DB" >&2
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# setup_db: sets DB_URL (and PG_DB, the database dropped on exit, with BENCH_DB=postgres).
setup_db() {
    if [ "$BENCH_DB" = postgres ]; then
        PG_DB="portcullis_bench_$$"
        createdb --maintenance-db="$BENCH_PG_URL/postgres" "$PG_DB" || { PG_DB=""; die "createdb failed"; }
        # No TLS on loopback (see bench/README.md).
        DB_URL="$BENCH_PG_URL/$PG_DB?sslmode=disable"
    else
        DB_URL="sqlite://$TMP/bench.db"
    fi
    mkdir -m 700 -p "$TMP/keys"
    export PORTCULLIS_DATABASE_URL="$DB_URL" PORTCULLIS_KEYS_DIR="$TMP/keys"
    PORTCULLIS_KEYS__ENCRYPTION_KEY="$(openssl rand -base64 32)"
    export PORTCULLIS_KEYS__ENCRYPTION_KEY
    export RUST_LOG="${RUST_LOG:-warn}"
    cd "$TMP"
    "$BIN" migrate >/dev/null 2>"$TMP/migrate.err" || { cat "$TMP/migrate.err" >&2; die "portcullis migrate"; }
}

# port_free PORT: dies when something already answers there.
port_free() {
    if curl -sS -o /dev/null --max-time 1 "http://127.0.0.1:$1/" 2>/dev/null; then
        die "something already answers on 127.0.0.1:$1; set PORT to a free port"
    fi
}

# client NAME ARGS...: `portcullis client create`, prints the JSON (client_id, client_secret).
client() {
    local name=$1
    shift
    "$BIN" client create --name "$name" "$@" 2>>"$TMP/setup.err" || { cat "$TMP/setup.err" >&2; die "client create $name"; }
}

# start_server NAME PORT: `portcullis serve` on 127.0.0.1:PORT in the background with the
# current environment (log in $TMP/NAME.log); sets SERVER_PID; waits for /readyz (30 s).
start_server() {
    local name=$1 port=$2
    port_free "$port"
    PORTCULLIS_ISSUER="${PORTCULLIS_ISSUER:-http://127.0.0.1:$port}" PORTCULLIS_BIND="127.0.0.1:$port" \
        "$BIN" serve >>"$TMP/$name.log" 2>&1 </dev/null &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    wait_ready "$name" "$port" "$SERVER_PID"
}

wait_ready() {
    local name=$1 port=$2 pid=$3
    for _ in $(seq 1 300); do
        curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$TMP/$name.log" >&2; die "$name exited"; }
        sleep 0.1
    done
    tail -n 30 "$TMP/$name.log" >&2
    die "$name not ready after 30 s"
}

# header: the first lines of the Markdown block every script prints.
header() {
    local title=$1 commit
    commit="$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo no-commit)"
    [ -z "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ] || commit="$commit (dirty tree)"
    local db="SQLite"
    [ "$BENCH_DB" = postgres ] && db="PostgreSQL"
    echo
    echo "============================================================"
    echo "Paste into bench/RESULTS.md"
    echo "============================================================"
    echo
    echo "### $(date -u +%Y-%m-%dT%H:%M:%SZ) — $title, commit $commit, $db"
    echo
    echo "Machine: $(nproc) cores, $(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo), Linux $(uname -r); load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
}

# DB_PREFIX: "BENCH_DB=postgres" for the printed command line, or nothing.
DB_PREFIX=""
if [ "$BENCH_DB" = postgres ]; then
    DB_PREFIX="BENCH_DB=postgres"
fi

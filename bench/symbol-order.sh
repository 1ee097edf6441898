#!/usr/bin/env bash
# Regenerates link/symbol-order.txt: the functions the server runs while serving, hottest first,
# which build.rs hands to the linker so they sit together in the release binary (DESIGN §9
# "Hot code together"). See bench/README.md.
#
#   bash bench/symbol-order.sh        # about 6 minutes plus a release build; needs perf and root
#
# It runs bench/run.sh on SQLite and on PostgreSQL (BENCH_PG_URL, as bench/run.sh) with the
# server sampled by `perf record`, and keeps every function of the binary that was sampled at
# least once. The names are the binary's own (mangled): they stay valid across most edits;
# functions renamed, added, or merged by LTO since the last run are simply left where the linker
# puts them, so rerun this after large changes (bench/RESULTS.md shows the peak RSS it buys).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
command -v perf >/dev/null 2>&1 || { echo "symbol-order: perf is required (apt-get install linux-perf)" >&2; exit 1; }

if [ -z "${BENCH_BIN:-}" ]; then
    cargo build --release
    BENCH_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/portcullis"
fi
TMP="$(mktemp -d "${TMPDIR:-/tmp}/portcullis-order.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
trap 'echo "symbol-order: failed at line $LINENO" >&2' ERR
# A copy under a name of its own, so the server is found and told apart from anything else.
BIN="$TMP/portcullis-hot"
cp "$BENCH_BIN" "$BIN"

for db in sqlite postgres; do
    echo ">>> bench/run.sh on $db, sampled" >&2
    BENCH_BIN="$BIN" BENCH_DB="$db" bash bench/run.sh >"$TMP/bench-$db.txt" 2>&1 &
    bench=$!
    # The server (not the `migrate`/`client create` runs of the same binary before it), sampled
    # once it answers: start-up is not what it runs while serving.
    pid=""
    for _ in $(seq 1 600); do
        pid="$(pgrep -n -f "^$BIN serve" || true)"
        [ -n "$pid" ] && curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:${PORT:-18080}/readyz" 2>/dev/null && break
        pid=""
        kill -0 "$bench" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$pid" ] || { cat "$TMP/bench-$db.txt" >&2; echo "symbol-order: the server never started" >&2; exit 1; }
    perf record -q -F 4999 -p "$pid" -o "$TMP/perf-$db.data" >/dev/null 2>&1 || true
    wait "$bench" || { cat "$TMP/bench-$db.txt" >&2; echo "symbol-order: bench/run.sh failed on $db" >&2; exit 1; }
    perf report -i "$TMP/perf-$db.data" --no-demangle --dsos portcullis-hot --sort sym \
        -F overhead,sym --stdio -q --percent-limit 0 2>/dev/null |
        awk '$2 == "[.]" { sub("%", "", $1); print $1, $3 }' >"$TMP/symbols-$db.txt"
done

{
    echo "# Functions of the portcullis binary run while serving, hottest first: bench/symbol-order.sh"
    echo "# wrote this from bench/run.sh on SQLite and PostgreSQL; build.rs gives it to the linker."
    cat "$TMP"/symbols-*.txt | awk '{ share[$2] += $1 } END { for (s in share) print share[s], s }' |
        sort -k1,1gr -k2,2 | awk '{ print $2 }'
} >"$TMP/symbol-order.txt"
mv "$TMP/symbol-order.txt" link/symbol-order.txt
echo ">>> link/symbol-order.txt: $(grep -vc '^#' link/symbol-order.txt) functions" >&2

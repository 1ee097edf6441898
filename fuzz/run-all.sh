#!/usr/bin/env bash
# Runs every fuzz target for FUZZ_SECONDS (default 600), FUZZ_JOBS at a time (default 2), on a
# copy of its seed corpus (the committed corpus is not touched), and prints a Markdown table for
# bench/RESULTS.md: executions, coverage (libFuzzer's cov/ft), corpus size, crashes.
# Needs the nightly toolchain and cargo-fuzz (fuzz/README.md). Loopback-free: nothing listens.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-2}
only=("$@")
if ! cargo +nightly --version >/dev/null 2>&1 || ! cargo +nightly fuzz --help >/dev/null 2>&1; then
    echo "skipped: the nightly toolchain or cargo-fuzz is missing (see fuzz/README.md)" >&2
    exit 0
fi
targets=()
for f in fuzz_targets/*.rs; do
    t=$(basename "$f" .rs)
    if [ ${#only[@]} -eq 0 ] || [[ " ${only[*]} " == *" $t "* ]]; then targets+=("$t"); fi
done
cargo +nightly fuzz build -O >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() {
    local t=$1
    mkdir -p "$work/$t/corpus" "$work/$t/artifacts"
    cp corpus/"$t"/* "$work/$t/corpus/"
    cargo +nightly fuzz run -O "$t" "$work/$t/corpus" -- \
        -max_total_time="$seconds" -artifact_prefix="$work/$t/artifacts/" -print_final_stats=1 \
        >"$work/$t/log" 2>&1 || true
}
running=0
for t in "${targets[@]}"; do
    run "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
echo "| target | seconds | executions | exec/s | cov | ft | corpus | crashes |"
echo "|---|---|---|---|---|---|---|---|"
for t in "${targets[@]}"; do
    log="$work/$t/log"
    execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
    rate=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | awk '{print $2}' | tail -1)
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | awk '{print $2}')
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | awk '{print $2}')
    corp=$(echo "$last" | grep -o 'corp: [0-9]*' | awk '{print $2}')
    crashes=$(find "$work/$t/artifacts" -type f | wc -l)
    echo "| \`$t\` | $seconds | ${execs:-?} | ${rate:-?} | ${cov:-?} | ${ft:-?} | ${corp:-?} | $crashes |"
    if [ "$crashes" -gt 0 ]; then
        mkdir -p artifacts/"$t"
        cp "$work/$t/artifacts/"* artifacts/"$t"/
        echo "  crash inputs copied to fuzz/artifacts/$t/" >&2
    fi
done

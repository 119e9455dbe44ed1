#!/usr/bin/env bash
# Runs each libFuzzer binary for SECONDS on a scratch copy of its seed corpus
# (test/fuzz/corpus/<name minus fuzz_>/), so committed corpora stay small and stable.
# FUZZ_JOBS targets (default 2, one per core) run at once. Any crash, leak or sanitizer
# report fails the run; its input is kept in build/fuzz-artifacts/.
seconds=$1
shift
jobs=${FUZZ_JOBS:-2}
passed=0
failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
declare -A running

run_one() {
    local f=$1 name seeds
    name=$(basename "$f")
    seeds="test/fuzz/corpus/${name#fuzz_}"
    mkdir -p "$scratch/$name" "$scratch/$name.art"
    [ -d "$seeds" ] && cp -r "$seeds/." "$scratch/$name/"
    "$f" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 -print_final_stats=0 \
        -artifact_prefix="$scratch/$name.art/" "$scratch/$name" >"$scratch/$name.log" 2>&1
}

report() {
    local name=$1 rc=$2
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "  fuzz $name: ok ($(grep -o 'Done [0-9]* runs' "$scratch/$name.log" | tail -1))"
    else
        failed=$((failed + 1))
        echo "  fuzz $name: FAILED"
        tail -40 "$scratch/$name.log"
        mkdir -p build/fuzz-artifacts && cp "$scratch/$name.art"/* build/fuzz-artifacts/ 2>/dev/null
    fi
}

reap() {
    local pid rc
    wait -n -p pid
    rc=$?
    report "${running[$pid]}" "$rc"
    unset "running[$pid]"
}

for f in "$@"; do
    while [ "${#running[@]}" -ge "$jobs" ]; do reap; done
    run_one "$f" &
    running[$!]=$(basename "$f")
done
while [ "${#running[@]}" -gt 0 ]; do reap; done
echo "fuzz targets: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

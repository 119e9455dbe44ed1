#!/bin/sh
# Runs each libFuzzer binary for SECONDS on a scratch copy of its seed corpus
# (test/fuzz/corpus/<name minus fuzz_>/), so committed corpora stay small and stable.
# Any crash, leak or sanitizer report fails the run.
seconds=$1
shift
passed=0
failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for f in "$@"; do
    name=$(basename "$f")
    seeds="test/fuzz/corpus/${name#fuzz_}"
    mkdir -p "$scratch/$name"
    [ -d "$seeds" ] && cp -r "$seeds/." "$scratch/$name/"
    if "$f" -max_total_time="$seconds" -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=0 -artifact_prefix="$scratch/" "$scratch/$name" \
        >"$scratch/$name.log" 2>&1; then
        passed=$((passed + 1))
        echo "  fuzz $name: ok ($(grep -o 'Done [0-9]* runs' "$scratch/$name.log" | tail -1))"
    else
        failed=$((failed + 1))
        echo "  fuzz $name: FAILED"
        tail -40 "$scratch/$name.log"
        mkdir -p build/fuzz-artifacts && cp "$scratch"/crash-* "$scratch"/leak-* \
            "$scratch"/timeout-* build/fuzz-artifacts/ 2>/dev/null
    fi
done
echo "fuzz targets: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# Runs each cmocka unit-test program given as an argument. Prints one line per program
# (cmocka's own summary), the full output of any program that fails, and a final
# "N passed, N failed" line; exits non-zero if any program failed.
passed=0
failed=0
failed_names=""
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
    if "$t" >"$out" 2>&1; then
        passed=$((passed + 1))
        printf '  %-28s %s\n' "$(basename "$t")" "$(grep -E '^\[  PASSED  \]' "$out" | tail -1)"
    else
        failed=$((failed + 1))
        failed_names="$failed_names $(basename "$t")"
        printf '  %-28s FAILED\n' "$(basename "$t")"
        cat "$out"
    fi
done
echo "unit test programs: $passed passed, $failed failed${failed_names:+ (}${failed_names# }${failed_names:+)}"
[ "$failed" -eq 0 ]

#!/bin/sh
# Runs each cmocka unit-test binary given as an argument; prints one summary line and
# exits non-zero if any binary failed.
passed=0
failed=0
failed_names=""
for t in "$@"; do
    if "$t"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        failed_names="$failed_names $(basename "$t")"
    fi
done
echo "unit test programs: $passed passed, $failed failed${failed_names:+ (}${failed_names# }${failed_names:+)}"
[ "$failed" -eq 0 ]

#!/bin/sh
# Runs every integration test (test/integration/t_*.sh) against the daemons in $BUILD
# and prints "N passed, N failed". Each test starts its own processes on loopback and
# kills only those, by PID.
BUILD=${BUILD:-build}
export BUILD
passed=0
failed=0
failed_names=""
for t in test/integration/t_*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    start=$(date +%s)
    if "$t"; then
        passed=$((passed + 1))
        echo "  PASS $name ($(( $(date +%s) - start ))s)"
    else
        failed=$((failed + 1))
        failed_names="$failed_names $name"
        echo "  FAIL $name ($(( $(date +%s) - start ))s)"
    fi
done
echo "integration tests: $passed passed, $failed failed${failed_names:+ (}${failed_names# }${failed_names:+)}"
[ "$failed" -eq 0 ]

#!/bin/sh
# Runs each cmocka unit-test program given as an argument. Prints one line per program
# (cmocka's own summary), the full output of any program that fails, and a final
# "N passed, N failed" line; exits non-zero if any program failed.
#
# When the kernel allows time namespaces (root, unshare -T), every program runs a second
# time with a monotonic clock that starts near zero, as on a freshly booted machine: timer
# code must never depend on how long the machine has been up (a "long ago" sentinel of 1 ms
# is not long ago 3 s after boot).
passed=0
failed=0
failed_names=""
out=$(mktemp)
trap 'rm -f "$out"' EXIT

young_clock=""
uptime_s=$(cut -d. -f1 /proc/uptime 2>/dev/null)
if [ -n "$uptime_s" ] && [ "$uptime_s" -gt 10 ] &&
   unshare -T --monotonic "-$((uptime_s - 5))" true 2>/dev/null; then
    young_clock=yes
fi

run_one() { # $1 = label, rest = command
    label=$1
    shift
    if "$@" >"$out" 2>&1; then
        passed=$((passed + 1))
        printf '  %-36s %s\n' "$label" "$(grep -E '^\[  PASSED  \]' "$out" | tail -1)"
    else
        failed=$((failed + 1))
        failed_names="$failed_names $label"
        printf '  %-36s FAILED\n' "$label"
        cat "$out"
    fi
}

# A daemon's tests live in a subdirectory (test/unit/smd/test_registry): name them by it.
label_of() {
    case "$1" in
    */test/unit/*/*) echo "${1##*/test/unit/}" ;;
    *) basename "$1" ;;
    esac
}

for t in "$@"; do
    run_one "$(label_of "$t")" "$t"
done
if [ -n "$young_clock" ]; then
    echo "  -- again with a monotonic clock near zero (time namespace, as just after boot)"
    for t in "$@"; do
        up=$(cut -d. -f1 /proc/uptime)
        run_one "$(label_of "$t")@boot" unshare -T --monotonic "-$((up - 3))" "$t"
    done
else
    echo "  -- young-clock pass skipped: no time namespace here (needs root and unshare -T)"
fi
echo "unit test programs: $passed passed, $failed failed${failed_names:+ (}${failed_names# }${failed_names:+)}"
[ "$failed" -eq 0 ]

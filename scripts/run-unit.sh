#!/usr/bin/env bash
# Runs each cmocka unit-test program given as an argument. Prints one line per program
# (cmocka's own summary), the full output of any program that fails, and a final
# "N passed, N failed" line; exits non-zero if any program failed.
#
# When the kernel allows time namespaces (root, unshare -T), every program runs a second
# time with a monotonic clock that starts near zero, as on a freshly booted machine: timer
# code must never depend on how long the machine has been up (a "long ago" sentinel of 1 ms
# is not long ago 3 s after boot).
#
# Most programs spend their time waiting on real timers, so UNIT_JOBS of them (default 4)
# run at once; each program's output is printed in one piece when it finishes.
jobs=${UNIT_JOBS:-4}
passed=0
failed=0
failed_names=""
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
declare -A running

young_clock=""
uptime_s=$(cut -d. -f1 /proc/uptime 2>/dev/null)
if [ -n "$uptime_s" ] && [ "$uptime_s" -gt 10 ] &&
   unshare -T --monotonic "-$((uptime_s - 5))" true 2>/dev/null; then
    young_clock=yes
fi

# A daemon's tests live in a subdirectory (test/unit/smd/test_registry): name them by it.
label_of() {
    case "$1" in
    */test/unit/*/*) echo "${1##*/test/unit/}" ;;
    *) basename "$1" ;;
    esac
}

report() { # $1 = label, $2 = exit status
    local label=$1 rc=$2 file
    file="$out/${label//\//_}"
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        printf '  %-36s %s\n' "$label" "$(grep -E '^\[  PASSED  \]' "$file" | tail -1)"
    else
        failed=$((failed + 1))
        failed_names="$failed_names $label"
        printf '  %-36s FAILED\n' "$label"
        cat "$file"
    fi
}

reap() {
    local pid rc
    wait -n -p pid
    rc=$?
    report "${running[$pid]}" "$rc"
    unset "running[$pid]"
}

start() { # $1 = label, rest = command
    local label=$1
    shift
    while [ "${#running[@]}" -ge "$jobs" ]; do
        reap
    done
    "$@" >"$out/${label//\//_}" 2>&1 &
    running[$!]=$label
}

# A program's young-clock run shifts the clock by the uptime at its own start.
young() {
    local up
    up=$(cut -d. -f1 /proc/uptime)
    exec unshare -T --monotonic "-$((up - 3))" "$@"
}

for t in "$@"; do
    start "$(label_of "$t")" "$t"
done
if [ -n "$young_clock" ]; then
    for t in "$@"; do
        start "$(label_of "$t")@boot" young "$t"
    done
fi
while [ "${#running[@]}" -gt 0 ]; do
    reap
done
[ -n "$young_clock" ] ||
    echo "  -- young-clock pass skipped: no time namespace here (needs root and unshare -T)"
echo "unit test programs: $passed passed, $failed failed${failed_names:+ (}${failed_names# }${failed_names:+)}"
[ "$failed" -eq 0 ]

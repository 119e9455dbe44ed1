#!/usr/bin/env bash
# Runs every integration test (test/integration/t_*.sh) against the daemons in $BUILD and
# prints "N passed, N failed". Tests mostly wait on real-time media, so JOBS of them (default
# 4) run at once; each uses its own loopback address, starts its own processes and kills
# only those. A test's output is printed in one piece when it finishes. The slowest tests
# (a minute of real-time media each) start first, so that the run is about as long as the
# slowest one rather than a slow one started last.
BUILD=${BUILD:-build}
JOBS=${JOBS:-6}
SLOW="t_epd_failover t_spd_conn_bounds t_tls t_spd_pull_source t_tls_browser t_epd_edge"
export BUILD
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
passed=0
failed=0
failed_names=""
declare -A started

finish_one() {
    local pid=$1 rc=$2 name=${started[$1]}
    unset "started[$pid]"
    cat "$out/$name.log"
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "  PASS $name ($(( $(date +%s) - $(cat "$out/$name.start") ))s)"
    else
        failed=$((failed + 1))
        failed_names="$failed_names $name"
        echo "  FAIL $name ($(( $(date +%s) - $(cat "$out/$name.start") ))s)"
    fi
}

reap() {
    local pid rc
    wait -n -p pid
    rc=$?
    finish_one "$pid" "$rc"
}

tests=""
for name in $SLOW; do
    [ -e "test/integration/$name.sh" ] && tests="$tests test/integration/$name.sh"
done
for t in test/integration/t_*.sh; do
    case " $SLOW " in *" $(basename "$t" .sh) "*) continue ;; esac
    tests="$tests $t"
done
for t in $tests; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    while [ "${#started[@]}" -ge "$JOBS" ]; do
        reap
    done
    date +%s >"$out/$name.start"
    sh "$t" >"$out/$name.log" 2>&1 &
    started[$!]=$name
done
while [ "${#started[@]}" -gt 0 ]; do
    reap
done
echo "integration tests: $passed passed, $failed failed${failed_names:+ (}${failed_names# }${failed_names:+)}"
[ "$failed" -eq 0 ]

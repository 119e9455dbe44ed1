# lib.sh — helpers for the integration tests (POSIX sh; sourced by test/integration/t_*.sh).
#
# Every test:   . "$(dirname "$0")/lib.sh"; lc_init NAME
# then starts daemons and clients through the lc_* helpers, which record every PID they
# start; lc_cleanup (run by the EXIT trap) kills exactly those PIDs and nothing else.
# Checks call lc_check / lc_expect; the test ends with lc_done, which prints
# "NAME: N passed, N failed" and exits non-zero on any failure.
#
# Addresses: each run of a test takes its own 127.x.y.z address from lc_init (derived from
# the test name and the shell's PID), so tests never collide on ports, even when two
# checkouts run their suites at the same time.

BUILD=${BUILD:-build}
LC_ROOT=$(cd "$(dirname "$0")/../.." && pwd)
LC_FIXTURE="$LC_ROOT/test/fixtures/ffmpeg_h264_aac.flv"
LC_PASSED=0
LC_FAILED=0
LC_PIDS=""

lc_init() {
    LC_NAME=$1
    LC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lc-$LC_NAME.XXXXXX")
    # A loopback address per run (Linux routes all of 127/8 to lo).
    h=$(printf '%s.%s' "$LC_NAME" "$$" | cksum | cut -d' ' -f1)
    LC_IP="127.$((h % 200 + 20)).$((h / 200 % 250 + 1)).$((h / 50000 % 250 + 1))"
    # The tests only need python3's standard library. Prefer the system interpreter: a
    # version manager's shim (pyenv) costs more than half a second per start, and polling
    # helpers start python often.
    if [ -x /usr/bin/python3 ]; then
        mkdir -p "$LC_DIR/bin"
        ln -s /usr/bin/python3 "$LC_DIR/bin/python3"
        PATH="$LC_DIR/bin:$PATH"
        export PATH
    fi
    trap lc_cleanup EXIT
    trap 'exit 130' INT TERM
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=23}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
}

lc_cleanup() {
    for pid in $LC_PIDS; do
        kill "$pid" 2>/dev/null
    done
    sleep 0.2
    for pid in $LC_PIDS; do
        kill -9 "$pid" 2>/dev/null
    done
    if [ "$LC_FAILED" -ne 0 ] || [ -n "${LC_KEEP:-}" ]; then
        echo "  (logs kept in $LC_DIR)"
    else
        rm -rf "$LC_DIR"
    fi
}

lc_log() { echo "  [$LC_NAME] $*"; }

# lc_check DESCRIPTION COMMAND... — passes when the command exits 0.
lc_check() {
    desc=$1
    shift
    if "$@" >"$LC_DIR/check.out" 2>&1; then
        LC_PASSED=$((LC_PASSED + 1))
        lc_log "ok   $desc"
    else
        LC_FAILED=$((LC_FAILED + 1))
        lc_log "FAIL $desc"
        sed 's/^/        /' "$LC_DIR/check.out" | tail -20
    fi
}

# lc_expect DESCRIPTION CONDITION-STATUS — records the outcome of a test done inline:
#   some command; lc_expect "what" $?
lc_expect() {
    if [ "$2" -eq 0 ]; then
        LC_PASSED=$((LC_PASSED + 1))
        lc_log "ok   $1"
    else
        LC_FAILED=$((LC_FAILED + 1))
        lc_log "FAIL $1"
    fi
}

lc_done() {
    echo "  $LC_NAME: $LC_PASSED passed, $LC_FAILED failed"
    [ "$LC_FAILED" -eq 0 ]
}

# lc_track PID — kill it at cleanup.
lc_track() { LC_PIDS="$LC_PIDS $1"; }

# lc_port N — the Nth port of this test (19500 + N); ports are per test address.
lc_port() { echo $((19500 + $1)); }

# lc_deadline SECONDS — prints the UNIX time SECONDS from now; lc_before DEADLINE — true
# until then. Waits are bounded by wall time, not by a count of tries (a try may be slow).
lc_deadline() { echo $(( $(date +%s) + $1 )); }
lc_before() { [ "$(date +%s)" -le "$1" ]; }

# ---- waiting: every wait is lc_wait_until or one of the lc_wait_* built on it ----

# lc_wait_until SECONDS COMMAND... — runs COMMAND every 0.1 s until it succeeds (status 0),
# for at most SECONDS of wall time (at least SECONDS, at most one more). COMMAND runs in
# this shell, so a condition function may record what it saw. Nests: the deadline is
# kept in this call's own arguments.
lc_wait_until() {
    _lc_end=$(lc_deadline "$1")
    shift
    set -- "$_lc_end" "$@"
    while lc_before "$1"; do
        _lc_run_rest "$@" && return 0
        sleep 0.1
    done
    return 1
}
_lc_run_rest() { shift; "$@"; }

# lc_exited PID — the process is gone (or never was ours to see).
lc_exited() { ! kill -0 "$1" 2>/dev/null; }

# lc_http_ok URL — the URL answers 200 within a second.
lc_http_ok() { curl -sf -o /dev/null --max-time 1 "$1"; }

# lc_wait_http URL [SECONDS] — until the URL answers 200.
lc_wait_http() { lc_wait_until "${2:-10}" lc_http_ok "$1"; }

# lc_start DAEMON NAME CONFIG-TEXT — writes $LC_DIR/NAME.conf, starts $BUILD/DAEMON with
# it (stderr to $LC_DIR/NAME.log), waits for its HTTP health, sets NAME_pid.
# The config text must contain http_listen; the health URL is derived from it.
lc_start() {
    daemon=$1
    name=$2
    printf '%s\n' "$3" >"$LC_DIR/$name.conf"
    "$LC_ROOT/$BUILD/$daemon" -c "$LC_DIR/$name.conf" >>"$LC_DIR/$name.log" 2>&1 &
    pid=$!
    lc_track "$pid"
    eval "${name}_pid=$pid"
    http=$(grep -o 'http_listen *= *"[^"]*"' "$LC_DIR/$name.conf" | sed 's/.*"\(.*\)"/\1/')
    if ! lc_wait_http "http://$http/api/v1/health" 10; then
        lc_log "$name did not come up; log:"
        tail -20 "$LC_DIR/$name.log" | sed 's/^/        /'
        return 1
    fi
}

# lc_stop NAME — SIGTERM the daemon started as NAME; returns its exit status (bounded wait).
lc_stop() {
    eval "pid=\$${1}_pid"
    kill -TERM "$pid" 2>/dev/null || return 1
    lc_wait_until 10 lc_exited "$pid"
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
        return 124
    fi
    wait "$pid"
}

# lc_publish NAME URL [FILE] — ffmpeg publishes FILE (default: the fixture) looped in real
# time; sets NAME_pid. Log in $LC_DIR/NAME.log.
lc_publish() {
    ffmpeg -hide_banner -nostdin -loglevel warning -re -stream_loop -1 -i "${3:-$LC_FIXTURE}" \
        -c copy -f flv "$2" >>"$LC_DIR/$1.log" 2>&1 &
    pid=$!
    lc_track "$pid"
    eval "${1}_pid=$pid"
}

# lc_stream_field HTTP ID FIELD — one field of a stream in /api/v1/streams ("" if absent).
lc_stream_field() {
    curl -sf --max-time 2 "http://$1/api/v1/streams" 2>/dev/null | python3 -c '
import json, sys
want, field = sys.argv[1], sys.argv[2]
for s in json.load(sys.stdin)["streams"]:
    if s["id"] == want:
        v = s.get(field)
        print("" if v is None else str(v).lower() if isinstance(v, bool) else v)
' "$2" "$3" 2>/dev/null
}

# lc_stream_is HTTP ID FIELD VALUE — that field of the stream is VALUE ("" = the stream is
# not listed, or has no such field).
lc_stream_is() { [ "$(lc_stream_field "$1" "$2" "$3")" = "$4" ]; }

# lc_wait_live HTTP ID [SECONDS] — until the stream is live on that node.
lc_wait_live() { lc_wait_until "${3:-10}" lc_stream_is "$1" "$2" live true; }

# lc_probe URL — ffprobe decodes frames; prints "codec WIDTHxHEIGHT frames" of the video.
lc_probe() {
    timeout 20 ffprobe -v error -rw_timeout 10000000 -read_intervals "%+2" -count_frames \
        -select_streams v:0 -show_entries stream=codec_name,width,height,nb_read_frames \
        -of csv=p=0 "$1"
}

# lc_probe_ok URL — succeeds when ffprobe decoded h264 320x240 frames (the fixture).
lc_probe_ok() {
    out=$(lc_probe "$1") || { echo "ffprobe failed: $out"; return 1; }
    echo "ffprobe: $out"
    case "$out" in
    h264,320,240,[1-9]*) return 0 ;;
    *) return 1 ;;
    esac
}

# lc_rss_kb PID — resident set size in KiB.
lc_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# lc_log_has NAME PATTERN — the daemon's log contains the (grep -E) pattern.
lc_log_has() { grep -Eq "$2" "$LC_DIR/$1.log"; }

# lc_file_has FILE PATTERN — the file has a line matching (grep -E); quiet.
lc_file_has() { grep -Eq "$2" "$1" 2>/dev/null; }

# lc_wait_file FILE PATTERN SECONDS — until the file has a line matching (grep -E);
# prints the file when it never does.
lc_wait_file() {
    lc_wait_until "$3" lc_file_has "$1" "$2" && return 0
    echo "no /$2/ in $1:"
    cat "$1"
    return 1
}

# lc_wait_owner HTTP ID NODE SECONDS — until /api/v1/streams lists ID owned by NODE
# ("" = until it is not listed).
lc_wait_owner() {
    lc_wait_until "$4" lc_stream_is "$1" "$2" node_id "$3" && return 0
    echo "$2 at $1: owner '$(lc_stream_field "$1" "$2" node_id)', want '$3'"
    return 1
}

# lc_wait_exit PID SECONDS — until the process has exited.
lc_wait_exit() { lc_wait_until "$2" lc_exited "$1"; }

# ---- helpers shared by the spd tests ----

LC_TOOLS="$LC_ROOT/$BUILD/tools"
LC_RAW="$LC_ROOT/test/integration/rawrtmp.py"

# lc_wait_log NAME PATTERN [SECONDS] — until the daemon's log matches (grep -E).
lc_wait_log() {
    lc_wait_until "${3:-10}" lc_log_has "$1" "$2" && return 0
    echo "no log line matching '$2' in $LC_DIR/$1.log after ${3:-10}s"
    return 1
}

# lc_metric HTTP SAMPLE — the value of one /metrics sample, e.g.
#   lc_metric "$HTTP" 'livecluster_play_failures_total{reason="bad_name"}'
# Prints nothing when the sample is absent.
lc_metric() {
    curl -sf --max-time 2 "http://$1/metrics" | awk -v want="$2" '$1 == want { print $2; exit }'
}

# lc_alive NAME — the daemon started as NAME is still running.
lc_alive() {
    eval "pid=\$${1}_pid"
    kill -0 "$pid" 2>/dev/null
}

# lc_lcpub NAME ARGS... — lcpub in the background (output in $LC_DIR/NAME.out); sets
# NAME_pid. Run from the repository root so the default fixture path resolves.
lc_lcpub() {
    n=$1
    shift
    (cd "$LC_ROOT" && exec "$LC_TOOLS/lcpub" "$@") >"$LC_DIR/$n.out" 2>&1 &
    pid=$!
    lc_track "$pid"
    eval "${n}_pid=$pid"
}

# lc_has FILE PATTERN — the file matches (grep -E); prints the file when it does not.
lc_has() {
    grep -Eq "$2" "$1" && return 0
    echo "no match for '$2' in $1:"
    tail -20 "$1"
    return 1
}

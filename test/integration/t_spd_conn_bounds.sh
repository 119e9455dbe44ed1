#!/bin/sh
# spd: what one client connection can make the daemon hold, and for how long
# (docs/architecture.md decision 10):
#  - 4 MiB of one-byte messages after Window Acknowledgement Size 1, never reading: spd's
#    RSS grows by less than 16 MiB (it used to queue a ~64-byte acknowledgement per message)
#  - the same with zero-length messages: closed (max_empty_messages), RSS bounded
#  - a ping flood from a client that never reads: one answer waits at most, and once the
#    answers it skipped pass max_control_queue_bytes it is closed; RSS bounded
#  - an _error flood from a client that never reads: closed once max_control_queue_bytes
#    of answers wait, RSS bounded
#  - a client that sends a ping a second but never publishes or plays: closed at
#    connect_timeout
#  - HTTP: connections beyond http_max_connections closed at once; a request whose headers
#    come a byte at a time closed at http_request_timeout
#  - out of file descriptors: spd pauses accepting (a log line per pause, no storm) and
#    accepts again once descriptors are free
#  - one address flooding connections: its log lines are rate-limited (log_rate_limit)
#  - after all that a normal viewer is served
. "$(dirname "$0")/lib.sh"
lc_init spd_conn_bounds

FLOOD="$LC_ROOT/test/integration/rtmpflood.py"
RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
HOST=${RTMP%:*}
PORT=${RTMP#*:}
HTTP_PORT=${HTTP#*:}
# ASan keeps freed memory in a quarantine (256 MiB by default): RSS would measure that.
ASAN_OPTIONS="quarantine_size_mb=4:$ASAN_OPTIONS"
export ASAN_OPTIONS
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"info\";
connect_timeout = 3; http_max_connections = 8; http_request_timeout = 2;" || exit 1
lc_publish pub "rtmp://$RTMP/live/cam"
lc_check "stream goes live" lc_wait_live "$HTTP" live/cam 10
URL="rtmp://$RTMP/live/cam"

# in_at_least N — spd has read at least N bytes in total.
in_at_least() { [ "$(lc_metric "$HTTP" livecluster_bytes_in_total)" -ge "$1" ] 2>/dev/null; }

# flood ATTACK MAX-GROWTH-KIB REASON — runs one flood that never reads; while it holds
# still, spd's RSS must have grown by at most MAX-GROWTH-KIB; spd then closes it and logs
# REASON (grep -E) for it.
flood() {
    out="$LC_DIR/flood-$1.out"
    base_in=$(lc_metric "$HTTP" livecluster_bytes_in_total)
    before=$(lc_rss_kb "$spd_pid")
    python3 "$FLOOD" "$HOST" "$PORT" "$1" --hold 2 --wait 8 >"$out" 2>&1 &
    fpid=$!
    lc_track "$fpid"
    lc_wait_file "$out" "^phase=sent" 30 || return 1
    sent=$(sed -n 's/^phase=sent .* sent=\([0-9]*\)$/\1/p' "$out")
    # everything sent has been read by spd (or it closed the connection first)
    lc_wait_until 10 in_at_least $((base_in + sent)) || true
    after=$(lc_rss_kb "$spd_pid")
    wait "$fpid"
    cat "$out"
    growth=$((after - before))
    echo "spd RSS ${before} KiB -> ${after} KiB (+${growth} KiB) for $sent bytes of $1"
    [ "$growth" -le "$2" ] || return 1
    peer=$(sed -n 's/^phase=sent local=\([^ ]*\) .*/\1/p' "$out")
    lc_wait_log spd "$peer: closed: $3" 5
}
lc_check "4 MiB of one-byte messages, window 1, never reading: RSS +<16 MiB; kept until connect_timeout" \
    flood ack-1b 16384 "connect_timeout"
lc_check "4 MiB of zero-length messages, window 1: RSS +<16 MiB; closed by max_empty_messages" \
    flood ack-empty 16384 "too many zero-length messages in a row"
lc_check "ping flood, never reading: RSS +<16 MiB; closed by max_control_queue_bytes" \
    flood ping 16384 "peer does not read its replies \\(max_control_queue_bytes\\)"
lc_check "_error flood, never reading: RSS +<16 MiB; closed by max_control_queue_bytes" \
    flood error 16384 "peer does not read its replies \\(max_control_queue_bytes\\)"

dribble() {
    out=$(python3 "$FLOOD" "$HOST" "$PORT" dribble --wait 10)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || return 1
    peer=$(echo "$out" | sed -n 's/^local=\([^ ]*\) attack.*/\1/p')
    lc_wait_log spd "$peer: closed: connect_timeout: neither publishing nor playing" 3
}
lc_check "a ping a second without publishing or playing: closed at connect_timeout" dribble

slowloris() {
    python3 "$FLOOD" "$HOST" "$HTTP_PORT" slowloris --wait 8
}
lc_check "HTTP headers a byte at a time: closed at http_request_timeout" slowloris
lc_check "and logged" lc_wait_log spd "http: no request within http_request_timeout" 3

http_cap() {
    out=$(python3 "$FLOOD" "$HOST" "$HTTP_PORT" http-hold --count 12 --wait 1)
    echo "$out"
    echo "$out" | grep -q "closed=4$"
}
lc_check "12 idle HTTP connections, http_max_connections 8: 4 closed at once" http_cap
lc_check "and logged" lc_log_has spd "http: refused: http_max_connections \\(8\\) reached"
lc_check "the API still answers" lc_http_ok "http://$HTTP/api/v1/health"

# Out of descriptors: 30 idle connections against a limit a few above what spd holds.
accept_lines() { grep -c "accept.*failed" "$LC_DIR/spd.log"; }
emfile() {
    nofile=$(prlimit --pid "$spd_pid" --nofile --output SOFT,HARD --noheadings)
    used=$(ls "/proc/$spd_pid/fd" | wc -l)
    prlimit --pid "$spd_pid" --nofile=$((used + 8)): || return 1
    python3 "$FLOOD" "$HOST" "$PORT" http-hold --count 30 --wait 3
    lines=$(accept_lines)
    # shellcheck disable=SC2086
    set -- $nofile
    prlimit --pid "$spd_pid" --nofile="$1:$2"
    echo "accept failures logged: $lines"
    [ "$lines" -ge 1 ] && [ "$lines" -le 5 ]
}
lc_check "out of descriptors: accepting pauses, one log line a pause (no storm)" emfile
lc_check "spd still running" lc_alive spd
lc_check "a normal viewer is served after all that" "$LC_TOOLS/lcplay" -k 2 -t 15 "$URL"
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?

# One address opening 200 connections: at most burst + rate x time lines of its own.
lc_start spd spd2 "listen = \"$HOST:$(lc_port 2)\"; http_listen = \"$HOST:$(lc_port 3)\";
log_level = \"info\"; log_rate_limit = 2; log_rate_burst = 10;" || exit 1
storm() {
    python3 "$FLOOD" "$HOST" "$(lc_port 2)" http-hold --count 200 --wait 1
    lc_wait_until 5 lc_log_has spd2 "lines from this address suppressed" || true
    lines=$(grep -c "127\\.0\\.0\\.1" "$LC_DIR/spd2.log")
    echo "lines naming the flooding address: $lines (400 events)"
    [ "$lines" -le 40 ]
}
lc_check "a connection flood from one address: its log lines are rate-limited" storm
lc_stop spd2
lc_expect "SIGTERM: spd2 exits 0" $?
lc_done

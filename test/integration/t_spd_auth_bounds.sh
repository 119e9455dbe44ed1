#!/bin/sh
# Bounds on auth_url (docs/security.md): at most auth_max_inflight requests are open at
# once; a check over the cap is refused at once (RTMP NetStream.Play.Failed, HTTP-FLV 503),
# logged and counted (livecluster_auth_overload_total, play failures reason="limit"),
# without a request; auth_timeout_ms is a total deadline: an auth server that accepts and
# never answers refuses the waiting players when it passes, and frees their slots.
. "$(dirname "$0")/lib.sh"
lc_init spd_auth_bounds

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
AUTH="$LC_IP:$(lc_port 2)"

# ---- -t: the new keys are range-checked ----
check_bad() {
    printf 'listen = "%s";\n%s\n' "$RTMP" "$1" >"$LC_DIR/bad.conf"
    "$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/bad.conf" >"$LC_DIR/t.out" 2>&1
    rc=$?
    cat "$LC_DIR/t.out"
    [ $rc -eq 1 ] && [ "$(wc -l <"$LC_DIR/t.out")" -eq 1 ] &&
        grep -Eq "^$LC_DIR/bad.conf:2: '$2' must be between" "$LC_DIR/t.out"
}
lc_check "-t refuses auth_max_inflight = 0" check_bad "auth_max_inflight = 0;" auth_max_inflight
lc_check "-t refuses auth_max_answer_bytes = 100" \
    check_bad "auth_max_answer_bytes = 100;" auth_max_answer_bytes

# An auth server that never answers: the kernel completes the connections (backlog) and
# nobody reads them.
cat >"$LC_DIR/blackhole.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(64)
print("listening", flush=True)
time.sleep(120)
EOF
python3 "$LC_DIR/blackhole.py" "${AUTH%:*}" "${AUTH#*:}" >"$LC_DIR/blackhole.log" 2>&1 &
lc_track $!
lc_check "the silent auth server listens" lc_wait_file "$LC_DIR/blackhole.log" listening 10

lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\";
play = { auth_url = \"http://$AUTH/check\"; }; auth_max_inflight = 2; auth_timeout_ms = 4000;" || exit 1
lc_lcpub pub -t 60 "rtmp://$RTMP/live/cam" "$LC_FIXTURE"
lc_check "stream goes live (no publish admission)" lc_wait_live "$HTTP" live/cam 10

# Two players take both slots and wait for an answer that never comes.
"$LC_TOOLS/lcplay" -e NetStream.Play.Unauthorized -t 10 "rtmp://$RTMP/live/cam" \
    >"$LC_DIR/w1.out" 2>&1 &
w1=$!
lc_track $w1
"$LC_TOOLS/lcplay" -e NetStream.Play.Unauthorized -t 10 "rtmp://$RTMP/live/cam" \
    >"$LC_DIR/w2.out" 2>&1 &
w2=$!
lc_track $w2
inflight_is() { [ "$(lc_metric "$HTTP" livecluster_auth_inflight)" = "$1" ]; }
lc_check "two auth_url requests in flight" lc_wait_until 5 inflight_is 2

t0=$(date +%s)
lc_check "a third player is refused at once: Play.Failed" \
    "$LC_TOOLS/lcplay" -e NetStream.Play.Failed -t 3 "rtmp://$RTMP/live/cam"
http_code() { curl -s -o "$LC_DIR/http.body" -w '%{http_code}' --max-time 3 "$1"; }
code=$(http_code "http://$HTTP/live/cam.flv")
[ "$code" = 503 ]
lc_expect "HTTP-FLV over the cap → 503 (got $code)" $?
[ $(( $(date +%s) - t0 )) -le 3 ]
lc_expect "both refusals came before the deadline of the requests in flight" $?
n=$(lc_metric "$HTTP" livecluster_auth_overload_total)
[ "$n" = 2 ]
lc_expect "metrics: livecluster_auth_overload_total = 2 (got $n)" $?
n=$(lc_metric "$HTTP" 'livecluster_play_failures_total{reason="limit"}')
[ "$n" = 2 ]
lc_expect "metrics: play failures reason=limit = 2 (got $n)" $?
lc_check "the refusal is logged" lc_log_has spd "refused: too many auth_url checks in flight"

# auth_timeout_ms = 4 s is a deadline: the waiting players are refused, the slots free.
wait $w1
lc_expect "player 1: Play.Unauthorized at the deadline" $?
wait $w2
lc_expect "player 2: Play.Unauthorized at the deadline" $?
lc_check "the slots are free again" lc_wait_until 3 inflight_is 0
lc_check "timed-out requests are logged" lc_log_has spd "auth_url unreachable or timed out"

lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

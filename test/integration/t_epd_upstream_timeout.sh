#!/bin/sh
# A pull whose upstream goes silent without closing (docs/interface.md, upstream_timeout):
# spd frozen with SIGSTOP — its kernel still ACKs, no FIN, no RST, no answers — is declared
# lost by the edge within upstream_timeout (logged, counted in /metrics) and pulled again;
# once the spd runs again the edge viewer resumes on the same connection. A publisher that
# merely pauses (its spd still answers pings) is not a failure.
. "$(dirname "$0")/lib.sh"
lc_init epd_upstream_timeout

SPD="$LC_IP:$(lc_port 0)"
SPD_HTTP="$LC_IP:$(lc_port 1)"
EPD="$LC_IP:$(lc_port 2)"
EPD_HTTP="$LC_IP:$(lc_port 3)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
TIMEOUT=2
lc_start spd spd "listen = \"$SPD\"; http_listen = \"$SPD_HTTP\"; cluster_secret = \"s\";" || exit 1
lc_start epd epd "listen = \"$EPD\"; http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\";
cluster_secret = \"s\"; pull_retry_max = 1; upstream_timeout = $TIMEOUT;" || exit 1

# A publisher that pauses (lcpub stops sending for 3 x upstream_timeout, connection open)
# is not an upstream failure: the edge keeps its one pull.
lc_lcpub pause -t 30 "rtmp://$SPD/live/p"
lc_check "paused stream live on the origin" lc_wait_live "$SPD_HTTP" live/p 10
"$LCPLAY" -t $((3 * TIMEOUT + 4)) "rtmp://$EPD/live/p" >"$LC_DIR/pause_play.out" 2>&1 &
pause_play=$!
lc_track $pause_play
lc_check "the edge pulls the pausing stream" lc_wait_live "$EPD_HTTP" live/p 10
kill -STOP "$pause_pid"
sleep $((3 * TIMEOUT))
kill -CONT "$pause_pid"
[ "$(lc_metric "$EPD_HTTP" livecluster_pull_timeouts_total)" = 0 ]
lc_expect "a publisher pausing for 3 x upstream_timeout is not a lost upstream" $?
! lc_log_has epd "lost: upstream silent"
lc_expect "... and nothing is logged as lost" $?
wait $pause_play
lc_expect "the edge viewer of the pausing stream played and stayed connected" $?
kill "$pause_pid" 2>/dev/null

lc_publish pub "rtmp://$SPD/live/t"
lc_check "stream live on the origin" lc_wait_live "$SPD_HTTP" live/t 10
"$LCPLAY" -g 1 -k 2 -t 40 "rtmp://$EPD/live/t" >"$LC_DIR/viewer.out" 2>&1 &
viewer=$!
lc_track $viewer
lc_check "the edge pulls the stream" lc_wait_live "$EPD_HTTP" live/t 10
attempts_before=$(lc_metric "$EPD_HTTP" livecluster_pull_attempts_total)
sleep 2

# Freeze the origin: nothing answers, nothing closes.
kill -STOP "$spd_pid"
t0=$(date +%s)
lc_check "the edge declares the pull lost (log)" \
    lc_wait_log epd "pull live/t from $SPD lost: upstream silent" $((TIMEOUT + 4))
lost_s=$(( $(date +%s) - t0 ))
[ "$lost_s" -le $((TIMEOUT + 2)) ]
lc_expect "... within upstream_timeout + 2 s (took ${lost_s}s)" $?
timeouts_counted() { [ "$(lc_metric "$EPD_HTTP" livecluster_pull_timeouts_total)" -ge 1 ] 2>/dev/null; }
lc_check "... and counted in livecluster_pull_timeouts_total" lc_wait_until 3 timeouts_counted
retried() {
    [ "$(lc_metric "$EPD_HTTP" livecluster_pull_attempts_total)" -gt "$attempts_before" ] 2>/dev/null
}
lc_check "the edge pulls again (livecluster_pull_attempts_total grows)" lc_wait_until 5 retried
lc_alive epd
lc_expect "epd still running" $?
sleep 1
kill -CONT "$spd_pid"

wait $viewer
lc_expect "the edge viewer stayed connected and resumed once the origin ran again" $?
head -1 "$LC_DIR/viewer.out"
lc_check "the stream is live on the edge again" lc_wait_live "$EPD_HTTP" live/t 10

kill "$pub_pid" 2>/dev/null
lc_stop epd
lc_expect "SIGTERM: epd exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

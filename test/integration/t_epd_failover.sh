#!/bin/sh
# Edge upstream failover (docs/interface.md "Edge upstreams and failover"), in the shape of
# a real deployment: smd, three origins A, B, C in one cluster, publishers on C, and an
# edge whose upstream list is (A, B) — A preferred (same ISP), B the backup. The edge's
# preferred origin dies while the streams stay live elsewhere:
#   - a publisher pausing (its origin answers pings) is not a failure: no switch;
#   - SIGKILL of A: the edge viewer goes on from B within upstream_timeout + 3 s, on the
#     same connection, timestamps increasing, frames decoded after the switch;
#   - A back: it is probed up again, and a NEW stream's pull goes to A (the old one stays
#     on B);
#   - SIGSTOP of A (silent death, no FIN): the same, found by the pull's watchdog; a viewer
#     whose path avoids A sees no gap;
#   - SIGHUP with a list without B: the pulls on B move to A, viewers stay;
#   - every switch is counted in /metrics by reason and logged once with both addresses;
#     /api/v1/streams shows the upstream in use; -t checks each entry with FILE:LINE;
#   - an edge whose first upstream is down from the start (nothing listens) plays from
#     the second; later pulls go there directly.
. "$(dirname "$0")/lib.sh"
lc_init epd_failover

SMD="$LC_IP:$(lc_port 0)"; SMD_HTTP="$LC_IP:$(lc_port 1)"
A="$LC_IP:$(lc_port 2)";   A_HTTP="$LC_IP:$(lc_port 3)"
B="$LC_IP:$(lc_port 4)";   B_HTTP="$LC_IP:$(lc_port 5)"
C="$LC_IP:$(lc_port 6)";   C_HTTP="$LC_IP:$(lc_port 7)"
E="$LC_IP:$(lc_port 8)";   E_HTTP="$LC_IP:$(lc_port 9)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
SECRET="failover-test-secret"
TIMEOUT=2
BOUND_MS=$(( (TIMEOUT + 3) * 1000 ))   # the target: back within upstream_timeout + 3 s

# ---- -t: a string or a list; each entry checked where it is written ----
conf_check() { # EXPECTED-OUTPUT-PATTERN CONFIG-TEXT
    printf '%s\n' "$2" >"$LC_DIR/t.conf"
    "$LC_ROOT/$BUILD/epd" -t -c "$LC_DIR/t.conf" >"$LC_DIR/t.out" 2>&1
    rc=$?
    grep -Eq "$1" "$LC_DIR/t.out" || { cat "$LC_DIR/t.out"; return 1; }
    case "$1" in *"is valid"*) [ $rc -eq 0 ] ;; *) [ $rc -eq 1 ] && [ "$(wc -l <"$LC_DIR/t.out")" -eq 1 ] ;; esac
}
lc_check "-t: upstream as one string is valid" \
    conf_check "configuration is valid" "upstream = \"$A\";"
lc_check "-t: upstream as a list is valid" \
    conf_check "configuration is valid" "upstream = ( \"$A\", \"origin-b.example:1935\" );"
lc_check "-t: a bad second entry is reported at its line" \
    conf_check "t.conf:3: 'upstream': bad address \"1.2.3:1935\"" "log_level = \"info\";
upstream = ( \"$A\",
    \"1.2.3:1935\" );"
lc_check "-t: an empty list is refused" \
    conf_check "t.conf:1: 'upstream' must name at least one address" "upstream = ( );"
lc_check "-t: an entry listed twice is refused" \
    conf_check "t.conf:1: 'upstream': \"$A\" is listed twice" "upstream = ( \"$A\", \"$A\" );"
lc_check "-t: upstream_timeout is range-checked" \
    conf_check "t.conf:1: 'upstream_timeout' must be between 1 and 3600" \
    "upstream_timeout = 0; upstream = \"$A\";"

# ---- the cluster ----
lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";" || exit 1
spd_conf() { # NAME RTMP HTTP
    echo "node_id = \"sp-$1\"; listen = \"$2\"; http_listen = \"$3\"; advertise = \"$2\";
cluster_secret = \"$SECRET\"; source_managers = ( \"$SMD\" ); upstream_timeout = $TIMEOUT;
idle_timeout = 2; pull_retry_max = 1; log_level = \"debug\";"
}
for n in A B C; do
    eval "rtmp=\$$n; http=\$${n}_HTTP"
    lc_start spd "spd$n" "$(spd_conf "$n" "$rtmp" "$http")" || exit 1
done
EPD_BASE="node_id = \"ep-1\"; listen = \"$E\"; http_listen = \"$E_HTTP\";
cluster_secret = \"$SECRET\"; upstream_timeout = $TIMEOUT; pull_retry_max = 1; idle_timeout = 2;
log_level = \"debug\";"
lc_start epd epd "$EPD_BASE upstream = ( \"$A\", \"$B\" );" || exit 1
lc_check "the edge logs its upstreams in order of preference" \
    lc_log_has epd "edge pulls from upstreams $A, $B \\(in order of preference\\)"

lc_publish pubP "rtmp://$C/live/p"
lc_publish pub1 "rtmp://$C/live/t1"
lc_check "live/p live on C" lc_wait_live "$C_HTTP" live/p 10
lc_check "live/t1 live on C" lc_wait_live "$C_HTTP" live/t1 10

switches() { lc_metric "$E_HTTP" "livecluster_upstream_switches_total{reason=\"$1\"}"; }
all_switches() {
    echo $(( $(switches lost) + $(switches silent) + $(switches refused) +
             $(switches not_found) + $(switches removed) ))
}
# lc_stream_is, but printing what it saw when it gives up.
wait_upstream() { # ID ADDR SECONDS
    lc_wait_until "$3" lc_stream_is "$E_HTTP" "$1" upstream "$2" && return 0
    echo "$1 on the edge: upstream '$(lc_stream_field "$E_HTTP" "$1" upstream)', want '$2'"
    return 1
}
field() { sed -n "s/.* $2=\\([0-9]*\\) .*/\\1/p" "$1" | head -1; } # FILE NAME: lcplay's figure
# played_through FILE — lcplay's player ran to its deadline on one connection with no
# timestamp going back (ok=1); its longest pause was within upstream_timeout + 3 s; and
# its media time kept up with the wall clock across the switch (behind by at most that
# pause and a GOP: frames went on after it) without jumping ahead (a timeline rebased on
# stale headers would leap forward by the stream's age).
played_through() {
    head -1 "$1"
    gap=$(field "$1" max_gap_ms); media=$(field "$1" media_ms); wall=$(field "$1" wall_ms)
    grep -q "^player=0 ok=1 " "$1" && [ -n "$gap" ] && [ "$gap" -le "$BOUND_MS" ] &&
        [ "$media" -ge $((wall - BOUND_MS - 2000)) ] && [ "$media" -le $((wall + 4000)) ]
}

# ---- (4) a publisher that pauses is not an upstream failure ----
"$LCPLAY" -t $((3 * TIMEOUT + 5)) "rtmp://$E/live/p" >"$LC_DIR/pause_play.out" 2>&1 &
pause_play=$!
lc_track $pause_play
lc_check "the edge pulls live/p from its preferred upstream A" wait_upstream live/p "$A" 10
kill -STOP "$pubP_pid"
sleep $((3 * TIMEOUT))
kill -CONT "$pubP_pid"
[ "$(all_switches)" = 0 ] && [ "$(lc_metric "$E_HTTP" livecluster_pull_timeouts_total)" = 0 ]
lc_expect "a publisher pausing for 3 x upstream_timeout switches nothing (switches $(all_switches))" $?
! lc_log_has epd "upstream switch|is down"
lc_expect "... and logs no switch" $?
wait $pause_play
lc_expect "the viewer of the pausing stream stayed connected" $?
lc_check "... on A all along" lc_stream_is "$E_HTTP" live/p upstream "$A"
kill "$pubP_pid" 2>/dev/null

# ---- (1) SIGKILL of the preferred upstream ----
"$LCPLAY" -t 20 "rtmp://$E/live/t1" >"$LC_DIR/v1.out" 2>&1 &
v1=$!
lc_track $v1
lc_check "the edge pulls live/t1 from A" wait_upstream live/t1 "$A" 10
lc_check "... which is one viewer on A" lc_stream_is "$A_HTTP" live/t1 viewers 1
[ "$(lc_stream_field "$E_HTTP" live/t1 source)" = upstream ]
lc_expect "the edge's live/t1 has source upstream" $?
sleep 2
kill -9 "$spdA_pid"
lc_check "the edge pulls live/t1 from B within upstream_timeout + 3 s" \
    wait_upstream live/t1 "$B" $((TIMEOUT + 3))
lc_check "the switch is logged with the stream id and both addresses" \
    lc_wait_log epd "pull live/t1: upstream switch from $A to $B \\(lost\\)" 2
lc_check "A is logged down" lc_log_has epd "upstream $A is down \\(lost\\)"
wait $v1
lc_expect "the edge viewer stayed connected through the switch, timestamps increasing" $?
lc_check "... back within upstream_timeout + 3 s, frames after the switch, no jump ahead" \
    played_through "$LC_DIR/v1.out"
lc_check "ffprobe on the edge decodes live/t1 (now from B)" lc_probe_ok "rtmp://$E/live/t1"
[ "$(switches lost)" = 1 ]
lc_expect "livecluster_upstream_switches_total{reason=\"lost\"} = 1 (got $(switches lost))" $?
[ "$(grep -c "pull live/t1: upstream switch" "$LC_DIR/epd.log")" = 1 ]
lc_expect "... logged once" $?
down() { [ "$(lc_metric "$E_HTTP" "livecluster_upstream_up{upstream=\"$A\"}")" = 0 ]; }
lc_check "livecluster_upstream_up{upstream=A} = 0 while A is dead" down

# ---- (3) A comes back: new pulls go to it again, the old one stays on B ----
lc_start spd spdA "$(spd_conf A "$A" "$A_HTTP")" || exit 1
up() { [ "$(lc_metric "$E_HTTP" "livecluster_upstream_up{upstream=\"$A\"}")" = 1 ]; }
lc_check "the edge's probe finds A up again" lc_wait_until 10 up
lc_check "... and logs it" lc_wait_log epd "upstream $A is up again" 2
lc_publish pub2 "rtmp://$C/live/t2"
lc_check "live/t2 live on C" lc_wait_live "$C_HTTP" live/t2 10
"$LCPLAY" -k 1000 -t $((TIMEOUT + 14)) "rtmp://$E/live/t1" >"$LC_DIR/v3.out" 2>&1 &
v3=$!
lc_track $v3
"$LCPLAY" -t 20 "rtmp://$E/live/t2" >"$LC_DIR/v2.out" 2>&1 &
v2=$!
lc_track $v2
lc_check "a new stream's pull goes to the preferred upstream A" wait_upstream live/t2 "$A" 10
lc_check "the existing pull of live/t1 stays on B" lc_stream_is "$E_HTTP" live/t1 upstream "$B"
playing() { lc_metric "$E_HTTP" "livecluster_upstream_pulls{upstream=\"$1\"}"; }
[ "$(playing "$A")" = 1 ] && [ "$(playing "$B")" = 1 ]
lc_expect "livecluster_upstream_pulls: 1 on A, 1 on B (got $(playing "$A"), $(playing "$B"))" $?
sleep 2

# ---- (2) SIGSTOP of A: silent, no FIN; the watchdog finds it ----
kill -STOP "$spdA_pid"
lc_check "the edge pulls live/t2 from B within upstream_timeout + 3 s" \
    wait_upstream live/t2 "$B" $((TIMEOUT + 3))
lc_check "the switch is logged as silent" \
    lc_wait_log epd "pull live/t2: upstream switch from $A to $B \\(silent\\)" 2
# the viewer of the reload below, on live/t1's pull from B before v3 leaves it
"$LCPLAY" -t 30 "rtmp://$E/live/t1" >"$LC_DIR/v4.out" 2>&1 &
v4=$!
lc_track $v4
wait $v2
lc_expect "the edge viewer of live/t2 stayed connected, timestamps increasing" $?
lc_check "... back within upstream_timeout + 3 s, frames after the switch, no jump ahead" \
    played_through "$LC_DIR/v2.out"
wait $v3
lc_expect "a viewer whose path avoids A (live/t1 via B) played on" $?
[ "$(field "$LC_DIR/v3.out" gaps)" = 0 ]
lc_expect "... without a gap (gaps=$(field "$LC_DIR/v3.out" gaps), max_gap_ms=$(field "$LC_DIR/v3.out" max_gap_ms))" $?
[ "$(switches silent)" = 1 ]
lc_expect "livecluster_upstream_switches_total{reason=\"silent\"} = 1 (got $(switches silent))" $?
kill -CONT "$spdA_pid"
lc_check "A is probed up again once it runs" lc_wait_until 15 up

# ---- SIGHUP: a list without B moves the pulls on B, viewers stay ----
lc_check "live/t1 still pulled from B" wait_upstream live/t1 "$B" 5
printf '%s\n' "$EPD_BASE upstream = \"$A\";" >"$LC_DIR/epd.conf"
kill -HUP "$epd_pid"
lc_check "after the reload live/t1 is pulled from A" wait_upstream live/t1 "$A" $((TIMEOUT + 3))
lc_check "the move is logged" \
    lc_wait_log epd "pull live/t1: upstream switch from $B to $A \\(removed\\)" 2
wait $v4
lc_expect "its viewer stayed connected through the move" $?
lc_check "... and played through it" played_through "$LC_DIR/v4.out"
[ "$(switches removed)" -ge 1 ]
lc_expect "counted with reason=\"removed\" (got $(switches removed))" $?
[ "$(switches refused)" = 0 ] && [ "$(switches not_found)" = 0 ] && [ "$(switches lost)" = 1 ] &&
    [ "$(switches silent)" = 1 ]
lc_expect "no other switch was counted (lost $(switches lost), silent $(switches silent), refused $(switches refused), not_found $(switches not_found))" $?

# ---- an edge whose preferred upstream is down from the start (nothing listens) ----
DEAD="$LC_IP:$(lc_port 12)"
E2="$LC_IP:$(lc_port 10)"; E2_HTTP="$LC_IP:$(lc_port 11)"
lc_start epd epd2 "node_id = \"ep-2\"; listen = \"$E2\"; http_listen = \"$E2_HTTP\";
cluster_secret = \"$SECRET\"; upstream = ( \"$DEAD\", \"$B\" );" || exit 1
lc_check "an edge whose first upstream refuses decodes the stream from the second" \
    lc_probe_ok "rtmp://$E2/live/t1"
refused2() {
    [ "$(lc_metric "$E2_HTTP" 'livecluster_upstream_switches_total{reason="refused"}')" = 1 ] &&
        [ "$(lc_metric "$E2_HTTP" "livecluster_upstream_up{upstream=\"$DEAD\"}")" = 0 ]
}
lc_check "... counted as one refused switch, the dead upstream down" refused2
lc_check "... a second stream goes straight to the second (no switch)" lc_probe_ok "rtmp://$E2/live/t2"
lc_check "... still one switch" refused2
lc_stop epd2
lc_expect "SIGTERM: epd2 exits 0" $?

kill "$pub1_pid" "$pub2_pid" 2>/dev/null
lc_stop epd
lc_expect "SIGTERM: epd exits 0" $?
for n in A B C; do
    lc_stop "spd$n"
    lc_expect "SIGTERM: spd $n exits 0" $?
done
lc_stop smd
lc_expect "SIGTERM: smd exits 0" $?
lc_done

#!/bin/sh
# What viewers can make an edge do upstream is bounded (docs/configuration.md): plays of
# ids that are not live open at most max_waiting_per_client waiting streams per client
# address and max_pulls pulls per node. A play past a bound is refused at once with
# NetStream.Play.StreamNotFound, counted in /metrics by reason and logged; viewers joining
# a stream that is already waiting, or live, are never refused, and a waiting viewer
# starts the moment its stream is published.
. "$(dirname "$0")/lib.sh"
lc_init epd_play_limits

SPD="$LC_IP:$(lc_port 0)"
SPD_HTTP="$LC_IP:$(lc_port 1)"
EPD="$LC_IP:$(lc_port 2)"
EPD_HTTP="$LC_IP:$(lc_port 3)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
# Every bound is a config key validated by -t: out of range = exit 1, one FILE:LINE line.
bad_bound() { # bad_bound DAEMON "KEY = VALUE"
    printf 'upstream = "%s";\n%s;\n' "$SPD" "$2" >"$LC_DIR/bad.conf"
    "$LC_ROOT/$BUILD/$1" -t -c "$LC_DIR/bad.conf" >"$LC_DIR/bad.out" 2>&1 && return 1
    [ "$(wc -l <"$LC_DIR/bad.out")" -eq 1 ] && grep -q "^$LC_DIR/bad.conf:2: " "$LC_DIR/bad.out"
}
for kv in "max_pulls = 0" "max_waiting_streams = 0" "max_waiting_per_client = 0" \
    "upstream_timeout = 0" "gop_cache_max_messages = 15"; do
    lc_check "epd -t refuses $kv" bad_bound epd "$kv"
done

lc_start spd spd "listen = \"$SPD\"; http_listen = \"$SPD_HTTP\"; cluster_secret = \"s\";" || exit 1
lc_start epd epd "listen = \"$EPD\"; http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\";
cluster_secret = \"s\"; play_wait_timeout = 30; max_waiting_per_client = 3; max_pulls = 4;" || exit 1

lc_publish live "rtmp://$SPD/live/on"
lc_check "a live stream on the origin" lc_wait_live "$SPD_HTTP" live/on 10

# Three viewers wait on three ids that are not live: three waiting streams, three pulls.
"$LCPLAY" -k 1 -t 40 "rtmp://$EPD/live/w1" >"$LC_DIR/w1.out" 2>&1 &
w1=$!
lc_track $w1
for id in w2 w3; do
    "$LCPLAY" -t 40 "rtmp://$EPD/live/$id" >"$LC_DIR/$id.out" 2>&1 &
    lc_track $!
done
three_pulls() { [ "$(lc_metric "$EPD_HTTP" livecluster_pulls)" = 3 ]; }
lc_check "three waiting viewers: three pulls" lc_wait_until 10 three_pulls

# A fourth id from the same address: refused at once, not after play_wait_timeout.
t0=$(date +%s)
"$LCPLAY" -e NetStream.Play.StreamNotFound -t 10 "rtmp://$EPD/live/w4" >"$LC_DIR/w4.out" 2>&1
lc_expect "a fourth waiting stream from one address is refused with StreamNotFound" $?
took=$(( $(date +%s) - t0 ))
[ "$took" -le 3 ]
lc_expect "... at once (${took}s; play_wait_timeout is 30 s)" $?
[ "$(lc_metric "$EPD_HTTP" 'livecluster_play_limited_total{reason="max_waiting_per_client"}')" = 1 ]
lc_expect "counted: livecluster_play_limited_total{reason=\"max_waiting_per_client\"} 1" $?
[ "$(lc_metric "$EPD_HTTP" 'livecluster_play_failures_total{reason="limit"}')" = 1 ]
lc_expect "counted: livecluster_play_failures_total{reason=\"limit\"} 1" $?
lc_check "logged" lc_log_has epd "play live/w4 from .* refused: max_waiting_per_client \\(3\\) reached"
[ "$(lc_metric "$EPD_HTTP" livecluster_pulls)" = 3 ]
lc_expect "no pull was opened for it" $?
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$EPD_HTTP/live/w9.flv")
[ "$code" = 503 ]
lc_expect "HTTP-FLV from the same address: 503 at once (got $code)" $?
[ "$(lc_metric "$EPD_HTTP" 'livecluster_play_limited_total{reason="max_waiting_per_client"}')" = 2 ]
lc_expect "... counted too" $?

# Joining a stream that is already waiting is not refused; published a moment later, both
# of its viewers start at once.
"$LCPLAY" -k 1 -t 40 "rtmp://$EPD/live/w1" >"$LC_DIR/w1b.out" 2>&1 &
w1b=$!
lc_track $w1b
sleep 1
lc_publish pubw1 "rtmp://$SPD/live/w1"
wait $w1
lc_expect "a waiting viewer starts when its stream is published" $?
wait $w1b
lc_expect "... and so does one that joined the waiting stream" $?

# A live stream needs a fourth pull: allowed (max_pulls = 4), the fifth is not.
"$LCPLAY" -k 1 -t 15 "rtmp://$EPD/live/on" >"$LC_DIR/on.out" 2>&1
lc_expect "a viewer of a live stream plays (fourth pull)" $?
"$LCPLAY" -e NetStream.Play.StreamNotFound -t 10 "rtmp://$EPD/live/w5" >"$LC_DIR/w5.out" 2>&1
lc_expect "a fifth pull is refused with StreamNotFound" $?
[ "$(lc_metric "$EPD_HTTP" 'livecluster_play_limited_total{reason="max_pulls"}')" = 1 ]
lc_expect "counted: livecluster_play_limited_total{reason=\"max_pulls\"} 1" $?
lc_check "logged" lc_log_has epd "play live/w5 refused: max_pulls \\(4\\) reached"
"$LCPLAY" -k 1 -t 15 "rtmp://$EPD/live/on" >"$LC_DIR/on2.out" 2>&1
lc_expect "a viewer of a stream the edge already pulls still plays" $?

lc_alive epd
lc_expect "epd still running" $?
lc_stop epd
lc_expect "SIGTERM: epd exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

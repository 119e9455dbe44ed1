#!/bin/sh
# epd in front of one spd: viewers on the edge decode; many edge viewers make exactly one
# pull (one viewer on the spd); the pull closes idle_timeout after the last viewer; a
# waiting viewer starts when the stream is published; a viewer stays connected while the
# upstream spd dies and resumes when it is back; edges refuse publishers.
. "$(dirname "$0")/lib.sh"
lc_init epd_edge

SPD="$LC_IP:$(lc_port 0)"
SPD_HTTP="$LC_IP:$(lc_port 1)"
EPD="$LC_IP:$(lc_port 2)"
EPD_HTTP="$LC_IP:$(lc_port 3)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
SPD_CONF="listen = \"$SPD\"; http_listen = \"$SPD_HTTP\"; cluster_secret = \"s\";"
lc_start spd spd "$SPD_CONF" || exit 1
lc_start epd epd "listen = \"$EPD\"; http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\";
cluster_secret = \"s\"; idle_timeout = 2; pull_retry_max = 1; log_level = \"debug\";" || exit 1

lc_publish pub "rtmp://$SPD/live/e1"
lc_check "stream live on the origin" lc_wait_live "$SPD_HTTP" live/e1 10
lc_check "ffprobe on the edge decodes h264 320x240" lc_probe_ok "rtmp://$EPD/live/e1"

httpflv_decodes() {
    timeout 4 curl -s -o "$LC_DIR/edge.flv" "http://$EPD_HTTP/live/e1.flv"
    lc_probe_ok "$LC_DIR/edge.flv"
}
lc_check "HTTP-FLV on the edge decodes" httpflv_decodes

# 20 viewers on the edge: one pull, i.e. one viewer on the origin.
"$LCPLAY" -c 20 -t 8 "rtmp://$EPD/live/e1" >"$LC_DIR/twenty.out" 2>&1 &
twenty=$!
lc_track $twenty
sleep 4
edge_viewers=$(lc_stream_field "$EPD_HTTP" live/e1 viewers)
edge_source=$(lc_stream_field "$EPD_HTTP" live/e1 source)
origin_viewers=$(lc_stream_field "$SPD_HTTP" live/e1 viewers)
[ "$edge_viewers" = 20 ] && [ "$edge_source" = upstream ] && [ "$origin_viewers" = 1 ]
lc_expect "20 edge viewers -> edge shows 20 (source upstream), origin shows 1 (got $edge_viewers/$edge_source/$origin_viewers)" $?
wait $twenty
lc_expect "all 20 edge viewers decoded frames" $?
tail -1 "$LC_DIR/twenty.out"

# Idle teardown: idle_timeout = 2 s after the last viewer, plus slack.
teardown() {
    lc_stream_is "$SPD_HTTP" live/e1 viewers 0 && lc_stream_is "$EPD_HTTP" live/e1 id ""
}
lc_check "pull closed within idle_timeout + 4 s of the last viewer" lc_wait_until 6 teardown

# A viewer waiting on the edge for a stream not yet published starts when it is.
"$LCPLAY" -k 1 -t 15 "rtmp://$EPD/live/later" >"$LC_DIR/later.out" 2>&1 &
later=$!
lc_track $later
sleep 2
lc_publish pub2 "rtmp://$SPD/live/later"
wait $later
lc_expect "a waiting edge viewer starts once the stream is published" $?
kill "$pub2_pid" 2>/dev/null

# Upstream lost and back: the viewer stays connected through it and resumes.
"$LCPLAY" -g 1 -k 2 -t 40 "rtmp://$EPD/live/e1" >"$LC_DIR/survive.out" 2>&1 &
survive=$!
lc_track $survive
sleep 3
kill -9 "$spd_pid" "$pub_pid"
sleep 2
lc_start spd spd "$SPD_CONF" || exit 1
lc_publish pub "rtmp://$SPD/live/e1"
wait $survive
lc_expect "an edge viewer survives the upstream's death and resumes (timestamps increasing)" $?
cat "$LC_DIR/survive.out" | head -1

# Edges take no publishers.
timeout 10 ffmpeg -hide_banner -nostdin -loglevel error -re -i "$LC_FIXTURE" -c copy -f flv \
    "rtmp://$EPD/live/nope" >"$LC_DIR/edgepub.log" 2>&1
[ $? -ne 0 ]
lc_expect "publishing to an edge is refused" $?
lc_check "the refusal is logged" lc_log_has epd "publish refused: this node does not take publishers"

lc_stop epd
lc_expect "SIGTERM: epd exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

#!/bin/sh
# A publisher sends one keyframe and then a million one-byte media messages, never another
# keyframe. The GOP cache (gop_cache_max_messages, and gop_cache_max_bytes counting each
# message's overhead) and the viewers' queues (viewer_queue_bytes counting each queued
# message's overhead) keep every node's memory bounded: the origin, and an edge pulling
# the stream for a viewer, each grow by tens of MB at most (peak RSS), where every message
# used to stay in both caches (~150 bytes each) until a keyframe that never comes.
. "$(dirname "$0")/lib.sh"
lc_init spd_gop_flood

SPD="$LC_IP:$(lc_port 0)"
SPD_HTTP="$LC_IP:$(lc_port 1)"
EPD="$LC_IP:$(lc_port 2)"
EPD_HTTP="$LC_IP:$(lc_port 3)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
LCFLOOD="$LC_ROOT/$BUILD/tools/lcflood"
MAX_GROWTH_KB=65536
lc_start spd spd "listen = \"$SPD\"; http_listen = \"$SPD_HTTP\"; cluster_secret = \"s\";" || exit 1
lc_start epd epd "listen = \"$EPD\"; http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\";
cluster_secret = \"s\";" || exit 1

peak_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
spd_before=$(peak_kb "$spd_pid")
epd_before=$(peak_kb "$epd_pid")

# The viewer waits on the edge, so the edge pulls the stream as soon as it is live, and
# watches through the flood.
"$LCPLAY" -t 120 "rtmp://$EPD/live/flood" >"$LC_DIR/viewer.out" 2>&1 &
viewer=$!
lc_track $viewer
(cd "$LC_ROOT" && exec "$LCFLOOD" -n 1000000 -s 1 -t 80 "rtmp://$SPD/live/flood") \
    >"$LC_DIR/flood.out" 2>&1
lc_expect "the flood was sent: $(cat "$LC_DIR/flood.out")" $?
# Through the origin and the edge: the edge's stream has taken in the million bytes.
edge_took_it() { [ "$(lc_stream_field "$EPD_HTTP" live/flood bytes_in)" -ge 1000000 ] 2>/dev/null; }
lc_check "the flood reached the edge" lc_wait_until 60 edge_took_it
kill -TERM $viewer
wait $viewer
lc_expect "the edge viewer played the stream through the flood" $?
tail -1 "$LC_DIR/viewer.out"

spd_growth=$(( $(peak_kb "$spd_pid") - spd_before ))
epd_growth=$(( $(peak_kb "$epd_pid") - epd_before ))
lc_log "peak RSS growth: spd ${spd_growth} KiB, epd ${epd_growth} KiB"
[ "$spd_growth" -lt $MAX_GROWTH_KB ]
lc_expect "spd's peak RSS grew by less than 64 MiB (${spd_growth} KiB)" $?
[ "$epd_growth" -lt $MAX_GROWTH_KB ]
lc_expect "epd's peak RSS grew by less than 64 MiB (${epd_growth} KiB)" $?

lc_stop epd
lc_expect "SIGTERM: epd exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

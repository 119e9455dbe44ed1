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
# On a sanitizer build, freed memory waits in ASan's quarantine (256 MB by default) and
# would count as growth: keep it small so that RSS shows what the daemons hold.
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=8:thread_local_quarantine_size_kb=256"
export ASAN_OPTIONS
# The bounds are config keys validated by -t: out of range = exit 1, one FILE:LINE line.
bad_bound() { # bad_bound "KEY = VALUE"
    printf 'node_id = "a";\n%s;\n' "$1" >"$LC_DIR/bad.conf"
    "$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/bad.conf" >"$LC_DIR/bad.out" 2>&1 && return 1
    [ "$(wc -l <"$LC_DIR/bad.out")" -eq 1 ] && grep -q "^$LC_DIR/bad.conf:2: " "$LC_DIR/bad.out"
}
for kv in "gop_cache_max_messages = 15" "gop_cache_max_messages = 1000001" \
    "not_found_cache_ms = -1" "upstream_timeout = 0" "max_pulls = 0"; do
    lc_check "spd -t refuses $kv" bad_bound "$kv"
done

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
# Through the origin and the edge: the publisher left after its flood, and the edge has
# handled everything the origin sent before that (its stream is no longer live). The
# origin may have skipped video for the edge while it fell behind (decision 3).
lc_check "the edge handled the whole flood" lc_wait_until 60 lc_stream_is "$EPD_HTTP" live/flood live false
edge_bytes=$(lc_stream_field "$EPD_HTTP" live/flood bytes_in)
[ "$edge_bytes" -ge 100000 ] 2>/dev/null
lc_expect "... of which at least 100000 messages reached the edge (bytes_in $edge_bytes)" $?
kill -TERM $viewer
wait $viewer
# Whether it kept up is the abuse suite's question (it may be dropped or skip to the
# next keyframe when its host is busy); here it only makes the edge pull the stream.
grep -q "started=1" "$LC_DIR/viewer.out"
lc_expect "the edge viewer started on the stream" $?
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

#!/bin/sh
# test/abuse/run.sh — the abuse suite (issue 10, "make the tests find the next one").
#
# A small cluster on loopback — smd, an spd in cluster mode, an epd pulling from it — with
# an honest publisher (ffmpeg, the fixture looped in real time). Every flood class is sent
# at spd and at epd, one at a time, while an honest viewer (lcplay, a real RTMP client
# decoding the stream at >= 75% of real-time pace) watches the live stream on the daemon
# under attack. attacks.py measures and checks each row:
#   rss       the daemon's RSS growth during the attack (VmHWM after a reset through
#             /proc/PID/clear_refs, minus VmRSS before) under the row's limit
#   committed (where reserving is the defect) VmData growth under its limit
#   attacker  the daemon closed the attacker in time, or capped it, as the row defines
#   upstream  (defect 8) work created upstream (pulls at spd, watches at smd) under a cap
#   viewer    the honest viewer kept up: decoded, no pause over 1 s, >= 75% pace
#   alive     the daemon is still running
# then prints a table and "abuse: N passed, N failed". Each attack is bounded in time and
# bytes; this script starts every process it kills (lib.sh tracks their PIDs).
#
# Usage: BUILD=build sh test/abuse/run.sh   (after `make all tools`; run by `make abuse`)
#        ABUSE_ONLY="ackflood gopflood" ... runs only those attacks
. "$(dirname "$0")/../integration/lib.sh"
ABUSE="$LC_ROOT/test/abuse"
# ASan keeps freed memory in a quarantine (256 MiB by default): that is not the daemon's
# growth, so keep it small here. The sanitizer build also pays shadow memory and redzones
# for every allocation: its limits are doubled (lim below).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=23:quarantine_size_mb=4:thread_local_quarantine_size_kb=64}"
lc_init abuse

SMD="$LC_IP:$(lc_port 0)"
SMD_HTTP="$LC_IP:$(lc_port 1)"
SPD="$LC_IP:$(lc_port 2)"
SPD_HTTP="$LC_IP:$(lc_port 3)"
EPD="$LC_IP:$(lc_port 4)"
EPD_HTTP="$LC_IP:$(lc_port 5)"
SPD_RTMPS="$LC_IP:$(lc_port 6)"
SPD_HTTPS="$LC_IP:$(lc_port 7)"
EPD_RTMPS="$LC_IP:$(lc_port 8)"
EPD_HTTPS="$LC_IP:$(lc_port 9)"
RESULTS="$LC_DIR/results.jsonl"
: >"$RESULTS"

# ---- the configured bounds the limits below derive from ----------------------------------
MAX_CONNECTIONS=256        # small, so connection floods pass it quickly
CONNECT_TIMEOUT=3          # connected without publishing or playing (defect 10)
HANDSHAKE_TIMEOUT=3
PLAY_WAIT_TIMEOUT=2        # a play of a missing id fails after this
VIEWER_QUEUE=1048576       # per-subscriber output: 1 MiB soft, 2 MiB hard bound
GOP_CACHE_MAX=4194304      # GOP cache payload bound (defect 3 adds a message bound)
MAX_MESSAGE=8388608        # the default: chunk reader pending <= 2 x this per connection
# ---- bounds the fixes of issue 10 added (the checks below use these values) -----------
UPSTREAM_CAP=32            # defect 8: upstream pulls / smd watches one attacking address
                           # may cause: max_waiting_per_client
HTTP_DEADLINE=10           # defect 9: total deadline of an HTTP request (slowloris):
                           # http_request_timeout; HTTP connections: http_max_connections
VOD_MAX_VIEWERS=16         # issue 14: file plays at once on spd (vod.max_viewers)
# ABUSE_EXTRA_CONF / ABUSE_SMD_EXTRA_CONF (appended to the spd+epd / smd configs) may add
# more keys for an experiment.
ABUSE_EXTRA_CONF="max_waiting_per_client = $UPSTREAM_CAP;
http_request_timeout = $HTTP_DEADLINE; http_max_connections = $MAX_CONNECTIONS;
${ABUSE_EXTRA_CONF:-}"
ABUSE_SMD_EXTRA_CONF="http_request_timeout = $HTTP_DEADLINE;
http_max_connections = $MAX_CONNECTIONS; ${ABUSE_SMD_EXTRA_CONF:-}"

MEDIA="cluster_secret = \"abuse-secret\"; log_level = \"info\";
max_connections = $MAX_CONNECTIONS; connect_timeout = $CONNECT_TIMEOUT;
handshake_timeout = $HANDSHAKE_TIMEOUT; play_wait_timeout = $PLAY_WAIT_TIMEOUT;
viewer_queue_bytes = $VIEWER_QUEUE; slow_viewer_timeout = 5;
gop_cache_max_bytes = $GOP_CACHE_MAX; max_message_size = $MAX_MESSAGE; idle_timeout = 2;
$ABUSE_EXTRA_CONF"
SMD_CONF="listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"abuse-secret\";
log_level = \"info\"; $ABUSE_SMD_EXTRA_CONF"
# TLS listeners too (issue 13), with a certificate made here
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=localhost" -keyout "$LC_DIR/tls.key" -out "$LC_DIR/tls.pem" >/dev/null 2>&1 ||
    { lc_log "cannot make a TLS certificate with openssl"; exit 1; }
TLS="tls = { cert = \"$LC_DIR/tls.pem\"; key = \"$LC_DIR/tls.key\"; };"
SPD_CONF="listen = \"$SPD\"; http_listen = \"$SPD_HTTP\"; advertise = \"$SPD\";
source_managers = ( \"$SMD\" ); rtmps_listen = \"$SPD_RTMPS\"; https_listen = \"$SPD_HTTPS\";
$TLS $MEDIA
vod = { dir = \"$LC_DIR/vod\"; max_viewers = $VOD_MAX_VIEWERS; };"
EPD_CONF="listen = \"$EPD\"; http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\";
rtmps_listen = \"$EPD_RTMPS\"; https_listen = \"$EPD_HTTPS\"; $TLS $MEDIA"

# RSS limits in MiB, per attack (attacks.py's --rss-mb), from the bounds above:
#  - one flooding connection (control output, defect 2): what the daemon may queue for one
#    client is of the order of a viewer's queue (2 MiB hard) — 16 MiB leaves room for the
#    allocator and the honest traffic;
#  - many connections (floods of ids, connections, HTTP, dribblers): 256 connections of a
#    few KiB each plus their input buffers — 32 MiB;
#  - the GOP flood: gop_cache_max_bytes (4 MiB) of payload plus per-message overhead under
#    whatever count bound the fix adds, on each node — 32 MiB;
#  - an 8 MB AMF3 command: the message itself (max_message_size, 8 MiB) plus a decode
#    bounded by the AMF node budget — 24 MiB;
#  - stalled TLS handshakes (issue 13): each makes OpenSSL hold a record and a ClientHello
#    buffer of up to tls_max_client_hello (16 KiB) until handshake_timeout /
#    http_request_timeout; 100 of them (and 100 announcing more, refused at once) — 16 MiB;
#  - slow huge messages: committed memory (VmData) follows the bytes received; 16
#    connections sending a few KiB each — 32 MiB (reserving the announced 2 x 8 MiB per
#    connection would be 256 MiB).
case "$BUILD" in
*asan*) SCALE=2 ;;
*) SCALE=1 ;;
esac
lim() { echo $(( $1 * SCALE )); }

start_daemons() {
    lc_start smd smd "$SMD_CONF" || return 1
    lc_start spd spd "$SPD_CONF" || return 1
    lc_start epd epd "$EPD_CONF" || return 1
    lc_publish pub "rtmp://$SPD/live/honest"
    lc_wait_live "$SPD_HTTP" live/honest 10 || return 1
    # a viewer that keeps the edge's pull of the honest stream up between rows
    "$LC_TOOLS/lcplay" -t 900 "rtmp://$EPD/live/honest" >"$LC_DIR/keeper.out" 2>&1 &
    keeper=$!
    lc_track $keeper
    lc_wait_live "$EPD_HTTP" live/honest 10 || return 1
    sleep 0.5
    for dm in smd spd epd; do
        eval "${dm}_rss0=\$(lc_rss_kb \$${dm}_pid)"
    done
}

restart_daemons() {
    lc_log "restarting the cluster: $1"
    for p in ${keeper:-} ${pub_pid:-} ${epd_pid:-} ${spd_pid:-} ${smd_pid:-}; do
        kill "$p" 2>/dev/null
    done
    for p in ${keeper:-} ${pub_pid:-} ${epd_pid:-} ${spd_pid:-} ${smd_pid:-}; do
        lc_wait_exit "$p" 5 || kill -9 "$p" 2>/dev/null
    done
    start_daemons || { lc_log "cannot restart the cluster"; exit 1; }
}

# Before each row: a daemon that died in the last one is started again (the row says it
# died), and so is one whose RSS stayed up after it: freed memory the allocator keeps
# would hide the next row's growth.
ensure_clean() {
    for dm in smd spd epd; do
        if ! lc_alive "$dm"; then
            restart_daemons "$dm died"
            return
        fi
        eval "rss=\$(lc_rss_kb \$${dm}_pid) rss0=\$${dm}_rss0"
        if [ "$rss" -gt $((rss0 + 8192)) ]; then
            restart_daemons "$dm kept $(( (rss - rss0) / 1024 )) MiB"
            return
        fi
    done
}

# Floods log a line per refusal: keep the logs from filling the disk.
trim_logs() {
    for dm in smd spd epd; do
        f="$LC_DIR/$dm.log"
        if [ "$(stat -c %s "$f" 2>/dev/null || echo 0)" -gt 20000000 ]; then
            : >"$f"
            echo "(log trimmed by the abuse suite)" >>"$f"
        fi
    done
}

# want ATTACK — the attack is selected (ABUSE_ONLY empty = all).
want() {
    [ -z "${ABUSE_ONLY:-}" ] && return 0
    case " $ABUSE_ONLY " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

# row ATTACK DEFECT TARGET RSS_MIB [attacks.py options] — one attack at spd or epd.
row() {
    r_attack=$1 r_defect=$2 r_target=$3 r_rss=$4
    shift 4
    case $r_target in
    spd) r_rtmp=$SPD r_http=$SPD_HTTP r_pid=$spd_pid r_rtmps=$SPD_RTMPS r_https=$SPD_HTTPS ;;
    *) r_rtmp=$EPD r_http=$EPD_HTTP r_pid=$epd_pid r_rtmps=$EPD_RTMPS r_https=$EPD_HTTPS ;;
    esac
    python3 "$ABUSE/attacks.py" "$r_attack" --defect "$r_defect" --rtmp "$r_rtmp" \
        --http "$r_http" --tls-rtmp "$r_rtmps" --tls-http "$r_https" \
        --target "$r_target:$r_pid:rtmp://$r_rtmp/live/honest" \
        --rss-mb "$(lim "$r_rss")" --lcplay "$LC_TOOLS/lcplay" --fixture "$LC_FIXTURE" \
        --out "$RESULTS" "$@"
}
# at_both ATTACK DEFECT RSS_MIB [options] — the row at spd, then at epd.
at_both() {
    b_attack=$1 b_defect=$2 b_rss=$3
    shift 3
    want "$b_attack" || return 0
    for b_target in spd epd; do
        ensure_clean
        lc_log "$b_attack at $b_target"
        row "$b_attack" "$b_defect" "$b_target" "$b_rss" "$@"
        trim_logs
    done
}
# in_parallel ATTACK DEFECT RSS_MIB [options] — spd and epd at once (slow, light attacks
# whose duration is a timeout: running both together halves the suite's time).
in_parallel() {
    b_attack=$1 b_defect=$2 b_rss=$3
    shift 3
    want "$b_attack" || return 0
    ensure_clean
    lc_log "$b_attack at spd and epd"
    row "$b_attack" "$b_defect" spd "$b_rss" "$@" &
    b_p1=$!
    row "$b_attack" "$b_defect" epd "$b_rss" "$@" &
    b_p2=$!
    wait $b_p1
    wait $b_p2
    trim_logs
}

# A large file for the vod row: 15 s of 80 KB video tags at 25 fps (2 MB/s), so a player
# that never reads fills its queue.
mkdir -p "$LC_DIR/vod"
python3 - "$LC_DIR/vod/big.flv" <<'EOF2'
import struct, sys
out = open(sys.argv[1], "wb")
out.write(b"FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00")
for i in range(15 * 25):
    b = (b"\x17" if i % 50 == 0 else b"\x27") + b"\x01\x00\x00\x00" + bytes(80000)
    ts = i * 40
    out.write(bytes([9]) + struct.pack(">I", len(b))[1:] + struct.pack(">I", ts)[1:] +
              b"\x00\x00\x00\x00" + b + struct.pack(">I", 11 + len(b)))
EOF2

start_daemons || exit 1
started=$(date +%s)

at_both ackflood 2 16 --seconds 2.5 --budget 4194304
at_both pingflood 2 16 --seconds 2.5 --budget 8388608
at_both errorflood 2 16 --seconds 2.5 --budget 8388608

# defect 3: one publisher on spd, measured on spd and on epd (which pulls the stream for
# its own viewer); the honest viewers watch live/honest on each.
if want gopflood; then
    ensure_clean
    lc_log "gopflood at spd (and its pull on epd)"
    python3 "$ABUSE/attacks.py" gopflood --defect 3 --rtmp "$SPD" --http "$SPD_HTTP" \
        --target "spd:$spd_pid:rtmp://$SPD/live/honest" \
        --target "epd:$epd_pid:rtmp://$EPD/live/honest" --rss-mb "$(lim 32)" \
        --stream live/gop --play "rtmp://$SPD/live/gop" --play "rtmp://$EPD/live/gop" \
        --seconds 5 --budget 6000000 --rate 200000 \
        --lcplay "$LC_TOOLS/lcplay" --fixture "$LC_FIXTURE" --out "$RESULTS"
    trim_logs
fi

# defect 8: random ids — on the edge each may become an upstream pull (counted as spd's
# connections), on the spd (cluster mode) a lookup and a watch at smd.
if want idflood; then
    ensure_clean
    lc_log "idflood at epd"
    row idflood 8 epd 32 --count 150 --seconds 2.5 --cap "$UPSTREAM_CAP" \
        --upstream "$SPD_HTTP:livecluster_connections"
    ensure_clean
    lc_log "idflood at spd"
    row idflood 8 spd 32 --count 150 --seconds 2.5 --cap "$UPSTREAM_CAP" \
        --upstream "$SMD_HTTP:livecluster_smd_watches" --watch "smd:$smd_pid"
    trim_logs
fi

# issue 14: files on demand — plays of a large file that are never read, past
# vod.max_viewers, each with a burst of getStreamLength requests (spd only: epd has no
# files). Each viewer kept holds at most its output queue (viewer_queue_bytes) and two
# file chunks: 16 x ~1.2 MiB.
if want vodflood; then
    ensure_clean
    lc_log "vodflood at spd"
    row vodflood vod spd 32 --count 64 --seconds 3 --stream vod/big --cap "$VOD_MAX_VIEWERS" \
        --upstream "$SPD_HTTP:livecluster_vod_viewers"
    trim_logs
fi

# defect 9: connections past max_connections; file descriptors exhausted; HTTP.
at_both connflood 9 32 --count 400 --seconds 2.5 --cap "$MAX_CONNECTIONS"
at_both fdexhaust 9 32 --count 300 --seconds 3.5 --cpu-max 50
in_parallel slowloris 9 32 --count 60 --seconds $((HTTP_DEADLINE + 3)) --deadline "$HTTP_DEADLINE"
at_both httpflood 9 32 --count 400 --seconds 2.5 --cap "$MAX_CONNECTIONS"

# defect 10: connections that never publish or play.
in_parallel dribble 10 16 --count 20 --seconds $((CONNECT_TIMEOUT + PLAY_WAIT_TIMEOUT + 3)) \
    --deadline "$CONNECT_TIMEOUT" --play-wait "$PLAY_WAIT_TIMEOUT"

# issue 13: TLS handshakes that stall with the longest ClientHello accepted reserved, and
# ones announcing a longer one (refused at once).
in_parallel tlsstall tls 16 --count 200 --seconds $((HTTP_DEADLINE + 4)) \
    --deadline "$HANDSHAKE_TIMEOUT" --deadline2 "$HTTP_DEADLINE" --hello 16384

# hardening: the chunk reader's reservations; AMF3 trait tables.
at_both bigmsg chunk 32 --count 16 --seconds 2.5 --msg-size $((MAX_MESSAGE - 1)) --data-mb "$(lim 32)"
at_both amf3traits amf3 24 --count 1 --seconds 3 --msg-size 8000000

# The daemons leave cleanly after all that (ASan reports leaks and errors at exit).
for dm in epd spd smd; do
    if lc_alive "$dm"; then
        lc_stop "$dm"
        rc=$?
    else
        rc=dead
    fi
    if [ "$rc" = 0 ]; then v=pass; else v="fail: exit status $rc"; fi
    printf '{"attack":"shutdown","defect":"","target":"%s","mem":{},"attacker":{},"checks":{"exit":"%s"}}\n' \
        "$dm" "$v" >>"$RESULTS"
done
lc_log "attacks took $(( $(date +%s) - started ))s"
python3 "$ABUSE/report.py" "$RESULTS"
rc=$?
[ $rc -eq 0 ] || LC_FAILED=1   # keeps the logs (lc_cleanup) for a look
exit $rc

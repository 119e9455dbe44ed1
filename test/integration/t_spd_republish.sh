#!/bin/sh
# spd standalone: the publisher dies (SIGKILL ffmpeg) and comes back with the same id.
# Connected RTMP viewers stay: each sees NetStream.Play.UnpublishNotify, then
# NetStream.Play.PublishNotify and media after it, with timestamps that never go
# backwards (the hub rebases the new publisher's timeline). An HTTP-FLV viewer stays
# connected too and its FLV body stays decodable across the restart.
. "$(dirname "$0")/lib.sh"
lc_init spd_republish

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
URL="rtmp://$RTMP/live/cam"
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"info\";" || exit 1
lc_publish pub1 "$URL"
lc_check "stream goes live" lc_wait_live "$HTTP" live/cam 10

# Three RTMP viewers (one with AMF3 commands) and one HTTP-FLV viewer across two restarts.
"$LC_TOOLS/lcplay" -c 2 -r 2 -k 2 -t 40 "$URL" >"$LC_DIR/viewers.out" 2>&1 &
viewers_pid=$!
lc_track $viewers_pid
"$LC_TOOLS/lcplay" -3 -r 2 -k 2 -t 40 "$URL" >"$LC_DIR/viewer3.out" 2>&1 &
viewer3_pid=$!
lc_track $viewer3_pid
curl -s --max-time 40 -o "$LC_DIR/http.flv" "http://$HTTP/live/cam.flv" &
curl_pid=$!
lc_track $curl_pid
# And one that leaves at the first UnpublishNotify: it must hear it while no publisher is
# there (not only once the next one arrives).
"$LC_TOOLS/lcplay" -u -t 40 "$URL" >"$LC_DIR/until.out" 2>&1 &
until_pid=$!
lc_track $until_pid

for restart in 1 2; do
    sleep 2
    eval "kill -KILL \$pub${restart}_pid"
    eval "wait \$pub${restart}_pid" 2>/dev/null
    lc_check "restart $restart: unpublish logged" lc_wait_log spd "publish live/cam stopped" 5
    if [ $restart -eq 1 ]; then
        heard_unpublish() {
            lc_wait_exit $until_pid 5 || { echo "no UnpublishNotify within 5 s"; return 1; }
            wait $until_pid || { cat "$LC_DIR/until.out"; return 1; }
            cat "$LC_DIR/until.out"
        }
        lc_check "a viewer hears UnpublishNotify while the stream is down" heard_unpublish
    fi
    sleep 1
    lc_publish "pub$((restart + 1))" "$URL"
    lc_check "restart $restart: live again" lc_wait_live "$HTTP" live/cam 10
done

wait $viewers_pid
lc_expect "RTMP viewers: UnpublishNotify + PublishNotify twice, media after, no timestamp going back" $?
sed 's/^/        /' "$LC_DIR/viewers.out"
wait $viewer3_pid
lc_expect "AMF3 viewer: the same across both restarts" $?
sed 's/^/        /' "$LC_DIR/viewer3.out"
lc_check "viewers saw 2 unpublish and 2 republish notifications" \
    lc_has "$LC_DIR/viewers.out" '^player=1 ok=1 .* unpublish=2 republish=2 '

sleep 1
kill $curl_pid 2>/dev/null
wait $curl_pid 2>/dev/null
# The FLV body spans both restarts: three publishers' AVC sequence headers, each followed
# by video frames, timestamps never going backwards, and the whole body decodes.
flv_spans_restarts() {
    python3 - "$LC_DIR/http.flv" <<'EOF2' || return 1
import struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:3] == b"FLV", "not an FLV body"
pos = struct.unpack(">I", d[5:9])[0] + 4
segments, last_ts, back = [], -1, 0
while pos + 11 <= len(d):
    t, size = d[pos], int.from_bytes(d[pos + 1:pos + 4], "big")
    ts = int.from_bytes(d[pos + 4:pos + 7], "big") | d[pos + 7] << 24
    body = d[pos + 11:pos + 11 + size]
    if len(body) < size:
        break  # cut by the end of the download
    if t == 9 and len(body) >= 2:
        if body[1] == 0:
            segments.append(0)  # a publisher's AVC sequence header
        elif body[1] == 1 and segments:
            segments[-1] += 1
            back += ts < last_ts
            last_ts = max(last_ts, ts)
    pos += 11 + size + 4
print("video frames after each sequence header:", segments, "backwards:", back)
sys.exit(0 if len(segments) == 3 and min(segments) > 0 and back == 0 else 1)
EOF2
    timeout 20 ffmpeg -v error -i "$LC_DIR/http.flv" -map 0:v -f framemd5 "$LC_DIR/http.md5" || return 1
    echo "decoded $(grep -vc '^#' "$LC_DIR/http.md5") video frames"
}
lc_check "HTTP-FLV viewer: the body spans both restarts and decodes" flv_spans_restarts

lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

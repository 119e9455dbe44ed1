#!/bin/sh
# spd files on demand (docs/interface.md "Recordings and files"):
#  - -t checks vod.dir (missing, not a directory); a valid file passes.
#  - RTMP rtmp://HOST/vod/NAME: ffprobe decodes the whole file at real-time pace and exits
#    at Play.Stop with every frame; ffmpeg -ss (a seek command) decodes the same frames as
#    a local -ss on the file; a raw client's getStreamLength is the file's duration, its
#    seek lands on the keyframe at or before the time asked (the first media after
#    Seek.Notify carries that keyframe's timestamp), pause stops media until unpause and
#    the timeline continues, the end is onPlayStatus Play.Complete then Play.Stop.
#  - HTTP GET /vod/NAME.flv: the whole file; ranges (first bytes, middle, suffix), 416 with
#    Content-Range */SIZE; HEAD with the headers and no body.
#  - Names: "..", %2e%2e, absolute paths, NUL, and symlinks out of DIR are refused (RTMP and
#    HTTP) and nothing outside DIR is ever served; a symlink inside DIR plays; a missing
#    file is StreamNotFound / 404; publishing to the vod app is refused.
#  - A stream recorded by `record` plays as a file, seek included.
#  - Bounds (second spd): vod.max_viewers refuses the next viewer (RTMP and HTTP 503); a
#    viewer that stops reading is dropped after slow_viewer_timeout; SIGHUP moves vod.dir.
. "$(dirname "$0")/lib.sh"
lc_init spd_vod

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
HOST=${RTMP%:*}
PORT=${RTMP#*:}
VC="python3 $LC_ROOT/test/integration/vodclient.py"
VOD="$LC_DIR/vod"
mkdir -p "$VOD" "$LC_DIR/rec/live" "$LC_DIR/other"

# A 10 s file: H.264 320x240 25 fps, a keyframe every 2 s, AAC.
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi -i testsrc=size=320x240:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 -t 10 -c:v libx264 -preset ultrafast \
    -g 50 -keyint_min 50 -sc_threshold 0 -c:a aac -b:a 64k -f flv "$VOD/t10.flv" \
    >"$LC_DIR/gen.log" 2>&1
lc_expect "a 10 s test file was made" $?
SIZE=$(stat -c %s "$VOD/t10.flv")
echo "outside DIR: must never be served" >"$LC_DIR/secret.flv"
ln -s "$LC_DIR/secret.flv" "$VOD/abs.flv"
ln -s ../secret.flv "$VOD/rel.flv"
ln -s t10.flv "$VOD/inside.flv"

# What the file holds (FLV tag walk): its keyframes and duration on the relative timeline
# the server uses (timestamps minus the first audio/video one).
flv_keys() {
    python3 - "$1" <<'EOF'
import struct, sys
d = open(sys.argv[1], "rb").read()
off = struct.unpack(">I", d[5:9])[0] + 4
first = None
last = 0
keys = []
while off + 11 <= len(d):
    t, size = d[off] & 0x1f, struct.unpack(">I", b"\0" + d[off + 1:off + 4])[0]
    ts = struct.unpack(">I", b"\0" + d[off + 4:off + 7])[0] | d[off + 7] << 24
    body = d[off + 11:off + 11 + size]
    if t in (8, 9):
        first = ts if first is None else first
        last = max(last, ts - first)
        if t == 9 and len(body) > 1 and body[0] >> 4 == 1 and body[1] == 1:
            keys.append(ts - first)
    off += 15 + size
print("duration %d" % last)
for k in keys:
    print("key %d" % k)
EOF
}
flv_keys "$VOD/t10.flv" >"$LC_DIR/t10.keys"
DURATION_MS=$(awk '$1 == "duration" { print $2 }' "$LC_DIR/t10.keys")
KEY_7300=$(awk '$1 == "key" && $2 <= 7300 { k = $2 } END { print k }' "$LC_DIR/t10.keys")
lc_log "file: $SIZE bytes, ${DURATION_MS} ms, keyframe at or before 7300 ms: $KEY_7300"

# ---- -t checks the directory ----
printf 'listen = "%s";\nhttp_listen = "%s";\nvod = {\n  dir = "%s/nope";\n};\n' \
    "$RTMP" "$HTTP" "$LC_DIR" >"$LC_DIR/bad1.conf"
out=$("$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/bad1.conf" 2>&1)
rc=$?
[ $rc -eq 1 ] && [ "$out" = "$LC_DIR/bad1.conf:4: 'vod.dir': \"$LC_DIR/nope\": No such file or directory" ]
lc_expect "-t: a missing vod.dir is FILE:LINE: message, exit 1 ($out)" $?
printf 'vod = { dir = "%s"; };\n' "$LC_DIR/secret.flv" >"$LC_DIR/bad2.conf"
out=$("$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/bad2.conf" 2>&1)
[ $? -eq 1 ] && echo "$out" | grep -q "is not a directory"
lc_expect "-t: a vod.dir that is a file is refused ($out)" $?
printf 'vod = { dir = "%s"; max_viewers = 0; };\n' "$VOD" >"$LC_DIR/bad3.conf"
"$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/bad3.conf" >/dev/null 2>&1
[ $? -eq 1 ]
lc_expect "-t: vod.max_viewers out of range is refused" $?

lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"debug\";
record = { enabled = true; dir = \"$LC_DIR/rec\"; };
vod = { dir = \"$VOD\"; read_ahead_ms = 2000; };" || exit 1

# ---- RTMP: real clients, in parallel (they play at real-time pace) ----
timeout 40 ffprobe -v error -count_frames -show_entries stream=codec_name,width,height,nb_read_frames \
    -of csv=p=0 "rtmp://$RTMP/vod/t10" >"$LC_DIR/probe_rtmp.out" 2>&1 &
probe_pid=$!
lc_track $probe_pid
$VC "$HOST" "$PORT" vod t10 --length --seek 7300 --after 1 --until 9 --timeout 30 \
    >"$LC_DIR/seek.out" 2>&1 &
seek_pid=$!
lc_track $seek_pid
$VC "$HOST" "$PORT" vod t10 --pause 2 --after 3 --until 6 --timeout 30 >"$LC_DIR/pause.out" 2>&1 &
pause_pid=$!
lc_track $pause_pid
$VC "$HOST" "$PORT" vod t10 --start 7000 --timeout 30 >"$LC_DIR/end.out" 2>&1 &
end_pid=$!
lc_track $end_pid

# ffmpeg -ss on an rtmp input sends `seek`: the decoded frames equal a local -ss
framemd5() {
    timeout 30 ffmpeg -hide_banner -nostdin -loglevel error -ss 7.3 -i "$1" -frames:v 3 -an \
        -f framemd5 - 2>/dev/null | grep -v '^#'
}
framemd5 "rtmp://$RTMP/vod/t10" >"$LC_DIR/ss_rtmp.md5"
framemd5 "$VOD/t10.flv" >"$LC_DIR/ss_file.md5"
[ -s "$LC_DIR/ss_file.md5" ] && cmp -s "$LC_DIR/ss_rtmp.md5" "$LC_DIR/ss_file.md5"
lc_expect "ffmpeg -ss 7.3 over RTMP decodes the frames a local -ss 7.3 decodes" $?
lc_check "ffmpeg's seek reached the server as a seek (log)" lc_log_has spd "play vod/t10: seek to 7300 ms: keyframe at $KEY_7300 ms"

# ---- HTTP ----
H="http://$HTTP/vod/t10.flv"
curl -s -o "$LC_DIR/whole.flv" -D "$LC_DIR/whole.h" "$H"
cmp -s "$LC_DIR/whole.flv" "$VOD/t10.flv" && grep -q "^HTTP/1.1 200" "$LC_DIR/whole.h" &&
    grep -qi "^Accept-Ranges: bytes" "$LC_DIR/whole.h" &&
    grep -qi "^Content-Length: $SIZE" "$LC_DIR/whole.h"
lc_expect "GET: 200, the whole file byte for byte, Accept-Ranges, Content-Length" $?
range_ok() { # RANGE FIRST LAST
    curl -s -o "$LC_DIR/r.bin" -D "$LC_DIR/r.h" -H "Range: $1" "$H"
    tr -d '\r' <"$LC_DIR/r.h" >"$LC_DIR/r.hh"
    grep -q "^HTTP/1.1 206" "$LC_DIR/r.hh" &&
        grep -qi "^Content-Range: bytes $2-$3/$SIZE\$" "$LC_DIR/r.hh" &&
        grep -qi "^Content-Length: $(($3 - $2 + 1))\$" "$LC_DIR/r.hh" &&
        tail -c +$(($2 + 1)) "$VOD/t10.flv" | head -c $(($3 - $2 + 1)) | cmp -s - "$LC_DIR/r.bin"
}
lc_check "Range: bytes=0-99 → 206 with the first 100 bytes" range_ok "bytes=0-99" 0 99
lc_check "Range: bytes=100000-199999 → 206 with those bytes" range_ok "bytes=100000-199999" 100000 199999
lc_check "Range: bytes=-500 → 206 with the last 500 bytes" range_ok "bytes=-500" $((SIZE - 500)) $((SIZE - 1))
lc_check "Range: bytes=0-0, 5-9 → the first range only" range_ok "bytes=0-0, 5-9" 0 0
curl -s -o "$LC_DIR/416.body" -D "$LC_DIR/416.h" -H "Range: bytes=$SIZE-" "$H"
tr -d '\r' <"$LC_DIR/416.h" | grep -q "^HTTP/1.1 416" &&
    tr -d '\r' <"$LC_DIR/416.h" | grep -qi "^Content-Range: bytes \*/$SIZE\$"
lc_expect "Range past the end → 416 with Content-Range: bytes */SIZE" $?
curl -s -I -o "$LC_DIR/head.h" --max-time 5 "$H"
tr -d '\r' <"$LC_DIR/head.h" | grep -q "^HTTP/1.1 200" &&
    tr -d '\r' <"$LC_DIR/head.h" | grep -qi "^Content-Length: $SIZE\$" &&
    tr -d '\r' <"$LC_DIR/head.h" | grep -qi "^Last-Modified: "
lc_expect "HEAD → 200 with Content-Length and Last-Modified" $?
[ "$(curl -s -X HEAD --max-time 5 "$H" | wc -c)" -eq 0 ]
lc_expect "HEAD sends no body" $?

# ---- names and paths ----
code() { curl -s --path-as-is -o "$LC_DIR/esc.body" -w '%{http_code}' --max-time 5 "http://$HTTP$1"; }
refused_http() {
    c=$(code "$1")
    [ "$c" = 404 ] && ! grep -q "never be served" "$LC_DIR/esc.body"
}
for p in "/vod/../secret.flv" "/vod/%2e%2e/secret.flv" "/vod/%2e%2e%2fsecret.flv" \
         "/vod//etc/passwd.flv" "/vod/abs.flv" "/vod/rel.flv" "/vod/t10%00.flv" \
         "/vod/.t10.flv" "/vod/a/../t10.flv" "/vod/missing.flv"; do
    lc_check "HTTP $p → 404, nothing outside DIR" refused_http "$p"
done
lc_check "HTTP a symlink inside DIR → 200" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' 'http://$HTTP/vod/inside.flv')\" = 200 ]"
rtmp_refused() { # NAME CODE...
    n=$1
    shift
    $VC "$HOST" "$PORT" vod "$n" --timeout 10 >"$LC_DIR/name.out" 2>&1
    for c in "$@"; do
        grep -q "^status NetStream.Play.$c\$" "$LC_DIR/name.out" && return 0
    done
    cat "$LC_DIR/name.out"
    return 1
}
lc_check "RTMP ../secret → BadName" rtmp_refused "../secret" BadName
lc_check "RTMP %2e%2e → BadName" rtmp_refused "%2e%2e" BadName
lc_check "RTMP /etc/passwd → BadName" rtmp_refused "/etc/passwd" BadName
lc_check "RTMP a NUL in the name → refused" rtmp_refused 'missing\x00../../secret' BadName StreamNotFound
lc_check "RTMP symlink to an absolute path outside → StreamNotFound" rtmp_refused abs StreamNotFound
lc_check "RTMP symlink to ../ → StreamNotFound" rtmp_refused rel StreamNotFound
lc_check "RTMP a missing file → StreamNotFound" rtmp_refused missing StreamNotFound
$VC "$HOST" "$PORT" vod missing --length --timeout 10 >"$LC_DIR/len404.out" 2>&1
lc_check "getStreamLength of a missing file → _error StreamNotFound" grep -q "^length-error NetStream.Play.StreamNotFound" "$LC_DIR/len404.out"
lc_check "the symlink escapes are logged" lc_log_has spd "vod (abs|rel): refused: a link leading out of the directory"
timeout 10 ffmpeg -hide_banner -nostdin -loglevel error -re -i "$LC_FIXTURE" -c copy -f flv \
    "rtmp://$RTMP/vod/t10" >"$LC_DIR/pubvod.log" 2>&1
[ $? -ne 0 ]
lc_expect "publishing to the vod app is refused" $?
lc_check "... with a log line" lc_log_has spd "publish vod/t10 refused: the vod app serves files"

# ---- the RTMP results ----
wait $seek_pid
lc_expect "raw client: seek run ended as asked" $?
dur=$(awk '$1 == "length" { print $2 }' "$LC_DIR/seek.out")
awk -v d="$dur" -v ms="$DURATION_MS" 'BEGIN { x = d * 1000 - ms; exit !(x > -1 && x < 1) }'
lc_expect "getStreamLength = the file's duration ($dur s, file ${DURATION_MS} ms)" $?
first_after_seek() {
    awk '/^status NetStream.Seek.Notify/ { s = 1; next } s && /^media/ { print $3; exit }' "$1"
}
key_after_seek() {
    awk '/^status NetStream.Seek.Notify/ { s = 1; next } s && /^media 9 [0-9]+ key/ { print $3; exit }' "$1"
}
f=$(first_after_seek "$LC_DIR/seek.out")
k=$(key_after_seek "$LC_DIR/seek.out")
[ -n "$KEY_7300" ] && [ "$f" = "$KEY_7300" ] && [ "$k" = "$KEY_7300" ]
lc_expect "seek 7300: the first media after Seek.Notify is the keyframe at or before it ($f, key $k, want $KEY_7300)" $?
awk '/^status NetStream.Seek.Notify/ { s = 1; next } s && /^media/ && $3 < k { bad = 1 } END { exit bad }' \
    k="$KEY_7300" "$LC_DIR/seek.out"
lc_expect "... and nothing earlier follows it" $?

wait $pause_pid
lc_expect "raw client: pause run ended as asked" $?
pause_checks() {
    python3 - "$LC_DIR/pause.out" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("status NetStream.Pause.Notify")
j = lines.index("status NetStream.Unpause.Notify")
between = [l for l in lines[i:j] if l.startswith("media")]
t_pause = float([l for l in lines if l.startswith("pause ")][0].split()[1])
t_unpause = float([l for l in lines if l.startswith("unpause ")][0].split()[1])
before = [int(l.split()[2]) for l in lines[:i] if l.startswith("media 9")]
after = [int(l.split()[2]) for l in lines[j:] if l.startswith("media 9")]
ok = not between and t_unpause - t_pause >= 1.9 and after and after[0] >= before[-1]
print("media while paused %d, paused %.2f s, video ts %d then %d" %
      (len(between), t_unpause - t_pause, before[-1], after[0] if after else -1))
sys.exit(0 if ok else 1)
EOF
}
lc_check "pause: no media between Pause.Notify and Unpause.Notify, then the timeline continues" pause_checks

wait $end_pid
lc_expect "raw client from 7000 ms: ended by Play.Stop" $?
grep -v '^media' "$LC_DIR/end.out" | tail -4 >"$LC_DIR/end.tail"
printf 'status NetStream.Play.Stop\ndata onPlayStatus NetStream.Play.Complete\ncontrol 1\nend stop\n' |
    cmp -s - "$LC_DIR/end.tail"
lc_expect "the end: Play.Stop, onPlayStatus Play.Complete, StreamEOF" $?
grep -q "^media 9 $(awk '$1 == "key" && $2 <= 7000 { k = $2 } END { print k }' "$LC_DIR/t10.keys") seq" "$LC_DIR/end.out"
lc_expect "play start 7000: begins at the keyframe before it, with the sequence header" $?

wait $probe_pid
lc_expect "ffprobe played the whole file over RTMP and exited at its end" $?
want=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
    -of csv=p=0 "$VOD/t10.flv")
grep -q "^h264,320,240,$want\$" "$LC_DIR/probe_rtmp.out"
lc_expect "ffprobe over RTMP decodes every video frame of the file ($(head -1 "$LC_DIR/probe_rtmp.out"), want $want)" $?

# ---- a recording plays as a file ----
timeout 20 ffmpeg -hide_banner -nostdin -loglevel error -re -i "$LC_FIXTURE" -c copy -f flv \
    "rtmp://$RTMP/live/rec1" >"$LC_DIR/pub.log" 2>&1
lc_expect "a stream was published and recorded" $?
lc_check "the recording finished" lc_wait_log spd "record live/rec1: finished" 5
rec=$(ls "$LC_DIR"/rec/live/rec1-*.flv 2>/dev/null | head -1)
rec=$(basename "$rec" .flv)
sed "s|dir = \"$VOD\"|dir = \"$LC_DIR/rec/live\"|" "$LC_DIR/spd.conf" >"$LC_DIR/spd.conf.new" &&
    mv "$LC_DIR/spd.conf.new" "$LC_DIR/spd.conf"
kill -HUP "$spd_pid"
lc_check "SIGHUP: vod.dir now the recordings" lc_wait_log spd "vod: now serving $LC_DIR/rec/live" 5
out=$(timeout 20 ffprobe -v error -count_frames -show_entries stream=codec_name,nb_read_frames \
    -of csv=p=0 "rtmp://$RTMP/vod/$rec" 2>&1 | tr '\n' ' ')
[ "$out" = "h264,50 aac,88 " ]
lc_expect "the recording $rec plays over RTMP with every frame ($out)" $?
framemd5_rec() {
    timeout 30 ffmpeg -hide_banner -nostdin -loglevel error -ss 1.1 -i "$1" -frames:v 2 -an \
        -f framemd5 - 2>/dev/null | grep -v '^#'
}
framemd5_rec "rtmp://$RTMP/vod/$rec" >"$LC_DIR/rec_rtmp.md5"
framemd5_rec "$LC_DIR/rec/live/$rec.flv" >"$LC_DIR/rec_file.md5"
[ -s "$LC_DIR/rec_file.md5" ] && cmp -s "$LC_DIR/rec_rtmp.md5" "$LC_DIR/rec_file.md5"
lc_expect "... and seeks in it like the file does" $?
[ "$(curl -s -o /dev/null -w '%{http_code}' "$H")" = 404 ]
lc_expect "after the reload the old directory's files are gone (404)" $?

hits=$(lc_metric "$HTTP" livecluster_vod_index_hits_total)
[ "${hits:-0}" -ge 1 ]
lc_expect "the index cache answered repeat plays ($hits hits)" $?
no_viewers() { [ "$(lc_metric "$HTTP" livecluster_vod_viewers)" = 0 ]; }
lc_check "no viewer left counted" lc_wait_until 5 no_viewers

# ---- bounds: max_viewers and a viewer that stops reading ----
RTMP2="$LC_IP:$(lc_port 2)"
HTTP2="$LC_IP:$(lc_port 3)"
PORT2=${RTMP2#*:}
python3 - "$LC_DIR/other/big.flv" <<'EOF'
# 15 s of 80 KB "video" tags at 25 fps (2 MB/s): enough to fill the socket buffers
import struct, sys
out = open(sys.argv[1], "wb")
out.write(b"FLV\x01\x01\x00\x00\x00\x09\x00\x00\x00\x00")
body = b"\x17\x01\x00\x00\x00" + bytes(80000)
for i in range(15 * 25):
    ts = i * 40
    b = (b"\x17" if i % 50 == 0 else b"\x27") + body[1:]
    out.write(bytes([9]) + struct.pack(">I", len(b))[1:] + struct.pack(">I", ts & 0xffffff)[1:] +
              bytes([ts >> 24]) + b"\x00\x00\x00" + b + struct.pack(">I", 11 + len(b)))
EOF
lc_start spd spd2 "listen = \"$RTMP2\"; http_listen = \"$HTTP2\";
viewer_queue_bytes = 65536; slow_viewer_timeout = 1;
vod = { dir = \"$LC_DIR/other\"; max_viewers = 1; };" || exit 1
$VC "$HOST" "$PORT2" vod big --no-read 30 --timeout 30 >"$LC_DIR/stall.out" 2>&1 &
stall_pid=$!
lc_track $stall_pid
lc_check "a stalled viewer holds the one slot" lc_wait_file "$LC_DIR/stall.out" "NetStream.Play.Start" 10
$VC "$HOST" "$PORT2" vod big --timeout 10 >"$LC_DIR/over.out" 2>&1
lc_check "over vod.max_viewers: RTMP refused (StreamNotFound)" grep -q "^status NetStream.Play.StreamNotFound" "$LC_DIR/over.out"
lc_check "over vod.max_viewers: HTTP 503" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://$HTTP2/vod/big.flv)\" = 503 ]"
lc_check "the viewer that stopped reading is dropped (slow_viewer_timeout)" lc_wait_log spd2 "play vod/big: viewer dropped" 25
drops=$(lc_metric "$HTTP2" livecluster_slow_viewer_drops_total)
[ "${drops:-0}" -ge 1 ]
lc_expect "... and counted ($drops)" $?
lc_check "the slot is free again: a new viewer plays" sh -c "$VC $HOST $PORT2 vod big --until 1 --timeout 15 | grep -q '^end until'"

lc_stop spd2
lc_expect "SIGTERM: spd2 exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

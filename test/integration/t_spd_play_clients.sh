#!/bin/sh
# spd standalone: ffmpeg publishes the H.264+AAC fixture (-re, looped); ffprobe, ffmpeg,
# rtmpdump, GStreamer rtmp2src, an AMF3 client and HTTP-FLV each play it, proven by
# decoding frames and checking codec and resolution.
. "$(dirname "$0")/lib.sh"
lc_init spd_play_clients

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"debug\";" || exit 1
lc_publish pub "rtmp://$RTMP/live/cam"
lc_check "stream goes live" lc_wait_live "$HTTP" live/cam 10

URL="rtmp://$RTMP/live/cam"
lc_check "ffprobe decodes h264 320x240" lc_probe_ok "$URL"

ffmpeg_decodes() {
    timeout 20 ffmpeg -hide_banner -nostdin -loglevel error -rw_timeout 10000000 -i "$URL" \
        -t 2 -map 0:v -f framemd5 "$LC_DIR/ffmpeg.md5" || return 1
    n=$(grep -vc '^#' "$LC_DIR/ffmpeg.md5")
    echo "ffmpeg decoded $n video frames"
    [ "$n" -ge 10 ]
}
lc_check "ffmpeg -i … decodes video frames" ffmpeg_decodes

rtmpdump_saves() {
    # rtmpdump does not stop a live play by itself (-B is ignored for live): end it after
    # a few seconds of media
    timeout 6 rtmpdump -q -r "$URL" -o "$LC_DIR/dump.flv" -B 3 -m 10
    lc_probe_ok "$LC_DIR/dump.flv"
}
lc_check "rtmpdump's saved file decodes" rtmpdump_saves

gst_decodes() {
    timeout 20 gst-launch-1.0 -q rtmp2src location="$URL" ! flvdemux name=d \
        d.video ! queue ! h264parse ! avdec_h264 ! videoconvert ! \
        video/x-raw,width=320,height=240 ! fakesink num-buffers=25 sync=false
}
lc_check "GStreamer rtmp2src decodes 320x240 frames" gst_decodes

lc_check "AMF3 client (objectEncoding 3, type-17 commands) plays" \
    "$LC_ROOT/$BUILD/tools/lcplay" -3 -k 1 -t 10 "$URL"

httpflv_decodes() {
    timeout 4 curl -s -o "$LC_DIR/http.flv" "http://$HTTP/live/cam.flv"
    lc_probe_ok "$LC_DIR/http.flv"
}
lc_check "HTTP-FLV body decodes" httpflv_decodes

codec=$(lc_stream_field "$HTTP" live/cam video_codec)
width=$(lc_stream_field "$HTTP" live/cam width)
acodec=$(lc_stream_field "$HTTP" live/cam audio_codec)
[ "$codec" = h264 ] && [ "$width" = 320 ] && [ "$acodec" = aac ]
lc_expect "API reports h264/aac 320 wide (got $codec/$acodec $width)" $?

lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

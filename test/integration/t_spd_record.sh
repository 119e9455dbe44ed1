#!/bin/sh
# spd record = { enabled = true; dir = … }: a published stream is written to
# DIR/APP/NAME-UNIXTIME.flv, and the file decodes to the frames that were published.
. "$(dirname "$0")/lib.sh"
lc_init spd_record

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\";
record = { enabled = true; dir = \"$LC_DIR/rec\"; };" || exit 1

# Publish the 2 s fixture once (not looped), so the recording is complete and known.
timeout 20 ffmpeg -hide_banner -nostdin -loglevel error -re -i "$LC_FIXTURE" -c copy -f flv \
    "rtmp://$RTMP/live/rec1" >"$LC_DIR/pub.log" 2>&1
lc_expect "publisher ran to the end" $?
sleep 0.5

file=$(ls "$LC_DIR"/rec/live/rec1-*.flv 2>/dev/null | head -1)
[ -n "$file" ]
lc_expect "recording created under DIR/APP/ (${file##*/})" $?

frames() {
    ffprobe -v error -count_frames -select_streams "$1" -show_entries stream=nb_read_frames \
        -of csv=p=0 "$file"
}
v=$(frames v:0)
a=$(frames a:0)
[ "$v" = 50 ] && [ "$a" = 88 ]
lc_expect "recording decodes to every published frame (video $v/50, audio $a/88)" $?
lc_check "recording is logged" lc_log_has spd "record live/rec1: finished"
lc_check "a recorder is not a viewer" sh -c "[ \"\$(curl -s http://$HTTP/api/v1/streams)\" = '{\"streams\":[]}' ]"

lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

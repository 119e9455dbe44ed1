#!/bin/sh
# validate.sh — checks that rtmpbench counts what real players count.
#
# For each server (nginx-rtmp when installed, spd over RTMP, HTTP-FLV, RTMPS and HTTPS-FLV,
# epd behind spd when built) it starts, before anything is published, rtmpbench with 3
# players and ffprobe on the same URL; then ffmpeg publishes the fixture test/fixtures/ffmpeg_h264_aac.flv
# once (2 s: 50 video frames, 2 keyframes, 88 AAC frames; see test/fixtures/README.md).
# Every rtmpbench player and ffprobe must report exactly those counts.
#
#   BUILD=build test/bench/validate.sh      (prints PASS/FAIL per server; exit 1 on a FAIL)
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
FIXTURE=test/fixtures/ffmpeg_h264_aac.flv
WANT_VIDEO=50 WANT_KEY=2 WANT_AUDIO=88
IP=127.0.0.1
DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtmpbench-validate.XXXXXX")
PIDS=""
FAILED=0

track() { PIDS="$PIDS $1"; }
cleanup() {
    for pid in $PIDS; do kill "$pid" 2>/dev/null; done
    sleep 0.3
    for pid in $PIDS; do kill -9 "$pid" 2>/dev/null; done
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_tcp() {
    python3 -c '
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)' "$1" "$2"
}

# check NAME PLAY-URL PUBLISH-URL
check() {
    name=$1 url=$2 pub=$3
    "$BUILD/tools/rtmpbench" -n 3 -r 100 -i 0 -w 0 -d 5 -t 20 -v "$url" >"$DIR/$name.rb" 2>&1 &
    rb=$!
    timeout 25 ffprobe -v error -rw_timeout 8000000 -count_packets \
        -show_entries stream=codec_type,nb_read_packets -of csv=p=0 "$url" >"$DIR/$name.fp" 2>&1 &
    fp=$!
    track "$rb"
    track "$fp"
    sleep 1
    ffmpeg -hide_banner -nostdin -loglevel error -re -i "$FIXTURE" -c copy -f flv "$pub"
    wait "$rb"
    wait "$fp"
    fv=$(grep '^video,' "$DIR/$name.fp" | cut -d, -f2)
    fa=$(grep '^audio,' "$DIR/$name.fp" | cut -d, -f2)
    ok=1
    [ "$fv" = "$WANT_VIDEO" ] && [ "$fa" = "$WANT_AUDIO" ] || ok=0
    n=0
    while read -r line; do
        case "$line" in player=*) ;; *) continue ;; esac
        n=$((n + 1))
        v=$(echo "$line" | sed 's/.* video=\([0-9]*\).*/\1/')
        k=$(echo "$line" | sed 's/.* keyframes=\([0-9]*\).*/\1/')
        a=$(echo "$line" | sed 's/.* audio=\([0-9]*\).*/\1/')
        b=$(echo "$line" | sed 's/.* ts_backwards=\([0-9]*\).*/\1/')
        [ "$v" = "$WANT_VIDEO" ] && [ "$k" = "$WANT_KEY" ] && [ "$a" = "$WANT_AUDIO" ] &&
            [ "$b" = 0 ] || ok=0
    done <"$DIR/$name.rb"
    [ "$n" = 3 ] || ok=0
    if [ $ok = 1 ]; then
        echo "  PASS $name: ffprobe video=$fv audio=$fa; 3 rtmpbench players each video=$WANT_VIDEO keyframes=$WANT_KEY audio=$WANT_AUDIO"
    else
        FAILED=$((FAILED + 1))
        echo "  FAIL $name: ffprobe video=${fv:-?} audio=${fa:-?}; rtmpbench:"
        grep player= "$DIR/$name.rb" | sed 's/^/      /'
        sed 's/^/      ffprobe: /' "$DIR/$name.fp" | grep -v '^      ffprobe: [av][a-z]*,[0-9]*$'
    fi
}

module=""
for m in /usr/lib/nginx/modules/ngx_rtmp_module.so /usr/lib64/nginx/modules/ngx_rtmp_module.so; do
    [ -f "$m" ] && module=$m
done
if command -v nginx >/dev/null && [ -n "$module" ]; then
    cat >"$DIR/nginx.conf" <<EOF
load_module $module;
worker_processes 1;
daemon off;
pid $DIR/nginx.pid;
error_log $DIR/nginx-error.log warn;
events { worker_connections 1024; }
rtmp { server { listen $IP:19751; chunk_size 4096; application live { live on; } } }
EOF
    nginx -p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf" >"$DIR/nginx.log" 2>&1 &
    track $!
    wait_tcp $IP 19751 && check nginx-rtmp "rtmp://$IP:19751/live/v" "rtmp://$IP:19751/live/v"
else
    echo "  skip nginx-rtmp (not installed)"
fi

printf 'listen = "%s:19752"; http_listen = "%s:19753"; log_level = "warning";\n' $IP $IP \
    >"$DIR/spd.conf"
# RTMPS and HTTPS too, with a self-signed certificate (rtmpbench and ffprobe do not verify)
if openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=localhost" -keyout "$DIR/tls.key" -out "$DIR/tls.pem" >/dev/null 2>&1; then
    printf 'rtmps_listen = "%s:19756"; https_listen = "%s:19757";\n' $IP $IP >>"$DIR/spd.conf"
    printf 'tls = { cert = "%s"; key = "%s"; };\n' "$DIR/tls.pem" "$DIR/tls.key" >>"$DIR/spd.conf"
fi
"$BUILD/spd" -c "$DIR/spd.conf" >"$DIR/spd.log" 2>&1 &
track $!
if wait_tcp $IP 19752; then
    check spd-rtmp "rtmp://$IP:19752/live/v" "rtmp://$IP:19752/live/v"
    check spd-http-flv "http://$IP:19753/live/w.flv" "rtmp://$IP:19752/live/w"
    if [ -s "$DIR/tls.pem" ]; then
        check spd-rtmps "rtmps://$IP:19756/live/s" "rtmp://$IP:19752/live/s"
        check spd-https-flv "https://$IP:19757/live/t.flv" "rtmp://$IP:19752/live/t"
    fi
    if [ -x "$BUILD/epd" ]; then
        printf 'listen = "%s:19754"; http_listen = "%s:19755"; upstream = "%s:19752"; log_level = "warning";\n' \
            $IP $IP $IP >"$DIR/epd.conf"
        "$BUILD/epd" -c "$DIR/epd.conf" >"$DIR/epd.log" 2>&1 &
        track $!
        wait_tcp $IP 19754 && check epd-rtmp "rtmp://$IP:19754/live/x" "rtmp://$IP:19752/live/x"
    fi
fi
[ "$FAILED" = 0 ]

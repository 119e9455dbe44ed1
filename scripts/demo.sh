#!/bin/sh
# make demo: a whole livecluster on this host — smd + spd + epd on loopback, and (when
# ffmpeg is installed) a test-pattern publisher into spd. Prints how to watch; Ctrl-C stops
# everything this script started (and nothing else).
#
# Ports (override with DEMO_RTMP_SPD, DEMO_RTMP_EPD, DEMO_HTTP_BASE, DEMO_SMD):
#   spd RTMP 1935, epd RTMP 1936, smd registry 7935, HTTP APIs 8081 (smd) 8082 (spd) 8083 (epd)
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RTMP_SPD=${DEMO_RTMP_SPD:-1935}
RTMP_EPD=${DEMO_RTMP_EPD:-1936}
SMD_PORT=${DEMO_SMD:-7935}
HTTP_BASE=${DEMO_HTTP_BASE:-8081}
HTTP_SMD=$HTTP_BASE
HTTP_SPD=$((HTTP_BASE + 1))
HTTP_EPD=$((HTTP_BASE + 2))
SECRET="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
DIR=$(mktemp -d "${TMPDIR:-/tmp}/livecluster-demo.XXXXXX")
PIDS=""

stop_all() {
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for pid in $PIDS; do kill "$pid" 2>/dev/null; done
    for pid in $PIDS; do wait "$pid" 2>/dev/null; done
    echo "demo: logs were in $DIR (removed)"
    rm -rf "$DIR"
    exit 0
}
trap stop_all INT TERM EXIT

for port in "$RTMP_SPD" "$RTMP_EPD" "$SMD_PORT" "$HTTP_SMD" "$HTTP_SPD" "$HTTP_EPD"; do
    if ss -ltnH "sport = :$port" 2>/dev/null | grep -q .; then
        echo "demo: port $port is in use; set DEMO_* variables (see scripts/demo.sh)" >&2
        exit 1
    fi
done

cat >"$DIR/smd.conf" <<EOF
node_id = "demo-smd";
listen = "127.0.0.1:$SMD_PORT";
http_listen = "127.0.0.1:$HTTP_SMD";
cluster_secret = "$SECRET";
EOF
cat >"$DIR/spd.conf" <<EOF
node_id = "demo-spd";
listen = "127.0.0.1:$RTMP_SPD";
http_listen = "127.0.0.1:$HTTP_SPD";
cluster_secret = "$SECRET";
advertise = "127.0.0.1:$RTMP_SPD";
source_managers = ( "127.0.0.1:$SMD_PORT" );
EOF
cat >"$DIR/epd.conf" <<EOF
node_id = "demo-epd";
listen = "127.0.0.1:$RTMP_EPD";
http_listen = "127.0.0.1:$HTTP_EPD";
cluster_secret = "$SECRET";
upstream = "127.0.0.1:$RTMP_SPD";
source_managers = ( "127.0.0.1:$SMD_PORT" );
EOF

start() {
    "$ROOT/$BUILD/$1" -c "$DIR/$1.conf" >"$DIR/$1.log" 2>&1 &
    PIDS="$PIDS $!"
    i=0
    while ! curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$2/api/v1/health"; do
        i=$((i + 1))
        if [ $i -gt 50 ]; then
            echo "demo: $1 did not start; its log:" >&2
            cat "$DIR/$1.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "demo: $1 up (log: $DIR/$1.log)"
}

if [ -x "$ROOT/$BUILD/smd" ]; then
    start smd "$HTTP_SMD"
else
    echo "demo: $BUILD/smd not built; spd runs standalone"
    sed -i '/source_managers/d' "$DIR/spd.conf" "$DIR/epd.conf"
fi
start spd "$HTTP_SPD"
start epd "$HTTP_EPD"

if command -v ffmpeg >/dev/null 2>&1; then
    ffmpeg -hide_banner -nostdin -loglevel error -re \
        -f lavfi -i "testsrc2=size=640x360:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=44100" \
        -c:v libx264 -preset veryfast -tune zerolatency -b:v 800k -g 50 -pix_fmt yuv420p \
        -c:a aac -b:a 96k -f flv "rtmp://127.0.0.1:$RTMP_SPD/live/demo" >"$DIR/ffmpeg.log" 2>&1 &
    PIDS="$PIDS $!"
    echo "demo: ffmpeg publishes a test pattern to rtmp://127.0.0.1:$RTMP_SPD/live/demo"
else
    echo "demo: ffmpeg not installed: publish yourself, e.g. from OBS, to"
    echo "      rtmp://127.0.0.1:$RTMP_SPD/live/demo"
fi

cat <<EOF

  Watch from the edge:
    ffplay rtmp://127.0.0.1:$RTMP_EPD/live/demo
    ffplay http://127.0.0.1:$HTTP_EPD/live/demo.flv
  Publish your own stream (OBS server rtmp://127.0.0.1:$RTMP_SPD/live, key NAME):
    ffmpeg -re -i FILE -c copy -f flv rtmp://127.0.0.1:$RTMP_SPD/live/NAME
  The cluster at a glance (a page for a browser):
    http://127.0.0.1:$HTTP_SMD/
  APIs:
    curl http://127.0.0.1:$HTTP_SMD/api/v1/streams    (registry: viewers per stream)   .../api/v1/nodes
    curl http://127.0.0.1:$HTTP_SPD/api/v1/streams    (origin)
    curl http://127.0.0.1:$HTTP_EPD/api/v1/streams    (edge)
    curl http://127.0.0.1:$HTTP_EPD/metrics

  Ctrl-C stops everything.
EOF

# Stay in the foreground; if a daemon dies, say so and stop the rest.
while :; do
    for pid in $PIDS; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "demo: process $pid exited; stopping the demo" >&2
            stop_all
        fi
    done
    sleep 1
done

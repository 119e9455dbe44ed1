#!/bin/sh
# vod.sh — files on demand next to a live stream (issue 14): do 200 viewers of 200
# different files stall the event loop for the live viewers of the same spd?
#
#   1. baseline: one spd; rtmpbench publishes the source live and starts LIVE_N viewers of
#      it; their start times (connect to first keyframe) and kept-up count over a window;
#   2. the same spd serving VOD_N RTMP players, each a different file (copies of the source
#      in vod.dir: each is opened, indexed and read on its own), started first; then the
#      live measurement again, while the file players run — and theirs as well.
# Figures only: the script never fails on time. Results in $OUT/vod.txt (and JSON).
#
# Environment (all optional):
#   VOD_N=200 LIVE_N=100     players of files, live viewers
#   VOD_DURATION=20 VOD_WARMUP=2  measurement window and warm-up (s)
#   VOD_PIN=1                spd on CPU 0, the benchmark clients on CPU 1
#   BENCH_CACHE=build/bench-cache   where the generated source is kept (shared with run.sh)
#   BENCH_OUT=$BUILD/bench   results
set -u

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
case $BUILD in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
VOD_N=${VOD_N:-200}
LIVE_N=${LIVE_N:-100}
DURATION=${VOD_DURATION:-20}
WARMUP=${VOD_WARMUP:-2}
PIN=${VOD_PIN:-1}
CACHE=${BENCH_CACHE:-$ROOT/build/bench-cache}
OUT=${BENCH_OUT:-$BUILD/bench}
TOOLS="$BUILD/tools"
SOURCE="$CACHE/source-h264-aac-1mbps.flv"
IP=127.0.0.1
P_SPD=19721 H_SPD=19722
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lc-vodbench.XXXXXX")
LOGS="$OUT/vod-logs"
PIDS=""

say() { echo "vodbench: $*"; }
track() { PIDS="$PIDS $1"; }
stop_all() {
    for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
    sleep 0.5
    for pid in $PIDS; do kill -KILL "$pid" 2>/dev/null; done
    for pid in $PIDS; do wait "$pid" 2>/dev/null; done
    PIDS=""
}
trap 'stop_all; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM
on() { [ "$PIN" = 1 ] && command -v taskset >/dev/null && echo "taskset -c $1"; }

for t in "$TOOLS/rtmpbench" "$BUILD/spd"; do
    [ -x "$t" ] || { say "missing $t (make all tools)"; exit 1; }
done
command -v ffmpeg >/dev/null || { say "ffmpeg is required"; exit 1; }
mkdir -p "$OUT" "$LOGS" "$WORK/vod"
if [ ! -s "$SOURCE" ]; then
    mkdir -p "$CACHE"
    say "making the source (60 s H.264 640x360 25 fps GOP 50 + AAC, ~1 Mbit/s)"
    ffmpeg -hide_banner -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=640x360:rate=25,noise=alls=12:allf=t" \
        -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 60 \
        -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p \
        -b:v 900k -maxrate 900k -bufsize 900k \
        -x264-params "nal-hrd=cbr:keyint=50:min-keyint=50:scenecut=0" \
        -c:a aac -b:a 64k -ar 44100 -ac 2 -f flv "$SOURCE.tmp" && mv "$SOURCE.tmp" "$SOURCE"
fi
i=0
while [ $i -lt "$VOD_N" ]; do
    cp "$SOURCE" "$WORK/vod/f-$i.flv" # separate files: each opened, indexed, read apart
    i=$((i + 1))
done
say "$VOD_N files of $(stat -c %s "$SOURCE") bytes in $WORK/vod"

cat >"$WORK/spd.conf" <<EOF
listen = "$IP:$P_SPD"; http_listen = "$IP:$H_SPD"; log_level = "notice";
max_connections = 100000; http_max_connections = 100000;
vod = { dir = "$WORK/vod"; max_viewers = $((VOD_N + 10)); };
EOF
ulimit -n 65536 2>/dev/null
# shellcheck disable=SC2046
$(on 0) "$BUILD/spd" -c "$WORK/spd.conf" >"$LOGS/spd.log" 2>&1 &
SPD=$!
track $SPD
sleep 0.5

live() { # NAME — LIVE_N viewers of a live stream rtmpbench publishes
    # shellcheck disable=SC2046
    $(on 1) "$TOOLS/rtmpbench" -P "$SOURCE" -n "$LIVE_N" -r 200 -w "$WARMUP" -d "$DURATION" \
        --preroll 3 -p spd=$SPD -j "$OUT/vod-$1.json" "rtmp://$IP:$P_SPD/live/$1" \
        >"$OUT/vod-$1.txt" 2>&1
}

say "baseline: $LIVE_N live viewers, no files"
live live-alone
say "$VOD_N players of different files, then $LIVE_N live viewers next to them"
# shellcheck disable=SC2046
$(on 1) "$TOOLS/rtmpbench" -n "$VOD_N" -N "$VOD_N" -r 200 -w 1 -d $((DURATION + WARMUP + 8)) \
    -p spd=$SPD -j "$OUT/vod-files.json" "rtmp://$IP:$P_SPD/vod/f" >"$OUT/vod-files.txt" 2>&1 &
files=$!
track $files
sleep 3
live live-with-files
wait $files
curl -s "http://$IP:$H_SPD/metrics" | grep '^livecluster_vod' >"$OUT/vod-metrics.txt"

python3 - "$OUT" "$VOD_N" "$LIVE_N" <<'EOF' | tee "$OUT/vod.txt"
import json, sys
out, vod_n, live_n = sys.argv[1], sys.argv[2], sys.argv[3]
def load(name):
    try:
        return json.load(open("%s/vod-%s.json" % (out, name)))
    except (OSError, ValueError):
        return None
def num(x):
    return x if isinstance(x, (int, float)) else float("nan")
def row(label, r):
    if r is None:
        return "%-34s (no result)" % label
    st = r.get("start_ms", {})
    procs = {p["name"]: p for p in r.get("procs", [])}
    spd = procs.get("spd", {})
    return ("%-34s start p50 %6.1f p90 %6.1f p99 %6.1f max %7.1f ms  kept up %4d/%-4d"
            "  stalls %3d  spd %5.1f%% CPU, RSS %.0f MB") % (
        label, num(st.get("p50")), num(st.get("p90")), num(st.get("p99")), num(st.get("max")),
        r.get("kept_up", -1), r.get("players", -1), r.get("window_stalls", -1),
        100 * num(spd.get("cpu_util")), num(spd.get("rss_kb_end")) / 1024)
print("files on demand next to live viewers (one spd)")
print(row("live %s viewers, no files" % live_n, load("live-alone")))
print(row("live %s viewers, %s files playing" % (live_n, vod_n), load("live-with-files")))
print(row("%s file players (different files)" % vod_n, load("files")))
EOF

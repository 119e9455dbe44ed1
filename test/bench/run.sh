#!/bin/sh
# run.sh — `make bench`: livecluster's edge (epd, behind an spd origin) against nginx-rtmp on
# the same machine, with the same source and the same viewers, next to two "floor" servers
# that only write the same pre-chunked bytes to sockets. Prints one table and writes it as
# JSON. Benchmarks never fail on time: this script reports figures; it exits non-zero only
# when it could not run at all (missing build, no ffmpeg).
#
# Per (server, N) run, every process is started fresh on 127.0.0.1 and killed by PID after:
#   floor-message  floorsrv -m message, pulling the stream from an spd origin
#   floor-batched  floorsrv -m batched -w FLUSH_MS, pulling from an spd origin
#   spd            spd with the publisher on it, viewers on it
#   epd            epd pulling from an spd origin (the edge is warmed by one viewer first)
#   nginx          nginx-rtmp (one worker, live on, chunk_size 4096), publisher on it
# The publisher is ffmpeg -re -stream_loop -1 -c copy of the cached source (H.264 640x360
# 25 fps, 2 s GOP, ~0.9 Mbit/s + AAC 64 kbit/s). rtmpbench measures the server process
# (-p server=PID) over a window after the ramp and a warm-up.
#
# Then epd at 1000 viewers by transport (the RTMP row above, RTMPS, HTTP-FLV, HTTPS-FLV:
# what TLS costs next to the same bytes in the clear), end-to-end latency with rtmpbench
# as the publisher (flush window W vs 0), cold start through the edge, and perf profiles of
# epd at 1000 viewers (RTMP, and HTTPS-FLV).
#
# Environment (all optional):
#   BENCH_N="100 1000 3000"   viewer counts always run for every server (may be empty)
#   BENCH_N_MORE="5000 7000 9000"  then these (may be empty), per server, while it kept every viewer
#   BENCH_SERVERS="floor-message floor-batched spd epd nginx"  (also available:
#                             floor-message-nagle floor-batched-nagle: the floors without
#                             TCP_NODELAY, as nginx-rtmp runs its sockets)
#   BENCH_WINDOWS="0 50"      epd at N=1000 with these flush windows too (cost vs latency)
#   BENCH_TRANSPORTS="rtmps http https"  epd at N=1000 over these too (may be empty): RTMPS,
#                             HTTP-FLV, HTTPS-FLV (a self-signed P-256 certificate made
#                             with openssl and cached; TLS 1.3, user-space unless the
#                             kernel has kTLS)
#   BENCH_PUBLISHER=ffmpeg    or rtmpbench: its -P sends every message at its own time,
#                             where ffmpeg -re sends bursts (about one per video frame)
#   BENCH_DURATION=15 BENCH_WARMUP=3   measurement window and warm-up (s)
#   BENCH_RATE=500 BENCH_RAMP_MIN=4     connects/s, but spread over at least RAMP_MIN s (so
#                             joins fall at random points of the 2 s GOP)
#   BENCH_FLUSH_MS=20         flush_interval_ms of spd/epd and the batched floor's window
#   BENCH_SWEEP_MS=50         rtmpbench read sweep (see rtmpbench.c)
#   BENCH_PIN=1               server on CPU 0; bench, publisher, origin on CPU 1
#   BENCH_PROFILE=1           perf profile of epd (needs perf)
#   BENCH_LATENCY=1 BENCH_COLD=1
#   BENCH_QUIET=25 BENCH_QUIET_WAIT=60   before each run wait up to QUIET_WAIT s for the
#                             machine to be less than QUIET % busy (a shared CI box)
#   BENCH_RETRIES=2           re-run a measurement whose window saw other processes use
#                             more than BENCH_NOISY % of a core (default 30); the run with
#                             the least other load is kept
#   BENCH_CACHE=build/bench-cache   where the generated source is kept
#   BENCH_OUT=$BUILD/bench          results: bench.txt, bench.json, runs/*.json, logs/
set -u

BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
case $BUILD in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac # make BUILD=/elsewhere bench
N_LIST=${BENCH_N-"100 1000 3000"}
N_MORE=${BENCH_N_MORE-"5000 7000 9000"}
SERVERS=${BENCH_SERVERS:-"floor-message floor-batched spd epd nginx"}
WINDOWS=${BENCH_WINDOWS-"0 50"}
TRANSPORTS=${BENCH_TRANSPORTS-"rtmps http https"}
PUBLISHER=${BENCH_PUBLISHER:-ffmpeg}
DURATION=${BENCH_DURATION:-15}
WARMUP=${BENCH_WARMUP:-3}
RATE=${BENCH_RATE:-500}
RAMP_MIN=${BENCH_RAMP_MIN:-4}
FLUSH_MS=${BENCH_FLUSH_MS:-20}
SWEEP_MS=${BENCH_SWEEP_MS:-50}
PIN=${BENCH_PIN:-1}
PROFILE=${BENCH_PROFILE:-1}
LATENCY=${BENCH_LATENCY:-1}
COLD=${BENCH_COLD:-1}
QUIET=${BENCH_QUIET:-25}
QUIET_WAIT=${BENCH_QUIET_WAIT:-60}
RETRIES=${BENCH_RETRIES:-2}
NOISY=${BENCH_NOISY:-30}
CACHE=${BENCH_CACHE:-$ROOT/build/bench-cache}
OUT=${BENCH_OUT:-$BUILD/bench}
case $OUT in /*) ;; *) OUT="$ROOT/$OUT" ;; esac # nginx -p needs absolute paths
TOOLS="$BUILD/tools"
SOURCE="$CACHE/source-h264-aac-1mbps.flv"
CERT="$CACHE/bench-cert.pem"
CERT_KEY="$CACHE/bench-cert.key"
IP=127.0.0.1
P_ORIGIN=19701 H_ORIGIN=19702 P_SERVER=19711 H_SERVER=19712 P_TLS=19713 H_TLS=19714
NGINX_MODULE=""
PIDS=""

say() { echo "bench: $*"; }

# ---- process tracking: everything started here is killed by PID, nothing else --------

track() { PIDS="$PIDS $1"; }

stop_all() {
    for pid in $PIDS; do kill -TERM "$pid" 2>/dev/null; done
    i=0
    while [ $i -lt 30 ]; do
        alive=""
        for pid in $PIDS; do kill -0 "$pid" 2>/dev/null && alive="$alive $pid"; done
        [ -z "$alive" ] && break
        sleep 0.1
        i=$((i + 1))
    done
    for pid in $PIDS; do kill -KILL "$pid" 2>/dev/null; done
    for pid in $PIDS; do wait "$pid" 2>/dev/null; done
    PIDS=""
}
trap 'stop_all' EXIT
trap 'exit 130' INT TERM

# on CPU → "taskset -c CPU" when pinning, else nothing
on() { [ "$PIN" = 1 ] && command -v taskset >/dev/null && echo "taskset -c $1"; }

# start NAME CPU CMD... — background, log in $LOGS/NAME.log, PID in $LAST_PID
start() {
    name=$1 cpu=$2
    shift 2
    # shellcheck disable=SC2046
    $(on "$cpu") "$@" >"$LOGS/$name.log" 2>&1 &
    LAST_PID=$!
    track "$LAST_PID"
}

wait_tcp() { # HOST PORT — until something listens (10 s)
    python3 - "$1" "$2" <<'EOF'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# ---- prerequisites ----------------------------------------------------------------------

need_tools() {
    for t in rtmpbench floorsrv; do
        [ -x "$TOOLS/$t" ] || { say "missing $TOOLS/$t (run make tools)"; exit 1; }
    done
    [ -x "$BUILD/spd" ] || { say "missing $BUILD/spd"; exit 1; }
    command -v ffmpeg >/dev/null || { say "ffmpeg is required (apt-get install ffmpeg)"; exit 1; }
    command -v python3 >/dev/null || { say "python3 is required for the report"; exit 1; }
}

find_nginx_module() {
    for m in /usr/lib/nginx/modules/ngx_rtmp_module.so /usr/lib64/nginx/modules/ngx_rtmp_module.so \
             /usr/share/nginx/modules/ngx_rtmp_module.so; do
        [ -f "$m" ] && { NGINX_MODULE=$m; return 0; }
    done
    return 1
}

# nginx-light and libnginx-mod-rtmp (Debian), installed when missing and we are root.
need_nginx() {
    if command -v nginx >/dev/null && find_nginx_module; then
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        say "nginx with the RTMP module is missing and we are not root:"
        say "  apt-get install nginx-light libnginx-mod-rtmp   (nginx-rtmp is left out of the table)"
        return 1
    fi
    say "installing nginx-light libnginx-mod-rtmp"
    # Judge by what is installed afterwards: the package scripts may fail to start the
    # system nginx (no init system in a container) and make apt-get exit non-zero. The
    # system nginx, if it started, is not ours to stop; ours uses its own config and port.
    DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light libnginx-mod-rtmp \
        >"$LOGS/apt.log" 2>&1
    if ! { command -v nginx >/dev/null && find_nginx_module; }; then
        apt-get update >>"$LOGS/apt.log" 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y nginx-light libnginx-mod-rtmp \
            >>"$LOGS/apt.log" 2>&1
    fi
    command -v nginx >/dev/null && find_nginx_module && return 0
    say "could not install nginx with the RTMP module (see $LOGS/apt.log)"
    return 1
}

# The source: made with ffmpeg once, then cached.
need_source() {
    [ -s "$SOURCE" ] && return 0
    mkdir -p "$CACHE"
    say "making the source (60 s H.264 640x360 25 fps GOP 50 + AAC, ~1 Mbit/s) in $SOURCE"
    ffmpeg -hide_banner -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=640x360:rate=25,noise=alls=12:allf=t" \
        -f lavfi -i "sine=frequency=440:sample_rate=44100" -t 60 \
        -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p \
        -b:v 900k -maxrate 900k -bufsize 900k \
        -x264-params "nal-hrd=cbr:keyint=50:min-keyint=50:scenecut=0" \
        -c:a aac -b:a 64k -ar 44100 -ac 2 -f flv "$SOURCE.tmp" && mv "$SOURCE.tmp" "$SOURCE"
}

# Fraction of the machine busy over one second before we start (other jobs skew figures).
machine_busy() {
    python3 - <<'EOF'
import time
def read():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], sum(v)
b0, t0 = read(); time.sleep(1); b1, t1 = read()
print("%.0f" % (100.0 * (b1 - b0) / max(1, t1 - t0)))
EOF
}

# ---- servers ------------------------------------------------------------------------------

spd_conf() { # PORT HTTP — a standalone origin
    cat <<EOF
node_id = "bench-spd-$1"; log_level = "warning";
listen = "$IP:$1"; http_listen = "$IP:$2";
max_connections = 100000; flush_interval_ms = $FLUSH_MS;
EOF
}

epd_conf() {
    cat <<EOF
node_id = "bench-epd"; log_level = "warning";
listen = "$IP:$P_SERVER"; http_listen = "$IP:$H_SERVER"; upstream = "$IP:$P_ORIGIN";
max_connections = 100000; flush_interval_ms = $FLUSH_MS; idle_timeout = ${EPD_IDLE:-10};
http_max_connections = 100000;
EOF
    if [ -n "${EPD_TLS:-}" ]; then
        cat <<EOF
rtmps_listen = "$IP:$P_TLS"; https_listen = "$IP:$H_TLS";
tls = { cert = "$CERT"; key = "$CERT_KEY"; };
EOF
    fi
}

# The certificate of the TLS rows: self-signed, ECDSA P-256 (what certbot issues by default)
need_cert() {
    [ -s "$CERT" ] && [ -s "$CERT_KEY" ] && return 0
    mkdir -p "$CACHE"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=localhost" -addext "subjectAltName=IP:$IP,DNS:localhost" \
        -keyout "$CERT_KEY" -out "$CERT" >/dev/null 2>&1
}

nginx_conf() {
    cat <<EOF
load_module $NGINX_MODULE;
worker_processes 1;
daemon off;
master_process on;
pid $RUN/nginx.pid;
error_log $RUN/nginx-error.log warn;
worker_rlimit_nofile 100000;
events { worker_connections 100000; }
rtmp {
    server {
        listen $IP:$P_SERVER;
        chunk_size 4096;
        application live { live on; }
    }
}
EOF
}

publish() { # URL — the source, looped, at real-time pace
    if [ "$PUBLISHER" = rtmpbench ]; then
        start publisher 1 "$TOOLS/rtmpbench" -n 0 -d 0 -P "$SOURCE" "$1"
    else
        start publisher 1 ffmpeg -hide_banner -nostdin -loglevel warning -re -stream_loop -1 \
            -i "$SOURCE" -c copy -f flv "$1"
    fi
}

# live URL — until a player gets a keyframe there (the stream is up, the GOP cache filled)
wait_live() {
    i=0
    while [ $i -lt 20 ]; do
        "$TOOLS/rtmpbench" -q -n 1 -w 0 -d 0.2 -t 5 "$1" >/dev/null 2>&1 && return 0
        sleep 0.5
        i=$((i + 1))
    done
    return 1
}

# origin — an spd on CPU 1 with the publisher on it (for epd and the floors)
start_origin() {
    spd_conf $P_ORIGIN $H_ORIGIN >"$RUN/origin.conf"
    start origin 1 "$BUILD/spd" -c "$RUN/origin.conf"
    ORIGIN_PID=$LAST_PID
    wait_tcp $IP $P_ORIGIN || return 1
    publish "rtmp://$IP:$P_ORIGIN/live/bench"
    wait_live "rtmp://$IP:$P_ORIGIN/live/bench"
}

# start_server KIND — starts it (and what feeds it); sets SERVER_PID, URL, EXTRA_P
start_server() {
    EXTRA_P=""
    case $1 in
    floor-message|floor-batched|floor-message-nagle|floor-batched-nagle)
        start_origin || return 1
        mode=${1#floor-}
        mode=${mode%-nagle}
        nagle=""
        case $1 in *-nagle) nagle=-N ;; esac
        # shellcheck disable=SC2086
        start server 0 "$TOOLS/floorsrv" -l "$IP:$P_SERVER" -m "$mode" -w "$FLUSH_MS" $nagle \
            -u "rtmp://$IP:$P_ORIGIN/live/bench"
        SERVER_PID=$LAST_PID
        EXTRA_P="-p origin=$ORIGIN_PID"
        URL="raw://$IP:$P_SERVER"
        wait_tcp $IP $P_SERVER || return 1
        sleep 2.5 # a whole GOP in the floor's cache
        ;;
    spd)
        spd_conf $P_SERVER $H_SERVER >"$RUN/server.conf"
        start server 0 "$BUILD/spd" -c "$RUN/server.conf"
        SERVER_PID=$LAST_PID
        wait_tcp $IP $P_SERVER || return 1
        URL="rtmp://$IP:$P_SERVER/live/bench"
        publish "$URL"
        ;;
    epd|epd-window*|epd-rtmps|epd-http|epd-https)
        start_origin || return 1
        case $1 in epd-rtmps|epd-https) EPD_TLS=1 ;; *) EPD_TLS="" ;; esac
        epd_conf >"$RUN/server.conf"
        EPD_TLS="" # the other configs stay plain
        start server 0 "$BUILD/epd" -c "$RUN/server.conf"
        SERVER_PID=$LAST_PID
        EXTRA_P="-p origin=$ORIGIN_PID"
        wait_tcp $IP $P_SERVER || return 1
        case $1 in
        epd-rtmps) URL="rtmps://$IP:$P_TLS/live/bench" ;;
        epd-http) URL="http://$IP:$H_SERVER/live/bench.flv" ;;
        epd-https) URL="https://$IP:$H_TLS/live/bench.flv" ;;
        *) URL="rtmp://$IP:$P_SERVER/live/bench" ;;
        esac
        ;;
    nginx)
        nginx_conf >"$RUN/nginx.conf"
        start server-master 0 nginx -p "$RUN" -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf"
        master=$LAST_PID
        wait_tcp $IP $P_SERVER || return 1
        SERVER_PID=$(pgrep -P "$master" | head -1)
        [ -n "$SERVER_PID" ] || return 1
        URL="rtmp://$IP:$P_SERVER/live/bench"
        publish "$URL"
        ;;
    *)
        say "unknown server $1"
        return 1
        ;;
    esac
    wait_live "$URL"
}

# The kernel thread that runs deferred softirq work (TCP of the server's sends) on the
# server's CPU: its CPU time is part of the server's cost, but not in the server's /proc.
softirq_p() {
    [ "$PIN" = 1 ] || return 0
    k=$(pgrep -x ksoftirqd/0 | head -1)
    [ -n "$k" ] && echo "-p softirq=$k"
}

# Waits (bounded) until the machine is quiet enough to measure.
wait_quiet() {
    waited=0
    while [ "$waited" -lt "$QUIET_WAIT" ]; do
        [ "$(machine_busy)" -lt "$QUIET" ] && return 0
        waited=$((waited + 1))
    done
    say "machine still busy after ${QUIET_WAIT}s: measuring anyway"
}

# run_one KIND N — the measurement, repeated while other processes disturbed its window
# (at most RETRIES more times; the least disturbed run is kept). Returns 0 if all kept up.
run_one() {
    attempt=0 best="" best_noise=""
    json="$OUT/runs/$1-$2.json"
    while :; do
        wait_quiet
        measure_one "$1" "$2"
        noise=$(python3 "$ROOT/test/bench/report.py" noise "$json")
        if [ -z "$best" ] || [ "$noise" -lt "$best_noise" ]; then
            best_noise=$noise
            best="$json.best"
            cp "$json" "$best" 2>/dev/null || best=""
        fi
        attempt=$((attempt + 1))
        [ "$noise" -le "$NOISY" ] || [ "$attempt" -gt "$RETRIES" ] && break
        say "$1 N=$2: other processes used ${noise}% of a core in the window: measuring again"
    done
    [ -n "$best" ] && mv "$best" "$json"
    python3 "$ROOT/test/bench/report.py" line "$1" "$2" "$json"
}

# measure_one KIND N — one measurement; JSON in $OUT/runs/KIND-N.json
measure_one() {
    kind=$1 n=$2
    rate=$(awk -v n="$n" -v r="$RATE" -v m="$RAMP_MIN" 'BEGIN { x = n / m; print (x < r ? x : r) }')
    RUN="$OUT/tmp/$kind-$n"
    LOGS="$OUT/logs/$kind-$n"
    rm -rf "$RUN" "$LOGS"
    mkdir -p "$RUN" "$LOGS"
    rm -f "$json"
    if ! start_server "$kind"; then
        say "$kind did not come up for N=$n (logs in $LOGS)"
        stop_all
        return 1
    fi
    # shellcheck disable=SC2086,SC2046
    $(on 1) "$TOOLS/rtmpbench" -q -n "$n" -r "$rate" -w "$WARMUP" -d "$DURATION" -i "$SWEEP_MS" \
        -S "$SOURCE" -p "server=$SERVER_PID" $EXTRA_P $(softirq_p) -j "$json" "$URL" \
        >"$LOGS/rtmpbench.log" 2>&1
    stop_all
}

# ---- latency, cold start, profile ---------------------------------------------------------

# latency NAME PLAYURL PUBURL — rtmpbench publishes and plays (readiness reads, -i 0)
latency_one() {
    # shellcheck disable=SC2086
    $(on 1) "$TOOLS/rtmpbench" -q -n 20 -r 100 -w 2 -d 10 -i 0 -P "$SOURCE" -U "$3" \
        -j "$OUT/runs/latency-$1.json" "$2" >"$LOGS/latency-$1.log" 2>&1
    python3 "$ROOT/test/bench/report.py" latency "$1" "$OUT/runs/latency-$1.json"
}

latency_runs() {
    done_w=""
    RUN="$OUT/tmp/latency" LOGS="$OUT/logs/latency"
    mkdir -p "$RUN" "$LOGS"
    for w in "$FLUSH_MS" 0 $WINDOWS; do
        case " $done_w " in *" $w "*) continue ;; esac
        done_w="$done_w $w"
        FLUSH_MS_SAVED=$FLUSH_MS
        FLUSH_MS=$w
        spd_conf $P_SERVER $H_SERVER >"$RUN/spd.conf"
        start "spd-window$w" 0 "$BUILD/spd" -c "$RUN/spd.conf"
        wait_tcp $IP $P_SERVER && latency_one "spd-window$w" "rtmp://$IP:$P_SERVER/live/lat" \
            "rtmp://$IP:$P_SERVER/live/lat"
        stop_all
        if [ -x "$BUILD/epd" ]; then
            spd_conf $P_ORIGIN $H_ORIGIN >"$RUN/origin.conf"
            start "origin-window$w" 1 "$BUILD/spd" -c "$RUN/origin.conf"
            epd_conf >"$RUN/epd.conf"
            start "epd-window$w" 0 "$BUILD/epd" -c "$RUN/epd.conf"
            wait_tcp $IP $P_ORIGIN && wait_tcp $IP $P_SERVER &&
                latency_one "epd-window$w" "rtmp://$IP:$P_SERVER/live/lat" \
                    "rtmp://$IP:$P_ORIGIN/live/lat"
            stop_all
        fi
        FLUSH_MS=$FLUSH_MS_SAVED
    done
    if [ -n "$NGINX_MODULE" ]; then
        nginx_conf >"$RUN/nginx.conf"
        start server-master 0 nginx -p "$RUN" -e "$RUN/nginx-error.log" -c "$RUN/nginx.conf"
        wait_tcp $IP $P_SERVER && latency_one nginx "rtmp://$IP:$P_SERVER/live/lat" \
            "rtmp://$IP:$P_SERVER/live/lat"
        stop_all
    fi
}

# Cold start: nothing holds a pull (idle_timeout 0), so each player makes the edge pull.
#   edge:  epd pulls from the spd the publisher is on
#   peer:  epd pulls from spd E, which learns from smd that spd P owns the stream and pulls
#          it from P (the whole chain: docs/architecture.md decisions 5 and 7)
cold_trials() { # NAME WHAT — ten single-player runs against the edge
    files=""
    for i in 1 2 3 4 5 6 7 8 9 10; do
        f="$RUN/$1-$i.json"
        $(on 1) "$TOOLS/rtmpbench" -q -n 1 -w 0 -d 0.3 -t 10 -j "$f" \
            "rtmp://$IP:$P_SERVER/live/bench" >>"$LOGS/rtmpbench.log" 2>&1
        files="$files $f"
        sleep 1 # every pull in the chain ends when its last viewer leaves
    done
    # shellcheck disable=SC2086
    python3 "$ROOT/test/bench/report.py" cold "$OUT/runs/cold-$1.json" "$2" $files
}

cluster_spd_conf() { # NAME PORT HTTP SECRET
    printf 'node_id = "bench-spd-%s"; log_level = "warning"; cluster_secret = "%s";\n' "$1" "$4"
    printf 'listen = "%s:%s"; http_listen = "%s:%s"; advertise = "%s:%s";\n' \
        "$IP" "$2" "$IP" "$3" "$IP" "$2"
    printf 'source_managers = ( "%s:19721" ); idle_timeout = 0; flush_interval_ms = %s;\n' \
        "$IP" "$FLUSH_MS"
}

cold_runs() {
    [ -x "$BUILD/epd" ] || return 0
    RUN="$OUT/tmp/cold" LOGS="$OUT/logs/cold"
    rm -rf "$RUN" "$LOGS"
    mkdir -p "$RUN" "$LOGS"
    if start_origin; then
        EPD_IDLE=0 epd_conf >"$RUN/epd.conf"
        start server 0 "$BUILD/epd" -c "$RUN/epd.conf"
        wait_tcp $IP $P_SERVER && cold_trials edge "epd pulls from the spd the stream is published to"
    fi
    stop_all
    if [ ! -x "$BUILD/smd" ]; then
        say "no $BUILD/smd: cold start through a peer origin not measured"
        return 0
    fi
    secret="bench-$$"
    printf 'node_id = "bench-smd"; log_level = "warning"; cluster_secret = "%s";\n' "$secret" \
        >"$RUN/smd.conf"
    printf 'listen = "%s:19721"; http_listen = "%s:19722";\n' "$IP" "$IP" >>"$RUN/smd.conf"
    cluster_spd_conf P 19723 19724 "$secret" >"$RUN/spdP.conf"
    cluster_spd_conf E "$P_ORIGIN" "$H_ORIGIN" "$secret" >"$RUN/spdE.conf"
    { EPD_IDLE=0 epd_conf; printf 'cluster_secret = "%s";\n' "$secret"; } >"$RUN/epd-peer.conf"
    start smd 1 "$BUILD/smd" -c "$RUN/smd.conf"
    start spdP 1 "$BUILD/spd" -c "$RUN/spdP.conf"
    start spdE 1 "$BUILD/spd" -c "$RUN/spdE.conf"
    if wait_tcp $IP 19721 && wait_tcp $IP 19723 && wait_tcp $IP "$P_ORIGIN"; then
        publish "rtmp://$IP:19723/live/bench"
        if wait_live "rtmp://$IP:19723/live/bench"; then
            start server 0 "$BUILD/epd" -c "$RUN/epd-peer.conf"
            sleep 1 # the spds have registered with smd
            wait_tcp $IP $P_SERVER && cold_trials peer \
                "epd pulls from spd E, E from the peer spd P that has the publisher (via smd)"
        fi
    fi
    stop_all
}

# profile_epd [KIND] — epd (default) or epd-https; files $OUT/KIND-profile*.txt
profile_epd() {
    kind=${1:-epd}
    [ -x "$BUILD/epd" ] && command -v perf >/dev/null || return 0
    RUN="$OUT/tmp/profile-$kind" LOGS="$OUT/logs/profile-$kind"
    rm -rf "$RUN" "$LOGS"
    mkdir -p "$RUN" "$LOGS"
    start_server "$kind" || { stop_all; return 1; }
    $(on 1) "$TOOLS/rtmpbench" -q -n 1000 -r "$RATE" -w 3 -d 12 -S "$SOURCE" "$URL" \
        >"$LOGS/rtmpbench.log" 2>&1 &
    bench=$!
    track $bench
    sleep $((1000 / RATE + 5))
    if perf record -e cpu-clock -g -o "$RUN/perf.data" -p "$SERVER_PID" -- sleep 8 \
            >"$LOGS/perf.log" 2>&1; then
        perf report -i "$RUN/perf.data" --no-children --sort dso,symbol --stdio -g none \
            2>/dev/null | grep -v '^#' | grep '%' | awk '{ $1 = $1; print }' |
            sed 's/ - -$//' | head -40 >"$OUT/$kind-profile.txt"
        perf report -i "$RUN/perf.data" --no-children --sort dso --stdio -g none \
            2>/dev/null | grep -v '^#' | grep '%' | awk '{ $1 = $1; print }' |
            sed 's/ - -$//' | head -10 >"$OUT/$kind-profile-dso.txt"
        # inclusive, kernel paths only (user space has no frame pointers: see self times)
        perf report -i "$RUN/perf.data" --children --sort symbol --stdio -g none \
            2>/dev/null | grep -v '^#' | grep '%' | grep '\[k\]' | awk '{ $1 = $1; print }' |
            sed 's/ - -$//' | head -40 >"$OUT/$kind-profile-kernel-paths.txt"
        say "$kind profile at 1000 viewers (perf, cpu-clock), top symbols:"
        head -15 "$OUT/$kind-profile.txt" | sed 's/^/    /'
        say "by object:"
        sed 's/^/    /' "$OUT/$kind-profile-dso.txt"
    else
        say "perf record failed (see $LOGS/perf.log); no profile"
    fi
    wait $bench 2>/dev/null
    stop_all
}

# ---- main ---------------------------------------------------------------------------------

need_tools
mkdir -p "$OUT/runs" "$OUT/logs" "$OUT/tmp"
rm -f "$OUT"/runs/*.json
LOGS="$OUT/logs"
need_source || { say "cannot make the source"; exit 1; }
if need_nginx; then
    :
else
    SERVERS=$(echo "$SERVERS" | sed 's/nginx//')
fi
[ -x "$BUILD/epd" ] || {
    say "no $BUILD/epd yet: benchmarking spd directly"
    SERVERS=$(echo "$SERVERS" | sed 's/epd//')
}
ulimit -n 100000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null

busy=$(machine_busy)
say "machine: $(nproc) CPUs, $(uname -r); $busy% busy before we start"
[ "$busy" -gt 10 ] && say "WARNING: other processes use $busy% of the CPUs: figures will be noisy" &&
    ps -eo pcpu,pid,comm --sort=-pcpu | head -6 | sed 's/^/    /'
echo "$busy" >"$OUT/busy-before.txt"
say "servers: $SERVERS; viewers: $N_LIST (then $N_MORE while they hold)"
say "window ${DURATION}s after ${WARMUP}s warm-up, ramp ${RATE}/s (over >= ${RAMP_MIN}s)," \
    "flush window ${FLUSH_MS} ms," \
    "pinning $([ "$PIN" = 1 ] && echo 'server CPU 0, rest CPU 1' || echo off)"

held=""
for n in $N_LIST; do
    held="" # servers that kept every viewer at the largest N so far
    for s in $SERVERS; do
        run_one "$s" "$n" && held="$held $s"
    done
done
for n in $N_MORE; do
    still=""
    for s in $held; do
        run_one "$s" "$n" && still="$still $s"
    done
    held=$still
    [ -z "$held" ] && break
done

# The batching window's price and worth: epd at 1000 viewers with other windows.
if [ -x "$BUILD/epd" ] && [ -n "$WINDOWS" ]; then
    saved=$FLUSH_MS
    for w in $WINDOWS; do
        FLUSH_MS=$w
        run_one "epd-window$w" 1000
    done
    FLUSH_MS=$saved
fi
# What each transport costs at 1000 viewers on the edge (the RTMP row is epd's).
if [ -x "$BUILD/epd" ] && [ -n "$TRANSPORTS" ]; then
    case " $TRANSPORTS " in *" rtmps "*|*" https "*)
        need_cert || { say "cannot make the TLS certificate: no TLS rows"; \
                       TRANSPORTS=$(echo "$TRANSPORTS" | sed 's/rtmps//; s/https//'); } ;;
    esac
    for t in $TRANSPORTS; do
        run_one "epd-$t" 1000
    done
fi
[ "$LATENCY" = 1 ] && latency_runs
[ "$COLD" = 1 ] && cold_runs
[ "$PROFILE" = 1 ] && profile_epd epd
[ "$PROFILE" = 1 ] && case " $TRANSPORTS " in *" https "*) profile_epd epd-https ;; esac

python3 "$ROOT/test/bench/report.py" table "$OUT" \
    --meta "flush_ms=$FLUSH_MS" "duration_s=$DURATION" "warmup_s=$WARMUP" "rate=$RATE" \
    "ramp_min_s=$RAMP_MIN" "sweep_ms=$SWEEP_MS" "pin=$PIN" "publisher=$PUBLISHER" "busy_before=$busy" "cpus=$(nproc)" \
    "kernel=$(uname -r)" "source=$(basename "$SOURCE")" | tee "$OUT/bench.txt"
say "table: $OUT/bench.txt; JSON: $OUT/bench.json"
exit 0

#!/bin/sh
# smdload.sh — what smd's cluster view costs (docs/performance.md "smd: the cluster view"):
# one smd, then test/bench/smdload's fake nodes reporting to it, for each configuration
# below; prints smd's CPU (share of one core, from /proc) and RSS, and checks that smd's
# livecluster_cluster_viewers equals the sum the nodes hold. Figures only: it fails only
# when it cannot run, or when smd's sum is wrong.
#
#   SMDLOAD_RUNS="50:2000:0.1 50:2000:1"   NODES:STREAMS:CHANGED per run
#   SMDLOAD_SECONDS=30 SMDLOAD_WARMUP=5    measurement window and warm-up
#   SMDLOAD_INTERVAL_MS=1000               smd's report_interval_ms
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
RUNS=${SMDLOAD_RUNS:-"50:2000:0.1 50:2000:1"}
SECS=${SMDLOAD_SECONDS:-30}
WARM=${SMDLOAD_WARMUP:-5}
INTERVAL=${SMDLOAD_INTERVAL_MS:-1000}
IP=127.0.0.1
[ -x "$BUILD/smd" ] && [ -x "$BUILD/tools/smdload" ] || { echo "smdload.sh: make all tools first" >&2; exit 2; }
dir=$(mktemp -d)
smd_pid=""
trap '[ -n "$smd_pid" ] && kill "$smd_pid" 2>/dev/null; rm -rf "$dir"' EXIT
status=0
for run in $RUNS; do
    nodes=${run%%:*}; rest=${run#*:}; streams=${rest%%:*}; changed=${rest#*:}
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    hport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$dir/smd.conf" <<CONF
node_id = "smd-bench"; listen = "$IP:$port"; http_listen = "$IP:$hport"; log_level = "warning";
report_interval_ms = $INTERVAL; max_connections = $((nodes + 100)); max_report_streams = $((streams + 1000));
CONF
    "$BUILD/smd" -c "$dir/smd.conf" >"$dir/smd.log" 2>&1 &
    smd_pid=$!
    sleep 0.5
    echo "== $nodes nodes x $streams streams, $(python3 -c "print(round($changed*100))")% of them changing per report, every $INTERVAL ms"
    "$BUILD/tools/smdload" -n "$nodes" -s "$streams" -f "$changed" -t "$SECS" -w "$WARM" -k 5 \
        -p "$smd_pid" "$IP:$port" >"$dir/out.txt" 2>"$dir/err.txt" &
    load=$!
    # smd's sum, read while the nodes hold still (after "viewers-final")
    i=0
    while ! grep -q '^viewers-final' "$dir/out.txt" && [ $i -lt $((SECS + WARM + 30)) ]; do
        sleep 1; i=$((i + 1))
    done
    want=$(sed -n 's/^viewers-final //p' "$dir/out.txt")
    got=$(curl -sf "http://$IP:$hport/metrics" | awk '$1 == "livecluster_cluster_viewers" { print $2 }')
    wait $load || status=1
    grep -v '^viewers-final' "$dir/out.txt"
    if [ -n "$want" ] && [ "$want" = "$got" ]; then
        echo "smd's livecluster_cluster_viewers $got = the nodes' sum"
    else
        echo "smd's livecluster_cluster_viewers '$got', the nodes hold '$want': WRONG"
        status=1
    fi
    sed 's/^/  smdload: /' "$dir/err.txt" | head -5
    kill "$smd_pid"; wait "$smd_pid" 2>/dev/null; smd_pid=""
done
exit $status

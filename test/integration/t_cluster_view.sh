#!/bin/sh
# The cluster-wide view (docs/interface.md "Cluster-wide view"): smd + spd A + spd B + epd 1
# (upstream A) + epd 2 (upstream B), every node reporting to smd. Real viewers on both
# edges and on an origin, RTMP and HTTP-FLV, one stream crossing origins. Within 5 s smd's
# /api/v1/streams (viewers, ?detail=1), /api/v1/nodes (roles, health), /api/v1/cluster and
# /metrics (livecluster_cluster_*) agree with what the viewers are doing; internal pulls
# are never viewers and never plays. SIGKILL of an edge: its viewers leave the sums and
# it leaves the nodes within lease_seconds, the counters stay. SIGSTOP of the other edge:
# gone once silent for lease_seconds. A node of protocol version 2 (smdctl -V 2) still
# registers and is listed, as an spd that does not report. Then the contrib files: the
# Grafana dashboard is valid JSON and every metric it uses is in some daemon's /metrics
# (scraped from this cluster); the Prometheus config is valid YAML with the three jobs.
. "$(dirname "$0")/lib.sh"
lc_init cluster_view

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
A="$LC_IP:$(lc_port 2)";    A_HTTP="$LC_IP:$(lc_port 3)"
B="$LC_IP:$(lc_port 4)";    B_HTTP="$LC_IP:$(lc_port 5)"
E1="$LC_IP:$(lc_port 6)";   E1_HTTP="$LC_IP:$(lc_port 7)"
E2="$LC_IP:$(lc_port 8)";   E2_HTTP="$LC_IP:$(lc_port 9)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
SMDCTL="$LC_ROOT/$BUILD/tools/smdctl"
SECRET="view-test-secret"
LEASE=4

# The new keys are checked by -t: FILE:LINE: message, exit 1.
t_refused() { # DAEMON CONFIG-TEXT PATTERN
    printf '%s\n' "$2" >"$LC_DIR/bad.conf"
    out=$("$LC_ROOT/$BUILD/$1" -t -c "$LC_DIR/bad.conf" 2>&1)
    rc=$?
    echo "$out"
    [ $rc -eq 1 ] && echo "$out" | grep -Eq "^$LC_DIR/bad.conf:[0-9]+: .*$3"
}
lc_check "-t: smd report_interval_ms below 250 is refused" \
    t_refused smd 'node_id = "s"; report_interval_ms = 100;' report_interval_ms
lc_check "-t: smd report_interval_ms above 2500 (viewers must stay 5 s fresh) is refused" \
    t_refused smd 'node_id = "s"; report_interval_ms = 5000;' report_interval_ms
lc_check "-t: smd max_report_streams 0 is refused" \
    t_refused smd 'node_id = "s"; max_report_streams = 0;' max_report_streams
lc_check "-t: epd source_managers must be addresses" \
    t_refused epd 'upstream = "127.0.0.1:1935"; source_managers = ( "nohostport" );' source_managers
lc_check "-t: epd advertise must be a peer address" \
    t_refused epd 'upstream = "127.0.0.1:1935"; advertise = "*:1935";' advertise
printf 'upstream = "127.0.0.1:1935"; source_managers = ( "127.0.0.1:7935" ); advertise = "e.example.net:1935";\n' >"$LC_DIR/ok.conf"
"$LC_ROOT/$BUILD/epd" -t -c "$LC_DIR/ok.conf" >/dev/null 2>&1
lc_expect "-t: an epd with source_managers and advertise is valid" $?

lc_start smd smd "node_id = \"smd-1\"; listen = \"$SMD\"; http_listen = \"$SMD_HTTP\";
cluster_secret = \"$SECRET\"; lease_seconds = $LEASE; report_interval_ms = 500;" || exit 1
for n in A B; do
    eval "rtmp=\$$n; http=\$${n}_HTTP"
    lc_start spd "spd$n" "node_id = \"sp-$n\"; listen = \"$rtmp\"; http_listen = \"$http\";
cluster_secret = \"$SECRET\"; advertise = \"$rtmp\"; source_managers = ( \"$SMD\" );" || exit 1
done
lc_start epd epd1 "node_id = \"ep-1\"; listen = \"$E1\"; http_listen = \"$E1_HTTP\";
upstream = \"$A\"; cluster_secret = \"$SECRET\"; source_managers = ( \"$SMD\" );" || exit 1
lc_start epd epd2 "node_id = \"ep-2\"; listen = \"$E2\"; http_listen = \"$E2_HTTP\";
upstream = \"$B\"; cluster_secret = \"$SECRET\"; source_managers = ( \"$SMD\" );
advertise = \"edge-2.example.net:1935\";" || exit 1

# ---- helpers: read smd's view ----

# view_check [detail] PYTHON-CONDITION — fetches smd's streams (?detail=1 with "detail"),
# nodes, cluster and metrics, and evaluates the condition with them as s (id → entry),
# n (node_id → entry), c (cluster), m (metric sample → value). Prints what it saw.
view_check() {
    q=""
    if [ "$1" = detail ]; then q="?detail=1"; shift; fi
    curl -sf --max-time 2 "http://$SMD_HTTP/api/v1/streams$q" >"$LC_DIR/v_streams.json" &&
        curl -sf --max-time 2 "http://$SMD_HTTP/api/v1/nodes" >"$LC_DIR/v_nodes.json" &&
        curl -sf --max-time 2 "http://$SMD_HTTP/api/v1/cluster" >"$LC_DIR/v_cluster.json" &&
        curl -sf --max-time 2 "http://$SMD_HTTP/metrics" >"$LC_DIR/v_metrics.txt" || return 1
    python3 - "$LC_DIR" "$1" <<'PY'
import json, sys
d, cond = sys.argv[1], sys.argv[2]
s = {e["id"]: e for e in json.load(open(d + "/v_streams.json"))["streams"]}
n = {e["node_id"]: e for e in json.load(open(d + "/v_nodes.json"))["nodes"]}
c = json.load(open(d + "/v_cluster.json"))
m = {}
for line in open(d + "/v_metrics.txt"):
    if line and not line.startswith("#"):
        k, _, v = line.rstrip("\n").rpartition(" ")
        m[k] = float(v)
def split(i):
    return {x["node_id"]: x["viewers"] for x in s.get(i, {}).get("nodes", []) if x["viewers"]}
ok = eval(cond)
print("streams:", {k: v.get("viewers") for k, v in s.items()},
      "split:", {k: split(k) for k in s} if any("nodes" in v for v in s.values()) else "-",
      "nodes:", {k: (v.get("role"), (v.get("health") or {}).get("viewers")) for k, v in n.items()},
      "cluster viewers:", c["viewers"], "metric viewers:", m.get("livecluster_cluster_viewers"),
      "plays:", m.get("livecluster_cluster_play_requests_total"))
sys.exit(0 if ok else 1)
PY
}

# wait_view SECONDS [detail] CONDITION — until the view satisfies the condition.
wait_view() {
    secs=$1
    shift
    lc_wait_until "$secs" view_check "$@" >"$LC_DIR/view.out" 2>&1 && { cat "$LC_DIR/view.out"; return 0; }
    view_check "$@"
    return 1
}

metric() { lc_metric "$SMD_HTTP" "$1"; }

# ---- a cluster with viewers ----

lc_publish pubA "rtmp://$A/live/one"
lc_publish pubB "rtmp://$B/live/two"
lc_check "live/one is live on A" lc_wait_live "$A_HTTP" live/one 10
lc_check "live/two is live on B" lc_wait_live "$B_HTTP" live/two 10
lc_check "every node reports: 2 spd and 2 epd in smd's view" \
    wait_view 10 'c["nodes"] == {"spd": 2, "epd": 2} and all(x.get("fresh") for x in n.values())'

# Viewers: 3 on edge 1 (live/one), 2 on edge 2 (live/one: edge 2 → B → A, a chain of
# internal pulls), 2 on edge 2 (live/two), 1 on origin A (live/one), 1 HTTP-FLV on edge 1
# (live/two): live/one 6, live/two 3, 9 in all, 9 plays by viewers.
"$LCPLAY" -c 3 -t 120 "rtmp://$E1/live/one" >"$LC_DIR/v_e1.out" 2>&1 &
e1v=$!; lc_track $e1v
"$LCPLAY" -c 2 -t 120 "rtmp://$E2/live/one" >"$LC_DIR/v_e2one.out" 2>&1 &
e2one=$!; lc_track $e2one
"$LCPLAY" -c 2 -t 120 "rtmp://$E2/live/two" >"$LC_DIR/v_e2two.out" 2>&1 &
e2two=$!; lc_track $e2two
"$LCPLAY" -c 1 -t 120 "rtmp://$A/live/one" >"$LC_DIR/v_a.out" 2>&1 &
av=$!; lc_track $av
curl -s -o /dev/null --max-time 120 "http://$E1_HTTP/live/two.flv" &
flv=$!; lc_track $flv
viewers_up() {
    [ "$(lc_stream_field "$E1_HTTP" live/one viewers)" = 3 ] &&
        [ "$(lc_stream_field "$E2_HTTP" live/one viewers)" = 2 ] &&
        [ "$(lc_stream_field "$E2_HTTP" live/two viewers)" = 2 ] &&
        [ "$(lc_stream_field "$E1_HTTP" live/two viewers)" = 1 ]
}
lc_check "the viewers are playing on their nodes" lc_wait_until 20 viewers_up
start=$(date +%s)
lc_check "within 5 s: /api/v1/streams viewers 6 and 3, summed over every node" \
    wait_view 5 's["live/one"]["viewers"] == 6 and s["live/two"]["viewers"] == 3'
took=$(( $(date +%s) - start ))
lc_log "      (took ${took}s after the nodes' own APIs showed the viewers)"
lc_check "?detail=1 splits per node (internal pulls are no viewers: B has none of live/one)" \
    wait_view 5 detail 'split("live/one") == {"ep-1": 3, "ep-2": 2, "sp-A": 1} and split("live/two") == {"ep-2": 2, "ep-1": 1}'
lc_check "/metrics: livecluster_cluster_viewers 9, nodes by role, plays by viewers only" \
    wait_view 5 'm["livecluster_cluster_viewers"] == 9 and m["livecluster_cluster_nodes{role=\"spd\"}"] == 2 and m["livecluster_cluster_nodes{role=\"epd\"}"] == 2 and m["livecluster_cluster_play_requests_total"] == 9'
lc_check "/api/v1/cluster agrees: viewers 9, busiest stream live/one with 6" \
    wait_view 5 'c["viewers"] == 9 and c["top"][0] == {"id": "live/one", "viewers": 6} and c["play_requests"] == 9'
lc_check "time to first frame: every viewer counted, in the cluster histogram and per node" \
    wait_view 5 'm["livecluster_cluster_play_start_seconds_count"] == 9 and m["livecluster_cluster_play_start_seconds_bucket{le=\"+Inf\"}"] == 9'
e1_starts=$(lc_metric "$E1_HTTP" livecluster_play_start_seconds_count)
[ "$e1_starts" = 4 ]
lc_expect "edge 1 exports its own livecluster_play_start_seconds (4 viewers: $e1_starts)" $?
lc_check "/api/v1/nodes: roles, health, the edges' upstreams and addresses" \
    wait_view 5 "n['sp-A']['role'] == 'spd' and n['ep-1']['role'] == 'epd' and n['ep-1']['health']['upstream'] == '$A' and n['ep-2']['health']['upstream'] == '$B' and n['ep-2']['advertise'] == 'edge-2.example.net:1935' and n['ep-1']['health']['viewers'] == 4 and n['sp-A']['health']['connections'] >= 2 and n['ep-1']['health']['rss_bytes'] > 0 and n['ep-1']['last_report'] > 0"
lc_check "existing fields stay: origin and owner of each stream, advertise and streams of each spd" \
    wait_view 5 "s['live/one']['origin'] == '$A' and s['live/one']['node_id'] == 'sp-A' and n['sp-B']['streams'] == 1 and n['sp-A']['advertise'] == '$A'"

# A node of protocol version 2 (an spd from before reports): registers, is listed, reports
# nothing; its stream shows 0 viewers.
"$SMDCTL" -s "$SECRET" -V 2 -n sp-old -a "$LC_IP:1" "$SMD" hello register live/legacy \
    sleep 6000 >"$LC_DIR/old.out" 2>&1 &
old=$!; lc_track $old
lc_check "a version-2 spd still registers and is listed (role spd, reports false)" \
    wait_view 5 's["live/legacy"]["viewers"] == 0 and n["sp-old"]["role"] == "spd" and n["sp-old"]["reports"] is False and n["sp-old"]["health"] is None'

# ---- a node dies ----

plays_before=$(metric livecluster_cluster_play_requests_total)
kill -9 "$epd1_pid"
start=$(date +%s)
lc_check "SIGKILL of edge 1: its 4 viewers leave the sums and it leaves the nodes within lease_seconds" \
    wait_view $LEASE 's["live/one"]["viewers"] == 3 and s["live/two"]["viewers"] == 2 and m["livecluster_cluster_viewers"] == 5 and "ep-1" not in n and c["nodes"]["epd"] == 1 and c["viewers"] == 5'
lc_log "      (took $(( $(date +%s) - start ))s)"
plays_after=$(metric livecluster_cluster_play_requests_total)
[ "${plays_after%.*}" -ge "${plays_before%.*}" ]
lc_expect "its counters stay in the cluster's totals ($plays_before → $plays_after)" $?

# Edge 2 stops (no FIN: its session is silent): gone after lease_seconds.
kill -STOP "$epd2_pid"
start=$(date +%s)
lc_check "SIGSTOP of edge 2: gone from the nodes and the sums once silent for lease_seconds" \
    wait_view $((LEASE + 3)) '"ep-2" not in n and c["nodes"]["epd"] == 0 and s["live/one"]["viewers"] == 1 and m["livecluster_cluster_viewers"] == 1'
lc_log "      (took $(( $(date +%s) - start ))s; lease_seconds $LEASE)"
kill -CONT "$epd2_pid"

# ---- contrib: the dashboard uses exactly metrics the daemons export ----

for http in "$SMD_HTTP" "$A_HTTP" "$B_HTTP" "$E2_HTTP"; do
    curl -sf --max-time 2 "http://$http/metrics"
done >"$LC_DIR/all_metrics.txt"
python3 - "$LC_ROOT/contrib/grafana-dashboard.json" "$LC_DIR/all_metrics.txt" <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
samples = set()
for line in open(sys.argv[2]):
    if line.startswith("livecluster_"):
        samples.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
used = set()
def walk(p):
    for t in p.get("targets", []):
        used.update(re.findall(r"\blivecluster_[a-z0-9_]+", t["expr"]))
    for q in p.get("panels", []):
        walk(q)
for p in dash["panels"]:
    walk(p)
missing = sorted(used - samples)
print("dashboard uses %d metrics: %s" % (len(used), " ".join(sorted(used))))
assert dash["title"] and dash["panels"], "no panels"
assert not missing, "not exported by any daemon: %s" % missing
assert {"livecluster_cluster_viewers", "livecluster_cluster_nodes",
        "livecluster_cluster_play_requests_total", "livecluster_cluster_play_failures_total",
        "livecluster_cluster_play_start_seconds_bucket"} <= used, "a cluster metric is not shown"
PY
lc_expect "contrib/grafana-dashboard.json is valid JSON and uses only metrics the daemons export" $?
python3 - "$LC_ROOT/contrib/prometheus.yml" <<'PY'
import sys
try:
    import yaml
except ImportError:
    print("python3-yaml missing: only the job names are checked")
    text = open(sys.argv[1]).read()
    assert all("job_name: %s" % j in text for j in ("smd", "spd", "epd"))
    sys.exit(0)
conf = yaml.safe_load(open(sys.argv[1]))
jobs = {j["job_name"]: j for j in conf["scrape_configs"]}
assert set(jobs) == {"smd", "spd", "epd"}, jobs.keys()
for j in jobs.values():
    assert j.get("metrics_path", "/metrics") == "/metrics"
    assert j["static_configs"][0]["targets"]
PY
lc_expect "contrib/prometheus.yml is valid YAML with the smd, spd and epd jobs" $?

for n in epd2 spdA spdB smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

#!/bin/sh
# spd HTTP side and waiting/limits (docs/interface.md "HTTP API", "Streams and URLs").
#  - Viewers (RTMP and HTTP-FLV) that arrive before the publisher wait and start when it
#    arrives.
#  - /api/v1/health and /api/v1/streams fields; /metrics in Prometheus text format with
#    the contract's names; unknown paths → 404 JSON {"error":…}.
#  - HTTP-FLV of a stream that never starts → 404 after play_wait_timeout.
#  - max_connections: RTMP and HTTP-FLV clients over the bound are refused (closed at
#    once / 503) and logged; after the others leave, viewers are served again.
. "$(dirname "$0")/lib.sh"
lc_init spd_http

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
HOST=${RTMP%:*}
PORT=${RTMP#*:}
WAIT=5
MAXC=4
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"info\";
node_id = \"sp-http\"; play_wait_timeout = $WAIT; max_connections = $MAXC;" || exit 1
URL="rtmp://$RTMP/live/later"

# ---- viewers waiting for the publisher ----
"$LC_TOOLS/lcplay" -k 2 -t 20 "$URL" >"$LC_DIR/waiting.out" 2>&1 &
waiting_pid=$!
lc_track $waiting_pid
curl -s --max-time 8 -o "$LC_DIR/waiting.flv" "http://$HTTP/live/later.flv" &
curl_pid=$!
lc_track $curl_pid
both_waiting() {
    lc_stream_is "$HTTP" live/later viewers 2 && lc_stream_is "$HTTP" live/later live false
}
lc_check "both viewers wait on the stream that is not live yet" lc_wait_until 5 both_waiting
lc_lcpub pub -t 60 "$URL" "$LC_FIXTURE"
wait $waiting_pid
lc_expect "an RTMP viewer that arrived first starts when the publisher arrives" $?
tail -2 "$LC_DIR/waiting.out" | sed 's/^/        /'
wait $curl_pid
lc_check "an HTTP-FLV viewer that arrived first gets the stream" lc_probe_ok "$LC_DIR/waiting.flv"

# ---- API ----
api_health() {
    curl -sf "http://$HTTP/api/v1/health" | python3 -c '
import json, sys
h = json.load(sys.stdin); print(h)
ok = (h["status"] == "ok" and h["role"] == "spd" and h["node_id"] == "sp-http" and
      isinstance(h["version"], str) and h["version"] and isinstance(h["uptime_s"], int))
sys.exit(0 if ok else 1)'
}
lc_check "/api/v1/health" api_health

"$LC_TOOLS/lcplay" -k 100000 -t 30 "$URL" >"$LC_DIR/viewer.out" 2>&1 &
viewer_pid=$!
lc_track $viewer_pid
api_streams() {
    curl -sf "http://$HTTP/api/v1/streams" >"$LC_DIR/streams.json" &&
    python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["streams"]; print(s)
e = [x for x in s if x["id"] == "live/later"][0]
ok = (e["source"] == "publisher" and e["viewers"] == 1 and e["video_codec"] == "h264" and
      e["audio_codec"] == "aac" and e["bytes_in"] > 0 and e["bytes_out"] > 0 and
      e["kbps_in"] > 0 and isinstance(e["uptime_s"], int) and len(s) == 1)
sys.exit(0 if ok else 1)' "$LC_DIR/streams.json"
}
lc_check "/api/v1/streams: id, source, viewers, bytes, kbps, codecs, uptime" \
    lc_wait_until 10 api_streams

metrics_ok() {
    curl -sf -D "$LC_DIR/metrics.hdr" "http://$HTTP/metrics" >"$LC_DIR/metrics.txt" || return 1
    grep -qi '^content-type: text/plain' "$LC_DIR/metrics.hdr" || return 1
    python3 - "$LC_DIR/metrics.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.eE+]+)$')
names, typed, bad = {}, set(), []
for line in text.splitlines():
    if line.startswith("# TYPE "):
        typed.add(line.split()[2])
        continue
    if line.startswith("#") or not line:
        continue
    m = sample.match(line)
    if not m or not m.group(1).startswith("livecluster_"):
        bad.append(line)
        continue
    names.setdefault(m.group(1), []).append((m.group(2) or "", float(m.group(4))))
want = ["livecluster_connections", "livecluster_streams", "livecluster_viewers",
        "livecluster_play_requests_total", "livecluster_play_failures_total",
        "livecluster_publish_requests_total", "livecluster_publish_failures_total",
        "livecluster_bytes_in_total", "livecluster_bytes_out_total"]
missing = [n for n in want if n not in names or n not in typed]
reasons = {l for l, _ in names.get("livecluster_play_failures_total", [])}
print("bad lines:", bad, "missing:", missing)
v = lambda n: names[n][0][1]
ok = (not bad and not missing and 'reason="not_found"' in "".join(reasons) and
      v("livecluster_streams") == 1 and v("livecluster_viewers") == 1 and
      v("livecluster_connections") == 2 and v("livecluster_play_requests_total") >= 3 and
      v("livecluster_publish_requests_total") == 1 and v("livecluster_bytes_in_total") > 0 and
      v("livecluster_bytes_out_total") > 0)
sys.exit(0 if ok else 1)
EOF
}
lc_check "/metrics: Prometheus text, livecluster_ names, contract names and live values" metrics_ok

not_found_json() {
    code=$(curl -s -o "$LC_DIR/404.json" -w '%{http_code}' "http://$HTTP$1")
    cat "$LC_DIR/404.json"
    [ "$code" = 404 ] &&
        python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); sys.exit(0 if isinstance(e.get("error"), str) else 1)' \
            "$LC_DIR/404.json"
}
lc_check "unknown path → 404 JSON {\"error\":…}" not_found_json /nope
lc_check "unknown API path → 404 JSON" not_found_json /api/v1/nodes
lc_check "bad HTTP-FLV id → 404 JSON" not_found_json /live/..%2Fx.flv
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$HTTP/api/v1/health")
[ "$code" = 405 ]
lc_expect "POST → 405 (got $code)" $?

# ---- viewers that give up while waiting ----
curl -s -o /dev/null --max-time 1 "http://$HTTP/live/gone.flv"
"$LC_TOOLS/lcplay" -t 1 "rtmp://$RTMP/live/gone" >/dev/null 2>&1
gone_freed() {
    lc_wait_until 5 lc_stream_is "$HTTP" live/gone id "" && return 0
    echo "live/gone still listed"
    return 1
}
lc_check "viewers leaving while waiting: the stream they waited on is freed" gone_freed
lc_check "... and spd is fine" lc_alive spd

# ---- HTTP-FLV of a stream that never starts ----
t0=$(date +%s)
code=$(curl -s -o "$LC_DIR/nf.json" -w '%{http_code}' --max-time 20 "http://$HTTP/live/never.flv")
t1=$(date +%s)
[ "$code" = 404 ] && [ $((t1 - t0)) -ge $((WAIT - 1)) ]
lc_expect "HTTP-FLV of a stream that never starts → 404 after play_wait_timeout (${WAIT}s; took $((t1 - t0))s)" $?
grep -q '"error"' "$LC_DIR/nf.json"
lc_expect "... with a JSON error body" $?

# ---- max_connections ----
# In use now: the publisher and the viewer. Fill the rest with idle handshaken clients.
for i in $(seq 3 $MAXC); do
    python3 "$LC_RAW" "$HOST" "$PORT" hold --wait 10 >"$LC_DIR/hold$i.out" 2>&1 &
    eval "hold${i}_pid=$!"
    lc_track $!
done
holds_in() { [ "$(lc_metric "$HTTP" livecluster_connections)" = "$MAXC" ]; }
lc_check "$MAXC connections open" lc_wait_until 10 holds_in
refused_now() {
    out=$(python3 "$LC_RAW" "$HOST" "$PORT" connect --wait 3)
    echo "$out"
    echo "$out" | grep -q 'closed=1'
}
lc_check "one more RTMP client is closed at once" refused_now
lc_check "... and logged" lc_log_has spd "refused: max_connections \\($MAXC\\) reached"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$HTTP/live/later.flv")
[ "$code" = 503 ]
lc_expect "one more HTTP-FLV viewer → 503 (got $code)" $?
n=$(lc_metric "$HTTP" livecluster_connections_refused_total)
[ "$n" -ge 2 ]
lc_expect "metrics: refusals counted ($n)" $?
for i in $(seq 3 $MAXC); do
    eval "kill \$hold${i}_pid"
done
kill -TERM $viewer_pid
wait $viewer_pid
lc_expect "the viewer admitted before the limit was reached played on" $?
lc_check "after the others left, a new viewer is served" "$LC_TOOLS/lcplay" -k 2 -t 15 "$URL"

lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

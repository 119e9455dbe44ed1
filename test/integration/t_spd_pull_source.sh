#!/bin/sh
# Pulled sources (spd `pull`): spd X, fed by ffmpeg, stands in for an external RTMP server.
# In a cluster (smd, spd A, spd C), A keeps X's stream live as its local stream live/cam:
#   - A plays it continuously without viewers, registers it with smd as its own, and C
#     (another origin) serves it to a viewer through the registry;
#   - X restarts (killed, then back with a new publisher): A's source survives and pulls
#     again, and the viewer on C resumes (one gap, video after it) without reconnecting;
#   - a local publisher of live/cam on A is refused (BadName);
#   - A pushes its pulled source like a publisher's stream (push to X's app "back");
#   - SIGHUP: a removed source stops (and is unregistered), a new one starts;
#   - -t reports a duplicate id as FILE:LINE.
. "$(dirname "$0")/lib.sh"
lc_init spd_pull_source

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
A="$LC_IP:$(lc_port 2)";    A_HTTP="$LC_IP:$(lc_port 3)"
C="$LC_IP:$(lc_port 4)";    C_HTTP="$LC_IP:$(lc_port 5)"
X="$LC_IP:$(lc_port 6)";    X_HTTP="$LC_IP:$(lc_port 7)"
SECRET="cluster-secret"
X_CONF="listen = \"$X\"; http_listen = \"$X_HTTP\"; play_wait_timeout = 30;"

lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";" || exit 1
lc_start spd spdX "$X_CONF" || exit 1
lc_publish pubX "rtmp://$X/live/ext"
lc_check "the external stream is live on X" lc_wait_live "$X_HTTP" live/ext 10
A_BASE="node_id = \"sp-A\"; listen = \"$A\"; http_listen = \"$A_HTTP\";
cluster_secret = \"$SECRET\"; advertise = \"$A\"; source_managers = ( \"$SMD\" );
log_level = \"debug\"; pull_retry_max = 1;
push = ( { app = \"live\"; url = \"rtmp://$X/back\"; } );"
lc_start spd spdA "$A_BASE
pull = ( { id = \"live/cam\"; url = \"rtmp://$X/live/ext?from=a\"; } );" || exit 1
lc_start spd spdC "node_id = \"sp-C\"; listen = \"$C\"; http_listen = \"$C_HTTP\";
cluster_secret = \"$SECRET\"; advertise = \"$C\"; source_managers = ( \"$SMD\" );
log_level = \"debug\";" || exit 1

# pull_field HTTP ID FIELD — one field of a stream's "pull" object ("" when absent).
pull_field() {
    curl -sf --max-time 2 "http://$1/api/v1/streams" 2>/dev/null | python3 -c '
import json, sys
want, field = sys.argv[1:3]
for s in json.load(sys.stdin)["streams"]:
    if s["id"] == want and "pull" in s:
        print(s["pull"].get(field, ""))
' "$2" "$3" 2>/dev/null
}
pull_is() { [ "$(pull_field "$1" "$2" "$3")" = "$4" ]; }

lc_check "A's pulled source is live" lc_wait_live "$A_HTTP" live/cam 10
lc_check "... with its URL (no query) and state" sh -c "
    [ \"\$(curl -sf http://$A_HTTP/api/v1/streams | python3 -c '
import json, sys
s = [s for s in json.load(sys.stdin)[\"streams\"] if s[\"id\"] == \"live/cam\"][0]
print(s[\"source\"], s[\"pull\"][\"url\"], s[\"pull\"][\"state\"])')\" = \"publisher rtmp://$X/live/ext live\" ]"
owner() { [ "$(lc_stream_field "$SMD_HTTP" live/cam node_id)" = sp-A ]; }
lc_check "smd names A as live/cam's owner" lc_wait_until 10 owner
b1=$(lc_stream_field "$A_HTTP" live/cam bytes_in)
sleep 2
b2=$(lc_stream_field "$A_HTTP" live/cam bytes_in)
[ "${b2:-0}" -gt "${b1:-0}" ] && lc_stream_is "$A_HTTP" live/cam viewers 0
lc_expect "played continuously without viewers (bytes_in $b1 -> $b2, 0 viewers)" $?
lc_check "A pushes its pulled source (X has back/cam)" lc_wait_live "$X_HTTP" back/cam 10
lc_check "a viewer on C decodes live/cam (C pulls it from A)" lc_probe_ok "rtmp://$C/live/cam"

# A viewer on C stays through the external server's restart.
"$LC_TOOLS/lcplay" -g 1 -t 25 "rtmp://$C/live/cam" >"$LC_DIR/viewer.out" 2>&1 &
viewer=$!
lc_track $viewer
sleep 3
kill -KILL "$pubX_pid" "$spdX_pid"
wait "$pubX_pid" "$spdX_pid" 2>/dev/null
lc_check "X gone: A's source is not live" lc_wait_until 10 lc_stream_is "$A_HTTP" live/cam live false
lc_check "... and A still has the stream and its source" pull_is "$A_HTTP" live/cam url "rtmp://$X/live/ext"
sleep 2
lc_start spd spdX "$X_CONF" || exit 1
lc_publish pubX "rtmp://$X/live/ext"
lc_check "X back: A's source is live again (reconnects 1)" \
    lc_wait_until 15 pull_is "$A_HTTP" live/cam reconnects 1
lc_check "... state live" pull_is "$A_HTTP" live/cam state live
wait $viewer
lc_expect "the viewer on C resumed after the gap, without reconnecting" $?
sed 's/^/        /' "$LC_DIR/viewer.out"
lc_check "smd still names A" owner
lc_check "a new viewer on C decodes" lc_probe_ok "rtmp://$C/live/cam"
r=$(lc_metric "$A_HTTP" livecluster_pulled_source_reconnects_total)
l=$(lc_metric "$A_HTTP" livecluster_pulled_sources_live)
[ "$r" = 1 ] && [ "$l" = 1 ]
lc_expect "metrics: 1 reconnect, 1 live ($r, $l)" $?

# The id is the pulled source's: a local publisher is refused.
"$LC_TOOLS/lcpub" -x -t 5 "rtmp://$A/live/cam" >"$LC_DIR/dup.out" 2>&1
lc_check "a local publish of live/cam on A is refused with BadName" \
    lc_has "$LC_DIR/dup.out" "status error NetStream.Publish.BadName"

# SIGHUP: live/cam removed, live/cam2 added (the same external stream).
printf '%s\n' "$A_BASE
pull = ( { id = \"live/cam2\"; url = \"rtmp://$X/live/ext\"; } );" >"$LC_DIR/spdA.conf"
kill -HUP "$spdA_pid"
lc_check "reload: the new source is live" lc_wait_live "$A_HTTP" live/cam2 10
owner2() { [ "$(lc_stream_field "$SMD_HTTP" live/cam2 node_id)" = sp-A ]; }
lc_check "reload: ... and registered" lc_wait_until 10 owner2
unregistered() { lc_stream_is "$SMD_HTTP" live/cam id ""; }
lc_check "reload: the removed source is unregistered" lc_wait_until 10 unregistered
lc_check "reload: ... and gone from A" lc_wait_until 10 lc_stream_is "$A_HTTP" live/cam id ""
lc_check "reload: livecluster_pulled_sources 1" sh -c \
    "[ \"\$(curl -sf http://$A_HTTP/metrics | awk '\$1 == \"livecluster_pulled_sources\" {print \$2}')\" = 1 ]"

# -t: a duplicate id is one FILE:LINE error.
printf 'listen = "%s";\npull = ( { id = "live/a"; url = "rtmp://%s/live/x"; },\n  { id = "live/a"; url = "rtmp://%s/live/y"; } );\n' \
    "$A" "$X" "$X" >"$LC_DIR/bad.conf"
out=$("$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/bad.conf" 2>&1)
[ "$out" = "$LC_DIR/bad.conf:3: 'pull[1].id': duplicate id \"live/a\" (also pull[0])" ]
lc_expect "-t: $out" $?

for n in spdA spdC spdX smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

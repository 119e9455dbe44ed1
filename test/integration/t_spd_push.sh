#!/bin/sh
# Push relays (spd `push`): spd B stands in for an external service (YouTube, Twitch, another
# server) and takes publishers only with a token. spd A pushes every stream of app "live"
# to rtmp://B/relay/NAME with the token in `args`, and to rtmp://B/noauth/NAME without one.
#   - ffmpeg publishes to A; a viewer on B decodes the pushed stream; A lists the push
#     (URL without query, state, bytes) and does not count it as a viewer; the push
#     without a token is refused by B and counted as reason="unauthorized";
#   - B frozen (SIGSTOP: no FIN, no RST, no answers) is noticed within push_timeout and
#     the push publishes again once B thaws;
#   - B killed and restarted: the push reconnects and a viewer on B decodes again;
#   - a stream A pulled from a peer origin (C) is never pushed;
#   - SIGHUP: a removed entry's push ends, a new one starts, a kept one goes on untouched,
#     and max_pushes holds one more back;
#   - the publisher stops: A's pushes end (B's stream goes), livecluster_pushes 0;
#   - -t reports a bad push entry as FILE:LINE.
. "$(dirname "$0")/lib.sh"
lc_init spd_push

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
A="$LC_IP:$(lc_port 2)";    A_HTTP="$LC_IP:$(lc_port 3)"
B="$LC_IP:$(lc_port 4)";    B_HTTP="$LC_IP:$(lc_port 5)"
C="$LC_IP:$(lc_port 6)";    C_HTTP="$LC_IP:$(lc_port 7)"
SECRET="cluster-secret"
PUBSECRET="service-key"

exp=$(( $(date +%s) + 3600 ))
tok=$(printf '%s' "relay/cam:$exp" | openssl dgst -sha256 -hmac "$PUBSECRET" | awk '{print $NF}')
tok2=$(printf '%s' "relay2/cam:$exp" | openssl dgst -sha256 -hmac "$PUBSECRET" | awk '{print $NF}')

B_CONF="listen = \"$B\"; http_listen = \"$B_HTTP\"; publish = { secret = \"$PUBSECRET\"; };"
lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";" || exit 1
lc_start spd spdB "$B_CONF" || exit 1
A_BASE="node_id = \"sp-A\"; listen = \"$A\"; http_listen = \"$A_HTTP\";
cluster_secret = \"$SECRET\"; advertise = \"$A\"; source_managers = ( \"$SMD\" );
log_level = \"debug\"; push_retry_max = 1; push_timeout = 3;"
lc_start spd spdA "$A_BASE
push = ( { app = \"live\"; url = \"rtmp://$B/relay\"; args = \"expires=$exp&token=$tok\"; },
         { app = \"live\"; url = \"rtmp://$B/noauth/\"; } );" || exit 1
lc_start spd spdC "node_id = \"sp-C\"; listen = \"$C\"; http_listen = \"$C_HTTP\";
cluster_secret = \"$SECRET\"; advertise = \"$C\"; source_managers = ( \"$SMD\" );" || exit 1

# push_field HTTP ID URL FIELD — one field of a stream's push ("" when absent).
push_field() {
    curl -sf --max-time 2 "http://$1/api/v1/streams" 2>/dev/null | python3 -c '
import json, sys
want, url, field = sys.argv[1:4]
for s in json.load(sys.stdin)["streams"]:
    if s["id"] == want:
        for p in s.get("pushes", []):
            if p["url"] == url:
                print(p.get(field, ""))
' "$2" "$3" "$4" 2>/dev/null
}
push_is() { [ "$(push_field "$1" "$2" "$3" "$4")" = "$5" ]; }
RELAY="rtmp://$B/relay/cam"
NOAUTH="rtmp://$B/noauth/cam"

lc_publish pub "rtmp://$A/live/cam?local=secret"
lc_check "A's stream is live" lc_wait_live "$A_HTTP" live/cam 10
lc_check "the push to B publishes (state live)" lc_wait_until 10 push_is "$A_HTTP" live/cam "$RELAY" state live
lc_check "B has relay/cam live" lc_wait_live "$B_HTTP" relay/cam 10
lc_check "a viewer on B decodes the pushed stream" lc_probe_ok "$RELAY"
bytes=$(push_field "$A_HTTP" live/cam "$RELAY" bytes)
[ "${bytes:-0}" -gt 10000 ]
lc_expect "A reports the push's bytes ($bytes)" $?
lc_check "the push is not a viewer of A" lc_stream_is "$A_HTTP" live/cam viewers 0
refused() {
    [ "$(lc_metric "$A_HTTP" 'livecluster_push_failures_total{reason="unauthorized"}')" -ge 1 ] &&
        ! push_is "$A_HTTP" live/cam "$NOAUTH" state live
}
lc_check "the push without a token is refused (reason unauthorized), not live" \
    lc_wait_until 10 refused
lc_check "B never had noauth/cam" lc_stream_is "$B_HTTP" noauth/cam id ""
lc_check "metrics: 2 pushes, 1 publishing" sh -c "
    [ \"\$(curl -sf http://$A_HTTP/metrics | awk '\$1 == \"livecluster_pushes\" {print \$2}')\" = 2 ] &&
    [ \"\$(curl -sf http://$A_HTTP/metrics | awk '\$1 == \"livecluster_pushes_live\" {print \$2}')\" = 1 ]"

# A frozen target: no FIN, no RST, no answer to pings. Lost within push_timeout (3 s).
kill -STOP "$spdB_pid"
lc_check "a frozen target is lost within push_timeout" \
    lc_wait_log spdA "push live/cam to $RELAY failed \(upstream\): no answer from the target" 8
kill -CONT "$spdB_pid"
lc_check "after B thaws the push publishes again (reconnects 1)" \
    lc_wait_until 15 push_is "$A_HTTP" live/cam "$RELAY" reconnects 1
lc_check "... state live" lc_wait_until 10 push_is "$A_HTTP" live/cam "$RELAY" state live

# The target dies and comes back.
kill -KILL "$spdB_pid"
wait "$spdB_pid" 2>/dev/null
not_live() { ! push_is "$A_HTTP" live/cam "$RELAY" state live; }
lc_check "B killed: the push is retrying" lc_wait_until 10 not_live
sleep 2
lc_start spd spdB "$B_CONF" || exit 1
lc_check "B restarted: the push reconnects (reconnects 2)" \
    lc_wait_until 15 push_is "$A_HTTP" live/cam "$RELAY" reconnects 2
lc_check "B has relay/cam live again" lc_wait_live "$B_HTTP" relay/cam 10
lc_check "a viewer on B decodes again" lc_probe_ok "$RELAY"
r=$(lc_metric "$A_HTTP" livecluster_push_reconnects_total)
[ "${r:-0}" -ge 2 ]
lc_expect "livecluster_push_reconnects_total counts them ($r)" $?

# Only the owner pushes: C owns live/peer; A pulls it for a viewer and never pushes it.
started_before=$(lc_metric "$A_HTTP" livecluster_pushes_started_total)
lc_publish pubC "rtmp://$C/live/peer"
lc_check "C's stream is live" lc_wait_live "$C_HTTP" live/peer 10
"$LC_TOOLS/lcplay" -k 2 -t 15 "rtmp://$A/live/peer" >"$LC_DIR/peerview.out" 2>&1 &
peerview=$!
lc_track $peerview
lc_check "A pulls live/peer from C (source peer)" lc_wait_until 10 lc_stream_is "$A_HTTP" live/peer source peer
sleep 2
lc_check "A lists no push for the pulled stream" sh -c "
    curl -sf http://$A_HTTP/api/v1/streams | python3 -c '
import json, sys
s = [s for s in json.load(sys.stdin)[\"streams\"] if s[\"id\"] == \"live/peer\"]
sys.exit(0 if s and \"pushes\" not in s[0] else 1)'"
lc_check "B never had relay/peer" lc_stream_is "$B_HTTP" relay/peer id ""
[ "$(lc_metric "$A_HTTP" livecluster_pushes_started_total)" = "$started_before" ]
lc_expect "no push was started for it" $?
wait $peerview
lc_expect "the viewer on A decoded the pulled stream" $?

# SIGHUP: noauth removed, relay kept, relay2 added, relay3 over max_pushes.
printf '%s\n' "$A_BASE max_pushes = 2;
push = ( { app = \"live\"; url = \"rtmp://$B/relay\"; args = \"expires=$exp&token=$tok\"; },
         { app = \"live\"; url = \"rtmp://$B/relay2\"; args = \"expires=$exp&token=$tok2\"; },
         { app = \"live\"; url = \"rtmp://$B/relay3\"; } );" >"$LC_DIR/spdA.conf"
kill -HUP "$spdA_pid"
lc_check "reload: the removed entry's push ends" lc_wait_log spdA \
    "push live/cam to $NOAUTH: stopped \(removed from the configuration\)" 5
lc_check "reload: the new entry's push publishes" lc_wait_live "$B_HTTP" relay2/cam 10
lc_check "reload: max_pushes holds the third back" lc_wait_log spdA \
    "push live/cam to rtmp://$B/relay3 not started: max_pushes \(2\) reached" 5
lc_check "reload: the kept push went on (live, reconnects still 2)" sh -c "
    [ \"\$(curl -sf http://$A_HTTP/api/v1/streams | python3 -c '
import json, sys
s = [s for s in json.load(sys.stdin)[\"streams\"] if s[\"id\"] == \"live/cam\"][0]
print(sorted((p[\"url\"].rsplit(\"/\", 2)[1], p[\"reconnects\"]) for p in s[\"pushes\"]))')\" = \"[('relay', 2), ('relay2', 0)]\" ]"
lim=$(lc_metric "$A_HTTP" 'livecluster_push_failures_total{reason="limit"}')
[ "${lim:-0}" -ge 1 ]
lc_expect "livecluster_push_failures_total{reason=\"limit\"} counts it ($lim)" $?

# The publisher stops: the pushes end with it.
kill "$pub_pid"
wait "$pub_pid" 2>/dev/null
lc_check "A logs the push's end" lc_wait_log spdA "push live/cam to $RELAY: stopped \(the stream ended\)" 10
gone() { lc_stream_is "$B_HTTP" relay/cam live "" || lc_stream_is "$B_HTTP" relay/cam live false; }
lc_check "B's pushed stream ends" lc_wait_until 10 gone
lc_check "livecluster_pushes 0" lc_wait_until 5 sh -c \
    "[ \"\$(curl -sf http://$A_HTTP/metrics | awk '\$1 == \"livecluster_pushes\" {print \$2}')\" = 0 ]"

# -t: a bad push entry is one FILE:LINE error.
printf 'listen = "%s";\npush = ( { app = "live";\n  url = "http://%s/x"; } );\n' "$A" "$B" >"$LC_DIR/bad.conf"
out=$("$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/bad.conf" 2>&1)
[ "$out" = "$LC_DIR/bad.conf:3: 'push[0].url': bad URL \"http://$B/x\": must start with rtmp://" ]
lc_expect "-t: $out" $?

for n in spdA spdB spdC smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

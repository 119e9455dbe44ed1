#!/bin/sh
# The three tiers: smd + spd A + spd B + epd (upstream A). A stream published to B plays on
# the edge (edge pulls from A, A pulls from B through the registry); many edge viewers are
# one pull on A; a viewer waiting on the edge gets its first frame within 1 s of
# Publish.Start on B; a duplicate publish on A is refused while B's viewers carry on; the
# pulls close idle_timeout after the last viewer.
. "$(dirname "$0")/lib.sh"
lc_init cluster_crossorigin

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
A="$LC_IP:$(lc_port 2)";    A_HTTP="$LC_IP:$(lc_port 3)"
B="$LC_IP:$(lc_port 4)";    B_HTTP="$LC_IP:$(lc_port 5)"
E="$LC_IP:$(lc_port 6)";    E_HTTP="$LC_IP:$(lc_port 7)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
SECRET="cluster-test-secret"

lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";" || exit 1
for n in A B; do
    eval "rtmp=\$$n; http=\$${n}_HTTP"
    lc_start spd "spd$n" "node_id = \"sp-$n\"; listen = \"$rtmp\"; http_listen = \"$http\";
cluster_secret = \"$SECRET\"; advertise = \"$rtmp\"; source_managers = ( \"$SMD\" );
idle_timeout = 2; log_level = \"debug\";" || exit 1
done
lc_start epd epd "node_id = \"ep-1\"; listen = \"$E\"; http_listen = \"$E_HTTP\";
upstream = \"$A\"; cluster_secret = \"$SECRET\"; idle_timeout = 2; log_level = \"debug\";" || exit 1

lc_publish pubB "rtmp://$B/live/cross"
lc_check "B's stream is live" lc_wait_live "$B_HTTP" live/cross 10
owner() { [ "$(lc_stream_field "$SMD_HTTP" live/cross node_id)" = sp-B ]; }
lc_check "smd names B as the owner" owner
lc_check "ffprobe on the edge decodes the stream published to B" lc_probe_ok "rtmp://$E/live/cross"

"$LCPLAY" -c 20 -t 8 "rtmp://$E/live/cross" >"$LC_DIR/twenty.out" 2>&1 &
twenty=$!
lc_track $twenty
sleep 4
ev=$(lc_stream_field "$E_HTTP" live/cross viewers)
av=$(lc_stream_field "$A_HTTP" live/cross viewers)
as=$(lc_stream_field "$A_HTTP" live/cross source)
bv=$(lc_stream_field "$B_HTTP" live/cross viewers)
[ "$ev" = 20 ] && [ "$av" = 1 ] && [ "$as" = peer ] && [ "$bv" = 1 ]
lc_expect "20 edge viewers: edge 20, A 1 (source peer), B 1 (got $ev, $av/$as, $bv)" $?

# A second publisher of the live id, on the other origin: refused; viewers unaffected.
"$LC_ROOT/$BUILD/tools/lcpub" -x -t 8 "rtmp://$A/live/cross" >"$LC_DIR/dup.out" 2>&1
grep -q "status error NetStream.Publish.BadName" "$LC_DIR/dup.out"
lc_expect "a duplicate publish on A is refused with NetStream.Publish.BadName" $?
wait $twenty
lc_expect "all 20 edge viewers decoded, undisturbed by the duplicate" $?
tail -1 "$LC_DIR/twenty.out"
[ "$(lc_stream_field "$SMD_HTTP" live/cross node_id)" = sp-B ]
lc_expect "B still owns the stream" $?

# Idle teardown along the chain: edge pull, then A's pull from B.
gone() {
    lc_stream_is "$E_HTTP" live/cross id "" && lc_stream_is "$A_HTTP" live/cross id "" &&
        lc_stream_is "$B_HTTP" live/cross viewers 0
}
lc_check "pulls close within idle_timeout (+ slack) at every tier" lc_wait_until 8 gone

# A viewer waiting on the edge for an id nobody publishes yet; then B publishes it.
"$LCPLAY" -k 1 -t 20 "rtmp://$E/live/later" >"$LC_DIR/later.out" 2>&1 &
later=$!
lc_track $later
sleep 3
lc_publish pubB2 "rtmp://$B/live/later"
wait $later
lc_expect "the waiting edge viewer started" $?
first=$(sed -n 's/.*first_key_at=\([0-9]*\).*/\1/p' "$LC_DIR/later.out" | head -1)
start=$(python3 - "$LC_DIR/spdB.log" <<'PY'
import datetime, re, sys
for line in open(sys.argv[1]):
    m = re.match(r'(\S+)Z spd \w+: .*publish live/later started', line)
    if m:
        t = datetime.datetime.fromisoformat(m.group(1) + '+00:00').timestamp()
        print(int(t * 1000)); break
PY
)
delay=$(( ${first:-0} - ${start:-0} ))
[ -n "$first" ] && [ -n "$start" ] && [ "$delay" -le 1000 ]
lc_expect "first frame on the edge within 1 s of Publish.Start on B (took ${delay} ms)" $?

for n in epd spdA spdB smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

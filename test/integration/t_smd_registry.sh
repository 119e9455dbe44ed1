#!/bin/sh
# smd with scripted registry clients (smdctl, raw protocol): -t; registration and the
# API listing; a duplicate refused while the owner's publisher is active; a watch told of
# a registration; takeover of an idle owner (generation grows, the old owner is revoked);
# an unregister with the old generation ignored; an unknown command answered; metrics;
# SIGHUP keeps sessions (and an invalid file keeps the old config); SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
lc_init smd_registry

REG="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
SECRET=reg-secret
SMDCTL="$LC_ROOT/$BUILD/tools/smdctl"
CONF="node_id = \"sm-1\"; listen = \"$REG\"; http_listen = \"$HTTP\";
cluster_secret = \"$SECRET\"; log_level = \"debug\"; lease_seconds = 10;"

ctl() { "$SMDCTL" -s "$SECRET" "$@"; }

# ---- -t ----
printf '%s\n' "$CONF" >"$LC_DIR/good.conf"
"$LC_ROOT/$BUILD/smd" -t -c "$LC_DIR/good.conf" >/dev/null 2>&1
lc_expect "-t accepts a valid config" $?
printf 'node_id = "sm-1";\nlease_seconds = 1;\n' >"$LC_DIR/bad.conf"
out=$("$LC_ROOT/$BUILD/smd" -t -c "$LC_DIR/bad.conf" 2>&1)
rc=$?
[ $rc -eq 1 ] && echo "$out" | grep -q "bad.conf:2: 'lease_seconds' must be between 2 and 3600"
lc_expect "-t refuses lease_seconds = 1 with FILE:LINE (got: $out)" $?
printf 'node_id = "has space";\n' >"$LC_DIR/bad2.conf"
"$LC_ROOT/$BUILD/smd" -t -c "$LC_DIR/bad2.conf" 2>&1 | grep -q "'node_id' must be"
lc_expect "-t refuses a node_id the protocol cannot carry" $?

lc_start smd smd "$CONF" || exit 1

# ---- registration and listing ----
ctl -n sp-a -a 127.0.0.1:1935 "$REG" hello register live/a 1700000000 watch live/w \
    sleep 9000 unregister live/a last >"$LC_DIR/A.out" 2>&1 &
A_pid=$!
lc_track $A_pid
lc_check "A: hello, register, watch" lc_wait_file "$LC_DIR/A.out" "^watch live/w ok" 10
[ "$(lc_stream_field "$HTTP" live/a node_id)" = sp-a ] &&
    [ "$(lc_stream_field "$HTTP" live/a origin)" = 127.0.0.1:1935 ] &&
    [ "$(lc_stream_field "$HTTP" live/a since)" = 1700000000 ]
lc_expect "/api/v1/streams lists live/a: origin 127.0.0.1:1935, node sp-a, since as announced" $?
curl -sf "http://$HTTP/api/v1/nodes" | python3 -c '
import json, sys
nodes = json.load(sys.stdin)["nodes"]
assert [(n["node_id"], n["advertise"], n["streams"]) for n in nodes] == [("sp-a", "127.0.0.1:1935", 1)], nodes
assert nodes[0]["since"] > 1700000000
'
lc_expect "/api/v1/nodes lists sp-a with 1 stream" $?

# ---- a duplicate is refused while the owner's publisher is active ----
ctl -n sp-b -a 127.0.0.2:1935 -T 5000 "$REG" hello register live/a >"$LC_DIR/B1.out" 2>&1
grep -q "^register live/a error Busy sp-a 127.0.0.1:1935$" "$LC_DIR/B1.out"
lc_expect "B: duplicate register refused Busy, naming the owner" $?
grep -q "^event probe live/a idle$" "$LC_DIR/A.out"
lc_expect "A was probed for its publisher's idleness" $?
[ "$(lc_stream_field "$HTTP" live/a node_id)" = sp-a ]
lc_expect "live/a still owned by sp-a" $?

# ---- watches ----
ctl -n sp-c -a 127.0.0.3:1935 "$REG" hello register live/w lookup live/a lookup live/none \
    >"$LC_DIR/C.out" 2>&1
grep -q "^lookup live/a ok 127.0.0.1:1935 sp-a [0-9]*$" "$LC_DIR/C.out" &&
    grep -q "^lookup live/none error NotFound$" "$LC_DIR/C.out"
lc_expect "lookup answers the owner, NotFound for an unknown id" $?
lc_check "A (watching live/w) is told of sp-c's registration" \
    lc_wait_file "$LC_DIR/A.out" "^event registered live/w 127.0.0.3:1935 sp-c [0-9]+$" 5
lc_check "live/w vanished with sp-c's session" lc_wait_owner "$HTTP" live/w "" 5

# ---- takeover: B will take over anything idle for >= 0 ms ----
ctl -n sp-b -a 127.0.0.2:1935 -T 0 "$REG" hello register live/a sleep 300 lookup live/a \
    sleep 30000 >"$LC_DIR/B2.out" 2>&1 &
lc_track $!
lc_check "B takes live/a over" lc_wait_file "$LC_DIR/B2.out" "^lookup live/a ok 127.0.0.2:1935 sp-b" 10
lc_check "A is revoked" lc_wait_file "$LC_DIR/A.out" "^event revoked live/a [0-9]+$" 5
gen_a=$(sed -n 's/^register live\/a ok \([0-9]*\)$/\1/p' "$LC_DIR/A.out")
gen_b=$(sed -n 's/^register live\/a ok \([0-9]*\)$/\1/p' "$LC_DIR/B2.out")
revoked=$(sed -n 's/^event revoked live\/a \([0-9]*\)$/\1/p' "$LC_DIR/A.out")
[ -n "$gen_a" ] && [ -n "$gen_b" ] && [ "$gen_b" -gt "$gen_a" ] && [ "$revoked" = "$gen_a" ]
lc_expect "generation grows ($gen_a -> $gen_b); revoked carries the old one ($revoked)" $?
lc_check "API lists live/a owned by sp-b" lc_wait_owner "$HTTP" live/a sp-b 3
lc_log_has smd "live/a: taken over by sp-b from sp-a \(owner idle"
lc_expect "the takeover is logged" $?

# ---- the old owner's unregister (old generation) is ignored ----
lc_check "A's unregister with its old generation is answered Stale" \
    lc_wait_file "$LC_DIR/A.out" "^unregister live/a error Stale$" 12
[ "$(lc_stream_field "$HTTP" live/a node_id)" = sp-b ]
lc_expect "live/a still owned by sp-b" $?
wait $A_pid
lc_expect "A ran every step" $?

# ---- unknown command, unregister with the current generation ----
ctl -n sp-d -a 127.0.0.4:1935 "$REG" hello unknown register live/d unregister live/d last \
    lookup live/d >"$LC_DIR/D.out" 2>&1
grep -q "^unknown error Unsupported$" "$LC_DIR/D.out" &&
    grep -q "^unregister live/d ok$" "$LC_DIR/D.out" &&
    grep -q "^lookup live/d error NotFound$" "$LC_DIR/D.out"
lc_expect "unknown command answered Unsupported; unregister with the current generation works" $?

# ---- metrics ----
metrics=$(curl -sf "http://$HTTP/metrics")
for want in 'livecluster_smd_nodes 1' 'livecluster_smd_takeovers_total 1' \
    'livecluster_smd_refusals_total{reason="busy"} 1' 'livecluster_smd_conflicts_total 2' \
    'livecluster_smd_revocations_total 1' 'livecluster_smd_unregistrations_total{result="stale"} 1' \
    'livecluster_smd_lookups_total{result="not_found"} 2' 'livecluster_smd_probes_total 2' \
    'livecluster_smd_notifications_total 1'; do
    echo "$metrics" | grep -qxF "$want"
    lc_expect "metrics: $want" $?
done

# ---- SIGHUP keeps sessions; an invalid file keeps the old config ----
ctl -n sp-e -a 127.0.0.5:1935 "$REG" hello register live/e sleep 1500 lookup live/e \
    >"$LC_DIR/E.out" 2>&1 &
E_pid=$!
lc_track $E_pid
lc_wait_file "$LC_DIR/E.out" "^register live/e ok" 5 >/dev/null
printf '%s\nlease_seconds = 20;\n' "$(echo "$CONF" | sed 's/lease_seconds = 10;//')" \
    >"$LC_DIR/smd.conf"
kill -HUP "$smd_pid"
lc_check "SIGHUP: configuration reloaded" lc_wait_file "$LC_DIR/smd.log" "configuration reloaded" 5
wait $E_pid
grep -q "^lookup live/e ok" "$LC_DIR/E.out" && ! grep -q "^closed" "$LC_DIR/E.out"
lc_expect "a session survives SIGHUP" $?
ctl -n sp-f -a 127.0.0.6:1935 "$REG" hello >"$LC_DIR/F.out" 2>&1
grep -q "^hello ok sm-1 lease 20$" "$LC_DIR/F.out"
lc_expect "the reloaded lease_seconds is in force" $?
printf 'lease_seconds = "x";\n' >"$LC_DIR/smd.conf"
kill -HUP "$smd_pid"
lc_check "invalid reload logged, old config kept" \
    lc_wait_file "$LC_DIR/smd.log" "reload failed: keeping the running configuration" 5
ctl -n sp-f -a 127.0.0.6:1935 "$REG" hello >"$LC_DIR/F2.out" 2>&1
grep -q "^hello ok sm-1 lease 20$" "$LC_DIR/F2.out"
lc_expect "still serving with the old config" $?

lc_stop smd
lc_expect "SIGTERM: smd exits 0" $?
lc_done

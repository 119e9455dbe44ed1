#!/bin/sh
# Failures are normal: two registries and two origins, edges in front.
#  - smd killed with SIGKILL and restarted: playing viewers never notice; the registry lists
#    every stream again within 3 s; new viewers on another edge find a stream through it.
#  - one of two smd killed for good: publishing and cross-origin play still work.
#  - spd B killed: its streams leave the registry; the publisher re-publishes on A; a viewer
#    that stayed connected on the edge resumes.
. "$(dirname "$0")/lib.sh"
lc_init cluster_failover

S1="$LC_IP:$(lc_port 0)";   S1_HTTP="$LC_IP:$(lc_port 1)"
S2="$LC_IP:$(lc_port 2)";   S2_HTTP="$LC_IP:$(lc_port 3)"
A="$LC_IP:$(lc_port 4)";    A_HTTP="$LC_IP:$(lc_port 5)"
B="$LC_IP:$(lc_port 6)";    B_HTTP="$LC_IP:$(lc_port 7)"
E1="$LC_IP:$(lc_port 8)";   E1_HTTP="$LC_IP:$(lc_port 9)"
E2="$LC_IP:$(lc_port 10)";  E2_HTTP="$LC_IP:$(lc_port 11)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
SECRET="failover-secret"
SMD1_CONF="listen = \"$S1\"; http_listen = \"$S1_HTTP\"; cluster_secret = \"$SECRET\"; lease_seconds = 3;"

lc_start smd smd1 "$SMD1_CONF" || exit 1
lc_start smd smd2 "listen = \"$S2\"; http_listen = \"$S2_HTTP\"; cluster_secret = \"$SECRET\"; lease_seconds = 3;" || exit 1
for n in A B; do
    eval "rtmp=\$$n; http=\$${n}_HTTP"
    lc_start spd "spd$n" "node_id = \"sp-$n\"; listen = \"$rtmp\"; http_listen = \"$http\";
cluster_secret = \"$SECRET\"; advertise = \"$rtmp\"; source_managers = ( \"$S1\", \"$S2\" );
pull_retry_max = 1; log_level = \"debug\";" || exit 1
done
for n in E1 E2; do
    eval "rtmp=\$$n; http=\$${n}_HTTP"
    lc_start epd "epd$n" "listen = \"$rtmp\"; http_listen = \"$http\"; upstream = \"$A\";
cluster_secret = \"$SECRET\"; pull_retry_max = 1;" || exit 1
done

lc_publish pub1 "rtmp://$B/live/f1"
lc_publish pub2 "rtmp://$B/live/f2"
lc_wait_owner "$S1_HTTP" live/f1 sp-B 10 && lc_wait_owner "$S2_HTTP" live/f2 sp-B 10
lc_expect "both registries list live/f1 and live/f2 on sp-B" $?

# Viewers on edge 1 (through A, pulling from B) for the whole test.
"$LCPLAY" -t 12 -p 80 "rtmp://$E1/live/f1" >"$LC_DIR/steady.out" 2>&1 &
steady=$!
lc_track $steady
"$LCPLAY" -g 1 -k 2 -t 60 "rtmp://$E1/live/f1" >"$LC_DIR/survivor.out" 2>&1 &
survivor=$!
lc_track $survivor
sleep 3

# smd 1: SIGKILL and restart. Nothing on disk: the origins re-announce.
kill -9 "$smd1_pid"
sleep 1
t0=$(date +%s%N)
lc_start smd smd1 "$SMD1_CONF" || exit 1
lc_wait_owner "$S1_HTTP" live/f1 sp-B 5 && lc_wait_owner "$S1_HTTP" live/f2 sp-B 5
lc_expect "restarted smd lists every stream again within 3 s ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" $?
lc_check "a new viewer on another edge finds a stream through the registry" \
    lc_probe_ok "rtmp://$E2/live/f2"
wait $steady
lc_expect "playing viewers never noticed (real-time pace kept)" $?
grep -q " gaps=0 " "$LC_DIR/steady.out"
lc_expect "... and saw no gap at all" $?

# smd 2 gone for good: publishing and cross-origin play still work.
kill -9 "$smd2_pid"
lc_publish pub3 "rtmp://$B/live/f3"
lc_check "with one registry down, a new stream on B plays on an edge of A" \
    lc_probe_ok "rtmp://$E2/live/f3"

# spd B dies. Its streams leave the registry (the session closes; at worst the lease).
kill -9 "$spdB_pid" "$pub1_pid" "$pub2_pid" "$pub3_pid"
lc_check "B's streams leave the registry within the lease" \
    lc_wait_until 6 lc_stream_is "$S1_HTTP" live/f1 id ""
sleep 2 # the encoder takes a moment to notice and reconnect: a real outage for viewers
lc_publish pub1 "rtmp://$A/live/f1"
wait $survivor
lc_expect "the edge viewer stayed connected and resumed when the stream came back on A" $?
head -1 "$LC_DIR/survivor.out"

for n in epdE1 epdE2 spdA smd1; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

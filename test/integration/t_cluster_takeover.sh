#!/bin/sh
# The "stream busy after reconnect" trap: an encoder's connection to origin A dies
# silently (the process is frozen, its socket stays open) and it re-publishes on origin B.
# After publish_takeover_idle the registry lets B take over, A drops its stale publisher,
# and a viewer on the edge (upstream A) follows the stream to B.
. "$(dirname "$0")/lib.sh"
lc_init cluster_takeover

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
A="$LC_IP:$(lc_port 2)";    A_HTTP="$LC_IP:$(lc_port 3)"
B="$LC_IP:$(lc_port 4)";    B_HTTP="$LC_IP:$(lc_port 5)"
E="$LC_IP:$(lc_port 6)";    E_HTTP="$LC_IP:$(lc_port 7)"
SECRET="takeover-secret"

lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";" || exit 1
for n in A B; do
    eval "rtmp=\$$n; http=\$${n}_HTTP"
    lc_start spd "spd$n" "node_id = \"sp-$n\"; listen = \"$rtmp\"; http_listen = \"$http\";
cluster_secret = \"$SECRET\"; advertise = \"$rtmp\"; source_managers = ( \"$SMD\" );
publish_takeover_idle = 2; pull_retry_max = 1; log_level = \"debug\";" || exit 1
done
lc_start epd epd "listen = \"$E\"; http_listen = \"$E_HTTP\"; upstream = \"$A\";
cluster_secret = \"$SECRET\"; pull_retry_max = 1;" || exit 1

lc_publish enc "rtmp://$A/live/tk"
lc_check "live on A" lc_wait_live "$A_HTTP" live/tk 10

"$LC_ROOT/$BUILD/tools/lcplay" -g 1 -k 2 -t 40 "rtmp://$E/live/tk" >"$LC_DIR/viewer.out" 2>&1 &
viewer=$!
lc_track $viewer
sleep 3

# The encoder freezes: its TCP connection to A stays open but carries nothing.
kill -STOP "$enc_pid"
sleep 3   # > publish_takeover_idle
lc_publish enc2 "rtmp://$B/live/tk"
lc_check "B took the stream over in the registry" lc_wait_owner "$SMD_HTTP" live/tk sp-B 10
lc_check "A dropped its stale publisher (logged)" lc_wait_log spdA 'taken over' 1
wait $viewer
lc_expect "the edge viewer followed the stream to B (gap, then frames, timestamps increasing)" $?
head -1 "$LC_DIR/viewer.out"
kill -CONT "$enc_pid" 2>/dev/null
kill "$enc_pid" 2>/dev/null

for n in epd spdA spdB smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

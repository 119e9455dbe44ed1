#!/bin/sh
# The everyday takeover, in a cluster: an encoder's connection to spd1 goes silent (the
# process is frozen, its socket stays open) and it reconnects to the SAME spd1. After
# publish_takeover_idle the new publisher takes over locally — and the id must stay
# registered to spd1 (the kick of the stale publisher used to release the registration
# the new one had just reused: smd listed nothing, peers got NotFound, and a second origin
# accepted a second publisher). So: smd lists the id owned by spd1, spd2 refuses a
# publisher of it with Publish.BadName, and a viewer on spd2 gets it pulled from spd1.
. "$(dirname "$0")/lib.sh"
lc_init cluster_local_takeover

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
S1="$LC_IP:$(lc_port 2)";   S1_HTTP="$LC_IP:$(lc_port 3)"
S2="$LC_IP:$(lc_port 4)";   S2_HTTP="$LC_IP:$(lc_port 5)"
SECRET="local-takeover-secret"
ID=live/lt

lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";" || exit 1
for n in 1 2; do
    eval "rtmp=\$S$n; http=\$S${n}_HTTP"
    lc_start spd "spd$n" "node_id = \"sp-$n\"; listen = \"$rtmp\"; http_listen = \"$http\";
cluster_secret = \"$SECRET\"; advertise = \"$rtmp\"; source_managers = ( \"$SMD\" );
publish_takeover_idle = 2; pull_retry_max = 1; log_level = \"debug\";" || exit 1
done

lc_publish encA "rtmp://$S1/$ID"
lc_check "A is live on spd1" lc_wait_live "$S1_HTTP" "$ID" 10
lc_check "smd: $ID owned by sp-1" lc_wait_owner "$SMD_HTTP" "$ID" sp-1 10

# A freezes with its TCP connection open; once idle for publish_takeover_idle, B (the
# encoder reconnecting) publishes the same id on the same spd.
kill -STOP "$encA_pid"
sleep 3
lc_publish encB "rtmp://$S1/$ID"
lc_check "B took over A on spd1" \
    lc_wait_log spd1 "publish $ID started \\(took over an idle publisher\\)" 10
lc_check "spd1 dropped the stale publisher A" lc_wait_log spd1 "publish $ID stopped" 5
lc_check "B is live on spd1" lc_wait_live "$S1_HTTP" "$ID" 10

# The registry still names spd1, and keeps doing so (the kick of A is over by now).
lc_check "smd: $ID still owned by sp-1 after the takeover" lc_wait_owner "$SMD_HTTP" "$ID" sp-1 5
sleep 1
lc_check "smd: $ID still owned by sp-1 a second later" lc_wait_owner "$SMD_HTTP" "$ID" sp-1 1

# One owner in the cluster: spd2 refuses a publisher of the id.
refused_busy() {
    out=$("$LC_TOOLS/lcpub" -x -t 10 "rtmp://$S2/$ID" "$LC_FIXTURE")
    echo "$out"
    echo "$out" | grep -q '^status error NetStream.Publish.BadName$'
}
lc_check "spd2 refuses a second publisher of $ID with Publish.BadName" refused_busy
lc_check "smd: $ID owned by sp-1 after spd2's attempt" lc_wait_owner "$SMD_HTTP" "$ID" sp-1 2

# A viewer on spd2 gets the stream, pulled from spd1, and decodes frames.
lc_check "a viewer on spd2 decodes $ID (pulled from spd1)" lc_probe_ok "rtmp://$S2/$ID"
lc_check "spd2 pulled it from spd1" lc_wait_log spd2 "pull $ID: live from $S1" 5

kill -CONT "$encA_pid" 2>/dev/null
kill "$encA_pid" "$encB_pid" 2>/dev/null
for n in spd2 spd1 smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

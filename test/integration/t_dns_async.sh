#!/bin/sh
# DNS never blocks the event loop (docs/architecture.md decision 1): `upstream`,
# `advertise`, `source_managers` and `auth_url` hosts given as names are looked up with
# libevent's resolver, asynchronously, within dns_timeout_ms. A nameserver
# (test/integration/fakedns.py) answers the cluster's names and never answers names that
# start with "silent". While spd waits for such an answer (play.auth_url on a silent host,
# an smd on a silent host), everything else it serves goes on: the HTTP API answers, an
# edge (upstream by name) pulls and its viewer decodes frames, the registry (by name)
# works; the waiting viewer is refused once the deadline passed. And a name from
# /etc/hosts, "localhost:PORT", works as an upstream with the system's resolver.
. "$(dirname "$0")/lib.sh"
lc_init dns_async

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
S="$LC_IP:$(lc_port 2)";    S_HTTP="$LC_IP:$(lc_port 3)"
E="$LC_IP:$(lc_port 4)";    E_HTTP="$LC_IP:$(lc_port 5)"
SECRET="dns-secret"

python3 "$LC_ROOT/test/integration/fakedns.py" "$LC_DIR/dns.addr" \
    "smd.lc.test=$LC_IP" "origin.lc.test=$LC_IP" >"$LC_DIR/fakedns.log" 2>&1 &
lc_track $!
lc_check "the test's nameserver is up" lc_wait_file "$LC_DIR/dns.addr" '^127' 5
DNS=$(cat "$LC_DIR/dns.addr")

lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";" || exit 1
lc_start spd spd "node_id = \"sp-1\"; listen = \"$S\"; http_listen = \"$S_HTTP\";
cluster_secret = \"$SECRET\"; advertise = \"origin.lc.test:$(lc_port 2)\";
source_managers = ( \"smd.lc.test:$(lc_port 0)\", \"silent-smd.lc.test:$(lc_port 0)\" );
dns_servers = ( \"$DNS\" ); dns_timeout_ms = 2000; log_level = \"debug\"; play_wait_timeout = 5;
play = { auth_url = \"http://silent-auth.lc.test:$(lc_port 9)/auth\"; };" || exit 1
lc_start epd epd "node_id = \"ep-1\"; listen = \"$E\"; http_listen = \"$E_HTTP\";
upstream = \"origin.lc.test:$(lc_port 2)\"; cluster_secret = \"$SECRET\";
dns_servers = ( \"$DNS\" ); dns_timeout_ms = 2000; pull_retry_max = 1;" || exit 1

# the registry by name: spd joined smd "smd.lc.test" and registers its publisher
lc_publish enc "rtmp://$S/live/dns"
lc_check "spd is live" lc_wait_live "$S_HTTP" live/dns 10
lc_check "smd (reached by name) lists live/dns owned by sp-1" \
    lc_wait_owner "$SMD_HTTP" live/dns sp-1 10
lc_check "the silent smd name was asked and never answered" \
    lc_wait_log spd 'smd silent-smd.lc.test:[0-9]+: no DNS answer in time' 10

# a viewer whose admission waits on a host that gets no DNS answer
"$LC_TOOLS/lcplay" -t 20 -e NetStream.Play.Unauthorized "rtmp://$S/live/dns" \
    >"$LC_DIR/waiting.out" 2>&1 &
waiting=$!
lc_track $waiting
sleep 0.3
# meanwhile: the API answers at once, several times
api_ok() {
    for i in 1 2 3 4 5; do
        curl -sf --max-time 1 -o /dev/null "http://$S_HTTP/api/v1/health" || return 1
        sleep 0.1
    done
}
lc_check "spd's API answers while a lookup is pending" api_ok
still_waiting() { kill -0 "$waiting" 2>/dev/null; }
lc_check "the waiting viewer is still waiting" still_waiting
# meanwhile: an edge whose upstream is a name pulls the stream; its viewer decodes frames
lc_check "a viewer on the edge (upstream by name) decodes frames" \
    lc_probe_ok "rtmp://$E/live/dns"
lc_check "the edge pulled from origin.lc.test" lc_wait_log spd 'play live/dns started \(internal pull\)' 5
wait $waiting
lc_expect "the waiting viewer is refused with Play.Unauthorized" $?
lc_check "the refusal says why" lc_wait_log spd 'play live/dns refused: auth_url unreachable' 5
lc_check "spd still running" lc_alive spd

# "localhost:PORT" with the system's resolver (/etc/hosts): an edge of a standalone spd
# that listens on 127.0.0.1
LPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
L="127.0.0.1:$LPORT"
lc_start spd spdl "node_id = \"sp-l\"; listen = \"$L\"; http_listen = \"$LC_IP:$(lc_port 6)\";
cluster_secret = \"$SECRET\";" || exit 1
lc_start epd epdl "node_id = \"ep-l\"; listen = \"$LC_IP:$(lc_port 7)\";
http_listen = \"$LC_IP:$(lc_port 8)\"; upstream = \"localhost:$LPORT\"; cluster_secret = \"$SECRET\";" || exit 1
lc_publish encl "rtmp://$L/live/local"
lc_check "the standalone spd is live" lc_wait_live "$LC_IP:$(lc_port 6)" live/local 10
lc_check "a viewer on the edge with upstream localhost:PORT decodes frames" \
    lc_probe_ok "rtmp://$LC_IP:$(lc_port 7)/live/local"

kill "$enc_pid" "$encl_pid" 2>/dev/null
for n in epdl spdl epd spd smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

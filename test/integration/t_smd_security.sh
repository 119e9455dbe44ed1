#!/bin/sh
# smd refuses what it must and nothing else: a hello with the wrong cluster_secret or a
# stale timestamp, a request before hello, an address outside `allow`, a connection that
# never says hello, garbage instead of an RTMP handshake, and garbage after it — each
# closes that one connection with a log line, while a good client connected all along
# keeps working. The per-session bounds answer Limit; max_connections refuses the next
# connection.
. "$(dirname "$0")/lib.sh"
lc_init smd_security

REG="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
SECRET=right-secret
SMDCTL="$LC_ROOT/$BUILD/tools/smdctl"
# Only this test's own address may connect; clients bind to it with -b.
CONF="node_id = \"sm-sec\"; listen = \"$REG\"; http_listen = \"$HTTP\";
cluster_secret = \"$SECRET\"; log_level = \"debug\"; hello_timeout = 2;
allow = ( \"$LC_IP\" ); max_connections = 2; max_streams_per_node = 2;
max_watches_per_node = 1;"

ctl() { "$SMDCTL" -b "$LC_IP" "$@"; }

# raw_client MODE — a misbehaving client in python: "http" sends an HTTP request instead
# of C0C1; "amf" completes the RTMP handshake then sends a type-20 message holding
# garbage AMF; "silent" completes the handshake and says nothing. Prints how it ended.
raw_client() {
    python3 - "$LC_IP" "$(lc_port 0)" "$1" <<'EOF'
import os, socket, sys, time
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=6, source_address=(host, 0))
def closed_within(seconds):
    s.settimeout(seconds)
    end = time.time() + seconds
    try:
        while time.time() < end:
            if not s.recv(4096):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return False
if mode == "http":
    s.sendall(b"GET / HTTP/1.0\r\n\r\n")
else:
    c1 = bytes(8) + os.urandom(1528)
    s.sendall(b"\x03" + c1)
    got = b""
    while len(got) < 3073:
        chunk = s.recv(3073 - len(got))
        if not chunk:
            print("closed during the handshake"); sys.exit(1)
        got += chunk
    s.sendall(got[1:1537])                      # C2 = S1
    if mode == "amf":
        payload = b"\x02\x00\x05hello\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x05\x03\x00\x02id\xff"
        header = b"\x03" + bytes(3) + len(payload).to_bytes(3, "big") + b"\x14" + bytes(4)
        s.sendall(header + payload)
print("closed" if closed_within(5) else "still open")
EOF
}

lc_start smd smd "$CONF" || exit 1

ctl -s "$SECRET" -n sp-good -a 127.0.0.1:1935 "$REG" hello register live/good sleep 15000 \
    lookup live/good ping >"$LC_DIR/G.out" 2>&1 &
G_pid=$!
lc_track $G_pid
lc_check "a good client registers" lc_wait_file "$LC_DIR/G.out" "^register live/good ok" 5

ctl -s wrong-secret -n sp-bad "$REG" hello register live/x >"$LC_DIR/W.out" 2>&1
grep -q "^hello error Unauthorized" "$LC_DIR/W.out" && grep -q "^closed" "$LC_DIR/W.out"
lc_expect "wrong cluster_secret: hello refused Unauthorized, connection closed" $?
lc_log_has smd "hello of node sp-bad refused: bad signature"
lc_expect "wrong cluster_secret is logged" $?

ctl -s "$SECRET" -S 1000000000 -n sp-old "$REG" hello >"$LC_DIR/S.out" 2>&1
grep -q "^hello error Unauthorized" "$LC_DIR/S.out"
lc_expect "hello timestamp from 2001: refused" $?
lc_log_has smd "hello of node sp-old refused: timestamp out of range"
lc_expect "stale timestamp is logged" $?

ctl -s "$SECRET" "$REG" register live/x expect-close 3000 >"$LC_DIR/N.out" 2>&1
grep -q "^register live/x error Unauthorized$" "$LC_DIR/N.out" && grep -q "^closed" "$LC_DIR/N.out"
lc_expect "a request before hello: refused and closed" $?
lc_log_has smd "register before hello: unauthenticated; closing"
lc_expect "a request before hello is logged" $?

"$SMDCTL" -b 127.0.0.1 -s "$SECRET" "$REG" hello >"$LC_DIR/O.out" 2>&1
[ $? -ne 0 ] && grep -q "^closed" "$LC_DIR/O.out" && ! grep -q "^hello ok" "$LC_DIR/O.out"
lc_expect "a client from 127.0.0.1 (outside allow) is refused" $?
lc_log_has smd "127.0.0.1:[0-9]+: refused: address not in allow"
lc_expect "the refusal is logged" $?

out=$(raw_client http)
[ "$out" = closed ]
lc_expect "HTTP bytes instead of a handshake: closed ($out)" $?
lc_log_has smd "protocol error: .*; closed"
lc_expect "the bad handshake is logged" $?

out=$(raw_client amf)
[ "$out" = closed ]
lc_expect "garbage AMF after the handshake: closed ($out)" $?
lc_log_has smd "protocol error: [^;]*; closing"
lc_expect "the garbage message is logged" $?

out=$(raw_client silent)
[ "$out" = closed ]
lc_expect "no hello within hello_timeout (2 s): closed ($out)" $?
lc_log_has smd "no hello within 2s; closing"
lc_expect "the hello timeout is logged" $?

# ---- bounds ----
ctl -s "$SECRET" -n sp-many "$REG" hello register live/m1 register live/m2 register live/m3 \
    watch live/w1 watch live/w2 watch live/w1 >"$LC_DIR/M.out" 2>&1
grep -q "^register live/m2 ok" "$LC_DIR/M.out" && grep -q "^register live/m3 error Limit$" "$LC_DIR/M.out"
lc_expect "max_streams_per_node = 2: the third register is refused Limit" $?
grep -q "^watch live/w2 error Limit$" "$LC_DIR/M.out" && [ "$(grep -c "^watch live/w1 ok$" "$LC_DIR/M.out")" -eq 2 ]
lc_expect "max_watches_per_node = 1: a second id is refused, the same id again is fine" $?
ctl -s "$SECRET" -n sp-hold "$REG" hello sleep 4000 >"$LC_DIR/H.out" 2>&1 &
H_pid=$!
lc_track $H_pid
lc_wait_file "$LC_DIR/H.out" "^hello ok" 5 >/dev/null
ctl -s "$SECRET" -n sp-third "$REG" hello >"$LC_DIR/third.out" 2>&1
[ $? -ne 0 ] && ! grep -q "^hello ok" "$LC_DIR/third.out"
lc_expect "max_connections = 2: a third connection is refused" $?
lc_log_has smd "refused: max_connections \(2\) reached"
lc_expect "... and logged" $?
wait $H_pid

wait $G_pid
grep -q "^lookup live/good ok" "$LC_DIR/G.out" && grep -q "^ping ok$" "$LC_DIR/G.out" &&
    ! grep -q "^closed" "$LC_DIR/G.out"
lc_expect "the good client kept working through all of it" $?

metrics=$(curl -sf "http://$HTTP/metrics")
for want in 'livecluster_smd_auth_failures_total{reason="signature"} 1' \
    'livecluster_smd_auth_failures_total{reason="timestamp"} 1' \
    'livecluster_smd_auth_failures_total{reason="no_hello"} 1' \
    'livecluster_smd_auth_failures_total{reason="hello_timeout"} 1' \
    'livecluster_smd_denied_total 1' 'livecluster_smd_protocol_errors_total 2' \
    'livecluster_smd_refusals_total{reason="limit"} 2' 'livecluster_smd_refused_full_total 1'; do
    echo "$metrics" | grep -qxF "$want"
    lc_expect "metrics: $want" $?
done

lc_stop smd
lc_expect "SIGTERM: smd exits 0" $?
lc_done

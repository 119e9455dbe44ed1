#!/bin/sh
# TLS on spd and epd (docs/interface.md "TLS"), with a CA and certificates this test makes
# with openssl:
#  - ffmpeg publishes rtmps:// to spd; ffprobe decodes rtmps:// from epd (pulled over plain
#    RTMP from spd); curl gets HTTPS-FLV (decodes) and the API over HTTPS with --cacert;
#    publishing to epd over RTMPS is refused like over RTMP.
#  - TLS 1.2 and 1.3 are served, 1.1 is not; a session resumes from its ticket;
#    livecluster_tls_* metrics count handshakes, resumptions and failures per listener,
#    and livecluster_tls_ktls says user-space TLS (this kernel has no TLS module).
#  - HTTPS-FLV batches: far fewer TLS records than FLV tags (one record per flush window).
#  - Certificate rotation on SIGHUP while an HTTPS-FLV viewer downloads: the viewer keeps
#    receiving (and its file decodes), new connections get the new certificate (serial and
#    subject seen by openssl s_client); a bad key at reload is logged as FILE:LINE and the
#    rotated certificate stays.
#  - Stalled TLS viewers (HTTPS-FLV and RTMPS clients stopped with SIGSTOP) are dropped by
#    the slow-viewer policy, with epd's memory bounded; stalled handshakes are closed at
#    handshake_timeout (RTMPS) and http_request_timeout (HTTPS).
#  - Config errors at -t and at start: a key that does not match, an unreadable
#    certificate, rtmps_listen / https_listen without tls.
. "$(dirname "$0")/lib.sh"
lc_init tls

SPD="$LC_IP:$(lc_port 0)"
SPD_HTTP="$LC_IP:$(lc_port 1)"
SPD_RTMPS="$LC_IP:$(lc_port 2)"
SPD_HTTPS="$LC_IP:$(lc_port 3)"
EPD="$LC_IP:$(lc_port 4)"
EPD_HTTP="$LC_IP:$(lc_port 5)"
EPD_RTMPS="$LC_IP:$(lc_port 6)"
EPD_HTTPS="$LC_IP:$(lc_port 7)"
TLSCLIENT="$LC_ROOT/test/integration/tlsclient.py"
CA="$LC_DIR/ca.pem"
QUEUE=262144
SLOW=2
ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1"
export ASAN_OPTIONS

# ---- certificates ----
printf 'subjectAltName=DNS:localhost,IP:%s\n' "$LC_IP" >"$LC_DIR/ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=livecluster test CA" -keyout "$LC_DIR/ca.key" -out "$CA" 2>"$LC_DIR/openssl.log"
# mkcert NAME SUBJECT SERIAL — a server certificate NAME.pem, NAME.key signed by the CA
mkcert() {
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
        -keyout "$LC_DIR/$1.key" -out "$LC_DIR/$1.csr" 2>>"$LC_DIR/openssl.log" &&
        openssl x509 -req -in "$LC_DIR/$1.csr" -CA "$CA" -CAkey "$LC_DIR/ca.key" \
            -set_serial "$3" -days 2 -extfile "$LC_DIR/ext" -out "$LC_DIR/$1.pem" \
            2>>"$LC_DIR/openssl.log"
}
mkcert first "/CN=localhost/O=first" 4097 && mkcert second "/CN=localhost/O=rotated" 8194 &&
    mkcert other "/CN=localhost/O=other" 12291
lc_expect "made a CA and three server certificates with openssl" $?
cp "$LC_DIR/first.pem" "$LC_DIR/live.pem"
cp "$LC_DIR/first.key" "$LC_DIR/live.key"
TLS_CONF="tls = { cert = \"$LC_DIR/live.pem\"; key = \"$LC_DIR/live.key\"; };"

# ---- config errors: -t and start ----
conf_error() { # NAME TEXT PATTERN — -t fails with PATTERN, and so does a start
    printf '%s\n' "$2" >"$LC_DIR/$1.conf"
    "$LC_ROOT/$BUILD/spd" -t -c "$LC_DIR/$1.conf" >"$LC_DIR/$1.t" 2>&1 && return 1
    grep -Eq "$3" "$LC_DIR/$1.t" || { cat "$LC_DIR/$1.t"; return 1; }
    timeout 10 "$LC_ROOT/$BUILD/spd" -c "$LC_DIR/$1.conf" >"$LC_DIR/$1.start" 2>&1 && return 1
    grep -Eq "$3" "$LC_DIR/$1.start" || { cat "$LC_DIR/$1.start"; return 1; }
}
lc_check "-t and start: a key that is not the certificate's is FILE:LINE" conf_error mismatch \
    "listen = \"$SPD\"; http_listen = \"$SPD_HTTP\";
rtmps_listen = \"$SPD_RTMPS\";
tls = {
    cert = \"$LC_DIR/first.pem\";
    key = \"$LC_DIR/second.key\";
};" "mismatch.conf:5: 'tls.key': the key in .* does not match the certificate"
lc_check "-t and start: an unreadable certificate is FILE:LINE" conf_error nocert \
    "https_listen = \"$SPD_HTTPS\";
tls = { cert = \"$LC_DIR/missing.pem\"; key = \"$LC_DIR/first.key\"; };" \
    "nocert.conf:2: 'tls.cert': cannot read certificate .*missing.pem.*: No such file"
lc_check "-t and start: rtmps_listen without tls is FILE:LINE" conf_error notls \
    "listen = \"$SPD\";
rtmps_listen = \"$SPD_RTMPS\";" "notls.conf:2: 'rtmps_listen': needs tls = \\{ cert"
lc_check "-t and start: https_listen without tls is FILE:LINE" conf_error notls2 \
    "https_listen = \"$SPD_HTTPS\";" "notls2.conf:1: 'https_listen': needs tls"
printf 'key = "x";\n' >"$LC_DIR/garbage.key"
lc_check "-t and start: a key file that is no key is FILE:LINE" conf_error badkey \
    "rtmps_listen = \"$SPD_RTMPS\"; tls = { cert = \"$LC_DIR/first.pem\"; key = \"$LC_DIR/garbage.key\"; };" \
    "badkey.conf:1: 'tls.key': .*holds no usable PEM private key"

# ---- a cluster over TLS ----
lc_start spd spd "listen = \"$SPD\"; http_listen = \"$SPD_HTTP\"; cluster_secret = \"s\";
rtmps_listen = \"$SPD_RTMPS\"; https_listen = \"$SPD_HTTPS\"; $TLS_CONF" || exit 1
lc_start epd epd "listen = \"$EPD\"; http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\";
cluster_secret = \"s\"; rtmps_listen = \"$EPD_RTMPS\"; https_listen = \"$EPD_HTTPS\";
$TLS_CONF flush_interval_ms = 100; handshake_timeout = 1; http_request_timeout = 2;
viewer_queue_bytes = $QUEUE; slow_viewer_timeout = $SLOW; log_level = \"info\";" || exit 1

lc_publish pub "rtmps://$SPD_RTMPS/live/t1"
lc_check "ffmpeg publishes rtmps:// to spd: the stream is live" lc_wait_live "$SPD_HTTP" live/t1 10
lc_check "spd logged an RTMPS connection" lc_log_has spd "connected \\(RTMPS\\)"
lc_check "ffprobe decodes rtmps:// from epd (h264 320x240)" lc_probe_ok "rtmps://$EPD_RTMPS/live/t1"

httpsflv_decodes() {
    timeout 6 curl -s --cacert "$CA" -o "$LC_DIR/edge.flv" "https://$EPD_HTTPS/live/t1.flv"
    lc_probe_ok "$LC_DIR/edge.flv"
}
lc_check "curl --cacert gets HTTPS-FLV from epd; it decodes" httpsflv_decodes
api_https() {
    curl -sf --cacert "$CA" "https://$EPD_HTTPS/api/v1/streams" >"$LC_DIR/streams.json" &&
        grep -q '"id":"live/t1"' "$LC_DIR/streams.json" &&
        curl -sf --cacert "$CA" "https://$SPD_HTTPS/api/v1/health" | grep -q '"role":"spd"'
}
lc_check "curl --cacert gets the API over HTTPS (epd streams, spd health)" api_https
edge_pub_refused() {
    timeout 10 ffmpeg -hide_banner -nostdin -loglevel error -re -i "$LC_FIXTURE" -c copy \
        -f flv "rtmps://$EPD_RTMPS/live/nope" >"$LC_DIR/edgepub.log" 2>&1 && return 1
    lc_log_has epd "publish refused: this node does not take publishers"
}
lc_check "publishing to epd over RTMPS is refused" edge_pub_refused

# ---- protocol versions, resumption, metrics ----
s_client() { # ADDR ARGS... — the handshake's summary lines ("New, TLSv1.3, ...")
    _addr=$1
    shift
    (sleep 1; echo Q) | timeout 5 openssl s_client -connect "$_addr" -servername localhost \
        -CAfile "$CA" "$@" 2>&1 | grep -E '^(New|Reused),|alert|Verify return'
}
versions() {
    s_client "$EPD_HTTPS" -tls1_3 | grep -q '^New, TLSv1.3' &&
        s_client "$EPD_RTMPS" -tls1_2 | grep -q '^New, TLSv1.2, Cipher is ECDHE' &&
        ! s_client "$EPD_HTTPS" -tls1_1 -cipher DEFAULT@SECLEVEL=0 | grep -q "^New, TLSv1"
}
lc_check "TLS 1.3 and 1.2 (ECDHE) are served, TLS 1.1 is not" versions
resumes() {
    rm -f "$LC_DIR/sess.pem"
    s_client "$EPD_HTTPS" -sess_out "$LC_DIR/sess.pem" | grep -q '^New' &&
        s_client "$EPD_HTTPS" -sess_in "$LC_DIR/sess.pem" | grep -q '^Reused, TLSv1.3'
}
lc_check "a TLS session resumes from its ticket" resumes
tls_metrics() {
    curl -sf --cacert "$CA" "https://$EPD_HTTPS/metrics" >"$LC_DIR/metrics.txt" &&
        grep -Eq '^livecluster_tls_handshakes_total\{listener="https"\} [1-9]' "$LC_DIR/metrics.txt" &&
        grep -Eq '^livecluster_tls_handshakes_total\{listener="rtmps"\} [1-9]' "$LC_DIR/metrics.txt" &&
        grep -Eq '^livecluster_tls_resumed_total\{listener="https"\} [1-9]' "$LC_DIR/metrics.txt" &&
        grep -Eq '^livecluster_tls_handshake_failures_total\{listener="https"\} [1-9]' "$LC_DIR/metrics.txt" &&
        grep -q '^livecluster_tls_ktls{listener="rtmps"} 0' "$LC_DIR/metrics.txt" &&
        grep -q '^livecluster_tls_ktls{listener="https"} 0' "$LC_DIR/metrics.txt"
}
lc_check "metrics over HTTPS: handshakes, resumptions, failures by listener; ktls 0 (user space)" tls_metrics

# ---- one TLS record per flush window, not per message ----
batched() {
    python3 "$TLSCLIENT" records "$CA" "$LC_IP" "${EPD_HTTPS#*:}" /live/t1.flv 4 \
        >"$LC_DIR/records.out" 2>&1 || { cat "$LC_DIR/records.out"; return 1; }
    cat "$LC_DIR/records.out"
    python3 -c '
import sys
f = dict(kv.split("=") for kv in open(sys.argv[1]).read().split())
r, t = int(f["records"]), int(f["tags"])
sys.exit(0 if t >= 100 and t >= 3 * r else 1)' "$LC_DIR/records.out"
}
lc_check "HTTPS-FLV: at least 3 FLV tags per TLS record (100 ms windows, one record each)" batched

# ---- certificate rotation while an HTTPS-FLV viewer downloads ----
serial_of() { # ADDR — serial and subject of the certificate a new connection gets
    echo | timeout 5 openssl s_client -connect "$1" -servername localhost 2>/dev/null |
        openssl x509 -noout -serial -subject 2>/dev/null | tr '\n' ' '
}
has_cert() { serial_of "$1" | grep -q "$2"; }
lc_check "new connections get the first certificate (serial 1001, O=first)" has_cert "$EPD_HTTPS" \
    "serial=1001 .*O = first"
curl -s --cacert "$CA" --max-time 14 -o "$LC_DIR/rotation.flv" \
    "https://$EPD_HTTPS/live/t1.flv" >/dev/null 2>&1 &
rot_pid=$!
lc_track $rot_pid
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
grew_past() { [ "$(size_of "$1")" -gt "$2" ]; }
lc_wait_until 5 grew_past "$LC_DIR/rotation.flv" 0
# a renewal as certbot makes it: new files moved into place, then SIGHUP
cp "$LC_DIR/second.pem" "$LC_DIR/new.pem" && mv "$LC_DIR/new.pem" "$LC_DIR/live.pem"
cp "$LC_DIR/second.key" "$LC_DIR/new.key" && mv "$LC_DIR/new.key" "$LC_DIR/live.key"
kill -HUP "$epd_pid"
lc_check "SIGHUP: epd reloaded the certificate" lc_wait_log epd "tls: certificate .* loaded for new connections"
at_hup=$(size_of "$LC_DIR/rotation.flv")
lc_check "a new connection gets the new certificate (serial 2002, O=rotated)" has_cert \
    "$EPD_HTTPS" "serial=2002 .*O = rotated"
lc_check "... on RTMPS too" has_cert "$EPD_RTMPS" "serial=2002 .*O = rotated"
lc_check "the HTTPS-FLV viewer from before the reload keeps receiving" \
    lc_wait_until 6 grew_past "$LC_DIR/rotation.flv" $((at_hup + 20000))
wait $rot_pid
lc_check "its download decodes" lc_probe_ok "$LC_DIR/rotation.flv"
# a bad key at reload: logged as FILE:LINE, the rotated certificate stays
cp "$LC_DIR/other.key" "$LC_DIR/live.key"
kill -HUP "$epd_pid"
lc_check "SIGHUP with a key that does not match: FILE:LINE logged, reload refused" \
    lc_wait_log epd "epd.conf:[0-9]+: 'tls.key': the key in .* does not match"
lc_check "... and the rotated certificate stays in use" has_cert "$EPD_HTTPS" "serial=2002"
cp "$LC_DIR/second.key" "$LC_DIR/live.key"

# ---- stalled handshakes: bounded by handshake_timeout / http_request_timeout ----
stalled_handshakes() {
    python3 "$TLSCLIENT" handshakes "$LC_IP" "${EPD_RTMPS#*:}" 50 8 >"$LC_DIR/hs1.out" &
    p1=$!
    python3 "$TLSCLIENT" handshakes "$LC_IP" "${EPD_HTTPS#*:}" 50 8 >"$LC_DIR/hs2.out"
    wait $p1
    cat "$LC_DIR/hs1.out" "$LC_DIR/hs2.out"
    grep -q "closed=50 open=0" "$LC_DIR/hs1.out" && grep -q "closed=50 open=0" "$LC_DIR/hs2.out"
}
lc_check "50 + 50 stalled TLS handshakes are all closed (handshake_timeout, http_request_timeout)" \
    stalled_handshakes

# ---- stalled TLS viewers: the slow-viewer policy, memory bounded ----
ffmpeg -hide_banner -nostdin -loglevel error -f lavfi \
    -i "testsrc2=s=640x360:r=25,noise=alls=60:allf=t" -f lavfi -i "sine=f=440:r=44100" \
    -t 4 -c:v libx264 -preset ultrafast -tune zerolatency -g 25 -b:v 16M -maxrate 16M \
    -bufsize 2M -pix_fmt yuv420p -c:a aac -b:a 64k -f flv "$LC_DIR/big.flv"
lc_expect "generated the 16 Mbit/s test stream" $?
lc_publish bigpub "rtmp://$SPD/live/big" "$LC_DIR/big.flv"
lc_check "16 Mbit/s stream goes live" lc_wait_live "$SPD_HTTP" live/big 10
# a viewer that keeps the edge's pull up while the stalled ones come and go
ffmpeg -hide_banner -nostdin -loglevel error -i "rtmps://$EPD_RTMPS/live/big" -c copy -f null - \
    >"$LC_DIR/keep.log" 2>&1 &
keep_pid=$!
lc_track $keep_pid
sleep 3
baseline=$(lc_rss_kb "$epd_pid")
curl -s --cacert "$CA" -o /dev/null "https://$EPD_HTTPS/live/big.flv" &
stall_https=$!
lc_track $stall_https
ffmpeg -hide_banner -nostdin -loglevel error -i "rtmps://$EPD_RTMPS/live/big" -c copy -f null - \
    >"$LC_DIR/stall.log" 2>&1 &
stall_rtmps=$!
lc_track $stall_rtmps
sleep 1
kill -STOP $stall_https $stall_rtmps
max=$baseline
dropped() {
    r=$(lc_rss_kb "$epd_pid")
    [ -n "$r" ] && [ "$r" -gt "$max" ] && max=$r
    [ "$(grep -c 'live/big: viewer dropped' "$LC_DIR/epd.log")" -ge 2 ]
}
lc_wait_until 40 dropped
lc_expect "the stalled HTTPS-FLV and RTMPS viewers were dropped (slow_viewer_timeout), logged" $?
grep "viewer dropped" "$LC_DIR/epd.log" | sed 's/^/        /'
kill -9 $stall_https $stall_rtmps 2>/dev/null
# as t_spd_fanout: 2 x viewer_queue_bytes each, the batch libevent holds, allocator slack
slack=6144
case "$BUILD" in *asan*) slack=14336 ;; esac
bound=$((baseline + 5 * QUEUE / 1024 + slack))
echo "        epd RSS: baseline ${baseline} KiB, max ${max} KiB, bound ${bound} KiB"
[ "$max" -le "$bound" ]
lc_expect "epd RSS stayed within the bound while the TLS viewers were stalled" $?
lc_check "the viewer that kept reading is still there" lc_alive keep
kill $keep_pid 2>/dev/null

lc_stop epd
lc_expect "SIGTERM: epd exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

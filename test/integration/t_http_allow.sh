#!/bin/sh
# http_allow (every daemon; docs/security.md): /api/... and /metrics answer only clients in
# the allow list (default: loopback and private ranges), others get 403 JSON
# {"error":...}; HTTP-FLV is for viewers and is never restricted by it. The list reloads
# on SIGHUP; an empty list closes the API to everyone; bad networks are refused by -t.
. "$(dirname "$0")/lib.sh"
lc_init http_allow

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
SMD="$LC_IP:$(lc_port 2)"
SMD_HTTP="$LC_IP:$(lc_port 3)"
SPD="$LC_ROOT/$BUILD/spd"

# code URL — the HTTP status of a GET (000 when none).
code() { curl -s -o "$LC_DIR/body" -w '%{http_code}' --max-time 2 "$1"; }
# is_code WANT URL
is_code() { [ "$(code "$2")" = "$1" ]; }
forbidden_json() {
    c=$(code "$1")
    echo "status $c: $(cat "$LC_DIR/body")"
    [ "$c" = 403 ] && grep -q '^{"error":"forbidden' "$LC_DIR/body"
}

# ---- -t ----
check_bad() {
    printf 'listen = "%s";\nhttp_allow = %s;\n' "$RTMP" "$1" >"$LC_DIR/bad.conf"
    "$SPD" -t -c "$LC_DIR/bad.conf" >"$LC_DIR/t.out" 2>&1
    rc=$?
    cat "$LC_DIR/t.out"
    [ $rc -eq 1 ] && [ "$(wc -l <"$LC_DIR/t.out")" -eq 1 ] &&
        grep -Eq "^$LC_DIR/bad.conf:2: '$2" "$LC_DIR/t.out"
}
lc_check "-t refuses a network with host bits" check_bad '( "10.0.0.1/8" )' "http_allow': bad network"
lc_check "-t refuses a string instead of a list" check_bad '"10.0.0.0/8"' "http_allow' must be a list"

# ---- spd: the default admits loopback ----
conf() { printf 'listen = "%s"; http_listen = "%s"; %s\n' "$RTMP" "$HTTP" "$1" >"$LC_DIR/spd.conf"; }
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\";" || exit 1
lc_check "default: /api/v1/health answers loopback" is_code 200 "http://$HTTP/api/v1/health"
lc_check "default: /metrics answers loopback" is_code 200 "http://$HTTP/metrics"
lc_publish pub "rtmp://$RTMP/live/a1"
lc_check "stream goes live" lc_wait_live "$HTTP" live/a1 10

# Only 10/8: loopback is outside.
conf 'http_allow = ( "10.0.0.0/8", "fd00::/8" );'
kill -HUP "$spd_pid"
lc_check "after reload: /api/v1/health refused" lc_wait_until 5 is_code 403 "http://$HTTP/api/v1/health"
lc_check "403 with a JSON error: /api/v1/health" forbidden_json "http://$HTTP/api/v1/health"
lc_check "403 with a JSON error: /api/v1/streams" forbidden_json "http://$HTTP/api/v1/streams"
lc_check "403 with a JSON error: /metrics" forbidden_json "http://$HTTP/metrics"
lc_check "unknown paths stay 404" is_code 404 "http://$HTTP/nothing/here"
flv_decodes() {
    timeout 4 curl -s -o "$LC_DIR/a1.flv" "http://$HTTP/live/a1.flv"
    lc_probe_ok "$LC_DIR/a1.flv"
}
lc_check "HTTP-FLV is not restricted: it decodes" flv_decodes

# Back to loopback: allowed again, and the refusals were counted.
conf 'http_allow = ( "127.0.0.0/8" );'
kill -HUP "$spd_pid"
lc_check "after reload: allowed again" lc_wait_until 5 is_code 200 "http://$HTTP/api/v1/health"
n=$(lc_metric "$HTTP" livecluster_http_forbidden_total)
[ "${n:-0}" -ge 4 ]
lc_expect "refusals counted in livecluster_http_forbidden_total ($n)" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?

# ---- smd: the same server; an empty list closes the API to everyone ----
lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\";" || exit 1
lc_check "smd default: /api/v1/nodes answers loopback" is_code 200 "http://$SMD_HTTP/api/v1/nodes"
printf 'listen = "%s"; http_listen = "%s"; http_allow = ( );\n' "$SMD" "$SMD_HTTP" >"$LC_DIR/smd.conf"
kill -HUP "$smd_pid"
lc_check "smd, http_allow = (): /api/v1/nodes refused" lc_wait_until 5 is_code 403 "http://$SMD_HTTP/api/v1/nodes"
lc_check "smd: /metrics refused with a JSON error" forbidden_json "http://$SMD_HTTP/metrics"
lc_stop smd
lc_expect "SIGTERM: smd exits 0" $?
lc_done

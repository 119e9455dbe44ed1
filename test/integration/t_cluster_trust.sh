#!/bin/sh
# "Trust" (docs/interface.md): with an empty cluster_secret no client is an internal pull.
# An spd with play admission and no cluster_secret in a cluster warns at start and at
# every reload; lc_* parameters signed with the empty key (which anyone can compute; they
# used to skip play.secret) are an ordinary viewer's, refused without a token; an edge
# pulling from it is refused the same way, so its viewer never gets the stream. With the
# same cluster_secret on both (a reload), the edge's pull is an internal pull again.
. "$(dirname "$0")/lib.sh"
lc_init cluster_trust

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
S="$LC_IP:$(lc_port 2)";    S_HTTP="$LC_IP:$(lc_port 3)"
E="$LC_IP:$(lc_port 4)";    E_HTTP="$LC_IP:$(lc_port 5)"
WARN='play admission is on but cluster_secret is empty'

lc_start smd smd "listen = \"$SMD\"; http_listen = \"$SMD_HTTP\";" || exit 1
SPD_BASE="node_id = \"sp-1\"; listen = \"$S\"; http_listen = \"$S_HTTP\"; advertise = \"$S\";
source_managers = ( \"$SMD\" ); play = { secret = \"viewer-secret\"; };"
EPD_BASE="node_id = \"ep-1\"; listen = \"$E\"; http_listen = \"$E_HTTP\"; upstream = \"$S\";
play_wait_timeout = 3; pull_retry_max = 1; idle_timeout = 1;"
lc_start spd spd "$SPD_BASE" || exit 1
lc_start epd epd "$EPD_BASE" || exit 1
lc_check "spd warns at start: play admission without cluster_secret" lc_wait_log spd "$WARN" 5

lc_publish enc "rtmp://$S/live/t"
lc_check "the stream is live on spd" lc_wait_live "$S_HTTP" live/t 10

# the pre-fix internal pull: lc_* signed with HMAC(""), no token
forged() {
    python3 -c '
import hashlib, hmac, sys, time
ts = int(time.time())
sig = hmac.new(b"", ("sp-9:spd:live/t:%d" % ts).encode(), hashlib.sha256).hexdigest()
print("t?lc_node=sp-9&lc_role=spd&lc_ts=%d&lc_sig=%s" % (ts, sig))'
}
lc_check "lc_* signed with the empty key are refused like any viewer without a token" \
    "$LC_TOOLS/lcplay" -t 10 -e NetStream.Play.Unauthorized -N "$(forged)" "rtmp://$S/live/t"
lc_check "...and never taken for an internal pull" sh -c "! grep -q 'internal pull' '$LC_DIR/spd.log'"

# an edge without a cluster secret: its pull is an ordinary viewer at spd, refused
lc_check "a viewer on the edge does not get the stream" \
    "$LC_TOOLS/lcplay" -t 10 -e NetStream.Play.StreamNotFound "rtmp://$E/live/t"
lc_check "spd refused the edge's pull (no token)" lc_wait_log spd 'play live/t refused' 5

# a reload that keeps the secret empty warns again; one that sets it on both nodes fixes it
kill -HUP "$spd_pid"
lc_check "spd warns again at reload" lc_wait_until 5 sh -c "[ \$(grep -c '$WARN' '$LC_DIR/spd.log') -ge 2 ]"
printf '%s\n' "$SPD_BASE cluster_secret = \"c-secret\";" >"$LC_DIR/spd.conf"
printf '%s\n' "$EPD_BASE cluster_secret = \"c-secret\";" >"$LC_DIR/epd.conf"
kill -HUP "$spd_pid" "$epd_pid"
lc_check "both reloaded" lc_wait_until 5 sh -c "[ \$(grep -c 'configuration reloaded' '$LC_DIR/spd.log') -ge 2 ] && grep -q 'configuration reloaded' '$LC_DIR/epd.log'"
lc_check "with the secret, a viewer on the edge decodes frames" lc_probe_ok "rtmp://$E/live/t"
lc_check "the edge's pull is an internal pull now" lc_wait_log spd 'play live/t started \(internal pull\)' 5
[ "$(grep -c "$WARN" "$LC_DIR/spd.log")" -eq 2 ]
lc_expect "no warning once the secret is set" $?

kill "$enc_pid" 2>/dev/null
for n in epd spd smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

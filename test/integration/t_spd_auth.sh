#!/bin/sh
# spd admission (docs/interface.md "Tokens").
#  - publish.secret / play.secret: a missing, wrong or expired token is refused
#    (NetStream.Publish.Unauthorized / NetStream.Play.Unauthorized, HTTP-FLV 403) and
#    counted; a valid one (computed here with openssl) is accepted, with the query on the
#    name or on the app part of the URL.
#  - auth_url: spd POSTs app, name, token, expires, client_ip and action (form-encoded) to
#    a small HTTP server in this test, which answers 200 or 403; only 2xx admits, and an
#    unreachable auth_url refuses.
. "$(dirname "$0")/lib.sh"
lc_init spd_auth

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
AUTH="$LC_IP:$(lc_port 2)"
RTMP2="$LC_IP:$(lc_port 3)"
HTTP2="$LC_IP:$(lc_port 4)"
PUBSEC="pub-secret-1"
PLAYSEC="play-secret-2"

# token SECRET ID EXPIRES — hex HMAC-SHA256(secret, "ID:EXPIRES")
token() { printf '%s:%s' "$2" "$3" | openssl dgst -sha256 -hmac "$1" | sed 's/^.*= *//'; }
now=$(date +%s)
fut=$((now + 3600))
past=$((now - 10))

lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"info\";
publish = { secret = \"$PUBSEC\"; }; play = { secret = \"$PLAYSEC\"; };" || exit 1
BASE="rtmp://$RTMP/live"

pub_refused() {
    out=$("$LC_TOOLS/lcpub" -x -t 10 "$1" "$LC_FIXTURE")
    echo "$out"
    echo "$out" | grep -q '^status error NetStream.Publish.Unauthorized$' &&
        echo "$out" | grep -q '^result=refused'
}
lc_check "publish without a token → Publish.Unauthorized" pub_refused "$BASE/cam"
lc_check "publish with a wrong token → Publish.Unauthorized" \
    pub_refused "$BASE/cam?expires=$fut&token=$(token wrong-secret live/cam $fut)"
lc_check "publish with an expired token → Publish.Unauthorized" \
    pub_refused "$BASE/cam?expires=$past&token=$(token "$PUBSEC" live/cam $past)"
lc_check "publish with another stream's token → Publish.Unauthorized" \
    pub_refused "$BASE/cam?expires=$fut&token=$(token "$PUBSEC" live/other $fut)"
lc_check "publish with the play secret's token → Publish.Unauthorized" \
    pub_refused "$BASE/cam?expires=$fut&token=$(token "$PLAYSEC" live/cam $fut)"
lc_check "the refusals are logged" lc_log_has spd "publish live/cam refused: "
n=$(lc_metric "$HTTP" 'livecluster_publish_failures_total{reason="unauthorized"}')
[ "$n" = 5 ]
lc_expect "metrics: 5 unauthorized publishes counted (got $n)" $?

lc_lcpub pub -t 60 "$BASE/cam?expires=$fut&token=$(token "$PUBSEC" live/cam $fut)" "$LC_FIXTURE"
lc_check "publish with a valid token is accepted and goes live" lc_wait_live "$HTTP" live/cam 10

play_refused() { "$LC_TOOLS/lcplay" -e NetStream.Play.Unauthorized -t 10 "$@"; }
lc_check "play without a token → Play.Unauthorized" play_refused "$BASE/cam"
lc_check "play with a wrong token → Play.Unauthorized" \
    play_refused "$BASE/cam?expires=$fut&token=$(token "$PUBSEC" live/cam $fut)"
lc_check "play with an expired token → Play.Unauthorized" \
    play_refused "$BASE/cam?expires=$past&token=$(token "$PLAYSEC" live/cam $past)"
lc_check "play with a valid token (query on the name) decodes" \
    "$LC_TOOLS/lcplay" -k 2 -t 15 "$BASE/cam?expires=$fut&token=$(token "$PLAYSEC" live/cam $fut)"
lc_check "play with a valid token (query on the app) decodes" \
    "$LC_TOOLS/lcplay" -k 2 -t 15 "rtmp://$RTMP/live?expires=$fut&token=$(token "$PLAYSEC" live/cam $fut)/cam"
lc_check "ffprobe with a valid token decodes" \
    lc_probe_ok "$BASE/cam?expires=$fut&token=$(token "$PLAYSEC" live/cam $fut)"

http_code() { curl -s -o "$LC_DIR/http.body" -w '%{http_code}' --max-time "${2:-3}" "$1"; }
code=$(http_code "http://$HTTP/live/cam.flv")
[ "$code" = 403 ]
lc_expect "HTTP-FLV without a token → 403 (got $code)" $?
code=$(http_code "http://$HTTP/live/cam.flv?expires=$past&token=$(token "$PLAYSEC" live/cam $past)")
[ "$code" = 403 ]
lc_expect "HTTP-FLV with an expired token → 403 (got $code)" $?
flv_with_token() {
    timeout 5 curl -s -o "$LC_DIR/ok.flv" --max-time 3 \
        "http://$HTTP/live/cam.flv?expires=$fut&token=$(token "$PLAYSEC" live/cam $fut)"
    lc_probe_ok "$LC_DIR/ok.flv"
}
lc_check "HTTP-FLV with a valid token streams a decodable FLV" flv_with_token
n=$(lc_metric "$HTTP" 'livecluster_play_failures_total{reason="unauthorized"}')
[ "$n" = 5 ]
lc_expect "metrics: 5 unauthorized plays counted, RTMP and HTTP (got $n)" $?
kill "$pub_pid"

# ---- auth_url ----
cat >"$LC_DIR/authd.py" <<'EOF'
import json, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

host, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]

class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        fields = {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}
        fields["_path"] = self.path
        fields["_ctype"] = self.headers.get("Content-Type", "")
        with open(log, "a") as f:
            f.write(json.dumps(fields, sort_keys=True) + "\n")
        if fields.get("token") == "slow":
            time.sleep(2)  # the client gives up first
        ok = fields.get("token") in ("letmein", "slow")
        self.send_response(200 if ok else 403)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass

HTTPServer((host, port), H).serve_forever()
EOF
python3 "$LC_DIR/authd.py" "${AUTH%:*}" "${AUTH#*:}" "$LC_DIR/auth.jsonl" >"$LC_DIR/authd.log" 2>&1 &
authd_pid=$!
lc_track $authd_pid
authd_up() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' -d probe=1 "http://$AUTH/probe")" = 403 ]
}
lc_check "the test's auth server answers" lc_wait_until 10 authd_up
lc_start spd spd2 "listen = \"$RTMP2\"; http_listen = \"$HTTP2\"; log_level = \"info\";
publish = { auth_url = \"http://$AUTH/check?kind=pub\"; };
play = { auth_url = \"http://$AUTH/check?kind=play\"; }; auth_timeout_ms = 2000;" || exit 1
BASE2="rtmp://$RTMP2/live"
lc_check "auth_url 403 → Publish.Unauthorized" pub_refused "$BASE2/cam?token=nope&expires=1"
lc_lcpub pub2 -t 60 "$BASE2/cam?token=letmein&expires=123" "$LC_FIXTURE"
lc_check "auth_url 200 → publish accepted, live" lc_wait_live "$HTTP2" live/cam 10
lc_check "auth_url 403 → Play.Unauthorized" play_refused "$BASE2/cam?token=nope"
lc_check "auth_url 200 → play decodes" "$LC_TOOLS/lcplay" -k 2 -t 15 "$BASE2/cam?token=letmein"

# The POSTed fields: exact values for the publish that was admitted and a play.
fields_ok() {
    python3 - "$LC_DIR/auth.jsonl" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:
    print(r)
want_pub = {"app": "live", "name": "cam", "token": "letmein", "expires": "123",
            "client_ip": "127.0.0.1", "action": "publish", "_path": "/check?kind=pub",
            "_ctype": "application/x-www-form-urlencoded"}
want_play = {"app": "live", "name": "cam", "token": "letmein", "expires": "",
             "client_ip": "127.0.0.1", "action": "play", "_path": "/check?kind=play",
             "_ctype": "application/x-www-form-urlencoded"}
rows = [r for r in rows if r.get("_path") != "/probe"]
ok = any(r == want_pub for r in rows) and any(r == want_play for r in rows) and len(rows) == 4
sys.exit(0 if ok else 1)
EOF
}
lc_check "auth_url got app, name, token, expires, client_ip, action form-encoded (4 requests)" fields_ok

# A player that leaves while its auth_url request is still out: the request is cancelled.
"$LC_TOOLS/lcplay" -t 1 "$BASE2/cam?token=slow" >/dev/null 2>&1
sleep 2
lc_check "spd survives a player leaving during its auth_url request" lc_alive spd2
lc_check "... and still admits players" "$LC_TOOLS/lcplay" -k 1 -t 10 "$BASE2/cam?token=letmein"

kill "$authd_pid"
wait "$authd_pid" 2>/dev/null
lc_check "auth_url unreachable → Play.Unauthorized" play_refused "$BASE2/cam?token=letmein"
lc_check "the unreachable auth_url is logged" lc_log_has spd2 "auth_url unreachable"

lc_stop spd2
lc_expect "SIGTERM: spd (auth_url) exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd (secrets) exits 0" $?
lc_done

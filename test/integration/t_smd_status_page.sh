#!/bin/sh
# smd's status page (GET /) in a real browser: headless Chromium (Debian's `chromium`,
# installed with apt when missing and we are root; otherwise the test is skipped, saying
# so). smd + spd + epd with real viewers (RTMP on the edge and the origin, HTTP-FLV on the
# edge); the page, rendered by its own script from smd's JSON API, must show both nodes
# with their roles, the stream with its viewers and the cluster's viewer count. The page
# loads nothing from elsewhere. A screenshot is kept with the test's artefacts:
# $BUILD/artefacts/smd_status_page.png (and in $LC_DIR when the logs are kept).
. "$(dirname "$0")/lib.sh"
lc_init smd_status_page

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    lc_log "installing chromium (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >"$LC_DIR/apt.log" 2>&1 ||
        { apt-get update -q >>"$LC_DIR/apt.log" 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >>"$LC_DIR/apt.log" 2>&1; }
    CHROMIUM=$(command -v chromium || true)
fi
if [ -z "$CHROMIUM" ]; then
    echo "  smd_status_page: SKIPPED: no chromium, and not root to install it (apt-get install chromium)"
    exit 0
fi

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
S="$LC_IP:$(lc_port 2)";    S_HTTP="$LC_IP:$(lc_port 3)"
E="$LC_IP:$(lc_port 4)";    E_HTTP="$LC_IP:$(lc_port 5)"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"
ART="$LC_ROOT/$BUILD/artefacts"

lc_start smd smd "node_id = \"smd-page\"; listen = \"$SMD\"; http_listen = \"$SMD_HTTP\";
report_interval_ms = 500;" || exit 1
lc_start spd spd "node_id = \"sp-page\"; listen = \"$S\"; http_listen = \"$S_HTTP\";
advertise = \"$S\"; source_managers = ( \"$SMD\" );" || exit 1
lc_start epd epd "node_id = \"ep-page\"; listen = \"$E\"; http_listen = \"$E_HTTP\";
upstream = \"$S\"; source_managers = ( \"$SMD\" );" || exit 1

lc_publish pub "rtmp://$S/live/page"
lc_check "the stream is live" lc_wait_live "$S_HTTP" live/page 10
"$LCPLAY" -c 3 -t 120 "rtmp://$E/live/page" >"$LC_DIR/edge.out" 2>&1 &
p1=$!; lc_track $p1
"$LCPLAY" -c 1 -t 120 "rtmp://$S/live/page" >"$LC_DIR/origin.out" 2>&1 &
p2=$!; lc_track $p2
curl -s -o /dev/null --max-time 120 "http://$E_HTTP/live/page.flv" &
p3=$!; lc_track $p3
five() { [ "$(lc_metric "$SMD_HTTP" livecluster_cluster_viewers)" = 5 ]; }
lc_check "smd counts the 5 viewers" lc_wait_until 15 five

# The page itself: HTML, and nothing it would fetch from elsewhere.
curl -sf --max-time 2 -D "$LC_DIR/page.headers" "http://$SMD_HTTP/" >"$LC_DIR/page.html"
lc_expect "GET / answers 200" $?
grep -qi '^content-type: text/html' "$LC_DIR/page.headers"
lc_expect "GET / is text/html" $?
# (the one URL it holds is the SVG namespace, a name, never fetched)
! sed 's|http://www.w3.org/2000/svg||g' "$LC_DIR/page.html" |
    grep -Eiq '<script[^>]+src=|<link |@import|url\(|<img |<iframe|https?://'
lc_expect "the page loads no external scripts, styles, fonts or images" $?

# render URL OUT-PREFIX — the DOM after the page's script ran, and a screenshot.
render() {
    prof="$LC_DIR/chromium-profile"
    set -- "$1" "$2" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$prof" --hide-scrollbars --window-size=1280,860 \
        --virtual-time-budget=8000
    url=$1; out=$2; shift 2
    timeout 90 "$CHROMIUM" "$@" --dump-dom "$url" >"$out.html" 2>"$out.err" &&
        timeout 90 "$CHROMIUM" "$@" --screenshot="$out.png" "$url" >/dev/null 2>>"$out.err"
}

# page_shows — the rendered page shows both nodes with roles, the stream and the viewers.
page_shows() {
    render "http://$SMD_HTTP/" "$LC_DIR/rendered" || { tail -5 "$LC_DIR/rendered.err"; return 1; }
    python3 - "$LC_DIR/rendered.html" <<'PY'
import re, sys
from html.parser import HTMLParser

class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.text, self.rows, self.row = [], {}, {}, None
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(a.get("id"))
        if tag == "tr" and ("data-node" in a or "data-stream" in a):
            self.row = ("node", a["data-node"]) if "data-node" in a else ("stream", a["data-stream"])
            self.rows[self.row] = []
    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()
        if tag == "tr":
            self.row = None
    def handle_data(self, data):
        for i in self.stack:
            if i:
                self.text[i] = self.text.get(i, "") + data
        if self.row and data.strip():
            self.rows[self.row].append(data.strip())

p = Page()
p.feed(open(sys.argv[1]).read())
print("kpis:", {k: p.text.get(k) for k in ("viewers", "nodes-spd", "nodes-epd", "plays", "error")})
print("rows:", p.rows)
node_sp = p.rows.get(("node", "sp-page"), [])
node_ep = p.rows.get(("node", "ep-page"), [])
stream = p.rows.get(("stream", "live/page"), [])
ok = (p.text.get("viewers") == "5" and p.text.get("nodes-spd") == "1" and
      p.text.get("nodes-epd") == "1" and "spd" in node_sp and "epd" in node_ep and
      stream == ["live/page", "5"] and not (p.text.get("error") or "").strip() and
      "4" in node_ep[3:4])  # the edge's viewers column: 3 RTMP + 1 HTTP-FLV
sys.exit(0 if ok else 1)
PY
}
lc_check "headless Chromium: the page shows both nodes with roles, the stream and 5 viewers" \
    lc_wait_until 60 page_shows
mkdir -p "$ART"
cp "$LC_DIR/rendered.png" "$ART/smd_status_page.png" 2>/dev/null
[ -s "$ART/smd_status_page.png" ]
lc_expect "the screenshot is kept: $BUILD/artefacts/smd_status_page.png" $?

# The page follows the cluster: a viewer leaves, the next load shows 4.
kill "$p2" 2>/dev/null
four() { [ "$(lc_metric "$SMD_HTTP" livecluster_cluster_viewers)" = 4 ]; }
lc_check "smd counts 4 viewers once the origin's viewer left" lc_wait_until 10 four
shows_four() {
    render "http://$SMD_HTTP/" "$LC_DIR/rendered2" &&
        grep -q '<b id="viewers">4</b>' "$LC_DIR/rendered2.html"
}
lc_check "the page shows it" lc_wait_until 40 shows_four

for n in epd spd smd; do
    lc_stop $n
    lc_expect "SIGTERM: $n exits 0" $?
done
lc_done

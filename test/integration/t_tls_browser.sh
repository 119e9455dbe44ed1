#!/bin/sh
# A real browser plays the edge (the project's first real-browser test): headless Chromium
# (Debian's `chromium`) loads a test page that plays HTTP-FLV with mpegts.js, and the test
# reads the video element's counters (getVideoPlaybackQuality().totalVideoFrames, and
# currentTime advancing) through puppeteer-core:
#  - page on HTTPS, stream https://EPD/live/NAME.flv (https_listen): frames decoded;
#  - page on HTTP, stream http://EPD/live/NAME.flv (http_listen): frames decoded;
#  - page on HTTPS, stream http://edge.test/… (a name, mapped to this test's address, as
#    Chromium trusts plain HTTP to loopback addresses): nothing plays (mixed content),
#    while https://edge.test/… does: why edges need TLS.
# The pages are served by a small Python server (test/integration/browser/serve.py), over
# TLS with the same test certificate as epd; Chromium trusts that certificate's public key
# only (--ignore-certificate-errors-spki-list). Screenshots are kept as artefacts in
# $BUILD/artefacts/.
#
# Setup: chromium, nodejs and npm are installed with apt-get when missing and we are root;
# mpegts.js and puppeteer-core come from the npm registry into this run's temporary
# directory (never into the tree). Without them the test says why and is skipped.
. "$(dirname "$0")/lib.sh"
lc_init tls_browser

BROWSER_DIR="$LC_ROOT/test/integration/browser"
ART="$LC_ROOT/$BUILD/artefacts"
MPEGTS_VERSION=1.8.0
PUPPETEER_VERSION=24.10.0
CHROMIUM=$(command -v chromium || command -v chromium-browser)

skip() {
    lc_log "SKIP: $*"
    lc_done
    exit 0
}

if [ -z "$CHROMIUM" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        skip "needs chromium, node and npm (as root: apt-get install chromium nodejs npm)"
    fi
    pkgs=""
    [ -z "$CHROMIUM" ] && pkgs="chromium"
    command -v node >/dev/null || pkgs="$pkgs nodejs"
    command -v npm >/dev/null || pkgs="$pkgs npm"
    lc_log "installing$pkgs with apt-get"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs \
        >"$LC_DIR/apt.log" 2>&1 ||
        { apt-get update -qq >>"$LC_DIR/apt.log" 2>&1 &&
          DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
              $pkgs >>"$LC_DIR/apt.log" 2>&1; }
    CHROMIUM=$(command -v chromium || command -v chromium-browser)
    [ -n "$CHROMIUM" ] && command -v node >/dev/null && command -v npm >/dev/null ||
        skip "could not install$pkgs (see $LC_DIR/apt.log)"
fi
# mpegts.js: only its bundled build (dist/mpegts.js) is needed, so the package is fetched
# with `npm pack` (its own dependencies are built into that file; one is a git URL).
mkdir -p "$LC_DIR/node"
if ! (cd "$LC_DIR/node" && npm install --no-audit --no-fund --loglevel=error --no-save \
        "puppeteer-core@$PUPPETEER_VERSION" &&
      npm pack --loglevel=error "mpegts.js@$MPEGTS_VERSION" &&
      tar xzf "mpegts.js-$MPEGTS_VERSION.tgz") >"$LC_DIR/npm.log" 2>&1; then
    tail -5 "$LC_DIR/npm.log"
    skip "npm could not fetch mpegts.js and puppeteer-core (no registry?)"
fi
NODE_PATH="$LC_DIR/node/node_modules"
export NODE_PATH

# ---- a certificate for the edge and the page server ----
printf 'subjectAltName=DNS:localhost,IP:%s\n' "$LC_IP" >"$LC_DIR/ext"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=livecluster test CA" -keyout "$LC_DIR/ca.key" -out "$LC_DIR/ca.pem" \
    2>"$LC_DIR/openssl.log" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$LC_DIR/srv.key" -out "$LC_DIR/srv.csr" 2>>"$LC_DIR/openssl.log" &&
    openssl x509 -req -in "$LC_DIR/srv.csr" -CA "$LC_DIR/ca.pem" -CAkey "$LC_DIR/ca.key" \
        -set_serial 7 -days 2 -extfile "$LC_DIR/ext" -out "$LC_DIR/srv.pem" \
        2>>"$LC_DIR/openssl.log"
lc_expect "made a test CA and the server certificate" $?
SPKI=$(openssl x509 -in "$LC_DIR/srv.pem" -pubkey -noout | openssl pkey -pubin -outform der |
       openssl dgst -sha256 -binary | base64)

# ---- spd, epd, the publisher, the page servers ----
SPD="$LC_IP:$(lc_port 0)"
SPD_HTTP="$LC_IP:$(lc_port 1)"
EPD="$LC_IP:$(lc_port 2)"
EPD_HTTP="$LC_IP:$(lc_port 3)"
EPD_HTTPS="$LC_IP:$(lc_port 4)"
PAGE_HTTPS="$LC_IP:$(lc_port 5)"
PAGE_HTTP="$LC_IP:$(lc_port 6)"
lc_start spd spd "listen = \"$SPD\"; http_listen = \"$SPD_HTTP\"; cluster_secret = \"s\";" ||
    exit 1
lc_start epd epd "listen = \"$EPD\"; http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\";
cluster_secret = \"s\"; https_listen = \"$EPD_HTTPS\";
tls = { cert = \"$LC_DIR/srv.pem\"; key = \"$LC_DIR/srv.key\"; };" || exit 1
lc_publish pub "rtmp://$SPD/live/b1"
lc_check "the stream is live on the origin" lc_wait_live "$SPD_HTTP" live/b1 10

mkdir -p "$LC_DIR/www" "$ART"
cp "$BROWSER_DIR/page.html" "$LC_DIR/www/" &&
    cp "$LC_DIR/node/package/dist/mpegts.js" "$LC_DIR/www/"
lc_expect "the test page and mpegts.js are in place" $?
python3 "$BROWSER_DIR/serve.py" "$LC_DIR/www" "$LC_IP" "${PAGE_HTTPS#*:}" "$LC_DIR/srv.pem" \
    "$LC_DIR/srv.key" >"$LC_DIR/page-https.log" 2>&1 &
lc_track $!
python3 "$BROWSER_DIR/serve.py" "$LC_DIR/www" "$LC_IP" "${PAGE_HTTP#*:}" \
    >"$LC_DIR/page-http.log" 2>&1 &
lc_track $!
lc_check "the HTTPS page server answers" lc_wait_until 10 curl -sf --cacert "$LC_DIR/ca.pem" \
    -o /dev/null "https://$PAGE_HTTPS/page.html"
lc_check "the HTTP page server answers" lc_wait_until 10 curl -sf -o /dev/null \
    "http://$PAGE_HTTP/page.html"

# browse NAME PAGE_URL play|blocked SECONDS — Chromium on the page; screenshot kept
browse() {
    timeout $(($4 + 60)) node "$BROWSER_DIR/drive.js" "$CHROMIUM" "$2" "$ART/tls-browser-$1.png" \
        "$SPKI" "$3" "$4" >"$LC_DIR/browser-$1.out" 2>&1
    rc=$?
    grep -v '^console: ' "$LC_DIR/browser-$1.out" | tail -3
    return $rc
}
lc_check "Chromium on an HTTPS page plays HTTPS-FLV from epd (frames decoded, time advancing)" \
    browse https "https://$PAGE_HTTPS/page.html?src=https://$EPD_HTTPS/live/b1.flv" play 40
lc_check "the same page on HTTP plays plain HTTP-FLV from epd" \
    browse http "http://$PAGE_HTTP/page.html?src=http://$EPD_HTTP/live/b1.flv" play 40
# Chromium trusts plain HTTP to loopback addresses, so the edge gets a name here (mapped to
# this test's address) as it has in production.
LC_RESOLVE="MAP edge.test $LC_IP"
export LC_RESOLVE
lc_check "an HTTPS page cannot play plain HTTP-FLV from a named edge (mixed content)" \
    browse mixed "https://$PAGE_HTTPS/page.html?src=http://edge.test:${EPD_HTTP#*:}/live/b1.flv" \
    blocked 8
lc_check "... while HTTPS-FLV from the same named edge plays" \
    browse named "https://$PAGE_HTTPS/page.html?src=https://edge.test:${EPD_HTTPS#*:}/live/b1.flv" \
    play 40
lc_log "screenshots: $ART/tls-browser-{https,http,mixed,named}.png"

lc_stop epd
lc_expect "SIGTERM: epd exits 0" $?
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

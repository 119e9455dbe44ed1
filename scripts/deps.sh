#!/bin/sh
# Installs the Debian packages that building and testing livecluster need, when missing.
# As root it runs apt-get; otherwise it names what is missing and how to install it.
# libevent-dev brings libevent_openssl (HTTPS) with it; openssl (the command) makes the TLS
# tests' certificates. The real-browser test installs chromium, nodejs and npm itself.
set -u
PACKAGES="make gcc clang libclang-rt-14-dev pkg-config libevent-dev libevent-openssl-2.1-7
libssl-dev openssl libconfig-dev libcmocka-dev libsystemd-dev ffmpeg rtmpdump curl
gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
gstreamer1.0-libav procps iproute2 python3 man-db groff-base gnuplot-nox"

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: not a Debian system; install by hand: $PACKAGES" >&2
    exit 0
fi
missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run 'sudo make deps' (or apt-get install$missing)" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null || {
    echo "deps: apt-get install failed" >&2
    exit 1
}

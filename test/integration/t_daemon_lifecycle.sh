#!/bin/sh
# The command line and systemd side of every daemon (docs/interface.md "Command line"):
# -V, -h, -t (the shipped example configs are valid); with NOTIFY_SOCKET: READY=1 once listening, STATUS=…, WATCHDOG=1 when
# WATCHDOG_USEC is set, RELOADING=1 then READY=1 on SIGHUP, STOPPING=1 on SIGTERM, exit 0.
. "$(dirname "$0")/lib.sh"
lc_init daemon_lifecycle

n=0
for d in smd spd epd; do
    bin="$LC_ROOT/$BUILD/$d"
    out=$("$bin" -V); rc=$?
    case "$out" in *"$d"*[0-9].[0-9]*) ;; *) rc=1 ;; esac
    lc_expect "$d -V prints its version and exits 0 ($out)" $rc
    "$bin" -h >"$LC_DIR/$d.help" 2>&1
    [ $? -eq 0 ] && grep -q -- "-c" "$LC_DIR/$d.help" && grep -q -- "-t" "$LC_DIR/$d.help"
    lc_expect "$d -h prints usage and exits 0" $?
    "$bin" -Z >/dev/null 2>&1
    [ $? -eq 2 ]
    lc_expect "$d with an unknown option exits 2" $?
    "$bin" -t -c "$LC_ROOT/conf/$d.conf" >/dev/null
    lc_expect "the shipped conf/$d.conf is valid ($d -t)" $?

    n=$((n + 1))
    rtmp="$LC_IP:$(lc_port $((n * 2)))"
    http="$LC_IP:$(lc_port $((n * 2 + 1)))"
    conf="listen = \"$rtmp\"; http_listen = \"$http\";"
    [ "$d" = epd ] && conf="$conf upstream = \"$LC_IP:1\";"
    printf '%s\n' "$conf" >"$LC_DIR/$d.conf"

    # systemd's end of the notification socket: record every datagram.
    python3 - "$LC_DIR/$d.notify" "$LC_DIR/$d.notes" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
with open(sys.argv[2], "w") as out:
    try:
        while True:
            msg = s.recv(4096).decode()
            out.write(msg.replace("\n", " ") + "\n")
            out.flush()
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
PY
    listener=$!
    lc_track $listener
    lc_wait_until 5 test -S "$LC_DIR/$d.notify"
    NOTIFY_SOCKET="$LC_DIR/$d.notify" WATCHDOG_USEC=400000 \
        "$bin" -c "$LC_DIR/$d.conf" >>"$LC_DIR/$d.log" 2>&1 &
    pid=$!
    lc_track $pid
    eval "${d}_pid=$pid"
    lc_check "$d answers on its HTTP API" lc_wait_http "http://$http/api/v1/health" 10
    sleep 0.6
    kill -HUP "$pid"
    sleep 0.5
    lc_stop "$d"
    lc_expect "$d: SIGTERM exits 0" $?
    wait $listener
    notes="$LC_DIR/$d.notes"
    grep -q "^READY=1" "$notes"
    lc_expect "$d: READY=1" $?
    grep -q "^STATUS=" "$notes"
    lc_expect "$d: STATUS=… ($(grep -m1 '^STATUS=' "$notes"))" $?
    grep -q "^WATCHDOG=1" "$notes"
    lc_expect "$d: WATCHDOG=1 with WATCHDOG_USEC set" $?
    grep -q "^RELOADING=1 MONOTONIC_USEC=" "$notes" &&
        [ "$(sed -n '/^RELOADING=1/,$p' "$notes" | grep -c '^READY=1')" -ge 1 ]
    lc_expect "$d: RELOADING=1 then READY=1 on SIGHUP" $?
    tail -1 "$notes" | grep -q "^STOPPING=1"
    lc_expect "$d: STOPPING=1 last" $?
done
lc_done

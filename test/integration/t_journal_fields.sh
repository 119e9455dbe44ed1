#!/bin/sh
# journald structured fields (docs/operations.md "Troubleshooting"): smd, spd and epd run
# with their stderr connected to journald as systemd connects it (a stream, JOURNAL_STREAM
# naming it), so they send entries natively: the session lines of a publish, a play, an
# HTTP-FLV play, a refusal, the edge's pull and smd's registration all carry STREAM_ID=,
# PEER=, PEER_ADDR= and NODE_ID=, and `journalctl STREAM_ID=live/x` returns those of
# live/x only; nothing is logged twice; a daemon whose stderr is not journald's keeps
# writing "<N>" lines to it.
#
# journald is a real systemd-journald in a private mount namespace (tmpfs on
# /run/systemd, /run/log and /var/log/journal, so it sees and touches nothing of the host's
# journal); where there is no systemd-journald, a Python receiver bound at
# /run/systemd/journal/socket parses the native protocol's datagrams instead
# (LC_JOURNAL_SINK=python forces it). Needs root for the namespace: elsewhere it is skipped.
. "$(dirname "$0")/lib.sh"

if [ -z "${LC_JOURNAL_NS:-}" ]; then
    if [ "$(id -u)" -eq 0 ] && unshare -m true 2>/dev/null; then
        LC_JOURNAL_NS=1 exec unshare -m --propagation private sh "$0" "$@"
    fi
    echo "  [journal_fields] skipped: no private mount namespace here (unshare -m needs root)"
    exit 0
fi
lc_init journal_fields

# ---- a journal of our own ----------------------------------------------------------

if [ -d /run/systemd ]; then mount -t tmpfs tmpfs /run/systemd; else mount -t tmpfs tmpfs /run; fi
mkdir -p /run/systemd/journal
for d in /run/log /var/log/journal; do
    [ -d "$d" ] && mount -t tmpfs tmpfs "$d"
done
JOURNALD=""
for j in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
    [ -x "$j" ] && command -v journalctl >/dev/null 2>&1 && JOURNALD=$j && break
done
[ "${LC_JOURNAL_SINK:-}" = python ] && JOURNALD=""

if [ -n "$JOURNALD" ]; then
    lc_log "journal: $JOURNALD (private namespace)"
    # Only what the test needs: volatile storage, no kernel log, no forwarding, no rate limit.
    printf '%s\n' "[Journal]" Storage=volatile ReadKMsg=no ForwardToSyslog=no ForwardToKMsg=no \
        ForwardToConsole=no ForwardToWall=no RateLimitBurst=0 >"$LC_DIR/journald.conf"
    [ -f /etc/systemd/journald.conf ] &&
        mount --bind "$LC_DIR/journald.conf" /etc/systemd/journald.conf
    [ -d /etc/systemd/journald.conf.d ] && mount -t tmpfs tmpfs /etc/systemd/journald.conf.d
    env -u NOTIFY_SOCKET -u WATCHDOG_USEC "$JOURNALD" >"$LC_DIR/journald.log" 2>&1 &
    lc_track $!
    lc_check "journald listens" lc_wait_until 10 test -S /run/systemd/journal/stdout
    # j_query MATCH... — the matching entries, journalctl's export format (KEY=value lines,
    # a blank line after each entry).
    j_query() { journalctl --no-pager -q -o export "$@" 2>/dev/null; }
else
    lc_log "journal: Python receiver of the native protocol (no systemd-journald)"
    python3 - /run/systemd/journal/socket "$LC_DIR/entries" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "w") as out:
    while True:
        d = s.recv(1 << 20)
        fields, i = [], 0
        while i < len(d):  # KEY=value\n, or KEY\n<le64 length><value>\n (binary-safe form)
            nl = d.index(b"\n", i)
            line = d[i:nl]
            if b"=" in line:
                fields.append(line)
                i = nl + 1
            else:
                n = struct.unpack("<Q", d[nl + 1:nl + 9])[0]
                fields.append(line + b"=" + d[nl + 9:nl + 9 + n])
                i = nl + 9 + n + 1
        out.write(b"".join(f + b"\n" for f in fields).decode(errors="replace") + "\n")
        out.flush()
PY
    lc_track $!
    lc_check "the receiver listens" lc_wait_until 10 test -S /run/systemd/journal/socket
    # j_query KEY=VALUE... — the entries that have every given field, export format.
    j_query() {
        awk -v want="$*" 'BEGIN { n = split(want, w, " ") }
            /^$/ { ok = 1; for (k = 1; k <= n; k++) if (!(w[k] in f)) ok = 0
                   if (ok) printf "%s\n", e; e = ""; delete f; next }
            { e = e $0 "\n"; f[$0] = 1 }' "$LC_DIR/entries"
    }
fi

# ---- the cluster -------------------------------------------------------------------

SMD="$LC_IP:$(lc_port 0)";  SMD_HTTP="$LC_IP:$(lc_port 1)"
SPD="$LC_IP:$(lc_port 2)";  SPD_HTTP="$LC_IP:$(lc_port 3)"
EPD="$LC_IP:$(lc_port 4)";  EPD_HTTP="$LC_IP:$(lc_port 5)"
SPD2="$LC_IP:$(lc_port 6)"; SPD2_HTTP="$LC_IP:$(lc_port 7)"
SECRET="journal-secret"
LCPLAY="$LC_ROOT/$BUILD/tools/lcplay"

# j_start DAEMON NAME CONFIG-TEXT — starts the daemon as systemd would under journald:
# stdout and stderr a journald stream and JOURNAL_STREAM naming it (systemd-cat makes the
# stream and then execs the daemon, so NAME_pid is the daemon's). Without journald the
# daemon is told to send natively (LIVECLUSTER_JOURNAL=native). Waits for its HTTP health.
j_start() {
    printf '%s\n' "$3" >"$LC_DIR/$2.conf"
    if [ -n "$JOURNALD" ]; then
        systemd-cat -t "$1" sh -c \
            'JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$0" -c "$1"' \
            "$LC_ROOT/$BUILD/$1" "$LC_DIR/$2.conf" &
    else
        LIVECLUSTER_JOURNAL=native "$LC_ROOT/$BUILD/$1" -c "$LC_DIR/$2.conf" \
            >>"$LC_DIR/$2.log" 2>&1 &
    fi
    eval "$2_pid=$!"
    lc_track $!
    http=$(grep -o 'http_listen *= *"[^"]*"' "$LC_DIR/$2.conf" | sed 's/.*"\(.*\)"/\1/')
    lc_wait_http "http://$http/api/v1/health" 10
}

lc_check "smd starts" j_start smd smd "node_id = \"smd-j\"; listen = \"$SMD\";
http_listen = \"$SMD_HTTP\"; cluster_secret = \"$SECRET\";"
lc_check "spd starts" j_start spd spd "node_id = \"spd-j\"; listen = \"$SPD\";
http_listen = \"$SPD_HTTP\"; cluster_secret = \"$SECRET\"; advertise = \"$SPD\";
source_managers = ( \"$SMD\" );"
lc_check "epd starts" j_start epd epd "node_id = \"epd-j\"; listen = \"$EPD\";
http_listen = \"$EPD_HTTP\"; upstream = \"$SPD\"; cluster_secret = \"$SECRET\";"

# A daemon whose stderr is a file, with a JOURNAL_STREAM inherited from elsewhere: lines
# as before, "<N>" first, and nothing sent to journald.
printf 'node_id = "spd2-j"; listen = "%s"; http_listen = "%s";\n' "$SPD2" "$SPD2_HTTP" \
    >"$LC_DIR/spd2.conf"
JOURNAL_STREAM=1:1 "$LC_ROOT/$BUILD/spd" -c "$LC_DIR/spd2.conf" >>"$LC_DIR/spd2.log" 2>&1 &
spd2_pid=$!
lc_track $spd2_pid
lc_check "spd2 (stderr to a file) starts" lc_wait_http "http://$SPD2_HTTP/api/v1/health" 10

# ---- traffic -----------------------------------------------------------------------

lc_lcpub pubx -t 60 "rtmp://$SPD/live/x"
lc_lcpub puby -t 60 "rtmp://$SPD/live/y"
lc_check "live/x is live on spd" lc_wait_live "$SPD_HTTP" live/x 10
lc_check "live/y is live on spd" lc_wait_live "$SPD_HTTP" live/y 10
"$LCPLAY" -k 2 -t 15 "rtmp://$EPD/live/x" >"$LC_DIR/play.out" 2>&1
lc_expect "an RTMP viewer on the edge plays live/x" $?
timeout 3 curl -s -o "$LC_DIR/x.flv" "http://$SPD_HTTP/live/x.flv"
lc_check "an HTTP-FLV viewer on spd plays live/x" lc_probe_ok "$LC_DIR/x.flv"
(cd "$LC_ROOT" && "$LC_TOOLS/lcpub" -x "rtmp://$SPD/live/x") >"$LC_DIR/second.out" 2>&1
lc_check "a second publisher of live/x is refused" lc_has "$LC_DIR/second.out" "result=refused"
(cd "$LC_ROOT" && "$LC_TOOLS/lcpub" -x -N "bad*name" "rtmp://$SPD/live/x") \
    >"$LC_DIR/bad.out" 2>&1
lc_check "a publish with a bad name is refused" lc_has "$LC_DIR/bad.out" "result=refused"
lc_lcpub pub2 -t 5 "rtmp://$SPD2/live/z"
lc_check "spd2 logs its publish with the priority prefix, as before" lc_wait_until 10 \
    lc_file_has "$LC_DIR/spd2.log" "^<5>spd: [0-9.]+:[0-9]+: publish live/z started$"

# ---- what journald holds -----------------------------------------------------------

# has_entry ENTRIES FIELD... — some entry (export format) in the file has every FIELD
# line (KEY=value, matched whole; a value may be a grep -E pattern).
has_entry() {
    f=$1
    shift
    awk -v pats="$(printf '%s\n' "$@")" '
        BEGIN { n = split(pats, p, "\n") }
        /^$/ { ok = 1; for (k = 1; k <= n; k++) if (!seen[k]) ok = 0
               if (ok) found = 1; delete seen; next }
        { for (k = 1; k <= n; k++) if ($0 ~ ("^" p[k] "$")) seen[k] = 1 }
        END { exit !found }' "$f" && return 0
    echo "no entry with: $*"
    grep -c '^MESSAGE=' "$f" | sed 's/^/entries in the file: /'
    return 1
}

# A client's address, as a pattern (clients connect from any loopback address; no
# backslashes: awk -v would eat them).
ADDR='[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+'
x_entries() {
    j_query STREAM_ID=live/x >"$LC_DIR/x.export"
    has_entry "$LC_DIR/x.export" "MESSAGE=.*publish live/x started.*" "SYSLOG_IDENTIFIER=spd"
}
lc_check "journalctl STREAM_ID=live/x finds the publish" lc_wait_until 10 x_entries
lc_check "the publish: STREAM_ID, PEER, PEER_ADDR, NODE_ID, PRIORITY 5" \
    has_entry "$LC_DIR/x.export" \
    "MESSAGE=$ADDR:[0-9]+: publish live/x started" "PRIORITY=5" "SYSLOG_IDENTIFIER=spd" \
    "STREAM_ID=live/x" "PEER=$ADDR:[0-9]+" "PEER_ADDR=$ADDR" "NODE_ID=spd-j"
lc_check "smd's registration of live/x (NODE_ID=smd-j, PEER=the spd's link)" \
    has_entry "$LC_DIR/x.export" "MESSAGE=live/x: registered by spd-j at .*" \
    "SYSLOG_IDENTIFIER=smd" "STREAM_ID=live/x" "PEER=$ADDR:[0-9]+" "NODE_ID=smd-j"
lc_check "the edge's pull of live/x (PEER=its upstream)" has_entry "$LC_DIR/x.export" \
    "MESSAGE=pull live/x: live from $SPD" "SYSLOG_IDENTIFIER=epd" "STREAM_ID=live/x" \
    "PEER=$SPD" "NODE_ID=epd-j"
lc_check "the edge viewer's play start" has_entry "$LC_DIR/x.export" \
    "MESSAGE=$ADDR:[0-9]+: play live/x started" "SYSLOG_IDENTIFIER=epd" "STREAM_ID=live/x" \
    "PEER_ADDR=$ADDR" "NODE_ID=epd-j"
lc_check "the origin's internal-pull play for the edge" has_entry "$LC_DIR/x.export" \
    "MESSAGE=.*play live/x started [(]internal pull[)]" "SYSLOG_IDENTIFIER=spd" "NODE_ID=spd-j"
lc_check "the HTTP-FLV viewer's start" has_entry "$LC_DIR/x.export" \
    "MESSAGE=$ADDR:[0-9]+: http-flv live/x started" "SYSLOG_IDENTIFIER=spd" "STREAM_ID=live/x"
lc_check "the refused second publisher, with the reason" has_entry "$LC_DIR/x.export" \
    "MESSAGE=$ADDR:[0-9]+: publish live/x refused: .*" "PRIORITY=6" "STREAM_ID=live/x" \
    "PEER_ADDR=$ADDR"
lc_check "connection closes carry the stream too" has_entry "$LC_DIR/x.export" \
    "MESSAGE=$ADDR:[0-9]+: closed .* live/x in=[0-9]+ out=[0-9]+" "STREAM_ID=live/x"
! grep -q "live/y" "$LC_DIR/x.export"
lc_expect "STREAM_ID=live/x returns nothing about live/y" $?
! grep -q "^CODE_FILE=" "$LC_DIR/x.export"
lc_expect "no CODE_FILE= of libstream's own (the same for every entry)" $?
j_query STREAM_ID=live/y >"$LC_DIR/y.export"
has_entry "$LC_DIR/y.export" "MESSAGE=.*publish live/y started" "STREAM_ID=live/y" >/dev/null
lc_expect "STREAM_ID=live/y returns live/y's publish" $?

# The bad name is refused before there is a stream: the peer, but no STREAM_ID.
j_query SYSLOG_IDENTIFIER=spd >"$LC_DIR/spd.export"
lc_check "the bad-name refusal has PEER but no STREAM_ID" awk '
    /^$/ { if (m && p && !s) ok = 1; m = p = s = 0; next }
    /^MESSAGE=.*publish refused: bad stream id/ { m = 1 }
    /^PEER=/ { p = 1 } /^STREAM_ID=/ { s = 1 }
    END { exit !ok }' "$LC_DIR/spd.export"
j_query NODE_ID=spd2-j >"$LC_DIR/spd2.export"
[ ! -s "$LC_DIR/spd2.export" ]
lc_expect "spd2 (stderr not journald's) sent nothing to journald" $?

if [ -n "$JOURNALD" ]; then
    j_query _TRANSPORT=stdout SYSLOG_IDENTIFIER=spd >"$LC_DIR/spd-stdout.export"
    [ ! -s "$LC_DIR/spd-stdout.export" ]
    lc_expect "spd wrote no line to its journald stream (nothing logged twice)" $?
    j_query SYSLOG_IDENTIFIER=spd _TRANSPORT=journal >"$LC_DIR/spd-native.export"
    n=$(grep -c '^MESSAGE=.*publish live/x started' "$LC_DIR/spd-native.export")
    [ "$n" -eq 1 ]
    lc_expect "the publish is one native entry (_TRANSPORT=journal), not two ($n)" $?
else
    [ ! -s "$LC_DIR/spd.log" ]
    lc_expect "spd wrote nothing to stderr (nothing logged twice)" $?
fi

for d in epd spd smd spd2; do
    lc_stop "$d"
    lc_expect "SIGTERM: $d exits 0" $?
done
lc_done

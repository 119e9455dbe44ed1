#!/bin/sh
# spd configuration and signals (docs/interface.md "Command line").
#  - spd -t: exit 0 on good files (the shipped conf/spd.conf too); exit 1 with exactly one
#    line "FILE:LINE: message" on bad ones.
#  - SIGHUP reloads without dropping anyone: a viewer plays at real-time pace through
#    every reload; a changed log_level takes effect; a new play.secret applies to new
#    viewers only; an invalid new file is logged and ignored (the old config stays).
#  - SIGTERM: graceful stop, exit 0.
. "$(dirname "$0")/lib.sh"
lc_init spd_config

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
URL="rtmp://$RTMP/live/cam"
SPD="$LC_ROOT/$BUILD/spd"

# ---- spd -t ----
check_ok() {
    out=$("$SPD" -t -c "$1" 2>&1)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ]
}
# check_bad FILE LINE — exit 1 and stderr is exactly one line "FILE:LINE: message".
check_bad() {
    "$SPD" -t -c "$1" >"$LC_DIR/t.out" 2>"$LC_DIR/t.err"
    rc=$?
    cat "$LC_DIR/t.out" "$LC_DIR/t.err"
    [ $rc -eq 1 ] || { echo "exit status $rc"; return 1; }
    [ ! -s "$LC_DIR/t.out" ] || { echo "unexpected stdout"; return 1; }
    [ "$(wc -l <"$LC_DIR/t.err")" -eq 1 ] || { echo "not exactly one line"; return 1; }
    grep -Eq "^$1:$2: .+" "$LC_DIR/t.err"
}
lc_check "spd -t accepts conf/spd.conf" check_ok "$LC_ROOT/conf/spd.conf"
printf 'listen = "%s";\nhttp_listen = "%s";\nplay = { secret = "s"; };\n' "$RTMP" "$HTTP" \
    >"$LC_DIR/good.conf"
lc_check "spd -t accepts a small valid file" check_ok "$LC_DIR/good.conf"
printf 'node_id = "a";\nlisten = ;\n' >"$LC_DIR/bad_syntax.conf"
lc_check "spd -t: syntax error → exit 1, FILE:2: message" check_bad "$LC_DIR/bad_syntax.conf" 2
printf '\n\nbogus_key = 1;\n' >"$LC_DIR/bad_key.conf"
lc_check "spd -t: unknown key → exit 1, FILE:3: message" check_bad "$LC_DIR/bad_key.conf" 3
printf 'max_connections = 0;\n' >"$LC_DIR/bad_range.conf"
lc_check "spd -t: out of range → exit 1, FILE:1: message" check_bad "$LC_DIR/bad_range.conf" 1
printf 'node_id = "a";\nlog_level = "loud";\n' >"$LC_DIR/bad_level.conf"
lc_check "spd -t: bad log_level → exit 1, FILE:2: message" check_bad "$LC_DIR/bad_level.conf" 2
printf 'publish = {\n  secret = 5;\n};\n' >"$LC_DIR/bad_type.conf"
lc_check "spd -t: wrong type in a group → exit 1, FILE:2: message" check_bad "$LC_DIR/bad_type.conf" 2

# ---- SIGHUP ----
conf() { # conf LOG_LEVEL [EXTRA] — the running config text
    printf 'listen = "%s";\nhttp_listen = "%s";\nlog_level = "%s";\n%s\n' "$RTMP" "$HTTP" "$1" "$2"
}
lc_start spd spd "$(conf info)" || exit 1
lc_publish pub "$URL"
lc_check "stream goes live" lc_wait_live "$HTTP" live/cam 10
"$LC_TOOLS/lcplay" -p 70 -k 100000 -t 60 "$URL" >"$LC_DIR/viewer.out" 2>&1 &
viewer_pid=$!
lc_track $viewer_pid

# hup N — SIGHUP, then wait for the Nth outcome line (reloaded or failed) in the log.
outcomes_logged() { # N — at least N reload outcomes are in the log
    [ "$(grep -Ec 'configuration reloaded|reload failed' "$LC_DIR/spd.log")" -ge "$1" ]
}
hup() {
    kill -HUP "$spd_pid"
    if ! lc_wait_until 5 outcomes_logged "$1"; then
        echo "no reload outcome logged"
        return 1
    fi
    sleep 1 # let the long-running viewer play on for a while after each reload
}
# debug_lines — how many debug lines the log holds so far
debug_lines() { grep -c ' spd debug: ' "$LC_DIR/spd.log"; }

"$LC_TOOLS/lcplay" -k 1 -t 10 "$URL" >/dev/null 2>&1
[ "$(debug_lines)" -eq 0 ]
lc_expect "log_level info: no debug lines" $?

conf debug >"$LC_DIR/spd.conf"
lc_check "SIGHUP with log_level debug: reloaded" hup 1
lc_check "SIGHUP: logged as reloaded" lc_log_has spd "configuration reloaded"
"$LC_TOOLS/lcplay" -k 1 -t 10 "$URL" >/dev/null 2>&1
d1=$(debug_lines)
[ "$d1" -gt 0 ]
lc_expect "the new log_level took effect (a new viewer's connect is logged at debug: $d1 lines)" $?

printf 'listen = "%s";\nthis is not a config\n' "$RTMP" >"$LC_DIR/spd.conf"
lc_check "SIGHUP with an invalid file: reload fails" hup 2
lc_check "the invalid file is logged with FILE:LINE" \
    lc_log_has spd "error: $LC_DIR/spd.conf:2: "
lc_check "reload failure logged, old configuration kept" \
    lc_log_has spd "reload failed: keeping the running configuration"
lc_check "spd still running" lc_alive spd
"$LC_TOOLS/lcplay" -k 1 -t 10 "$URL" >/dev/null 2>&1
lc_expect "still serving new viewers under the old configuration" $?
[ "$(debug_lines)" -gt "$d1" ]
lc_expect "the old log_level (debug) is still in force" $?

conf info 'play = { secret = "reloaded-secret"; };' >"$LC_DIR/spd.conf"
lc_check "SIGHUP with play.secret: reloaded" hup 3
lc_check "a new viewer without a token is now refused" \
    "$LC_TOOLS/lcplay" -e NetStream.Play.Unauthorized -t 10 "$URL"
conf info >"$LC_DIR/spd.conf"
lc_check "SIGHUP back to no secret: reloaded" hup 4
lc_check "new viewers are admitted again" "$LC_TOOLS/lcplay" -k 1 -t 10 "$URL"

kill -TERM $viewer_pid
wait $viewer_pid
lc_expect "the viewer connected before the reloads played through all four at real-time pace" $?
wall=$(sed -n 's/^player=0 .* wall_ms=\([0-9]*\) .*/\1/p' "$LC_DIR/viewer.out")
[ "${wall:-0}" -ge 4000 ]
lc_expect "... for the whole sequence (${wall} ms of wall time)" $?
sed 's/^/        /' "$LC_DIR/viewer.out"
lc_check "... on its first connection" lc_has "$LC_DIR/viewer.out" '^player=0 ok=1 .* closed=0'

# ---- SIGTERM ----
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_check "SIGTERM: stop logged" lc_log_has spd "SIGTERM received: stopping"
lc_check "SIGTERM: the publisher was closed by the stop" lc_log_has spd "publish live/cam stopped"
lc_done

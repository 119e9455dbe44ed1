#!/bin/sh
# spd recording quota (docs/security.md, docs/configuration.md "record"):
#  - record.max_bytes: a recording stops before the tag that would pass the limit, with
#    a log line; the file is at most max_bytes and a valid FLV file of whole tags; the
#    publish goes on and viewers still play;
#  - record.min_free_bytes: with less free space than that on the filesystem, the
#    recording stops at once with a log line (nothing is written past the check);
#  - bad values are refused by `spd -t` with one line FILE:LINE: message;
#  - SIGTERM in the middle of a recording: the writer finishes the file (whole tags).
. "$(dirname "$0")/lib.sh"
lc_init spd_record_quota

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
SPD="$LC_ROOT/$BUILD/spd"
MAX=50000   # the fixture is ~17 KB/s: reached after ~3 s of publishing

# ---- spd -t ----
check_bad() {
    printf 'listen = "%s";\nhttp_listen = "%s";\n%s\n' "$RTMP" "$HTTP" "$1" >"$LC_DIR/bad.conf"
    "$SPD" -t -c "$LC_DIR/bad.conf" >"$LC_DIR/t.out" 2>&1
    rc=$?
    cat "$LC_DIR/t.out"
    [ $rc -eq 1 ] && [ "$(wc -l <"$LC_DIR/t.out")" -eq 1 ] &&
        grep -Eq "^$LC_DIR/bad.conf:3: '$2' must be between" "$LC_DIR/t.out"
}
lc_check "spd -t refuses record.max_bytes = -1" check_bad "record = { max_bytes = -1; };" record.max_bytes
lc_check "spd -t refuses record.min_free_bytes = -5" \
    check_bad "record = { min_free_bytes = -5; };" record.min_free_bytes

# ---- max_bytes ----
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\";
record = { enabled = true; dir = \"$LC_DIR/rec\"; max_bytes = $MAX; };" || exit 1
lc_publish pub "rtmp://$RTMP/live/q1"
lc_check "stream goes live" lc_wait_live "$HTTP" live/q1 10
lc_check "max_bytes reached: logged" lc_wait_log spd "record live/q1: .* reached record.max_bytes \\($MAX\\); recording stopped" 15
file=$(ls "$LC_DIR"/rec/live/q1-*.flv 2>/dev/null | head -1)
size=$(stat -c %s "$file" 2>/dev/null || echo 0)
[ -n "$file" ] && [ "$size" -gt 13 ] && [ "$size" -le "$MAX" ]
lc_expect "the file stopped at or under max_bytes ($size <= $MAX)" $?
sleep 1
size2=$(stat -c %s "$file" 2>/dev/null || echo 0)
[ "$size2" = "$size" ]
lc_expect "the file no longer grows ($size2)" $?
lc_check "the file is whole tags (flvinfo reads it to the end)" "$LC_TOOLS/flvinfo" "$file"
lc_check "the publish goes on: still live" lc_stream_is "$HTTP" live/q1 live true
lc_check "a viewer still plays" "$LC_TOOLS/lcplay" -k 2 -t 10 "rtmp://$RTMP/live/q1"
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
kill "$pub_pid" 2>/dev/null

# ---- min_free_bytes: more than any test filesystem has ----
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\";
record = { enabled = true; dir = \"$LC_DIR/rec2\"; min_free_bytes = 1125899906842624L; };" || exit 1
lc_publish pub2 "rtmp://$RTMP/live/q2"
lc_check "stream goes live" lc_wait_live "$HTTP" live/q2 10
lc_check "free space under min_free_bytes: logged" \
    lc_wait_log spd "record live/q2: free space under record.min_free_bytes" 10
file=$(ls "$LC_DIR"/rec2/live/q2-*.flv 2>/dev/null | head -1)
size=$(stat -c %s "$file" 2>/dev/null || echo missing)
[ "$size" = 0 ]
lc_expect "nothing was written ($size bytes)" $?
lc_check "the publish goes on: a viewer plays" "$LC_TOOLS/lcplay" -k 2 -t 10 "rtmp://$RTMP/live/q2"
lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
kill "$pub2_pid" 2>/dev/null

# ---- SIGTERM while recording ----
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\";
record = { enabled = true; dir = \"$LC_DIR/rec3\"; };" || exit 1
lc_publish pub3 "rtmp://$RTMP/live/q3"
lc_check "stream goes live" lc_wait_live "$HTTP" live/q3 10
sleep 2
lc_stop spd
lc_expect "SIGTERM while recording: spd exits 0" $?
file=$(ls "$LC_DIR"/rec3/live/q3-*.flv 2>/dev/null | head -1)
lc_check "the recording was finished at exit: logged" lc_log_has spd "record live/q3: finished"
lc_check "the recording is whole tags" "$LC_TOOLS/flvinfo" "$file"
lc_done

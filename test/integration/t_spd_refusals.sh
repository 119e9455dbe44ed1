#!/bin/sh
# spd standalone: what is refused, and that a refusal costs nothing else.
#  - duplicate publish → NetStream.Publish.BadName
#  - bad stream ids (../x, spaces, 300 characters, in the name or the app) for publish
#    and play → NetStream.Publish.BadName / NetStream.Play.BadName
#  - play of an unknown stream → NetStream.Play.StreamNotFound after play_wait_timeout
#  - garbage, a truncated handshake, an oversized chunk size or message length, thousands
#    of chunk stream ids, a malformed command: the connection is closed, one log line
#    names the peer, and a normal viewer is served afterwards
. "$(dirname "$0")/lib.sh"
lc_init spd_refusals

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
HOST=${RTMP%:*}
PORT=${RTMP#*:}
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"info\";
play_wait_timeout = 2; handshake_timeout = 2; max_message_size = 1048576;
max_chunk_streams = 64; max_chunk_size = 65536;" || exit 1
lc_publish pub "rtmp://$RTMP/live/cam"
lc_check "stream goes live" lc_wait_live "$HTTP" live/cam 10
URL="rtmp://$RTMP/live/cam"

# pub_refused CODE ARGS... — lcpub is answered with exactly this error status.
pub_refused() {
    code=$1
    shift
    out=$("$LC_TOOLS/lcpub" -x -t 10 "$@" "$LC_FIXTURE")
    echo "$out"
    echo "$out" | grep -q "^status error $code\$" && echo "$out" | grep -q '^result=refused'
}
# play_refused CODE ARGS... — every lcplay player is refused with this code.
play_refused() {
    code=$1
    shift
    "$LC_TOOLS/lcplay" -t 10 -e "$code" "$@"
}

lc_check "duplicate publish → Publish.BadName" pub_refused NetStream.Publish.BadName "$URL"

LONG=$(printf 'x%.0s' $(seq 1 300))
for bad in "../x" "a b" ".hidden" "$LONG"; do
    short=$(printf '%.12s' "$bad")
    lc_check "publish name '$short…' → Publish.BadName" \
        pub_refused NetStream.Publish.BadName -N "$bad" "$URL"
    lc_check "play name '$short…' → Play.BadName" \
        play_refused NetStream.Play.BadName -N "$bad" "$URL"
done
lc_check "publish app '../x' → Publish.BadName" pub_refused NetStream.Publish.BadName -A "../x" "$URL"
lc_check "play app 'a b' → Play.BadName" play_refused NetStream.Play.BadName -A "a b" "$URL"
lc_check "play app of 300 characters → Play.BadName" play_refused NetStream.Play.BadName -A "$LONG" "$URL"
lc_check "bad ids never became streams" sh -c \
    "curl -sf http://$HTTP/api/v1/streams | python3 -c 'import json,sys; s=json.load(sys.stdin)[\"streams\"]; print(s); sys.exit(len(s) != 1)'"
n=$(lc_metric "$HTTP" 'livecluster_play_failures_total{reason="bad_name"}')
[ "$n" -ge 6 ]
lc_expect "metrics: play bad_name failures counted ($n)" $?

lc_check "unknown stream → Play.StreamNotFound after play_wait_timeout" \
    play_refused NetStream.Play.StreamNotFound "rtmp://$RTMP/live/nobody"
lc_check "StreamNotFound logged" lc_log_has spd "play live/nobody failed: not live within play_wait_timeout"

# attack NAME EXPECTED-LOG — runs one hostile client; the server must close it, log one
# line naming the client's address and that reason, and keep serving viewers.
attack() {
    out=$(python3 "$LC_RAW" "$HOST" "$PORT" "$1" --wait 10)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || return 1
    peer=$(echo "$out" | sed -n 's/^local=\([^ ]*\) .*/\1/p')
    lc_wait_log spd "$peer: closed: .*$2" 3 || return 1
    grep -F "$peer: closed" "$LC_DIR/spd.log"
}
lc_check "garbage instead of a handshake: closed and logged" attack garbage "not RTMP version 3"
lc_check "truncated handshake: closed at handshake_timeout and logged" attack short-hs "handshake timeout"
lc_check "malformed command: closed and logged" attack bad-command "LS_EPROTO"
lc_check "chunk size over max_chunk_size: closed and logged" attack chunk-size "chunk size"
lc_check "message length over max_message_size: closed and logged" attack msg-length "message length"
lc_check "3000 chunk stream ids: closed and logged" attack csids "too many chunk streams"
n=$(lc_metric "$HTTP" livecluster_protocol_errors_total)
[ "$n" -ge 6 ]
lc_expect "metrics: protocol errors counted ($n)" $?

lc_check "spd still running" lc_alive spd
lc_check "a normal viewer is served after all that" "$LC_TOOLS/lcplay" -k 2 -t 15 "$URL"
lc_check "ffprobe decodes after all that" lc_probe_ok "$URL"

lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

#!/bin/sh
# spd standalone: one publisher per stream id. A second publisher of a live id is refused
# with NetStream.Publish.BadName while the first one sends media; once the first stops
# sending but keeps its socket open (ffmpeg under SIGSTOP), a new publisher of the same
# id takes over after publish_takeover_idle, the stale one is closed, and viewers get the
# new publisher's media. Checked once without viewers (the stream must survive the
# stale publisher leaving) and once with a viewer attached.
. "$(dirname "$0")/lib.sh"
lc_init spd_takeover

RTMP="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
lc_start spd spd "listen = \"$RTMP\"; http_listen = \"$HTTP\"; log_level = \"info\";
publish_takeover_idle = 2; publisher_idle_timeout = 60;" || exit 1

# pub_once URL — lcpub: publish and exit as soon as the server answers.
pub_once() { "$LC_TOOLS/lcpub" -x -t 10 "$1" "$LC_FIXTURE"; }

# refused_busy URL — a second publisher is refused with exactly Publish.BadName.
refused_busy() {
    out=$(pub_once "$1")
    echo "$out"
    echo "$out" | grep -q '^status error NetStream.Publish.BadName$' &&
        echo "$out" | grep -q '^result=refused'
}

# takes_over NAME URL — starts lcpub NAME publishing URL, retrying (bounded) while the old
# publisher is not idle long enough yet; succeeds once NAME got Publish.Start.
takes_over() {
    i=0
    while [ $i -lt 20 ] && lc_alive spd; do
        lc_lcpub "$1" -t 30 "$2" "$LC_FIXTURE"
        lc_wait_until 5 lc_file_has "$LC_DIR/$1.out" '^status '
        if grep -q '^status status NetStream.Publish.Start$' "$LC_DIR/$1.out"; then
            return 0
        fi
        eval "wait \$${1}_pid"
        cat "$LC_DIR/$1.out"
        sleep 0.5
        i=$((i + 1))
    done
    return 1
}

for round in 1 2; do
    id="live/t$round"
    URL="rtmp://$RTMP/$id"
    lc_publish "ff$round" "$URL"
    lc_check "round $round: ffmpeg's stream goes live" lc_wait_live "$HTTP" "$id" 10
    if [ $round -eq 2 ]; then
        # a viewer that stays through the takeover: it must see media stop (the stalled
        # publisher) and resume (the new one) on one connection, timestamps going forward
        "$LC_TOOLS/lcplay" -t 60 -k 100000 -g 1 "$URL" >"$LC_DIR/viewer.out" 2>&1 &
        viewer_pid=$!
        lc_track $viewer_pid
    fi
    lc_check "round $round: second publisher of an active id refused with Publish.BadName" \
        refused_busy "$URL"
    lc_log_has spd "publish $id refused: already publishing here"
    lc_expect "round $round: the refusal is logged" $?

    eval "kill -STOP \$ff${round}_pid"
    lc_check "round $round: new publisher takes over the stalled one" takes_over "new$round" "$URL"
    lc_check "round $round: takeover logged" lc_wait_log spd "publish $id started \\(took over an idle publisher\\)" 5
    lc_check "round $round: spd still running" lc_alive spd
    lc_check "round $round: the stream is live again" lc_wait_live "$HTTP" "$id" 10
    lc_check "round $round: a new viewer decodes the new publisher's stream" \
        "$LC_TOOLS/lcplay" -k 2 -t 15 "$URL"
    # The stale publisher is woken up: it must find its connection closed by the server.
    eval "kill -CONT \$ff${round}_pid"
    stale_gone() {
        eval "lc_wait_exit \$ff${round}_pid 10" && return 0
        echo "ffmpeg still running after SIGCONT"
        return 1
    }
    lc_check "round $round: the stale ffmpeg finds itself disconnected and exits" stale_gone
    lc_check "round $round: the new publisher is still live" lc_wait_live "$HTTP" "$id" 2
    eval "kill \$new${round}_pid"
done

kill -TERM $viewer_pid
wait $viewer_pid
# ok=1: it started, got keyframes, saw a gap followed by video, never saw timestamps go
# backwards, and was never closed by the server.
lc_check "round 2: the viewer attached through the takeover resumed after the gap" \
    lc_has "$LC_DIR/viewer.out" '^player=0 ok=1 .* closed=0'
[ "$(lc_metric "$HTTP" livecluster_publish_takeovers_total)" = 2 ]
lc_expect "metrics: livecluster_publish_takeovers_total = 2" $?
[ "$(lc_metric "$HTTP" 'livecluster_publish_failures_total{reason="busy"}')" -ge 2 ]
lc_expect "metrics: busy refusals counted" $?

lc_stop spd
lc_expect "SIGTERM: spd exits 0" $?
lc_done

#!/bin/sh
# smd's soft state: a client that stops pinging loses its entries when its lease lapses
# while a pinging client keeps them; smd killed with SIGKILL and restarted is complete
# again within 3 s because spd's registry client (spd/registry.c, driven by smdctl -R)
# reconnects and re-announces; a second session of the same node replaces the first and
# keeps its entries.
. "$(dirname "$0")/lib.sh"
lc_init smd_lease

REG="$LC_IP:$(lc_port 0)"
HTTP="$LC_IP:$(lc_port 1)"
SECRET=lease-secret
SMDCTL="$LC_ROOT/$BUILD/tools/smdctl"
CONF="node_id = \"sm-lease\"; listen = \"$REG\"; http_listen = \"$HTTP\";
cluster_secret = \"$SECRET\"; log_level = \"debug\"; lease_seconds = 2;"

ctl() { "$SMDCTL" -s "$SECRET" "$@"; }

lc_start smd smd "$CONF" || exit 1

# ---- lease ----
ctl -n sp-quiet -a 127.0.0.1:1935 "$REG" hello pings off register live/quiet sleep 8000 \
    >"$LC_DIR/Q.out" 2>&1 &
lc_track $!
ctl -n sp-alive -a 127.0.0.2:1935 "$REG" hello register live/alive sleep 8000 lookup live/alive \
    >"$LC_DIR/K.out" 2>&1 &
K_pid=$!
lc_track $K_pid
lc_check "both registered" lc_wait_owner "$HTTP" live/quiet sp-quiet 5
lc_check "the silent session's entry vanishes when its 2 s lease lapses" \
    lc_wait_owner "$HTTP" live/quiet "" 6
lc_log_has smd "node sp-quiet .*lease of 2s lapsed; 1 streams dropped"
lc_expect "the lapse is logged" $?
grep -q "^closed" "$LC_DIR/Q.out"
lc_expect "smd closed the silent session" $?
[ "$(lc_stream_field "$HTTP" live/alive node_id)" = sp-alive ]
lc_expect "the pinging session keeps its entry past the lease" $?
wait $K_pid
grep -q "^lookup live/alive ok" "$LC_DIR/K.out" && ! grep -q "^closed" "$LC_DIR/K.out"
lc_expect "the pinging session lived through 8 s (4 leases)" $?
curl -sf "http://$HTTP/metrics" | grep -qxF "livecluster_smd_lease_expiries_total 1"
lc_expect "metrics: one lease expiry" $?

# ---- a second session of the same node replaces the first, entries move ----
ctl -n sp-twice -a 127.0.0.3:1935 "$REG" hello register live/twice sleep 8000 \
    >"$LC_DIR/T1.out" 2>&1 &
lc_track $!
lc_wait_file "$LC_DIR/T1.out" "^register live/twice ok" 5 >/dev/null
ctl -n sp-twice -a 127.0.0.3:1935 "$REG" hello register live/twice sleep 300 lookup live/twice \
    >"$LC_DIR/T2.out" 2>&1
gen1=$(sed -n 's/^register live\/twice ok \([0-9]*\)$/\1/p' "$LC_DIR/T1.out")
grep -q "^register live/twice ok $gen1$" "$LC_DIR/T2.out"
lc_expect "re-registration by the same node keeps the entry (generation $gen1)" $?
lc_check "the older session is closed" lc_wait_file "$LC_DIR/T1.out" "^closed" 3
lc_log_has smd "node sp-twice: new session from .* replaces the one from .* \(1 streams moved\)"
lc_expect "the replacement is logged" $?

# ---- smd SIGKILL + restart: spd's client re-announces ----
"$SMDCTL" -R -s "$SECRET" -m "$REG" -n sp-r -a 127.0.0.4:1935 wait-up 1 claim live/r claim live/r2 \
    watch live/later sleep 20000 >"$LC_DIR/R.out" 2>&1 &
lc_track $!
lc_check "spd client claims live/r and live/r2" lc_wait_file "$LC_DIR/R.out" "^claim live/r2 ok$" 10
[ "$(lc_stream_field "$HTTP" live/r origin)" = 127.0.0.4:1935 ]
lc_expect "listed with the spd's advertise address" $?
kill -9 "$smd_pid"
wait "$smd_pid" 2>/dev/null
lc_start smd smd2 "$CONF" || exit 1
both_listed() {
    ids=$(curl -sf "http://$HTTP/api/v1/streams")
    case $ids in *'"live/r"'*'"live/r2"'*) return 0 ;; esac
    echo "$ids"
    return 1
}
lc_check "after the restart both are listed again within 3 s" lc_wait_until 3 both_listed
lc_log_has smd2 "node sp-r .* joined"
lc_expect "the client's new session is logged" $?
# the re-watch reached the new smd too: a registration of live/later is reported
ctl -n sp-later -a 127.0.0.5:1935 "$REG" hello register live/later >"$LC_DIR/L.out" 2>&1
lc_check "the restarted smd knows the client's watch" \
    lc_wait_file "$LC_DIR/R.out" "^event registered live/later 127.0.0.5:1935 sp-later$" 5
! grep -q "revoked" "$LC_DIR/R.out"
lc_expect "nothing was revoked" $?

lc_stop smd2
lc_expect "SIGTERM: smd exits 0" $?
lc_done

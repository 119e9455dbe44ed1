#!/bin/sh
# Two smd side by side and spd's registry client (spd/registry.c, driven by smdctl -R):
# a claim registers with both; a Busy from either refuses it and undoes the registration
# at the other; with one smd down claims go on with the other, and the one that comes back
# receives the full re-announce; two nodes that both held an id while the registries were
# split are settled by publisher start time (the earlier keeps it, the other is revoked
# and releases it everywhere).
. "$(dirname "$0")/lib.sh"
lc_init smd_multi

REG1="$LC_IP:$(lc_port 0)"
HTTP1="$LC_IP:$(lc_port 1)"
REG2="$LC_IP:$(lc_port 2)"
HTTP2="$LC_IP:$(lc_port 3)"
SECRET=multi-secret
SMDCTL="$LC_ROOT/$BUILD/tools/smdctl"
conf() {
    echo "node_id = \"$1\"; listen = \"$2\"; http_listen = \"$3\";
cluster_secret = \"$SECRET\"; log_level = \"debug\"; lease_seconds = 4;"
}

# spd NODE ADVERTISE [-m ...] STEPS... — spd's registry client against the given smds
spd() {
    node=$1
    adv=$2
    shift 2
    "$SMDCTL" -R -s "$SECRET" -n "$node" -a "$adv" "$@"
}

lc_start smd s1 "$(conf sm-1 "$REG1" "$HTTP1")" || exit 1
lc_start smd s2 "$(conf sm-2 "$REG2" "$HTTP2")" || exit 1

# ---- a claim reaches both; a second node is refused by both ----
spd sp-a 127.0.0.1:1935 -m "$REG1" -m "$REG2" wait-up 2 claim live/m 100 sleep 30000 \
    >"$LC_DIR/A.out" 2>&1 &
lc_track $!
lc_check "sp-a claims live/m" lc_wait_file "$LC_DIR/A.out" "^claim live/m ok$" 10
[ "$(lc_stream_field "$HTTP1" live/m node_id)" = sp-a ] &&
    [ "$(lc_stream_field "$HTTP2" live/m node_id)" = sp-a ]
lc_expect "both registries list live/m owned by sp-a" $?
spd sp-b 127.0.0.2:1935 -m "$REG1" -m "$REG2" wait-up 2 claim live/m lookup live/m \
    >"$LC_DIR/B.out" 2>&1
grep -q "^claim live/m busy published on sp-a (127.0.0.1:1935)$" "$LC_DIR/B.out" &&
    grep -q "^lookup live/m ok 127.0.0.1:1935 sp-a$" "$LC_DIR/B.out"
lc_expect "sp-b's claim is refused (Busy, owner named); lookup finds sp-a" $?
grep -q "^event probe live/m idle$" "$LC_DIR/A.out"
lc_expect "sp-a's client answered the probes through its publisher_idle hook" $?

# ---- an idle owner is taken over at both registries; it is revoked once ----
spd sp-t 127.0.0.7:1935 -m "$REG1" -m "$REG2" idle 60000 wait-up 2 claim live/t sleep 30000 \
    >"$LC_DIR/T.out" 2>&1 &
lc_track $!
lc_check "sp-t claims live/t" lc_wait_file "$LC_DIR/T.out" "^claim live/t ok$" 10
spd sp-u 127.0.0.8:1935 -m "$REG1" -m "$REG2" -T 1000 wait-up 2 claim live/t lookup live/t \
    >"$LC_DIR/U.out" 2>&1
grep -q "^claim live/t ok$" "$LC_DIR/U.out" && grep -q "^lookup live/t ok 127.0.0.8:1935 sp-u$" "$LC_DIR/U.out"
lc_expect "sp-u takes over live/t (owner idle 60 s >= 1 s)" $?
lc_check "sp-t is revoked" lc_wait_file "$LC_DIR/T.out" "^event revoked live/t$" 5
sleep 0.3
[ "$(grep -c "^event revoked live/t$" "$LC_DIR/T.out")" -eq 1 ]
lc_expect "... exactly once, though both registries revoked it" $?

# ---- a cancelled claim leaves nothing behind ----
spd sp-v 127.0.0.10:1935 -m "$REG1" -m "$REG2" wait-up 2 claim-cancel live/v sleep 500 \
    lookup live/v >"$LC_DIR/V.out" 2>&1
grep -q "^lookup live/v notfound$" "$LC_DIR/V.out" && ! grep -q "^claim live/v" "$LC_DIR/V.out"
lc_expect "claim cancelled before its answer: no callback, not registered anywhere" $?

# ---- Busy at one registry only: the other's acceptance is undone ----
"$SMDCTL" -s "$SECRET" -n sp-x -a 127.0.0.9:1935 "$REG2" hello register live/q sleep 30000 \
    >"$LC_DIR/X.out" 2>&1 &
lc_track $!
lc_wait_file "$LC_DIR/X.out" "^register live/q ok" 5 >/dev/null
spd sp-b 127.0.0.2:1935 -m "$REG1" -m "$REG2" wait-up 2 claim live/q sleep 500 \
    >"$LC_DIR/B2.out" 2>&1
grep -q "^claim live/q busy published on sp-x" "$LC_DIR/B2.out"
lc_expect "Busy from one of two registries refuses the claim" $?
lc_check "the registry that accepted it no longer lists it" lc_wait_owner "$HTTP1" live/q "" 3
[ "$(lc_stream_field "$HTTP2" live/q node_id)" = sp-x ]
lc_expect "the other still lists its real owner" $?

# ---- one registry down: claims go on; when it returns it gets the re-announce ----
lc_stop s2
lc_expect "SIGTERM: smd s2 exits 0" $?
spd sp-c 127.0.0.3:1935 -m "$REG1" -m "$REG2" wait-up 1 claim live/c sleep 30000 \
    >"$LC_DIR/C.out" 2>&1 &
lc_track $!
lc_check "with one registry down a claim succeeds" lc_wait_file "$LC_DIR/C.out" "^claim live/c ok$" 10
[ "$(lc_stream_field "$HTTP1" live/c node_id)" = sp-c ]
lc_expect "the live registry lists it" $?
spd sp-c2 127.0.0.3:1936 -m "$REG2" claim live/alone sleep 30000 >"$LC_DIR/C2.out" 2>&1 &
lc_track $!
lc_check "with no registry reachable a claim succeeds (standalone)" \
    lc_wait_file "$LC_DIR/C2.out" "^claim live/alone ok no smd reachable$" 10
spd sp-c3 127.0.0.3:1937 -m "$REG2" lookup live/alone >"$LC_DIR/C3.out" 2>&1
grep -q "^lookup live/alone unreachable$" "$LC_DIR/C3.out"
lc_expect "with no registry reachable a lookup says unreachable" $?

# ---- split registries: two nodes hold live/z; the earlier publisher keeps it ----
spd sp-late 127.0.0.5:1935 -m "$REG1" -m "$REG2" wait-up 1 claim live/z 300 sleep 30000 \
    >"$LC_DIR/Z1.out" 2>&1 &
lc_track $!
lc_check "sp-late (since 300) claims live/z at the one registry up" \
    lc_wait_file "$LC_DIR/Z1.out" "^claim live/z ok$" 10
spd sp-early 127.0.0.6:1935 -m "$REG2" claim live/z 200 sleep 30000 >"$LC_DIR/Z2.out" 2>&1 &
lc_track $!
lc_check "sp-early (since 200) claims it standalone" \
    lc_wait_file "$LC_DIR/Z2.out" "^claim live/z ok no smd reachable$" 10

lc_start smd s2b "$(conf sm-2 "$REG2" "$HTTP2")" || exit 1
lc_check "the returning registry receives the re-announce of live/m" lc_wait_owner "$HTTP2" live/m sp-a 6
lc_check "... of live/c" lc_wait_owner "$HTTP2" live/c sp-c 3
lc_check "... of the standalone claim" lc_wait_owner "$HTTP2" live/alone sp-c2 3
lc_check "live/z: the earlier publisher (sp-early) wins at the returning registry" \
    lc_wait_owner "$HTTP2" live/z sp-early 6
lc_check "sp-late is revoked" lc_wait_file "$LC_DIR/Z1.out" "^event revoked live/z$" 5
lc_check "sp-late released live/z at the other registry too" lc_wait_owner "$HTTP1" live/z "" 5
! grep -q revoked "$LC_DIR/Z2.out" && ! grep -q revoked "$LC_DIR/A.out"
lc_expect "nobody else was revoked" $?
lc_log_has s2b "live/z: .*re-announce of an earlier publisher|register live/z refused: owned by sp-early"
lc_expect "the settlement is logged" $?

lc_stop s1
lc_expect "SIGTERM: smd s1 exits 0" $?
lc_stop s2b
lc_expect "SIGTERM: smd s2 (restarted) exits 0" $?
lc_done

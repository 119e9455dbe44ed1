#!/bin/sh
# run.sh — the seed's deployment on one machine (test/topology/topology.py).
#
#   make topology                         the full size: 1 smd, 5 spd, 34 epd, 10 minutes
#   make topology TOPOLOGY_ARGS="--duration 1200 --smd 2"
#   BUILD=build sh test/topology/run.sh --ci     the CI-sized form (part of make check)
#
# Needs root and `ip netns`; the CI-sized form says it skipped otherwise, the full one
# refuses. The tool removes its namespaces and stops its daemons on every way out
# (Ctrl-C included); if it is killed outright, this script removes what it left.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in
/*) ;;
*) BUILD="$ROOT/$BUILD" ;;
esac
# The system interpreter: the tool needs only python3's standard library.
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
# Ctrl-C reaches the tool (same process group), which cleans up; this shell waits for it.
trap ':' INT TERM HUP
"$PY" "$ROOT/test/topology/topology.py" --build "$BUILD" "$@"
rc=$?
"$PY" "$ROOT/test/topology/topology.py" --cleanup-stale
exit $rc

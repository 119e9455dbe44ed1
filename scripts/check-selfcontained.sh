#!/bin/sh
# check-selfcontained.sh — the repository must stand on its own: no tracked file may point
# at documents that live outside it (the project-wide INTERFACE.md and ARCHITECTURE.md, or
# anything under ../shared or /work/shared). Their content is in docs/interface.md and
# docs/architecture.md; refer to those instead.
#
# Prints every offending line as FILE:LINE:TEXT and exits 1 when there is one, 0 when
# there is none, 2 when the check itself could not run. Run from anywhere inside the
# checkout; in an unpacked tarball (no git) every file under the top directory is checked.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 2
SELF=scripts/check-selfcontained.sh
# Case-sensitive on purpose: docs/interface.md and docs/architecture.md are fine.
PATTERN='INTERFACE\.md|ARCHITECTURE\.md|\.\./shared|/work/shared'

cd "$ROOT" || exit 2
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files as they are in the working tree; binary files are skipped.
    out=$(git grep -n -I -E -e "$PATTERN" -- . ":(exclude)$SELF")
    rc=$?
else
    out=$(grep -rnI -E --exclude-dir=.git --exclude-dir=build -e "$PATTERN" .)
    rc=$?
    if [ "$rc" -eq 0 ]; then
        out=$(printf '%s\n' "$out" | sed 's#^\./##' | grep -v "^$SELF:")
        [ -n "$out" ] || rc=1
    fi
fi
# grep: 0 = matches, 1 = none, anything else = an error.
case $rc in
0)
    printf '%s\n' "$out"
    n=$(printf '%s\n' "$out" | wc -l)
    echo "check-selfcontained: $n line(s) refer to documents outside the repository;" \
         "point them at docs/interface.md or docs/architecture.md" >&2
    exit 1
    ;;
1)
    echo "check-selfcontained: ok"
    exit 0
    ;;
*)
    echo "check-selfcontained: the search failed (status $rc)" >&2
    exit 2
    ;;
esac

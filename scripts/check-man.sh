#!/bin/sh
# check-man.sh — the manual pages in man/ must render cleanly: `man --warnings` (groff's
# warnings) prints nothing for any of them at 80 columns. The pages are the operator's
# reference (livecluster.conf(5) lists every key; test/unit/spd/test_confdocs.c checks
# that none is missing); a page that renders with warnings usually renders wrongly.
#
# Prints each page's warnings and exits 1 when there is one, 0 when there is none. Without
# man(1) (man-db) the check is skipped with a note and exits 0; `make deps` installs it.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd) || exit 2
cd "$ROOT" || exit 2
if ! command -v man >/dev/null 2>&1; then
    echo "check-man: man(1) not installed; skipped (make deps installs man-db)"
    exit 0
fi
status=0
n=0
for page in man/*.[1-9]; do
    [ -e "$page" ] || continue
    n=$((n + 1))
    warnings=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
    if [ -n "$warnings" ]; then
        echo "check-man: $page:"
        printf '%s\n' "$warnings" | sed 's/^/    /'
        status=1
    fi
done
[ "$status" -eq 0 ] && echo "check-man: $n pages render without warnings"
exit $status

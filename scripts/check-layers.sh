#!/bin/sh
# Fails when libstream's modules include each other in a cycle.
#
# A module is a file's basename without .c, .h or _int.h (conn.c, conn.h and conn_int.h
# are one module "conn"). Every quoted include among libstream's own files
# ("libstream/x.h", "x_int.h") is an edge from the including module to the included one;
# tsort(1) then finds any cycle in the graph. Run from the top of the tree.
set -eu

files=$(find libstream -name '*.c' -o -name '*.h' | sort)
module() { basename "$1" | sed -e 's/\.[ch]$//' -e 's/_int$//'; }

edges=$(for f in $files; do
    from=$(module "$f")
    echo "$from $from" # every module is a node, also one without edges
    sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r inc; do
            to=$(module "$inc")
            [ "$to" = "$from" ] || echo "$from $to"
        done
done)

if ! out=$(echo "$edges" | tsort 2>&1 >/dev/null) || [ -n "$out" ]; then
    echo "check-layers: libstream modules include each other in a cycle:" >&2
    echo "$out" | awk '/input contains a loop/ { if (c) print c; c = "  loop:"; next }
                      { sub(/^tsort: /, ""); c = c " " $0 } END { if (c) print c }' >&2
    exit 1
fi
echo "check-layers: $(echo "$files" | wc -w) files, no include cycles between modules"

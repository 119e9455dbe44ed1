#!/bin/sh
# Prints gcov line coverage per libstream source file and in total.
# Usage: coverage.sh BUILD_DIR SOURCES...
build=$1
shift
# The protocol codec modules are the files under libstream/codec/ (issue: at least 85%
# of their lines covered).
total_lines=0
total_hit=0
codec_lines=0
codec_hit=0
printf '%-32s %8s %8s %7s\n' file lines covered percent
for src in "$@"; do
    obj="$build/obj/${src%.c}.o"
    [ -f "$obj" ] || continue
    # gcov -n prints "File 'x.c'\nLines executed:NN.NN% of M" without writing .gcov files.
    out=$(gcov -n -o "$(dirname "$obj")" "$src" 2>/dev/null | awk -v f="$src" '
        $0 ~ "^File .*" f "'"'"'$" { want = 1; next }
        want && /^Lines executed:/ { sub(/Lines executed:/, ""); split($0, a, "% of "); print a[1], a[2]; exit }')
    [ -n "$out" ] || { printf '%-32s %8s %8s %7s\n' "$src" "-" 0 "0.00%"; continue; }
    pct=${out% *}
    lines=${out#* }
    hit=$(awk -v p="$pct" -v l="$lines" 'BEGIN { printf "%d", p * l / 100 + 0.5 }')
    total_lines=$((total_lines + lines))
    total_hit=$((total_hit + hit))
    case "$src" in
    libstream/codec/*) codec_lines=$((codec_lines + lines)); codec_hit=$((codec_hit + hit)) ;;
    esac
    printf '%-32s %8d %8d %6.2f%%\n' "$src" "$lines" "$hit" "$pct"
done
awk -v h="$codec_hit" -v l="$codec_lines" 'BEGIN {
    printf "%-32s %8d %8d %6.2f%%\n", "codec modules", l, h, l ? 100 * h / l : 0 }'
awk -v h="$total_hit" -v l="$total_lines" 'BEGIN {
    printf "%-32s %8d %8d %6.2f%%\n", "TOTAL", l, h, l ? 100 * h / l : 0 }'

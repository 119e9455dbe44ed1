#!/bin/sh
# Fails when a pure codec reaches the event loop, the logger, sockets or another module.
#
# Every file under libstream/codec/ is followed through the libstream headers it
# includes, transitively. Each libstream header reached must belong to a codec (a module
# with its .c in libstream/codec/) or to a foundation listed below, and no file on the way
# may include a system header that does I/O or needs a loop (FORBIDDEN). Run from the top
# of the tree; an optional argument names another codec directory (for testing the check).
set -eu

dir=${1:-libstream/codec}
# Modules the codecs may build on: errors, buffers, byte order, frames, protocol
# constants, stream ids, addresses, hex and HMAC, array growth.
FOUNDATIONS="err buf bytes frame rtmp streamid addr hex hmac array"
# System headers a codec never needs: the event loop, sockets and DNS, file descriptors,
# syslog, threads.
FORBIDDEN='^(event2/|event\.h$|sys/socket\.h$|sys/un\.h$|netinet/|arpa/|netdb\.h$|unistd\.h$|fcntl\.h$|poll\.h$|sys/epoll\.h$|sys/select\.h$|syslog\.h$|pthread\.h$)'

module() { basename "$1" | sed -e 's/\.[ch]$//' -e 's/_int$//'; }
allowed=" $FOUNDATIONS $(for f in "$dir"/*.c; do module "$f"; done | tr '\n' ' ') "

# Where a quoted include from file $1 lives.
resolve() {
    case $2 in
    libstream/*) echo "libstream/include/$2" ;;
    *) if [ -f "$(dirname "$1")/$2" ]; then echo "$(dirname "$1")/$2"; else echo "libstream/$2"; fi ;;
    esac
}

bad=0
for src in "$dir"/*.c "$dir"/*.h; do
    [ -f "$src" ] || continue
    todo=$src
    seen=" "
    while [ -n "$todo" ]; do
        set -- $todo
        f=$1
        shift
        todo=$*
        case $seen in *" $f "*) continue ;; esac
        seen="$seen$f "
        for sys in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<\([^>]*\)>.*/\1/p' "$f"); do
            if echo "$sys" | grep -Eq "$FORBIDDEN"; then
                echo "check-pure: $src reaches <$sys> (through $f)" >&2
                bad=1
            fi
        done
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
            path=$(resolve "$f" "$inc")
            case $allowed in
            *" $(module "$inc") "*) ;;
            *) echo "check-pure: $src reaches \"$inc\" (through $f): not a codec or foundation" >&2
               bad=1
               continue ;;
            esac
            [ -f "$path" ] || { echo "check-pure: $f includes \"$inc\": not found" >&2; bad=1; continue; }
            todo="$todo $path"
        done
    done
done
[ "$bad" -eq 0 ] || exit 1
echo "check-pure: $(ls "$dir"/*.c | wc -l) codec files reach only codecs, foundations and pure system headers"

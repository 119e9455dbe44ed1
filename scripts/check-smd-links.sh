#!/bin/sh
# Fails when the smd binary given as $1 links libstream's media side: the RTMP server
# (ls_server_*), its sessions (ls_session_*), the hub (ls_hub_*), HTTP-FLV or the hub's
# streams API. smd is the registry: it serves the registry protocol and HTTP only. If one
# of these shows up, a generic module (http.c, conn.c, daemon.c, ...) has grown a
# dependency on the media node; cut it there rather than here.
bin=${1:?usage: check-smd-links.sh BUILD/smd}
if ! syms=$(nm "$bin"); then
    echo "check-smd-links: cannot read the symbols of $bin" >&2
    exit 1
fi
bad=$(printf '%s\n' "$syms" | grep -E ' (ls_hub_|ls_session_|ls_server_|ls_httpflv_|ls_streamsapi_)')
if [ -n "$bad" ]; then
    echo "check-smd-links: $bin links the media side of libstream:" >&2
    printf '%s\n' "$bad" >&2
    exit 1
fi
echo "smd links no RTMP server, session or hub code"

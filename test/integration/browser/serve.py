#!/usr/bin/env python3
"""serve.py ROOT HOST PORT [CERT KEY] — the browser test's page server: static files from
ROOT over HTTP, or over HTTPS with CERT and KEY (a page on HTTPS may only load HTTPS
streams: that is what the test shows)."""
import functools
import http.server
import ssl
import sys


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass


def main():
    if len(sys.argv) not in (4, 6):
        sys.exit(__doc__)
    root, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    handler = functools.partial(Quiet, directory=root)
    server = http.server.ThreadingHTTPServer((host, port), handler)
    if len(sys.argv) == 6:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[4], sys.argv[5])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

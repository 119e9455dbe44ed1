#!/usr/bin/env python3
"""rtmpflood.py — clients that flood or starve a daemon, for the integration tests of the
connection bounds (docs/architecture.md decision 10). Raw sockets; the handshake and the
chunk headers come from rawrtmp.py.

    rtmpflood.py HOST PORT ATTACK [--bytes N] [--hold SEC] [--wait SEC] [--count N]

ATTACK is one of
  ack-empty   Window Acknowledgement Size 1, a zero-length audio message, then single
              type-3 header bytes (each one more zero-length message) — N bytes of them
  ack-1b      Window Acknowledgement Size 1, then one-byte audio messages (type-3 header
              and one byte each) — N bytes; a well-behaved server answers with few
              cumulative acknowledgements and keeps the connection
  ping        ping requests (type-3 repeats of one, 7 bytes each) — N bytes
  error       connect, then calls of an unknown method (answered with _error) — N bytes
  dribble     connect, then one ping request a second, never publishing or playing
  slowloris   (HTTP port) a request's headers one byte every 0.5 s, never finished
  http-hold   (HTTP port) --count connections opened together and kept idle; prints how
              many the server closed within --wait seconds
None of the clients reads what the server sends.

Prints "phase=sent local=IP:PORT sent=BYTES" once the flood is out, then keeps still for
--hold seconds (default 0; for the caller to measure the daemon meanwhile), then one line "local=IP:PORT attack=A closed=0|1
after=SECONDS sent=BYTES" and exits 0 when the server closed the connection within --wait
seconds (default 10), 1 when it did not, 2 on a local error.
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rawrtmp import chunk0, handshake, wait_closed  # noqa: E402


def amf0_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def amf0_num(v):
    return b"\x00" + struct.pack(">d", v)


def connect_cmd():
    body = amf0_str("connect") + amf0_num(1) + b"\x03" + \
        struct.pack(">H", 3) + b"app" + amf0_str("live") + b"\x00\x00\x09"
    return chunk0(3, 0, len(body), 20, 0) + body


def repeat(first, then, nbytes):
    """`first`, then `then` repeated up to about nbytes in total."""
    n = max(0, (nbytes - len(first)) // max(1, len(then)))
    return first + then * n


def flood_bytes(name, nbytes):
    wack = chunk0(2, 0, 4, 5, 0) + struct.pack(">I", 1)
    if name == "ack-empty":
        return repeat(wack + chunk0(4, 0, 0, 8, 1), b"\xc4", nbytes)
    if name == "ack-1b":
        return repeat(wack + chunk0(4, 0, 1, 8, 1) + b"\xaf", b"\xc4\xaf", nbytes)
    if name == "ping":
        ping = struct.pack(">HI", 6, 4242)
        return repeat(chunk0(2, 0, len(ping), 4, 0) + ping, b"\xc2" + ping, nbytes)
    if name == "error":
        body = amf0_str("noSuchMethod") + amf0_num(7) + b"\x05"
        return repeat(connect_cmd() + chunk0(5, 0, len(body), 20, 0) + body,
                      b"\xc5" + body, nbytes)
    return b""


def send_all(s, data):
    """Sends data; False when the server closed or reset the connection meanwhile."""
    view = memoryview(data)
    try:
        while len(view) > 0:
            n = s.send(view[:65536])
            view = view[n:]
    except (ConnectionResetError, BrokenPipeError):
        return False
    return True


def report_sent(local, sent):
    print("phase=sent local=%s sent=%d" % (local, sent))
    sys.stdout.flush()


def http_hold(host, port, count, wait):
    socks = [socket.create_connection((host, port), timeout=5) for _ in range(count)]
    report_sent("-", 0)
    deadline = time.time() + wait
    closed = set()
    while time.time() < deadline and len(closed) < count:
        for i, s in enumerate(socks):
            if i in closed:
                continue
            s.settimeout(0.05)
            try:
                if not s.recv(4096):
                    closed.add(i)
            except socket.timeout:
                pass
            except OSError:
                closed.add(i)
    for s in socks:
        s.close()
    print("attack=http-hold count=%d closed=%d" % (count, len(closed)))
    return 0


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]

    def opt(key, default):
        return type(default)(sys.argv[sys.argv.index(key) + 1]) if key in sys.argv else default
    nbytes = opt("--bytes", 4 << 20)
    wait = opt("--wait", 10.0)
    hold = opt("--hold", 0.0)
    if name == "http-hold":
        return http_hold(host, port, opt("--count", 10), wait)
    start = time.time()
    deadline = start + wait
    sent = 0
    closed = False
    s = socket.create_connection((host, port), timeout=5)
    # a small receive buffer: what the server sends piles up on its side, not in ours
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    local = "%s:%d" % s.getsockname()[:2]
    try:
        if name in ("ack-empty", "ack-1b", "ping", "error"):
            sent = handshake(s, deadline)
            data = flood_bytes(name, nbytes)
            closed = not send_all(s, data)
            sent += len(data)
            report_sent(local, sent)
            time.sleep(hold)
            deadline += hold
        elif name == "dribble":
            sent = handshake(s, deadline)
            closed = not send_all(s, connect_cmd())
            report_sent(local, sent)
            ping = chunk0(2, 0, 6, 4, 0) + struct.pack(">HI", 6, 1)
            while not closed and time.time() < deadline:
                closed = not send_all(s, ping)
                sent += len(ping)
                s.settimeout(1.0)
                try:
                    if not s.recv(65536):
                        closed = True
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
        elif name == "slowloris":
            req = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
            report_sent(local, 0)
            for c in req:
                if time.time() >= deadline:
                    break
                if not send_all(s, bytes([c])):
                    closed = True
                    break
                sent += 1
                s.settimeout(0.5)
                try:
                    if not s.recv(65536):
                        closed = True
                        break
                except socket.timeout:
                    pass
                except OSError:
                    closed = True
                    break
        else:
            print("unknown attack %s" % name, file=sys.stderr)
            return 2
        if not closed:
            closed = wait_closed(s, deadline)
    except ConnectionError as e:
        closed = True
        print("note: %s" % e, file=sys.stderr)
    except OSError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    finally:
        s.close()
    print("local=%s attack=%s closed=%d after=%.1f sent=%d" %
          (local, name, closed, time.time() - start, sent))
    sys.stdout.flush()
    return 0 if closed else 1


if __name__ == "__main__":
    sys.exit(main())

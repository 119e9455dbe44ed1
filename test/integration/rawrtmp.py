#!/usr/bin/env python3
"""rawrtmp.py — hostile and half-open RTMP clients for the integration tests (raw sockets).

    rawrtmp.py HOST PORT ATTACK [--wait SEC]

ATTACK is one of
  garbage       4 KiB of junk with a bad version byte instead of C0
  short-hs      C0 and the first 700 bytes of C1, then silence (a truncated handshake)
  bad-command   a valid plain handshake, then a command message (type 20) whose AMF
                body is junk
  chunk-size    a valid handshake, then Set Chunk Size 16777215 (over max_chunk_size)
  msg-length    a valid handshake, then a type-0 chunk header announcing a 16 MiB - 1
                message (over max_message_size)
  csids         a valid handshake, then the start of a message on each of 3000 chunk
                stream ids (over max_chunk_streams)
  hold          a valid handshake, then silence: holds a connection slot until --wait ends
  connect       TCP connect only: reports whether the server closed at once (refusal)

Prints one line "local=IP:PORT attack=A closed=0|1 after=SECONDS sent=BYTES" (local is
the address the server logs as the peer) and exits 0 when the server closed the
connection within --wait seconds (default 10), 1 when it did not, 2 on a local error.
With `hold`, exits 0 when the server kept the connection open for the whole wait.

The plain handshake (RTMP 1.0 §5.2): C0 = 3, C1 = time(4) zero(4) random(1528); the
server answers S0 S1 S2; C2 = S1 echoed.
"""
import os
import socket
import struct
import sys
import time


def recv_exact(s, n, deadline):
    out = b""
    while len(out) < n:
        s.settimeout(max(0.05, deadline - time.time()))
        chunk = s.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed during handshake")
        out += chunk
    return out


def handshake(s, deadline):
    c1 = struct.pack(">II", 0, 0) + os.urandom(1528)
    s.sendall(b"\x03" + c1)
    s0s1s2 = recv_exact(s, 1 + 1536 + 1536, deadline)
    if s0s1s2[0] != 3:
        raise ConnectionError("server answered version %d" % s0s1s2[0])
    s.sendall(s0s1s2[1:1537])  # C2 = S1
    return 1 + 1536 + 1536


def chunk0(csid, ts, length, mtype, msid):
    """Basic header (fmt 0) and the 11-byte message header."""
    if csid < 64:
        basic = bytes([csid])
    elif csid < 320:
        basic = bytes([0, csid - 64])
    else:
        v = csid - 64
        basic = bytes([1, v & 0xFF, v >> 8])
    return basic + struct.pack(">I", ts)[1:] + struct.pack(">I", length)[1:] + \
        bytes([mtype]) + struct.pack("<I", msid)


def attack_bytes(name):
    if name == "bad-command":
        body = b"\xff" * 64
        return chunk0(3, 0, len(body), 20, 0) + body
    if name == "chunk-size":
        return chunk0(2, 0, 4, 1, 0) + struct.pack(">I", 16777215)
    if name == "msg-length":
        return chunk0(3, 0, 0xFFFFFF, 9, 1) + b"\x17" * 64
    if name == "csids":
        out = bytearray()
        for csid in range(3, 3003):
            # a whole first chunk (128 bytes at the initial chunk size) of a 200-byte
            # message: each chunk stream is left holding a half-read message
            out += chunk0(csid, 0, 200, 9, 1) + b"\x17" * 128
        return bytes(out)
    return b""


def wait_closed(s, deadline):
    """True when the server closes (EOF or reset) before the deadline; drains input."""
    while time.time() < deadline:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not data:
            return True
    return False


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    wait = 10.0
    if "--wait" in sys.argv:
        wait = float(sys.argv[sys.argv.index("--wait") + 1])
    start = time.time()
    deadline = start + wait
    sent = 0
    closed = False
    s = socket.create_connection((host, port), timeout=5)
    local = "%s:%d" % s.getsockname()[:2]
    try:
        if name == "garbage":
            junk = b"\xff" + os.urandom(4095)
            s.sendall(junk)
            sent = len(junk)
        elif name == "short-hs":
            part = b"\x03" + bytes(8) + os.urandom(691)
            s.sendall(part)
            sent = len(part)
        elif name in ("bad-command", "chunk-size", "msg-length", "csids", "hold"):
            sent = handshake(s, deadline)
            payload = attack_bytes(name)
            try:
                s.sendall(payload)
                sent += len(payload)
            except (ConnectionResetError, BrokenPipeError):
                closed = True
        elif name != "connect":
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
    if name == "hold":
        return 0 if not closed else 1
    return 0 if closed else 1


if __name__ == "__main__":
    sys.exit(main())

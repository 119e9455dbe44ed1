#!/usr/bin/env python3
"""tlsclient.py — TLS clients for t_tls*.sh that see what curl and ffmpeg hide.

  tlsclient.py records CAFILE HOST PORT PATH SECONDS
      GET PATH over HTTPS through memory BIOs, so every TLS record the server sends is
      seen before decryption; decodes the chunked FLV body for SECONDS and prints
      "records=R tags=T bytes=B" (records and bytes after the request was sent).
  tlsclient.py handshakes HOST PORT N SECONDS
      opens N connections, each sending the first 60 bytes of a TLS ClientHello and then
      nothing; after at most SECONDS prints "closed=C open=O" (closed by the server).
"""
import socket
import ssl
import sys
import time


def parse_records(state, data):
    """Counts TLS records in raw bytes (state: [header bytes, body left, records])."""
    i = 0
    while i < len(data):
        if state[1] > 0:
            take = min(state[1], len(data) - i)
            state[1] -= take
            i += take
            continue
        state[0] += bytes([data[i]])
        i += 1
        if len(state[0]) == 5:
            state[1] = state[0][3] << 8 | state[0][4]
            state[0] = b""
            state[2] += 1


class FlvCounter:
    """HTTP response header, chunked transfer coding, then FLV tags."""

    def __init__(self):
        self.buf = b""
        self.stage = "header"
        self.body = b""
        self.tags = 0

    def feed(self, data):
        self.buf += data
        if self.stage == "header":
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].decode("latin-1")
            if " 200 " not in head.split("\r\n")[0]:
                raise SystemExit("bad response: " + head.split("\r\n")[0])
            self.buf = self.buf[end + 4:]
            self.stage = "chunks"
        while True:  # chunked: SIZE CRLF DATA CRLF
            line = self.buf.find(b"\r\n")
            if line < 0:
                break
            size = int(self.buf[:line].split(b";")[0], 16)
            if len(self.buf) < line + 2 + size + 2:
                break
            self.body += self.buf[line + 2:line + 2 + size]
            self.buf = self.buf[line + 2 + size + 2:]
        if self.stage == "chunks" and len(self.body) >= 13:
            self.body = self.body[13:]  # FLV header and PreviousTagSize0
            self.stage = "tags"
        while self.stage == "tags" and len(self.body) >= 11:
            size = int.from_bytes(self.body[1:4], "big")
            if len(self.body) < 11 + size + 4:
                break
            self.body = self.body[11 + size + 4:]
            self.tags += 1


def records(cafile, host, port, path, seconds):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.check_hostname = False
    sock = socket.create_connection((host, int(port)), 5)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=host)
    state = [b"", 0, 0]

    def flush():
        data = out.read()
        if data:
            sock.sendall(data)

    while True:
        try:
            tls.do_handshake()
            break
        except ssl.SSLWantReadError:
            flush()
            data = sock.recv(65536)
            if not data:
                raise SystemExit("closed during the handshake")
            inc.write(data)
    flush()
    tls.write(("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (path, host)).encode())
    flush()
    state[2] = 0
    flv = FlvCounter()
    nbytes = 0
    end = time.time() + float(seconds)
    sock.settimeout(0.5)
    while time.time() < end:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        if not data:
            break
        nbytes += len(data)
        parse_records(state, data)
        inc.write(data)
        while True:
            try:
                flv.feed(tls.read(65536))
            except ssl.SSLWantReadError:
                break
    print("records=%d tags=%d bytes=%d" % (state[2], flv.tags, nbytes))


def handshakes(host, port, n, seconds):
    # The start of a real ClientHello (record header, handshake header, version, random).
    hello = bytes.fromhex("160301020001000200fc0303") + bytes(48)
    socks = []
    for _ in range(int(n)):
        s = socket.create_connection((host, int(port)), 5)
        s.sendall(hello)
        socks.append(s)
    end = time.time() + float(seconds)
    closed = set()
    while time.time() < end and len(closed) < len(socks):
        for i, s in enumerate(socks):
            if i in closed:
                continue
            s.setblocking(False)
            try:
                if s.recv(4096) == b"":
                    closed.add(i)
            except BlockingIOError:
                pass
            except OSError:
                closed.add(i)
        time.sleep(0.1)
    print("closed=%d open=%d" % (len(closed), len(socks) - len(closed)))


if __name__ == "__main__":
    if len(sys.argv) == 7 and sys.argv[1] == "records":
        records(*sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "handshakes":
        handshakes(*sys.argv[2:])
    else:
        sys.exit(__doc__)

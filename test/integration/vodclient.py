#!/usr/bin/env python3
"""vodclient.py — a scripted RTMP player for files on demand (raw sockets, AMF0).

    vodclient.py HOST PORT APP NAME [options]

Connects (plain handshake), creates a stream, optionally asks getStreamLength, plays NAME
and prints one line per thing the server sends on the way:

    length 20.015                          _result of getStreamLength (seconds)
    length-error NetStream.Play.StreamNotFound
    status NetStream.Play.Start            onStatus on the play's stream
    media T TS key|inter|seq|-             audio (T=8) / video (T=9) message, timestamp,
                                           video frame kind (audio: seq for its config)
    data onPlayStatus NetStream.Play.Complete
    data onMetaData
    control 1                              user control event (0 begin, 1 EOF, 4 recorded)
    seek MS / pause / unpause              what the client sent, when it sent it
    end complete|stop|timeout|closed       why the run ended

Options:
  --start MS        play's start argument (default -2, as ffmpeg sends)
  --duration MS     play's duration argument
  --length          send getStreamLength first (as ffmpeg does)
  --seek MS         send seek(MS) once --after seconds of media timestamps have arrived
  --after SEC       (default 1.0)
  --pause SEC       pause for SEC seconds once --after seconds of media have arrived
                    (after the seek, when both are given), then unpause
  --until WHAT      "stop" (default: Play.Stop or the connection ends), or a number of
                    media seconds after which the client leaves
  --timeout SEC     give up after SEC seconds of wall time (default 60)
  --no-read SEC     stop reading for SEC seconds right after Play.Start (a stalled viewer;
                    its receive buffer is made small, so the server's queue fills soon)

NAME may carry \\xHH escapes (a NUL byte: 'missing\\x00x').

Exit status 0 when the run ended by Play.Stop or --until; 1 otherwise; 2 on a local error.
Timestamps printed are the message timestamps as sent (absolute, fmt 0 or deltas applied).
"""
import argparse
import os
import socket
import struct
import sys
import time


def amf_enc(v):
    if v is None:
        return b"\x05"
    if isinstance(v, bool):
        return b"\x01" + (b"\x01" if v else b"\x00")
    if isinstance(v, (int, float)):
        return b"\x00" + struct.pack(">d", float(v))
    if isinstance(v, str):
        b = v.encode()
        return b"\x02" + struct.pack(">H", len(b)) + b
    if isinstance(v, dict):
        out = b"\x03"
        for k, x in v.items():
            kb = k.encode()
            out += struct.pack(">H", len(kb)) + kb + amf_enc(x)
        return out + b"\x00\x00\x09"
    raise ValueError(v)


def amf_dec(b, i):
    t = b[i]
    i += 1
    if t == 0:
        return struct.unpack(">d", b[i:i + 8])[0], i + 8
    if t == 1:
        return b[i] != 0, i + 1
    if t == 2:
        n = struct.unpack(">H", b[i:i + 2])[0]
        return b[i + 2:i + 2 + n].decode(errors="replace"), i + 2 + n
    if t == 12:
        n = struct.unpack(">I", b[i:i + 4])[0]
        return b[i + 4:i + 4 + n].decode(errors="replace"), i + 4 + n
    if t in (5, 6):
        return None, i
    if t in (3, 8):
        if t == 8:
            i += 4
        obj = {}
        while True:
            n = struct.unpack(">H", b[i:i + 2])[0]
            k = b[i + 2:i + 2 + n].decode(errors="replace")
            i += 2 + n
            if n == 0 and b[i] == 9:
                return obj, i + 1
            obj[k], i = amf_dec(b, i)
    if t == 10:
        n = struct.unpack(">I", b[i:i + 4])[0]
        i += 4
        arr = []
        for _ in range(n):
            v, i = amf_dec(b, i)
            arr.append(v)
        return arr, i
    if t == 11:
        return struct.unpack(">d", b[i:i + 8])[0], i + 10
    raise ValueError("amf type %d" % t)


def amf_all(b):
    out, i = [], 0
    while i < len(b):
        v, i = amf_dec(b, i)
        out.append(v)
    return out


class Conn:
    def __init__(self, host, port, deadline, rcvbuf=0):
        self.s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        if rcvbuf:
            # before connect, so the window the server sees stays small
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.settimeout(5)
        self.s.connect((host, port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.deadline = deadline
        self.buf = b""
        self.in_chunk = 128
        self.out_chunk = 128
        self.prev = {}       # csid -> [ts, len, type, sid]
        self.partial = {}    # csid -> bytes
        self.received = 0
        self.acked = 0
        self.window = 2500000
        self.closed = False

    def recv_some(self, timeout):
        self.s.settimeout(max(0.01, timeout))
        try:
            d = self.s.recv(65536)
        except socket.timeout:
            return False
        if not d:
            self.closed = True
            return False
        self.buf += d
        self.received += len(d)
        if self.received - self.acked >= self.window // 2:
            self.acked = self.received
            self.send_msg(2, 3, 0, 0, struct.pack(">I", self.received & 0xffffffff))
        return True

    def need(self, n):
        while len(self.buf) < n:
            if self.closed or time.time() > self.deadline:
                raise EOFError()
            self.recv_some(self.deadline - time.time())
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def handshake(self):
        self.s.sendall(b"\x03" + struct.pack(">II", 0, 0) + os.urandom(1528))
        s0s1s2 = self.need(1 + 1536 + 1536)
        self.s.sendall(s0s1s2[1:1537])

    def send_msg(self, csid, mtype, ts, sid, payload):
        hdr = bytes([csid]) + struct.pack(">I", ts)[1:] + struct.pack(">I", len(payload))[1:] + \
            bytes([mtype]) + struct.pack("<I", sid)
        out = hdr + payload[:self.out_chunk]
        rest = payload[self.out_chunk:]
        while rest:
            out += bytes([0xc0 | csid]) + rest[:self.out_chunk]
            rest = rest[self.out_chunk:]
        self.s.sendall(out)

    def command(self, sid, *vals):
        self.send_msg(3 if sid == 0 else 8, 20, 0, sid, b"".join(amf_enc(v) for v in vals))

    def try_message(self):
        """One whole message from what is buffered, or None (never blocks)."""
        b = self.buf
        if not b:
            return None
        i = 0
        fmt, csid = b[0] >> 6, b[0] & 0x3f
        i = 1
        if csid == 0:
            if len(b) < 2:
                return None
            csid = 64 + b[1]
            i = 2
        elif csid == 1:
            if len(b) < 3:
                return None
            csid = 64 + b[1] + 256 * b[2]
            i = 3
        hl = [11, 7, 3, 0][fmt]
        if len(b) < i + hl:
            return None
        p = list(self.prev.get(csid, [0, 0, 0, 0]))
        ts_field = None
        if fmt <= 2:
            ts_field = struct.unpack(">I", b"\x00" + b[i:i + 3])[0]
        if fmt <= 1:
            p[1] = struct.unpack(">I", b"\x00" + b[i + 3:i + 6])[0]
            p[2] = b[i + 6]
        if fmt == 0:
            p[3] = struct.unpack("<I", b[i + 7:i + 11])[0]
        i += hl
        ext = ts_field == 0xffffff or (ts_field is None and len(p) > 4 and p[4])
        if ext:
            if len(b) < i + 4:
                return None
            ts_field_full = struct.unpack(">I", b[i:i + 4])[0]
            i += 4
            if ts_field is not None:
                ts_field = ts_field_full
        have = self.partial.get(csid, b"")
        starting = len(have) == 0
        n = min(self.in_chunk, p[1] - len(have))
        if len(b) < i + n:
            return None
        if starting:
            if fmt == 0:
                p[0] = ts_field
            elif fmt in (1, 2):
                p[0] = (p[0] + ts_field) & 0xffffffff
            elif fmt == 3 and len(p) > 5:
                p[0] = (p[0] + p[5]) & 0xffffffff
        if fmt in (1, 2):
            p = p[:4] + [ext, ts_field]
        elif fmt == 0:
            p = p[:4] + [ext, 0]
        self.prev[csid] = p
        have += b[i:i + n]
        self.buf = b[i + n:]
        if len(have) < p[1]:
            self.partial[csid] = have
            return ("partial",)
        self.partial[csid] = b""
        return (p[2], p[0], p[3], have)

    def message(self, timeout):
        end = time.time() + timeout
        while True:
            m = self.try_message()
            while m == ("partial",):
                m = self.try_message()
            if m is not None:
                return self.control(m)
            if self.closed:
                raise EOFError()
            if time.time() >= end:
                return None
            self.recv_some(end - time.time())

    def control(self, m):
        mtype, ts, sid, body = m
        if mtype == 1:
            self.in_chunk = struct.unpack(">I", body[:4])[0] & 0x7fffffff
        elif mtype == 5:
            self.window = struct.unpack(">I", body[:4])[0]
        elif mtype == 4 and len(body) >= 6 and struct.unpack(">H", body[:2])[0] == 6:
            self.send_msg(2, 4, 0, 0, b"\x00\x07" + body[2:6])
        return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("app")
    ap.add_argument("name")
    ap.add_argument("--start", type=float, default=-2)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--length", action="store_true")
    ap.add_argument("--seek", type=float, default=None)
    ap.add_argument("--after", type=float, default=1.0)
    ap.add_argument("--pause", type=float, default=None)
    ap.add_argument("--until", default="stop")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--no-read", type=float, default=0)
    a = ap.parse_args()

    deadline = time.time() + a.timeout
    out = sys.stdout
    if "\\x" in a.name:
        a.name = a.name.encode().decode("unicode_escape")  # e.g. a NUL: missing\x00x
    try:
        c = Conn(a.host, a.port, deadline, 8192 if a.no_read > 0 else 0)
        c.handshake()
        c.command(0, "connect", 1, {"app": a.app, "type": "nonprivate", "flashVer": "LNX 9,0,124,2",
                                    "tcUrl": "rtmp://%s:%d/%s" % (a.host, a.port, a.app),
                                    "fpad": False, "capabilities": 15, "audioCodecs": 4071,
                                    "videoCodecs": 252, "videoFunction": 1, "objectEncoding": 0})
        c.send_msg(2, 1, 0, 0, struct.pack(">I", 4096))
        c.out_chunk = 4096
    except (OSError, EOFError) as e:
        print("error %s" % e, file=sys.stderr)
        return 2

    txid = 2
    sid = None
    seek_sent = pause_sent = unpause_sent = False
    pause_at = None
    first_media_ts = None
    last_ts = {8: None, 9: None}
    stalled_until = None
    why = "timeout"
    try:
        while time.time() < deadline and not c.closed:
            if stalled_until is not None and time.time() < stalled_until:
                time.sleep(min(0.05, stalled_until - time.time()))
                continue
            if pause_sent and not unpause_sent and time.time() >= pause_at + a.pause:
                c.command(sid, "pause", 0, None, False, float(max(last_ts[9] or 0, 0)))
                unpause_sent = True
                print("unpause %.3f" % time.time(), file=out)
            m = c.message(0.05)
            if m is None:
                continue
            mtype, ts, msid, body = m
            if mtype in (20, 17):
                vals = amf_all(body[1:] if mtype == 17 else body)
                name = vals[0]
                if name == "_result" and vals[1] == 1:
                    c.command(0, "createStream", txid, None)
                    txid += 1
                elif name == "_result" and vals[1] == 2:
                    sid = int(vals[3])
                    if a.length:
                        c.command(0, "getStreamLength", txid, None, a.name)
                        txid += 1
                    args = [a.name, a.start]
                    if a.duration is not None:
                        args.append(a.duration)
                    c.command(sid, "play", txid, None, *args)
                    txid += 1
                    # SetBufferLength 3000 ms, as players do
                    c.send_msg(2, 4, 0, 0, struct.pack(">HII", 3, sid, 3000))
                elif name == "_result" and a.length and len(vals) >= 4:
                    print("length %.3f" % vals[3], file=out)
                elif name == "_error":
                    info = vals[3] if len(vals) > 3 and isinstance(vals[3], dict) else {}
                    print("%s %s" % ("length-error" if a.length else "error",
                                     info.get("code", "?")), file=out)
                elif name == "onStatus":
                    info = vals[3] if len(vals) > 3 and isinstance(vals[3], dict) else {}
                    code = info.get("code", "?")
                    print("status %s" % code, file=out)
                    if code == "NetStream.Play.Start" and a.no_read > 0 and stalled_until is None:
                        stalled_until = time.time() + a.no_read
                    if code == "NetStream.Play.Stop":
                        why = "stop"
                        # what follows it (onPlayStatus, StreamEOF) for a moment more
                        deadline = min(deadline, time.time() + 0.5)
                    if code.endswith("StreamNotFound") or code.endswith("Failed") or \
                            code.endswith("BadName") or code.endswith("Unauthorized"):
                        why = "refused"
                        break
            elif mtype == 18:
                vals = amf_all(body)
                if vals and vals[0] == "onPlayStatus":
                    print("data onPlayStatus %s" % vals[1].get("code", "?"), file=out)
                elif vals:
                    print("data %s" % vals[0], file=out)
            elif mtype == 4:
                print("control %d" % struct.unpack(">H", body[:2])[0], file=out)
            elif mtype in (8, 9):
                kind = "-"
                if mtype == 9 and len(body) >= 2:
                    kind = "seq" if (body[0] & 0x0f) == 7 and body[1] == 0 else \
                        "key" if (body[0] >> 4) == 1 else "inter"
                elif mtype == 8 and len(body) >= 2 and (body[0] >> 4) == 10 and body[1] == 0:
                    kind = "seq"
                print("media %d %d %s" % (mtype, ts, kind), file=out)
                if first_media_ts is None:
                    first_media_ts = ts
                last_ts[mtype] = ts
                media_s = (ts - first_media_ts) / 1000.0
                if a.seek is not None and not seek_sent and media_s >= a.after:
                    c.command(sid, "seek", 0, None, a.seek)
                    seek_sent = True
                    print("seek %.0f" % a.seek, file=out)
                elif a.pause is not None and not pause_sent and media_s >= a.after and \
                        (a.seek is None or seek_sent):
                    c.command(sid, "pause", 0, None, True, float(ts))
                    pause_sent = True
                    pause_at = time.time()
                    print("pause %.3f" % pause_at, file=out)
                if a.until != "stop" and media_s >= float(a.until):
                    why = "until"
                    break
    except EOFError:
        why = "closed"
    except OSError as e:
        print("error %s" % e, file=sys.stderr)
        why = "closed"
    if why == "timeout" and c.closed:
        why = "closed"
    print("end %s" % why, file=out)
    return 0 if why in ("stop", "until") else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# Writes chunk_write_golden.bin: messages chunked as RTMP 1.0 §5.3 describes (type-0
# first chunk, type-3 continuations, extended timestamp repeated on every continuation),
# written here independently of libstream so test_chunk.c can check ls_chunk_write
# against it. The message list must match golden_msgs[] in test_chunk.c.
import os, struct

def pat(seed, i):
    return (seed * 31 + i * 7 + (i >> 8)) & 0xff

def basic(fmt, csid):
    if csid < 64:
        return bytes([fmt << 6 | csid])
    if csid < 320:
        return bytes([fmt << 6, csid - 64])
    return bytes([fmt << 6 | 1, (csid - 64) & 0xff, (csid - 64) >> 8])

def chunk(csid, mtype, ts, sid, payload, cs):
    ext = ts >= 0xffffff
    out = basic(0, csid) + min(ts, 0xffffff).to_bytes(3, 'big') + len(payload).to_bytes(3, 'big')
    out += bytes([mtype]) + struct.pack('<I', sid)
    off = 0
    while True:
        if ext:
            out += ts.to_bytes(4, 'big')
        out += payload[off:off + cs]
        off += cs
        if off >= len(payload):
            return out
        out += basic(3, csid)

# (csid, type, timestamp, stream id, length, pattern seed, chunk size)
MSGS = [
    (3, 20, 0, 0, 200, 1, 128),
    (320, 9, 0x01020304, 1, 300, 2, 100),
    (64, 8, 0xffffff, 7, 0, 3, 128),
    (65599, 18, 0xfffffe, 0x01020304, 5, 4, 1),
    (319, 9, 0xffffffff, 1, 257, 5, 256),
    (63, 8, 40, 1, 128, 6, 128),
]
data = b''.join(chunk(c, t, ts, sid, bytes(pat(seed, i) for i in range(n)), cs)
                for c, t, ts, sid, n, seed, cs in MSGS)
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'chunk_write_golden.bin'), 'wb') as f:
    f.write(data)

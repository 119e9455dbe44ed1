#!/usr/bin/env python3
"""attacks.py — one row of the abuse suite: an attack, its measurements and its checks.

    attacks.py ATTACK --rtmp HOST:PORT [--http HOST:PORT] --target NAME:PID:VIEWER_URL ...
               [--seconds S] [--rss-mb N] [--data-mb N] [--out FILE] [attack options]

For each --target (a daemon under attack, by PID) it starts an honest viewer (lcplay, at
real-time pace) on VIEWER_URL a moment before the attack, runs the attack, and reports one
JSON line per target with
  - rss growth: VmHWM during the attack (reset through /proc/PID/clear_refs) minus VmRSS
    before, in KiB (and VmData growth, sampled, for attacks that reserve memory);
  - the daemon's CPU time during the attack (utime + stime);
  - what happened to the attacker: connections made, closed by the daemon, how fast;
  - whether the honest viewer kept up: lcplay ok (started, decoded, timestamps never
    backwards, >= 75% of real-time pace) and no pause of more than a second;
  - the checks, each "pass" or "fail: why".
Every attack is bounded in time (--seconds) and bytes (its budget below) and uses only
sockets it opens itself; the daemons are started and killed by run.sh.

ATTACK is one of the flood classes of issue 10 (the defect number is in each function's
comment): ackflood pingflood errorflood gopflood idflood connflood fdexhaust slowloris
httpflood dribble bigmsg amf3traits, and vodflood (files on demand, issue 14).
"""
import argparse
import json
import math
import os
import random
import resource
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import rawrtmp  # noqa: E402  (handshake, chunk0)

TCP_STATE_CLOSE, TCP_STATE_CLOSE_WAIT = 7, 8
CLK_TCK = os.sysconf("SC_CLK_TCK")

# ---- RTMP bytes -----------------------------------------------------------------------


def a_str(s):
    b = s.encode()
    return b"\x02" + struct.pack(">H", len(b)) + b


def a_num(x):
    return b"\x00" + struct.pack(">d", x)


def a_null():
    return b"\x05"


def a_obj(fields):
    out = b"\x03"
    for k, v in fields:
        kb = k.encode()
        out += struct.pack(">H", len(kb)) + kb + v
    return out + b"\x00\x00\x09"


def basic3(csid):
    """A type-3 basic header: the message continues (or repeats) on this chunk stream."""
    if csid < 64:
        return bytes([0xC0 | csid])
    if csid < 320:
        return bytes([0xC0, csid - 64])
    v = csid - 64
    return bytes([0xC1, v & 0xFF, v >> 8])


def message(csid, mtype, msid, body, chunk=128, ts=0):
    """One whole message: a type-0 first chunk and type-3 continuations."""
    out = bytearray(rawrtmp.chunk0(csid, ts, len(body), mtype, msid) + body[:chunk])
    for i in range(chunk, len(body), chunk):
        out += basic3(csid) + body[i:i + chunk]
    return bytes(out)


def command(name, txid, *args):
    return a_str(name) + a_num(txid) + b"".join(args)


def connect_msg(app, rtmp, chunk=128):
    return message(3, 20, 0, command("connect", 1, a_obj([
        ("app", a_str(app)), ("flashVer", a_str("FMLE/3.0 (compatible; abuse)")),
        ("tcUrl", a_str("rtmp://%s/%s" % (rtmp, app))), ("objectEncoding", a_num(0))])),
        chunk=chunk)


def create_stream_msg(chunk=128):
    return message(3, 20, 0, command("createStream", 2, a_null()), chunk=chunk)


def play_msg(name, chunk=128):
    return message(8, 20, 1, command("play", 3, a_null(), a_str(name)), chunk=chunk)


def publish_msg(name, chunk=128):
    return message(8, 20, 1, command("publish", 3, a_null(), a_str(name), a_str("live")),
                   chunk=chunk)


def set_chunk_size_msg(n):
    return rawrtmp.chunk0(2, 0, 4, 1, 0) + struct.pack(">I", n)


def fixture_tags(path, count):
    """The first `count` tags of an FLV file: (type, timestamp, body)."""
    data = open(path, "rb").read()
    p, out = 13, []
    while p + 11 <= len(data) and len(out) < count:
        size = int.from_bytes(data[p + 1:p + 4], "big")
        ts = int.from_bytes(data[p + 4:p + 7], "big")
        out.append((data[p], ts, data[p + 11:p + 11 + size]))
        p += 11 + size + 4
    return out

# ---- sockets --------------------------------------------------------------------------


def hostport(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def tcp_state(s):
    try:
        return s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    except OSError:
        return TCP_STATE_CLOSE


class Conn:
    """One attacker connection. It never reads unless told to: the daemon's close is seen
    in the TCP state (FIN: CLOSE_WAIT, RST: CLOSE) or as a send error."""

    def __init__(self, addr, t0, wait=True):
        """wait=False: a non-blocking connect (a full backlog must not stall the attack)."""
        self.t0 = t0
        if wait:
            self.sock = socket.create_connection(addr, timeout=5)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setblocking(False)
            self.sock.connect_ex(addr)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.closed_at = None
        self.sent = 0
        self.last_send = time.time()

    def handshake(self):
        try:
            self.sent += rawrtmp.handshake(self.sock, time.time() + 5)
        except (OSError, ConnectionError):
            self.mark_closed()
        self.sock.setblocking(False)

    def mark_closed(self):
        if self.closed_at is None:
            self.closed_at = time.time()

    def is_closed(self):
        if self.closed_at is None and tcp_state(self.sock) in (TCP_STATE_CLOSE, TCP_STATE_CLOSE_WAIT):
            self.mark_closed()
        return self.closed_at is not None

    def send_some(self, data):
        """Non-blocking send; returns bytes taken (0 when the socket is full)."""
        if self.closed_at is not None:
            return 0
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            return 0
        except OSError:
            self.mark_closed()
            return 0
        self.sent += n
        if n > 0:
            self.last_send = time.time()
        return n

    def send_all(self, data, deadline):
        view = memoryview(data)
        while len(view) > 0 and time.time() < deadline and not self.is_closed():
            n = self.send_some(view)
            view = view[n:]
            if n == 0:
                select.select([], [self.sock], [], 0.05)
        return len(view) == 0

    def drain(self):
        """Reads what is there (for attackers that do read); False once closed."""
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    self.mark_closed()
                    return False
        except BlockingIOError:
            return True
        except OSError:
            self.mark_closed()
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

# ---- measurements ---------------------------------------------------------------------


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def kb(status, key):
    v = status.get(key, "0 kB").split()
    return int(v[0]) if v else 0


def cpu_ticks(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime
    except (OSError, IndexError, ValueError):
        return 0


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return 0


def alive(pid):
    st = proc_status(pid).get("State", "")
    return st != "" and not st.startswith("Z") and not st.startswith("X")


def metric(http, name):
    try:
        with urllib.request.urlopen("http://%s/metrics" % http, timeout=1) as r:
            for line in r.read().decode().splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == name:
                    return float(parts[1])
    except OSError:
        pass
    return None


class Watch:
    """Memory and CPU of one daemon over the attack."""

    def __init__(self, pid):
        self.pid = pid
        s = proc_status(pid)
        self.rss0 = kb(s, "VmRSS")
        self.data0 = kb(s, "VmData")
        self.data_peak = self.data0
        self.hwm_reset = True
        try:
            with open("/proc/%d/clear_refs" % pid, "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
        except OSError:
            self.hwm_reset = False
        self.rss_peak = self.rss0
        self.fds0 = self.fds_peak = fd_count(pid)
        self.cpu0 = cpu_ticks(pid)
        self.t0 = time.time()

    def sample(self):
        s = proc_status(self.pid)
        self.data_peak = max(self.data_peak, kb(s, "VmData"))
        self.rss_peak = max(self.rss_peak, kb(s, "VmRSS"))
        self.fds_peak = max(self.fds_peak, fd_count(self.pid))

    def finish(self):
        s = proc_status(self.pid)
        self.sample()
        hwm = kb(s, "VmHWM") if self.hwm_reset else self.rss_peak
        self.cpu_s = (cpu_ticks(self.pid) - self.cpu0) / CLK_TCK
        self.wall_s = time.time() - self.t0
        return {
            "rss0_kb": self.rss0,
            "rss_growth_kb": max(hwm, self.rss_peak) - self.rss0,
            "data_growth_kb": self.data_peak - self.data0,
            "fd_growth": self.fds_peak - self.fds0,
            "cpu_s": round(self.cpu_s, 2),
            "cpu_pct": round(100 * self.cpu_s / max(self.wall_s, 0.001)),
        }


class Sampler(threading.Thread):
    """Samples the watched daemons' memory and the /metrics gauges asked for, every 100 ms."""

    def __init__(self, watches, gauges):
        super().__init__(daemon=True)
        self.watches = watches
        self.gauges = gauges  # list of (http, name)
        self.base = {g: metric(*g) or 0 for g in gauges}
        self.peak = dict(self.base)
        self.stop = False

    def run(self):
        while not self.stop:
            for w in self.watches:
                w.sample()
            for g in self.gauges:
                v = metric(*g)
                if v is not None:
                    self.peak[g] = max(self.peak[g], v)
            time.sleep(0.1)

    def deltas(self):
        return {"%s@%s" % (g[1], g[0]): self.peak[g] - self.base[g] for g in self.gauges}

# ---- the honest viewer ----------------------------------------------------------------


class Viewer:
    PACE = 75  # percent of real time its media timestamps must advance

    def __init__(self, lcplay, url, seconds):
        self.url = url
        self.proc = subprocess.Popen([lcplay, "-p", str(self.PACE), "-t", str(seconds), url],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def result(self, timeout):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        line = next((l for l in out.splitlines() if l.startswith("player=0 ")), "")
        f = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
        ok = f.get("ok") == "1" and f.get("gaps") == "0"
        why = "" if ok else ("no result: %s" % out.strip()[:120] if not line else
                             "ok=%s gaps=%s video=%s media_ms=%s wall_ms=%s why=%s" % (
                                 f.get("ok"), f.get("gaps"), f.get("video"), f.get("media_ms"),
                                 f.get("wall_ms"), f.get("why", "")))
        return ok, why, {k: f.get(k) for k in ("video", "gaps", "media_ms", "wall_ms")}

# ---- attacks ----------------------------------------------------------------------------
# Each returns a dict: conns, closed, close_s (seconds from the attack's start to the
# daemon's close, per closed connection), sent, and attack-specific facts; and checks the
# row adds ("attacker": closed or capped as this attack defines it).


def summary(conns, t0, **extra):
    closed = [c for c in conns if c.is_closed()]
    times = sorted(c.closed_at - t0 for c in closed)
    out = {"conns": len(conns), "closed": len(closed), "sent": sum(c.sent for c in conns),
           "close_s": round(times[-1], 2) if times else None}
    out.update(extra)
    return out


def flood(a, payload_head, unit, budget):
    """One connection: handshake, `payload_head`, then `unit` repeated up to `budget` bytes,
    never reading. Capped = the daemon closed us (docs/architecture.md decision 10: a
    client that makes the server queue output it never reads is closed), or it stopped
    reading us: it took (livecluster_bytes_in_total) at least 256 KiB less than we sent,
    the rest waiting in the kernel's buffers."""
    t0 = time.time()
    deadline = t0 + a.seconds
    in0 = metric(a.http, "livecluster_bytes_in_total") if a.http else None
    c = Conn(hostport(a.rtmp), t0)
    c.handshake()
    c.send_all(payload_head, deadline)
    block = memoryview(unit * max(1, 65536 // len(unit)))
    pending = block  # a partial send continues where it stopped: messages stay whole
    while time.time() < deadline and not c.is_closed() and c.sent < budget:
        n = c.send_some(pending)
        pending = pending[n:] if n < len(pending) else block
        if n == 0:
            select.select([], [c.sock], [], 0.05)
    # keep it open (unread) to the end of the window: the daemon's queue is what we measure
    while time.time() < deadline and not c.is_closed():
        time.sleep(0.05)
    in1 = metric(a.http, "livecluster_bytes_in_total") if in0 is not None else None
    taken = in1 - in0 if in1 is not None else None
    stalled = not c.is_closed() and taken is not None and taken < c.sent - 262144
    res = summary([c], t0, stalled=stalled, daemon_took=taken)
    c.close()
    res["attacker_ok"] = res["closed"] == 1 or stalled
    res["attacker_why"] = "closed after %ss" % res["close_s"] if res["closed"] else \
        ("stopped reading us after %d of %d bytes" % (taken, c.sent) if stalled else
         "took %d bytes and kept us" % res["sent"])
    return res


def attack_ackflood(a):
    """Defect 2: Window Ack Size 1, one zero-length message header, then single type-3
    header bytes (each one a zero-length message), never reading: every byte makes an ack."""
    head = rawrtmp.chunk0(2, 0, 4, 5, 0) + struct.pack(">I", 1) + rawrtmp.chunk0(4, 0, 0, 8, 1)
    return flood(a, head, basic3(4), a.budget)


def attack_pingflood(a):
    """Defect 2: ping requests (User Control 6) without reading the pongs."""
    body = struct.pack(">HI", 6, 0)
    head = rawrtmp.chunk0(2, 0, len(body), 4, 0) + body
    return flood(a, head, basic3(2) + body, a.budget)


def attack_errorflood(a):
    """Defect 2: unknown commands, each answered with _error, without reading."""
    body = command("zzz", 5, a_null())
    head = connect_msg("live", a.rtmp) + rawrtmp.chunk0(5, 0, len(body), 20, 0) + body
    return flood(a, head, basic3(5) + body, a.budget)


def attack_gopflood(a):
    """Defect 3: a publisher sends the sequence headers and one keyframe, then hundreds of
    thousands of 1-byte media messages (2 bytes each on the wire) and never another
    keyframe, while a viewer plays it on spd and one on epd (so the edge pulls it and
    caches it too)."""
    t0 = time.time()
    deadline = t0 + a.seconds
    c = Conn(hostport(a.rtmp), t0)
    c.handshake()
    c.send_all(set_chunk_size_msg(65536) + connect_msg("live", a.rtmp, 65536) +
               create_stream_msg(65536) + publish_msg(a.stream, 65536), deadline)
    seen = b""
    c.sock.setblocking(True)
    c.sock.settimeout(0.2)
    while b"NetStream.Publish.Start" not in seen and time.time() < deadline:
        try:
            d = c.sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            break
        if not d:
            break
        seen = seen[-64:] + d
    c.sock.setblocking(False)
    if b"NetStream.Publish.Start" not in seen:
        res = summary([c], t0)
        res.update(attacker_ok=False, attacker_why="publish was not started")
        return res
    watchers = []
    for url in a.play:
        watchers.append(subprocess.Popen([a.lcplay, "-t", str(int(a.seconds) + 2), url],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    tags = fixture_tags(a.fixture, 4)  # metadata, AVC sequence header, AAC config, keyframe
    for mtype, ts, body in tags:
        c.send_all(message(6 if mtype == 9 else 4 if mtype == 8 else 5, mtype, 1, body,
                           chunk=65536, ts=ts), deadline)
    time.sleep(1)  # the viewers and the edge pull have attached
    # One message header for a 1-byte audio message (opaque to the codec inspection: it
    # flows and is cached like any frame), then type-3 repeats of it (2 bytes each), at
    # a.rate messages a second: slow enough that the viewers and the edge's pull keep up
    # (a faster flood makes them skip, and the edge would never see the messages).
    unit = basic3(4) + b"\xaf"
    c.send_all(rawrtmp.chunk0(4, 1000, 1, 8, 1) + b"\xaf", deadline)
    per_tick = max(1, a.rate // 50)
    block = unit * per_tick
    sent0 = c.sent
    tick = time.time()
    while time.time() < deadline and not c.is_closed() and c.sent - sent0 < a.budget:
        if not c.send_all(block, deadline):
            break
        c.drain()
        tick += 0.02
        time.sleep(max(0.0, tick - time.time()))
    msgs = (c.sent - sent0) // len(unit)
    while time.time() < deadline and not c.is_closed():
        c.drain()
        time.sleep(0.05)
    res = summary([c], t0, messages=msgs)
    c.close()
    for w in watchers:
        try:
            w.wait(timeout=3)
        except subprocess.TimeoutExpired:
            w.kill()
    # The publisher is legitimate as a connection (it publishes); what is checked is memory.
    res["attacker_ok"] = True
    res["attacker_why"] = "%d tiny messages sent%s" % (
        msgs, ", then closed" if res["closed"] else "")
    return res


def attack_idflood(a):
    """Defect 8: plays of many random ids, each on its own connection (pipelined connect,
    createStream, play; never reading): on an edge each id can become an upstream pull, on
    an spd in cluster mode a lookup and a watch at smd. Capped = the upstream work
    (a.upstream: a /metrics gauge, peak minus before) stays within a.cap."""
    t0 = time.time()
    deadline = t0 + a.seconds
    conns = []
    for i in range(a.count):
        if time.time() >= deadline:
            break
        try:
            c = Conn(hostport(a.rtmp), t0)
        except OSError:
            break
        c.handshake()
        c.send_all(connect_msg("live", a.rtmp) + create_stream_msg() +
                   play_msg("r%08x" % random.getrandbits(32)), deadline)
        conns.append(c)
    while time.time() < deadline:
        time.sleep(0.1)
    res = summary(conns, t0)
    for c in conns:
        c.close()
    return res


def attack_vodflood(a):
    """Files on demand (vod.max_viewers, the per-connection request queue, the slow-viewer
    bound): connections that each pipeline connect to the vod app, createStream, a burst of
    getStreamLength requests and a play of a large file, and never read. Every play wants a
    file read ahead and queued. Capped = the file viewers the daemon keeps (a.upstream:
    livecluster_vod_viewers, peak minus before) stay within a.cap (vod.max_viewers); the
    rest are refused, and those it keeps stop costing more than their output queue."""
    t0 = time.time()
    deadline = t0 + a.seconds
    conns = []
    lengths = b"".join(message(3, 20, 0, command("getStreamLength", 10 + i, a_null(),
                                                 a_str(a.stream))) for i in range(16))
    for i in range(a.count):
        if time.time() >= deadline:
            break
        try:
            c = Conn(hostport(a.rtmp), t0)
        except OSError:
            break
        c.handshake()
        c.send_all(connect_msg("vod", a.rtmp) + create_stream_msg() + lengths +
                   play_msg(a.stream), deadline)
        conns.append(c)
    while time.time() < deadline:
        time.sleep(0.1)
    res = summary(conns, t0)
    for c in conns:
        c.close()
    return res


def attack_connflood(a):
    """Defect 9: more TCP connections than max_connections (handshake done, then nothing).
    Capped = the daemon never holds more descriptors for them than max_connections (it
    refuses the rest at once, or leaves them in the listen backlog)."""
    t0 = time.time()
    deadline = t0 + a.seconds
    conns = []
    for i in range(a.count):
        try:
            c = Conn(hostport(a.rtmp), t0)
        except OSError:
            break
        conns.append(c)
    for c in conns:
        if not c.is_closed():
            c.handshake()
    time.sleep(min(2.0, max(0.0, deadline - time.time())))
    open_now = sum(1 for c in conns if not c.is_closed())
    while time.time() < deadline:
        time.sleep(0.1)
    res = summary(conns, t0, open_after_2s=open_now)
    for c in conns:
        c.close()
    res["fd_cap"] = a.cap
    return res


def attack_fdexhaust(a):
    """Defect 9: the daemon runs out of file descriptors (its RLIMIT_NOFILE is lowered to
    what it has open plus 64, below max_connections) while connections keep coming: it
    must not spin (CPU below a.cpu_max % of one core while they wait in the backlog) and
    must accept again once descriptors are free."""
    pid = a.target_pids[0]
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    nfds = len(os.listdir("/proc/%d/fd" % pid))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (nfds + 64, hard))
    t0 = time.time()
    conns = []
    hold_cpu, accepted = 0, False
    try:
        for i in range(a.count):
            conns.append(Conn(hostport(a.rtmp), t0, wait=False))  # the backlog takes them
        # CPU over the hold, after the burst: a listener spinning on EMFILE burns a core
        time.sleep(0.3)
        c0, w0 = cpu_ticks(pid), time.time()
        time.sleep(max(1.0, a.seconds - 1.5))
        hold_cpu = 100 * (cpu_ticks(pid) - c0) / CLK_TCK / max(time.time() - w0, 0.001)
        for c in conns:
            c.close()
        # descriptors are free again: a new client must get its handshake within 3 s
        end = time.time() + 3
        while time.time() < end and not accepted:
            try:
                s = socket.create_connection(hostport(a.rtmp), timeout=1)
                rawrtmp.handshake(s, time.time() + 1)
                accepted = True
                s.close()
            except (OSError, ConnectionError):
                time.sleep(0.2)
    finally:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    res = summary(conns, t0, hold_cpu_pct=round(hold_cpu), accepts_again=accepted)
    res["attacker_ok"] = hold_cpu <= a.cpu_max and accepted
    res["attacker_why"] = "CPU %d%% of a core while out of fds (max %d%%), %s" % (
        hold_cpu, a.cpu_max, "accepts again" if accepted else "does NOT accept again")
    return res


def attack_slowloris(a):
    """Defect 9: HTTP clients that send a request header a byte every 2 s, forever. Each
    must be closed within the HTTP request deadline (a.deadline) whatever it sends."""
    t0 = time.time()
    conns = []
    for i in range(a.count):
        c = Conn(hostport(a.http), t0, wait=False)
        conns.append(c)
    time.sleep(0.2)
    for c in conns:
        c.send_some(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
    end = t0 + a.seconds
    tick = 0
    while time.time() < end and not all(c.is_closed() for c in conns):
        if time.time() >= t0 + 2 * (tick + 1):
            tick += 1
            for c in conns:
                if not c.is_closed():
                    c.send_some(b"X")
        time.sleep(0.1)
    res = summary(conns, t0)
    for c in conns:
        c.close()
    late = res["conns"] - res["closed"]
    res["attacker_ok"] = late == 0 and (res["close_s"] or 0) <= a.deadline + 2
    res["attacker_why"] = "%d of %d closed%s (deadline %ss)" % (
        res["closed"], res["conns"],
        ", the last after %ss" % res["close_s"] if res["closed"] else "", a.deadline)
    return res


def attack_httpflood(a):
    """Defect 9: more idle HTTP connections than max_connections (they send nothing).
    Capped = the daemon never holds more descriptors for them than max_connections (HTTP
    connections count in max_connections)."""
    t0 = time.time()
    conns = []
    for i in range(a.count):
        conns.append(Conn(hostport(a.http), t0, wait=False))
    time.sleep(2)
    open_now = sum(1 for c in conns if not c.is_closed())
    while time.time() < t0 + a.seconds:
        time.sleep(0.1)
    res = summary(conns, t0, open_after_2s=open_now)
    for c in conns:
        c.close()
    res["fd_cap"] = a.cap
    return res


def attack_dribble(a):
    """Defect 10: connections that never publish or play but dribble a byte a second (a
    message body that never ends): after the handshake started (C0 then C1 a byte at a
    time), after connect, after a play refused at once (bad name), and after a play that
    failed with StreamNotFound (play_wait_timeout). Each must be closed within
    connect_timeout (a.deadline) of its last command, whatever it sends; the half-done
    handshake within handshake_timeout (the same in run.sh's config)."""
    t0 = time.time()
    conns = []
    for kind in ("hs", "connect", "refused", "notfound") * (a.count // 4):
        try:
            c = Conn(hostport(a.rtmp), t0)
        except OSError:
            break
        c.kind = kind
        c.limit = a.deadline + (a.play_wait if kind == "notfound" else 0)
        if kind == "hs":
            c.sock.setblocking(False)
            c.send_some(b"\x03")  # C0, then C1 a byte a second
        else:
            c.handshake()
            head = connect_msg("live", a.rtmp)
            if kind == "refused":
                head += create_stream_msg() + play_msg("../bad")
            elif kind == "notfound":
                head += create_stream_msg() + play_msg("nobody%08x" % random.getrandbits(32))
            c.send_all(head + rawrtmp.chunk0(7, 0, 100000, 8, 1), t0 + 2)
        conns.append(c)
    end = t0 + a.seconds
    last = time.time()
    while time.time() < end and not all(c.is_closed() for c in conns):
        if time.time() - last >= 1:
            last = time.time()
            for c in conns:
                if not c.is_closed():
                    c.send_some(b"\x00")
        for c in conns:
            if not c.is_closed() and c.kind != "hs":
                c.drain()
        time.sleep(0.05)
    late = sorted(set(c.kind for c in conns
                      if not c.is_closed() or c.closed_at - t0 > c.limit + 2))
    res = summary(conns, t0, late_kinds=late)
    for c in conns:
        c.close()
    res["attacker_ok"] = not late
    res["attacker_why"] = "%d of %d closed in time%s" % (
        res["conns"] - sum(1 for c in conns if c.kind in late), res["conns"],
        "; kept too long: " + ", ".join(late) if late else "")
    return res


def attack_bigmsg(a):
    """Hardening (chunk reader): connections that announce messages of max_message_size on
    several chunk streams and send their bodies slowly (512 bytes a second). What the
    daemon commits (VmData) must follow the bytes received, not the lengths announced."""
    t0 = time.time()
    conns = []
    for i in range(a.count):
        try:
            c = Conn(hostport(a.rtmp), t0)
        except OSError:
            break
        c.handshake()
        head = b""
        for csid in (4, 5):  # a whole first chunk (128 bytes, the initial chunk size) each
            head += rawrtmp.chunk0(csid, 0, a.msg_size, 9, 1) + b"\x17" * 128
        c.send_all(head, t0 + 2)
        conns.append(c)
    end = t0 + a.seconds
    last = time.time()
    while time.time() < end:
        if time.time() - last >= 1:
            last = time.time()
            for c in conns:
                if not c.is_closed():
                    c.send_some(basic3(4) + b"\x17" * 128 + basic3(5) + b"\x17" * 128)
        time.sleep(0.05)
    res = summary(conns, t0)
    for c in conns:
        c.close()
    res["attacker_ok"] = True  # slow senders of legal messages; memory is what is checked
    res["attacker_why"] = "%d connections, %d closed" % (res["conns"], res["closed"])
    return res


def attack_amf3traits(a):
    """Hardening (AMF3): a type-17 connect whose AMF3 object declares a trait with millions
    of sealed member names, each one byte (a reference to the class name), filling a message
    of almost max_message_size. The daemon must refuse it (close) without allocating a
    trait table for every name."""
    t0 = time.time()
    deadline = t0 + a.seconds
    conns = []
    names = a.msg_size - 64
    for i in range(a.count):
        c = Conn(hostport(a.rtmp), t0)
        c.handshake()
        u29 = (names << 4) | 0x03  # inline object, inline traits, sealed count
        obj = b"\x0a" + u29_bytes(u29) + b"\x03a" + b"\x00" * names
        body = b"\x00" + a_str("connect") + a_num(1) + b"\x11" + obj
        c.send_all(set_chunk_size_msg(65536) + message(3, 17, 0, body, chunk=65536), deadline)
        conns.append(c)
    while time.time() < deadline and not all(c.is_closed() for c in conns):
        time.sleep(0.05)
    res = summary(conns, t0)
    for c in conns:
        c.close()
    res["attacker_ok"] = res["closed"] == res["conns"]
    res["attacker_why"] = "%d of %d closed%s" % (
        res["closed"], res["conns"], " after %ss" % res["close_s"] if res["closed"] else "")
    return res


def attack_tlsstall(a):
    """Issue 13 (TLS): handshakes that stall. Each connection sends one whole TLS record of a
    ClientHello and nothing more, half of them to rtmps_listen and half to https_listen.
    Half of each announce the longest ClientHello accepted (a.hello, tls_max_client_hello:
    OpenSSL then reserves that much) and must be closed at handshake_timeout (RTMPS,
    a.deadline) or http_request_timeout (HTTPS, a.deadline2); the others announce OpenSSL's
    own limit (~128 KiB) and must be refused at once. RSS is what the accepted ones cost."""
    t0 = time.time()

    def record(hello_len):
        body = bytes([1]) + hello_len.to_bytes(3, "big") + b"\x03\x03" + bytes(16384 - 6)
        return b"\x16\x03\x01" + len(body).to_bytes(2, "big") + body

    conns = []
    for i in range(a.count):
        tls_http = i % 2 == 1
        oversized = i % 4 >= 2
        try:
            c = Conn(hostport(a.tls_http if tls_http else a.tls_rtmp), t0)
        except OSError:
            break
        c.limit = 2 if oversized else a.deadline2 if tls_http else a.deadline
        c.sock.setblocking(False)
        c.send_all(record(131000 if oversized else a.hello), t0 + 3)
        conns.append(c)
    end = t0 + a.seconds
    while time.time() < end and not all([c.is_closed() for c in conns]):  # polls every one
        time.sleep(0.1)
    late = [c for c in conns if not c.is_closed() or c.closed_at - t0 > c.limit + 3]
    last = {lim: max([c.closed_at - t0 for c in conns if c.limit == lim and c.is_closed()],
                     default=0) for lim in (2, a.deadline, a.deadline2)}
    res = summary(conns, t0)
    for c in conns:
        c.close()
    res["attacker_ok"] = not late and res["conns"] == a.count
    res["attacker_why"] = "%d of %d closed; the last: %.1fs (oversized), %.1fs (RTMPS, " \
        "deadline %ss), %.1fs (HTTPS, %ss)%s" % (
            res["closed"], res["conns"], last[2], last[a.deadline], a.deadline,
            last[a.deadline2], a.deadline2, ", %d late or open" % len(late) if late else "")
    return res


def u29_bytes(v):
    """AMF3 U29 (§1.3.1): up to 4 bytes, the last one carrying 8 bits."""
    if v < 0x80:
        return bytes([v])
    if v < 0x4000:
        return bytes([(v >> 7) | 0x80, v & 0x7F])
    if v < 0x200000:
        return bytes([(v >> 14) | 0x80, ((v >> 7) & 0x7F) | 0x80, v & 0x7F])
    return bytes([(v >> 22) | 0x80, ((v >> 15) & 0x7F) | 0x80, ((v >> 8) & 0x7F) | 0x80, v & 0xFF])

# ---- the row ----------------------------------------------------------------------------


def main():
    p = argparse.ArgumentParser()
    p.add_argument("attack")
    p.add_argument("--defect", default="")
    p.add_argument("--rtmp", required=True)
    p.add_argument("--http", default="")
    p.add_argument("--target", action="append", required=True,
                   help="NAME:PID:VIEWER_URL (a daemon under attack and its honest viewer)")
    p.add_argument("--seconds", type=float, default=4)
    p.add_argument("--lead", type=float, default=1.0, help="viewer start before the attack")
    p.add_argument("--budget", type=int, default=4 << 20, help="bytes a flood may send")
    p.add_argument("--count", type=int, default=100, help="connections (or ids)")
    p.add_argument("--cap", type=int, default=0, help="connections or work allowed to stay")
    p.add_argument("--deadline", type=float, default=0, help="seconds to the daemon's close")
    p.add_argument("--deadline2", type=float, default=0, help="a second deadline (tlsstall: HTTPS)")
    p.add_argument("--tls-rtmp", default="", help="the target's rtmps_listen (tlsstall)")
    p.add_argument("--tls-http", default="", help="the target's https_listen (tlsstall)")
    p.add_argument("--hello", type=int, default=16384, help="tls_max_client_hello (tlsstall)")
    p.add_argument("--cpu-max", type=int, default=50)
    p.add_argument("--play-wait", type=float, default=0, help="the daemon's play_wait_timeout")
    p.add_argument("--msg-size", type=int, default=8000000)
    p.add_argument("--rate", type=int, default=100000, help="messages a second (gopflood)")
    p.add_argument("--rss-mb", type=float, required=True, help="RSS growth limit per target")
    p.add_argument("--data-mb", type=float, default=0, help="VmData growth limit (0 = none)")
    p.add_argument("--upstream", action="append", default=[],
                   help="HTTP:GAUGE whose rise must stay <= --cap (defect 8)")
    p.add_argument("--play", action="append", default=[], help="extra passive viewers (gopflood)")
    p.add_argument("--stream", default="live/gop")
    p.add_argument("--watch", action="append", default=[], help="NAME:PID: memory also reported")
    p.add_argument("--lcplay", required=True)
    p.add_argument("--fixture", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    a.stream = a.stream.split("/", 1)[1] if "/" in a.stream else a.stream

    targets = []
    for t in a.target:
        name, pid, url = t.split(":", 2)
        targets.append((name, int(pid), url))
    a.target_pids = [pid for _, pid, _ in targets]
    viewers = [Viewer(a.lcplay, url, int(math.ceil(a.lead + a.seconds + 1)))
               for _, _, url in targets]
    time.sleep(a.lead)
    watches = [Watch(pid) for _, pid, _ in targets]
    extra = [(n, Watch(int(pid))) for n, pid in (w.split(":") for w in a.watch)]
    gauges = [tuple(u.rsplit(":", 1)) for u in a.upstream]
    gauges = [(g[0], g[1]) for g in gauges]
    sampler = Sampler(watches + [w for _, w in extra], gauges)
    sampler.start()
    try:
        res = globals()["attack_" + a.attack](a)
    except Exception as e:  # an attack that cannot even run is a failed row, not a crash
        res = {"conns": 0, "closed": 0, "sent": 0, "close_s": None,
               "attacker_ok": False, "attacker_why": "attack error: %r" % e}
    time.sleep(0.3)
    sampler.stop = True
    sampler.join()
    mem = [w.finish() for w in watches]
    extra_mem = {n: w.finish() for n, w in extra}
    upstream = sampler.deltas()

    with open(a.out, "a") as out:
        for (name, pid, url), m, v in zip(targets, mem, viewers):
            kept, vwhy, vfacts = v.result(timeout=a.seconds + 10)
            checks = {}
            checks["alive"] = "pass" if alive(pid) else "fail: the daemon died"
            limit_kb = a.rss_mb * 1024
            checks["rss"] = "pass" if m["rss_growth_kb"] <= limit_kb else \
                "fail: grew %.1f MiB (limit %g MiB)" % (m["rss_growth_kb"] / 1024, a.rss_mb)
            if a.data_mb > 0:
                checks["committed"] = "pass" if m["data_growth_kb"] <= a.data_mb * 1024 else \
                    "fail: VmData grew %.1f MiB (limit %g MiB)" % (m["data_growth_kb"] / 1024, a.data_mb)
            if "fd_cap" in res:
                res["attacker_why"] = "holds +%d fds for %d conns (max_connections %d)" % (
                    m["fd_growth"], res["conns"], res["fd_cap"])
                res["attacker_ok"] = m["fd_growth"] <= res["fd_cap"]
            if "attacker_ok" in res:
                checks["attacker"] = "pass" if res["attacker_ok"] else "fail: " + res["attacker_why"]
            for g, d in upstream.items():
                checks["upstream"] = "pass" if d <= a.cap else \
                    "fail: %s rose by %d (cap %d)" % (g.split("@")[0], d, a.cap)
            checks["viewer"] = "pass" if kept else "fail: " + vwhy
            row = {"attack": a.attack, "defect": a.defect, "target": name, "mem": m,
                   "attacker": res, "upstream": upstream, "viewer": vfacts,
                   "extra_mem": extra_mem, "checks": checks}
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

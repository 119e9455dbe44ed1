"""The daemons of the topology run: layout, configuration files, start, signals, restarts.

Layer: test tool (python3 standard library). Each daemon runs in its own network namespace
(`ip netns exec NS build/D -c CONF`, which execs: the PID recorded is the daemon's), in a
session of its own so a Ctrl-C reaches the tool, which then stops them in order. Only the
PIDs started here are ever signalled.

Addresses (see netns.py): smd i 10.200.1.i, spd k 10.200.2.k and 10.201.k.1 on its ISP
network, epd j 10.200.3.j and 10.201.k.<10+j> on the ISP network of its preferred origin k.
"""

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request

RTMP_PORT = 1935
HTTP_PORT = 8080
SMD_PORT = 7935


def http_get(url, timeout=1.0):
    """(status, body) of a GET, or (None, why) when there was no answer."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""
    except (OSError, ValueError) as e:
        return None, str(e)


def http_json(url, timeout=1.0):
    status, body = http_get(url, timeout)
    if status != 200:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class Node:
    def __init__(self, name, role, index):
        self.name = name
        self.role = role          # smd | spd | epd
        self.index = index        # 1-based within its role
        self.ns = None
        self.core_ip = None
        self.isp_ip = None
        self.isp = None           # index of the ISP network it sits on (spd: its own)
        self.pref = None          # epd: preferred origin (Node) and backup origin (Node)
        self.backup = None
        self.isp_port = None      # epd: its hub port on the ISP network (cut = down)
        self.other_isp = False    # epd: "on another ISP" (netem on its core link)
        self.conf = None
        self.log_path = None
        self.proc = None
        self.state = "down"       # up | stopped (SIGSTOP) | down
        self.starts = 0
        self.crashes = []         # (time, exit status) of exits nobody asked for

    @property
    def http(self):
        return "%s:%d" % (self.core_ip, HTTP_PORT)

    @property
    def rtmp(self):
        return "%s:%d" % (self.core_ip, RTMP_PORT)

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def __repr__(self):
        return self.name


class Cluster:
    def __init__(self, cfg, net, rundir, build, log):
        self.cfg = cfg
        self.net = net
        self.rundir = rundir
        self.build = build
        self.log = log
        self.secret = os.urandom(12).hex()
        self.smds = [Node("sm-%d" % i, "smd", i) for i in range(1, cfg.smd + 1)]
        self.spds = [Node("sp-%d" % k, "spd", k) for k in range(1, cfg.spd + 1)]
        self.epds = [Node("ep-%02d" % j, "epd", j) for j in range(1, cfg.epd + 1)]
        self.nodes = self.smds + self.spds + self.epds
        self.by_name = {n.name: n for n in self.nodes}
        self.started_pids = set()
        for n in self.smds:
            n.core_ip = "10.200.1.%d" % n.index
        for n in self.spds:
            n.core_ip = "10.200.2.%d" % n.index
            n.isp = n.index
            n.isp_ip = "10.201.%d.1" % n.index
        for n in self.epds:
            # Edges in turn over the origins: the same ISP as its preferred origin, the
            # next origin (another ISP) as backup, as the seed's deployment paired them.
            k = (n.index - 1) % len(self.spds)
            n.pref = self.spds[k]
            n.backup = self.spds[(k + 1) % len(self.spds)] if len(self.spds) > 1 else None
            n.isp = n.pref.index
            n.core_ip = "10.200.3.%d" % n.index
            n.isp_ip = "10.201.%d.%d" % (n.isp, 10 + n.index)
            n.other_isp = n.index % 4 == 0

    # ---- network ----

    def make_network(self, netem):
        """Each node's namespace and links (the hub and its bridges exist already)."""
        for n in self.nodes:
            n.ns = self.net.add_ns(n.name)
            self.net.attach(n.name, n.ns, "core0", "core", n.core_ip + "/16")
            if n.isp_ip is not None:
                n.isp_port = self.net.attach(n.name, n.ns, "isp0", "isp%d" % n.isp,
                                             n.isp_ip + "/24")
            if netem and n.other_isp:
                # an edge on another ISP: every byte it exchanges over the core is delayed
                self.net.netem(n.ns, "core0", "delay 30ms 10ms loss 0.2%")

    # ---- configuration ----

    def write_configs(self, failover):
        os.makedirs(os.path.join(self.rundir, "conf"), exist_ok=True)
        os.makedirs(os.path.join(self.rundir, "logs"), exist_ok=True)
        smd_list = ", ".join('"%s:%d"' % (s.core_ip, SMD_PORT) for s in self.smds)
        for n in self.nodes:
            lines = ['node_id = "%s";' % n.name, 'log_level = "info";',
                     'cluster_secret = "%s";' % self.secret]
            if n.role == "smd":
                lines += ['listen = "%s:%d";' % (n.core_ip, SMD_PORT),
                          'http_listen = "%s:%d";' % (n.core_ip, HTTP_PORT),
                          "lease_seconds = %d;" % self.cfg.lease,
                          'allow = ( "10.200.2.0/24" );']
            else:
                lines += ['listen = "*:%d";' % RTMP_PORT, 'http_listen = "*:%d";' % HTTP_PORT,
                          "upstream_timeout = %d;" % self.cfg.upstream_timeout]
            if n.role == "spd":
                lines += ['advertise = "%s:%d";' % (n.core_ip, RTMP_PORT),
                          "source_managers = ( %s );" % smd_list]
            if n.role == "epd":
                pref = '"%s:%d"' % (n.pref.isp_ip, RTMP_PORT)
                if failover and n.backup is not None:
                    lines.append('upstream = ( %s, "%s:%d" );' % (pref, n.backup.core_ip,
                                                                  RTMP_PORT))
                else:
                    lines.append("upstream = %s;" % pref)
            n.conf = os.path.join(self.rundir, "conf", n.name + ".conf")
            n.log_path = os.path.join(self.rundir, "logs", n.name + ".log")
            with open(n.conf, "w") as f:
                f.write("\n".join(lines) + "\n")

    def binary(self, role):
        return os.path.join(self.build, role)

    # ---- processes ----

    def start(self, n):
        logf = open(n.log_path, "a")
        logf.write("==== topology: start %d at %.3f\n" % (n.starts + 1, time.monotonic()))
        logf.flush()
        n.proc = subprocess.Popen(["ip", "netns", "exec", n.ns, self.binary(n.role), "-c",
                                   n.conf], stdin=subprocess.DEVNULL, stdout=logf,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()
        self.started_pids.add(n.proc.pid)
        n.starts += 1
        n.state = "up"

    def healthy(self, n):
        status, _ = http_get("http://%s/api/v1/health" % n.http, timeout=0.5)
        return status == 200

    def wait_health(self, n, seconds=10.0):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if n.proc.poll() is not None:
                return False
            if self.healthy(n):
                return True
            time.sleep(0.05)
        return False

    def signal(self, n, sig):
        if n.proc is not None and n.proc.poll() is None:
            os.kill(n.proc.pid, sig)

    def kill(self, n):
        """SIGKILL (a crash, a power cut): nothing is closed gracefully."""
        n.state = "down"
        self.signal(n, signal.SIGKILL)
        n.proc.wait()

    def freeze(self, n):
        n.state = "stopped"
        self.signal(n, signal.SIGSTOP)

    def thaw(self, n):
        self.signal(n, signal.SIGCONT)
        n.state = "up"

    def stop(self, n, seconds=5.0):
        """SIGTERM and a bounded wait; SIGKILL past it. Returns the exit status."""
        if n.proc is None:
            return None
        n.state = "down"
        if n.proc.poll() is None:
            self.signal(n, signal.SIGCONT)
            self.signal(n, signal.SIGTERM)
            try:
                return n.proc.wait(seconds)
            except subprocess.TimeoutExpired:
                self.signal(n, signal.SIGKILL)
        return n.proc.wait()

    def restart(self, n):
        self.stop(n)
        self.start(n)
        return self.wait_health(n)

    def poll(self, now):
        """Notices daemons that exited on their own; restarts them as systemd would."""
        died = []
        for n in self.nodes:
            if n.state != "down" and n.proc is not None and n.proc.poll() is not None:
                n.crashes.append((now, n.proc.returncode))
                self.log("topology: %s exited on its own (status %s); restarting it"
                         % (n.name, n.proc.returncode))
                died.append(n)
                self.start(n)
        return died

    def stop_all(self):
        statuses = {}
        for n in reversed(self.nodes):
            if n.proc is not None and n.state != "down":
                statuses[n.name] = self.stop(n)
        return statuses

    def kill_all(self):
        """Cleanup path: whatever is still running of ours goes, stopped ones included."""
        for n in self.nodes:
            if n.proc is not None and n.proc.poll() is None:
                try:
                    os.kill(n.proc.pid, signal.SIGKILL)
                    n.proc.wait(5)
                except (OSError, subprocess.TimeoutExpired):
                    pass

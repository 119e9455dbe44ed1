"""Network namespaces for the topology run: one per node, bridges in a hub namespace.

Layer: test tool (python3 standard library and iproute2 only).

Every node (smd, spd, epd) gets its own network namespace, so its addresses, `allow` lists
and traffic are those of a host. The bridges live in a "hub" namespace of their own, which
also holds the tool's own address: publishers, viewers and the tool's HTTP samples run
there (the tool enters it with setns). Nothing is added to the machine's own namespace, so
a run can neither collide with the host's networks nor send a packet off the machine:
the hub has no route out.

    hub namespace
      bridge "core" 10.200.0.1/16 ── c-<node> ═ core0 of every node (registry, origin to
                                     origin, edge to backup, publishers, viewers, API)
      bridge "isp<k>" (no address) ── i-<node> ═ isp0 of origin k (10.201.k.1/24) and of
                                     the edges that prefer it (10.201.k.<10+j>/24)

An edge reaches its preferred origin on their shared "ISP" network and its backup across
the core, so taking the edge's ISP port down cuts it from its preferred upstream only:
its viewers, and its way to the backup, stay up.

Names: every namespace is "<prefix>-<node>" where the prefix carries the PID of the tool
that made it ("lctopo<PID>"); two runs never collide, and a later run (or --cleanup-stale)
removes what a run that died left behind, once that PID is no longer a topology tool.
"""

import ctypes
import os
import re
import shutil
import subprocess

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
PREFIX_RE = re.compile(r"^lctopo(\d+)-")


class NetError(Exception):
    pass


def ip(*args, check=True):
    """Runs `ip ARGS`; raises NetError with ip's message when it fails and check is set."""
    r = subprocess.run(("ip",) + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and r.returncode != 0:
        raise NetError("ip %s: %s" % (" ".join(args), r.stderr.strip() or r.returncode))
    return r


def usable():
    """(True, "") when this process can make network namespaces, else (False, why)."""
    if os.geteuid() != 0:
        return False, "network namespaces need root (run as root, e.g. sudo make topology)"
    try:
        r = subprocess.run(["ip", "netns", "list"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        return False, "the ip command (iproute2) is not installed"
    if r.returncode != 0:
        return False, "`ip netns` is not available: %s" % r.stderr.strip()
    probe = "lctopo%d-probe" % os.getpid()
    r = ip("netns", "add", probe, check=False)
    if r.returncode != 0:
        return False, "cannot make a network namespace: %s" % r.stderr.strip()
    ip("netns", "del", probe, check=False)
    return True, ""


def _owner_alive(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"topology" in f.read()
    except OSError:
        return False


def cleanup_stale(log=print):
    """Removes namespaces of topology runs whose tool is gone, ending what runs in them."""
    try:
        names = sorted(os.listdir(NETNS_DIR))
    except OSError:
        return 0
    stale = [n for n in names if PREFIX_RE.match(n) and
             not _owner_alive(int(PREFIX_RE.match(n).group(1)))]
    for name in stale:
        _kill_inside(name)
    for name in stale:
        ip("netns", "del", name, check=False)
    if stale:
        log("topology: removed %d namespaces left by an earlier run" % len(stale))
    return len(stale)


def _kill_inside(name):
    """SIGKILLs the processes in a namespace of ours (a run that died left them)."""
    r = ip("netns", "pids", name, check=False)
    for tok in r.stdout.split():
        if tok.isdigit() and int(tok) != os.getpid():
            try:
                os.kill(int(tok), 9)
            except OSError:
                pass


class Net:
    """The namespaces, bridges and links of one run."""

    def __init__(self, log):
        self.prefix = "lctopo%d" % os.getpid()
        self.log = log
        self.namespaces = []
        self.hub = self.ns("hub")
        self._home_fd = None

    def ns(self, node):
        return "%s-%s" % (self.prefix, node)

    def add_ns(self, node):
        name = self.ns(node)
        ip("netns", "add", name)
        self.namespaces.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def make_hub(self, isps):
        self.add_ns("hub")
        ip("-n", self.hub, "link", "add", "core", "type", "bridge")
        ip("-n", self.hub, "addr", "add", "10.200.0.1/16", "dev", "core")
        ip("-n", self.hub, "link", "set", "core", "up")
        for k in isps:
            ip("-n", self.hub, "link", "add", "isp%d" % k, "type", "bridge")
            ip("-n", self.hub, "link", "set", "isp%d" % k, "up")

    def attach(self, node, ns, ifname, bridge, cidr):
        """A veth from the node's namespace (ifname, address cidr) to a hub bridge."""
        port = "%s-%s" % ("c" if bridge == "core" else "i", node)
        ip("link", "add", port, "netns", self.hub, "type", "veth", "peer", "name", ifname,
           "netns", ns)
        ip("-n", self.hub, "link", "set", port, "master", bridge)
        ip("-n", self.hub, "link", "set", port, "up")
        ip("-n", ns, "addr", "add", cidr, "dev", ifname)
        ip("-n", ns, "link", "set", ifname, "up")
        return port

    def set_port(self, port, up):
        """Takes a hub port down (the node's side sees no carrier: packets are lost) or up."""
        ip("-n", self.hub, "link", "set", port, "up" if up else "down")

    def netem_available(self):
        """Whether the kernel has sch_netem: tried on a scratch veth in the hub."""
        if shutil.which("modprobe"):
            # the module may just not be loaded yet; the tc attempt below tells either way
            subprocess.run(["modprobe", "sch_netem"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        ip("-n", self.hub, "link", "add", "nt0", "type", "veth", "peer", "name", "nt1")
        r = subprocess.run(["tc", "-n", self.hub, "qdisc", "add", "dev", "nt0", "root",
                            "netem", "delay", "1ms"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        ip("-n", self.hub, "link", "del", "nt0", check=False)
        if r.returncode != 0:
            return False, r.stderr.strip() or "tc failed"
        return True, ""

    def netem(self, ns, ifname, spec):
        subprocess.run(["tc", "-n", ns, "qdisc", "add", "dev", ifname, "root", "netem"] +
                       spec.split(), check=True)

    def enter_hub(self):
        """Moves this process (its threads to come, its children) into the hub namespace."""
        libc = ctypes.CDLL(None, use_errno=True)
        self._home_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(os.path.join(NETNS_DIR, self.hub), os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise NetError("setns into %s: %s" % (self.hub, os.strerror(ctypes.get_errno())))
        finally:
            os.close(fd)

    def leave_hub(self):
        if self._home_fd is None:
            return
        libc = ctypes.CDLL(None, use_errno=True)
        libc.setns(self._home_fd, CLONE_NEWNET)
        os.close(self._home_fd)
        self._home_fd = None

    def teardown(self):
        """Deletes every namespace of this run (their veths go with them); the hub last."""
        self.leave_hub()
        for name in self.namespaces:
            if name != self.hub:
                ip("netns", "del", name, check=False)
        if self.hub in self.namespaces:
            ip("netns", "del", self.hub, check=False)
        self.namespaces = []

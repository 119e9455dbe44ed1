"""Faults of the topology run: the schedule, its default forms, and carrying it out.

Layer: test tool (python3 standard library).

A schedule is a text file, one fault a line (`#` starts a comment):

    TIME KIND ARGS...        TIME: seconds from the start of the workload
    70  kill    sp-2 8       SIGKILL, started again 8 s later (smd, spd or epd)
    100 freeze  sp-3 9       SIGSTOP (a silent death: no FIN, no RST), SIGCONT 9 s later
    130 cut     ep-10 15     the edge's link to its preferred upstream down, up 15 s later
    220 move    live/s03     the publisher leaves its origin and publishes on another
    245 hup-all 0.5          SIGHUP to every node in turn, 0.5 s apart
    280 restart-all 6        SIGTERM and start again, every node in turn, one every 6 s
    ... hup NODE | restart NODE   the same for one node

Each fault becomes timed steps; each step records what it did as an incident (kind, node or
stream, start and end time) for the verdict. A fault's end is when what it broke is back:
the restarted daemon answers its health check, the link is up, the publisher is live again.
"""

import signal
import time

KINDS = {"kill", "freeze", "cut", "move", "hup-all", "restart-all", "hup", "restart"}


class ScheduleError(Exception):
    pass


class Incidents:
    """What was done to the cluster and when (monotonic seconds)."""

    def __init__(self):
        self.items = []

    def add(self, kind, node=None, stream=None, t0=None, t1=None, label="", fault=None):
        inc = dict(kind=kind, node=node, stream=stream, t0=t0, t1=t1, label=label, fault=fault)
        self.items.append(inc)
        return inc

    def open(self, kind, node=None, stream=None, t0=None, label="", fault=None):
        for inc in self.items:
            if inc["t1"] is None and inc["kind"] == kind and inc["node"] == node and \
                    inc["stream"] == stream:
                return inc
        return self.add(kind, node, stream, t0, None, label, fault)

    def end_open(self, kinds, node=None, stream=None, t=None):
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        for inc in self.items:
            if inc["t1"] is None and inc["kind"] in kinds and inc["node"] == node and \
                    inc["stream"] == stream:
                inc["t1"] = t

    def close_all(self, t):
        for inc in self.items:
            if inc["t1"] is None:
                inc["t1"] = t


class Fault:
    def __init__(self, index, t, kind, args, line):
        self.index = index
        self.t = t
        self.kind = kind
        self.args = args
        self.line = line
        self.t_start = None     # when it was carried out (monotonic)
        self.t_end = None
        self.note = ""

    @property
    def label(self):
        return "%s %s" % (self.kind, " ".join(self.args))


def parse(text, cluster, streams):
    """Faults from schedule text, sorted by time; raises ScheduleError naming the line."""
    faults = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        tok = line.split()
        try:
            t = float(tok[0])
        except ValueError:
            raise ScheduleError("line %d: time '%s' is not a number" % (lineno, tok[0]))
        if len(tok) < 2 or tok[1] not in KINDS:
            raise ScheduleError("line %d: kind must be one of %s" % (lineno, ", ".join(sorted(KINDS))))
        kind, args = tok[1], tok[2:]
        if kind in ("kill", "freeze", "cut", "hup", "restart"):
            if not args or args[0] not in cluster.by_name:
                raise ScheduleError("line %d: %s needs a node (%s ... %s)" % (
                    lineno, kind, cluster.nodes[0].name, cluster.nodes[-1].name))
            if kind == "cut" and cluster.by_name[args[0]].role != "epd":
                raise ScheduleError("line %d: cut takes an edge (ep-NN)" % lineno)
        if kind == "move":
            if not args or args[0] not in streams:
                raise ScheduleError("line %d: move needs a stream (%s)" % (lineno, ", ".join(streams)))
            if len(args) > 1 and (args[1] not in cluster.by_name or
                                  cluster.by_name[args[1]].role != "spd"):
                raise ScheduleError("line %d: move's second argument is an origin (sp-N)" % lineno)
        for a in args[1:] if kind not in ("hup-all", "restart-all") else args:
            if kind != "move":
                try:
                    if float(a) <= 0:
                        raise ValueError
                except ValueError:
                    raise ScheduleError("line %d: '%s' is not a positive number of seconds" % (lineno, a))
        faults.append(Fault(len(faults), t, kind, args, raw.strip()))
    faults.sort(key=lambda f: f.t)
    for i, f in enumerate(faults):
        f.index = i
    return faults


def default_schedule(size, duration, cluster, upstream_timeout):
    """The schedule of the full run (scaled to its duration) or of the CI-sized one: one fault
    of each kind, the rolling ones last, and a quiet end (the "last minute")."""
    spds, epds = cluster.spds, cluster.epds
    ut = upstream_timeout
    if size == "ci":
        rows = [(8, "kill", spds[0].name, ut + 4),
                (17, "freeze", spds[1 % len(spds)].name, ut + 4),
                (27, "kill", epds[2 % len(epds)].name, 1),
                (30, "kill", cluster.smds[0].name, 2),
                (34, "cut", epds[3 % len(epds)].name, ut + 4),
                (44, "move", "live/s01"),
                (47, "hup-all", 0.2),
                (51, "restart-all", 2.1)]
        return rows
    k = duration / 600.0
    n = len(cluster.nodes)
    step = max(3.0, round((0.85 * duration - 290 * k) / n, 1))
    rows = [(75 * k, "kill", spds[1 % len(spds)].name, ut + 3),
            (105 * k, "freeze", spds[2 % len(spds)].name, ut + 4),
            (135 * k, "kill", epds[4 % len(epds)].name, 5),
            (160 * k, "kill", cluster.smds[0].name, 5),
            (185 * k, "cut", epds[9 % len(epds)].name, 15),
            (220 * k, "move", "live/s03"),
            (245 * k, "hup-all", 0.5),
            (290 * k, "restart-all", step)]
    return [(round(r[0]),) + r[1:] for r in rows]


def schedule_text(rows):
    return "".join("%g %s\n" % (r[0], " ".join(str(a) for a in r[1:])) for r in rows)


def last_time(faults, cluster, upstream_timeout):
    """When the last fault is over at the latest (plan seconds)."""
    end = 0.0
    for f in faults:
        if f.kind in ("kill", "freeze", "cut"):
            d = float(f.args[1]) if len(f.args) > 1 else default_length(f.kind, upstream_timeout)
        elif f.kind == "hup-all":
            d = (float(f.args[0]) if f.args else 0.5) * len(cluster.nodes)
        elif f.kind == "restart-all":
            d = (float(f.args[0]) if f.args else 6.0) * len(cluster.nodes)
        else:
            d = 2.0
        end = max(end, f.t + d)
    return end


def default_length(kind, upstream_timeout):
    return {"kill": 5.0, "freeze": upstream_timeout + 4.0, "cut": 15.0}[kind]


class Executor:
    """Turns faults into timed steps and runs the steps that are due."""

    def __init__(self, faults, cluster, net, workload, incidents, upstream_timeout, log):
        self.cluster = cluster
        self.net = net
        self.workload = workload
        self.incidents = incidents
        self.log = log
        self.faults = faults
        self.steps = []             # (plan seconds, seq, fault, callable)
        seq = 0
        for f in faults:
            for dt, fn in self._expand(f, upstream_timeout):
                self.steps.append((f.t + dt, seq, f, fn))
                seq += 1
        self.steps.sort(key=lambda s: (s[0], s[1]))

    def _expand(self, f, ut):
        c = self.cluster
        if f.kind in ("kill", "freeze", "cut"):
            node = c.by_name[f.args[0]]
            d = float(f.args[1]) if len(f.args) > 1 else default_length(f.kind, ut)
            return [(0, lambda fault: getattr(self, "do_" + f.kind)(fault, node)),
                    (d, lambda fault: getattr(self, "undo_" + f.kind)(fault, node))]
        if f.kind in ("hup", "restart"):
            node = c.by_name[f.args[0]]
            return [(0, lambda fault: getattr(self, "do_" + f.kind)(fault, node))]
        if f.kind == "move":
            to = c.by_name[f.args[1]] if len(f.args) > 1 else None
            return [(0, lambda fault: self.do_move(fault, f.args[0], to))]
        gap = float(f.args[0]) if f.args else (0.5 if f.kind == "hup-all" else 6.0)
        what = self.do_hup if f.kind == "hup-all" else self.do_restart
        # every node in turn: registries, then origins, then edges
        return [(i * gap, (lambda node: lambda fault: what(fault, node))(n))
                for i, n in enumerate(c.nodes)]

    def next_time(self):
        return self.steps[0][0] if self.steps else None

    def run_due(self, t_rel):
        while self.steps and self.steps[0][0] <= t_rel:
            _, _, fault, fn = self.steps.pop(0)
            now = time.monotonic()
            if fault.t_start is None:
                fault.t_start = now
                self.log("topology: t=%5.1f  %s" % (t_rel, fault.label))
            fn(fault)
            fault.t_end = time.monotonic()

    # ---- steps ----

    def do_kill(self, fault, node):
        now = time.monotonic()
        self.cluster.kill(node)
        self.incidents.open("kill", node=node.name, t0=now, fault=fault.index,
                            label="SIGKILL %s" % node.name)

    def undo_kill(self, fault, node):
        self.cluster.start(node)
        ok = self.cluster.wait_health(node)
        self.incidents.end_open("kill", node=node.name, t=time.monotonic())
        if not ok:
            fault.note += " %s did not answer its health check after the restart;" % node.name

    def do_freeze(self, fault, node):
        now = time.monotonic()
        self.cluster.freeze(node)
        self.incidents.open("freeze", node=node.name, t0=now, fault=fault.index,
                            label="SIGSTOP %s" % node.name)

    def undo_freeze(self, fault, node):
        self.cluster.thaw(node)
        self.incidents.end_open("freeze", node=node.name, t=time.monotonic())

    def do_cut(self, fault, node):
        now = time.monotonic()
        self.net.set_port(node.isp_port, False)
        self.incidents.open("cut", node=node.name, t0=now, fault=fault.index,
                            label="%s cut from %s" % (node.name, node.pref.name))

    def undo_cut(self, fault, node):
        self.net.set_port(node.isp_port, True)
        self.incidents.end_open("cut", node=node.name, t=time.monotonic())

    def do_move(self, fault, stream, to):
        now = time.monotonic()
        old, new = self.workload.move(stream, to, now)
        fault.note += " %s: %s -> %s;" % (stream, old.name, new.name)
        self.incidents.open("move", stream=stream, t0=now, fault=fault.index,
                            label="%s moves %s -> %s" % (stream, old.name, new.name))

    def do_hup(self, fault, node):
        now = time.monotonic()
        if node.state == "up":
            self.cluster.signal(node, signal.SIGHUP)
            self.incidents.add("hup", node=node.name, t0=now, t1=now, fault=fault.index,
                               label="SIGHUP %s" % node.name)

    def do_restart(self, fault, node):
        now = time.monotonic()
        inc = self.incidents.add("restart", node=node.name, t0=now, fault=fault.index,
                                 label="restart %s" % node.name)
        if not self.cluster.restart(node):
            fault.note += " %s did not answer its health check after the restart;" % node.name
        inc["t1"] = time.monotonic()

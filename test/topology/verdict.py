"""The verdict of a topology run, from what the viewers actually received.

Layer: test tool (python3 standard library). Inputs: rtmpbench's events (gaps, closes,
ticks), the incidents the faults recorded, the source of every stream over time, the
sampler's ownership, /metrics and /proc samples. Outputs plain data for report.py.

A viewer's path at a moment is its edge, the edge's preferred origin (and its backup from
the moment the preferred one failed until the edge itself restarts: an existing pull may
stay on the backup), and the origin its stream is published on. An incident crosses a
viewer's path when it hit one of those nodes (an smd is on nobody's media path), cut that
edge, or took that stream's publisher away. A gap (no media for over 1 s) is explained when
it starts while an incident that crosses the viewer's path is going on or settling
(`settle` seconds after it ended: pulls back off and retry); every other gap is a miss.
"""

import json
import re
import statistics

GAP_S = 1.0
CHURN = -1  # metric_deltas' key for what publishers leaving caused
# Counters that count something going wrong (not pulls started, bytes, requests).
FAILURE_RE = re.compile(r"fail|timeout|refus|error|drop|expir|switch|loss|lost|revocation|"
                        r"takeover|conflict|denied|limited")


def load_events(path):
    ev = []
    with open(path) as f:
        for line in f:
            try:
                ev.append(json.loads(line))
            except ValueError:
                pass  # a line cut short by the end of the run
    return ev


class Viewer:
    def __init__(self, meta):
        self.v = meta["v"]
        self.edge = meta["edge"]
        self.stream = meta["stream"]
        self.proto = meta["proto"]
        self.start = meta["start"]    # monotonic, set by Verdict
        self.end = meta["end"]
        self.gaps = []                # (from, to, seconds, open)
        self.closes = []              # (t, by, media, why)
        self.keys = []                # (t, ms)
        self.sessions = 0
        self.ts_back = 0
        self.first_media = None


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(round(q * len(v) + 0.5)) - 1))]


class Verdict:
    def __init__(self, run):
        self.run = run
        self.cfg = run.cfg
        self.cluster = run.cluster
        self.settle = run.cfg.upstream_timeout + 7.0
        events = load_events(run.events_path)
        begin = next((e["t"] for e in events if e.get("ev") == "begin"), run.t_plan)
        self.t0 = begin
        self.t_end = run.t_end
        self.viewers = []
        for meta in run.workload.viewers:
            v = Viewer(meta)
            v.start = begin + meta["start"]
            v.end = begin + meta["end"] if meta["end"] else self.t_end
            self.viewers.append(v)
        self.ticks = []
        for e in events:
            kind = e.get("ev")
            if kind == "tick":
                self.ticks.append(e)
                continue
            if "v" not in e or e["v"] >= len(self.viewers):
                continue
            v = self.viewers[e["v"]]
            if kind == "gap":
                v.gaps.append((e["from"], e["t"], e["ms"] / 1000.0, bool(e.get("open"))))
            elif kind == "close":
                v.closes.append((e["t"], e["by"], e["media"], e.get("why", "")))
            elif kind == "key":
                v.keys.append((e["t"], e["ms"]))
                if v.first_media is None:
                    v.first_media = e["t"]
            elif kind == "session":
                v.sessions += 1
            elif kind == "ts" and e.get("kind") == "back":
                v.ts_back += 1
        self.incidents = [dict(i) for i in run.incidents.items]
        for inc in self.incidents:
            if inc["t1"] is None:
                inc["t1"] = self.t_end
        self.faults = run.faults
        for f in self.faults:
            own = [i for i in self.incidents if i["fault"] == f.index]
            f.t_back = max([i["t1"] for i in own] + [f.t_end or 0.0]) if own else f.t_end
        # A publisher that lost its origin belongs to the fault that took the origin away.
        for inc in self.incidents:
            if inc["fault"] is None and inc["kind"] == "pubgone":
                for f in self.faults:
                    if f.t_start is not None and f.t_start - 0.5 <= inc["t0"] <= f.t_back + 2:
                        inc["fault"] = f.index
        # A fault's window: from its start until what it broke has settled, or the next
        # fault starts (each moment is put to the latest fault: tables do not overlap).
        started = [f for f in self.faults if f.t_start is not None]
        for f, nxt in zip(started, started[1:] + [None]):
            b = f.t_back + self.settle
            if nxt is not None:
                b = min(b, nxt.t_start - 0.5)
            f.win = (f.t_start - 0.5, max(b, f.t_start))
        self._backup = self._backup_intervals()

    # ---- paths ----

    def _backup_intervals(self):
        """Per edge, when it may be pulling from its backup: from a failure of its preferred
        origin (or of its link to it) until the edge itself is restarted."""
        out = {}
        if not self.run.failover:
            return out
        for e in self.cluster.epds:
            spans = []
            for inc in self.incidents:
                hit = (inc["node"] == e.pref.name and inc["kind"] in ("kill", "freeze",
                                                                     "restart")) or \
                      (inc["node"] == e.name and inc["kind"] == "cut")
                if not hit:
                    continue
                end = self.t_end
                for r in self.incidents:
                    if r["node"] == e.name and r["kind"] in ("kill", "restart") and \
                            r["t0"] > inc["t0"]:
                        end = min(end, r["t0"])
                spans.append((inc["t0"], end))
            out[e.name] = spans
        return out

    def sources(self, stream, a, b):
        """Origins the stream was published on at any moment of [a, b]."""
        cur = None
        out = set()
        for t, s, origin in self.run.workload.sources:
            if s != stream:
                continue
            if t > b:
                break
            if t <= a:
                cur = origin
            elif origin is not None:
                out.add(origin)
        if cur is not None:
            out.add(cur)
        return out

    def window(self, inc):
        """While an incident may explain a gap that starts: until `settle` after its end."""
        return inc["t0"] - 0.5, inc["t1"] + self.settle

    def busy(self, inc):
        """While an incident keeps a viewer from being judged on another one: until
        upstream_timeout after its end (shorter: recovery is under way by then)."""
        return inc["t0"] - 0.5, inc["t1"] + self.cfg.upstream_timeout

    def others_on_path(self, v, a, b, but=None):
        return [i for i in self.incidents if i is not but and i["kind"] != "hup" and
                self.busy(i)[0] <= b and self.busy(i)[1] >= a and self.crosses(v, i)]

    def crosses(self, v, inc):
        kind = inc["kind"]
        if kind == "hup":
            return False
        if inc["stream"] is not None:
            return v.stream == inc["stream"]
        node = self.cluster.by_name[inc["node"]]
        if kind == "cut":
            return v.edge == node.name
        if node.role == "smd":
            return False
        if node.role == "epd":
            return v.edge == node.name
        edge = self.cluster.by_name[v.edge]
        a, b = self.window(inc)
        if node is edge.pref:
            return True
        if node is edge.backup and any(s < b and e > a for s, e in
                                       self._backup.get(edge.name, [])):
            return True
        return node.name in self.sources(v.stream, a, b)

    def explained(self, v, t):
        """The incidents crossing v's path whose window holds moment t."""
        out = []
        for inc in self.incidents:
            a, b = self.window(inc)
            if a <= t <= b and self.crosses(v, inc):
                out.append(inc)
        return out

    # ---- the judgements ----

    def long_gaps(self, v, a=None, b=None):
        return [g for g in v.gaps if g[2] > GAP_S and (a is None or a <= g[0] <= b)]

    def unexplained_gaps(self):
        out = []
        for v in self.viewers:
            for g in self.long_gaps(v):
                if not self.explained(v, g[0]):
                    out.append((v, g))
        return out

    def classify(self, v, f):
        """crossed: fault f was on v's path in its window; other: something else was
        (another fault still settling, a publisher leaving); avoided: nothing was; None: the
        viewer was not there."""
        a, b = f.win
        if v.start > b or v.end < a:
            return None
        on_path = self.others_on_path(v, a, b)
        if any(i["fault"] == f.index for i in on_path):
            return "crossed"
        return "other" if on_path else "avoided"

    def fault_table(self):
        """Per fault and class of viewers (classify): what each class got."""
        rows = []
        for f in self.faults:
            if f.t_start is None:
                continue
            a, b = f.win
            classes = {"crossed": [], "other": [], "avoided": []}
            for v in self.viewers:
                cls = self.classify(v, f)
                if cls is not None:
                    classes[cls].append(v)
            for cls, vs in classes.items():
                gaps = [g for v in vs for g in v.gaps if a <= g[0] <= b]
                longest = {v.v: max([g[2] for g in v.gaps if a <= g[0] <= b] or [0.0])
                           for v in vs}
                disc = [c for v in vs for c in v.closes
                        if a <= c[0] <= b and c[1] == "server" and c[2]]
                rows.append(dict(fault=f, cls=cls, viewers=len(vs),
                                 over=sum(1 for x in longest.values() if x > GAP_S),
                                 longest=max(longest.values() or [0.0]),
                                 p95=pct(list(longest.values()), 0.95),
                                 without=sum(g[2] for g in gaps if g[2] > GAP_S),
                                 disconnected=len(disc)))
        return rows

    def upstream_loss(self):
        """Viewers behind a killed, frozen, restarted or cut-off origin whose stream lives
        elsewhere: the longest gap that began between the fault and its deadline
        (upstream_timeout + 3 s later), and whether they were reconnected meanwhile. Viewers
        with something else on their path then are left out (not judged)."""
        out = []
        ut = self.cfg.upstream_timeout
        for inc in self.incidents:
            node = self.cluster.by_name.get(inc["node"]) if inc["node"] else None
            if node is None or inc["kind"] not in ("kill", "freeze", "restart", "cut"):
                continue
            if inc["kind"] != "cut" and node.role != "spd":
                continue
            a, b = inc["t0"] - 0.5, inc["t0"] + ut + 3
            for v in self.viewers:
                if v.start > inc["t0"] - 2 or v.end < inc["t0"] + ut + 3:
                    continue  # not there from before the fault until the deadline
                edge = self.cluster.by_name[v.edge]
                if inc["kind"] == "cut":
                    if edge is not node:
                        continue
                elif edge.pref is not node or node.name in self.sources(v.stream, a, b):
                    continue
                if self.others_on_path(v, a, b, but=inc):
                    continue  # something else on its path at the same time: not judged
                longest = max([g[2] for g in v.gaps if a <= g[0] <= b] or [0.0])
                disc = any(a <= c[0] <= b + 3 and c[1] in ("server", "client")
                           for c in v.closes)
                out.append(dict(inc=inc, v=v, longest=longest, disconnected=disc))
        return out

    def rolling_hup(self):
        res = []
        for f in self.faults:
            if f.kind != "hup-all" or f.t_start is None:
                continue
            a, b = f.t_start - 0.5, f.t_back + 2.0
            judged, excluded, gaps = 0, 0, []
            for v in self.viewers:
                if v.start > a or v.end < b:
                    continue
                if self.others_on_path(v, a, b):
                    excluded += 1
                    continue
                judged += 1
                gaps += [(v, g) for g in self.long_gaps(v, a, b)]
            res.append(dict(fault=f, judged=judged, excluded=excluded, gaps=gaps))
        return res

    def disconnections(self):
        """Closes by the server after media, split into allowed (the viewer's own edge was
        killed or restarted; or its publisher left) and the others."""
        edge_restart, pub_left, other = [], [], []
        for v in self.viewers:
            for c in v.closes:
                if c[1] != "server" or not c[2]:
                    continue
                t = c[0]
                own = [i for i in self.incidents if i["node"] == v.edge and
                       i["kind"] in ("kill", "restart") and i["t0"] - 0.5 <= t <= i["t1"] + 2]
                pub = [i for i in self.incidents if i["stream"] == v.stream and
                       i["t0"] - 0.5 <= t <= i["t1"] + self.settle]
                if own:
                    edge_restart.append((v, c))
                elif pub:
                    pub_left.append((v, c))
                else:
                    other.append((v, c))
        return edge_restart, pub_left, other

    def usage(self):
        """Per node: median RSS and fds in the first and the last minute of the workload
        (15 s windows in runs under 5 minutes), and whether the node was restarted; then the
        same summed over each role's nodes (what a leak would grow: publishers that moved
        during the run shift descriptors from one origin to another, not in total)."""
        span = self.t_end - self.t0
        win = 60.0 if span >= 300 else 15.0
        first_fault = min([f.t_start for f in self.faults if f.t_start] + [self.t_end])
        fa = self.t0 + 5
        fb = min(fa + win, max(fa + 5, first_fault))
        la, lb = self.t_end - win, self.t_end + 1
        out = []
        for n in self.cluster.nodes:
            first = [(r, fd) for t, name, role, pid, r, fd in self.run.sampler.procs
                     if name == n.name and fa <= t <= fb]
            last = [(r, fd) for t, name, role, pid, r, fd in self.run.sampler.procs
                    if name == n.name and la <= t <= lb]
            if not first or not last:
                out.append(dict(node=n, ok=False))
                continue
            r0 = statistics.median(x[0] for x in first)
            r1 = statistics.median(x[0] for x in last)
            f0 = statistics.median(x[1] for x in first)
            f1 = statistics.median(x[1] for x in last)
            out.append(dict(node=n, ok=True, rss0=r0, rss1=r1, fd0=f0, fd1=f1,
                            rss_growth=(r1 - r0) / r0 if r0 else 0.0,
                            fd_growth=(f1 - f0) / f0 if f0 else 0.0,
                            restarted=n.starts > 1))
        roles = []
        for role in ("smd", "spd", "epd"):
            us = [u for u in out if u["node"].role == role]
            if not us or not all(u["ok"] for u in us):
                continue
            agg = dict(role=role, nodes=len(us))
            for k in ("rss0", "rss1", "fd0", "fd1"):
                agg[k] = sum(u[k] for u in us)
            agg["rss_growth"] = (agg["rss1"] - agg["rss0"]) / agg["rss0"] if agg["rss0"] else 0.0
            agg["fd_growth"] = (agg["fd1"] - agg["fd0"]) / agg["fd0"] if agg["fd0"] else 0.0
            roles.append(agg)
        return out, roles, win, span >= 300

    def metric_deltas(self):
        """Increases of the failure-like counters per sampling interval, put to the fault
        whose window holds them, else to a publisher leaving (key CHURN), else to quiet
        time."""
        churn = [self.window(i) for i in self.incidents if i["kind"] == "pubstop"]
        by_node = {}
        for t, node, pid, vals in self.run.sampler.metrics:
            by_node.setdefault(node, []).append((t, pid, vals))
        per_fault = {}
        quiet = {}
        for node, samples in by_node.items():
            role = self.cluster.by_name[node].role
            for (t0, pid0, v0), (t1, pid1, v1) in zip(samples, samples[1:]):
                for series, val in v1.items():
                    name = series.split("{")[0]
                    if not name.endswith("_total") or not FAILURE_RE.search(name):
                        continue
                    before = v0.get(series, 0.0) if pid0 == pid1 else 0.0
                    d = val - before
                    if d <= 0:
                        continue
                    f = next((f for f in self.faults if f.t_start is not None and
                              f.win[0] - 0.5 <= t1 <= f.win[1] + 0.5), None)
                    if f is not None:
                        bucket = per_fault.setdefault(f.index, {})
                    elif any(a - 0.5 <= t1 <= b + 0.5 for a, b in churn):
                        bucket = per_fault.setdefault(CHURN, {})
                    else:
                        bucket = quiet
                    ent = bucket.setdefault(series, [0.0, {}])
                    ent[0] += d
                    ent[1][role] = ent[1].get(role, 0.0) + d
        return per_fault, quiet

    def counted(self, per_fault, f, name):
        return sum(v[0] for s, v in per_fault.get(f.index, {}).items()
                   if s.split("{")[0] == name)

    def overall(self):
        without = []
        longest = []
        starts = []
        for v in self.viewers:
            g = [x[2] for x in v.gaps if x[2] > GAP_S]
            without.append(sum(g))
            longest.append(max([x[2] for x in v.gaps] or [0.0]))
            if v.keys:
                starts.append(v.keys[0][1])
        last = self.ticks[-1] if self.ticks else {}
        return dict(viewers=len(self.viewers), sessions=sum(v.sessions for v in self.viewers),
                    without=without, longest=longest, starts=starts,
                    ts_back=sum(v.ts_back for v in self.viewers),
                    never=sum(1 for v in self.viewers if v.first_media is None),
                    last_tick=last)

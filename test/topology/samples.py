"""What the topology run samples while it runs, on a thread of its own.

Layer: test tool (python3 standard library).

- Every second, ownership: every smd's /api/v1/streams and every spd's /api/v1/streams,
  asked at once (a thread per node) so one sample is one moment. One owner per stream id:
  the spds with a live local publisher of the id, together with the node each registry
  names, must be one node. A registry that does not list an id an spd publishes is not a
  second owner (it is catching up, e.g. after a restart) and is counted apart as lag.
- Every few seconds, every daemon's /metrics (the failure, timeout, refusal, switch and
  loss counters, and the gauges) and its RSS and open descriptors from /proc.
Stopped (SIGSTOP) and dead nodes are not asked; their absence is in the samples.
Each sample is also written as a JSON line under samples/.
"""

import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from cluster import http_get, http_json

SERIES_RE = re.compile(r"^(livecluster_[a-z0-9_]+)(\{[^}]*\})?\s+(\S+)")
INTERESTING = re.compile(r"fail|timeout|refus|error|drop|expir|switch|loss|lost|reconnect|"
                         r"takeover|revocation|upstream|pulls|viewers|streams|smds_up|"
                         r"connections$")


def parse_metrics(text):
    out = {}
    for line in text.splitlines():
        m = SERIES_RE.match(line)
        if m and INTERESTING.search(m.group(1)):
            try:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


def proc_usage(pid):
    """(RSS kB, open descriptors) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            rss = next((int(l.split()[1]) for l in f if l.startswith("VmRSS:")), 0)
        return rss, len(os.listdir("/proc/%d/fd" % pid))
    except (OSError, StopIteration, ValueError):
        return None


class Sampler(threading.Thread):
    def __init__(self, cluster, rundir, slow_every=5.0):
        super().__init__(name="sampler", daemon=True)
        self.cluster = cluster
        self.slow_every = slow_every
        self.halt = threading.Event()
        self.pool = None
        d = os.path.join(rundir, "samples")
        os.makedirs(d, exist_ok=True)
        self.f_owners = open(os.path.join(d, "owners.jsonl"), "w")
        self.f_metrics = open(os.path.join(d, "metrics.jsonl"), "w")
        self.f_proc = open(os.path.join(d, "proc.jsonl"), "w")
        self.owner_samples = 0
        self.violations = []        # dicts: t, id, owners
        self.lag = []               # (t, ids an spd publishes that a registry does not list)
        self.metrics = []           # (t, node, pid, {series: value})
        self.procs = []             # (t, node, role, pid, rss_kB, fds)
        self.errors = 0

    def stop(self):
        self.halt.set()
        self.join(10)
        for f in (self.f_owners, self.f_metrics, self.f_proc):
            f.close()

    def run(self):
        self.pool = ThreadPoolExecutor(max_workers=12)
        next_slow = 0.0
        try:
            while not self.halt.is_set():
                t = time.monotonic()
                try:
                    self.sample_owners(t)
                    if t >= next_slow:
                        next_slow = t + self.slow_every
                        self.sample_slow(t)
                except Exception as e:  # a sampler that dies silently would fake a clean run
                    self.errors += 1
                    print("topology: sampler: %r" % (e,), flush=True)
                self.halt.wait(max(0.05, 1.0 - (time.monotonic() - t)))
        finally:
            self.pool.shutdown(wait=False)

    def _ask(self, nodes, path, parse):
        up = [n for n in nodes if n.state == "up"]
        futs = {n.name: self.pool.submit(http_json if parse else http_get,
                                         "http://%s%s" % (n.http, path), 0.8) for n in up}
        return {name: f.result() for name, f in futs.items()}

    def sample_owners(self, t):
        c = self.cluster
        answers = self._ask(c.smds + c.spds, "/api/v1/streams", True)
        registries = {}
        publishing = {}
        for n in c.smds:
            a = answers.get(n.name)
            if a is not None:
                registries[n.name] = {s["id"]: s.get("node_id") for s in a.get("streams", [])}
        for n in c.spds:
            a = answers.get(n.name)
            if a is None:
                continue
            for s in a.get("streams", []):
                if s.get("source") == "publisher" and s.get("live"):
                    publishing.setdefault(s["id"], set()).add(n.name)
        self.owner_samples += 1
        ids = set(publishing)
        for reg in registries.values():
            ids |= set(reg)
        lagging = []
        for i in sorted(ids):
            pubs = publishing.get(i, set())
            for smd, reg in registries.items():
                owners = set(pubs)
                if i in reg:
                    owners.add(reg[i])
                elif pubs:
                    lagging.append(i)
                if len(owners) > 1:
                    self.violations.append(dict(t=t, id=i, registry=smd,
                                                registry_owner=reg.get(i),
                                                publishing=sorted(pubs)))
            if not registries and len(pubs) > 1:
                self.violations.append(dict(t=t, id=i, registry=None, registry_owner=None,
                                            publishing=sorted(pubs)))
        if lagging:
            self.lag.append((t, sorted(set(lagging))))
        json.dump(dict(t=t, registries=registries,
                       publishing={k: sorted(v) for k, v in publishing.items()},
                       answered=sorted(answers), unanswered=sorted(
                           k for k, v in answers.items() if v is None)), self.f_owners)
        self.f_owners.write("\n")

    def sample_slow(self, t):
        c = self.cluster
        answers = self._ask(c.nodes, "/metrics", False)
        for n in c.nodes:
            status, body = answers.get(n.name, (None, b""))
            if status == 200:
                vals = parse_metrics(body.decode("utf-8", "replace"))
                self.metrics.append((t, n.name, n.pid, vals))
                json.dump(dict(t=t, node=n.name, pid=n.pid, values=vals), self.f_metrics)
                self.f_metrics.write("\n")
            if n.pid is not None and n.state != "down":
                u = proc_usage(n.pid)
                if u is not None:
                    self.procs.append((t, n.name, n.role, n.pid, u[0], u[1]))
                    json.dump(dict(t=t, node=n.name, role=n.role, pid=n.pid, rss_kb=u[0],
                                   fds=u[1]), self.f_proc)
                    self.f_proc.write("\n")
        self.f_metrics.flush()
        self.f_proc.flush()
        self.f_owners.flush()

"""Publishers and viewers of the topology run.

Layer: test tool (python3 standard library). Both are build/tools/rtmpbench, which costs far
less than ffmpeg: one process per publisher (so one can move or die alone) sending the
fixture looped at real-time pace with --exit-on-close, restarted here as an encoder would
reconnect; and one process for every viewer, in plan mode, which connects each viewer at
its time to its edge, reconnects it when the server closes it and writes the timeline
(events.jsonl) the verdict is drawn from.

Publishers are spread over the origins as DNS round robin would (shuffled, seeded); a
publisher whose origin is gone reconnects to one of the origins that are up (seeded). Viewers are
spread over the edges, half RTMP and half HTTP-FLV, on streams picked with a Zipf-like
popularity; some come and go during the run. The source of every stream over time is
recorded (`sources`): the verdict needs it to tell whose path crossed a failed node.
"""

import os
import random
import signal
import subprocess
import time

RECONNECT_S = 1.0


class Publisher:
    def __init__(self, stream, origin):
        self.stream = stream        # "live/s03"
        self.origin = origin        # Node it (re)connects to
        self.proc = None
        self.want = False           # should be publishing now
        self.retry_at = 0.0
        self.starts = 0


class Workload:
    def __init__(self, cfg, cluster, rundir, build, fixture, log, incidents):
        self.cfg = cfg
        self.cluster = cluster
        self.rundir = rundir
        self.rtmpbench = os.path.join(build, "tools", "rtmpbench")
        self.fixture = fixture
        self.log = log
        self.incidents = incidents
        self.rng = random.Random(cfg.seed)
        self.pubs = {}
        self.sources = []           # (time, stream, origin name or None)
        self.viewers = []           # dicts: v, edge, stream, proto, start, end (plan seconds)
        self.viewer_proc = None
        self.t_plan = None          # monotonic time of the plan's 0 (the "begin" event)
        self.pub_churn = []         # (plan second, "start"|"stop", stream)
        self.started_pids = set()
        os.makedirs(os.path.join(rundir, "logs"), exist_ok=True)

    # ---- plan ----

    def plan(self, duration, quiet_from):
        """Decides publishers, viewers and their comings and goings; writes plan.txt."""
        spds = self.cluster.spds
        n = self.cfg.publishers
        origins = [spds[i % len(spds)] for i in range(n)]
        self.rng.shuffle(origins)
        for i in range(n):
            s = "live/s%02d" % i
            self.pubs[s] = Publisher(s, origins[i])
        # Publishers that come and go: live for a stretch in the middle of the run.
        churn = []
        for c in range(self.cfg.churn_publishers):
            s = "live/c%02d" % c
            self.pubs[s] = Publisher(s, spds[(c + 1) % len(spds)])
            on = duration * (0.1 + 0.4 * c / max(1, self.cfg.churn_publishers))
            off = min(on + duration * 0.3, quiet_from - 5)
            self.pub_churn += [(on, "start", s), (off, "stop", s)]
            churn.append((s, on, off))
        streams = ["live/s%02d" % i for i in range(n)]
        weights = [1.0 / (i + 1) ** 0.8 for i in range(n)]
        edges = self.cluster.epds
        v = 0
        lines = []

        def add(edge, stream, start, end):
            nonlocal v
            proto = "rtmp" if v % 2 == 0 else "http"
            if proto == "rtmp":
                url = "rtmp://%s/%s" % (edge.rtmp, stream)
            else:
                url = "http://%s/%s.flv" % (edge.http, stream)
            self.viewers.append(dict(v=v, edge=edge.name, stream=stream, proto=proto,
                                     start=start, end=end))
            lines.append("%.1f %.1f %s" % (start, end, url))
            v += 1

        # The base population: there from the first seconds to the end.
        for edge in edges:
            for _ in range(self.cfg.viewers_per_edge):
                add(edge, self.rng.choices(streams, weights)[0], self.rng.uniform(0, 3), 0)
        # Viewers who come and go, all gone before the quiet end of the run.
        for _ in range(self.cfg.churn_viewers):
            life = self.rng.uniform(*self.cfg.churn_life)
            start = self.rng.uniform(5, max(6, quiet_from - life - 1))
            add(self.rng.choice(edges), self.rng.choices(streams, weights)[0], start,
                min(start + life, quiet_from - 1))
        # Viewers of the publishers that come and go: from just after the start to after
        # the publisher left (what do they see?), then they leave.
        for s, on, off in churn:
            for _ in range(max(2, self.cfg.viewers_per_edge // 2)):
                add(self.rng.choice(edges), s, on + 3 + self.rng.uniform(0, 3),
                    min(off + 8, quiet_from - 1))
        path = os.path.join(self.rundir, "plan.txt")
        with open(path, "w") as f:
            f.write("# START END URL: one viewer a line (rtmpbench --plan)\n")
            f.write("\n".join(lines) + "\n")
        return path

    # ---- publishers ----

    def _start_pub(self, p, now):
        origin = p.origin
        if origin.state != "up":
            # DNS (round robin, health-checked) hands out one of the origins that are up.
            up = [s for s in self.cluster.spds if s.state == "up"]
            if not up:
                p.retry_at = now + RECONNECT_S
                return False
            origin = p.origin = self.rng.choice(up)
        url = "rtmp://%s/%s" % (origin.rtmp, p.stream)
        logf = open(os.path.join(self.rundir, "logs", "pub-%s.log" % p.stream.split("/")[1]),
                    "a")
        logf.write("==== topology: publish to %s at %.3f\n" % (url, now))
        logf.flush()
        p.proc = subprocess.Popen([self.rtmpbench, "-q", "-n", "0", "-d", "0",
                                   "--exit-on-close", "-P", self.fixture, url],
                                  stdin=subprocess.DEVNULL, stdout=logf,
                                  stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()
        self.started_pids.add(p.proc.pid)
        p.starts += 1
        self.sources.append((now, p.stream, origin.name))
        self.incidents.end_open(("pubgone", "move"), stream=p.stream, t=now)
        return True

    def start_publishers(self, now):
        for s, p in self.pubs.items():
            if not s.startswith("live/c"):
                p.want = True
                self._start_pub(p, now)

    def stop_pub(self, p, now):
        p.want = False
        if p.proc is not None and p.proc.poll() is None:
            p.proc.send_signal(signal.SIGTERM)
            try:
                p.proc.wait(3)
            except subprocess.TimeoutExpired:
                p.proc.kill()
                p.proc.wait()
        p.proc = None
        self.sources.append((now, p.stream, None))

    def move(self, stream, to, now):
        """The publisher leaves its origin and, after an encoder's reconnect delay, publishes
        the same stream on another origin (`to`, or the next one that is up)."""
        p = self.pubs[stream]
        old = p.origin
        self.stop_pub(p, now)
        spds = self.cluster.spds
        if to is None:
            i = spds.index(old)
            to = next((s for s in spds[i + 1:] + spds[:i + 1]
                       if s.state == "up" and s is not old), old)
        p.origin = to
        p.want = True
        p.retry_at = now + RECONNECT_S
        return old, to

    def supervise(self, now, t_rel):
        """Restarts publishers whose connection closed; applies the publisher churn."""
        while self.pub_churn and self.pub_churn[0][0] <= t_rel:
            _, what, s = self.pub_churn.pop(0)
            p = self.pubs[s]
            if what == "start":
                p.want = True
                self._start_pub(p, now)
            else:
                self.stop_pub(p, now)
                self.incidents.add("pubstop", stream=s, t0=now, t1=now, label="publisher of "
                                   "%s leaves (churn)" % s)
        for p in self.pubs.values():
            if p.proc is not None and p.proc.poll() is not None:
                p.proc = None
                self.sources.append((now, p.stream, None))
                if p.want:
                    p.retry_at = now + RECONNECT_S
                    self.incidents.open("pubgone", stream=p.stream, t0=now,
                                        label="publisher of %s lost its origin" % p.stream)
            if p.want and p.proc is None and now >= p.retry_at:
                self._start_pub(p, now)

    def stop_publishers(self, now):
        for p in self.pubs.values():
            if p.proc is not None:
                self.stop_pub(p, now)

    # ---- viewers ----

    def start_viewers(self, plan_path, run_seconds):
        events = os.path.join(self.rundir, "events.jsonl")
        logf = open(os.path.join(self.rundir, "logs", "viewers.log"), "w")
        self.viewer_proc = subprocess.Popen(
            [self.rtmpbench, "--plan", plan_path, "--events", events, "-d",
             "%d" % run_seconds, "-t", "10", "--reconnect-ms", "1000", "--gap-ms", "300"],
            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
            start_new_session=True)
        logf.close()
        self.started_pids.add(self.viewer_proc.pid)
        self.t_plan = time.monotonic()
        return events

    def stop_viewers(self):
        if self.viewer_proc is None or self.viewer_proc.poll() is not None:
            return self.viewer_proc.returncode if self.viewer_proc else None
        self.viewer_proc.send_signal(signal.SIGTERM)
        try:
            return self.viewer_proc.wait(15)
        except subprocess.TimeoutExpired:
            self.viewer_proc.kill()
            return self.viewer_proc.wait()

    def kill_all(self):
        procs = [p.proc for p in self.pubs.values()] + [self.viewer_proc]
        for proc in procs:
            if proc is not None and proc.poll() is None:
                try:
                    proc.kill()
                    proc.wait(5)
                except (OSError, subprocess.TimeoutExpired):
                    pass

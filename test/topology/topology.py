#!/usr/bin/env python3
"""make topology: the seed's deployment on one machine, broken on purpose.

Layer: test tool (python3 standard library, iproute2, gnuplot for the picture).

Builds 1 smd (or 2), 5 spd and 34 epd, each in its own network namespace (netns.py), runs
publishers and hundreds of viewers through them (workload.py), carries out a schedule of
faults (faults.py) while sampling ownership, /metrics and /proc (samples.py), and judges
the run from what the viewers received (verdict.py, targets.py). The report (report.py) is
summary.txt and topology.png in the run's directory, next to the logs.

    test/topology/run.sh [--ci] [options]        (make topology, make check)
    python3 test/topology/topology.py --help

--ci is the CI-sized form (1 smd, 3 spd, 6 epd, about a minute, one fault of each kind)
with pass/fail checks; without root or `ip netns` it prints that it skipped and exits 0.
The full form exits 1 when a target is missed, the CI form when a check fails, 2 when the
run could not be made.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import faults as faults_mod  # noqa: E402
import netns  # noqa: E402
import report  # noqa: E402
import rundata  # noqa: E402
import targets as targets_mod  # noqa: E402
from cluster import Cluster, http_json  # noqa: E402
from samples import Sampler  # noqa: E402
from verdict import Verdict  # noqa: E402
from workload import Workload  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Config:
    def __init__(self, a):
        ci = a.ci
        self.size = "ci" if ci else "full"
        self.smd = a.smd
        self.spd = a.spd or (3 if ci else 5)
        self.epd = a.epd or (6 if ci else 34)
        self.publishers = a.publishers or (6 if ci else 20)
        self.churn_publishers = 1 if ci else 2
        self.viewers_per_edge = a.viewers_per_edge or (6 if ci else 8)
        self.churn_viewers = 12 if ci else 120
        self.churn_life = (8, 25) if ci else (20, 120)
        self.duration = a.duration or (80 if ci else 600)
        self.quiet = 8 if ci else 60      # the end of the run without faults or churn
        self.upstream_timeout = a.upstream_timeout or (3 if ci else 5)
        self.lease = 10
        self.seed = a.seed


def log(msg):
    print(msg, flush=True)


def failover_supported(build, tmpdir):
    """Whether this epd takes an upstream list (the failover contract): `epd -t` decides."""
    conf = os.path.join(tmpdir, "failover-probe.conf")
    with open(conf, "w") as f:
        f.write('upstream = ( "10.201.1.1:1935", "10.200.2.2:1935" );\n')
    r = subprocess.run([os.path.join(build, "epd"), "-t", "-c", conf], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    os.unlink(conf)
    return r.returncode == 0


class Run:
    def __init__(self, cfg, args):
        self.cfg = cfg
        self.args = args
        self.build = os.path.abspath(args.build)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.rundir = os.path.abspath(args.out or os.path.join(
            ROOT, "build", "topology", "%s-%s-%d" % (cfg.size, stamp, os.getpid())))
        os.makedirs(self.rundir, exist_ok=True)
        self.net = netns.Net(log)
        self.cluster = Cluster(cfg, self.net, self.rundir, self.build, log)
        self.incidents = faults_mod.Incidents()
        self.workload = Workload(cfg, self.cluster, self.rundir, self.build,
                                 os.path.join(ROOT, "test", "fixtures", "ffmpeg_h264_aac.flv"),
                                 log, self.incidents)
        self.sampler = None
        self.faults = []
        self.failover = False
        self.netem_note = ""
        self.png_note = ""
        self.events_path = None
        self.t_plan = None
        self.t_end = None
        self.exit_statuses = {}
        self.viewer_status = None

    def setup(self):
        for b in ("smd", "spd", "epd", "tools/rtmpbench"):
            if not os.access(os.path.join(self.build, b), os.X_OK):
                raise SystemExit("topology: %s/%s is missing: run `make all tools` first"
                                 % (self.build, b))
        self.failover = failover_supported(self.build, self.rundir)
        t = time.monotonic()
        self.net.make_hub([s.index for s in self.cluster.spds])
        ok, why = self.net.netem_available()
        if ok:
            self.netem_note = ("sch_netem: edges on another ISP (every 4th) get 30 ms +- 10 ms "
                               "delay and 0.2% loss on their core link")
        else:
            self.netem_note = ("sch_netem not available in this kernel (%s): no delay or loss; "
                               "partitions by link down/up" % why)
        log("topology: %s" % self.netem_note)
        self.cluster.make_network(ok)
        log("topology: %d namespaces, bridges and links made in %.1f s (prefix %s)" % (
            len(self.net.namespaces), time.monotonic() - t, self.net.prefix))
        self.net.enter_hub()
        self.cluster.write_configs(self.failover)
        log("topology: failover %s" % ("available: edges get their preferred and a backup "
                                        "origin" if self.failover else
                                        "not available (epd takes one upstream): each edge "
                                        "gets its preferred origin only"))
        t = time.monotonic()
        for group in (self.cluster.smds, self.cluster.spds, self.cluster.epds):
            for n in group:
                self.cluster.start(n)
            for n in group:
                if not self.cluster.wait_health(n, 15):
                    raise SystemExit("topology: %s did not come up; see %s" % (n.name,
                                                                               n.log_path))
        log("topology: %d daemons up in %.1f s" % (len(self.cluster.nodes),
                                                   time.monotonic() - t))

    def schedule(self):
        streams = ["live/s%02d" % i for i in range(self.cfg.publishers)]
        if self.args.schedule:
            with open(self.args.schedule) as f:
                text = f.read()
        else:
            text = faults_mod.schedule_text(faults_mod.default_schedule(
                self.cfg.size, self.cfg.duration, self.cluster, self.cfg.upstream_timeout))
        text += "".join(x + "\n" for x in self.args.fault)
        self.faults = faults_mod.parse(text, self.cluster, streams)
        with open(os.path.join(self.rundir, "schedule.txt"), "w") as f:
            f.write("# TIME KIND ARGS (see test/topology/faults.py)\n" + text)
        end = faults_mod.last_time(self.faults, self.cluster, self.cfg.upstream_timeout)
        if end + self.cfg.quiet > self.cfg.duration:
            self.cfg.duration = int(end + self.cfg.quiet + 0.999)
            log("topology: the schedule runs to t=%.0f: duration raised to %d s" % (
                end, self.cfg.duration))

    def wait_live(self, seconds):
        """Until every publisher's stream is live at its origin (bounded)."""
        end = time.monotonic() + seconds
        want = {p.stream: p for p in self.workload.pubs.values() if p.want}
        while time.monotonic() < end:
            live = set()
            for n in self.cluster.spds:
                a = http_json("http://%s/api/v1/streams" % n.http)
                for s in (a or {}).get("streams", []):
                    if s.get("live") and s.get("source") == "publisher":
                        live.add(s["id"])
            if set(want) <= live:
                return True
            self.workload.supervise(time.monotonic(), -1)
            time.sleep(0.2)
        return False

    def execute(self):
        cfg = self.cfg
        self.sampler = Sampler(self.cluster, self.rundir, slow_every=2.0 if cfg.size == "ci"
                               else 5.0)
        self.sampler.start()
        plan = self.workload.plan(cfg.duration, cfg.duration - cfg.quiet)
        self.workload.start_publishers(time.monotonic())
        if not self.wait_live(15):
            log("topology: warning: not every publisher's stream is live after 15 s")
        self.events_path = self.workload.start_viewers(plan, cfg.duration + 60)
        self.t_plan = self.workload.t_plan
        ex = faults_mod.Executor(self.faults, self.cluster, self.net, self.workload,
                                 self.incidents, cfg.upstream_timeout, log)
        log("topology: workload started: %d publishers, %d viewers; %d faults over %d s" % (
            len([p for p in self.workload.pubs.values() if p.want]),
            len(self.workload.viewers), len(self.faults), cfg.duration))
        next_note = 60.0
        while True:
            now = time.monotonic()
            t_rel = now - self.t_plan
            if t_rel >= cfg.duration:
                break
            ex.run_due(t_rel)
            now = time.monotonic()
            self.cluster.poll(now)
            self.workload.supervise(now, t_rel)
            if self.workload.viewer_proc.poll() is not None:
                raise SystemExit("topology: the viewers' rtmpbench exited (%s); see %s/logs/"
                                 "viewers.log" % (self.workload.viewer_proc.returncode,
                                                  self.rundir))
            if t_rel >= next_note and cfg.size == "full":
                log("topology: t=%.0f s of %d" % (t_rel, cfg.duration))
                next_note += 60.0
            nxt = ex.next_time()
            wait = 0.1 if nxt is None else min(0.1, max(0.0, nxt - t_rel))
            time.sleep(wait)
        self.t_end = time.monotonic()
        self.incidents.close_all(self.t_end)
        self.viewer_status = self.workload.stop_viewers()
        self.sampler.sample_slow(time.monotonic())  # the last RSS and fds
        self.sampler.stop()
        self.workload.stop_publishers(time.monotonic())
        self.exit_statuses = self.cluster.stop_all()

    def cleanup(self):
        if self.sampler is not None and self.sampler.is_alive():
            self.sampler.halt.set()
        self.workload.kill_all()
        self.cluster.kill_all()
        self.net.teardown()


def judge(run):
    """The verdict, summary.txt and topology.png of a run (live, or loaded by rundata)."""
    vd = Verdict(run)
    tg = targets_mod.targets(vd, run)
    checks = targets_mod.ci_checks(vd, run, tg) if run.cfg.size == "ci" else None
    png, run.png_note = report.picture(vd, run)
    text = report.summary(vd, run, tg, checks)
    with open(os.path.join(run.rundir, "summary.txt"), "w") as f:
        f.write(text)
    return text, tg, checks


def conclude(text, tg, checks):
    """Prints the summary and the closing line; the exit status."""
    sys.stdout.write(text)
    if checks is not None:
        failed = [c for c in checks if c[0] is False]
        skipped = [c for c in checks if c[0] is None]
        print("topology-ci: %d passed, %d failed%s" % (
            len(checks) - len(failed) - len(skipped), len(failed),
            ", %d skipped" % len(skipped) if skipped else ""))
        return 1 if failed else 0
    missed = [t for t in tg if t[0] == "MISS"]
    print("topology: %d of %d targets met%s" % (
        sum(1 for t in tg if t[0] == "PASS"), len(tg),
        "" if not missed else " (%d missed)" % len(missed)))
    return 1 if missed else 0


def parse_args(argv):
    p = argparse.ArgumentParser(description="the seed's deployment on one machine, broken on "
                                            "purpose (see docs/operations.md)")
    p.add_argument("--ci", action="store_true", help="the CI-sized form with pass/fail checks")
    p.add_argument("--duration", type=int, help="seconds of workload (full: 600, ci: 80)")
    p.add_argument("--schedule", help="fault schedule file (default: generated, written to "
                                      "the run's schedule.txt)")
    p.add_argument("--fault", action="append", default=[], metavar="'T KIND ARGS'",
                   help="one more fault, e.g. --fault '30 freeze sp-2 9'")
    p.add_argument("--smd", type=int, default=1, choices=(1, 2))
    p.add_argument("--spd", type=int)
    p.add_argument("--epd", type=int)
    p.add_argument("--publishers", type=int)
    p.add_argument("--viewers-per-edge", type=int)
    p.add_argument("--upstream-timeout", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--build", default=os.environ.get("BUILD", os.path.join(ROOT, "build")))
    p.add_argument("--out", help="run directory (default build/topology/SIZE-TIME-PID)")
    p.add_argument("--judge", metavar="RUNDIR",
                   help="only judge a finished run again from its directory, and exit")
    p.add_argument("--cleanup-stale", action="store_true",
                   help="only remove namespaces left by runs that died, and exit")
    a = p.parse_args(argv)
    if a.spd is not None and not 2 <= a.spd <= 20 or a.epd is not None and not 1 <= a.epd <= 200:
        p.error("--spd takes 2..20, --epd 1..200")
    return a


def main(argv):
    args = parse_args(argv)
    if args.judge:
        return conclude(*judge(rundata.load(args.judge)))
    if args.cleanup_stale:
        if os.geteuid() == 0:
            netns.cleanup_stale(log)
        return 0
    ok, why = netns.usable()
    if not ok:
        if args.ci:
            log("topology: skipped (CI-sized run): %s" % why)
            return 0
        log("topology: cannot run: %s" % why)
        return 2
    netns.cleanup_stale(log)
    cfg = Config(args)
    run = Run(cfg, args)

    def on_signal(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)

    # SIGINT too: a shell that started the tool in the background may have it ignored
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    log("topology: %s run in %s" % (cfg.size, run.rundir))
    try:
        run.setup()
        run.schedule()
        run.execute()
        rundata.save(run)
        text, tg, checks = judge(run)
    except KeyboardInterrupt:
        log("topology: interrupted: stopping the daemons and removing the namespaces")
        return 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the cleanup is not to be cut short
        run.cleanup()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    return conclude(text, tg, checks)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

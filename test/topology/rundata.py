"""A finished run, saved as run.json beside its samples, and read back for a new verdict.

Layer: test tool (python3 standard library). `topology.py --judge RUNDIR` rebuilds the
report of a run from its directory alone (its events, samples and run.json), e.g. after a
change to the verdict, or on another machine.
"""

import json
import os
from types import SimpleNamespace

from faults import Fault


def save(run):
    c = run.cluster
    data = dict(
        cfg=dict(vars(run.cfg)),
        failover=run.failover, netem_note=run.netem_note, t_plan=run.t_plan,
        t_end=run.t_end, exit_statuses=run.exit_statuses, viewer_status=run.viewer_status,
        nodes=[dict(name=n.name, role=n.role, pref=n.pref.name if n.pref else None,
                    backup=n.backup.name if n.backup else None, starts=n.starts,
                    crashes=n.crashes) for n in c.nodes],
        faults=[dict(index=f.index, t=f.t, kind=f.kind, args=f.args, line=f.line,
                     t_start=f.t_start, t_end=f.t_end, note=f.note) for f in run.faults],
        incidents=run.incidents.items,
        sources=run.workload.sources,
        viewers=run.workload.viewers,
        sampler=dict(owner_samples=run.sampler.owner_samples,
                     violations=run.sampler.violations, lag=run.sampler.lag,
                     errors=run.sampler.errors))
    with open(os.path.join(run.rundir, "run.json"), "w") as f:
        json.dump(data, f, indent=1)


def _jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def load(rundir):
    with open(os.path.join(rundir, "run.json")) as f:
        d = json.load(f)
    nodes = []
    for x in d["nodes"]:
        nodes.append(SimpleNamespace(name=x["name"], role=x["role"], starts=x["starts"],
                                     crashes=[tuple(c) for c in x["crashes"]], pref=x["pref"],
                                     backup=x["backup"]))
    by_name = {n.name: n for n in nodes}
    for n in nodes:
        n.pref = by_name.get(n.pref)
        n.backup = by_name.get(n.backup)
    cluster = SimpleNamespace(nodes=nodes, by_name=by_name,
                              smds=[n for n in nodes if n.role == "smd"],
                              spds=[n for n in nodes if n.role == "spd"],
                              epds=[n for n in nodes if n.role == "epd"])
    faults = []
    for x in d["faults"]:
        f = Fault(x["index"], x["t"], x["kind"], x["args"], x["line"])
        f.t_start, f.t_end, f.note = x["t_start"], x["t_end"], x["note"]
        faults.append(f)
    sd = os.path.join(rundir, "samples")
    procs = [(r["t"], r["node"], r["role"], r["pid"], r["rss_kb"], r["fds"])
             for r in _jsonl(os.path.join(sd, "proc.jsonl"))]
    metrics = [(r["t"], r["node"], r["pid"], r["values"])
               for r in _jsonl(os.path.join(sd, "metrics.jsonl"))]
    s = d["sampler"]
    sampler = SimpleNamespace(procs=procs, metrics=metrics, owner_samples=s["owner_samples"],
                              violations=s["violations"], lag=[tuple(x) for x in s["lag"]],
                              errors=s["errors"])
    return SimpleNamespace(
        cfg=SimpleNamespace(**d["cfg"]), cluster=cluster, faults=faults,
        incidents=SimpleNamespace(items=d["incidents"]),
        workload=SimpleNamespace(viewers=d["viewers"], sources=[tuple(x) for x in d["sources"]]),
        sampler=sampler, failover=d["failover"], netem_note=d["netem_note"],
        t_plan=d["t_plan"], t_end=d["t_end"], exit_statuses=d["exit_statuses"],
        viewer_status=d["viewer_status"], rundir=os.path.abspath(rundir),
        events_path=os.path.join(rundir, "events.jsonl"), png_note="")

"""The report of a topology run: summary.txt and topology.png next to the logs.

Layer: test tool (python3 standard library; the picture is drawn by gnuplot, a Debian
package that scripts/deps.sh installs: without it the summary says the picture was not
drawn). Times are seconds from the start of the workload (the plan's 0).
"""

import os
import shutil
import subprocess

from verdict import CHURN, GAP_S, pct


def _s(x):
    return "%.1f" % x if x == x else "-"


def summary(vd, run, tg, checks):
    c = run.cluster
    cfg = run.cfg
    ov = vd.overall()
    L = []
    w = L.append
    w("livecluster topology run (%s): %d smd, %d spd, %d epd, each in its own network "
      "namespace" % (cfg.size, len(c.smds), len(c.spds), len(c.epds)))
    w("  workload: %d publishers (+%d coming and going), %d viewers (%d RTMP, %d HTTP-FLV; "
      "%d there from start to end), %d sessions" % (
          cfg.publishers, cfg.churn_publishers, ov["viewers"],
          sum(1 for v in vd.viewers if v.proto == "rtmp"),
          sum(1 for v in vd.viewers if v.proto == "http"),
          sum(1 for m in run.workload.viewers if m["end"] == 0), ov["sessions"]))
    w("  run: %.0f s of workload, upstream_timeout %d s, lease %d s, seed %d" % (
        vd.t_end - vd.t0, cfg.upstream_timeout, cfg.lease, cfg.seed))
    w("  failover: %s" % ("available: every edge has its preferred origin (same ISP network) "
                         "and a backup (across the core)" if run.failover else
                         "NOT available in this build (epd -t refuses an upstream list): each "
                         "edge has its preferred origin only"))
    w("  links: %s" % run.netem_note)
    w("  logs, configs, samples: %s" % run.rundir)
    w("")
    w("Faults (t = seconds from the start of the workload)")
    w("  %-6s %-26s %-9s %s" % ("t", "fault", "back at", "note"))
    for f in run.faults:
        if f.t_start is None:
            w("  %-6s %-26s (not reached)" % (_s(f.t), f.label))
            continue
        w("  %-6s %-26s %-9s %s" % (_s(f.t_start - vd.t0), f.label, _s(f.t_back - vd.t0),
                                    f.note.strip()))
    w("")
    w("Per fault: viewers whose path crossed the failed node, and the others (gap = over %g s"
      " without media)" % GAP_S)
    w("  crossed: the fault was on the viewer's path (its edge, the edge's origins, its "
      "stream's origin or publisher);")
    w("  other: something else was meanwhile (an earlier fault settling, a publisher leaving);"
      " avoided: nothing was.")
    w("  A fault's window runs from its start to %g s after what it broke was back, or to "
      "the next fault." % vd.settle)
    w("  %-26s %-8s %7s %7s %8s %8s %11s %6s" % ("fault", "path", "viewers", "gap>1s",
                                                "longest", "p95", "no media s", "disc."))
    for r in vd.fault_table():
        w("  %-26s %-8s %7d %7d %7.2fs %7.2fs %11.1f %6d" % (
            r["fault"].label if r["cls"] == "crossed" else "", r["cls"], r["viewers"],
            r["over"], r["longest"], r["p95"] if r["p95"] == r["p95"] else 0.0, r["without"],
            r["disconnected"]))
    ul = vd.upstream_loss()
    if ul:
        w("")
        w("Behind a failed origin, stream published elsewhere (the failover case)")
        by = {}
        for x in ul:
            by.setdefault(x["inc"]["label"], []).append(x)
        for label, xs in by.items():
            ls = sorted(x["longest"] for x in xs)
            w("  %-28s %3d viewers: longest gap p50 %.1f s, max %.1f s; %d reconnected" % (
                label, len(xs), ls[len(ls) // 2], ls[-1], sum(1 for x in xs if x["disconnected"])))
    w("")
    w("Viewers overall (one line per viewer, with its class per fault: %s)" % viewer_table(vd, run))
    w("  start (arrival to first keyframe): p50 %s ms, p99 %s ms; never got media: %d" % (
        _s(pct(ov["starts"], 0.5)), _s(pct(ov["starts"], 0.99)), ov["never"]))
    w("  time without media per viewer: p50 %s s, p99 %s s, max %s s, total %.0f s" % (
        _s(pct(ov["without"], 0.5)), _s(pct(ov["without"], 0.99)),
        _s(max(ov["without"] or [0])), sum(ov["without"])))
    w("  longest gap per viewer: p50 %s s, p99 %s s, max %s s; timestamp steps back: %d" % (
        _s(pct(ov["longest"], 0.5)), _s(pct(ov["longest"], 0.99)),
        _s(max(ov["longest"] or [0])), ov["ts_back"]))
    er, pl, other = vd.disconnections()
    w("  disconnected by the server after media: %d (own edge killed or restarted %d, "
      "publisher left %d, other %d)" % (len(er) + len(pl) + len(other), len(er), len(pl),
                                        len(other)))
    for v, cl in other[:5]:
        w("    t=%.1f viewer %d (%s on %s): %s" % (cl[0] - vd.t0, v.v, v.stream, v.edge, cl[3]))
    un = vd.unexplained_gaps()
    if un:
        w("  gaps over 1 s with no fault on the path: %d" % len(un))
        for v, g in sorted(un, key=lambda x: -x[1][2])[:8]:
            w("    t=%.1f %.1f s viewer %d (%s on %s, %s)" % (g[0] - vd.t0, g[2], v.v, v.stream,
                                                            v.edge, v.proto))
    if ov["last_tick"]:
        t = ov["last_tick"]
        w("  at the end: %d viewers due, %d receiving, %d stalled" % (t["planned"],
                                                                    t["receiving"],
                                                                    t["stalled"]))
    w("")
    s = run.sampler
    w("One owner per stream id: %d samples of every smd and spd, %d with two owners" % (
        s.owner_samples, len(s.violations)))
    for x in s.violations[:5]:
        w("  t=%.1f %s: registry %s names %s, publishing on %s" % (
            x["t"] - vd.t0, x["id"], x["registry"], x["registry_owner"], x["publishing"]))
    if s.lag:
        w("  registry catching up (an spd publishes an id a registry does not list yet): %d "
          "samples, %s" % (len(s.lag), ", ".join("t=%.0f" % (t - vd.t0) for t, _ in s.lag[:12])))
    w("")
    per_fault, quiet = vd.metric_deltas()
    w("Failure counters in /metrics (increases summed over the nodes, by role)")
    for f in run.faults:
        d = per_fault.get(f.index)
        if f.t_start is None:
            continue
        w("  %-26s %s" % (f.label, _deltas(d) if d else "(nothing counted)"))
    if CHURN in per_fault:
        w("  %-26s %s" % ("a publisher leaving", _deltas(per_fault[CHURN])))
    w("  %-26s %s" % ("quiet time (no fault)", _deltas(quiet) if quiet else "(nothing counted)"))
    w("")
    usage, roles, win, judged = vd.usage()
    w("Daemons: RSS and open fds, median of the first and of the last %d s of the workload%s"
      % (win, "" if judged else " (not judged: run under 5 minutes)"))
    w("  %-6s %9s %9s %7s %6s %6s %7s %s" % ("node", "RSS MB", "-> MB", "growth", "fds",
                                             "-> fds", "growth", "starts/crashes"))
    for u in usage:
        n = u["node"]
        if not u["ok"]:
            w("  %-6s (no samples)" % n.name)
            continue
        w("  %-6s %9.1f %9.1f %+6.1f%% %6d %6d %+6.1f%% %d/%d" % (
            n.name, u["rss0"] / 1024, u["rss1"] / 1024, 100 * u["rss_growth"], u["fd0"],
            u["fd1"], 100 * u["fd_growth"], n.starts, len(n.crashes)))
    for r in roles:
        w("  %-6s %9.1f %9.1f %+6.1f%% %6d %6d %+6.1f%%   (sum of %d)" % (
            r["role"], r["rss0"] / 1024, r["rss1"] / 1024, 100 * r["rss_growth"], r["fd0"],
            r["fd1"], 100 * r["fd_growth"], r["nodes"]))
    bad = {k: v for k, v in run.exit_statuses.items() if v != 0}
    w("  exit status on the final SIGTERM: %s" % ("0 for every daemon" if not bad else bad))
    w("")
    w("Targets (issue 11)")
    for status, title, m in tg:
        w("  %-4s %s" % (status, title))
        w("       measured: %s" % m)
    if checks is not None:
        w("")
        w("CI checks")
        for ok, title, detail in checks:
            w("  %-7s %s" % ("ok" if ok else "skipped" if ok is None else "FAIL", title))
            w("          %s" % detail)
    w("")
    w("Picture: %s" % (run.png_note))
    return "\n".join(L) + "\n"


def viewer_table(vd, run):
    """viewers.tsv: one line per viewer, with its class for every fault (c crossed, o other,
    a avoided, - not there)."""
    faults = [f for f in run.faults if f.t_start is not None]
    path = os.path.join(run.rundir, "viewers.tsv")
    with open(path, "w") as out:
        out.write("\t".join(["viewer", "edge", "proto", "stream", "arrive_s", "leave_s",
                             "sessions", "disconnected", "gaps_over_1s", "no_media_s",
                             "longest_gap_s"] + ["f%d:%s" % (f.index, f.label.replace(" ", "_"))
                                                 for f in faults]) + "\n")
        for v in vd.viewers:
            long_gaps = [g[2] for g in v.gaps if g[2] > GAP_S]
            disc = sum(1 for c in v.closes if c[1] == "server" and c[2])
            row = [v.v, v.edge, v.proto, v.stream, "%.1f" % (v.start - vd.t0),
                   "%.1f" % (v.end - vd.t0), v.sessions, disc, len(long_gaps),
                   "%.2f" % sum(long_gaps), "%.2f" % max([g[2] for g in v.gaps] or [0.0])]
            row += [(vd.classify(v, f) or "-")[0] for f in faults]
            out.write("\t".join(str(x) for x in row) + "\n")
    return path


def _deltas(d):
    items = sorted(d.items(), key=lambda kv: -kv[1][0])
    return "; ".join("%s +%d (%s)" % (k.replace("livecluster_", ""), v[0],
                                      " ".join("%s %d" % (r, n) for r, n in sorted(v[1].items())))
                     for k, v in items[:8])


def picture(vd, run):
    """topology.png: viewers receiving, stall seconds, memory by role; faults marked."""
    d = os.path.join(run.rundir, "plot")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "viewers.dat"), "w") as f:
        f.write("# t planned playing receiving stalled cumulative_stall_s\n")
        cum = 0.0
        for t in vd.ticks:
            cum += t["stalled"]
            f.write("%.1f %d %d %d %d %.0f\n" % (t["t"] - vd.t0, t["planned"], t["playing"],
                                                 t["receiving"], t["stalled"], cum))
    roles = ("smd", "spd", "epd")
    # One sweep samples every node with the same t: sum per sweep, not per rounded second
    # (two sweeps that round to the same second would otherwise be added together).
    by_t = {}
    for t, node, role, pid, rss, fds in run.sampler.procs:
        by_t.setdefault(t, {r: 0 for r in roles})[role] += rss
    with open(os.path.join(d, "memory.dat"), "w") as f:
        f.write("# t rss_MB_smd rss_MB_spd rss_MB_epd (summed over the role's nodes)\n")
        for t in sorted(by_t):
            f.write("%.1f %s\n" % (t - vd.t0, " ".join("%.1f" % (by_t[t][r] / 1024)
                                                       for r in roles)))
    marks = []
    for i, f in enumerate(run.faults):
        if f.t_start is not None:
            x = f.t_start - vd.t0
            marks.append("set arrow from %.1f, graph 0 to %.1f, graph 1 nohead dt 2 lc rgb "
                         "'#aa0000'" % (x, x))
            marks.append("set label %d '%s' at %.1f, graph %.2f rotate by 90 right font ',8' "
                         "tc rgb '#aa0000'" % (i + 1, f.label.replace("'", ""), x + 0.5,
                                               0.98))
    png = os.path.join(run.rundir, "topology.png")
    gp = os.path.join(d, "topology.gp")
    with open(gp, "w") as f:
        f.write("""set terminal pngcairo size 1400,1050 font ',10'
set output '%(png)s'
set multiplot layout 3,1 title 'livecluster topology run (%(size)s): %(nodes)d nodes, %(viewers)d viewers'
set grid
set key outside top center horizontal
set xrange [0:*]
%(marks)s
set ylabel 'viewers'
plot '%(d)s/viewers.dat' u 1:2 w l lw 1 dt 3 lc rgb '#555555' t 'due (plan)', \\
     '' u 1:4 w l lw 2 lc rgb '#1f77b4' t 'receiving (media in the last second)'
set ylabel 'stall seconds per second'
set y2label 'cumulative stall s'
set y2tics
plot '%(d)s/viewers.dat' u 1:5 w boxes fs solid 0.5 lc rgb '#d62728' t 'viewers without media', \\
     '' u 1:6 axes x1y2 w l lw 2 lc rgb '#333333' t 'cumulative'
unset y2label
unset y2tics
set ylabel 'RSS MB (sum by role)'
set xlabel 's from the start of the workload'
plot '%(d)s/memory.dat' u 1:2 w lp pt 7 ps 0.4 t 'smd', '' u 1:3 w lp pt 7 ps 0.4 t 'spd', \\
     '' u 1:4 w lp pt 7 ps 0.4 t 'epd'
unset multiplot
""" % dict(png=png, size=run.cfg.size, nodes=len(run.cluster.nodes),
               viewers=len(vd.viewers), marks="\n".join(marks), d=d))
    if shutil.which("gnuplot") is None:
        return None, "not drawn: gnuplot is not installed (make deps installs gnuplot-nox); " \
                     "data and script in %s" % d
    r = subprocess.run(["gnuplot", gp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0 or not os.path.exists(png):
        return None, "gnuplot failed: %s" % r.stdout.strip()[-300:]
    return png, png

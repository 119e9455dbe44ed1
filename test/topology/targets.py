"""The issue's targets, measured, and the pass/fail checks of the CI-sized run.

Layer: test tool (python3 standard library). Each entry is (status, title, measured):
status PASS, MISS, or n/a when the run had nothing to judge it by. The CI checks assert only
what the design guarantees; the ones that need edge failover (an upstream list) are
skipped, and say so, on a build whose epd does not take one.
"""

PULL_TIMEOUTS = "livecluster_pull_timeouts_total"


def _fmt_v(v):
    return "viewer %d (%s on %s, %s)" % (v.v, v.stream, v.edge, v.proto)


def targets(vd, run):
    ut = run.cfg.upstream_timeout
    out = []

    gaps = vd.unexplained_gaps()
    rows = vd.fault_table()
    avoided = sum(r["viewers"] for r in rows if r["cls"] == "avoided")
    longest = max([r["longest"] for r in rows if r["cls"] == "avoided"] + [0.0])
    m = ("%d gaps over 1 s not explained by a fault on the viewer's path (longest %.1f s); "
         "%d viewer-faults on paths that avoided the failed node, longest gap there %.1f s"
         % (len(gaps), max([g[2] for _, g in gaps] + [0.0]), avoided, longest))
    if gaps:
        v, g = max(gaps, key=lambda x: x[1][2])
        m += "; worst: %s at t=%.1f" % (_fmt_v(v), g[0] - vd.t0)
    out.append(("PASS" if not gaps else "MISS",
                "Viewers whose path avoids the failed node: no gap longer than 1 s", m))

    ul = vd.upstream_loss()
    bound = ut + 3
    title = ("Viewers behind a killed, frozen or cut-off origin, with a backup upstream: back "
             "within upstream_timeout + 3 s (%d s), on the same connection" % bound)
    if not ul:
        out.append(("n/a", title, "no viewer was behind a failed origin with its stream "
                    "published elsewhere"))
    else:
        bad = [x for x in ul if x["longest"] > bound or x["disconnected"]]
        worst = max(ul, key=lambda x: x["longest"])
        m = ("%d viewer-faults: longest gap %.1f s (p50 %.1f s), %d over %d s, %d reconnected"
             % (len(ul), worst["longest"], sorted(x["longest"] for x in ul)[len(ul) // 2],
                sum(1 for x in ul if x["longest"] > bound), bound,
                sum(1 for x in ul if x["disconnected"])))
        if not run.failover:
            m += "; failover not available in this build (epd takes one upstream)"
        out.append(("PASS" if not bad and run.failover else "MISS", title, m))

    rh = vd.rolling_hup()
    title = "Rolling SIGHUP of all %d nodes: no viewer sees a gap" % len(run.cluster.nodes)
    if not rh:
        out.append(("n/a", title, "no hup-all in the schedule"))
    else:
        g = [x for r in rh for x in r["gaps"]]
        m = ("%d viewers judged, %d gaps over 1 s (longest %.1f s); %d viewers left out: "
             "another fault was on their path" % (sum(r["judged"] for r in rh), len(g),
                                                 max([x[1][2] for x in g] + [0.0]),
                                                 sum(r["excluded"] for r in rh)))
        out.append(("PASS" if not g else "MISS", title, m))

    er, pl, other = vd.disconnections()
    m = ("%d disconnected on an edge that was itself killed or restarted, %d after their "
         "publisher left, %d others" % (len(er), len(pl), len(other)))
    if other:
        v, c = other[0]
        m += "; first: %s at t=%.1f: %s" % (_fmt_v(v), c[0] - vd.t0, c[3])
    out.append(("PASS" if not other else "MISS",
                "No viewer disconnected by the cluster except those on an edge that was "
                "itself restarted", m))

    usage, roles, win, judged = vd.usage()
    ok = [u for u in usage if u["ok"]]
    title = "RSS and fds flat (within 10%) from the first to the last minute"
    if not ok or not roles:
        out.append(("n/a", title, "no samples"))
    else:
        m = "; ".join("%s x%d RSS %.1f -> %.1f MB (%+.1f%%), fds %d -> %d (%+.1f%%)" % (
            r["role"], r["nodes"], r["rss0"] / 1024, r["rss1"] / 1024, 100 * r["rss_growth"],
            r["fd0"], r["fd1"], 100 * r["fd_growth"]) for r in roles)
        wr = max(ok, key=lambda u: u["rss_growth"])
        wf = max(ok, key=lambda u: u["fd_growth"])
        m += ("; by node: worst RSS %+.1f%% (%s), worst fds %+.1f%% (%s %d -> %d); %d-s "
              "windows" % (100 * wr["rss_growth"], wr["node"].name, 100 * wf["fd_growth"],
                           wf["node"].name, wf["fd0"], wf["fd1"], win))
        if not judged:
            out.append(("n/a", title, m + "; judged on runs of 5 minutes or more"))
        else:
            good = all(r["rss_growth"] <= 0.10 and r["fd_growth"] <= 0.10 for r in roles)
            out.append(("PASS" if good else "MISS", title, m))
    return out


def ci_checks(vd, run, tg):
    """(ok, title, detail) per check; ok None = skipped."""
    out = []
    s = run.sampler
    out.append((s.owner_samples > 0 and not s.violations,
                "one owner per stream id at every sample",
                "%d samples, %d with two owners%s" % (
                    s.owner_samples, len(s.violations),
                    "" if not s.violations else ": first %s at t=%.1f: registry %s says %s, "
                    "publishing on %s" % (s.violations[0]["id"], s.violations[0]["t"] - vd.t0,
                                          s.violations[0]["registry"],
                                          s.violations[0]["registry_owner"],
                                          s.violations[0]["publishing"]))))
    t1, t2, t3, t4 = tg[0], tg[1], tg[2], tg[3]
    out.append((t1[0] == "PASS", "viewers on paths that avoid the failed node: no gap over 1 s",
                t1[2]))
    out.append((t3[0] != "MISS", "rolling SIGHUP: no viewer gap over 1 s", t3[2]))
    out.append((t4[0] == "PASS", "no viewer disconnected except on a killed or restarted edge",
                t4[2]))
    crashes = [(n.name, c) for n in run.cluster.nodes for c in n.crashes]
    bad_exit = {k: v for k, v in run.exit_statuses.items() if v != 0}
    out.append((not crashes and not bad_exit, "no daemon died on its own; all exit 0 on SIGTERM",
                "crashes: %s; exit statuses other than 0: %s" % (crashes or "none",
                                                                 bad_exit or "none")))
    if run.failover:
        out.append((t2[0] != "MISS", "behind a failed origin: back within upstream_timeout + 3 s "
                    "on the same connection", t2[2]))
    else:
        out.append((None, "behind a failed origin: back within upstream_timeout + 3 s",
                    "failover not available: skipped (epd -t refuses an upstream list)"))
    per_fault, _ = vd.metric_deltas()
    for f in run.faults:
        if f.kind == "freeze" and f.t_start is not None:
            n = vd.counted(per_fault, f, PULL_TIMEOUTS)
            out.append((n > 0, "the frozen origin is counted: %s (%s)" % (PULL_TIMEOUTS, f.label),
                        "+%d" % n))
    last = vd.ticks[-1] if vd.ticks else None
    out.append((last is not None and last["stalled"] == 0,
                "at the end every viewer that had media is receiving",
                "last tick: %s" % (last if last else "none")))
    out.append((s.errors == 0 and run.viewer_status == 0 and bool(vd.ticks),
                "the run itself was sound (sampler, viewer process, timeline)",
                "sampler errors %d, rtmpbench exit %s, %d ticks" % (s.errors, run.viewer_status,
                                                                    len(vd.ticks))))
    return out

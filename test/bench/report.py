#!/usr/bin/env python3
"""report.py — turns rtmpbench's JSON files into the `make bench` table (run.sh calls it).

  report.py line KIND N RUN.json       one progress line; exit 0 when every viewer kept up
  report.py noise RUN.json             % of a core other processes used in the window
  report.py latency NAME RUN.json      one latency line
  report.py cold OUT.json WHAT RUN.json...  merges single-player cold-start runs
  report.py table OUTDIR [--meta k=v ...]
                                       the table (stdout) and OUTDIR/bench.json

CPU per GB = the server process's CPU seconds (utime + stime from /proc/PID/stat) in the
measurement window, plus those of ksoftirqd on the server's CPU when the server is pinned
(deferred TCP work of the server's own sends, charged to no process otherwise), divided by
the bytes the players received in that window (1 GB = 1e9 bytes). RSS per viewer = (RSS at the end of the window - RSS just before the first
viewer connected, with the stream already live and its GOP cached) / viewers.
"""
import json
import math
import os
import sys

RATIO_KEYS = ("cpu_s_per_gb", "cpu_s_per_gb_process", "peak_rss_mb", "rss_kb_per_viewer",
              "start_p50_ms", "start_p90_ms", "start_p99_ms")
SERVER_ORDER = ["epd", "nginx", "spd", "floor-message", "floor-batched",
                "floor-message-nagle", "floor-batched-nagle"]
LABEL = {"epd": "epd", "nginx": "nginx-rtmp", "spd": "spd", "floor-message": "floor/msg",
         "floor-batched": "floor/batch", "floor-message-nagle": "floor/msg+N",
         "floor-batched-nagle": "floor/batch+N"}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def proc(run, name):
    for p in run.get("procs", []):
        if p.get("name") == name:
            return p
    return None


def num(v):
    return v is not None and not (isinstance(v, float) and math.isnan(v))


def summarize(run, n):
    """The figures of one run as a flat dict (None where unknown)."""
    s = {"viewers": n, "ok": run is not None}
    if run is None:
        return s
    srv = proc(run, "server") or {}
    bench = next((p for p in run.get("procs", []) if p.get("name", "").startswith("rtmpbench")),
                 {})
    origin = proc(run, "origin")
    soft = proc(run, "softirq")
    window = run.get("window_s") or 0
    gb = run.get("window_bytes", 0) / 1e9
    cpu = srv.get("cpu_s")
    if num(cpu) and soft is not None and num(soft.get("cpu_s")):
        cpu += soft["cpu_s"]
    s.update({
        "cpu_s_per_gb": cpu / gb if num(cpu) and gb > 0 else None,
        "cpu_s_per_gb_process": srv.get("cpu_s_per_gb"),
        "softirq_cpu_util": soft.get("cpu_util") if soft else None,
        "cpu_util": cpu / window if num(cpu) and window > 0 else None,
        "peak_rss_mb": srv.get("hwm_kb", 0) / 1024.0 if srv else None,
        "rss_before_mb": srv.get("rss_kb_before", 0) / 1024.0 if srv else None,
        "rss_kb_per_viewer": ((srv.get("rss_kb_end", 0) - srv.get("rss_kb_before", 0)) / n
                              if srv and n else None),
        "start_p50_ms": run["start_ms"]["p50"], "start_p90_ms": run["start_ms"]["p90"],
        "start_p99_ms": run["start_ms"]["p99"], "start_max_ms": run["start_ms"]["max"],
        "first_media_p50_ms": run["first_media_ms"]["p50"],
        "kept_up": run.get("kept_up"), "failed": run.get("failed"),
        "with_keyframe": run.get("with_keyframe"),
        "stalls": run.get("window_stalls"),
        "delivered_kbps": run.get("delivered_kbps_per_player"),
        "source_kbps": run.get("source_kbps"),
        "gb_in_window": run.get("window_bytes", 0) / 1e9,
        "window_s": window,
        "bench_cpu_util": bench.get("cpu_util"),
        "bench_cpu_s_per_gb": bench.get("cpu_s_per_gb"),
        "origin_cpu_util": origin.get("cpu_util") if origin else None,
        "cpu_busy": run.get("cpu_busy"),
        "others_cpu_util": run.get("others_cpu_util"),
        "others_top": run.get("others_top", []),
        "errors": run.get("errors", []),
    })
    return s


def fmt(v, spec="%.2f"):
    return spec % v if num(v) else "-"


def cmd_line(kind, n, path):
    run = load(path)
    if run is None:
        print("  %-14s N=%-5s no result (see the logs)" % (kind, n))
        return 1
    s = summarize(run, int(n))
    errs = "; ".join("%d× %s" % (e["players"], e["why"]) for e in s["errors"][:3])
    busy = " ".join("%.0f%%" % (100 * b) for b in (s["cpu_busy"] or []))
    top = ", ".join(o["comm"] for o in s["others_top"][:2]
                    if s["window_s"] and o["cpu_s"] > 0.05 * s["window_s"])
    busy += "; others %s%%%s" % (fmt(100 * s["others_cpu_util"] if num(s["others_cpu_util"]) else None, "%.0f"),
                                 (" " + top) if top else "")
    print("  %-14s N=%-5s %s CPU-s/GB (%s%% of a core), peak RSS %s MB, start p50/p99 %s/%s ms, "
          "kept up %s/%s, bench %s%% [cpus %s]%s" % (
              kind, n, fmt(s["cpu_s_per_gb"]), fmt(100 * s["cpu_util"] if num(s["cpu_util"]) else None, "%.0f"),
              fmt(s["peak_rss_mb"], "%.1f"), fmt(s["start_p50_ms"], "%.0f"),
              fmt(s["start_p99_ms"], "%.0f"), s["kept_up"], n,
              fmt(100 * s["bench_cpu_util"] if num(s["bench_cpu_util"]) else None, "%.0f"),
              busy, ("; errors: " + errs) if errs else ""))
    sys.stdout.flush()
    return 0 if s["kept_up"] == int(n) and not s["failed"] else 1


def cmd_latency(name, path):
    run = load(path)
    if run is None:
        print("  latency %-14s no result" % name)
        return 1
    lat = run.get("latency_ms", {})
    print("  latency %-14s p50 %s  p90 %s  p99 %s  max %s ms  (%s frames, publisher send to "
          "player receive)" % (name, fmt(lat.get("p50"), "%.1f"), fmt(lat.get("p90"), "%.1f"),
                               fmt(lat.get("p99"), "%.1f"), fmt(lat.get("max"), "%.1f"),
                               lat.get("n", 0)))
    return 0


def pctl(vals, q):
    vals = sorted(vals)
    if not vals:
        return None
    k = max(1, int(math.ceil(q * len(vals))))
    return vals[k - 1]


def cmd_cold(out, what, paths):
    starts, errors = [], []
    for p in paths:
        run = load(p)
        if run is None:
            continue
        if num(run["start_ms"]["p50"]):
            starts.append(run["start_ms"]["p50"])
        errors += [e["why"] for e in run.get("errors", [])]
    res = {"what": what, "trials": len(paths), "started": len(starts), "start_ms": starts,
           "p50": pctl(starts, 0.5), "max": max(starts) if starts else None, "errors": errors}
    with open(out, "w") as f:
        json.dump(res, f, indent=1)
    print("  cold start (%s): p50 %s ms, max %s ms over %d trials%s" % (
        what, fmt(res["p50"], "%.0f"), fmt(res["max"], "%.0f"), len(starts),
        ("; errors: " + "; ".join(errors[:3])) if errors else ""))
    return 0


def cmd_table(outdir, meta):
    runs, windows, transports = {}, {}, {}
    for name in sorted(os.listdir(os.path.join(outdir, "runs"))):
        if not name.endswith(".json") or name.startswith(("latency-", "cold")):
            continue
        kind, _, n = name[:-5].rpartition("-")
        if not n.isdigit():
            continue
        summary = summarize(load(os.path.join(outdir, "runs", name)), int(n))
        if kind.startswith("epd-window"):
            windows[int(kind[10:])] = summary
            continue
        if kind in ("epd-rtmps", "epd-http", "epd-https"):
            transports[kind[4:]] = summary
            continue
        runs.setdefault(int(n), {})[kind] = summary
    latency = {}
    for name in sorted(os.listdir(os.path.join(outdir, "runs"))):
        if name.startswith("latency-") and name.endswith(".json"):
            run = load(os.path.join(outdir, "runs", name))
            if run is not None:
                latency[name[8:-5]] = run.get("latency_ms")
    cold = {k: load(os.path.join(outdir, "runs", "cold-%s.json" % k)) for k in ("edge", "peer")}
    cold = {k: v for k, v in cold.items() if v is not None}

    lc = "epd" if any("epd" in r for r in runs.values()) else "spd"
    kinds = [k for k in SERVER_ORDER if any(k in r for r in runs.values())]
    lines = []
    w = 14
    head = "%-22s" % "" + "".join("%*s" % (w, LABEL[k]) for k in kinds) + \
        "%*s" % (w + 2, "%s/nginx" % LABEL[lc])
    rows = [
        ("CPU-s per GB", "cpu_s_per_gb", "%.2f"),
        ("  process only", "cpu_s_per_gb_process", "%.2f"),
        ("  x batched floor", None, "%.2f"),
        ("server CPU % of core", "cpu_util", "%.0f"),
        ("  of which ksoftirqd", "softirq_cpu_util", "%.0f"),
        ("peak RSS MB", "peak_rss_mb", "%.1f"),
        ("RSS KB per viewer", "rss_kb_per_viewer", "%.1f"),
        ("start p50 ms", "start_p50_ms", "%.0f"),
        ("start p90 ms", "start_p90_ms", "%.0f"),
        ("start p99 ms", "start_p99_ms", "%.0f"),
        ("kept up", "kept_up", "%d"),
        ("kbit/s per viewer", "delivered_kbps", "%.0f"),
        ("rtmpbench % of core", "bench_cpu_util", "%.0f"),
        ("other load % of core", "others_cpu_util", "%.0f"),
    ]
    lines.append("livecluster bench — CPU per GB delivered, memory, start time; %s vs nginx-rtmp"
                 % LABEL[lc])
    lines.append(head)
    for n in sorted(runs):
        r = runs[n]
        lines.append("N = %d viewers" % n)
        for label, key, spec in rows:
            cells = []
            vals = {}
            for k in kinds:
                s = r.get(k)
                v = None
                if s is not None and s.get("ok"):
                    if key is None:
                        fb = r.get("floor-batched", {}).get("cpu_s_per_gb")
                        v = s.get("cpu_s_per_gb") / fb if num(fb) and fb and num(s.get("cpu_s_per_gb")) else None
                    else:
                        v = s.get(key)
                        if key in ("cpu_util", "bench_cpu_util", "softirq_cpu_util",
                                   "others_cpu_util") and num(v):
                            v = 100 * v
                vals[k] = v
                cell = fmt(v, spec)
                if key == "kept_up" and s is not None and num(v) and v < n:
                    cell += "!"
                cells.append("%*s" % (w, cell))
            a, b = vals.get(lc), vals.get("nginx")
            ratio = ("%.2fx" if num(a) and num(b) and b and a / b >= 0.1 else "%.2gx") % (a / b) \
                if num(a) and num(b) and b else "-"
            if key not in RATIO_KEYS:
                ratio = ""
            lines.append("%-22s" % label + "".join(cells) + "%*s" % (w + 2, ratio))
    lines.append("(! = not every viewer kept up: that server's figures in that block describe an "
                 "overloaded run. \"other load\" = CPU the machine spent on processes other than "
                 "the server, its origin, ksoftirqd and rtmpbench: above ~10% the run shared the "
                 "machine)")
    flush = int(meta.get("flush_ms", "20")) if meta.get("flush_ms", "20").isdigit() else 20
    if windows and 1000 in runs and "epd" in runs[1000]:
        windows.setdefault(flush, runs[1000]["epd"])
    if windows:
        lines.append("")
        lines.append("epd at 1000 viewers by flush window (flush_interval_ms): CPU-s/GB, "
                     "start p50/p99 ms, kept up; latency p50/p99 ms (20 players, rtmpbench "
                     "publishing to the origin: both hops batch)")
        for w in sorted(windows):
            s = windows[w]
            lat = latency.get("epd-window%d" % w) or {}
            lines.append("  window %4d ms   %s CPU-s/GB   start %s/%s   kept up %s   latency %s/%s"
                         % (w, fmt(s.get("cpu_s_per_gb")), fmt(s.get("start_p50_ms"), "%.0f"),
                            fmt(s.get("start_p99_ms"), "%.0f"), s.get("kept_up", "-"),
                            fmt(lat.get("p50"), "%.1f"), fmt(lat.get("p99"), "%.1f")))
    if transports and 1000 in runs and "epd" in runs[1000]:
        transports.setdefault("rtmp", runs[1000]["epd"])
    if transports:
        lines.append("")
        lines.append("epd at 1000 viewers by transport: CPU-s/GB (server + its ksoftirqd), RSS KB "
                     "per viewer, start p50/p99 ms, kept up; TLS next to the same in the clear")
        for t in ("rtmp", "rtmps", "http", "https"):
            s = transports.get(t)
            if s is None:
                continue
            clear = transports.get({"rtmps": "rtmp", "https": "http"}.get(t, ""))
            vs = ""
            if clear is not None and num(s.get("cpu_s_per_gb")) and \
                    num(clear.get("cpu_s_per_gb")) and clear["cpu_s_per_gb"]:
                vs = "   %.2fx the CPU/GB of %s" % (s["cpu_s_per_gb"] / clear["cpu_s_per_gb"],
                                                   {"rtmps": "RTMP", "https": "HTTP-FLV"}[t])
            label = {"rtmp": "RTMP", "rtmps": "RTMPS", "http": "HTTP-FLV",
                     "https": "HTTPS-FLV"}[t]
            lines.append("  %-10s %s CPU-s/GB   %s KB/viewer   start %s/%s   kept up %s%s" % (
                label, fmt(s.get("cpu_s_per_gb")), fmt(s.get("rss_kb_per_viewer"), "%.1f"),
                fmt(s.get("start_p50_ms"), "%.0f"), fmt(s.get("start_p99_ms"), "%.0f"),
                s.get("kept_up", "-"), vs))
    if latency:
        lines.append("")
        lines.append("end-to-end latency (rtmpbench publishes and plays, 20 players, readiness "
                     "reads): p50 / p99 / max ms")
        for name, lat in latency.items():
            if lat:
                lines.append("  %-18s %s / %s / %s  (%d frames)" % (
                    name, fmt(lat.get("p50"), "%.1f"), fmt(lat.get("p99"), "%.1f"),
                    fmt(lat.get("max"), "%.1f"), lat.get("n", 0)))
    if cold:
        lines.append("")
        lines.append("cold start (connect() to first keyframe, nothing pulled yet), 10 trials each:")
        for k, c in cold.items():
            lines.append("  %-5s p50 %s ms, max %s ms, %d started: %s" % (
                k, fmt(c.get("p50"), "%.0f"), fmt(c.get("max"), "%.0f"), c.get("started", 0),
                c.get("what", "")))
    prof = os.path.join(outdir, "epd-profile.txt")
    if os.path.exists(prof):
        lines.append("")
        lines.append("epd profile at 1000 viewers (perf cpu-clock), top symbols:")
        with open(prof) as f:
            for line in f.read().splitlines()[:12]:
                lines.append("  " + line.strip())
    errs = []
    for n in sorted(runs):
        for k, s in runs[n].items():
            for e in (s.get("errors") or [])[:2]:
                errs.append("  %s N=%d: %d× %s" % (k, n, e["players"], e["why"]))
    if errs:
        lines.append("")
        lines.append("player errors:")
        lines += errs[:20]
    if meta:
        lines.append("")
        lines.append("run: " + ", ".join("%s=%s" % kv for kv in meta.items()))
    print("\n".join(lines))
    doc = {"meta": meta, "livecluster": lc,
           "runs": {str(n): runs[n] for n in sorted(runs)},
           "ratios_vs_nginx": {str(n): {
               k: (runs[n][lc][k] / runs[n]["nginx"][k]
                   if lc in runs[n] and "nginx" in runs[n] and num(runs[n][lc].get(k)) and
                   num(runs[n]["nginx"].get(k)) and runs[n]["nginx"][k] else None)
               for k in ("cpu_s_per_gb", "peak_rss_mb", "start_p50_ms", "start_p99_ms")}
               for n in sorted(runs)},
           "epd_by_window_1000": {str(w): windows[w] for w in sorted(windows)},
           "epd_by_transport_1000": transports,
           "latency_ms": latency, "cold_start": cold}
    with open(os.path.join(outdir, "bench.json"), "w") as f:
        json.dump(doc, f, indent=1, default=lambda o: None)
    return 0


def cmd_noise(path):
    run = load(path)
    v = run.get("others_cpu_util") if run else None
    print(int(round(100 * v)) if num(v) else 0)
    return 0


def main(argv):
    if len(argv) == 2 and argv[0] == "noise":
        return cmd_noise(argv[1])
    if len(argv) >= 4 and argv[0] == "line":
        return cmd_line(argv[1], argv[2], argv[3])
    if len(argv) == 3 and argv[0] == "latency":
        return cmd_latency(argv[1], argv[2])
    if len(argv) >= 3 and argv[0] == "cold":
        return cmd_cold(argv[1], argv[2], argv[3:])
    if len(argv) >= 2 and argv[0] == "table":
        meta = {}
        if "--meta" in argv:
            for kv in argv[argv.index("--meta") + 1:]:
                k, _, v = kv.partition("=")
                meta[k] = v
        return cmd_table(argv[1], meta)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

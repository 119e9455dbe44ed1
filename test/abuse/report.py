#!/usr/bin/env python3
"""report.py RESULTS.jsonl — the abuse suite's table and its "N passed, N failed" line.

Each line of RESULTS is one row written by attacks.py (or by run.sh for the daemons'
exits): attack, defect, target, measurements and checks ("pass" or "fail: why"). Exit
status 0 only when every check of every row passed."""
import json
import sys


def fmt_mb(kb):
    return "%+.1f" % (kb / 1024.0)


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    passed = failed = 0
    print()
    print("%-11s %-6s %-4s %9s %9s %5s  %-48s %s" % (
        "attack", "defect", "at", "rss MiB", "data MiB", "cpu%", "attacker", "viewer"))
    print("-" * 114)
    failures = []
    for r in rows:
        checks = r.get("checks", {})
        for name, verdict in checks.items():
            if verdict == "pass":
                passed += 1
            else:
                failed += 1
                failures.append("%s@%s %s: %s" % (r["attack"], r["target"], name, verdict[6:]))
        m = r.get("mem", {})
        att = r.get("attacker", {})
        if r["attack"] == "shutdown":
            attacker = "SIGTERM: " + ("exit 0" if checks.get("exit") == "pass"
                                      else checks.get("exit", "")[6:])
        elif "attacker_why" in att:
            attacker = att["attacker_why"]
        elif att:
            attacker = "%d conns, %d closed" % (att.get("conns", 0), att.get("closed", 0))
        else:
            attacker = ""
        for g, d in r.get("upstream", {}).items():
            attacker += "; %s +%d" % (g.split("@")[0].replace("livecluster_", ""), d)
        viewer = "kept up" if checks.get("viewer") == "pass" else \
            ("-" if "viewer" not in checks else "FELL BEHIND")
        bad = [n for n, v in checks.items() if v != "pass"]
        print("%-11s %-6s %-4s %9s %9s %5s  %-48s %s%s" % (
            r["attack"], r.get("defect", ""), r["target"],
            fmt_mb(m["rss_growth_kb"]) if m else "", fmt_mb(m["data_growth_kb"]) if m else "",
            m.get("cpu_pct", "") if m else "", attacker[:48], viewer,
            "   FAIL: " + ",".join(bad) if bad else ""))
    print()
    for f in failures:
        print("  FAIL " + f)
    print("abuse: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

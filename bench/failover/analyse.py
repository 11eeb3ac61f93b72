#!/usr/bin/env python3
"""Reads one run of bench/failover_bench.sh and prints what the failover looked like.

    analyse.py RUN_DIR            # every phase found (http/, tcp/): result.json each, summary.md

A phase directory holds:
  timeline.tsv   NAME<TAB>EPOCH_SECONDS, written by the script: start, kill, down, restart, up, end
  access.log     causeway's text access log (one line per HTTP request or TCP connection; the
                 timestamp is taken when the request or connection ends)
  events.log     causeway's stderr, each line prefixed by the epoch time it was read at
  wrk.txt        (http) wrk's output, with the failover-counts line of count.lua
  pgbench-*.log  (tcp) one pgbench run per file; pgbench-runs.tsv: client, run, start, end, rc

Definitions (Dallas = the endpoint killed, Ashburn = the other one; times relative to the kill):
  touched Dallas       an access-log line whose endpoint is Dallas, or with retries > 0 (only
                       Dallas fails in this benchmark, so a retry means a first try on Dallas)
  all on Ashburn       the last line that touched Dallas between the kill and the return event:
                       from then until the return every request went straight to Ashburn
  back on Dallas       after the last return event: the first line served by Dallas, and the last
                       line served by Ashburn (from then on everything is on Dallas)
  expiry               eject event time + its duration_ms (when the ejection should end)
Only lines that end between the start and the end of the load are counted.
"""
import gzip
import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

DALLAS = "127.0.0.41"
ASHBURN = "127.0.0.42"

LOG_RE = re.compile(
    r'^(?P<time>\S+) (?P<protocol>http|tcp) listener=(?P<listener>\d+)'
    r'(?: "(?P<method>\S+) (?P<path>(?:[^"\\]|\\.)*)" host="(?P<host>(?:[^"\\]|\\.)*)"'
    r' status=(?P<status>\d+))?'
    r' route=(?P<route>\S+) service=(?P<service>\S+) endpoint=(?P<endpoint>\S+)'
    r' locality=(?P<locality>\S+) priority=(?P<priority>\S+) in=(?P<bytes_in>\d+)'
    r' out=(?P<bytes_out>\d+) duration_ms=(?P<duration_ms>\d+) retries=(?P<retries>\d+)'
    r' reason="(?P<reason>(?:[^"\\]|\\.)*)"$')
EVENT_RE = re.compile(r'^(?P<stamp>\d+\.\d+) causeway: event=(?P<event>\S+) (?P<rest>.*)$')
KV_RE = re.compile(r'(\w+)=("[^"]*"|\S+)')


def log_time(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def read_timeline(d):
    t = {}
    for line in (d / "timeline.tsv").read_text().splitlines():
        name, value = line.split("\t")
        t.setdefault(name, float(value))  # the first one of each name
    return t


def read_events(d):
    events = []
    for line in (d / "events.log").read_text(errors="replace").splitlines():
        m = EVENT_RE.match(line)
        if not m:
            continue
        kv = {k: v.strip('"') for k, v in KV_RE.findall(m["rest"])}
        kv["event"] = m["event"]
        kv["stamp"] = float(m["stamp"])
        kv["line"] = line.split(" ", 1)[1]
        events.append(kv)
    return events


def read_access(d, t0, t1):
    rows, bad = [], 0
    path = d / "access.log"
    opener = open
    if not path.exists():  # the script compresses it once analysed
        path, opener = d / "access.log.gz", gzip.open
    with opener(path, "rt", errors="replace") as f:
        for line in f:
            m = LOG_RE.match(line.rstrip("\n"))
            if not m:
                bad += 1
                continue
            t = log_time(m["time"])
            if t < t0 - 0.001 or t > t1 + 0.001:
                continue
            host = m["endpoint"].rsplit(":", 1)[0]
            rows.append({
                "t": t,
                "dc": "dallas" if host == DALLAS else "ashburn" if host == ASHBURN else "none",
                "status": int(m["status"]) if m["status"] else None,
                "retries": int(m["retries"]),
                "reason": m["reason"],
                "duration_ms": int(m["duration_ms"]),
                "line": line.rstrip("\n"),
            })
    rows.sort(key=lambda r: r["t"])
    return rows, bad


def read_cpu(d, t0, t1):
    path = d / "cpu.tsv"
    if not path.exists():
        return []
    lines = path.read_text().splitlines()
    head = lines[0].split("\t")
    rows = []
    for line in lines[1:]:
        v = line.split("\t")
        if len(v) != len(head):
            continue
        r = dict(zip(head, v))
        t = float(r["epoch"])
        if t0 <= t <= t1 + PERIOD:
            rows.append({"t": t, "other": float(r["other"]), "bench": float(r["bench"]),
                         "steal": float(r["steal"]), "top": r["top_other"],
                         "cpus": [float(r[c]) for c in head if c.startswith("cpu")]})
    return rows


PERIOD = 0.25


def cpu_summary(samples, a, b):
    """Other programs' CPU (cores) and steal in the samples covering [a, b]."""
    s = [x for x in samples if a <= x["t"] <= b + PERIOD]
    if not s:
        return None
    return {"other_mean": round(sum(x["other"] for x in s) / len(s), 2),
            "other_max": max(x["other"] for x in s),
            "steal_max": max(x["steal"] for x in s)}


def failed(r, kind):
    if kind == "http":
        return not (200 <= (r["status"] or 0) <= 299)
    return r["reason"] != "-"


def ms(x):
    return None if x is None else round(x * 1000)


def parse_wrk(d):
    text = (d / "wrk.txt").read_text(errors="replace")
    m = re.search(r"failover-counts: (.*)", text)
    if not m:
        return {"error": "no failover-counts line in wrk.txt"}
    c = {k: int(v) for k, v in KV_RE.findall(m.group(1))}
    # A wrk "timeout" is a response slower than --timeout: it arrives and is counted in requests,
    # so it is reported apart, not as a failure.
    c["socket_errors"] = c["err_connect"] + c["err_read"] + c["err_write"]
    c["failed"] = c["non2xx"] + c["socket_errors"]
    return c


def parse_pgbench(d):
    runs = []
    for line in (d / "pgbench-runs.tsv").read_text().splitlines():
        client, run, start, end, rc = line.split("\t")
        runs.append({"client": int(client), "run": int(run), "start": float(start),
                     "end": float(end), "rc": int(rc)})
    total = failed_tx = aborted = 0
    errors, starts_failed = [], 0
    for r in runs:
        text = (d / f"pgbench-c{r['client']}-r{r['run']}.log").read_text(errors="replace")
        m = re.search(r"number of transactions actually processed: (\d+)", text)
        r["processed"] = int(m.group(1)) if m else 0
        if not m:
            starts_failed += 1  # pgbench gave up before running (its first connection failed)
        m = re.search(r"number of failed transactions: (\d+)", text)
        r["failed_transactions"] = int(m.group(1)) if m else 0
        r["aborted_clients"] = len(re.findall(r"client \d+ aborted", text))
        total += r["processed"]
        failed_tx += r["failed_transactions"]
        aborted += r["aborted_clients"]
        lines = [e.strip() for e in text.splitlines()
                 if ("error" in e or "aborted" in e or "FATAL" in e) and "Run was aborted" not in e]
        for e in lines:
            errors.append({"client": r["client"], "run": r["run"], "line": e})
        if r["aborted_clients"] or not m:
            r["cause"] = next((cause_of(e) for e in lines if cause_of(e)), "other")
    causes = {}
    for r in runs:
        if "cause" in r:
            causes[r["cause"]] = causes.get(r["cause"], 0) + 1
    return {"runs": len(runs), "transactions": total, "failure_causes": causes, "failed_transactions": failed_tx,
            "aborted_clients": aborted, "runs_that_never_started": starts_failed,
            "nonzero_exits": sum(1 for r in runs if r["rc"] != 0),
            "failed": failed_tx + aborted + starts_failed, "error_lines": errors[:20],
            "run_list": runs}


CAUSES = [
    ("the database system is shutting down", "FATAL shutting down (accepted by the dying postmaster)"),
    ("the database system is starting up", "FATAL starting up (Dallas back before it was ready)"),
    ("the database system is not yet accepting connections",
     "FATAL starting up (Dallas back before it was ready)"),
    ("server closed the connection unexpectedly", "connection closed by the server (at the kill)"),
    ("perhaps the backend died", "connection closed by the server (at the kill)"),
    ("Connection refused", "connection refused"),
]


def cause_of(line):
    return next((c for k, c in CAUSES if k in line), None)


def analyse(d, kind):
    tl = read_timeline(d)
    t0, t1, kill = tl["start"], tl["end"], tl["kill"]
    rows, bad = read_access(d, t0, t1)
    events = [e for e in read_events(d) if e.get("endpoint", "").startswith(DALLAS + ":")]
    ejects = [e for e in events if e["event"] == "eject" and e["stamp"] >= kill]
    returns = [e for e in events if e["event"] == "return" and e["stamp"] >= kill]
    res = {"kind": kind, "timeline_s": {k: round(v - kill, 3) for k, v in tl.items()},
           "unparsed_log_lines": bad, "lines": len(rows)}
    res["client"] = parse_wrk(d) if kind == "http" else parse_pgbench(d)

    before = [r for r in rows if r["t"] < kill]
    res["before_kill"] = {
        "lines": len(before),
        "dallas": sum(r["dc"] == "dallas" for r in before),
        "ashburn": sum(r["dc"] == "ashburn" for r in before),
    }
    first_ret = returns[0]["stamp"] if returns else t1
    last_ret = returns[-1]["stamp"] if returns else None
    window = [r for r in rows if kill <= r["t"] < first_ret]
    touched = [r for r in window if r["dc"] == "dallas" or r["retries"] > 0]
    served_dallas = [r for r in window if r["dc"] == "dallas" and not failed(r, kind)]
    res["failover"] = {
        "last_dallas_response_ms": ms(served_dallas[-1]["t"] - kill) if served_dallas else None,
        "all_on_ashburn_ms": ms(touched[-1]["t"] - kill) if touched else 0,
        "lines_touching_dallas_after_kill": len(touched),
        "retried_after_kill": sum(r["retries"] > 0 for r in window),
        "retried_total": sum(r["retries"] > 0 for r in rows),
    }
    res["events"] = [{"event": e["event"], "at_ms": ms(e["stamp"] - kill), "line": e["line"]}
                     for e in events]
    if ejects:
        e = ejects[0]
        res["eject"] = {"at_ms": ms(e["stamp"] - kill), "duration_ms": int(e["duration_ms"]),
                        "ejection": int(e["ejection"]), "reason": e.get("reason"),
                        "priority_loads": e.get("priority_loads"),
                        "count": len(ejects)}
    if returns:
        rt = returns[-1]
        ej = [e for e in ejects if e["stamp"] <= rt["stamp"]]
        expiry = ej[-1]["stamp"] + int(ej[-1]["duration_ms"]) / 1000 if ej else None
        after = [r for r in rows if r["t"] >= last_ret]
        first_d = next((r for r in after if r["dc"] == "dallas" and not failed(r, kind)), None)
        ash = [r for r in after if r["dc"] == "ashburn"]
        res["return"] = {
            "at_ms": ms(rt["stamp"] - kill),
            "ejected_ms": int(rt["ejected_ms"]),
            "duration_ms": int(ej[-1]["duration_ms"]) if ej else None,
            "late_ms": int(rt["ejected_ms"]) - int(ej[-1]["duration_ms"]) if ej else None,
            "event_after_expiry_ms": ms(rt["stamp"] - expiry) if expiry else None,
            "first_dallas_after_return_ms": ms(first_d["t"] - rt["stamp"]) if first_d else None,
            "all_on_dallas_after_return_ms": ms(ash[-1]["t"] - rt["stamp"]) if ash else 0,
            "all_on_dallas_after_expiry_ms": (ms((ash[-1]["t"] if ash else rt["stamp"]) - expiry)
                                              if expiry else None),
            "ashburn_lines_after_return": len(ash),
        }
    cpu = read_cpu(d, t0, t1)
    res["cpu"] = {"load": cpu_summary(cpu, t0, t1)}
    # The sampler wakes every 0.25 s: a longer gap means nothing ran (the machine stalled).
    res["cpu"]["sampler_gaps"] = [
        {"at_ms": ms(a["t"] - kill), "gap_ms": ms(b["t"] - a["t"])}
        for a, b in zip(cpu, cpu[1:]) if b["t"] - a["t"] > 2 * PERIOD]
    if cpu:
        res["cpu"]["kill_to_ashburn"] = cpu_summary(
            cpu, kill, kill + max(res["failover"]["all_on_ashburn_ms"] or 0, 0) / 1000 + 0.5)
        if "return" in res:
            a = kill + res["return"]["at_ms"] / 1000
            res["cpu"]["return_to_dallas"] = cpu_summary(
                cpu, a - 1, a + max(res["return"]["all_on_dallas_after_return_ms"] or 0, 0) / 1000 + 0.5)
        res["cpu"]["busy_samples"] = [
            {"at_ms": ms(x["t"] - kill), "other": x["other"], "steal": x["steal"], "top": x["top"]}
            for x in cpu if x["other"] >= 0.5 or x["steal"] >= 0.3][:40]
    fails = [r for r in rows if failed(r, kind)]
    res["access_log_failures"] = {
        "count": len(fails),
        "lines": [{"at_ms": ms(r["t"] - kill), "line": r["line"]} for r in fails[:30]],
    }
    # Per 250 ms from the start: lines by data center, retried, failed.
    buckets = {}
    for r in rows:
        b = int((r["t"] - t0) / 0.25)
        x = buckets.setdefault(b, {"dallas": 0, "ashburn": 0, "none": 0, "retried": 0, "failed": 0})
        x[r["dc"]] += 1
        x["retried"] += r["retries"] > 0
        x["failed"] += failed(r, kind)
    with open(d / "per-250ms.tsv", "w") as f:
        f.write("t_from_start_s\tt_from_kill_s\tdallas\tashburn\tnone\tretried\tfailed\n")
        for b in sorted(buckets):
            x = buckets[b]
            f.write(f"{b * 0.25:.2f}\t{t0 + b * 0.25 - kill:.2f}\t{x['dallas']}\t{x['ashburn']}\t"
                    f"{x['none']}\t{x['retried']}\t{x['failed']}\n")
    (d / "result.json").write_text(json.dumps(res, indent=1) + "\n")
    return res


def fmt(v, unit=""):
    return "—" if v is None else f"{v}{unit}"


def table(results):
    cols = [k for k in ("http", "tcp") if k in results]
    rows = []

    def row(name, f):
        rows.append([name] + [f(results[k]) for k in cols])

    def client(r):
        c = r["client"]
        if r["kind"] == "http":
            return (f"{c['requests']} requests (Dallas {c['dallas']}, Ashburn {c['ashburn']}); "
                    f"latency p50 {c['latency_p50_us'] / 1000:.1f} ms, p99 "
                    f"{c['latency_p99_us'] / 1000:.1f} ms, max {c['latency_max_us'] / 1000:.0f} ms")
        return f"{c['transactions']} transactions in {c['runs']} pgbench runs"

    def failures(r):
        c = r["client"]
        if r["kind"] == "http":
            return (f"{c['failed']} (non-2xx {c['non2xx']}, socket errors {c['socket_errors']}; "
                    f"slower than wrk's timeout: {c['err_timeout']})")
        return (f"{c['failed']} (aborted clients {c['aborted_clients']}, failed tx "
                f"{c['failed_transactions']}, runs that never started {c['runs_that_never_started']})")

    row("load", client)
    row("failed (client's view)", failures)
    row("client failures by cause", lambda r: "; ".join(
        f"{v} {k}" for k, v in sorted(r["client"].get("failure_causes", {}).items())) or "—")
    row("failed (access log)", lambda r: str(r["access_log_failures"]["count"]))
    row("retried (access log, retries>0)", lambda r: str(r["failover"]["retried_total"]))
    row("kill → last response from Dallas",
        lambda r: fmt(r["failover"]["last_dallas_response_ms"], " ms"))
    row("kill → eject event", lambda r: fmt(r.get("eject", {}).get("at_ms"), " ms"))
    row("kill → all traffic on Ashburn", lambda r: fmt(r["failover"]["all_on_ashburn_ms"], " ms"))
    row("eject reason", lambda r: fmt(r.get("eject", {}).get("reason")))
    row("ejections of Dallas", lambda r: fmt(r.get("eject", {}).get("count")))
    row("ejection: duration_ms / ejected_ms",
        lambda r: (f"{r['return']['duration_ms']} / {r['return']['ejected_ms']}"
                   if "return" in r else "no return"))
    row("return later than the ejection's end (ejected_ms − duration_ms)",
        lambda r: fmt(r.get("return", {}).get("late_ms"), " ms"))
    row("return → first response from Dallas",
        lambda r: fmt(r.get("return", {}).get("first_dallas_after_return_ms"), " ms"))
    row("return → all traffic on Dallas",
        lambda r: fmt(r.get("return", {}).get("all_on_dallas_after_return_ms"), " ms"))
    row("expiry → all traffic on Dallas (target ≤ 1000 ms)",
        lambda r: fmt(r.get("return", {}).get("all_on_dallas_after_expiry_ms"), " ms"))
    def cpu(key):
        def f(r):
            c = r["cpu"].get(key)
            return "—" if not c else f"{c['other_mean']:.2f} / {c['other_max']:.2f} (steal ≤ {c['steal_max']:.2f})"
        return f

    row("other programs' CPU, whole load: mean / max cores", cpu("load"))
    row("… kill → all on Ashburn (+0.5 s)", cpu("kill_to_ashburn"))
    row("… return −1 s → all on Dallas (+0.5 s)", cpu("return_to_dallas"))
    head = ["", *[{"http": "HTTP (wrk)", "tcp": "TCP (pgbench -C)"}[k] for k in cols]]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = Path(sys.argv[1])
    results = {}
    for kind in ("http", "tcp"):
        if (run / kind / "timeline.tsv").exists():
            results[kind] = analyse(run / kind, kind)
    if not results:
        sys.exit(f"analyse.py: no phase in {run}")
    text = table(results)
    notes = []
    for k, r in results.items():
        tl = r["timeline_s"]
        notes.append(f"{k}: load from {tl['start']:+.3f} s to {tl['end']:+.3f} s around the kill; "
                     f"backend restarted at {tl.get('restart', float('nan')):+.3f} s, listening at "
                     f"{tl.get('up', float('nan')):+.3f} s; before the kill "
                     f"{r['before_kill']['dallas']} lines on Dallas, "
                     f"{r['before_kill']['ashburn']} on Ashburn")
        for e in r["events"]:
            notes.append(f"{k}: {e['at_ms']:+d} ms {e['line']}")
        for f in r["access_log_failures"]["lines"][:10]:
            notes.append(f"{k}: failed {f['at_ms']:+d} ms {f['line']}")
        for g in r["cpu"].get("sampler_gaps", []):
            notes.append(f"{k}: the CPU sampler did not run for {g['gap_ms']} ms from "
                         f"{g['at_ms']:+d} ms: the machine stalled")
        for x in r["cpu"].get("busy_samples", [])[:12]:
            notes.append(f"{k}: busy {x['at_ms']:+d} ms: other programs {x['other']:.2f} cores, "
                         f"steal {x['steal']:.2f}: {x['top']}")
        if r["kind"] == "tcp":
            for e in r["client"]["error_lines"][:10]:
                notes.append(f"tcp: pgbench client {e['client']} run {e['run']}: {e['line']}")
    summary = text + "\n\n" + "\n".join(notes) + "\n"
    (run / "summary.md").write_text(summary)
    print(summary, end="")


if __name__ == "__main__":
    main()

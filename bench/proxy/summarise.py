#!/usr/bin/python3
"""Summarise runs of bench/proxy_bench.sh.

    summarise.py [--max-other CORES] [--max-steal CORES] RUN_DIR [RUN_DIR...]

Reads RUN_DIR/runs.tsv (one line per measurement, written by the script) and the raw wrk /
tcp_bulk outputs it points at; prints a Markdown table per workload, the target check and the
noise seen. With one RUN_DIR the text is also written to RUN_DIR/summary.md; with several, their
rounds are pooled (each round still compared only with itself). --max-other leaves out every
measurement during which the rest of the machine used more than CORES of CPU (the column
other_busy_s of runs.tsv: a shared machine's builds and tests); --max-steal leaves out every
measurement during which the hypervisor took more than CORES from this machine (steal_s: the
host's other guests). Standard library only.

Every comparison is made within one round: ratios are the median over rounds of the per-round
ratio (target in round r / direct in round r), so a slow round slows both sides of a ratio.
"""
import os
import re
import statistics
import sys

HTTP = ("c1", "c50", "c50-close", "tls-c50", "tls-c50-close", "up-tls-c50")
TCP = ("tcp-up", "tcp-down", "tls-tcp-up", "tls-tcp-down")
TARGET_ORDER = ("direct", "causeway", "baseline", "haproxy", "nginx")
PEERS = ("haproxy", "nginx")


def parse_duration_us(num, unit):
    return float(num) * {"us": 1.0, "ms": 1e3, "s": 1e6}[unit]


def parse_wrk(path):
    text = open(path).read()
    out = {"errors": 0, "non2xx": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["value"] = float(m.group(1)) if m else None
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s(?:\.0+)?%%\s+([\d.]+)(us|ms|s)\s*$" % pct, text, re.M)
        out["p" + pct] = parse_duration_us(*m.groups()) if m else None
    m = re.search(r"(\d+) requests in", text)
    out["units"] = int(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    if m:
        out["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        out["errors"] = sum(int(x) for x in m.groups())
    return out


def parse_bulk(path):
    parts = open(path).read().split()
    ok = len(parts) == 3
    return {"value": float(parts[2]) if ok else None, "p50": None, "p99": None,
            "errors": 0 if ok else 1, "non2xx": 0,
            "units": int(parts[0]) / 1048576 if ok else None}


def parse_syscalls(path):
    """perf stat -x, output: {event: count} for the syscall tracepoints."""
    counts = {}
    if not os.path.exists(path):
        return None
    for line in open(path):
        f = line.strip().split(",")
        if len(f) < 3 or line.startswith("#") or not f[0].replace(".", "").isdigit():
            continue
        name = f[2].replace("syscalls:sys_enter_", "").replace("raw_syscalls:sys_enter", "all")
        counts[name] = float(f[0])
    return counts or None


def parse_segments(path):
    """The TCP segments the machine sent during a measurement (written by proxy_bench.sh)."""
    if not os.path.exists(path):
        return None
    parts = open(path).read().split()
    return float(parts[0]) if parts and parts[0].isdigit() else None


def fmt_us(us):
    if us is None:
        return "—"
    return "%.0f µs" % us if us < 1000 else "%.2f ms" % (us / 1000)


def fmt_val(v, tcp):
    if v is None:
        return "—"
    return "%.2f" % v if tcp else "{:,.0f}".format(v)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main(runs, max_other, max_steal=None):
    rows = []
    dropped = []
    for i, run in enumerate(runs):
        with open(os.path.join(run, "runs.tsv")) as f:
            header = f.readline().rstrip("\n").split("\t")
            for line in f:
                row = dict(zip(header, line.rstrip("\n").split("\t")))
                row["run"] = i
                rows.append(row)
    # data[scenario][target][(run, round)] = measurement
    data = {}
    noise = []
    for r in rows:
        scen, target, rnd = r["scenario"], r["target"], (r["run"], int(r["round"]))
        m = parse_wrk(r["raw"]) if scen in HTTP else parse_bulk(r["raw"])
        wall = float(r["wall_s"])
        # util: the proxy's processes (scheduler run time, precise); core_util: the proxy core's
        # non-idle time from /proc/stat (tick-sampled: close at saturation, low for a bursty
        # load such as one connection). "Busy proxy core" is util.
        m["util"] = float(r["proxy_cpu_s"]) / wall if wall > 0 else None
        m["core_util"] = float(r["core_busy_s"]) / wall if wall > 0 else None
        for key, util in (("per_core", "util"), ("per_tick", "core_util")):
            ok = m["value"] is not None and m[util] and target != "direct"
            m[key] = m["value"] / m[util] if ok else None
        m["syscalls"] = parse_syscalls(r["raw"] + ".syscalls.csv")
        m["segments"] = parse_segments(r["raw"] + ".segments")
        label = "%s r%d %s %s" % (os.path.basename(runs[r["run"]].rstrip("/")), rnd[1], scen, target)
        if "other_busy_s" in r and wall > 0:
            other = float(r["other_busy_s"]) / wall
            steal = float(r["steal_s"]) / wall
            noise.append((other, steal, label))
            if (max_other is not None and other > max_other) or (
                    max_steal is not None and steal > max_steal):
                dropped.append(label)
                continue
        data.setdefault(scen, {}).setdefault(target, {})[rnd] = m

    def per_round_ratio(scen, a, b, key):
        sa, sb = data[scen].get(a, {}), data[scen].get(b, {})
        ratios = []
        for rnd in sa:
            if rnd in sb and sa[rnd].get(key) and sb[rnd].get(key):
                ratios.append(sa[rnd][key] / sb[rnd][key])
        return med(ratios)

    lines = []
    titles = {
        "c1": "HTTP keep-alive, 1 connection (wrk -c1)",
        "c50": "HTTP keep-alive, 50 connections (wrk -c50)",
        "c50-close": "HTTP, 50 clients, a new connection per request (wrk -c50, Connection: close)",
        "tcp-up": "TCP bulk, client → backend",
        "tcp-down": "TCP bulk, backend → client",
        "tls-c50": "HTTPS keep-alive, 50 connections, TLS 1.3 terminated at the proxy "
                   "(tls_client -c50)",
        "tls-c50-close": "HTTPS, 50 clients, a new connection and a full TLS 1.3 handshake per "
                         "request (tls_client -c50 close)",
        "up-tls-c50": "HTTP keep-alive from the client, TLS 1.3 from the proxy to the backend "
                      "(wrk -c50)",
        "tls-tcp-up": "TLS bulk through a TCP tunnel, client → backend (TLS terminated at the "
                      "proxy)",
        "tls-tcp-down": "TLS bulk through a TCP tunnel, backend → client (TLS terminated at the "
                        "proxy)",
    }
    order = [s for s in HTTP + TCP if s in data]
    for scen in order:
        tcp = scen not in HTTP
        unit = "Gbit/s" if tcp else "req/s"
        lines.append("### %s\n" % titles.get(scen, scen))
        cost = "proxy CPU µs per MiB" if tcp else "proxy CPU µs per request"
        cpu_cols = ("proxy CPU (cores) | %s | %s per busy proxy core | proxy core busy "
                    "(/proc/stat)" % (cost, unit))
        if tcp:
            lines.append("| target | %s (median) | min–max | ratio to direct | %s |" % (unit, cpu_cols))
            lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        else:
            lines.append("| target | %s (median) | min–max | ratio to direct | p50 | p99 | %s "
                         "| errors |" % (unit, cpu_cols))
            lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        targets = [t for t in TARGET_ORDER if t in data[scen]]
        for t in targets:
            ms = list(data[scen][t].values())
            vals = [m["value"] for m in ms if m["value"] is not None]
            rng = ("%s–%s" % (fmt_val(min(vals), tcp), fmt_val(max(vals), tcp))) if vals else "—"
            ratio = "1.00" if t == "direct" else (
                "%.2f" % per_round_ratio(scen, t, "direct", "value")
                if per_round_ratio(scen, t, "direct", "value") else "—")
            # For direct the process column shows the backend's CPU, for information only.
            util = med([m["util"] for m in ms])
            util_s = ("%.2f" % util if util is not None else "—") + (" (backend)" if t == "direct" else "")
            core = med([m["core_util"] for m in ms])
            pc = med([m["per_core"] for m in ms])
            # Cost per unit: 1 / (rate per busy core); per MiB for TCP (Gbit/s → MiB/s).
            cost = None if not pc else (1e6 / (pc * 1e9 / 8 / 1048576) if tcp else 1e6 / pc)
            cpu = "%s | %s | %s | %s" % (
                util_s, "%.1f" % cost if cost else "—", fmt_val(pc, tcp),
                "%.2f" % core if core is not None else "—")
            if tcp:
                lines.append("| %s | %s | %s | %s | %s |" % (
                    t, fmt_val(med(vals), tcp), rng, ratio, cpu))
            else:
                errs = sum(m["errors"] + m["non2xx"] for m in ms)
                lines.append("| %s | %s | %s | %s | %s | %s | %s | %d |" % (
                    t, fmt_val(med(vals), tcp), rng, ratio, fmt_us(med([m["p50"] for m in ms])),
                    fmt_us(med([m["p99"] for m in ms])), cpu, errs))
        lines.append("")

    # The targets, each as a within-run, per-round-paired ratio.
    lines.append("### Target check (causeway ÷ peer, median of per-round ratios)\n")
    lines.append("| workload | measure | ÷ haproxy | ÷ nginx | target | met |")
    lines.append("|---|---|---:|---:|---|---|")

    def check(scen, measure, key, target_txt, ok):
        vals = [per_round_ratio(scen, "causeway", p, key) for p in PEERS]
        shown = ["%.3f" % v if v is not None else "—" for v in vals]
        present = [v for v in vals if v is not None]
        met = "yes" if present and all(ok(v) for v in present) else "no"
        lines.append("| %s | %s | %s | %s | %s | %s |" % (scen, measure, shown[0], shown[1],
                                                          target_txt, met))

    # Per-core targets: issue 3 for plain HTTP (1.20), issue 13 for TLS (CPU per request
    # ≤ 0.85× the better peer's for HTTPS keep-alive, ≤ 1× for handshakes and upstream TLS).
    per_core_target = {"tls-c50": 1 / 0.85, "tls-c50-close": 1.0, "up-tls-c50": 1.0}
    for scen in [s for s in HTTP if s in data and "causeway" in data[s]]:
        want = per_core_target.get(scen, 1.2)
        check(scen, "req/s per busy proxy core", "per_core", "≥ %.2f" % want,
              lambda v, w=want: v >= w - 1e-9)
        check(scen, "(req/s per /proc/stat busy core)", "per_tick", "(≥ %.2f)" % want,
              lambda v, w=want: v >= w - 1e-9)
        check(scen, "raw req/s", "value", "≥ 1.00", lambda v: v >= 1.0)
        check(scen, "p99 latency", "p99", "≤ 1.00", lambda v: v <= 1.0)
    for scen in [s for s in ("tcp-up", "tcp-down") if s in data and "causeway" in data[s]]:
        vals = per_round_ratio(scen, "causeway", "haproxy", "value")
        lines.append("| %s | Gbit/s | %s | (%s) | ≥ 1.00 vs haproxy | %s |" % (
            scen, "%.3f" % vals if vals else "—",
            "%.3f" % per_round_ratio(scen, "causeway", "nginx", "value")
            if per_round_ratio(scen, "causeway", "nginx", "value") else "—",
            "yes" if vals and vals >= 1.0 else "no"))
    for scen in [s for s in ("tls-tcp-up", "tls-tcp-down") if s in data and "causeway" in data[s]]:
        for key, measure in (("per_core", "Gbit/s per busy proxy core"), ("value", "raw Gbit/s")):
            vh = per_round_ratio(scen, "causeway", "haproxy", key)
            vn = per_round_ratio(scen, "causeway", "nginx", key)
            lines.append("| %s | %s | %s | (%s) | %s | %s |" % (
                scen, measure, "%.3f" % vh if vh else "—", "%.3f" % vn if vn else "—",
                "≥ 1.00 vs haproxy" if key == "per_core" else "(≥ 1.00 vs haproxy)",
                "yes" if vh and vh >= 1.0 else "no"))
    lines.append("")
    ab = [s for s in order if "causeway" in data[s] and "baseline" in data[s]]
    if ab:  # BASELINE=...: the change under test against the binary it replaces
        lines.append("### causeway ÷ baseline (median of per-round ratios)\n")
        lines.append("| workload | per busy proxy core | raw | p99 |")
        lines.append("|---|---:|---:|---:|")
        for scen in ab:
            r = [per_round_ratio(scen, "causeway", "baseline", k) for k in ("per_core", "value", "p99")]
            lines.append("| %s | %s |" % (scen, " | ".join("%.3f" % v if v else "—" for v in r)))
        lines.append("")
    sys_lines = []
    for scen in order:
        for t in TARGET_ORDER:
            per = {}
            for m in data[scen].get(t, {}).values():
                if m.get("syscalls") and m.get("units"):
                    for k, v in m["syscalls"].items():
                        per.setdefault(k, []).append(v / m["units"])
            if per:
                total = med(per.pop("all", [None]))
                top = sorted(((med(v), k) for k, v in per.items() if med(v)), reverse=True)
                sys_lines.append("| %s | %s | %.2f | %s |" % (
                    scen, t, total or 0, ", ".join("%s %.2f" % (k, v) for v, k in top if v >= 0.01)))
    if sys_lines:
        lines.append("### System calls of the proxy, per request (HTTP) or per MiB (TCP)\n")
        lines.append("| workload | target | all | by call |")
        lines.append("|---|---|---:|---|")
        lines.extend(sys_lines)
        lines.append("")
    seg_lines = []
    for scen in [s for s in order if s in HTTP]:
        per = {t: med([m["segments"] / m["units"] for m in data[scen].get(t, {}).values()
                       if m.get("segments") is not None and m.get("units")])
               for t in TARGET_ORDER}
        if any(v is not None for v in per.values()):
            seg_lines.append("| %s | %s |" % (scen, " | ".join(
                "%.2f" % per[t] if per[t] is not None else "—" for t in TARGET_ORDER)))
    if seg_lines:
        lines.append("### TCP segments per request (all sockets on the machine: client, proxy, "
                     "backend)\n")
        lines.append("| workload | %s |" % " | ".join(TARGET_ORDER))
        lines.append("|---|" + "---:|" * len(TARGET_ORDER))
        lines.extend(seg_lines)
        lines.append("")
    if noise:
        other = [n[0] for n in noise]
        steal = [n[1] for n in noise]
        worst = max(noise)
        lines.append("Noise: CPU used outside the benchmark's processes (both cores; includes "
                     "kernel work charged to no process) median %.2f, max %.2f of a core (%s); "
                     "steal median %.2f, max %.2f of a core. %d rounds pooled from %d run(s)."
                     % (statistics.median(other), worst[0], worst[2], statistics.median(steal),
                        max(steal), len({k for s_ in data.values() for t_ in s_.values()
                                         for k in t_}), len(runs)))
        lines.append("")
        loud = sorted((n for n in noise if n[0] > 0.25), reverse=True)
        if loud:
            lines.append("Measurements during which something else used more than a quarter of "
                         "a core: " + ", ".join("%s (%.2f)" % (n[2], n[0]) for n in loud) +
                         (". Left out of the tables (--max-other %.2f)." % max_other
                          if max_other is not None else
                          ". Included above; `summarise.py --max-other 0.25 RUN...` leaves them out."))
            lines.append("")
    text = "\n".join(lines)
    print(text)
    if len(runs) == 1:
        with open(os.path.join(runs[0], "summary.md"), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    limits = {"--max-other": None, "--max-steal": None}
    while len(args) >= 2 and args[0] in limits:
        limits[args[0]] = float(args[1])
        args = args[2:]
    if not args:
        sys.exit("usage: summarise.py [--max-other CORES] [--max-steal CORES] RUN_DIR [RUN_DIR...]")
    main(args, limits["--max-other"], limits["--max-steal"])

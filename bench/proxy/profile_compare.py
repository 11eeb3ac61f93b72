#!/usr/bin/python3
"""Compare the profiles of a `PERF=...` run of bench/proxy_bench.sh, per request.

    profile_compare.py RUN_DIR [SCENARIO] [TOP]

For every target profiled in SCENARIO (default c50) it turns perf's cpu-clock samples into
microseconds of CPU per request (samples ÷ sampling rate ÷ requests that wrk counted), split by
object (kernel, the proxy's binary, libuv, libc) and by symbol; then lists the TOP (default 25)
symbols with the largest cost per request across targets, side by side, and a few kernel entry
points (system call families, softirq) as inclusive costs. Each target's rounds are summed.
Needs perf; standard library only.
"""
import glob
import os
import re
import subprocess
import sys

FREQ = 1999  # perf record -F in proxy_bench.sh
INCLUSIVE = ("do_syscall_64", "ksys_read", "ksys_write", "do_writev", "__sys_recvfrom",
             "__sys_sendto", "do_epoll_wait", "tcp_sendmsg", "tcp_recvmsg", "net_rx_action",
             "sock_def_readable", "__schedule")


def report(data, args):
    out = subprocess.run(["perf", "report", "-i", data, "--stdio", "-g", "none"] + args,
                         capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split())
    return rows


def requests(raw):
    m = re.search(r"(\d+) requests in", open(raw).read())
    return int(m.group(1)) if m else 0


def main(run, scen, top):
    per = {}  # target -> {"dso": {}, "sym": {}, "incl": {}, "reqs": n}
    for data in sorted(glob.glob(os.path.join(run, "raw", "r*-%s-*.txt.perf.data" % scen))):
        target = re.search(r"r\d+-%s-(\w+)\.txt" % re.escape(scen), data).group(1)
        raw = data[: -len(".perf.data")]
        p = per.setdefault(target, {"dso": {}, "sym": {}, "incl": {}, "reqs": 0})
        p["reqs"] += requests(raw)
        for r in report(data, ["--no-children", "--sort", "dso", "-F", "sample,dso"]):
            p["dso"][r[1]] = p["dso"].get(r[1], 0) + int(r[0])
        for r in report(data, ["--no-children", "--sort", "dso,sym", "-F", "sample,dso,sym"]):
            key = "%s %s" % (r[1], " ".join(r[3:]))
            p["sym"][key] = p["sym"].get(key, 0) + int(r[0])
        # Inclusive ("children") share of each kernel path, as a percentage of this file's samples.
        total = sum(int(x[0]) for x in report(data, ["--no-children", "--sort", "dso",
                                                     "-F", "sample,dso"]))
        for r in report(data, ["--children", "--sort", "sym"]):
            name = r[-1]
            if name in INCLUSIVE and r[0].endswith("%"):
                p["incl"][name] = p["incl"].get(name, 0) + float(r[0].rstrip("%")) / 100 * total
    if not per:
        sys.exit("no perf data for %s in %s (run proxy_bench.sh with PERF=...)" % (scen, run))
    targets = sorted(per)

    def us(p, samples):
        return samples / FREQ / p["reqs"] * 1e6 if p["reqs"] else 0.0

    print("CPU per request (µs), %s, from %s\n" % (scen, run))
    print("| object | " + " | ".join(targets) + " |")
    print("|---|" + "---:|" * len(targets))
    objs = sorted({d for t in targets for d in per[t]["dso"]},
                  key=lambda d: -max(us(per[t], per[t]["dso"].get(d, 0)) for t in targets))
    print("| **total** | " + " | ".join("**%.2f**" % us(per[t], sum(per[t]["dso"].values()))
                                       for t in targets) + " |")
    for d in objs:
        vals = [us(per[t], per[t]["dso"].get(d, 0)) for t in targets]
        if max(vals) >= 0.05:
            print("| %s | %s |" % (d, " | ".join("%.2f" % v for v in vals)))
    print("\nInclusive kernel paths (µs per request)\n")
    print("| path | " + " | ".join(targets) + " |")
    print("|---|" + "---:|" * len(targets))
    for name in INCLUSIVE:
        vals = [us(per[t], per[t]["incl"].get(name, 0)) for t in targets]
        if max(vals) >= 0.05:
            print("| %s | %s |" % (name, " | ".join("%.2f" % v for v in vals)))
    print("\nTop symbols, self time (µs per request)\n")
    print("| symbol | " + " | ".join(targets) + " |")
    print("|---|" + "---:|" * len(targets))
    syms = sorted({s for t in targets for s in per[t]["sym"]},
                  key=lambda s: -max(us(per[t], per[t]["sym"].get(s, 0)) for t in targets))
    for s in syms[:top]:
        print("| `%s` | %s |" % (s, " | ".join("%.2f" % us(per[t], per[t]["sym"].get(s, 0))
                                              for t in targets)))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: profile_compare.py RUN_DIR [SCENARIO] [TOP]")
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "c50",
         int(sys.argv[3]) if len(sys.argv) > 3 else 25)

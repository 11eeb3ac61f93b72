#!/usr/bin/env python3
"""Samples the machine's CPU use while a phase of bench/failover_bench.sh runs.

    cpu_sampler.py OUT.tsv ROOT_PID [PID_FILE_GLOB]

Every 0.25 s, one line: the epoch time; each CPU's busy fraction (user+nice+system+irq+softirq)
and the steal over all CPUs, from /proc/stat; the CPU used by the benchmark's own processes (the
descendants of ROOT_PID and of the PostgreSQL postmasters named by PID_FILE_GLOB, with what they
reaped from their children) and by everything else (busy − benchmark); the three other processes
that used the most. Failover times of milliseconds mean little while another program holds a
core: this says whether one did. Runs until killed.
"""
import glob
import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
PERIOD = 0.25


def proc_stat():
    cpus, steal = {}, 0
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu"):
                break
            v = line.split()
            n = [int(x) for x in v[1:]]
            if v[0] == "cpu":
                steal = n[7]
            else:
                cpus[v[0]] = n[0] + n[1] + n[2] + n[5] + n[6]
    return cpus, steal


def processes():
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        out[int(pid)] = {"ppid": int(f[1]), "comm": comm, "start": int(f[19]),
                         "own": int(f[11]) + int(f[12]), "reaped": int(f[13]) + int(f[14])}
    return out


def ours(procs, roots, seen_mine):
    """The benchmark's processes: descendants of the roots, and any process that once was one
    (a dying postmaster's backends are reparented before they exit)."""
    mine = {pid for pid, p in procs.items() if (pid, p["start"]) in seen_mine}
    for pid in procs:
        p, seen = pid, 0
        while p in procs and seen < 64:
            if p in roots:
                mine.add(pid)
                break
            p, seen = procs[p]["ppid"], seen + 1
    return mine


def roots_now(root, pid_glob):
    r = {root}
    for path in glob.glob(pid_glob) if pid_glob else []:
        try:
            with open(path) as f:
                r.add(int(f.readline()))
        except (OSError, ValueError):
            pass
    return r


def main():
    out_path, root = sys.argv[1], int(sys.argv[2])
    pid_glob = sys.argv[3] if len(sys.argv) > 3 else ""
    cpus0, steal0 = proc_stat()
    prev = processes()
    seen_mine = set()
    prev_mine = ours(prev, roots_now(root, pid_glob), seen_mine)
    seen_mine |= {(pid, prev[pid]["start"]) for pid in prev_mine}
    with open(out_path, "w", buffering=1) as out:
        out.write("epoch\t" + "\t".join(sorted(cpus0)) + "\tsteal\tbench\tother\ttop_other\n")
        nxt = time.time()
        while True:
            nxt += PERIOD
            time.sleep(max(0, nxt - time.time()))
            t = time.time()
            cpus, steal = proc_stat()
            cur = processes()
            mine = ours(cur, roots_now(root, pid_glob), seen_mine)
            seen_mine |= {(pid, cur[pid]["start"]) for pid in mine}
            bench = 0
            others = []
            for pid, p in cur.items():
                q = prev.get(pid)
                same = q is not None and q["start"] == p["start"]
                d_own = p["own"] - q["own"] if same else p["own"]
                if pid in mine:
                    bench += d_own + (p["reaped"] - q["reaped"] if same else p["reaped"])
                elif d_own > 0:
                    others.append((d_own, f"{p['comm']}({pid})"))
            for pid in prev_mine:
                # Gone, and reaped by a parent of ours: the parent's reaped time now includes
                # what was already counted for it. (A process reaped elsewhere, such as the
                # worker of a killed nginx master, added nothing to ours.)
                p = prev.get(pid)
                c = cur.get(pid)
                if p and not (c and c["start"] == p["start"]) and p["ppid"] in mine:
                    bench -= p["own"] + p["reaped"]
            bench = max(bench, 0)
            busy = {c: cpus[c] - cpus0.get(c, cpus[c]) for c in cpus}
            total = sum(busy.values())
            span = PERIOD * HZ
            others.sort(reverse=True)
            top = ",".join(f"{name}={d / span:.2f}" for d, name in others[:3]) or "-"
            out.write(f"{t:.3f}\t" + "\t".join(f"{busy[c] / span:.2f}" for c in sorted(busy)) +
                      f"\t{(steal - steal0) / span:.2f}\t{bench / span:.2f}"
                      f"\t{max(total - bench, 0) / span:.2f}\t{top}\n")
            cpus0, steal0, prev, prev_mine = cpus, steal, cur, mine


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass

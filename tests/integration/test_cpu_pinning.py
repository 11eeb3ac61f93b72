"""--worker-cpus and --control-cpus: the workers and the control thread run where they are told,
so the control thread's work (thousands of DNS lookups a second, reloads) can be kept off the
cores that serve traffic. Threads are named (cw-worker-N) so `top -H` and perf tell them apart.

Ports 43101-43109, addresses 127.0.9.0/24.
"""
import os
from pathlib import Path

import pytest

from backends import base_manifests, get, join, route_table, wait_until

GW = "127.0.9.90"
ALLOWED = sorted(os.sched_getaffinity(0))


def threads(pid):
    """{thread name: [its allowed CPUs]} of a process (names repeat: a list each)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        name = (task / "comm").read_text().strip()
        allowed = [l.split(":", 1)[1].strip() for l in (task / "status").read_text().splitlines()
                   if l.startswith("Cpus_allowed_list:")][0]
        out.setdefault(name, []).append(allowed)
    return out


def workers(pid):
    """threads(pid), the workers only."""
    return {n: v for n, v in threads(pid).items() if n.startswith("cw-worker-")}


def cpu_text(cpus):
    return ",".join(map(str, cpus))


def cpu_text_of_set(cpus):
    """As the kernel prints a set: ranges ("0-1")."""
    out, run = [], [cpus[0]]
    for c in cpus[1:] + [None]:
        if c is not None and c == run[-1] + 1:
            run.append(c)
            continue
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [c]
    return ",".join(out)


def hello(port):
    return join(base_manifests([(port, "http")]), route_table("hello", ["hello.example.com"], """
        http:
        - name: hello
          directResponse:
            status: 200
            body: hello
    """))


@pytest.mark.skipif(len(ALLOWED) < 2, reason="needs two CPUs to pin apart")
def test_workers_and_control_thread_are_pinned_apart(stack):
    w, c = ALLOWED[0], ALLOWED[1]
    gw = stack.gateway(hello(43101), [43101], bind=GW,
                       workers=2, args=["--worker-cpus", str(w), "--control-cpus", str(c)])
    assert get(43101, "/", host="hello.example.com", addr=GW).status == 200
    # Two workers on a one-CPU list: both on it, in turn (each pins itself as it starts).
    want = {"cw-worker-0": [str(w)], "cw-worker-1": [str(w)]}
    wait_until(lambda: workers(gw.pid) == want, 5, what=f"both workers pinned: {want}")
    main = Path(f"/proc/{gw.pid}/status").read_text()
    assert f"Cpus_allowed_list:\t{c}\n" in main, main
    assert f"causeway: workers on CPUs {w}, control thread on CPUs {c}" in gw.output()


def test_without_a_count_there_is_a_worker_per_listed_cpu(stack):
    gw = stack.gateway(hello(43102), [43102], bind=GW,
                       workers=None, args=["--worker-cpus", cpu_text(ALLOWED)])
    assert get(43102, "/", host="hello.example.com", addr=GW).status == 200
    want = {f"cw-worker-{i}": [str(cpu)] for i, cpu in enumerate(ALLOWED)}
    wait_until(lambda: workers(gw.pid) == want, 5,
               what=f"one worker per listed CPU, each on its own: {want}")
    # The control thread was not pinned: it keeps every CPU the process had.
    main = Path(f"/proc/{gw.pid}/status").read_text()
    assert f"Cpus_allowed_list:\t{cpu_text_of_set(ALLOWED)}\n" in main, main
    assert f"causeway: serving 1 listener(s) on {GW} with {len(ALLOWED)} worker(s)" in gw.output()

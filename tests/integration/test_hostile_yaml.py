"""Hostile YAML (issue 11, item 3): manifests come from anyone who can edit a ConfigMap, so a
file built to exhaust the loader is refused quickly, with its position, in a small process —
by `causeway validate` and by a running gateway's SIGHUP reload, which keeps serving the
configuration it had.

Limits (src/config/config.h): aliases may add 100,000 nodes to a document (or as many as it has
of its own, when more), 64 levels of nesting once expanded, 16 MiB per file; duplicate keys are
found in linear time.

Ports: the gateway listens on 127.0.1.10:35010 (no backend: a direct response is enough).
"""
import os
import signal
import subprocess
import time

from backends import (START_TIMEOUT, base_manifests, get, join, route_table, vm_rss_kb,
                      wait_until)

GW_ADDR = "127.0.1.10"
PORT = 35010
HOST = "site.example.com"
MB = 1024  # kB

# ~600 bytes; fully expanded, 10^9 nodes. a5's eighth alias takes the aliases past 100,000.
BOMB = """\
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata:
  name: bomb
  namespace: data
  annotations:
    a0: &a0 lol
    a1: &a1 [*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0]
    a2: &a2 [*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1]
    a3: &a3 [*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2]
    a4: &a4 [*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3]
    a5: &a5 [*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4]
    a6: &a6 [*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5]
    a7: &a7 [*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6]
    a8: &a8 [*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7]
spec:
  hosts: [bomb.example.com]
  ports: [{number: 443}]
"""
BOMB_ERROR = (":12:42: error: YAML aliases would expand this document by 101228 nodes at *a4, "
              "over the limit of 100000")


def run_measured(causeway, *args, timeout=60):
    """Runs causeway; returns (exit code, stdout, stderr, wall seconds)."""
    t0 = time.monotonic()
    proc = subprocess.Popen([causeway.binary, *map(str, args)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"causeway {' '.join(map(str, args))} ran over {timeout}s")
    return proc.returncode, out, err, time.monotonic() - t0


def peak_rss_kb(causeway, *args, timeout=60):
    """Peak RSS (kB) of one causeway run: wait4's rusage of exactly that child (RUSAGE_CHILDREN
    would give the largest of every child this test process ever had)."""
    proc = subprocess.Popen([causeway.binary, *map(str, args)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return usage.ru_maxrss
        if time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            raise AssertionError(f"causeway {' '.join(map(str, args))} ran over {timeout}s")
        time.sleep(0.01)


# ---- causeway validate ---------------------------------------------------------------------

def test_validate_refuses_an_alias_bomb_in_well_under_a_second_and_100_mb(causeway, tmp_path):
    (tmp_path / "bomb.yaml").write_text(BOMB)
    rc, out, err, took = run_measured(causeway, "validate", "-c", tmp_path)
    assert rc == 1, (out, err)
    assert f"{tmp_path / 'bomb.yaml'}{BOMB_ERROR}" in err, err
    assert took < 1.0, took
    rss = peak_rss_kb(causeway, "validate", "-c", tmp_path)
    assert rss < 100 * MB, f"peak RSS {rss} kB"


def labels_doc(n, extra=None):
    lines = ["apiVersion: networking.gloo.solo.io/v2", "kind: ExternalService", "metadata:",
             "  name: wide", "  namespace: data", "  labels:"]
    lines += [f"    k{i}: v" for i in range(n)]
    if extra:
        lines.append(f"    {extra}: again")
    lines += ["spec:", "  hosts: [wide.example.com]", "  ports: [{number: 443}]"]
    return "\n".join(lines) + "\n"


def test_validate_checks_20000_keys_for_duplicates_in_linear_time(causeway, tmp_path):
    path = tmp_path / "wide.yaml"
    path.write_text(labels_doc(20000))
    rc, out, err, took = run_measured(causeway, "validate", "-c", tmp_path, "-o", "json")
    assert rc == 0, (out, err)
    assert took < 2.0, took  # libfyaml's own duplicate-key check took ~24 s

    path.write_text(labels_doc(20000, extra="k12345"))
    rc, out, err, took = run_measured(causeway, "validate", "-c", tmp_path)
    assert rc == 1, (out, err)
    assert (f"{path}:20007:5: error: duplicate key \"k12345\" (first at line 12352, column 5)"
            in err.splitlines()), err
    assert took < 2.0, took


def test_validate_refuses_a_file_over_16_mib_naming_it(causeway, tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "w") as f:
        line = "#" + "x" * 98 + "\n"
        f.write(line * ((16 << 20) // len(line) + 1))
    size = big.stat().st_size
    rc, out, err, took = run_measured(causeway, "validate", "-c", tmp_path)
    assert rc == 1, (out, err)
    assert (f"{big}: error: file is {size} bytes, more than the limit of 16777216 bytes (16 MiB) "
            "for one manifest file") in err.splitlines(), err


# ---- a running gateway: SIGHUP with the bomb in its folder ---------------------------------

def sighup_outcome(gw, timeout=5.0):
    """SIGHUP to the gateway; returns its "reloaded" or "reload rejected" line (bounded wait)."""
    def has_handler():
        with open(f"/proc/{gw.pid}/status") as f:
            caught = next(l for l in f if l.startswith("SigCgt:"))
        return int(caught.split()[1], 16) & (1 << (signal.SIGHUP - 1))

    def outcomes():
        return [l for l in gw.output().split("\n")[:-1]
                if l.startswith(("causeway: reloaded: ", "causeway: reload rejected: "))]

    wait_until(has_handler, START_TIMEOUT, what="causeway's SIGHUP handler")
    before = len(outcomes())
    os.kill(gw.pid, signal.SIGHUP)

    def done():
        assert gw.proc.poll() is None, f"causeway exited with {gw.proc.returncode}\n{gw.output()}"
        return len(outcomes()) > before

    try:
        wait_until(done, timeout, interval=0.005, what="the reload's outcome on causeway's stderr")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{gw.output()[-3000:]}") from None
    return outcomes()[before]


def direct(body):
    return route_table("site", [HOST], f"""\
http:
- name: v
  matchers:
  - uri:
      exact: /v
  directResponse: {{status: 200, body: "{body}"}}
""")


def test_sighup_rejects_the_bomb_and_keeps_serving_small(stack):
    gw = stack.gateway(join(base_manifests([(PORT, "http")]), direct("v1")), [PORT],
                       bind=GW_ADDR)
    r = get(PORT, "/v", host=HOST, addr=GW_ADDR)
    assert (r.status, r.text) == (200, "v1"), r
    rss_before = vm_rss_kb(gw.pid)

    (gw.config / "bomb.yaml").write_text(BOMB)
    t0 = time.monotonic()
    line = sighup_outcome(gw)
    took = time.monotonic() - t0
    assert line == ("causeway: reload rejected: the configuration has 1 error(s) (above); "
                    "still serving the previous configuration"), gw.output()[-3000:]
    assert f"{gw.config / 'bomb.yaml'}{BOMB_ERROR}" in gw.output(), gw.output()[-3000:]
    assert took < 1.0, took
    rss = vm_rss_kb(gw.pid)
    assert rss < rss_before + 20 * MB and rss < 100 * MB, (rss_before, rss)
    for _ in range(3):
        r = get(PORT, "/v", host=HOST, addr=GW_ADDR)
        assert (r.status, r.text) == (200, "v1"), r

    # The bomb removed and the route changed: the next SIGHUP is taken.
    (gw.config / "bomb.yaml").unlink()
    (gw.config / "all.yaml").write_text(join(base_manifests([(PORT, "http")]), direct("v2")))
    assert sighup_outcome(gw) == "causeway: reloaded: 1 listener(s), 0 cluster(s)", gw.output()
    r = get(PORT, "/v", host=HOST, addr=GW_ADDR)
    assert (r.status, r.text) == (200, "v2"), r

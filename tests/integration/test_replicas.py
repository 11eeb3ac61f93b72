"""Replicas (issue 15, deployment): three causeway processes on three loopback addresses read the
same watched manifest folder, behind one HAProxy in TCP mode that checks each replica's /ready
(as a Kubernetes readiness probe would). Under load (a new connection per request), the folder
is swapped to a new version and one replica is stopped with SIGTERM and --shutdown-delay: not
one request fails, and every answer comes from the old or the new version.

Addresses: replicas 127.0.10.1-3 (listener 45080, admin 45901), HAProxy 127.0.10.9:45080,
backend nginx 127.0.10.20:45120.
"""
import os
import signal
import subprocess

from backends import (HttpLoad, base_manifests, external_service, join, stop_process,
                      versioned_routes, wait_port, wait_until)

REPLICAS = ["127.0.10.1", "127.0.10.2", "127.0.10.3"]
LB = "127.0.10.9"
PORT, ADMIN, BACKEND = 45080, 45901, ("127.0.10.20", 45120)


def base():
    """What each replica's own folder holds: workspace, gateway, the backend's service."""
    return join(base_manifests([(PORT, "http")]),
                external_service("web", BACKEND[1], addresses=[BACKEND[0]]))


def routes(version):
    """The RouteTable in the shared folder: GET /version answers `version <version>`."""
    return versioned_routes(version, "web", BACKEND[1])


def haproxy_config():
    servers = "\n".join(
        f"    server r{i} {addr}:{PORT} check port {ADMIN} inter 100ms fall 1 rise 2"
        for i, addr in enumerate(REPLICAS))
    return f"""
global
    maxconn 2000
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
    retries 2
    option redispatch
frontend in
    bind {LB}:{PORT}
    default_backend replicas
backend replicas
    balance roundrobin
    option httpchk GET /ready
    http-check expect status 200
{servers}
"""


def replica(stack, addr, folder):
    """A causeway on <addr> reading <folder> (shared), its admin API on <addr>:ADMIN."""
    g = stack.gateway(base(), [PORT], bind=addr,
                      args=["-c", str(folder), "--admin", f"{addr}:{ADMIN}",
                            "--shutdown-delay", "1s", "--watch", "on"])
    return g


def test_replicas_behind_haproxy_survive_a_config_swap_and_a_stopped_replica(stack, tmp_path):
    stack.nginx(f"""
        server {{
          listen {BACKEND[0]}:{BACKEND[1]};
          location / {{ return 200 "backend\\n"; }}
        }}
    """, [BACKEND])
    # The shared folder holds the RouteTable, each replica's own folder the rest.
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "routes.yaml").write_text(routes(1))
    reps = []
    for addr in REPLICAS:
        g = replica(stack, addr, shared)
        reps.append(g)
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(haproxy_config())
    lb = subprocess.Popen(["haproxy", "-f", str(cfg), "-db"], stdout=subprocess.DEVNULL,
                          stderr=open(tmp_path / "haproxy.log", "wb"), stdin=subprocess.DEVNULL)
    try:
        wait_port(LB, PORT, lb)
        ok = {"version 1", "version 2"}
        with HttpLoad(PORT, "web.example.com", lambda i, k: "/version", keepalive=0, fresh=4,
                      addr=LB, check=lambda r: r.text.strip() in ok) as load:
            wait_until(lambda: load.count() >= 100, 10, what="answers through HAProxy")
            # a new version for every replica, through the shared, watched folder
            tmp = shared / ".routes.yaml.tmp"
            tmp.write_text(routes(2))
            os.replace(tmp, shared / "routes.yaml")
            # one replica leaves: /ready turns 503, HAProxy stops sending, then it drains
            reps[1].proc.send_signal(signal.SIGTERM)
            assert reps[1].proc.wait(timeout=15) == 0, reps[1].output()[-2000:]
            seen = load.count()
            wait_until(lambda: load.count() >= seen + 200, 15, what="answers after the stop")
        assert load.errors == [], f"{len(load.errors)} failed: {load.errors[:5]}"
        labels = {label for _, label in load.results}
        assert "version 2" in labels, labels
        # HAProxy spread the load: every replica answered some of it
        assert all(g.log_lines() for g in reps), [len(g.log_lines()) for g in reps]
    finally:
        stop_process(lb)

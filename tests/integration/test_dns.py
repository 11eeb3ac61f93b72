"""DNS (issue 14): endpoint names resolved with c-ares and followed as their records change,
last-known-good when lookups fail, the WARNING for a name that never resolved, and the
responder that answers the gateway's own hostnames.

A real dnsmasq (Debian's dnsmasq-base) serves the test's names from an addn-hosts file the test
rewrites and signals (SIGHUP re-reads it); `--local=/dns.test/` makes a name missing from the
file NXDOMAIN, `--local-ttl` sets the TTL of every answer.

Addresses 127.0.8.0/24 only: dnsmasq 127.0.8.53, backends 127.0.8.11-.13, the gateway (and its
responder) 127.0.8.90, PostgreSQL 127.0.8.43. Ports 43001-43099.
"""
import signal
import socket
import subprocess
import time

import pytest

from backends import (Deadline, Postgres, _ThreadServer, _read_head, _tail, base_manifests, dest,
                      external_endpoint, external_service, failover_policy, gateway_events, get,
                      join, outlier_detection_policy, psql, route_table, stop_process, tcp_route,
                      wait_port, wait_until)

GW = "127.0.8.90"
DNS = "127.0.8.53"
DNS_PORT = 43053
RESPONDER_PORT = 43054
BACKENDS = ["127.0.8.11", "127.0.8.12", "127.0.8.13"]
BACKEND_PORT = 43011
PG = "127.0.8.43"
PG_PORT = 43043
HOST = "api.example.com"
TTL = 1  # seconds: every dnsmasq answer's TTL (--local-ttl)
RESOLVER = ["--dns-server", f"{DNS}:{DNS_PORT}"]


class Dnsmasq:
    """dnsmasq on DNS:DNS_PORT serving `records` [(address, name)] from a hosts file."""

    def __init__(self, workdir, records, ttl=TTL):
        self.hosts = workdir / "dns-hosts"
        self.log = workdir / "dnsmasq.log"
        self.ttl = ttl
        self.proc = None
        self.set(records, signal_it=False)

    def set(self, records, signal_it=True):
        """Rewrites the hosts file; dnsmasq re-reads it on SIGHUP."""
        self.hosts.write_text("".join(f"{a} {n}\n" for a, n in records))
        if signal_it and self.proc:
            self.proc.send_signal(signal.SIGHUP)

    def start(self):
        out = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen(
                ["dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
                 "--no-hosts", f"--addn-hosts={self.hosts}", "--bind-interfaces",
                 "--listen-address", DNS, "--port", str(DNS_PORT), "--local=/dns.test/",
                 f"--local-ttl={self.ttl}", "--user=root", "--pid-file=", "--log-facility=-"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        finally:
            out.close()
        wait_until(lambda: dig(DNS, DNS_PORT, "probe.dns.test", "+short") is not None, 10,
                   what="dnsmasq answering")
        return self

    def stop(self):
        if self.proc:
            stop_process(self.proc)
            self.proc = None


def dig(server, port, name, *args, qtype="A"):
    """dig's output (None when it got no answer at all)."""
    r = subprocess.run(["dig", f"@{server}", "-p", str(port), name, qtype, "+time=1", "+tries=1",
                        *args], capture_output=True, text=True, timeout=10)
    return None if r.returncode == 9 else r.stdout


class WhoAmI(_ThreadServer):
    """An HTTP backend answering every request with its own address."""

    def serve(self, c):
        body = self.addr.encode() + b"\n"
        while _read_head(c):
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture
def dns(tmp_path):
    servers = []

    def start(records, ttl=TTL, run=True):
        d = Dnsmasq(tmp_path, records, ttl)
        servers.append(d)
        return d.start() if run else d
    yield start
    for d in servers:
        d.stop()


@pytest.fixture
def backends(stack):
    return [stack.server(WhoAmI, a, BACKEND_PORT) for a in BACKENDS]


def api(port, endpoints, *policies):
    """Listener `port` (HTTP); ExternalService data/api over one ExternalEndpoint per
    (name, address, "region/zone" or None); every request for api.example.com goes to it."""
    docs = [external_service("api", 80, hosts=["api.internal"], selector={"app": "api"},
                             port_name="http", target_port="http", labels={"failover": "true"})]
    for name, addr, loc in endpoints:
        docs.append(external_endpoint(f"api-{name}", addr, BACKEND_PORT, {"app": "api"},
                                      port_name="http", locality=loc))
    return join(base_manifests([(port, "http")]), *docs, route_table("api", [HOST], f"""
        http:
        - name: all
          matchers:
          - uri:
              prefix: /
          forwardTo:
            destinations:
            {dest("api", 80)}
    """), *policies)


def served_by(port):
    r = get(port, "/", host=HOST, addr=GW)
    return r.status, r.text.strip()


def wait_served_by(port, want, timeout, gw):
    try:
        return wait_until(lambda: served_by(port) == (200, want), timeout, interval=0.05,
                          what=f"traffic on {want}")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{gw.output()[-3000:]}") from None


def events(gw, kind, **match):
    return [e for e in gateway_events(gw, kind) if all(e.get(k) == v for k, v in match.items())]


# ---- resolution ----------------------------------------------------------------------------

def test_a_changed_record_moves_new_traffic_within_its_ttl(stack, dns, backends):
    """api.dns.test moves from .11 to .12 (TTL 1s): new requests reach .12 within the TTL (plus
    the lookup and the rebuild), and the change is logged as an event."""
    d = dns([(BACKENDS[0], "api.dns.test")])
    gw = stack.gateway(api(43001, [("one", "api.dns.test", None)]), [43001], bind=GW,
                       args=RESOLVER)
    assert served_by(43001) == (200, BACKENDS[0])
    d.set([(BACKENDS[1], "api.dns.test")])
    changed = time.monotonic()
    wait_served_by(43001, BACKENDS[1], TTL + 2.0, gw)
    took = time.monotonic() - changed
    assert took <= TTL + 1.5, f"traffic moved {took:.2f}s after the record changed (TTL {TTL}s)"
    ev = wait_until(lambda: events(gw, "dns-change", added=BACKENDS[1]), 5, what="dns-change")
    assert ev[-1]["name"] == "api.dns.test" and ev[-1]["removed"] == BACKENDS[0], ev


def test_nxdomain_keeps_traffic_on_the_last_addresses(stack, dns, backends):
    """The record disappears (NXDOMAIN): the last addresses keep serving (--dns-stale-for 10m by
    default), the failure is logged once, not on every retry."""
    d = dns([(BACKENDS[0], "api.dns.test")])
    gw = stack.gateway(api(43002, [("one", "api.dns.test", None)]), [43002], bind=GW,
                       args=RESOLVER)
    assert served_by(43002) == (200, BACKENDS[0])
    d.set([])
    wait_until(lambda: events(gw, "dns-failure", name="api.dns.test"), 5, what="dns-failure")
    deadline = Deadline(3 * TTL + 1)
    while not deadline.expired():  # several TTLs and retries later: still served
        assert served_by(43002) == (200, BACKENDS[0]), gw.output()[-2000:]
        time.sleep(0.1)
    failures = events(gw, "dns-failure")
    assert len(failures) == 1 and failures[0]["reason"] == "NXDOMAIN", failures
    assert failures[0]["serving"] == f"last-known-good:{BACKENDS[0]}", failures
    assert events(gw, "dns-change", removed=BACKENDS[0]) == []


def test_stale_addresses_are_dropped_after_stale_for(stack, dns, backends):
    """With --dns-stale-for 2s the last addresses go once they are 2s past their last answer:
    requests then get 503 endpoint name not resolved."""
    d = dns([(BACKENDS[0], "api.dns.test")])
    gw = stack.gateway(api(43003, [("one", "api.dns.test", None)]), [43003], bind=GW,
                       args=RESOLVER + ["--dns-stale-for", "2s"])
    assert served_by(43003) == (200, BACKENDS[0])
    d.set([])
    wait_until(lambda: events(gw, "dns-change", removed=BACKENDS[0]), 10, what="stale dropped")
    r = get(43003, "/", host=HOST, addr=GW)
    assert (r.status, r.text.strip()) == (503, "endpoint name not resolved"), r


def test_resolver_down_at_start_warns_and_recovers(stack, dns, backends, causeway, tmp_path):
    """Nothing answers DNS at start: `validate` and `run` say the service is WARNING
    `api.dns.test does not resolve: ...`, requests get 503 endpoint name not resolved; once
    the resolver is up, traffic flows without a reload."""
    manifests = api(43004, [("one", "api.dns.test", None)])
    (tmp_path / "m.yaml").write_text(manifests)
    v = causeway.validate(tmp_path / "m.yaml", extra=RESOLVER)
    assert v.approval("ExternalService", "data/api") == "WARNING", v
    assert v.message("ExternalService", "data/api").startswith("api.dns.test does not resolve: ")
    d = dns([(BACKENDS[2], "api.dns.test")], run=False)
    gw = stack.gateway(manifests, [43004], bind=GW, args=RESOLVER)
    assert "ExternalService data/api: WARNING: api.dns.test does not resolve: " in gw.output()
    r = get(43004, "/", host=HOST, addr=GW)
    assert (r.status, r.text.strip()) == (503, "endpoint name not resolved"), r
    d.start()
    # Failed lookups are retried with a backoff from --dns-min-ttl (1s) doubling to 30s: the
    # resolver is back well within a few retries.
    wait_served_by(43004, BACKENDS[2], 20, gw)
    assert events(gw, "dns-recovered", name="api.dns.test") or \
        events(gw, "dns-change", added=BACKENDS[2])


def test_a_name_with_two_records_gives_two_hosts(stack, dns, backends, causeway, tmp_path):
    """Two A records: two hosts of the endpoint's locality (the plan shows both addresses),
    and requests reach both."""
    dns([(BACKENDS[0], "pair.dns.test"), (BACKENDS[1], "pair.dns.test")])
    manifests = api(43005, [("pair", "pair.dns.test", "us-east-1/us-east-1a")])
    (tmp_path / "m.yaml").write_text(manifests)
    v = causeway.validate(tmp_path / "m.yaml", output="table", plan=True, extra=RESOLVER)
    line = [l for l in v.plan_lines() if l.startswith("dns pair.dns.test ")]
    assert line and line[0].split()[2] == f"{BACKENDS[0]},{BACKENDS[1]}", v
    assert f"ttl {TTL}s expires " in line[0], v
    gw = stack.gateway(manifests, [43005], bind=GW, args=RESOLVER)
    seen = {served_by(43005)[1] for _ in range(8)}
    assert seen == {BACKENDS[0], BACKENDS[1]}, seen
    recs = gw.log_records(8, requests_only=True)
    assert {r["locality"] for r in recs} == {"us-east-1/us-east-1a"}, recs


def test_two_names_in_two_localities_fail_over_like_two_addresses(stack, dns, backends):
    """local.dns.test in the gateway's locality, remote.dns.test in another, outlier detection
    and a failover mapping: everything goes to the local name's host; when it dies, traffic
    moves to the remote name's host."""
    dns([(BACKENDS[0], "local.dns.test"), (BACKENDS[1], "remote.dns.test")])
    gw = stack.gateway(api(43006, [("local", "local.dns.test", "us-east-1/us-east-1a"),
                                   ("remote", "remote.dns.test", "us-west-2/us-west-2a")],
                           outlier_detection_policy(consecutiveErrors=1, baseEjectionTime="30s"),
                           failover_policy([("us-east-1", ["us-west-2"])])),
                       [43006], bind=GW, args=RESOLVER)
    assert [served_by(43006)[1] for _ in range(6)] == [BACKENDS[0]] * 6
    backends[0].stop()
    wait_served_by(43006, BACKENDS[1], 10, gw)
    assert [served_by(43006)[1] for _ in range(6)] == [BACKENDS[1]] * 6


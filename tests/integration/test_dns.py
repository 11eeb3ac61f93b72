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
from conftest import SANITIZED

from backends import (Deadline, Postgres, _ThreadServer, _read_head, base_manifests,
                      external_endpoint, external_service, failover_policy, forward_all_routes,
                      gateway_events, get, join, outlier_detection_policy, psql, route_table,
                      stop_process, tcp_route, vm_rss_kb, wait_until)

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
    return join(base_manifests([(port, "http")]), *docs,
                forward_all_routes("api", [HOST], "api", 80), *policies)


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
    # the workers get the new hosts once the burst of answers is over (100 ms)
    wait_until(lambda: served_by(43003) == (503, "endpoint name not resolved"), 2,
               what="503 endpoint name not resolved")


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


def test_the_hosts_file_answers_before_dns_and_is_followed(stack, dns, backends, causeway,
                                                          tmp_path):
    """A name the hosts file lists is not asked of DNS (the system resolver's order); an edit
    to the file moves traffic without a reload; `--dns-hosts-file none` asks DNS only."""
    dns([(BACKENDS[2], "files.dns.test")])
    hosts = tmp_path / "hosts"
    hosts.write_text(f"# test hosts file\n{BACKENDS[0]}  other.dns.test Files.DNS.test\n")
    manifests = api(43006, [("files", "files.dns.test", None)])
    (tmp_path / "m.yaml").write_text(manifests)
    v = causeway.validate(tmp_path / "m.yaml", output="table", plan=True,
                          extra=[*RESOLVER, "--dns-hosts-file", str(hosts)])
    line = [l for l in v.plan_lines() if l.startswith("dns files.dns.test ")]
    assert line and line[0].split()[2] == BACKENDS[0], v
    gw = stack.gateway(manifests, [43006], bind=GW,
                       args=[*RESOLVER, "--dns-hosts-file", str(hosts)])
    assert served_by(43006) == (200, BACKENDS[0])
    # Rewritten in place, then replaced by a rename (how editors and config tools write it).
    hosts.write_text(f"{BACKENDS[1]} files.dns.test\n")
    wait_served_by(43006, BACKENDS[1], 5, gw)
    tmp = tmp_path / "hosts.new"
    tmp.write_text("# the name is gone: DNS answers it\n")
    tmp.rename(hosts)
    wait_served_by(43006, BACKENDS[2], 5, gw)
    gw2 = stack.gateway(api(43007, [("files", "files.dns.test", None)]), [43007], bind=GW,
                        args=[*RESOLVER, "--dns-hosts-file", "none"])
    hosts.write_text(f"{BACKENDS[0]} files.dns.test\n")
    assert served_by(43007) == (200, BACKENDS[2]), gw2.output()[-2000:]


def test_resolution_is_counted_in_the_metrics(stack, dns, backends, tmp_path):
    """/metrics shows the names by state, lookups by source, failures by reason and address
    changes, so a dashboard sees a name go stale before anyone reads the log."""
    import http.client
    from test_admin import port_accepts, sample

    def metrics():
        c = http.client.HTTPConnection(GW, 43088, timeout=5)
        try:
            c.request("GET", "/metrics")
            return c.getresponse().read().decode()
        finally:
            c.close()

    d = dns([(BACKENDS[0], "api.dns.test")])
    hosts = tmp_path / "hosts"
    hosts.write_text(f"{BACKENDS[1]} files.dns.test\n")
    stack.gateway(api(43008, [("one", "api.dns.test", None), ("files", "files.dns.test", None)]),
                  [43008], bind=GW, admin=f"{GW}:43088",
                  args=[*RESOLVER, "--dns-hosts-file", str(hosts)])
    wait_until(lambda: port_accepts(GW, 43088), 5, what="the admin API")
    text = metrics()
    assert sample(text, "causeway_dns_names", state="resolved") == 2, text
    assert sample(text, "causeway_dns_lookups_total", source="dns") >= 1
    assert sample(text, "causeway_dns_lookups_total", source="hosts_file") >= 1
    assert sample(text, "causeway_dns_lookup_failures_total", reason="nxdomain") == 0
    d.set([])  # NXDOMAIN: stale, serving the last addresses
    wait_until(lambda: sample(metrics(), "causeway_dns_names", state="stale") == 1 and
               sample(metrics(), "causeway_dns_lookup_failures_total", reason="nxdomain") >= 1,
               5, what="the stale name and its NXDOMAIN counted")
    assert sample(metrics(), "causeway_dns_address_changes_total") == 0
    d.set([(BACKENDS[2], "api.dns.test")])  # back, elsewhere
    wait_until(lambda: sample(metrics(), "causeway_dns_names", state="resolved") == 2 and
               sample(metrics(), "causeway_dns_address_changes_total") == 1, 10,
               what="the name resolved again and its change counted")


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


def test_an_address_that_leaves_finishes_its_in_flight_request(stack, dns):
    """A request in flight on .11 when the record moves to .12 is answered by .11 (its
    generation keeps the old host) while new requests go to .12."""
    import threading
    from backends import SlowHTTPServer
    slow = stack.server(SlowHTTPServer, BACKENDS[0], BACKEND_PORT, 2.0)
    stack.server(WhoAmI, BACKENDS[1], BACKEND_PORT)
    d = dns([(BACKENDS[0], "api.dns.test")])
    gw = stack.gateway(api(43007, [("one", "api.dns.test", None)]), [43007], bind=GW,
                       args=RESOLVER)
    result = {}
    t = threading.Thread(target=lambda: result.update(r=get(43007, "/", host=HOST, addr=GW,
                                                            timeout=10)))
    t.start()
    try:
        assert slow.got_request.wait(5), gw.output()
        d.set([(BACKENDS[1], "api.dns.test")])
        wait_served_by(43007, BACKENDS[1], TTL + 2.0, gw)
    finally:
        t.join(10)
    r = result.get("r")
    assert r is not None and (r.status, r.text) == (200, "slow but sure\n"), r


# ---- the responder -------------------------------------------------------------------------

RESPONDER = ["--dns-listen", f"{GW}:{RESPONDER_PORT}", "--advertise-address", GW,
             "--advertise-address", "fd00::90", "--dns-answer-ttl", "7s"]


@pytest.fixture(scope="module")
def postgres_db():
    pg = Postgres(PG, PG_PORT)
    try:
        pg.start()
        yield pg
    finally:
        pg.stop()


def answers(name, *args, qtype="A", port=RESPONDER_PORT):
    out = dig(GW, port, name, "+short", *args, qtype=qtype)
    assert out is not None, f"no answer for {name}"
    return out.split()


def status_of(name, *args, qtype="A"):
    out = dig(GW, RESPONDER_PORT, name, *args, qtype=qtype)
    assert out is not None, f"no answer for {name}"
    return out.split("status: ", 1)[1].split(",", 1)[0]


def database(pg_port):
    """Listener 43060 (TCP) forwarding to ExternalService data/database (database.external)
    over the real PostgreSQL; RouteTable host database.internal; HTTP listener 43061 with a
    RouteTable for api.example.com and *.apps.example.com."""
    return join(
        base_manifests([(43060, "tcp"), (43061, "http")]),
        external_service("database", 5432, protocol="TCP", hosts=["database.external"],
                         selector={"app": "database"}, port_name="pg", target_port="pg"),
        external_endpoint("database-1", PG, pg_port, {"app": "database"}, port_name="pg"),
        tcp_route(43060, "database", 5432),
        route_table("web", [HOST, "'*.apps.example.com'"], """
            http:
            - name: hello
              directResponse:
                status: 200
                body: hello
        """))


def test_responder_answers_the_gateways_names_and_psql_reaches_the_database(stack, postgres_db):
    """`dig @gateway database.external` answers the advertised address (A and AAAA, TTL
    --dns-answer-ttl, UDP and TCP) and `psql -h <that address>` reaches PostgreSQL through the
    gateway's TCP route; RouteTable hosts and wildcard subdomains are answered too."""
    gw = stack.gateway(database(PG_PORT), [43060, 43061], bind=GW, args=RESPONDER)
    assert answers("database.external") == [GW]
    assert answers("DataBase.External.", "+tcp") == [GW]
    assert answers("database.external", qtype="AAAA") == ["fd00::90"]
    full = dig(GW, RESPONDER_PORT, "database.external", "+noall", "+answer")
    assert full.split()[1] == "7", full  # the TTL
    assert answers("database.internal") == [GW]           # the TCP RouteTable's host
    assert answers("api.example.com") == [GW]             # an HTTP RouteTable's host
    assert answers("x.apps.example.com") == [GW]          # wildcard host: its subdomains
    assert answers("a.b.apps.example.com") == [GW]
    assert status_of("apps.example.com") == "REFUSED"     # ... not the suffix itself
    address = answers("database.external")[0]
    r = psql(address, 43060, "select 6 * 7, current_setting('port')")
    assert (r.returncode, r.stdout.strip()) == (0, f"42|{PG_PORT}"), f"{r.stderr}\n{gw.output()}"


def test_responder_refuses_other_names_and_survives_hostile_queries(stack, postgres_db):
    """Names it does not serve: REFUSED. Truncated queries, compression loops, huge counts and
    responses are refused or dropped, and the responder keeps answering (UDP and TCP)."""
    import struct
    stack.gateway(database(PG_PORT), [43060, 43061], bind=GW, args=RESPONDER)
    assert status_of("www.example.org") == "REFUSED"
    assert status_of("database.external", qtype="MX") == "NOERROR"  # ours, no such record

    def header(qd=1, an=0, ns=0, ar=0, flags=0x0100):
        return struct.pack(">HHHHHH", 0x4242, flags, qd, an, ns, ar)
    question = b"\x08database\x08external\x00\x00\x01\x00\x01"
    hostile = [
        b"", b"\x42", header()[:11],                           # shorter than a header
        header() + question[:9],                               # truncated question
        header() + b"\xc0\x0c\x00\x01\x00\x01",                # pointer to itself: a loop
        header(0xffff, 0xffff, 0xffff, 0xffff) + question,     # huge counts
        header(flags=0x8100) + question,                       # a response
        header() + b"\x3f" + b"a" * 10 + b"\x00\x00\x01\x00\x01",  # label past the end
        header() + (b"\x3f" + b"a" * 63) * 5 + b"\x00\x00\x01\x00\x01",  # name over 255 bytes
    ]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(0.3)
    try:
        for q in hostile:
            u.sendto(q, (GW, RESPONDER_PORT))
            try:
                reply, _ = u.recvfrom(4096)
            except socket.timeout:
                continue  # dropped: nothing to answer
            assert reply[:2] == b"\x42\x42" and reply[3] & 0x0f in (1, 4, 5), (q, reply)
            assert struct.unpack(">H", reply[6:8])[0] == 0, (q, reply)  # no answer records
    finally:
        u.close()
    t = socket.create_connection((GW, RESPONDER_PORT), timeout=3)
    try:  # a frame announcing 65535 bytes and sending 3, then closing
        t.sendall(b"\xff\xff\x00\x01\x02")
    finally:
        t.close()
    assert answers("database.external") == [GW]
    assert answers("database.external", "+tcp") == [GW]


def test_responder_tcp_clients_cannot_hold_it_or_pile_up_answers(stack, postgres_db):
    """A TCP client trickling a message a byte at a time is closed about 10 s after it connected
    (only answered queries keep a connection); a client that pipelines queries and never reads
    the answers is read no more once 64 answers wait, so the gateway's memory stays flat."""
    import struct
    gw = stack.gateway(database(PG_PORT), [43060, 43061], bind=GW, args=RESPONDER)
    question = b"\x08database\x08external\x00\x00\x01\x00\x01"
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + question
    frame = struct.pack(">H", len(query)) + query

    # Pipelined queries, answers never read: the sender blocks once the kernel's buffers fill.
    greedy = socket.create_connection((GW, RESPONDER_PORT), timeout=2)
    before = vm_rss_kb(gw.pid)
    sent = 0
    try:
        batch = frame * 1000
        while sent < 200 * len(batch):
            greedy.sendall(batch)
            sent += len(batch)
    except socket.timeout:
        pass
    assert sent < 200 * len(batch), "the responder kept reading a client that never reads"
    grown = vm_rss_kb(gw.pid) - before
    # (Not under ASan: its quarantine keeps freed memory resident, bounded or not.)
    assert SANITIZED or grown < 8 * 1024, f"{grown} KiB more after {sent // len(frame)} queries"
    assert answers("database.external", "+tcp") == [GW]  # others are served meanwhile

    # A trickle: a 300-byte message, one byte every 2 s, never completed.
    slow = socket.create_connection((GW, RESPONDER_PORT), timeout=1)
    start = time.monotonic()
    slow.sendall(b"\x01\x2c")
    closed_after, next_byte = None, start + 2
    while closed_after is None and time.monotonic() - start < 16:
        try:
            if time.monotonic() >= next_byte:
                slow.sendall(b"a")
                next_byte += 2
            if slow.recv(1) == b"":
                closed_after = time.monotonic() - start
        except socket.timeout:
            pass
        except OSError:  # reset, or a send after the close
            closed_after = time.monotonic() - start
    slow.close()
    greedy.close()
    assert closed_after is not None and closed_after < 12, closed_after
    assert answers("database.external", "+tcp") == [GW]


def test_responder_follows_reloads_and_forwards_other_names(stack, dns, postgres_db, tmp_path):
    """With --dns-forward other names go to the --dns-server resolvers; a reload that adds a
    RouteTable host is answered at once."""
    dns([(BACKENDS[0], "elsewhere.dns.test")])
    gw = stack.gateway(database(PG_PORT), [43060, 43061], bind=GW,
                       args=RESPONDER + RESOLVER + ["--dns-forward"])
    assert answers("elsewhere.dns.test") == [BACKENDS[0]]
    assert status_of("missing.dns.test") == "NXDOMAIN"
    # dnsmasq refuses names outside its zone; the responder then says SERVFAIL at once
    assert status_of("new.example.com") == "SERVFAIL"
    manifests = gw.config / "all.yaml"
    manifests.write_text(manifests.read_text().replace(f"  - {HOST}\n",
                                                       f"  - {HOST}\n  - new.example.com\n"))
    gw.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "causeway: reloaded" in gw.output(), 10, what="reload")
    assert answers("new.example.com") == [GW]

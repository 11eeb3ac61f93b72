"""SNI pass-through (spec §3.6): a tcp listener with `tls: {mode: PASSTHROUGH}` reads the server
name of the client's ClientHello without terminating TLS and routes by the RouteTables' `tls`
routes (exact sniHosts beat wildcards) to TLS backends that the client then talks to directly:
the certificate the client sees is the backend's, and causeway never originates TLS on that hop
even to a port of protocol HTTPS. A ClientHello split over several segments still routes; no
server name, no matching route, bytes that are not TLS, and a ClientHello that never completes
close the connection, logged with the reason.

Backends: nginx with TLS (each its own certificate and name). Clients: python's ssl module and
`openssl s_client`. Certificates come from tls_pki.py, made at test time.
Addresses 127.0.6.0/24: the gateway binds 127.0.6.2, backends 127.0.6.30-32.
Ports: gateway listeners 42201-42219, backends 42231-42249.
"""
import socket
import ssl
import time

import pytest

from backends import Deadline, base_manifests, dest, external_service, join, route_table
from tls_pki import PKI

GWP = "127.0.6.2"
BA, BB, BC = "127.0.6.30", "127.0.6.31", "127.0.6.32"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = PKI(tmp_path_factory.mktemp("pki-pass"))
    p.root = p.ca("Pass-through Root")
    p.a = p.server("a", p.root, dns=["a.pass.test", "exact.wild.test"])
    p.b = p.server("b", p.root, dns=["*.wild.test"])
    p.c = p.server("c", p.root, dns=["c.pass.test"])
    return p


def tls_nginx(stack, addr, port, cert, name):
    return stack.nginx(f"""
        server {{
          listen {addr}:{port} ssl;
          ssl_certificate {cert.cert};
          ssl_certificate_key {cert.key};
          location / {{ return 200 "{name} sni=$ssl_server_name\\n"; }}
        }}
    """, [(addr, port)])


def manifests(port, protocol="TLS"):
    """Listener `port` (tcp, PASSTHROUGH); a.pass.test and exact.wild.test to backend A, the
    wildcard *.wild.test (listed first) to B, c.pass.test to C (an HTTPS port: still passed
    through, never originated)."""
    tls_routes = f"""
        tls:
        - matchers: [{{sniHosts: ["*.wild.test"]}}]
          forwardTo:
            destinations:
            {dest("b", 42232)}
        - matchers: [{{sniHosts: [a.pass.test, exact.wild.test]}}]
          forwardTo:
            destinations:
            {dest("a", 42231)}
        - matchers: [{{sniHosts: [c.pass.test], port: {port}}}]
          forwardTo:
            destinations:
            {dest("c", 42233)}
    """
    return join(base_manifests([(port, "tcp", "tls: {mode: PASSTHROUGH}\n")]),
                external_service("a", 42231, protocol="TLS", addresses=[BA]),
                external_service("b", 42232, protocol="TLS", addresses=[BB]),
                external_service("c", 42233, protocol="HTTPS", addresses=[BC]),
                route_table("pass", ["a.pass.test", '"*.wild.test"', "c.pass.test"], tls_routes))


@pytest.fixture
def setup(stack, pki):
    def start(port, **kw):
        tls_nginx(stack, BA, 42231, pki.a, "backend-a")
        tls_nginx(stack, BB, 42232, pki.b, "backend-b")
        tls_nginx(stack, BC, 42233, pki.c, "backend-c")
        kw.setdefault("log_format", "json")
        return stack.gateway(manifests(port), [port], bind=GWP, **kw)
    return start


def https_get(port, sni, ca, timeout=5):
    """GET / over TLS to the gateway with server name <sni>: (backend's answer, certificate
    subject the client verified)."""
    ctx = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection((GWP, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=sni) as s:
            s.sendall(f"GET / HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
            subject = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
    return data.decode().split("\r\n\r\n", 1)[1], subject


def closed_by_gateway(sock, timeout=5):
    """True when the gateway closes <sock> (EOF or reset) within <timeout>."""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_sni_routes_to_two_backends_without_decrypting(setup, pki):
    gw = setup(42201)
    body, subject = https_get(42201, "a.pass.test", pki.root.cert)
    assert body.startswith("backend-a sni=a.pass.test"), body
    assert subject == "a"  # the backend's own certificate: causeway did not terminate
    body, subject = https_get(42201, "x.wild.test", pki.root.cert)
    assert body.startswith("backend-b sni=x.wild.test"), body
    assert subject == "b"
    recs = gw.log_records(2)
    assert {(r["sni"], r["endpoint"]) for r in recs} == {
        ("a.pass.test", f"{BA}:42231"), ("x.wild.test", f"{BB}:42232")}, recs
    assert all(r["upstream_tls"] is None for r in recs)  # never originated


def test_exact_sni_beats_an_earlier_wildcard(setup, pki):
    setup(42202)
    body, _ = https_get(42202, "exact.wild.test", pki.root.cert)
    assert body.startswith("backend-a"), body


def test_an_https_port_is_passed_through_not_originated(setup, pki):
    setup(42203)
    body, subject = https_get(42203, "c.pass.test", pki.root.cert)
    assert body.startswith("backend-c sni=c.pass.test") and subject == "c", body


def client_hello_bytes(sni):
    """The ClientHello python's ssl sends for <sni>, and the objects to finish the handshake."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return outgoing.read(), obj, incoming, outgoing


def test_a_client_hello_split_over_segments_still_routes(setup, pki):
    setup(42204)
    hello, obj, incoming, outgoing = client_hello_bytes("a.pass.test")
    with socket.create_connection((GWP, 42204), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in (hello[:3], hello[3:40], hello[40:200], hello[200:]):
            s.sendall(piece)
            time.sleep(0.05)  # separate segments, separate reads
        d = Deadline(5)
        while not d.expired():  # finish the handshake with the backend through the tunnel
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                out = outgoing.read()
                if out:
                    s.sendall(out)
                data = s.recv(65536)
                assert data, "closed during the handshake"
                incoming.write(data)
        s.sendall(outgoing.read())
        obj.write(b"GET / HTTP/1.1\r\nHost: a.pass.test\r\nConnection: close\r\n\r\n")
        s.sendall(outgoing.read())
        answer = b""
        while b"backend-a" not in answer and not d.expired():
            data = s.recv(65536)
            if not data:
                break
            incoming.write(data)
            try:
                answer += obj.read(65536)
            except ssl.SSLWantReadError:
                pass
    assert b"backend-a sni=a.pass.test" in answer


@pytest.mark.parametrize("sni,reason", [
    (None, "ClientHello without a server name (SNI)"),
    ("nobody.test", "no tls route matches the server name"),
])
def test_no_sni_or_no_match_is_closed_and_logged(setup, pki, sni, reason):
    gw = setup(42205 if sni else 42206)
    hello, *_ = client_hello_bytes(sni)
    with socket.create_connection((GWP, 42205 if sni else 42206), timeout=5) as s:
        s.sendall(hello)
        assert closed_by_gateway(s)
    rec = gw.log_records(1)[0]
    assert rec["reason"] == reason and rec["sni"] == sni and rec["endpoint"] is None, rec


def test_bytes_that_are_not_tls_are_closed_and_logged(setup):
    gw = setup(42207)
    with socket.create_connection((GWP, 42207), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: a.pass.test\r\n\r\n")
        assert closed_by_gateway(s)
    rec = gw.log_records(1)[0]
    assert rec["reason"] == "not a TLS handshake", rec


def test_a_client_hello_that_never_completes_is_closed_in_time(setup):
    gw = setup(42208, args=["--request-header-timeout", "1s"])
    hello, *_ = client_hello_bytes("a.pass.test")
    with socket.create_connection((GWP, 42208), timeout=5) as s:
        s.sendall(hello[:50])
        started = time.monotonic()
        assert closed_by_gateway(s, timeout=5)
        assert time.monotonic() - started < 4
    rec = gw.log_records(1)[0]
    assert rec["reason"] == "ClientHello not received in time", rec


def test_plan_shows_sni_routes(causeway, tmp_path):
    f = tmp_path / "m.yaml"
    f.write_text(manifests(42209))
    r = causeway.validate(f, plan=True)
    assert r.rc == 0, r
    lines = r.plan_lines()
    assert "listener 42209 tls passthrough (VirtualGateway gw/edge)" in lines, lines
    assert any("sni *.wild.test -> data/b:42232 100% (the client's TLS passed through)" in l
               for l in lines), lines

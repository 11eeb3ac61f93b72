"""TLS termination on VirtualGateway listeners (spec §4.2, ListenerTLS): SIMPLE with ALPN
http/1.1, MUTUAL (no certificate, the right CA, another CA), verifySubjectAltName,
OPTIONAL_MUTUAL, several certificates on one port chosen by SNI, secretName from --secrets-dir,
a certificate that cannot be used (VirtualGateway INVALID, port not served), rotation on SIGHUP
(same files rewritten, and a Secret's `..data` symlink swap) with a connection opened before
still served, minimumProtocolVersion, a client that never finishes its handshake, a TCP
listener with TLS, and what `validate --plan` says about certificates.

Clients: curl (--cacert, --cert/--key, --resolve, --tls-max), `openssl s_client -servername`,
and python's ssl module where a test needs the negotiated details. Backends: plain nginx.
Certificates come from tls_pki.py, made at test time.

Addresses 127.0.6.0/24: the gateway binds 127.0.6.1, backends 127.0.6.20 and 127.0.6.21.
Ports: gateway listeners 42101-42149, backends 42151-42199.
"""
import datetime
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

from backends import (Deadline, _ThreadServer, base_manifests, dest, external_service, join,
                      listening_sockets, route_table, wait_until)
from tls_pki import PKI, cert_fingerprint, not_after, pem_fingerprint, secret_dir, swap_secret

GWA = "127.0.6.1"
BK = "127.0.6.20"
BK2 = "127.0.6.21"
HOST = "api.test"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    p = PKI(tmp_path_factory.mktemp("pki"))
    p.root = p.ca("Causeway Test Root")
    p.other = p.ca("Unrelated Root")
    p.api = p.server("api", p.root, dns=[HOST])
    p.api2 = p.server("api-rotated", p.root, dns=[HOST])
    p.a = p.server("a-cert", p.root, dns=["a.test"])
    p.b = p.server("b-cert", p.root, dns=["b.test"])
    p.alice = p.client("alice", p.root, dns=["alice.test"], uris=["spiffe://test/alice"])
    p.bob = p.client("bob", p.root, dns=["bob.test"])
    p.mallory = p.client("mallory", p.other, dns=["alice.test"])
    return p


# ---- manifests -------------------------------------------------------------------------------

def files_tls(cert, mode="SIMPLE", ca=None, **more):
    tls = {"mode": mode, "files": {"serverCert": str(cert.cert), "privateKey": str(cert.key)}}
    if ca is not None:
        tls["files"]["caCerts"] = str(ca)
    tls.update(more)
    return tls


def listener_extra(tls, hosts=None):
    extra = f"tls: {json.dumps(tls)}\n"
    if hosts:
        extra += "allowedRouteTables: " + json.dumps([{"host": h} for h in hosts]) + "\n"
    return extra


def https_api(port, tls, bport, hosts=(HOST,)):
    """Listener `port` (HTTP with `tls`), RouteTable gw/api: every path of `hosts` to the plain
    backend ExternalService data/back (BK:bport)."""
    return join(base_manifests([(port, "http", listener_extra(tls))]),
                external_service("back", bport, addresses=[BK]),
                route_table("api", list(hosts), f"""
                    http:
                    - name: all
                      matchers: [{{uri: {{prefix: /}}}}]
                      forwardTo:
                        destinations:
                        {dest("back", bport)}
                """))


def plain_nginx(stack, port, name="back", addr=BK):
    return stack.nginx(f"""
        server {{
          listen {addr}:{port};
          location / {{ return 200 "{name} host=$host uri=$request_uri proto=$http_x_forwarded_proto\\n"; }}
        }}
    """, [(addr, port)])


def gateway(stack, manifests, port, **kw):
    kw.setdefault("log_format", "json")
    ports = port if isinstance(port, list) else [port]
    return stack.gateway(manifests, ports, bind=GWA, **kw)


# ---- clients ---------------------------------------------------------------------------------

def curl(port, path="/", host=HOST, ca=None, cert=None, args=()):
    """curl https://host:port/path resolved to the gateway; returns the CompletedProcess with
    stdout = body + "\\n<code> <http_version> <ssl_verify_result>"."""
    argv = ["curl", "-sS", "--max-time", "5", "--resolve", f"{host}:{port}:{GWA}",
            "-w", "\n%{http_code} %{http_version}"]
    if ca:
        argv += ["--cacert", str(ca)]
    if cert:
        argv += ["--cert", str(cert.cert), "--key", str(cert.key)]
    argv += [*map(str, args), f"https://{host}:{port}{path}"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=15)


def curl_ok(r):
    return r.returncode == 0 and r.stdout.rsplit("\n", 1)[-1].startswith("200 ")


def s_client(port, servername, ca=None, args=()):
    """`openssl s_client -servername`; returns (subject line, fingerprint of the served
    certificate, full output)."""
    argv = ["openssl", "s_client", "-connect", f"{GWA}:{port}", "-servername", servername,
            *map(str, args)]
    if ca:
        argv += ["-CAfile", str(ca)]
    p = subprocess.run(argv, input="", capture_output=True, text=True, timeout=15)
    m = re.search(r"^subject=(.*)$", p.stdout, re.M)
    pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", p.stdout, re.S)
    return (m.group(1).strip() if m else None,
            pem_fingerprint(pem.group(0)) if pem else None, p.stdout + p.stderr)


def client_context(ca, cert=None, alpn=("http/1.1",), max_version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(str(ca))
    if cert:
        ctx.load_cert_chain(str(cert.cert), str(cert.key))
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if max_version:
        ctx.maximum_version = max_version
    return ctx


class TLSConn:
    """A keep-alive HTTPS client connection (python ssl) to the gateway."""

    def __init__(self, port, ca, sni=HOST, cert=None, timeout=5):
        raw = socket.create_connection((GWA, port), timeout=timeout)
        self.sock = client_context(ca, cert).wrap_socket(raw, server_hostname=sni)
        self.buf = b""

    @property
    def fingerprint(self):
        der = self.sock.getpeercert(binary_form=True)
        return pem_fingerprint(ssl.DER_cert_to_PEM_cert(der))

    def get(self, path="/", host=HOST):
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("closed before a response head")
            self.buf += d
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status = int(head.split(b" ", 2)[1])
        n = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("closed mid-body")
            self.buf += d
        body, self.buf = self.buf[:n], self.buf[n:]
        return status, body.decode()

    def close(self):
        self.sock.close()


# ---- 1. SIMPLE ---------------------------------------------------------------------------------

def test_simple_termination_with_curl_and_alpn_http11(stack, pki):
    plain_nginx(stack, 42151)
    gw = gateway(stack, https_api(42101, files_tls(pki.api), 42151), 42101)
    r = curl(42101, "/hello", ca=pki.root.cert, args=["-v"])
    assert curl_ok(r), f"{r.stdout}\n{r.stderr}\n{gw.output()}"
    assert r.stdout.startswith(f"back host={HOST} uri=/hello proto=https"), r.stdout
    assert r.stdout.rsplit("\n", 1)[-1] == "200 1.1", r.stdout
    assert "ALPN: server accepted http/1.1" in r.stderr, r.stderr
    # python's ssl: ALPN offered h2 and http/1.1: the gateway picks http/1.1
    raw = socket.create_connection((GWA, 42101), timeout=5)
    s = client_context(pki.root.cert, alpn=("h2", "http/1.1")).wrap_socket(
        raw, server_hostname=HOST)
    try:
        assert s.selected_alpn_protocol() == "http/1.1"
        assert s.version() == "TLSv1.3"
    finally:
        s.close()
    rec = gw.log_records(1, requests_only=True)[0]
    assert rec["status"] == 200 and rec["listener"] == 42101, rec
    # without --cacert curl does not trust the test CA: the certificate really is the test one
    r = curl(42101, "/")
    assert r.returncode == 60, r


# ---- 2. MUTUAL -------------------------------------------------------------------------------

def test_mutual_requires_a_client_certificate_of_the_ca(stack, pki):
    plain_nginx(stack, 42153)
    gw = gateway(stack, https_api(42103, files_tls(pki.api, "MUTUAL", ca=pki.root.cert), 42153),
                 42103)
    r = curl(42103, "/", ca=pki.root.cert)
    assert not curl_ok(r) and r.returncode != 0, r
    r = curl(42103, "/", ca=pki.root.cert, cert=pki.alice)
    assert curl_ok(r), f"{r}\n{gw.output()}"
    r = curl(42103, "/", ca=pki.root.cert, cert=pki.mallory)
    assert not curl_ok(r) and r.returncode != 0, r
    # the gateway still serves after the refusals
    r = curl(42103, "/again", ca=pki.root.cert, cert=pki.bob)
    assert curl_ok(r), r


def test_verify_subject_alt_name_refuses_a_certificate_without_the_san(stack, pki):
    """verifySubjectAltName [spiffe://test/alice]: alice (whose SANs carry it) is served, bob
    (same CA, other SANs) is refused."""
    plain_nginx(stack, 42155)
    gw = gateway(stack, https_api(42105, files_tls(
        pki.api, "MUTUAL", ca=pki.root.cert, verifySubjectAltName=["spiffe://test/alice"]),
        42155), 42105)
    r = curl(42105, "/", ca=pki.root.cert, cert=pki.alice)
    assert curl_ok(r), f"{r}\n{gw.output()}"
    r = curl(42105, "/", ca=pki.root.cert, cert=pki.bob)
    assert not curl_ok(r) and r.returncode != 0, r
    r = curl(42105, "/", ca=pki.root.cert)
    assert not curl_ok(r), r


def test_optional_mutual_serves_without_a_certificate(stack, pki):
    plain_nginx(stack, 42157)
    gw = gateway(stack, https_api(42107, files_tls(pki.api, "OPTIONAL_MUTUAL",
                                                   ca=pki.root.cert), 42157), 42107)
    r = curl(42107, "/", ca=pki.root.cert)
    assert curl_ok(r), f"{r}\n{gw.output()}"
    r = curl(42107, "/", ca=pki.root.cert, cert=pki.alice)
    assert curl_ok(r), r
    r = curl(42107, "/", ca=pki.root.cert, cert=pki.mallory)
    assert not curl_ok(r), "a certificate that was given is still verified"


# ---- 3. several certificates on one port -----------------------------------------------------

def two_hosts(port, bport_a, bport_b, tls_a, tls_b):
    return join(
        base_manifests([(port, "http", listener_extra(tls_a, ["a.test"])),
                        (port, "http", listener_extra(tls_b, ["b.test"]))]),
        external_service("back-a", bport_a, addresses=[BK]),
        external_service("back-b", bport_b, addresses=[BK2]),
        route_table("ra", ["a.test"], f"""
            http:
            - matchers: [{{uri: {{prefix: /}}}}]
              forwardTo:
                destinations:
                {dest("back-a", bport_a)}
        """),
        route_table("rb", ["b.test"], f"""
            http:
            - matchers: [{{uri: {{prefix: /}}}}]
              forwardTo:
                destinations:
                {dest("back-b", bport_b)}
        """))


def test_two_certificates_on_one_port_chosen_by_sni(stack, pki):
    plain_nginx(stack, 42159, "back-a")
    plain_nginx(stack, 42160, "back-b", addr=BK2)
    gw = gateway(stack, two_hosts(42109, 42159, 42160, files_tls(pki.a), files_tls(pki.b)), 42109)
    subj, fp, out = s_client(42109, "a.test", pki.root.cert)
    assert subj and "CN = a-cert" in subj, out
    assert fp == pki.a.fingerprint
    assert "Verify return code: 0 (ok)" in out, out
    subj, fp, out = s_client(42109, "b.test", pki.root.cert)
    assert subj and "CN = b-cert" in subj, out
    assert fp == pki.b.fingerprint
    # an unknown name gets the first entry's certificate
    _, fp, out = s_client(42109, "c.test", pki.root.cert)
    assert fp == pki.a.fingerprint, out
    # and each host reaches its own route, verified by curl
    r = curl(42109, "/x", host="a.test", ca=pki.root.cert)
    assert curl_ok(r) and r.stdout.startswith("back-a host=a.test"), f"{r}\n{gw.output()}"
    r = curl(42109, "/y", host="b.test", ca=pki.root.cert)
    assert curl_ok(r) and r.stdout.startswith("back-b host=b.test"), r


# ---- 4. secretName ---------------------------------------------------------------------------

def test_secret_name_from_secrets_dir(stack, pki, tmp_path, causeway):
    secrets_dir = tmp_path / "secrets"
    secret_dir(secrets_dir, "gw", "api-cert", pki.api.cert, pki.api.key, pki.root.cert)
    plain_nginx(stack, 42161)
    m = https_api(42111, {"mode": "MUTUAL", "secretName": "api-cert"}, 42161)
    gw = gateway(stack, m, 42111, args=["--secrets-dir", secrets_dir])
    _, fp, out = s_client(42111, HOST, pki.root.cert)
    assert fp == pki.api.fingerprint, out
    r = curl(42111, "/", ca=pki.root.cert, cert=pki.alice)
    assert curl_ok(r), f"{r}\n{gw.output()}"
    r = curl(42111, "/", ca=pki.root.cert)
    assert not curl_ok(r), r
    # a Secret that is not there: INVALID naming the path
    f = tmp_path / "missing.yaml"
    f.write_text(https_api(42111, {"mode": "SIMPLE", "secretName": "nope"}, 42161))
    res = causeway.validate(f, extra=["--secrets-dir", str(secrets_dir)])
    assert res.approval("VirtualGateway", "gw/edge") == "INVALID", res
    assert f"{secrets_dir}/gw/nope/tls.crt not found" in res.message("VirtualGateway", "gw/edge")


# ---- 5. a certificate that cannot be served --------------------------------------------------

def test_bad_certificate_file_makes_the_gateway_invalid_and_the_port_is_not_served(
        stack, pki, tmp_path, causeway):
    bad = tmp_path / "bad.crt"
    bad.write_text("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    tls = {"mode": "SIMPLE", "files": {"serverCert": str(bad), "privateKey": str(pki.api.key)}}
    other_vg = """
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualGateway
        metadata: {name: plain, namespace: gw}
        spec:
          workloads:
          - selector: {labels: {app: c-gateway}}
          listeners:
          - port: {number: 42114}
            http: {}
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: hello, namespace: gw}
        spec:
          hosts: [hello.test]
          virtualGateways: [{name: plain, namespace: gw}]
          http:
          - directResponse: {status: 200, body: "hello"}
        """
    import textwrap
    m = join(https_api(42113, tls, 42163), textwrap.dedent(other_vg).strip() + "\n")
    f = tmp_path / "bad.yaml"
    f.write_text(m)
    res = causeway.validate(f)
    assert res.approval("VirtualGateway", "gw/edge") == "INVALID", res
    msg = res.message("VirtualGateway", "gw/edge")
    assert str(bad) in msg, msg
    # a missing file too
    f.write_text(m.replace(str(bad), str(tmp_path / "nowhere.crt")))
    res = causeway.validate(f)
    assert res.approval("VirtualGateway", "gw/edge") == "INVALID", res
    assert str(tmp_path / "nowhere.crt") in res.message("VirtualGateway", "gw/edge")
    # the gateway serves the other VirtualGateway, never 42113 (not even in plaintext)
    gw = gateway(stack, m, 42114)
    assert listening_sockets(GWA, 42113) == 0
    assert "INVALID" in gw.output() and str(bad) in gw.output()
    with pytest.raises(OSError):
        socket.create_connection((GWA, 42113), timeout=1).close()


# ---- 6. rotation -------------------------------------------------------------------------------

RELOADED = "causeway: reloaded: "


def sighup_and_wait(gw):
    wait_until(lambda: _catches_sighup(gw.pid), 10, what="causeway's SIGHUP handler")
    before = gw.output().count(RELOADED)
    os.kill(gw.pid, signal.SIGHUP)
    try:
        wait_until(lambda: gw.output().count(RELOADED) > before, 5, interval=0.01,
                   what="causeway: reloaded")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{gw.output()[-3000:]}") from None


def _catches_sighup(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGHUP - 1)))
    return False


def replace_file(path, source):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(source.read_bytes())
    os.replace(tmp, path)


def test_rotated_certificate_files_are_served_after_sighup(stack, pki, tmp_path):
    """files.serverCert/privateKey rewritten in place with a new certificate, SIGHUP: new
    handshakes get the new one; a keep-alive connection opened before keeps working."""
    d = tmp_path / "certs"
    d.mkdir()
    crt, key = d / "tls.crt", d / "tls.key"
    replace_file(crt, pki.api.cert)
    replace_file(key, pki.api.key)
    plain_nginx(stack, 42165)
    tls = {"mode": "SIMPLE", "files": {"serverCert": str(crt), "privateKey": str(key)}}
    gw = gateway(stack, https_api(42115, tls, 42165), 42115)
    old = TLSConn(42115, pki.root.cert)
    try:
        assert old.fingerprint == pki.api.fingerprint
        assert old.get("/1")[0] == 200
        replace_file(key, pki.api2.key)
        replace_file(crt, pki.api2.cert)
        sighup_and_wait(gw)
        new = TLSConn(42115, pki.root.cert)
        try:
            assert new.fingerprint == pki.api2.fingerprint, "old certificate after reload"
            assert new.get("/2")[0] == 200
        finally:
            new.close()
        status, body = old.get("/3")
        assert status == 200 and "uri=/3" in body, body
    finally:
        old.close()


def test_rotated_secret_symlink_swap_is_served_after_sighup(stack, pki, tmp_path):
    """secretName over the kubelet's layout (tls.crt -> ..data/tls.crt, ..data -> a timestamped
    folder): the ..data link swapped to a folder with the new certificate, the old folder
    removed, SIGHUP: new handshakes get the new certificate, the old connection still works."""
    secrets_dir = tmp_path / "secrets"
    sec = secret_dir(secrets_dir, "gw", "api-cert", pki.api.cert, pki.api.key, kube_layout=True)
    plain_nginx(stack, 42167)
    gw = gateway(stack, https_api(42117, {"mode": "SIMPLE", "secretName": "api-cert"}, 42167),
                 42117, args=["--secrets-dir", secrets_dir])
    old = TLSConn(42117, pki.root.cert)
    try:
        assert old.fingerprint == pki.api.fingerprint
        assert old.get("/1")[0] == 200
        swap_secret(sec, pki.api2.cert, pki.api2.key)
        assert cert_fingerprint(sec / "tls.crt") == pki.api2.fingerprint
        sighup_and_wait(gw)
        _, fp, out = s_client(42117, HOST, pki.root.cert)
        assert fp == pki.api2.fingerprint, out
        status, body = old.get("/2")
        assert status == 200 and "uri=/2" in body, body
    finally:
        old.close()


# ---- 7. protocol versions --------------------------------------------------------------------

def test_minimum_protocol_version_tls13_refuses_a_tls12_client(stack, pki):
    plain_nginx(stack, 42169)
    gw = gateway(stack, https_api(42119, files_tls(
        pki.api, parameters={"minimumProtocolVersion": "TLSv1_3"}), 42169), 42119)
    r = curl(42119, "/", ca=pki.root.cert, args=["--tls-max", "1.2"])
    assert not curl_ok(r) and r.returncode == 35, r
    r = curl(42119, "/", ca=pki.root.cert)
    assert curl_ok(r), f"{r}\n{gw.output()}"


def test_maximum_protocol_version_tls12(stack, pki):
    plain_nginx(stack, 42171)
    gw = gateway(stack, https_api(42121, files_tls(
        pki.api, parameters={"maximumProtocolVersion": "TLSv1_2"}), 42171), 42121)
    raw = socket.create_connection((GWA, 42121), timeout=5)
    s = client_context(pki.root.cert).wrap_socket(raw, server_hostname=HOST)
    try:
        assert s.version() == "TLSv1.2"
    finally:
        s.close()
    r = curl(42121, "/", ca=pki.root.cert)
    assert curl_ok(r), f"{r}\n{gw.output()}"


# ---- 8. a handshake that never finishes ------------------------------------------------------

def client_hello(pki):
    """The bytes of a real ClientHello for api.test (python's ssl, memory BIOs)."""
    ctx = client_context(pki.root.cert)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=HOST)
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_client_that_never_finishes_its_handshake_is_closed_and_blocks_nobody(stack, pki):
    """One worker. A client that connects and sends nothing, and one that sends half a
    ClientHello: both are closed within the deadline (--request-header-timeout 1s); meanwhile
    other clients are served at once."""
    plain_nginx(stack, 42173)
    gw = gateway(stack, https_api(42123, files_tls(pki.api), 42123 + 50), 42123,
                 args=["--request-header-timeout", "1s", "--idle-timeout", "2s"])
    hello = client_hello(pki)
    t0 = time.monotonic()
    silent = socket.create_connection((GWA, 42123), timeout=10)
    half = socket.create_connection((GWA, 42123), timeout=10)
    half.sendall(hello[: len(hello) // 2])
    try:
        for k in range(5):
            t = time.monotonic()
            r = curl(42123, f"/{k}", ca=pki.root.cert)
            assert curl_ok(r), f"{r}\n{gw.output()}"
            assert time.monotonic() - t < 1.0, "a stalled handshake held up another client"
        for s in (silent, half):
            try:
                d = s.recv(100)
            except ConnectionResetError:
                d = b""
            took = time.monotonic() - t0
            assert d == b"" or d[:1] == b"\x15", d  # EOF, or a TLS alert record then EOF
            if d:
                assert s.recv(100) == b""
            assert took < 4.0, f"closed only after {took:.1f}s"
    finally:
        silent.close()
        half.close()


# ---- 9. a TCP listener with TLS --------------------------------------------------------------

class EchoServer(_ThreadServer):
    def serve(self, c):
        while True:
            d = c.recv(65536)
            if not d:
                return
            c.sendall(d)


def test_tcp_listener_terminates_tls_and_forwards_plaintext(stack, pki):
    srv = stack.server(EchoServer, BK, 42175)
    gw = gateway(stack, join(
        base_manifests([(42125, "tcp", listener_extra(files_tls(pki.api)))]),
        external_service("echo", 42175, protocol="TCP", addresses=[BK]),
        route_table("db", ["echo.test"], f"""
            tcp:
            - matchers: [{{port: 42125}}]
              forwardTo:
                destinations:
                {dest("echo", 42175)}
        """)), 42125)
    raw = socket.create_connection((GWA, 42125), timeout=5)
    s = client_context(pki.root.cert, alpn=None).wrap_socket(raw, server_hostname=HOST)
    try:
        payload = os.urandom(200_000)
        got = b""
        for off in range(0, len(payload), 20000):
            s.sendall(payload[off:off + 20000])
            d = Deadline(5)
            while len(got) < off + 20000 and not d.expired():
                chunk = s.recv(65536)
                assert chunk, f"closed\n{gw.output()}"
                got += chunk
        assert got == payload
    finally:
        s.close()
    assert srv.accepted == 1


# ---- 10. validate --plan ---------------------------------------------------------------------

def iso(openssl_date):
    return datetime.datetime.strptime(openssl_date, "%b %d %H:%M:%S %Y GMT").strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def test_plan_shows_listener_certificates_with_expiry(causeway, tmp_path, pki):
    m = join(two_hosts(42127, 42177, 42178, files_tls(pki.a),
                       files_tls(pki.b, "MUTUAL", ca=pki.root.cert)))
    f = tmp_path / "plan.yaml"
    f.write_text(m)
    res = causeway.validate(f, plan=True)
    lines = res.plan_lines()
    assert "listener 42127 https (VirtualGateway gw/edge)" in lines, res.plan
    want_a = f"  certificate for a.test {pki.a.cert} key {pki.a.key} expires {iso(not_after(pki.a.cert))}"
    want_b = (f"  certificate for b.test {pki.b.cert} key {pki.b.key} expires "
              f"{iso(not_after(pki.b.cert))} client certificates required by {pki.root.cert}")
    assert want_a in lines, res.plan
    assert want_b in lines, res.plan


def test_tcp_listener_client_that_never_finishes_its_handshake_is_closed(stack, pki):
    """A TCP listener with TLS: a client that sends half a ClientHello and stops is closed
    within the idle deadline (--idle-timeout 1s), and another client is served meanwhile."""
    stack.server(EchoServer, BK, 42179)
    gw = gateway(stack, join(
        base_manifests([(42129, "tcp", listener_extra(files_tls(pki.api)))]),
        external_service("echo", 42179, protocol="TCP", addresses=[BK]),
        route_table("db", ["echo.test"], f"""
            tcp:
            - matchers: [{{port: 42129}}]
              forwardTo:
                destinations:
                {dest("echo", 42179)}
        """)), 42129, args=["--idle-timeout", "1s"])
    hello = client_hello(pki)
    t0 = time.monotonic()
    half = socket.create_connection((GWA, 42129), timeout=10)
    try:
        half.sendall(hello[:40])
        raw = socket.create_connection((GWA, 42129), timeout=5)
        s = client_context(pki.root.cert, alpn=None).wrap_socket(raw, server_hostname=HOST)
        try:
            s.sendall(b"ping")
            assert s.recv(100) == b"ping", gw.output()
        finally:
            s.close()
        assert time.monotonic() - t0 < 1.0
        try:
            d = half.recv(100)
        except ConnectionResetError:
            d = b""
        assert d == b"" or d[:1] == b"\x15", d
        took = time.monotonic() - t0
        assert took < 4.0, f"closed only after {took:.1f}s"
    finally:
        half.close()


def test_rotated_secret_is_served_without_sighup(stack, pki, tmp_path):
    """Issue 13 item 4: certificates are read again when their files change. The Secret's
    ..data link is swapped (no SIGHUP): within a few seconds new handshakes get the new
    certificate, and a connection opened before keeps working."""
    secrets_dir = tmp_path / "secrets"
    sec = secret_dir(secrets_dir, "gw", "api-cert", pki.api.cert, pki.api.key, kube_layout=True)
    plain_nginx(stack, 42181)
    gw = gateway(stack, https_api(42131, {"mode": "SIMPLE", "secretName": "api-cert"}, 42181),
                 42131, args=["--secrets-dir", secrets_dir])
    old = TLSConn(42131, pki.root.cert)
    try:
        assert old.fingerprint == pki.api.fingerprint
        assert old.get("/1")[0] == 200
        time.sleep(0.3)  # the watch is set up at start; give it a moment
        swap_secret(sec, pki.api2.cert, pki.api2.key)

        def rotated():
            c = TLSConn(42131, pki.root.cert)
            try:
                return c.fingerprint == pki.api2.fingerprint
            finally:
                c.close()
        try:
            wait_until(rotated, 5, interval=0.1, what="the rotated certificate")
        except AssertionError as e:
            raise AssertionError(f"{e}\n{gw.output()[-3000:]}") from None
        status, body = old.get("/2")
        assert status == 200 and "uri=/2" in body, body
    finally:
        old.close()

"""TLS origination to ExternalService ports (spec §1.3 and its [DECISION] "TLS at causeway"):
verification on by default and each way it fails, subjectAltNames, insecureSkipVerify, mTLS with
files and with credentialName from --secrets-dir, ISTIO_MUTUAL, SNI, session resumption across
new upstream connections (TLS 1.2 and 1.3), pooled keep-alive TLS connections, a TLS failure as
an outlier-detection error, TCP routes wrapped in TLS, an upstream that never answers the
ClientHello, and what `validate --plan` says.

Real TLS peers only: nginx (`listen ... ssl`), `openssl s_server`, and for the TCP route a
python server on the stdlib `ssl` module. Certificates come from tls_pki.py, made at test time.

nginx answers every request with one line naming what it saw of the TLS connection:
`reused=<$ssl_session_reused> sni=<$ssl_server_name> proto=<$ssl_protocol> conn=<$connection>
alpn=<$ssl_alpn_protocol> client=<$ssl_client_s_dn>`.

Addresses 127.0.6.0/24: the gateway binds 127.0.6.1, backends 127.0.6.10 and 127.0.6.11.
Ports: gateway listeners 42001-42049, backends 42051-42099.
"""
import json
import socket
import ssl
import subprocess
import time

import pytest

from backends import (Deadline, SilentServer, _ThreadServer, base_manifests, dest,
                      external_endpoint, forward_all_routes, gateway_events, get, join,
                      outlier_detection_policy, route_table, stop_process, tcp_route, wait_port,
                      wait_until)
from tls_pki import PKI, secret_dir

GWA = "127.0.6.1"
B1 = "127.0.6.10"
B2 = "127.0.6.11"
HOST = "api.test"            # what clients ask the gateway for
NAME = "backend.test"        # the ExternalService's host: the default SNI and name checked


# ---- certificates ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The test CA, an unrelated second CA, and the certificates the tests serve."""
    p = PKI(tmp_path_factory.mktemp("pki"))
    p.root = p.ca("Causeway Test Root")
    p.other = p.ca("Unrelated Root")
    p.good = p.server("backend", p.root, dns=[NAME, "custom.test"], ips=[B1, B2])
    p.wrong = p.server("wrong", p.root, dns=["wrong.test"])
    p.expired = p.server("expired", p.root, dns=[NAME], ips=[B1, B2], expired=True)
    p.foreign = p.server("foreign", p.other, dns=[NAME], ips=[B1, B2])
    p.alice = p.client("alice", p.root, dns=["alice.test"])
    p.mallory = p.client("mallory", p.other, dns=["alice.test"])
    return p


# ---- manifests -------------------------------------------------------------------------------

def tls_service(name, tls, endpoints, hosts=(NAME,), protocol="HTTPS", number=443, sans=None,
                labels=None, addresses=None):
    """ExternalService data/<name>: one port `number` (named https) with clientsideTls `tls`
    (a dict, None: no clientsideTls), over one ExternalEndpoint per (address, port)."""
    meta = {"name": name, "namespace": "data"}
    if labels:
        meta["labels"] = labels
    spec = {}
    if addresses:
        spec["addresses"] = list(addresses)
    elif hosts:
        spec["hosts"] = list(hosts)
    if sans:
        spec["subjectAltNames"] = list(sans)
    if endpoints:
        spec["selector"] = {"app": name}
    port = {"name": "https", "number": number, "protocol": protocol}
    if tls is not None:
        port["clientsideTls"] = tls
    spec["ports"] = [port]
    docs = [f"apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\n"
            f"metadata: {json.dumps(meta)}\nspec: {json.dumps(spec)}\n"]
    for i, (addr, p) in enumerate(endpoints):
        docs.append(external_endpoint(f"{name}-{i}", addr, p, {"app": name}, port_name="https",
                                      locality="us-east-1/us-east-1a"))
    return join(*docs)


def http_api(port, es="backend", es_port=443, *more):
    """Listener `port` (HTTP) and RouteTable gw/api: every path of api.test to `es`."""
    return join(base_manifests([(port, "http")]), forward_all_routes("api", [HOST], es, es_port),
                *more)


def ca_tls(pki, **more):
    return {"mode": "SIMPLE", "caCertificates": str(pki.root.cert), **more}


# ---- backends --------------------------------------------------------------------------------

INFO = ("reused=$ssl_session_reused sni=$ssl_server_name proto=$ssl_protocol conn=$connection "
        "alpn=$ssl_alpn_protocol client=$ssl_client_s_dn")


def tls_nginx(stack, addr, port, cert, protocols="TLSv1.2 TLSv1.3", client_ca=None,
              keepalive=True):
    """nginx serving TLS with `cert` on addr:port, answering INFO; `client_ca`: client
    certificates required and verified against it; keepalive=False: one request per
    connection (every request through the gateway needs a new upstream TLS connection)."""
    mtls = (f"ssl_verify_client on;\n  ssl_client_certificate {client_ca};\n"
            if client_ca else "")
    ka = "" if keepalive else "keepalive_timeout 0;\n"
    return stack.nginx(f"""
        server {{
          listen {addr}:{port} ssl;
          ssl_certificate {cert.cert};
          ssl_certificate_key {cert.key};
          ssl_protocols {protocols};
          ssl_session_cache shared:S{port}:1m;
          {mtls}{ka}keepalive_requests 10000;
          location / {{ return 200 "{INFO}\\n"; }}
        }}
    """, [(addr, port)])


def info(resp):
    """The fields of nginx's INFO line."""
    out = {}
    for part in resp.text.strip().split(" "):
        k, _, v = part.partition("=")
        out[k] = v
    return out


def gateway(stack, manifests, port, **kw):
    kw.setdefault("log_format", "json")
    return stack.gateway(manifests, [port], bind=GWA, **kw)


def fetch(port, path="/", **kw):
    return get(port, path, host=HOST, addr=GWA, **kw)


def records(gw, n, timeout=5.0):
    return gw.log_records(n, timeout=timeout, requests_only=True)


def statuses(causeway, tmp_path, manifests, extra=()):
    d = tmp_path / "validate"
    d.mkdir(exist_ok=True)
    f = d / "all.yaml"
    f.write_text(manifests)
    return causeway.validate(f, extra=list(extra))


# ---- 1. verification -------------------------------------------------------------------------

def test_server_verified_with_ca_certificates(stack, pki):
    """caCertificates is the test CA; the certificate names backend.test, the SNI the ES's one
    host: 200, TLS 1.3, SNI backend.test, ALPN http/1.1 offered and taken; a full handshake."""
    tls_nginx(stack, B1, 42051, pki.good)
    gw = gateway(stack, http_api(42001, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, 42051)])), 42001)
    r = fetch(42001)
    assert r.status == 200, f"{r}\n{gw.output()}"
    i = info(r)
    assert (i["sni"], i["proto"], i["alpn"]) == (NAME, "TLSv1.3", "http/1.1"), i
    rec = records(gw, 1)[0]
    assert (rec["status"], rec["upstream_tls"], rec["endpoint"]) == (200, "full", f"{B1}:42051"), rec


def test_text_access_log_names_the_handshake(stack, pki):
    """The text format carries `upstream_tls=full` before the reason."""
    tls_nginx(stack, B1, 42053, pki.good)
    gw = gateway(stack, http_api(42003, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, 42053)])), 42003,
                 log_format="text")
    assert fetch(42003).status == 200
    line = wait_until(lambda: gw.log_lines(), 5, what="an access log line")[0]
    assert " upstream_tls=full reason=" in line, line


def expect_tls_failure(gw, port, reason):
    """One request gets 502 whose body and access-log reason carry `reason`."""
    r = fetch(port)
    assert r.status == 502, f"{r}\n{gw.output()}"
    assert reason in r.text, r.text
    rec = records(gw, 1)[0]
    assert rec["status"] == 502 and reason in rec["reason"], rec
    return rec


@pytest.mark.parametrize("how", ["empty-clientsideTls", "protocol-HTTPS-only",
                                 "TLS-protocol-on-HTTP-route"])
def test_unknown_ca_without_ca_certificates_is_502(stack, pki, how):
    """No caCertificates: the system trust store, which does not know the test CA. TLS asked
    for by `clientsideTls: {}` on an HTTP port, by protocol HTTPS alone, or by protocol TLS."""
    port, bport = {"empty-clientsideTls": (42005, 42055), "protocol-HTTPS-only": (42004, 42054),
                   "TLS-protocol-on-HTTP-route": (42002, 42052)}[how]
    tls, protocol = {"empty-clientsideTls": ({}, "HTTP"), "protocol-HTTPS-only": (None, "HTTPS"),
                     "TLS-protocol-on-HTTP-route": (None, "TLS")}[how]
    tls_nginx(stack, B1, bport, pki.good)
    gw = gateway(stack, http_api(port, "backend", 443, tls_service(
        "backend", tls, [(B1, bport)], protocol=protocol)), port)
    expect_tls_failure(
        gw, port, "upstream TLS: certificate verify failed: unable to get local issuer certificate")


def test_disable_on_an_https_port_still_originates_and_warns(stack, pki, causeway, tmp_path):
    """protocol HTTPS with clientsideTls mode DISABLE: never plaintext; the status says the
    mode is overridden (WARNING)."""
    tls_nginx(stack, B1, 42056, pki.good)
    m = http_api(42006, "backend", 443, tls_service(
        "backend", {"mode": "DISABLE", "caCertificates": str(pki.root.cert)}, [(B1, 42056)]))
    res = statuses(causeway, tmp_path, m)
    assert res.approval("ExternalService", "data/backend") == "WARNING", res
    assert "DISABLE" in res.message("ExternalService", "data/backend")
    gw = gateway(stack, m, 42006)
    r = fetch(42006)
    assert r.status == 200 and info(r)["proto"] == "TLSv1.3", f"{r}\n{gw.output()}"


def test_disable_on_an_http_port_is_plaintext(stack, pki):
    """protocol HTTP with clientsideTls mode DISABLE: plaintext, and the access log has no
    upstream_tls (null in JSON)."""
    stack.nginx(f"""
        server {{
          listen {B1}:42058;
          location / {{ return 200 "plain\\n"; }}
        }}
    """, [(B1, 42058)])
    gw = gateway(stack, http_api(42008, "backend", 443, tls_service(
        "backend", {"mode": "DISABLE"}, [(B1, 42058)], protocol="HTTP")), 42008)
    r = fetch(42008)
    assert (r.status, r.text) == (200, "plain\n"), f"{r}\n{gw.output()}"
    rec = records(gw, 1)[0]
    assert rec["upstream_tls"] is None, rec


def test_certificate_from_another_ca_is_502(stack, pki):
    """caCertificates is the test CA, the server's certificate comes from an unrelated one."""
    tls_nginx(stack, B1, 42057, pki.foreign)
    gw = gateway(stack, http_api(42007, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, 42057)])), 42007)
    expect_tls_failure(
        gw, 42007, "upstream TLS: certificate verify failed: unable to get local issuer certificate")


@pytest.mark.parametrize("case", ["cert-names-another-host", "sni-not-in-cert"])
def test_wrong_name_is_502_hostname_mismatch(stack, pki, case):
    """The certificate names wrong.test while the SNI is backend.test; or the certificate is
    right for backend.test but the ES asks for sni other.test."""
    port, bport = (42009, 42059) if case == "cert-names-another-host" else (42011, 42061)
    cert = pki.wrong if case == "cert-names-another-host" else pki.good
    tls = ca_tls(pki) if case == "cert-names-another-host" else ca_tls(pki, sni="other.test")
    tls_nginx(stack, B1, bport, cert)
    gw = gateway(stack, http_api(port, "backend", 443,
                                 tls_service("backend", tls, [(B1, bport)])), port)
    expect_tls_failure(gw, port, "upstream TLS: certificate verify failed: hostname mismatch")


def test_expired_certificate_is_502(stack, pki):
    tls_nginx(stack, B1, 42063, pki.expired)
    gw = gateway(stack, http_api(42013, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, 42063)])), 42013)
    expect_tls_failure(gw, 42013, "upstream TLS: certificate verify failed: certificate has expired")


def test_subject_alt_names_replace_the_name_check(stack, pki):
    """subjectAltNames [wrong.test]: the server's wrong.test certificate is accepted although the
    SNI (still backend.test) is not in it; subjectAltNames [nope.test] refuses the right one."""
    tls_nginx(stack, B1, 42065, pki.wrong)
    tls_nginx(stack, B2, 42066, pki.good)
    gw = gateway(stack, join(
        base_manifests([(42015, "http")]),
        tls_service("wrongname", ca_tls(pki), [(B1, 42065)], sans=["wrong.test"]),
        tls_service("strict", ca_tls(pki, sni=NAME), [(B2, 42066)], sans=["nope.test"],
                    hosts=["strict.test"]),
        route_table("api", [HOST], f"""
            http:
            - name: a
              matchers: [{{uri: {{prefix: /a}}}}]
              forwardTo:
                destinations:
                {dest("wrongname", 443)}
            - name: b
              matchers: [{{uri: {{prefix: /b}}}}]
              forwardTo:
                destinations:
                {dest("strict", 443)}
        """)), 42015)
    r = fetch(42015, "/a")
    assert r.status == 200, f"{r}\n{gw.output()}"
    assert info(r)["sni"] == NAME
    r = fetch(42015, "/b")
    assert r.status == 502 and "hostname mismatch" in r.text, r


def test_insecure_skip_verify_serves_and_warns(stack, pki, causeway, tmp_path):
    """insecureSkipVerify: a certificate of an unknown CA, expired, for another name: served;
    the ExternalService is WARNING and says so."""
    tls_nginx(stack, B1, 42067, pki.expired)
    m = http_api(42017, "backend", 443,
                 tls_service("backend", {"insecureSkipVerify": True}, [(B1, 42067)]))
    res = statuses(causeway, tmp_path, m)
    assert res.approval("ExternalService", "data/backend") == "WARNING", res
    assert "insecureSkipVerify" in res.message("ExternalService", "data/backend")
    gw = gateway(stack, m, 42017)
    r = fetch(42017)
    assert r.status == 200, f"{r}\n{gw.output()}"
    assert info(r)["sni"] == NAME


# ---- 2. SNI ----------------------------------------------------------------------------------

def test_sni_is_the_explicit_sni(stack, pki):
    tls_nginx(stack, B1, 42069, pki.good)
    gw = gateway(stack, http_api(42019, "backend", 443, tls_service(
        "backend", ca_tls(pki, sni="custom.test"), [(B1, 42069)], hosts=[NAME, "alias.test"])),
        42019)
    r = fetch(42019)
    assert r.status == 200, f"{r}\n{gw.output()}"
    assert info(r)["sni"] == "custom.test"


def test_ip_only_service_sends_no_sni_and_checks_the_ip(stack, pki):
    """ExternalService by address, no hosts, no sni: no SNI in the ClientHello, and the
    certificate must name the endpoint's IP (IP SAN). The wrong.test certificate (no IP SAN)
    is refused."""
    tls_nginx(stack, B1, 42071, pki.good)
    tls_nginx(stack, B2, 42072, pki.wrong)
    gw = gateway(stack, join(
        base_manifests([(42021, "http")]),
        tls_service("byip", ca_tls(pki), [], addresses=[B1], number=42071),
        tls_service("byip2", ca_tls(pki), [], addresses=[B2], number=42072),
        route_table("api", [HOST], f"""
            http:
            - name: a
              matchers: [{{uri: {{prefix: /a}}}}]
              forwardTo:
                destinations:
                {dest("byip", 42071)}
            - name: b
              matchers: [{{uri: {{prefix: /b}}}}]
              forwardTo:
                destinations:
                {dest("byip2", 42072)}
        """)), 42021)
    r = fetch(42021, "/a")
    assert r.status == 200, f"{r}\n{gw.output()}"
    assert info(r)["sni"] == "", info(r)
    r = fetch(42021, "/b")
    assert r.status == 502 and "certificate verify failed" in r.text, r


# ---- 3. mTLS ---------------------------------------------------------------------------------

def test_mutual_presents_the_client_certificate(stack, pki):
    """nginx requires a client certificate of the test CA: MUTUAL with clientCertificate and
    privateKey gets 200, and nginx saw alice's certificate."""
    tls_nginx(stack, B1, 42073, pki.good, client_ca=pki.root.cert)
    gw = gateway(stack, http_api(42023, "backend", 443, tls_service(
        "backend", ca_tls(pki, mode="MUTUAL", clientCertificate=str(pki.alice.cert),
                          privateKey=str(pki.alice.key)), [(B1, 42073)])), 42023)
    r = fetch(42023)
    assert r.status == 200, f"{r}\n{gw.output()}"
    assert info(r)["client"] == "CN=alice", r.text


class SServer:
    """`openssl s_server -www` (one process, stopped by PID) with extra arguments."""

    def __init__(self, workdir, addr, port, cert, args=()):
        self.addr, self.port = addr, port
        self.log = workdir / f"s_server-{port}.log"
        self.argv = ["openssl", "s_server", "-accept", f"{addr}:{port}", "-cert", str(cert.cert),
                     "-key", str(cert.key), "-www", "-naccept", "1000", *map(str, args)]
        self.proc = None

    def start(self):
        out = open(self.log, "wb")
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT)
        finally:
            out.close()
        wait_port(self.addr, self.port, self.proc, log=self.log)
        return self

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)

    def output(self):
        return self.log.read_text(errors="replace")


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_simple_to_a_server_that_requires_a_client_certificate_is_502(stack, pki, tmp_path,
                                                                      version):
    """`openssl s_server -Verify 1` refuses a handshake without a client certificate with an
    alert: SIMPLE gets 502 and the reason names the alert; MUTUAL to the same server works."""
    port = 42075 if version == "-tls1_2" else 42076
    gport = 42025 if version == "-tls1_2" else 42026
    stack.items.append(SServer(tmp_path, B1, port, pki.good,
                               ["-Verify", "1", "-CAfile", pki.root.cert, version]).start())
    gw = gateway(stack, join(
        base_manifests([(gport, "http")]),
        tls_service("simple", ca_tls(pki), [(B1, port)]),
        tls_service("mutual", ca_tls(pki, mode="MUTUAL", clientCertificate=str(pki.alice.cert),
                                     privateKey=str(pki.alice.key), sni=NAME), [(B1, port)],
                    hosts=["mutual.test"]),
        route_table("api", [HOST], f"""
            http:
            - name: s
              matchers: [{{uri: {{prefix: /s}}}}]
              forwardTo:
                destinations:
                {dest("simple", 443)}
            - name: m
              matchers: [{{uri: {{prefix: /m}}}}]
              forwardTo:
                destinations:
                {dest("mutual", 443)}
        """)), gport)
    r = fetch(gport, "/m")
    assert r.status == 200, f"{r}\n{gw.output()}"
    r = fetch(gport, "/s")
    assert r.status == 502, f"{r}\n{gw.output()}"
    assert "upstream TLS" in r.text and "alert" in r.text, r.text
    rec = [x for x in records(gw, 2) if x["path"] == "/s"][0]
    assert "alert" in rec["reason"], rec


def test_mutual_without_client_certificate_is_invalid(causeway, tmp_path, pki):
    m = http_api(42027, "backend", 443, tls_service("backend", ca_tls(pki, mode="MUTUAL"),
                                                    [(B1, 42077)]))
    res = statuses(causeway, tmp_path, m)
    assert res.approval("ExternalService", "data/backend") == "INVALID"
    assert "MUTUAL requires clientCertificate and privateKey" in \
        res.message("ExternalService", "data/backend")


def test_credential_name_from_secrets_dir(stack, pki, causeway, tmp_path):
    """credentialName mtls-alice: DIR/data/mtls-alice/{tls.crt,tls.key,ca.crt}: the client
    certificate is presented and the server verified with the Secret's CA. A credentialName
    whose Secret is missing: INVALID naming the path looked for."""
    secrets_dir = tmp_path / "secrets"
    secret_dir(secrets_dir, "data", "mtls-alice", pki.alice.cert, pki.alice.key, pki.root.cert)
    tls_nginx(stack, B1, 42079, pki.good, client_ca=pki.root.cert)
    m = http_api(42029, "backend", 443, tls_service(
        "backend", {"mode": "MUTUAL", "credentialName": "mtls-alice"}, [(B1, 42079)]))
    gw = gateway(stack, m, 42029, args=["--secrets-dir", secrets_dir])
    r = fetch(42029)
    assert r.status == 200, f"{r}\n{gw.output()}"
    assert info(r)["client"] == "CN=alice"

    missing = http_api(42029, "backend", 443, tls_service(
        "backend", {"mode": "MUTUAL", "credentialName": "nope"}, [(B1, 42079)]))
    res = statuses(causeway, tmp_path, missing, ["--secrets-dir", secrets_dir])
    assert res.approval("ExternalService", "data/backend") == "INVALID"
    msg = res.message("ExternalService", "data/backend")
    assert f"{secrets_dir}/data/nope/tls.crt" in msg, msg


def test_istio_mutual_is_invalid(causeway, tmp_path, pki):
    m = http_api(42031, "backend", 443, tls_service("backend", {"mode": "ISTIO_MUTUAL"},
                                                    [(B1, 42081)]))
    res = statuses(causeway, tmp_path, m)
    assert res.approval("ExternalService", "data/backend") == "INVALID"
    assert "ISTIO_MUTUAL requires the Istio mesh; use MUTUAL with files or credentialName" in \
        res.message("ExternalService", "data/backend")


# ---- 4. sessions and pooling -----------------------------------------------------------------

@pytest.mark.parametrize("protocols", ["TLSv1.2", "TLSv1.3"])
def test_sessions_are_resumed_on_new_upstream_connections(stack, pki, protocols):
    """nginx closes every connection after one request (keepalive_timeout 0), so each of 12
    requests (two workers, a new client connection each) needs a new upstream TLS connection:
    the first is a full handshake, every later one resumed, as nginx's $ssl_session_reused and
    the access log's upstream_tls both say."""
    port, bport = (42033, 42083) if protocols == "TLSv1.2" else (42035, 42085)
    tls_nginx(stack, B1, bport, pki.good, protocols=protocols, keepalive=False)
    gw = gateway(stack, http_api(port, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, bport)])), port,
                 workers=2)
    seen = []
    for k in range(12):
        r = fetch(port, f"/{k}")
        assert r.status == 200, f"{r}\n{gw.output()}"
        i = info(r)
        assert i["proto"] == protocols, i
        seen.append(i["reused"])
    recs = records(gw, 12)
    kinds = [r["upstream_tls"] for r in sorted(recs, key=lambda r: int(r["path"][1:]))]
    assert kinds[0] == "full" and kinds[1:] == ["resumed"] * 11, kinds
    assert seen[0] == "." and seen[1:] == ["r"] * 11, seen


@pytest.mark.parametrize("protocols", ["TLSv1.2", "TLSv1.3"])
def test_sessions_are_resumed_after_the_gateway_closed_idle_connections(stack, pki, protocols):
    """nginx keeps connections open; the gateway closes its idle pooled connection after
    --idle-timeout 200ms, and the test waits 300 ms between requests: each of 6 requests needs a
    new upstream connection, the first a full handshake, the others resumed."""
    port, bport = (42049, 42084) if protocols == "TLSv1.2" else (42048, 42086)
    tls_nginx(stack, B1, bport, pki.good, protocols=protocols)
    gw = gateway(stack, http_api(port, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, bport)])), port,
                 args=["--idle-timeout", "200ms"])
    seen = []
    for k in range(6):
        if k:
            time.sleep(0.3)
        r = fetch(port, f"/{k}")
        assert r.status == 200, f"{r}\n{gw.output()}"
        i = info(r)
        assert i["proto"] == protocols, i
        seen.append((i["conn"], i["reused"]))
    assert len({c for c, _ in seen}) == 6, f"connections were reused: {seen}"
    recs = records(gw, 6)
    kinds = [r["upstream_tls"] for r in sorted(recs, key=lambda r: int(r["path"][1:]))]
    assert kinds == ["full"] + ["resumed"] * 5, kinds
    assert [r for _, r in seen] == ["."] + ["r"] * 5, seen


def test_keepalive_upstream_tls_connections_are_pooled(stack, pki):
    """20 requests, each on a new client connection, two workers: nginx sees them on at most
    two TLS connections (one pooled per worker), every one keep-alive."""
    tls_nginx(stack, B1, 42087, pki.good)
    gw = gateway(stack, http_api(42037, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, 42087)])), 42037,
                 workers=2)
    conns = set()
    for k in range(20):
        r = fetch(42037, f"/{k}")
        assert r.status == 200, f"{r}\n{gw.output()}"
        conns.add(info(r)["conn"])
    assert 1 <= len(conns) <= 2, conns
    recs = records(gw, 20)
    assert {r["upstream_tls"] for r in recs} <= {"full", "resumed"}, recs


# ---- 5. failures as outlier errors and retries -----------------------------------------------

def test_tls_failure_ejects_the_endpoint_and_traffic_goes_to_the_good_one(stack, pki):
    """Two endpoints of one service: B2 serves a certificate of an unrelated CA. With
    OutlierDetectionPolicy consecutiveErrors 1, the first handshake that fails there ejects B2
    (the reason is the TLS one), the request is retried on B1, and no client sees an error."""
    tls_nginx(stack, B1, 42089, pki.good)
    tls_nginx(stack, B2, 42090, pki.foreign)
    gw = gateway(stack, http_api(42039, "backend", 443, tls_service(
        "backend", ca_tls(pki), [(B1, 42089), (B2, 42090)], labels={"failover": "true"}),
        outlier_detection_policy(consecutiveErrors=1, interval="10s", baseEjectionTime="30s")),
        42039)
    for k in range(10):
        r = fetch(42039, f"/{k}")
        assert r.status == 200, f"{r}\n{gw.output()}"
    ejects = wait_until(lambda: gateway_events(gw, "eject"), 5, what="an eject event")
    assert len(ejects) == 1, ejects
    assert ejects[0]["endpoint"] == f"{B2}:42090", ejects
    assert "upstream TLS: certificate verify failed" in ejects[0]["reason"], ejects
    recs = records(gw, 10)
    assert all(r["endpoint"] == f"{B1}:42089" and r["status"] == 200 for r in recs), recs
    assert sum(r["retries"] for r in recs) == 1, recs


class SilentTLSPeer(SilentServer):
    """Accepts TCP, reads the ClientHello, never answers it."""


def test_upstream_that_never_answers_the_client_hello_hits_the_connect_timeout(stack, pki):
    """The upstream accepts TCP and reads the ClientHello but never answers: the handshake is
    bounded by --connect-timeout (500ms here); the client gets a 5xx with a reason well
    within a few seconds, and the gateway keeps serving."""
    silent = stack.server(SilentTLSPeer, B1, 42091)
    gw = gateway(stack, http_api(42041, "backend", 443,
                                 tls_service("backend", ca_tls(pki), [(B1, 42091)])), 42041,
                 args=["--connect-timeout", "500ms"])
    t0 = time.monotonic()
    r = fetch(42041, timeout=10)
    took = time.monotonic() - t0
    assert r.status in (502, 503, 504), f"{r}\n{gw.output()}"
    assert took < 3.0, took
    assert silent.accepted >= 1
    rec = records(gw, 1)[0]
    assert rec["status"] == r.status and rec["reason"] not in ("", None), rec
    assert "timeout" in rec["reason"] or "TLS" in rec["reason"], rec


# ---- 6. TCP routes to a TLS port -------------------------------------------------------------

class TLSEchoServer(_ThreadServer):
    """A TLS server (stdlib ssl) that answers each chunk it reads with its bytes reversed
    prefixed by nothing: the client can check every byte went both ways. Records the SNI of
    each connection and whether the session was resumed."""

    def __init__(self, addr, port, cert):
        super().__init__(addr, port)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert.cert, cert.key)
        self.snis = []
        self.total = 0

        def sni_cb(sock, name, ctx):
            self.snis.append(name)
        self.ctx.sni_callback = sni_cb

    def serve(self, c):
        s = self.ctx.wrap_socket(c, server_side=True)
        while True:
            d = s.recv(65536)
            if not d:
                break
            self.total += len(d)
            s.sendall(d[::-1])
        try:
            s.unwrap()
        except (OSError, ssl.SSLError):
            pass


def test_tcp_route_to_a_tls_port_wraps_the_tunnel(stack, pki):
    """A TCP listener routed to an ExternalService port of protocol TLS: the client speaks
    plaintext to the gateway, the gateway TLS (SNI backend.test, verified) to the server; bytes
    go both ways, 1 MB of them."""
    srv = stack.server(TLSEchoServer, B1, 42093, pki.good)
    gw = gateway(stack, join(
        base_manifests([(42043, "tcp")]),
        tls_service("backend", ca_tls(pki), [(B1, 42093)], protocol="TLS"),
        tcp_route(42043, "backend", 443)), 42043)
    payload = bytes(range(256)) * 4096  # 1 MiB, in 16 KiB messages each answered reversed
    with socket.create_connection((GWA, 42043), timeout=5) as s:
        for off in range(0, len(payload), 16384):
            piece = payload[off:off + 16384]
            s.sendall(piece)
            got = b""
            d = Deadline(5)
            while len(got) < len(piece) and not d.expired():
                chunk = s.recv(65536)
                assert chunk, f"closed after {off + len(got)} bytes\n{gw.output()}"
                got += chunk
            assert got == piece[::-1]
    assert srv.snis == [NAME], srv.snis
    assert srv.total == len(payload)
    rec = gw.log_records(1)[0]
    assert rec["protocol"] == "tcp" and rec["upstream_tls"] == "full", rec
    assert rec["bytes_in"] == len(payload) and rec["bytes_out"] == len(payload), rec


def test_tcp_route_to_a_tls_port_with_a_bad_certificate_is_closed_and_logged(stack, pki):
    srv = stack.server(TLSEchoServer, B1, 42095, pki.foreign)
    gw = gateway(stack, join(
        base_manifests([(42045, "tcp")]),
        tls_service("backend", ca_tls(pki), [(B1, 42095)], protocol="TLS"),
        tcp_route(42045, "backend", 443)), 42045)
    with socket.create_connection((GWA, 42045), timeout=5) as s:
        s.sendall(b"hello")
        try:
            d = s.recv(100)
        except ConnectionResetError:
            d = b""
    assert d == b""
    rec = gw.log_records(1)[0]
    assert "upstream TLS: certificate verify failed" in rec["reason"], rec
    assert srv.total == 0


# ---- 7. validate --plan ----------------------------------------------------------------------

def test_plan_shows_each_clusters_tls(causeway, tmp_path, pki):
    m = join(
        base_manifests([(42047, "http")]),
        tls_service("simple", ca_tls(pki), [(B1, 42097)]),
        tls_service("mutual", ca_tls(pki, mode="MUTUAL", sni="custom.test",
                                     clientCertificate=str(pki.alice.cert),
                                     privateKey=str(pki.alice.key)), [(B1, 42098)],
                    hosts=["mutual.test"]),
        tls_service("sans", {}, [(B1, 42099)], sans=["x.test", "y.test"], hosts=["sans.test"]),
        tls_service("skip", {"insecureSkipVerify": True}, [(B2, 42097)], hosts=["skip.test"]),
        route_table("api", [HOST], f"""
            http:
            - name: all
              matchers: [{{uri: {{prefix: /}}}}]
              forwardTo:
                destinations:
                {dest("simple", 443, 1)}
                {dest("mutual", 443, 1)}
                {dest("sans", 443, 1)}
                {dest("skip", 443, 1)}
        """))
    f = tmp_path / "plan.yaml"
    f.write_text(m)
    res = causeway.validate(f, plan=True)
    _, eps = res.cluster("data/simple:443")
    assert eps[0] == f"tls SIMPLE sni {NAME} verify {NAME} ca {pki.root.cert}", eps
    _, eps = res.cluster("data/mutual:443")
    assert eps[0] == (f"tls MUTUAL sni custom.test verify custom.test ca {pki.root.cert} "
                      f"clientCertificate {pki.alice.cert} privateKey {pki.alice.key}"), eps
    _, eps = res.cluster("data/sans:443")
    assert eps[0] == "tls SIMPLE sni sans.test verify subjectAltNames x.test,y.test " \
                     "ca (system trust store)", eps
    _, eps = res.cluster("data/skip:443")
    assert eps[0] == "tls SIMPLE sni skip.test verify off (insecureSkipVerify)", eps

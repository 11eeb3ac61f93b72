"""Requests that must be refused and never forwarded (an empty header name, a line break in the
request target, two Host headers, CONNECT), one that must be forwarded as it came (a chunk
extension), and an access log that a client cannot give fake fields. The backend is a raw
socket that records every byte it receives (backends.RecordingServer), so a test sees exactly
what reached the upstream.

Ports: gateway listeners 40001-40019 on 127.0.0.90, raw backends 40051-40069 on DALLAS (the
40001-40099 range is this file's and test_path_normalisation.py's).
"""
import json
import time

import pytest

from backends import (DALLAS, GW, Conn, RecordingServer, base_manifests, dest, external_service,
                      join, request, route_table, wait_until)

HOST = "refuse.example.com"


def start(stack, port, backend_port, log_format="text"):
    """A recording backend and a gateway whose one route (no matchers: a catch-all) goes to it."""
    srv = stack.server(RecordingServer, DALLAS, backend_port)
    gw = stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("raw", backend_port, addresses=[DALLAS]),
        route_table("refuse", [HOST], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("raw", backend_port)}
        """),
    ), [port], log_format=log_format)
    return srv, gw


def exchange(port, data, timeout=3.0):
    """Sends `data` on a fresh connection: (the response, whether the gateway closed after it)."""
    c = Conn(GW, port, timeout)
    try:
        c.send(data)
        r = c.read_response()
        return r, c.closed_by_peer(timeout)
    finally:
        c.close()


def assert_only_the_probe_was_forwarded(srv, port):
    """A good request sent last must arrive, and be all that arrived: the refused requests
    before it reached the backend with no byte (a negative check that cannot pass vacuously)."""
    r, _ = exchange(port, request("GET", "/probe", HOST, close=True))
    assert r.status == 200, r
    wait_until(lambda: b"/probe" in srv.all_bytes(), 5, what="the probe at the backend")
    got = srv.all_bytes()
    assert got.startswith(b"GET /probe HTTP/1.1\r\n") and got.count(b"HTTP/1.1") == 1, got


def assert_refused(port, data, status, text):
    r, closed = exchange(port, data)
    assert r is not None and r.status == status, r
    assert r.text == text + "\n", r.text
    return closed


def test_an_empty_header_name_is_refused(stack):
    srv, _ = start(stack, 40001, 40051)
    for line in (b": value", b":", b": x\r\nX-A: 1"):
        closed = assert_refused(40001, b"GET /e HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n" +
                                line + b"\r\n\r\n", 400, "malformed request: empty header name")
        assert closed
    assert_only_the_probe_was_forwarded(srv, 40001)


def test_a_line_break_in_the_request_target_is_refused(stack):
    # llhttp (strict) already refuses these; this shows it, end to end.
    srv, _ = start(stack, 40002, 40052)
    for target in (b"/a\rb", b"/a\nb", b"/a\r"):
        r, closed = exchange(40002, b"GET " + target + b" HTTP/1.1\r\nHost: " +
                             HOST.encode() + b"\r\n\r\n")
        assert r is not None and r.status == 400 and closed, (target, r)
        assert r.text.startswith("malformed request"), r.text
    assert_only_the_probe_was_forwarded(srv, 40002)


def test_two_host_headers_are_refused(stack):
    srv, _ = start(stack, 40003, 40053)
    want = "malformed request: more than one Host header"
    assert_refused(40003, request("GET", "/h", HOST, [("Host", "other.example.com")]), 400, want)
    assert_refused(40003, request("GET", "/h", HOST, [("X-A", "1"), ("host", HOST)]), 400, want)
    assert_only_the_probe_was_forwarded(srv, 40003)


@pytest.mark.parametrize("body", [None, b"hello"])
def test_connect_is_answered_and_closed(stack, body):
    port, backend = (40004, 40054) if body is None else (40005, 40055)
    srv, _ = start(stack, port, backend)
    t0 = time.monotonic()
    c = Conn(GW, port, timeout=3.0)
    try:
        c.send(b"CONNECT api.example.com:443 HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n" +
               (b"Content-Length: 5\r\n\r\nhello" if body else b"\r\n"))
        r = c.read_response()
        assert r is not None and r.status == 501, r
        assert r.text == "CONNECT is not supported\n" and r.header("Connection") == "close", r
        assert c.closed_by_peer(3.0)
    finally:
        c.close()
    assert time.monotonic() - t0 < 2.0  # answered, not left hanging
    assert_only_the_probe_was_forwarded(srv, port)


def test_a_chunk_extension_is_forwarded_as_it_came(stack):
    srv, _ = start(stack, 40006, 40056)
    body = b'5;name=value\r\nhello\r\n6;flag\r\n world\r\n3;q="a b"\r\n!!!\r\n0;last=1\r\n\r\n'
    c = Conn(GW, 40006)
    try:
        c.send(b"POST /up HTTP/1.1\r\nHost: " + HOST.encode() +
               b"\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        r = c.read_response()
        assert r.status == 200 and r.body == b"ok\n", r
        # The connection stays usable: the body ended where it should.
        c.send(request("GET", "/after", HOST))
        assert c.read_response().status == 200
    finally:
        c.close()
    got = srv.all_bytes()
    head, _, rest = got.partition(b"\r\n\r\n")
    assert rest.startswith(body + b"GET /after HTTP/1.1\r\n"), got


# A Host that would add fields to an unescaped text line, and a path with a quote.
FAKE_HOST = 'x" status=200 route=gw/fake:r reason="-'
QUOTED_PATH = '/q"uote\\d'


@pytest.mark.parametrize("fmt,ports", [("text", (40007, 40057)), ("json", (40008, 40058))])
def test_the_access_log_cannot_be_given_fake_fields(stack, fmt, ports):
    srv, gw = start(stack, *ports, log_format=fmt)
    r, _ = exchange(ports[0], request("GET", "/fake", FAKE_HOST, close=True))
    assert r.status == 400 and r.text == "malformed request: invalid Host header\n", r
    r, _ = exchange(ports[0], request("GET", QUOTED_PATH, HOST, close=True))
    assert r.status == 200, r
    recs = gw.log_records(2, requests_only=True)
    if fmt == "json":
        recs = [json.loads(line) for line in gw.log_lines()]  # every line is valid JSON
    fake, quoted = recs[-2:]
    assert (fake["host"], fake["path"], int(fake["status"])) == (FAKE_HOST, "/fake", 400), fake
    assert fake["route"] in ("-", None), fake
    assert (quoted["path"], quoted["host"], quoted["route"]) == \
        (QUOTED_PATH, HOST, "gw/refuse:all"), quoted

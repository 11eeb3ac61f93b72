"""Every local reply of the gateway: status, one-line reason, connection handling.

Ports: gateway listeners 31101-31199 on 127.0.0.90, backends 32101-32199.
"""
import os
import socket
import time

import pytest

from backends import (DALLAS, GW, NOWHERE, Conn, SilentServer, base_manifests, dest,
                      external_service, get, join, raw_exchange, request, route_table,
                      wait_until)

HOST = "l.example.com"


def assert_local_reply(r, status, reason):
    """A local reply: the status, and a one-line text body that contains `reason`."""
    assert r is not None, "no response"
    assert r.status == status, r
    server = r.header("Server")
    assert server is None or server.lower().startswith("causeway"), \
        f"the reply came from the backend ({server}), not from the gateway: {r!r}"
    text = r.body.decode()
    assert text.count("\n") <= 1 and text.strip() and "\n" not in text.strip(), \
        f"local reply body is not one line: {r.body!r}"
    assert reason in text, f"expected {reason!r} in the reply body, got {text!r}"
    assert (r.header("Content-Type") or "").startswith("text/plain"), r


@pytest.fixture
def edge(stack):
    """nginx at Dallas, and a gateway on :31101 whose l.example.com forwards /up to it and
    answers /local itself."""
    nginx = stack.nginx(f"""
        server {{
          listen {DALLAS}:32101;
          large_client_header_buffers 4 64k;
          location / {{ return 200 "upstream saw $request_method $request_uri\\n"; }}
        }}
    """, [(DALLAS, 32101)])
    gw = stack.gateway(join(
        base_manifests([(31101, "http")]),
        external_service("dallas", 32101, addresses=[DALLAS]),
        route_table("l", [HOST], f"""
            http:
            - name: up
              matchers:
              - uri:
                  prefix: /up
              forwardTo:
                destinations:
                {dest("dallas", 32101)}
            - name: local
              matchers:
              - uri:
                  prefix: /local
              directResponse: {{status: 200, body: local}}
        """),
    ), [31101])
    return gw, nginx


H = f"Host: {HOST}\r\n".encode()

MALFORMED = {
    "header without colon": b"GET /up HTTP/1.1\r\n" + H + b"No colon here\r\n\r\n",
    "garbage request line": b"GARBAGE\r\n\r\n",
    "bad Content-Length": b"POST /up HTTP/1.1\r\n" + H + b"Content-Length: 1x\r\n\r\n",
    "NUL in a header value": b"GET /up HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n",
    "bare LF line endings": b"GET /up HTTP/1.1\n" + H.replace(b"\r\n", b"\n") + b"\n",
    "invalid HTTP version": b"GET /up HTTP/7.3\r\n" + H + b"\r\n",
    "whitespace before colon": b"GET /up HTTP/1.1\r\n" + H + b"X-A : 1\r\n\r\n",
    "value folded over two lines (obs-fold)": b"GET /up HTTP/1.1\r\n" + H + b"X-A: a\r\n b\r\n\r\n",
}


XFAIL_MALFORMED = {}  # every case here passes; a regression gets a marked entry


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.xfail(reason=XFAIL_MALFORMED[c], strict=True))
    if c in XFAIL_MALFORMED else c for c in sorted(MALFORMED)])
def test_malformed_request_gets_400_and_close(edge, case):
    gw, nginx = edge
    r, closed = raw_exchange(31101, MALFORMED[case])
    assert_local_reply(r, 400, "malformed request")
    assert closed, "the connection must be closed after a 400"
    # Nothing reached the backend, and the gateway still serves.
    assert get(31101, "/up/after", host=HOST).status == 200
    assert [e[3] for e in nginx.wait_log(1)] == ["/up/after"]


AMBIGUOUS = {
    "Content-Length and Transfer-Encoding":
        b"POST /up HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /up/smuggled HTTP/1.1\r\n" + H + b"\r\n",
    "two different Content-Lengths":
        b"POST /up HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 45\r\n\r\nhello",
    "Transfer-Encoding without chunked last":
        b"POST /up HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nhello",
}


XFAIL_AMBIGUOUS = {}  # every case here passes; a regression gets a marked entry


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.xfail(reason=XFAIL_AMBIGUOUS[c], strict=True))
    if c in XFAIL_AMBIGUOUS else c for c in sorted(AMBIGUOUS)])
def test_ambiguous_framing_gets_400_and_close(edge, case):
    gw, nginx = edge
    t0 = time.monotonic()
    r, closed = raw_exchange(31101, AMBIGUOUS[case])
    assert_local_reply(r, 400, "malformed request")
    assert closed, "the connection must be closed after a 400"
    assert time.monotonic() - t0 < 2.5
    assert get(31101, "/up/after", host=HOST).status == 200
    assert [e[3] for e in nginx.wait_log(1)] == ["/up/after"], "a request reached the backend"


def test_unknown_host_and_no_matching_route_get_404(edge):
    gw, _ = edge
    r = get(31101, "/up", host="nobody.example.org")
    assert_local_reply(r, 404, "no route: unknown host")
    r = get(31101, "/elsewhere", host=HOST)
    assert_local_reply(r, 404, "no route matches")
    # A 404 does not close a keep-alive connection.
    c = Conn(GW, 31101)
    try:
        c.send(request("GET", "/nothing", HOST) + request("GET", "/local", HOST))
        assert_local_reply(c.read_response(), 404, "no route matches")
        assert c.read_response().body == b"local"
    finally:
        c.close()
    recs = gw.log_records(2, requests_only=True)
    assert (recs[0]["status"], recs[0]["host"]) == (404, "nobody.example.org")
    assert (recs[1]["status"], recs[1]["path"]) == (404, "/elsewhere")


def test_oversized_head_gets_431(edge):
    gw, nginx = edge
    big = b"GET /up HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * (33 * 1024) + b"\r\n\r\n"
    r, closed = raw_exchange(31101, big)
    assert_local_reply(r, 431, "request head larger than 32 KiB")
    assert closed
    # Just under 32 KiB is fine.
    ok = get(31101, "/up/big", host=HOST, headers=[("X-Big", "a" * (31 * 1024))])
    assert ok.status == 200, ok
    assert [e[3] for e in nginx.wait_log(1)] == ["/up/big"]


def test_more_than_100_headers_get_431(edge):
    gw, nginx = edge
    many = [(f"X-H{i}", "v") for i in range(100)]  # + Host = 101 headers
    r, closed = raw_exchange(31101, request("GET", "/up/many", HOST, many))
    assert_local_reply(r, 431, "too many request headers")
    assert closed
    ok = get(31101, "/up/hundred", host=HOST, headers=many[:98])  # + Host + Connection = 100
    assert ok.status == 200, ok
    assert [e[3] for e in nginx.wait_log(1)] == ["/up/hundred"]


def test_route_to_missing_external_service_gets_500_other_routes_work(stack):
    stack.nginx(f"""
        server {{ listen {DALLAS}:32103; location / {{ return 200 "fine\\n"; }} }}
    """, [(DALLAS, 32103)])
    gw = stack.gateway(join(
        base_manifests([(31103, "http")]),
        external_service("dallas", 32103, addresses=[DALLAS]),
        route_table("broken", [HOST], f"""
            http:
            - name: to-nowhere
              matchers:
              - uri:
                  prefix: /missing
              forwardTo:
                destinations:
                {dest("does-not-exist", 443)}
            - name: fine
              forwardTo:
                destinations:
                {dest("dallas", 32103)}
        """),
    ), [31103])
    r = get(31103, "/missing/x", host=HOST)
    assert r.status == 500, r
    assert r.body.strip() and b"\n" not in r.body.strip(), r
    assert get(31103, "/other", host=HOST).text == "fine\n"
    recs = gw.log_records(2, requests_only=True)
    assert recs[0]["status"] == 500 and recs[0]["route"] == "gw/broken:to-nowhere"


def test_refused_upstream_gets_502(stack):
    gw = stack.gateway(join(
        base_manifests([(31105, "http")]),
        external_service("nowhere", 32105, addresses=[NOWHERE]),
        route_table("r", [HOST], f"""
            http:
            - name: refused
              forwardTo:
                destinations:
                {dest("nowhere", 32105)}
        """),
    ), [31105])
    t0 = time.monotonic()
    r = get(31105, "/x", host=HOST)
    assert_local_reply(r, 502, "refused")
    assert time.monotonic() - t0 < 2.0
    rec = gw.log_records(1, requests_only=True)[0]
    assert rec["status"] == 502 and rec["service"] == "data/nowhere:32105"
    assert "refused" in rec["reason"]


def test_cidr_only_service_gets_503(stack):
    gw = stack.gateway(join(
        base_manifests([(31107, "http")]),
        external_service("cidr", 32107, addresses=["127.0.200.0/24"]),
        route_table("c", [HOST], f"""
            http:
            - name: cidr
              forwardTo:
                destinations:
                {dest("cidr", 32107)}
        """),
    ), [31107])
    r = get(31107, "/x", host=HOST)
    assert_local_reply(r, 503, "no healthy upstream")
    rec = gw.log_records(1, requests_only=True)[0]
    assert rec["status"] == 503 and rec["service"] == "data/cidr:32107"


def test_upstream_that_never_answers_gets_504(stack):
    silent = stack.server(SilentServer, DALLAS, 32109)
    gw = stack.gateway(join(
        base_manifests([(31109, "http")]),
        external_service("silent", 32109, addresses=[DALLAS]),
        route_table("s", [HOST], f"""
            http:
            - name: silent
              forwardTo:
                destinations:
                {dest("silent", 32109)}
        """),
    ), [31109], args=["--upstream-timeout", "500ms"])
    t0 = time.monotonic()
    r = get(31109, "/x", host=HOST)
    took = time.monotonic() - t0
    assert_local_reply(r, 504, "upstream timeout")
    assert 0.4 <= took < 3.0, took
    assert silent.accepted >= 1
    rec = gw.log_records(1, requests_only=True)[0]
    assert rec["status"] == 504 and rec["service"] == "data/silent:32109"
    assert rec["reason"] == "upstream timeout"


def direct_ok_gateway(stack, port, args):
    """A gateway on `port` answering every request for HOST itself: 200 "ok"."""
    return stack.gateway(join(
        base_manifests([(port, "http")]),
        route_table("s", [HOST], """
            http:
            - name: local
              directResponse: {status: 200, body: ok}
        """),
    ), [port], args=args)


def test_slowloris_client_is_cut_with_408(stack):
    direct_ok_gateway(stack, 31111, ["--request-header-timeout", "1s"])
    c = Conn(GW, 31111, timeout=5)
    head = request("GET", "/slow", HOST, [("X-Pad", "p" * 40)])[:-2]  # never the final CRLF
    t0 = time.monotonic()
    got = b""
    try:
        c.sock.settimeout(0.15)
        for i in range(len(head)):  # one byte every 150 ms: ~10 s for the whole head
            try:
                c.sock.sendall(head[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                d = c.sock.recv(65536)
                if not d:
                    break
                got += d
            except socket.timeout:
                pass
            except ConnectionResetError:
                break
            if time.monotonic() - t0 > 4:
                break
        took = time.monotonic() - t0
        c.sock.settimeout(2)
        try:
            while True:
                d = c.sock.recv(65536)
                if not d:
                    break
                got += d
        except (socket.timeout, ConnectionResetError):
            pass
    finally:
        c.close()
    assert got.startswith(b"HTTP/1.1 408 "), got
    assert b"\r\n\r\n" in got and got.split(b"\r\n\r\n", 1)[1].strip(), got
    assert 0.9 <= took <= 2.5, f"cut after {took:.2f}s, --request-header-timeout is 1s"


def test_slow_but_timely_client_is_served(stack):
    """The header timeout covers the whole head, and a head that arrives in time is served."""
    direct_ok_gateway(stack, 31113, ["--request-header-timeout", "1s"])
    c = Conn(GW, 31113)
    try:
        data = request("GET", "/in-time", HOST)
        for part in (data[:10], data[10:20], data[20:]):
            c.send(part)
            time.sleep(0.2)
        r = c.read_response()
        assert (r.status, r.body) == (200, b"ok"), r
        # An idle keep-alive connection is not a slow request: after the header timeout the
        # next request is still served.
        time.sleep(1.3)
        c.send(request("GET", "/again", HOST))
        r = c.read_response()
        assert r is not None and r.status == 200, r
    finally:
        c.close()


def test_connection_silent_before_its_first_request_is_served_and_idles_out(stack):
    """A client that connects and says nothing for a while is still served when it speaks (the
    kernel hands an HTTP connection over with its first bytes, or after a second of silence),
    and one that never speaks is closed by the idle timeout."""
    direct_ok_gateway(stack, 31115, ["--idle-timeout", "3s"])
    late, silent = Conn(GW, 31115, timeout=8), Conn(GW, 31115, timeout=8)
    try:
        opened = time.monotonic()
        time.sleep(1.5)
        late.send(request("GET", "/late", HOST))
        r = late.read_response()
        assert r is not None and (r.status, r.body) == (200, b"ok"), r
        assert silent.closed_by_peer(7), "a connection that never spoke was not closed"
        took = time.monotonic() - opened
        assert 2.5 <= took <= 7, f"closed after {took:.2f}s, --idle-timeout is 3s"
    finally:
        late.close()
        silent.close()


@pytest.fixture
def limited(stack):
    """A gateway on :31150 with --max-request-body 1k in front of nginx at Dallas: (gw, nginx)."""
    nginx = stack.nginx("""
        server {
          listen %s:32150;
          client_max_body_size 0;
          location / { return 200 "upstream got $content_length\\n"; }
        }
    """ % DALLAS, [(DALLAS, 32150)])
    gw = stack.gateway(join(
        base_manifests([(31150, "http")]),
        external_service("dallas", 32150, addresses=[DALLAS]),
        route_table("l", [HOST], f"""
            http:
            - forwardTo:
                destinations:
                {dest("dallas", 32150)}
        """),
    ), [31150], args=("--max-request-body", "1k"))
    return gw, nginx


def test_request_body_over_the_limit_gets_413(limited):
    gw, nginx = limited
    # A declared length over the limit is refused before any byte goes upstream.
    r, closed = raw_exchange(31150, (f"POST /x HTTP/1.1\r\nHost: {HOST}\r\n"
                                     "Content-Length: 2000\r\n\r\n").encode() + b"a" * 2000)
    assert_local_reply(r, 413, "request body too large")
    assert closed
    rec = gw.log_records(1)[0]
    assert (rec["status"], rec["endpoint"]) == (413, "-"), rec
    assert nginx.log_entries() == [], "the refused request reached the backend"
    # A chunked body is counted as it streams and cut when it outgrows the limit.
    chunk = b"800\r\n" + b"b" * 0x800 + b"\r\n"
    r, closed = raw_exchange(31150, (f"POST /x HTTP/1.1\r\nHost: {HOST}\r\n"
                                     "Transfer-Encoding: chunked\r\n\r\n").encode() + chunk
                             + b"0\r\n\r\n")
    assert_local_reply(r, 413, "request body too large")
    assert closed


def test_413_reaches_a_client_that_sends_its_whole_body_before_reading(limited):
    """Many clients (curl without Expect, most libraries) send the whole body before they read.
    The gateway answers 413 at once and then reads and drops the rest of the body: closing with
    unread bytes would make the kernel reset the connection, and the client would see
    "connection reset" instead of the 413."""
    gw, _ = limited
    body = b"d" * (64 << 20)
    c = Conn(GW, 31150, timeout=10)
    try:
        c.send((f"POST /big HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode())
        c.send(body)
        r = c.read_response()
        assert_local_reply(r, 413, "request body too large")
        assert c.closed_by_peer(3)
    finally:
        c.close()
    recs = gw.log_records(1)
    assert [x["status"] for x in recs] == [413], recs


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_refused_body_is_drained_until_the_client_goes_quiet(limited):
    """After the 413 the gateway half-closes (the client sees the answer end) but keeps reading
    what the client still sends, so late body bytes do not meet a reset; a second after the
    client goes quiet the connection is closed for good."""
    gw, _ = limited
    before = open_fds(gw.pid)
    c = Conn(GW, 31150, timeout=10)
    try:
        c.send((f"POST /big HTTP/1.1\r\nHost: {HOST}\r\n"
                "Content-Length: 100000\r\n\r\n").encode() + b"e" * 5000)
        r = c.read_response()
        assert_local_reply(r, 413, "request body too large")
        assert c.closed_by_peer(1), "the answer is not followed by the gateway's FIN"
        for _ in range(3):
            time.sleep(0.3)
            c.send(b"e" * 5000)  # a reset would make the second of these fail
        assert open_fds(gw.pid) == before + 1, "the connection was closed while the client sent"
        quiet_from = time.monotonic()
        wait_until(lambda: open_fds(gw.pid) == before, 4, what="the lingering connection closed")
        took = time.monotonic() - quiet_from
        assert 0.6 <= took <= 2.5, f"closed {took:.2f}s after the client went quiet; 1s expected"
    finally:
        c.close()


def test_request_body_within_the_limit_is_forwarded(limited):
    r, _ = raw_exchange(31150, (f"POST /x HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 1000\r\n"
                                "Connection: close\r\n\r\n").encode() + b"c" * 1000)
    assert r.status == 200 and b"upstream got 1000" in r.body, r

"""The access log: one line per HTTP request and per TCP connection, as text or JSON.

Ports: gateway listeners 31401-31499 on 127.0.0.90, backends 32401-32499.
"""
import json
import socket

import pytest

from backends import (DALLAS, GW, NOWHERE, Conn, HalfCloseServer, SilentServer, base_manifests,
                      dest, external_endpoint, external_service, get, join, request, route_table)

JSON_KEYS = {"time", "protocol", "listener", "method", "path", "host", "status", "route",
             "service", "endpoint", "locality", "priority", "bytes_in", "bytes_out",
             "duration_ms", "retries", "client", "request_id", "upstream_connect_us",
             "upstream_response_us", "flags", "sni", "upstream_tls", "reason"}


def start(stack, fmt, http_port, tcp_port, nginx_port, tcp_backend_port, **kw):
    """nginx (HTTP) at Dallas, a python TCP backend that answers after EOF, and a gateway with
    one HTTP and one TCP listener."""
    stack.nginx(f"""
        server {{ listen {DALLAS}:{nginx_port}; location / {{ return 200 "hello from nginx\\n"; }} }}
    """, [(DALLAS, nginx_port)])
    stack.server(HalfCloseServer, DALLAS, tcp_backend_port, "echo-after-eof")
    return stack.gateway(join(
        base_manifests([(http_port, "http"), (tcp_port, "tcp")]),
        external_service("web", 80, hosts=["web.internal"], selector={"app": "web"}),
        external_endpoint("web-dallas", DALLAS, nginx_port, {"app": "web"},
                          locality="us-east-1/us-east-1a"),
        external_service("echo", tcp_backend_port, protocol="TCP", addresses=[DALLAS]),
        route_table("web", ["log.example.com"], f"""
            http:
            - name: page
              matchers:
              - uri:
                  prefix: /page
              forwardTo:
                destinations:
                {dest("web", 80)}
            - name: local
              matchers:
              - uri:
                  exact: /local
              directResponse: {{status: 201, body: made here}}
        """),
        route_table("echo", ["echo.internal"], f"""
            tcp:
            - matchers:
              - port: {tcp_port}
              forwardTo:
                destinations:
                {dest("echo", tcp_backend_port)}
        """),
    ), [http_port, tcp_port], log_format=fmt, **kw)


def tcp_exchange(port, payload):
    with socket.create_connection((GW, port), timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while d := s.recv(65536):
            got += d
    return got


@pytest.mark.parametrize("fmt,ports", [("text", (31401, 31402, 32401, 32402)),
                                       ("json", (31403, 31404, 32403, 32404))])
def test_access_log_fields_http_and_tcp(stack, fmt, ports):
    http_port, tcp_port = ports[:2]
    gw = start(stack, fmt, *ports)
    c = Conn(GW, http_port)
    try:
        c.send(request("GET", "/page?q=1", "log.example.com"))
        r1 = c.read_response()
        c.send(request("GET", "/local", "log.example.com"))
        r2 = c.read_response()
        c.send(request("GET", "/missing", "log.example.com"))
        r3 = c.read_response()
    finally:
        c.close()
    assert (r1.status, r2.status, r3.status) == (200, 201, 404)
    payload = b"x" * 5000
    reply = tcp_exchange(tcp_port, payload)
    assert reply == b"got 5000 bytes\n"

    recs = gw.log_records(4, requests_only=True)
    if fmt == "json":
        for line in gw.log_lines():
            assert set(json.loads(line)) == JSON_KEYS, line
    http = [r for r in recs if r["protocol"] == "http"]
    tcp = [r for r in recs if r["protocol"] == "tcp"]
    assert len(http) == 3 and len(tcp) == 1, recs
    page, local, missing = http
    assert page["listener"] == http_port and page["method"] == "GET"
    assert page["path"] == "/page?q=1" and page["host"] == "log.example.com"
    assert page["status"] == 200 and page["route"] == "gw/web:page"
    assert page["service"] == "data/web:80"
    assert page["endpoint"] == f"{DALLAS}:{ports[2]}"
    assert page["locality"] == "us-east-1/us-east-1a" and str(page["priority"]) == "0"
    assert page["bytes_out"] >= len(r1.body) + 50 and page["bytes_in"] > 0
    assert page["retries"] == 0 and page["reason"] in ("-", None, "")
    assert int(page["duration_ms"]) < 2000
    assert (local["status"], local["route"], local["path"]) == (201, "gw/web:local", "/local")
    assert local["service"] in ("-", None) and local["endpoint"] in ("-", None)
    assert missing["status"] == 404 and missing["route"] in ("-", None), missing
    assert missing["reason"] == "no route matches"
    t = tcp[0]
    assert t["listener"] == tcp_port and t["route"].startswith("gw/echo")
    assert t["service"] == f"data/echo:{ports[3]}" and t["endpoint"] == f"{DALLAS}:{ports[3]}"
    assert (t["bytes_in"], t["bytes_out"]) == (5000, len(reply))
    assert t["method"] in (None, "-") and t["retries"] == 0


def test_one_line_per_request(stack):
    gw = start(stack, "text", 31405, 31406, 32405, 32406)
    for i in range(3):
        r = get(31405, f"/page/{i}", host="log.example.com")  # Connection: close
        assert r.status == 200
    c = Conn(GW, 31405)
    try:
        for i in range(2):
            c.send(request("GET", f"/page/ka{i}", "log.example.com"))
            assert c.read_response().status == 200
    finally:
        c.close()
    assert tcp_exchange(31406, b"abc") == b"got 3 bytes\n"
    gw.stop()  # every line is written by now
    recs = gw.log_records(1)
    assert [(r["protocol"], r["path"]) for r in recs] == \
        [("http", f"/page/{i}") for i in range(3)] + \
        [("http", f"/page/ka{i}") for i in range(2)] + [("tcp", None)], gw.log_lines()
    assert all(r["duration_ms"] < 5000 for r in recs), gw.log_lines()


def test_bytes_in_counts_what_the_client_sent(stack):
    gw = start(stack, "text", 31407, 31408, 32407, 32408)
    sent = {}
    for path in ("/page/a", "/local", "/nothing-here"):
        data = request("GET", path, "log.example.com", close=True)
        sent[path] = len(data)
        c = Conn(GW, 31407)
        try:
            c.send(data)
            assert c.read_response() is not None
        finally:
            c.close()
    recs = gw.log_records(3, requests_only=True)
    assert {r["path"]: r["bytes_in"] for r in recs} == sent, gw.log_lines()


def test_failed_upstream_is_named_in_access_log(stack):
    stack.server(SilentServer, DALLAS, 32409)
    gw = stack.gateway(join(
        base_manifests([(31409, "http")]),
        external_service("nowhere", 32410, addresses=[NOWHERE]),
        external_service("silent", 32409, addresses=[DALLAS]),
        route_table("f", ["f.example.com"], f"""
            http:
            - name: refused
              matchers:
              - uri:
                  prefix: /refused
              forwardTo:
                destinations:
                {dest("nowhere", 32410)}
            - name: silent
              forwardTo:
                destinations:
                {dest("silent", 32409)}
        """),
    ), [31409], args=["--upstream-timeout", "300ms"], drain_timeout="300ms")
    assert get(31409, "/refused", host="f.example.com").status == 502
    assert get(31409, "/silent", host="f.example.com").status == 504
    recs = gw.log_records(2, requests_only=True)
    assert recs[0]["endpoint"] == f"{NOWHERE}:32410" and recs[0]["priority"] == "0", recs[0]
    assert recs[1]["endpoint"] == f"{DALLAS}:32409" and recs[1]["priority"] == "0", recs[1]


# ---- client, request id, upstream times, response flags (issue 15 item 5) -----------------

UUID4 = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"


def echo_id_nginx(stack, port):
    stack.nginx(f"""
        server {{ listen {DALLAS}:{port};
                  location / {{ return 200 "id=$http_x_request_id\\n"; }} }}
    """, [(DALLAS, port)])


def id_gateway(stack, port, nginx_port):
    return stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("web", nginx_port, addresses=[DALLAS]),
        route_table("web", ["id.example.com"], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("web", nginx_port)}
        """)), [port], log_format="json")


def test_request_id_is_kept_when_sane_else_made_and_always_forwarded(stack):
    import re
    echo_id_nginx(stack, 32420)
    gw = id_gateway(stack, 31420, 32420)
    sent = [
        ("trace-1.a:b_C", "trace-1.a:b_C"),           # kept
        ('bad id"\\x', None),                         # a quote, a space: replaced
        ("x" * 129, None),                            # too long: replaced
        (None, None),                                 # none: made
    ]
    for given, kept in sent:
        extra = [("X-Request-Id", given)] if given is not None else []
        r = get(31420, "/", host="id.example.com", headers=extra)
        upstream = r.text.strip().removeprefix("id=")
        if kept:
            assert upstream == kept, r.text
        else:
            assert re.match(UUID4, upstream), r.text
    # two ids: neither is trusted
    c = Conn(GW, 31420)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: id.example.com\r\nX-Request-Id: a\r\n"
               b"X-Request-Id: b\r\nConnection: close\r\n\r\n")
        two = c.read_response()
    finally:
        c.close()
    assert re.match(UUID4, two.text.strip().removeprefix("id=")), two.text
    recs = gw.log_records(5, requests_only=True)
    assert recs[0]["request_id"] == "trace-1.a:b_C"
    # what the upstream got is what the log says
    assert all(re.match(UUID4, r["request_id"]) for r in recs[1:]), recs
    assert len({r["request_id"] for r in recs}) == 5


def test_client_address_and_upstream_times_are_logged(stack):
    echo_id_nginx(stack, 32421)
    gw = id_gateway(stack, 31421, 32421)
    c = Conn(GW, 31421)
    try:
        local = c.sock.getsockname()
        for _ in range(2):  # the second request reuses the pooled upstream connection
            c.send(request("GET", "/", "id.example.com"))
            assert c.read_response().status == 200
    finally:
        c.close()
    recs = gw.log_records(2, requests_only=True)
    assert all(r["client"] == f"{local[0]}:{local[1]}" for r in recs), recs
    first, second = recs
    assert first["upstream_connect_us"] > 0 and first["upstream_response_us"] >= 0, first
    assert second["upstream_connect_us"] == 0, second  # pooled: no connect
    assert first["flags"] is None and second["flags"] is None


def test_response_flags_name_why(stack):
    stack.server(SilentServer, DALLAS, 32422)
    gw = stack.gateway(join(
        base_manifests([(31422, "http")]),
        external_service("nowhere", 32423, addresses=[NOWHERE]),
        external_service("silent", 32422, addresses=[DALLAS]),
        external_service("two", 32424, selector={"app": "two"}, hosts=["two.internal"]),
        external_endpoint("two-a", NOWHERE, 32424, {"app": "two"}),
        external_endpoint("two-b", "127.0.0.45", 32424, {"app": "two"}),
        route_table("f", ["f.example.com"], f"""
            http:
            - name: refused
              matchers: [{{uri: {{prefix: /refused}}}}]
              forwardTo:
                destinations:
                {dest("nowhere", 32423)}
            - name: retried
              matchers: [{{uri: {{prefix: /retried}}}}]
              forwardTo:
                destinations:
                {dest("two", 32424)}
            - name: silent
              matchers: [{{uri: {{prefix: /silent}}}}]
              forwardTo:
                destinations:
                {dest("silent", 32422)}
        """),
    ), [31422], log_format="json", args=["--upstream-timeout", "300ms"])
    assert get(31422, "/refused", host="f.example.com").status == 502
    assert get(31422, "/retried", host="f.example.com").status == 502
    assert get(31422, "/silent", host="f.example.com").status == 504
    assert get(31422, "/x", host="unknown.example.com").status == 404
    c = Conn(GW, 31422)
    try:
        c.send(b"GET / HTTP/1.1\r\nHost: f.example.com\r\nContent-Length: 1\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n")
        assert c.read_response().status == 400
    finally:
        c.close()
    recs = gw.log_records(5)
    flags = {r["path"]: r["flags"] for r in recs}
    assert flags["/refused"] == "UF", recs
    assert flags["/retried"] == "UF,URX", recs
    assert flags["/silent"] == "UT", recs
    assert flags["/x"] == "NR", recs
    assert flags["-"] == "DPE", recs  # refused before it was a request: no method, no path
    assert recs[0]["upstream_response_us"] is None  # it never answered

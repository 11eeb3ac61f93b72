"""HTTP/1.1 through `causeway run` to real nginx backends in two stand-in data centers.

Ports: gateway listeners 31001-31099 on 127.0.0.90, nginx backends 32001-32099.
"""
import re
import time

import pytest

from backends import (ASHBURN, CLIENT, DALLAS, GW, NOWHERE, Conn, ScriptedHTTPServer,
                      base_manifests, dest, external_endpoint, external_service, get, join,
                      request, route_table)

# nginx answers with what it saw, one line.
ECHO = ('"dc=$dc host=$host uri=$request_uri xff=$http_x_forwarded_for '
        'xfp=$http_x_forwarded_proto secret=$http_x_secret ka=$http_keep_alive '
        'method=$request_method\\n"')


def echo_server(addr, port, dc, extra=""):
    return f"""
        server {{
          listen {addr}:{port};
          set $dc {dc};
          {extra}
          location / {{ return 200 {ECHO}; }}
        }}
    """


def fields(resp):
    """'k=v k=v' body of the echo server → dict."""
    return dict(re.findall(r"(\w+)=(.*?)(?= \w+=|$)", resp.text.strip()))


def two_dc_nginx(stack, p_dallas, p_ashburn, extra=""):
    return stack.nginx(echo_server(DALLAS, p_dallas, "dallas", extra) +
                       echo_server(ASHBURN, p_ashburn, "ashburn", extra),
                       [(DALLAS, p_dallas), (ASHBURN, p_ashburn)])


def dc_services(p_dallas, p_ashburn):
    """ES dallas: by IP. ES ashburn: an internal hostname (CNAME-like) over an ExternalEndpoint."""
    return join(
        external_service("dallas", p_dallas, addresses=[DALLAS]),
        external_service("ashburn", 80, hosts=["ashburn.internal"], selector={"dc": "ashburn"}),
        external_endpoint("ashburn-1", ASHBURN, p_ashburn, {"dc": "ashburn"},
                          locality="us-east-1/us-east-1b"),
    )


def test_requests_reach_nginx_in_each_data_center(stack):
    nginx = two_dc_nginx(stack, 32001, 32002)
    gw = stack.gateway(join(
        base_manifests([(31001, "http")]),
        dc_services(32001, 32002),
        route_table("app", ["app.example.com"], f"""
            http:
            - name: to-dallas
              matchers:
              - uri:
                  prefix: /dallas
              forwardTo:
                destinations:
                {dest("dallas", 32001)}
            - name: to-ashburn
              matchers:
              - uri:
                  prefix: /ashburn
              forwardTo:
                destinations:
                {dest("ashburn", 80)}
        """),
    ), [31001])
    r = get(31001, "/dallas/a?x=1", host="app.example.com")
    assert r.status == 200, r
    f = fields(r)
    assert (f["dc"], f["host"], f["uri"]) == ("dallas", "app.example.com", "/dallas/a?x=1")
    r = get(31001, "/ashburn/b", host="APP.example.com:31001")
    assert r.status == 200, r
    assert fields(r)["dc"] == "ashburn"
    assert [e[3] for e in nginx.wait_log(2)] == ["/dallas/a?x=1", "/ashburn/b"]
    recs = gw.log_records(2, requests_only=True)
    assert recs[0]["route"] == "gw/app:to-dallas" and recs[0]["service"] == "data/dallas:32001"
    assert recs[0]["endpoint"] == f"{DALLAS}:32001" and recs[0]["status"] == 200
    assert recs[1]["route"] == "gw/app:to-ashburn" and recs[1]["service"] == "data/ashburn:80"
    assert recs[1]["endpoint"] == f"{ASHBURN}:32002"
    assert recs[1]["locality"] == "us-east-1/us-east-1b"


def test_exposed_external_service_routed_by_its_own_hostname(stack):
    """A listener without RouteTables exposes ExternalServices by their own host/address."""
    two_dc_nginx(stack, 32003, 32004)
    gw = stack.gateway(join(
        base_manifests([(31003, "http", "exposedExternalServices:\n- host: '*'")]),
        dc_services(32003, 32004),
    ), [31003])
    r = get(31003, "/inv?q=1", host="ashburn.internal")
    assert r.status == 200, r
    assert fields(r)["dc"] == "ashburn" and fields(r)["host"] == "ashburn.internal"
    r = get(31003, "/x", host=DALLAS)
    assert r.status == 200, r
    assert fields(r)["dc"] == "dallas"
    r = get(31003, "/x", host="other.internal")
    assert r.status == 404, r
    assert r.text.strip() == "no route: unknown host"
    recs = gw.log_records(3, requests_only=True)
    assert recs[0]["service"] == "data/ashburn:80" and recs[0]["endpoint"] == f"{ASHBURN}:32004"


def test_path_host_rewrite_and_forwarded_headers_seen_by_backend(stack):
    two_dc_nginx(stack, 32005, 32006)
    stack.gateway(join(
        base_manifests([(31005, "http")]),
        dc_services(32005, 32006),
        route_table("rw", ["rw.example.com"], f"""
            http:
            - name: prefix-rewrite
              matchers:
              - uri:
                  prefix: /api/
              forwardTo:
                pathRewrite: /v2/
                hostRewrite: backend.internal
                destinations:
                {dest("dallas", 32005)}
            - name: regex-rewrite
              matchers:
              - uri:
                  regex: /users/[0-9]+/profile
              forwardTo:
                regexRewrite:
                  pattern:
                    regex: ^/users/([0-9]+)/profile$
                  substitution: /profiles/\\1
                destinations:
                {dest("ashburn", 80)}
            - name: exact-rewrite
              matchers:
              - uri:
                  exact: /old
              forwardTo:
                pathRewrite: /brand/new
                destinations:
                {dest("dallas", 32005)}
        """),
    ), [31005])
    r = get(31005, "/api/items?id=7", host="rw.example.com", source=CLIENT)
    assert r.status == 200, r
    f = fields(r)
    assert f["uri"] == "/v2/items?id=7"
    assert f["host"] == "backend.internal"
    assert f["xff"] == CLIENT
    assert f["xfp"] == "http"
    # An X-Forwarded-For from the client is kept and the client's address appended.
    r = get(31005, "/api/x", host="rw.example.com", source=CLIENT,
            headers=[("X-Forwarded-For", "203.0.113.9")])
    assert fields(r)["xff"] == f"203.0.113.9, {CLIENT}", r
    r = get(31005, "/users/42/profile", host="rw.example.com")
    assert r.status == 200, r
    assert (fields(r)["dc"], fields(r)["uri"]) == ("ashburn", "/profiles/42")
    assert fields(r)["host"] == "rw.example.com"  # no hostRewrite on this route
    r = get(31005, "/old?k=v", host="rw.example.com")
    assert fields(r)["uri"] == "/brand/new?k=v", r


def test_hop_by_hop_headers_are_not_forwarded(stack):
    two_dc_nginx(stack, 32007, 32008)
    stack.gateway(join(
        base_manifests([(31007, "http")]),
        dc_services(32007, 32008),
        route_table("hop", ["hop.example.com"], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("dallas", 32007)}
        """),
    ), [31007])
    c = Conn(GW, 31007)
    try:
        c.send(request("GET", "/h", "hop.example.com",
                       [("Connection", "keep-alive, X-Secret"), ("X-Secret", "s3cr3t"),
                        ("Keep-Alive", "timeout=5")]))
        r = c.read_response()
        assert r.status == 200, r
        f = fields(r)
        assert f["secret"] == "" and f["ka"] == "", f"hop-by-hop headers reached the backend: {r.text}"
        # The client connection stays usable.
        c.send(request("GET", "/h2", "hop.example.com"))
        assert fields(c.read_response())["uri"] == "/h2"
    finally:
        c.close()


def test_direct_response_and_redirect(stack):
    gw = stack.gateway(join(
        base_manifests([(31009, "http")]),
        route_table("local", ["local.example.com"], """
            http:
            - name: teapot
              matchers:
              - uri:
                  exact: /tea
              directResponse:
                status: 418
                body: short and stout
            - name: empty
              matchers:
              - uri:
                  exact: /empty
              directResponse:
                status: 204
            - name: moved
              matchers:
              - uri:
                  exact: /old
              redirect:
                hostRedirect: new.example.com
                pathRedirect: /new/place
                responseCode: FOUND
            - name: moved-default
              matchers:
              - uri:
                  exact: /gone
              redirect:
                pathRedirect: /here
        """),
    ), [31009])
    r = get(31009, "/tea", host="local.example.com")
    assert (r.status, r.body) == (418, b"short and stout"), r
    r = get(31009, "/empty", host="local.example.com")
    assert (r.status, r.body) == (204, b""), r
    r = get(31009, "/old", host="local.example.com")
    assert r.status == 302, r
    assert r.header("Location") == "http://new.example.com/new/place", r
    r = get(31009, "/gone", host="local.example.com")
    assert r.status == 301, r
    assert r.header("Location") == "http://local.example.com/here", r
    recs = gw.log_records(4, requests_only=True)
    assert [x["status"] for x in recs] == [418, 204, 302, 301]
    assert recs[0]["route"] == "gw/local:teapot" and recs[0]["service"] == "-"


def test_matchers_method_header_query_path(stack):
    two_dc_nginx(stack, 32011, 32012)
    stack.gateway(join(
        base_manifests([(31011, "http")]),
        dc_services(32011, 32012),
        route_table("m", ["m.example.com"], f"""
            http:
            - name: post-only
              matchers:
              - uri:
                  prefix: /m
                method: POST
              directResponse: {{status: 200, body: post}}
            - name: tenant
              matchers:
              - uri:
                  prefix: /m
                headers:
                - name: x-tenant
                  value: acme
              directResponse: {{status: 200, body: tenant-acme}}
            - name: versioned
              matchers:
              - uri:
                  prefix: /m
                headers:
                - name: x-version
                  value: "v[0-9]+"
                  regex: true
              directResponse: {{status: 200, body: versioned}}
            - name: debug
              matchers:
              - uri:
                  prefix: /m
                queryParameters:
                - name: debug
                  value: "1"
              forwardTo:
                destinations:
                {dest("dallas", 32011)}
            - name: stable
              matchers:
              - uri:
                  exact: /m/x
                headers:
                - name: x-beta
                  invertMatch: true
              directResponse: {{status: 200, body: stable}}
            - name: item
              matchers:
              - uri:
                  regex: "/items/[0-9]+"
              directResponse: {{status: 200, body: item}}
            - name: any-case
              matchers:
              - uri:
                  prefix: /case
                  ignoreCase: true
              - uri:
                  exact: /or
              directResponse: {{status: 200, body: any-case}}
        """),
    ), [31011])

    def hit(path, method="GET", headers=()):
        r = get(31011, path, host="m.example.com", method=method, headers=headers,
                body=b"" if method == "POST" else None)
        return r.status, r.text.strip()

    assert hit("/m", "POST") == (200, "post")
    assert hit("/m/a", headers=[("X-Tenant", "acme")]) == (200, "tenant-acme")
    assert hit("/m/a", headers=[("X-Tenant", "other")]) == (404, "no route matches")
    assert hit("/m/a", headers=[("X-Version", "v12")]) == (200, "versioned")
    assert hit("/m/a", headers=[("X-Version", "v12a")]) == (404, "no route matches")
    st, body = hit("/m/q?a=b&debug=1")
    assert st == 200 and "dc=dallas" in body and "uri=/m/q?a=b&debug=1" in body, body
    assert hit("/m/q?debug=2") == (404, "no route matches")
    assert hit("/m/x") == (200, "stable")
    assert hit("/m/x", headers=[("X-Beta", "1")]) == (404, "no route matches")
    assert hit("/items/42") == (200, "item")
    assert hit("/items/42/x") == (404, "no route matches")  # regex matches the whole path
    assert hit("/items/42?x=/y") == (200, "item")           # the query is not part of the path
    assert hit("/CASE/Study") == (200, "any-case")
    assert hit("/or") == (200, "any-case")


def test_weighted_destinations_split_traffic(stack):
    two_dc_nginx(stack, 32013, 32014)
    gw = stack.gateway(join(
        base_manifests([(31013, "http")]),
        external_service("dallas", 32013, addresses=[DALLAS]),
        external_service("ashburn", 32014, addresses=[ASHBURN]),
        route_table("w", ["w.example.com"], f"""
            http:
            - name: split
              forwardTo:
                destinations:
                {dest("dallas", 32013, 75)}
                {dest("ashburn", 32014, 25)}
        """),
    ), [31013])
    n = 200
    counts = {"dallas": 0, "ashburn": 0}
    c = Conn(GW, 31013)
    try:
        for i in range(n):
            c.send(request("GET", f"/w{i}", "w.example.com"))
            r = c.read_response()
            assert r.status == 200, r
            counts[fields(r)["dc"]] += 1
    finally:
        c.close()
    assert 0.6 * n <= counts["dallas"] <= 0.9 * n, counts
    assert counts["dallas"] + counts["ashburn"] == n
    # The access log names the same split, endpoint by endpoint.
    served = [r["endpoint"].split(":")[0] for r in gw.log_records(n, requests_only=True)]
    assert (served.count(DALLAS), served.count(ASHBURN)) == (counts["dallas"], counts["ashburn"])


def test_upstream_keepalive_reuses_one_connection(stack):
    nginx = two_dc_nginx(stack, 32015, 32016)
    stack.gateway(join(
        base_manifests([(31015, "http")]),
        dc_services(32015, 32016),
        route_table("ka", ["ka.example.com"], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("dallas", 32015)}
        """),
    ), [31015], workers=1)
    # Three requests on one client connection, then three clients one after the other.
    c = Conn(GW, 31015)
    try:
        for i in range(3):
            c.send(request("GET", f"/same-client/{i}", "ka.example.com"))
            r = c.read_response()
            assert r.status == 200, r
            assert (r.header("Connection") or "").lower() != "close"
    finally:
        c.close()
    for i in range(3):
        assert get(31015, f"/new-client/{i}", host="ka.example.com").status == 200
    entries = nginx.wait_log(6)
    conns = {e[0] for e in entries}
    assert len(conns) == 1, f"expected one pooled upstream connection, nginx saw {entries}"
    assert [e[1] for e in entries] == [1, 2, 3, 4, 5, 6], entries


def test_stale_pooled_connection_is_replaced(stack):
    """nginx closes idle keep-alive connections after 300ms; the next request must not fail."""
    nginx = two_dc_nginx(stack, 32017, 32018, extra="keepalive_timeout 300ms;")
    stack.gateway(join(
        base_manifests([(31017, "http")]),
        dc_services(32017, 32018),
        route_table("st", ["st.example.com"], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("dallas", 32017)}
        """),
    ), [31017], workers=1)
    for i in range(3):
        r = get(31017, f"/after-idle/{i}", host="st.example.com")
        assert r.status == 200, r
        time.sleep(0.6)
    assert len({e[0] for e in nginx.wait_log(3)}) == 3


def test_pipelined_requests_answered_in_order(stack):
    nginx = two_dc_nginx(stack, 32019, 32020)
    stack.gateway(join(
        base_manifests([(31019, "http")]),
        dc_services(32019, 32020),
        route_table("p", ["p.example.com"], f"""
            http:
            - name: local
              matchers:
              - uri:
                  prefix: /local
              directResponse: {{status: 200, body: local-answer}}
            - name: ashburn
              matchers:
              - uri:
                  prefix: /ash
              forwardTo:
                destinations:
                {dest("ashburn", 80)}
            - name: dallas
              forwardTo:
                destinations:
                {dest("dallas", 32019)}
        """),
    ), [31019], workers=1)
    reqs = [
        request("GET", "/one", "p.example.com"),
        request("POST", "/two", "p.example.com", body=b"x" * 3000),
        request("GET", "/local/three", "p.example.com"),
        request("GET", "/ash/four", "p.example.com"),
        b"POST /five HTTP/1.1\r\nHost: p.example.com\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
        request("GET", "/six", "p.example.com"),
    ]
    c = Conn(GW, 31019)
    try:
        c.send(b"".join(reqs))  # one write
        got = []
        for _ in reqs:
            r = c.read_response()
            assert r is not None and r.status == 200, (got, r)
            got.append(r.text.strip())
    finally:
        c.close()
    assert "uri=/one" in got[0] and "method=GET" in got[0]
    assert "uri=/two" in got[1] and "method=POST" in got[1]
    assert got[2] == "local-answer"
    assert "uri=/ash/four" in got[3] and "dc=ashburn" in got[3]
    assert "uri=/five" in got[4] and "method=POST" in got[4]
    assert "uri=/six" in got[5]
    assert len(nginx.wait_log(5)) == 5


BODYLESS = {
    # name: (method, path, expected status)
    "204 No Content": ("GET", "/no-content", 204),
    "304 Not Modified": ("GET", "/not-modified", 304),
    "HEAD of a 200 with a length": ("HEAD", "/text", 200),
    "Content-Length: 0": ("GET", "/empty", 200),
    "201 Created, Content-Length: 0 (DAV PUT)": ("PUT", "/dav/new.txt", 201),
}
XFAIL_BODYLESS = {}  # every case here passes; a regression gets a marked entry


@pytest.mark.parametrize("case", [
    pytest.param(c, marks=pytest.mark.xfail(reason=XFAIL_BODYLESS[c], strict=True))
    if c in XFAIL_BODYLESS else c for c in BODYLESS])
def test_upstream_responses_without_body(stack, tmp_path, case):
    """Responses that end with their head are relayed at once, and the connection is reused."""
    stack.nginx(f"""
        server {{
          listen {DALLAS}:32021;
          location = /no-content {{ return 204; }}
          location = /not-modified {{ return 304; }}
          location = /text {{ return 200 "some text\\n"; }}
          location = /empty {{ return 200 ""; }}
          location /dav/ {{ root {tmp_path}/dav; dav_methods PUT; create_full_put_path on; }}
        }}
    """, [(DALLAS, 32021)])
    stack.gateway(join(
        base_manifests([(31021, "http")]),
        external_service("dallas", 32021, addresses=[DALLAS]),
        route_table("e", ["e.example.com"], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("dallas", 32021)}
        """),
    ), [31021], drain_timeout="300ms")  # a stuck exchange must not slow the teardown
    method, path, status = BODYLESS[case]
    c = Conn(GW, 31021, timeout=2)
    try:
        c.send(request(method, path, "e.example.com", body=b"data" if method == "PUT" else None))
        r = c.read_response(method)
        assert r is not None and (r.status, r.body) == (status, b""), r
        c.send(request("GET", "/text", "e.example.com"))
        assert c.read_response().body == b"some text\n"
    finally:
        c.close()


def scripted_gateway(stack, port, backend_port, script, **kw):
    srv = stack.server(ScriptedHTTPServer, DALLAS, backend_port, script)
    gw = stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("scripted", backend_port, addresses=[DALLAS]),
        route_table("s", ["s.example.com"], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("scripted", backend_port)}
        """),
    ), [port], workers=1, **kw)
    return gw, srv


def test_pooled_connection_closed_by_upstream_is_retried_on_a_fresh_one(stack):
    """The backend closes a kept-alive connection just as the next request arrives on it (the
    keep-alive race): the request is retried once on a fresh connection, the client sees 200."""
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nfresh\n"
    gw, srv = scripted_gateway(stack, 31023, 32023, lambda k: ok if k == 0 else None)
    c = Conn(GW, 31023)
    try:
        for i in range(3):
            c.send(request("GET", f"/r{i}", "s.example.com"))
            r = c.read_response()
            assert r is not None and (r.status, r.body) == (200, b"fresh\n"), (i, r)
    finally:
        c.close()
    assert srv.accepted == 3 and srv.requests == 5


# Upstream responses in the forms the fast head parser leaves to llhttp, and plain ones that
# end the connection: (response, body the client gets, upstream connections for two requests).
# The first request's response is the case; the second gets PLAIN on the connection left.
PLAIN = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain"
RESPONSE_FORMS = {
    "head in pieces": ([b"HTTP/1.1 200 OK\r\nCont", b"ent-Length: 5\r\n", b"\r\nhel", b"lo"],
                       b"hello", 1),
    "HTTP/1.0 kept alive": (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5"
                            b"\r\n\r\nhello", b"hello", 1),
    "chunked": (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3\r\nllo\r\n"
                b"0\r\n\r\n", b"hello", 1),
    "interim 100 first": (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5"
                          b"\r\n\r\nhello", b"hello", 1),
    "plain, Connection: close": (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5"
                                 b"\r\n\r\nhello", b"hello", 2),
    "plain, bytes beyond its length": (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA",
                                       b"hello", 2),
    "obs-fold (refused by llhttp)": (b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 5"
                                     b"\r\n\r\nhello", None, 2),
}


@pytest.mark.parametrize("case", list(RESPONSE_FORMS))
def test_upstream_response_forms_are_relayed_or_refused(stack, case):
    first, body, connections = RESPONSE_FORMS[case]
    answered = []  # per server, not per connection: the retry of a refused one gets PLAIN
    gw, srv = scripted_gateway(stack, 31031, 32031,
                               lambda k: answered.append(k) or (PLAIN if len(answered) > 1 else first))
    c = Conn(GW, 31031, timeout=3)
    try:
        c.send(request("GET", "/first", "s.example.com"))
        r = c.read_response()
        if r is not None and r.status == 100:  # relayed to the client as it came
            r = c.read_response()
        if body is None:
            assert r is not None and r.status == 502, r
        else:
            assert r is not None and (r.status, r.body) == (200, body), r
        c.send(request("GET", "/second", "s.example.com"))
        r = c.read_response()
        assert r is not None and (r.status, r.body) == (200, b"again"), r
    finally:
        c.close()
    assert srv.accepted == connections, srv.accepted


def test_hop_by_hop_response_headers_are_not_relayed(stack):
    resp = (b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nX-Internal: secret\r\n"
            b"Keep-Alive: timeout=5\r\nX-Public: yes\r\nContent-Length: 3\r\n\r\nok\n")
    stack_gw, _ = scripted_gateway(stack, 31025, 32025, lambda k: resp)
    c = Conn(GW, 31025)
    try:
        c.send(request("GET", "/h", "s.example.com"))
        r = c.read_response()
    finally:
        c.close()
    assert (r.status, r.body, r.header("X-Public")) == (200, b"ok\n", "yes"), r
    assert r.header("X-Internal") is None and r.header("Keep-Alive") is None, r


def test_http_connect_failure_is_retried_on_another_endpoint(stack):
    """Two endpoints, one refusing: every request is answered by the live one; those that tried
    the dead one first log retries=1."""
    stack.nginx(echo_server(ASHBURN, 32027, "ashburn"), [(ASHBURN, 32027)])
    gw = stack.gateway(join(
        base_manifests([(31027, "http")]),
        external_service("svc", 80, hosts=["svc.internal"], selector={"app": "svc"}),
        external_endpoint("svc-dead", NOWHERE, 32028, {"app": "svc"}),
        external_endpoint("svc-live", ASHBURN, 32027, {"app": "svc"}),
        route_table("r", ["retry.example.com"], f"""
            http:
            - name: all
              forwardTo:
                destinations:
                {dest("svc", 80)}
        """),
    ), [31027], workers=1)
    for i in range(4):
        r = get(31027, f"/try/{i}", host="retry.example.com")
        assert r.status == 200 and fields(r)["dc"] == "ashburn", r
    recs = gw.log_records(4, requests_only=True)
    assert all(x["endpoint"] == f"{ASHBURN}:32027" and x["status"] == 200 for x in recs), recs
    assert any(x["retries"] == 1 for x in recs), recs


def test_auto_host_rewrite_uses_the_service_hostname(stack):
    two_dc_nginx(stack, 32029, 32030)
    stack.gateway(join(
        base_manifests([(31029, "http")]),
        dc_services(32029, 32030),
        route_table("a", ["auto.example.com"], f"""
            http:
            - name: auto
              forwardTo:
                autoHostRewrite: true
                destinations:
                {dest("ashburn", 80)}
        """),
    ), [31029])
    r = get(31029, "/x", host="auto.example.com")
    assert r.status == 200, r
    assert (fields(r)["dc"], fields(r)["host"]) == ("ashburn", "ashburn.internal")

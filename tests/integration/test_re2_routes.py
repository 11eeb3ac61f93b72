"""Regexes are RE2 (spec §3.2, §3.3), as Envoy and so Gloo evaluate them.

A route whose regex only a backtracking engine knows (look-ahead here) is misconfigured: `causeway
validate` says so with RE2's own words, and at run time that route answers 500 while the others
are served. A hostile path against `(a+)+$` is answered promptly and rightly: RE2 does not
backtrack, so there is no match limit to hit — under one a deny route written with a costly
alternative silently stopped matching and the request went on to the catch-all route (fail open).

Ports: gateway listeners 40101-40119 on 127.0.0.90, backends 40151-40169 on DALLAS.
"""
import time

from backends import (DALLAS, GW, Conn, RecordingServer, base_manifests, dest, external_service,
                      join, request, route_table, wait_until)

HOST = "re2.example.com"
HOSTILE = 20000  # 'a's in a hostile path: well inside the 32 KB request head

# What RE2 says of the look-ahead, as Envoy would report it.
LOOKAHEAD_ERROR = "matchers[0].uri.regex: invalid perl operator: (?= (route lookahead)"


def manifests(port, backend_port):
    """Routes in list order: a misconfigured one, a deny route, a hostile-pattern one, a rewrite,
    and a catch-all to the recording backend."""
    return join(
        base_manifests([(port, "http")]),
        external_service("api", backend_port, addresses=[DALLAS]),
        route_table("re2", [HOST], f"""
            http:
            - name: lookahead
              matchers:
              - uri:
                  regex: "/pcre/(?=x).*"
              directResponse:
                status: 200
                body: look-ahead
            - name: deny
              matchers:
              - uri:
                  regex: "/admin/(a+)+b|/admin/.*"
              directResponse:
                status: 403
                body: denied
            - name: nested
              matchers:
              - uri:
                  regex: "/h/(a+)+$"
              directResponse:
                status: 200
                body: all a
            - name: rewrite
              matchers:
              - uri:
                  prefix: /rw/
              forwardTo:
                regexRewrite:
                  pattern:
                    regex: ^/rw/([^/]+)/(.*)$
                  substitution: /\\2/\\1
                destinations:
                {dest("api", backend_port)}
            - name: catch-all
              matchers:
              - uri:
                  prefix: /
              forwardTo:
                destinations:
                {dest("api", backend_port)}
        """),
    )


def exchange(conn, path):
    conn.send(request("GET", path, HOST))
    return conn.read_response()


def test_pcre_only_pattern_is_misconfigured_with_re2s_words(causeway, write):
    f = write("all.yaml", manifests(40101, 40151))
    r = causeway.validate(f)
    assert r.approval("RouteTable", "gw/re2") == "INVALID", r
    assert r.message("RouteTable", "gw/re2") == LOOKAHEAD_ERROR, r
    table = causeway.validate(f, output="table")
    assert LOOKAHEAD_ERROR in table.stdout, table


def test_pcre_only_route_answers_500_while_others_are_served(stack):
    srv = stack.server(RecordingServer, DALLAS, 40152)
    stack.gateway(manifests(40102, 40152), [40102])
    c = Conn(GW, 40102)
    try:
        r = exchange(c, "/pcre/x")
        assert r.status == 500, r
        assert "invalid perl operator: (?=" in r.text, r
        assert (exchange(c, "/h/aaa").status, exchange(c, "/admin/x").status) == (200, 403)
        assert exchange(c, "/rw/items/v2").status == 200
        assert exchange(c, "/other").status == 200
    finally:
        c.close()
    wait_until(lambda: srv.all_bytes().count(b"GET ") == 2, 5, what="two requests upstream")
    lines = [l for l in srv.all_bytes().split(b"\r\n") if l.startswith(b"GET ")]
    assert lines == [b"GET /v2/items HTTP/1.1", b"GET /other HTTP/1.1"]  # \2/\1 rewritten


def test_hostile_paths_are_answered_promptly_and_rightly(stack):
    srv = stack.server(RecordingServer, DALLAS, 40153)
    stack.gateway(manifests(40103, 40153), [40103])
    hostile = "/h/" + "a" * HOSTILE + "!"   # (a+)+$ cannot match: the catch-all serves it
    benign = "/h/" + "a" * HOSTILE          # matches
    deny = "/admin/" + "a" * HOSTILE        # /admin/.* matches; (a+)+b would backtrack
    c = Conn(GW, 40103)
    try:
        start = time.monotonic()
        for _ in range(25):
            assert exchange(c, deny).status == 403
            assert exchange(c, benign).status == 200
            assert exchange(c, hostile).status == 200
        elapsed = time.monotonic() - start
    finally:
        c.close()
    # 75 requests over one connection, each path searched by the routes above it too. RE2 needs
    # well under a millisecond per path; a backtracker spent 10-20 ms per costly match (about
    # 2 s here) and then gave up. Generous, for a loaded or sanitized build.
    assert elapsed < 1.0, f"75 requests took {elapsed:.2f} s"
    # Only the hostile paths reached the backend: no deny request leaked through.
    wait_until(lambda: srv.all_bytes().count(b"GET ") == 25, 5, what="25 requests upstream")
    assert b"GET /admin/" not in srv.all_bytes()

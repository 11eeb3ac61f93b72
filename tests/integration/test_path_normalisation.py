"""Path normalisation before routing: a route for the prefix /v1/ cannot be used to reach /admin
with dot segments, plain or percent-encoded, and the upstream receives the normalised path
(RFC 3986 dot segments removed, escapes of unreserved characters decoded, `//` kept); a path
that climbs above / is refused. The backend records every byte it receives.

Ports: gateway listeners 40021-40039 on 127.0.0.90, raw backends 40071-40089 on DALLAS (the
40001-40099 range is this file's and test_request_refusals.py's).
"""
from backends import (DALLAS, GW, Conn, RecordingServer, base_manifests, dest, external_service,
                      join, request, route_table, wait_until)

HOST = "paths.example.com"


def start(stack, port, backend_port):
    """/v1/ goes to the recording backend; /admin gets a local 403; anything else a 404."""
    srv = stack.server(RecordingServer, DALLAS, backend_port)
    gw = stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("v1", backend_port, addresses=[DALLAS]),
        route_table("paths", [HOST], f"""
            http:
            - name: v1
              matchers:
              - uri:
                  prefix: /v1/
              forwardTo:
                destinations:
                {dest("v1", backend_port)}
            - name: admin
              matchers:
              - uri:
                  prefix: /admin
              directResponse:
                status: 403
                body: admin only
        """),
    ), [port])
    return srv, gw


def send(port, target):
    """One GET of `target` (sent byte for byte) on a keep-alive connection; the Response."""
    c = Conn(GW, port)
    try:
        c.send(request("GET", target, HOST))
        return c.read_response()
    finally:
        c.close()


def request_lines(srv):
    return [line for line in srv.all_bytes().split(b"\r\n") if line.startswith(b"GET ")]


def test_dot_segments_cannot_leave_the_prefix_route(stack):
    srv, _ = start(stack, 40021, 40071)
    for target in ("/v1/../admin", "/v1/%2e%2e/admin", "/v1/%2E%2E/admin", "/v1/.%2e/admin/x",
                   "/v1/./../admin?next=/v1/"):
        r = send(40021, target)
        assert (r.status, r.body) == (403, b"admin only"), (target, r)
    # The same backend is reachable the honest way, and nothing above ever reached it.
    r = send(40021, "/v1/items")
    assert r.status == 200, r
    wait_until(lambda: request_lines(srv), 5, what="the request at the backend")
    assert request_lines(srv) == [b"GET /v1/items HTTP/1.1"], srv.all_bytes()


def test_a_path_above_the_root_is_refused(stack):
    srv, _ = start(stack, 40022, 40072)
    for target in ("/..", "/../v1/x", "/v1/../../v1/x", "/%2e%2e/v1/x"):
        r = send(40022, target)
        assert r.status == 400, (target, r)
        assert r.text == "malformed request: path climbs above /\n", (target, r.text)
    assert srv.all_bytes() == b""


def test_the_upstream_receives_the_normalised_path(stack):
    srv, gw = start(stack, 40023, 40073)
    sent = {
        "/admin/../v1/a": b"/v1/a",
        "/v1/x/./../%7Euser/%41b": b"/v1/~user/Ab",
        "/v1/a%2F..%2Fb": b"/v1/a%2F..%2Fb",      # %2F is reserved: not a '/'
        "/v1//a//": b"/v1//a//",                  # slashes are not merged
        "/v1/a/..?q=/../x&e=%2e%2e": b"/v1/?q=/../x&e=%2e%2e",  # the query is untouched
    }
    for target in sent:
        r = send(40023, target)
        assert r.status == 200, (target, r)
    want = [b"GET " + path + b" HTTP/1.1" for path in sent.values()]
    wait_until(lambda: len(request_lines(srv)) == len(want), 5, what="every request upstream")
    assert request_lines(srv) == want, srv.all_bytes()
    # The access log keeps what the client sent.
    paths = [rec["path"] for rec in gw.log_records(len(sent), requests_only=True)]
    assert paths == list(sent), paths

"""Request smuggling through hop-by-hop headers: a `Connection` header that names Content-Length,
Transfer-Encoding or Host removes none of them, in either direction. The backend here is a raw
socket that records exactly the bytes it receives, so the test sees what the upstream would parse.

Ports: gateway listeners 38001-38049 on 127.0.0.90, raw backends 38051-38099 on DALLAS.
"""
import re
import threading

from backends import (DALLAS, GW, Conn, Deadline, RecordingServer, base_manifests, dest,
                      external_service, join, request, route_table)

HOST = "smuggle.example.com"


def gateway(stack, port, backend_port):
    return stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("raw", backend_port, addresses=[DALLAS]),
        route_table("smuggle", [HOST], f"""
            http:
            - name: raw
              forwardTo:
                destinations:
                {dest("raw", backend_port)}
        """),
    ), [port])


def ok(k):
    return b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"


def wait_bytes(srv, pattern, timeout=5.0):
    d = Deadline(timeout)
    while not d.expired():
        if re.search(pattern, srv.all_bytes()):
            return srv.all_bytes()
        threading.Event().wait(0.02)
    return srv.all_bytes()


def test_connection_naming_content_length_keeps_the_body_framed(stack):
    srv = stack.server(RecordingServer, DALLAS, 38051, ok)
    gateway(stack, 38001, 38051)
    inner = b"GET /smuggled HTTP/1.1\r\nHost: victim\r\n\r\n"
    c = Conn(GW, 38001)
    c.send(b"POST /outer HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
           b"Connection: content-length\r\nContent-Length: %d\r\n\r\n" % len(inner) + inner)
    r = c.read_response()
    assert r.status == 200
    got = wait_bytes(srv, rb"Content-Length: %d\r\n" % len(inner))
    head, _, body = got.partition(b"\r\n\r\n")
    assert re.search(rb"(?im)^content-length: %d\r?$" % len(inner), head), got
    # The inner request arrived as the outer request's body, framed by its length: the upstream
    # never reads it as a request of its own.
    assert body == inner, got
    c.close()


def test_connection_naming_transfer_encoding_keeps_the_chunks_framed(stack):
    srv = stack.server(RecordingServer, DALLAS, 38052, ok)
    gateway(stack, 38002, 38052)
    c = Conn(GW, 38002)
    c.send(b"POST /outer HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
           b"Connection: keep-alive, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nhello\r\n0\r\n\r\n")
    r = c.read_response()
    assert r.status == 200
    got = wait_bytes(srv, rb"0\r\n\r\n")
    head = got.partition(b"\r\n\r\n")[0]
    assert re.search(rb"(?im)^transfer-encoding: chunked\r?$", head), got
    c.close()


def test_connection_naming_host_keeps_the_host(stack):
    srv = stack.server(RecordingServer, DALLAS, 38053, ok)
    gateway(stack, 38003, 38053)
    c = Conn(GW, 38003)
    c.send(request("GET", "/h", HOST, [("Connection", "host")]))
    assert c.read_response().status == 200
    got = wait_bytes(srv, rb"\r\n\r\n")
    assert re.search(rb"(?im)^host: " + re.escape(HOST.encode()) + rb"\r?$", got), got
    c.close()


def test_a_response_connection_list_keeps_the_response_framed(stack):
    # The upstream names Content-Length in its Connection header and keeps the connection alive:
    # the client must still get a framed body, and the next response on the same client
    # connection must come out intact.
    def answer(k):
        return (b"HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 6\r\n\r\n"
                b"first\n" if k == 0 else ok(k))

    stack.server(RecordingServer, DALLAS, 38054, answer)
    gateway(stack, 38004, 38054)
    c = Conn(GW, 38004)
    c.send(request("GET", "/1", HOST))
    r = c.read_response()
    assert r.status == 200 and r.header("Content-Length") == "6" and r.body == b"first\n"
    c.send(request("GET", "/2", HOST))
    r = c.read_response()
    assert r.status == 200 and r.body == b"ok\n"
    c.close()


def test_a_chunked_body_ending_in_a_bare_lf_is_refused(stack):
    # llhttp would end the body at "0\r\n\n"; the upstream, reading the same bytes, might not,
    # and would take what follows as a request of its own. The end is never forwarded.
    srv = stack.server(RecordingServer, DALLAS, 38055, ok)
    gateway(stack, 38005, 38055)
    c = Conn(GW, 38005)
    c.send(b"POST /outer HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\nGET /smuggled HTTP/1.1\r\n"
           b"Host: victim\r\n\r\n")
    r = c.read_response()
    assert r.status == 400, r
    assert r.text.startswith("malformed request body: chunked body must end with CRLF"), r.text
    assert c.closed_by_peer(3)
    got = srv.all_bytes()
    assert b"0\r\n\n" not in got and b"/smuggled" not in got, got


def test_a_malformed_chunk_gets_400_not_a_bare_close(stack):
    stack.server(RecordingServer, DALLAS, 38056, ok)
    gateway(stack, 38006, 38056)
    c = Conn(GW, 38006)
    c.send(b"POST /outer HTTP/1.1\r\nHost: " + HOST.encode() + b"\r\n"
           b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
    r = c.read_response()
    assert r is not None and r.status == 400, r
    assert r.text.startswith("malformed request body"), r.text
    assert c.closed_by_peer(3)

"""Request bodies against the upstream's pace: body bytes that arrive while the upstream connect
is still under way go out after the request head; an upload longer than --upstream-timeout is
not cut (the upstream's time to answer starts when the request is sent whole); and an upload
that stops moving is ended by the idle timeout, naming the side that stalled: 408 for a client
that stops sending (the upstream is not blamed), 504 for an upstream that stops reading.

Ports: gateway listeners 37001-37049 on 127.0.0.90, python backends 37051-37099 on DALLAS.
"""
import hashlib
import socket
import threading
import time

from backends import (DALLAS, GW, BodyReadingHTTPServer, Conn, base_manifests, dest,
                      external_service, gateway_events, join, outlier_detection_policy,
                      request, route_table)

HOST = "upload.example.com"


def upload_gateway(stack, port, backend_port, args=(), policies=()):
    """A gateway on `port` sending every request for HOST to ExternalService data/sink on DALLAS
    `backend_port`, which carries the label failover=true that resilience policies select."""
    return stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("sink", backend_port, addresses=[DALLAS], labels={"failover": "true"}),
        route_table("upload", [HOST], f"""
            http:
            - name: sink
              forwardTo:
                destinations:
                {dest("sink", backend_port)}
        """),
        *policies,
    ), [port], args=list(args))


def raw_listener(port, backlog):
    """A listening socket on DALLAS `port` that accepts only when the test says so."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((DALLAS, port))
    srv.listen(backlog)
    srv.settimeout(5)
    return srv


def digest(data):
    return b"%d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode())


def test_body_arriving_during_the_upstream_connect_follows_the_head(stack):
    # The backend's accept queue is full (backlog 0, one connection waiting), so the kernel drops
    # the gateway's SYN and retries it a second later: the client's body reaches the gateway
    # while its upstream connect is still under way.
    srv = raw_listener(37051, 0)
    filler = socket.create_connection((DALLAS, 37051), timeout=2)
    try:
        upload_gateway(stack, 37001, 37051)
        body = bytes(range(256)) * 64
        c = Conn(GW, 37001, timeout=8)
        try:
            c.send(request("PUT", "/late", HOST, [("Content-Length", str(len(body)))]))
            time.sleep(0.3)  # the gateway has routed the head and started connecting
            c.send(body)
            time.sleep(0.2)
            srv.accept()[0].close()  # the filler: the queue has room for the SYN's retry
            up, _ = srv.accept()
            try:
                up.settimeout(5)
                got = b""
                while not got.endswith(body) and len(got) < 2 * len(body) + 4096:
                    d = up.recv(65536)
                    if not d:
                        break
                    got += d
                head, sep, rest = got.partition(b"\r\n\r\n")
                assert head.startswith(b"PUT /late HTTP/1.1\r\n"), got[:200]
                assert sep and rest == body, f"{len(rest)} body bytes after the head, {len(body)} sent"
                up.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n")
                r = c.read_response()
                assert r.status == 200 and r.body == b"ok\n", r
            finally:
                up.close()
        finally:
            c.close()
    finally:
        filler.close()
        srv.close()


def test_upload_longer_than_the_upstream_timeout_is_not_cut(stack):
    sink = stack.server(BodyReadingHTTPServer, DALLAS, 37053)
    gw = upload_gateway(stack, 37003, 37053, ["--upstream-timeout", "1s"])
    pieces = [bytes([i]) * 100_000 for i in range(8)]
    body = b"".join(pieces)
    c = Conn(GW, 37003, timeout=8)
    try:
        started = time.monotonic()
        c.send(request("PUT", "/slow", HOST, [("Content-Length", str(len(body)))]))
        for piece in pieces:
            time.sleep(0.35)  # 2.8 s of uploading in all
            c.send(piece)
        r = c.read_response()
        took = time.monotonic() - started
    finally:
        c.close()
    assert took > 2.5, f"the upload took {took:.2f}s; it must outlast --upstream-timeout 1s"
    assert r.status == 200 and r.body == digest(body), r
    rec = gw.log_records(1, requests_only=True)[-1]
    assert rec["status"] == 200 and rec["bytes_in"] >= len(body), rec
    assert sink.bodies_done == 1


def test_upstream_timeout_counts_from_the_end_of_the_request(stack):
    """Once the body is sent whole, --upstream-timeout applies as for any request."""
    stack.server(BodyReadingHTTPServer, DALLAS, 37055, delay=5)
    gw = upload_gateway(stack, 37005, 37055, ["--upstream-timeout", "1s"])
    body = b"x" * 50_000
    c = Conn(GW, 37005, timeout=8)
    try:
        c.send(request("PUT", "/answer-late", HOST, [("Content-Length", str(len(body)))]))
        time.sleep(0.6)
        c.send(body)
        sent = time.monotonic()
        r = c.read_response()
        waited = time.monotonic() - sent
    finally:
        c.close()
    assert r.status == 504 and b"upstream timeout" in r.body, r
    assert 0.8 <= waited <= 2.5, f"504 after {waited:.2f}s; --upstream-timeout is 1s"
    assert gw.log_records(1, requests_only=True)[-1]["reason"] == "upstream timeout"


def test_client_that_stops_sending_its_body_gets_408_and_the_upstream_is_not_blamed(stack):
    sink = stack.server(BodyReadingHTTPServer, DALLAS, 37057)
    gw = upload_gateway(stack, 37007, 37057,
                        ["--idle-timeout", "1s", "--upstream-timeout", "500ms"],
                        [outlier_detection_policy(consecutiveErrors=1, baseEjectionTime="30s")])
    c = Conn(GW, 37007, timeout=8)
    try:
        c.send(request("PUT", "/stalls", HOST, [("Content-Length", "100000")]))
        c.send(b"only the start of it")
        sent = time.monotonic()
        r = c.read_response()
        waited = time.monotonic() - sent
        assert c.closed_by_peer(3), "the connection stays open after a cut-short request"
    finally:
        c.close()
    assert r.status == 408 and b"request body not received in time" in r.body, r
    assert 0.8 <= waited <= 3.0, f"408 after {waited:.2f}s; --idle-timeout is 1s"
    assert sink.bodies_done == 0
    rec = gw.log_records(1, requests_only=True)[-1]
    assert rec["status"] == 408 and rec["reason"] == "request body not received in time", rec
    assert gateway_events(gw, "eject") == [], "a slow client got its upstream ejected"


def test_upstream_that_stops_reading_the_body_gets_504(stack):
    # A backend that reads the head and then nothing: once the socket buffers on the way are
    # full, the upload makes no progress.
    srv = raw_listener(37059, 8)
    gw = upload_gateway(stack, 37009, 37059, ["--idle-timeout", "1s", "--upstream-timeout", "30s"])
    size = 256 << 20
    c = Conn(GW, 37009, timeout=8)
    stop = threading.Event()

    def send_until_blocked():
        block = b"z" * (1 << 20)
        try:
            c.sock.sendall(request("PUT", "/never-read", HOST, [("Content-Length", str(size))]))
            while not stop.is_set():
                c.sock.sendall(block)
        except OSError:  # the gateway answered and closed
            pass

    t = threading.Thread(target=send_until_blocked, daemon=True)
    up = None
    try:
        t.start()
        up, _ = srv.accept()
        up.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        r = c.read_response()
    finally:
        stop.set()
        c.close()
        t.join(10)
        if up:
            up.close()
        srv.close()
    assert r is not None and r.status == 504 and b"upstream timeout" in r.body, r
    rec = gw.log_records(1, requests_only=True)[-1]
    assert rec["status"] == 504 and rec["reason"] == "upstream timeout", rec

"""What a hostile or broken upstream cannot do through the gateway: hand the client a status
outside 100-599, or a response framed by the connection's end on a connection that then looks
reusable; and what a second causeway cannot do: share the first one's port.

Ports: gateway listeners 38021-38039 on 127.0.0.90, python backends 38071-38089 on DALLAS.
"""
import socket
import subprocess
import time

from backends import (DALLAS, GW, Conn, ScriptedHTTPServer, _read_head, _ThreadServer,
                      base_manifests, dest, external_service, get, join, request, route_table)

HOST = "hostile.example.com"


def gateway(stack, port, backend_port, **kw):
    return stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("up", backend_port, addresses=[DALLAS]),
        route_table("hostile", [HOST], f"""
            http:
            - name: up
              forwardTo:
                destinations:
                {dest("up", backend_port)}
        """),
    ), [port], **kw)


def test_a_status_outside_100_to_599_is_a_502(stack):
    for i, status in enumerate([b"000", b"099", b"600"]):
        srv = stack.server(ScriptedHTTPServer, DALLAS, 38071 + i,
                           lambda k, s=status: b"HTTP/1.1 " + s + b" Odd\r\nContent-Length: 2\r\n\r\nhi")
        gateway(stack, 38021 + i, 38071 + i)
        r = get(38021 + i, "/", host=HOST)
        assert r.status == 502, (status, r)
        assert r.text.strip() == "invalid response from upstream: status outside 100-599", r.text
        assert srv.requests >= 1


class EofFramedServer(_ThreadServer):
    """Answers each connection's first request with a body that only its end delimits (no
    length, no chunking, yet "Connection: keep-alive"), sent in two pieces, then closes."""

    def serve(self, c):
        if _read_head(c) is None:
            return
        c.sendall(b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n\r\nfirst part,")
        time.sleep(0.1)
        c.sendall(b" last part")
        c.shutdown(socket.SHUT_WR)
        c.close()


def test_a_response_framed_by_its_end_closes_both_connections(stack):
    # The client gets the body whole with "Connection: close"; the upstream connection is not
    # pooled, so the next request opens a new one.
    srv = stack.server(EofFramedServer, DALLAS, 38075)
    gateway(stack, 38025, 38075)
    c = Conn(GW, 38025, timeout=5)
    try:
        c.send(request("GET", "/eof", HOST))
        r = c.read_response()
        assert r.status == 200 and r.body == b"first part, last part", r
        assert (r.header("Connection") or "").lower() == "close", r.headers
        assert c.closed_by_peer(3)
    finally:
        c.close()
    r = get(38025, "/again", host=HOST)
    assert r.status == 200 and r.body == b"first part, last part", r
    assert srv.accepted == 2, "the upstream connection of a response framed by EOF was reused"


def test_a_second_causeway_on_the_same_port_does_not_start(stack, causeway, tmp_path):
    srv = stack.server(ScriptedHTTPServer, DALLAS, 38079,
                       lambda k: b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none")
    first = gateway(stack, 38029, 38079)
    manifests = first.config / "all.yaml"
    proc = subprocess.run([causeway.binary, "run", "-c", str(manifests), "--namespace", "gw",
                           "--labels", "app=c-gateway", "--bind", GW, "--workers", "1",
                           "--admin", "off"],
                          capture_output=True, text=True, timeout=10)
    assert proc.returncode != 0, proc
    assert (f"cannot listen on {GW}:38029: the port is already in use by another process"
            in proc.stderr), proc.stderr
    for _ in range(20):  # the first keeps all the traffic
        assert get(38029, "/", host=HOST).status == 200
    assert srv.requests == 20

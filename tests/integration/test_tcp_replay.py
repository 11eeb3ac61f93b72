"""TCP: an upstream that accepts a connection and then resets or closes it before sending its
first byte (a database dying under the connection) does not cost the client its connection.
The client's first bytes (a startup message) are kept until the upstream speaks and are
replayed, once, to another endpoint chosen by the same priority rules. A client that said more
than 4 KiB before the upstream spoke is past any handshake: it is not replayed.

The gateway's locality is us-east-1/us-east-1a (backends.IDENTITY): the dying endpoint sits
there (priority 0, with an OutlierDetectionPolicy), the healthy one in another region.

Ports: gateway listeners 35001-35019 on 127.0.0.90, python backends 35101-35119.
"""
import socket
import struct

from backends import (ASHBURN, DALLAS, GW, _ThreadServer, base_manifests, dest,
                      external_endpoint, external_service, gateway_events, join,
                      outlier_detection_policy, route_table)


class DyingServer(_ThreadServer):
    """Reads the client's first bytes, then resets (mode "reset") or closes ("close") without
    ever sending a byte. Records what it read."""

    def __init__(self, addr, port, mode):
        super().__init__(addr, port)
        self.mode, self.received = mode, []

    def serve(self, c):
        self.received.append(c.recv(65536))
        if self.mode == "reset":  # RST instead of FIN
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()


class EchoServer(_ThreadServer):
    """Answers every chunk it reads with b"echo:" + the chunk."""

    def serve(self, c):
        while True:
            d = c.recv(65536)
            if not d:
                c.close()  # the tunnel ends when both sides have closed
                return
            c.sendall(b"echo:" + d)


def manifests(gw_port, port, od=True):
    docs = [
        base_manifests([(gw_port, "tcp")]),
        external_service("db", port, protocol="TCP", hosts=["db.internal"],
                         selector={"app": "db"}, labels={"failover": "true"}),
        external_endpoint("db-local", DALLAS, port, {"app": "db"}, locality="us-east-1/us-east-1a"),
        external_endpoint("db-far", ASHBURN, port, {"app": "db"}, locality="us-west-2/us-west-2a"),
        route_table("db", ["db.internal"], f"""
            tcp:
            - matchers:
              - port: {gw_port}
              forwardTo:
                destinations:
                {dest("db", port)}
        """),
    ]
    if od:
        docs.append(outlier_detection_policy(consecutiveErrors=5, baseEjectionTime="30s"))
    return join(*docs)


def exchange(port, first, timeout=5):
    """Connects to the gateway, sends `first`, returns the first answer (b"" on close)."""
    with socket.create_connection((GW, port), timeout=timeout) as s:
        s.sendall(first)
        try:
            return s.recv(65536)
        except ConnectionResetError:
            return b""


def test_upstream_reset_before_first_byte_is_replayed_elsewhere(stack):
    dying = stack.server(DyingServer, DALLAS, 35101, "reset")
    healthy = stack.server(EchoServer, ASHBURN, 35101)
    gw = stack.gateway(manifests(35001, 35101), [35001])
    startup = b"\x00\x00\x00\x08\x04\xd2\x16\x2f"  # a PostgreSQL SSLRequest
    assert exchange(35001, startup) == b"echo:" + startup
    assert dying.received == [startup]  # the local endpoint got it first, and died
    assert healthy.accepted == 1
    rec = gw.log_records(1)[0]
    assert rec["endpoint"] == f"{ASHBURN}:35101" and rec["retries"] == 1, rec
    assert rec["reason"] in ("-", None), rec


def test_upstream_close_before_first_byte_is_replayed_too(stack):
    dying = stack.server(DyingServer, DALLAS, 35103, "close")
    stack.server(EchoServer, ASHBURN, 35103)
    gw = stack.gateway(manifests(35003, 35103, od=False), [35003])
    # Without outlier detection nothing is ejected: round robin keeps trying the dying endpoint
    # first (the retry moves the cursor past the healthy one), and every client still gets its
    # echo from the healthy one.
    for i in range(6):
        msg = b"hello %d" % i
        assert exchange(35003, msg) == b"echo:" + msg, gw
    recs = gw.log_records(6)
    assert {r["endpoint"] for r in recs} == {f"{ASHBURN}:35103"}
    assert [r["retries"] for r in recs] == [1] * 6, recs
    assert dying.received == [b"hello %d" % i for i in range(6)]


def test_failures_before_first_byte_eject_the_endpoint(stack):
    """Each replay counts as a failure of the endpoint that died: after consecutiveErrors (5)
    the endpoint is ejected and clients go straight to the healthy one."""
    dying = stack.server(DyingServer, DALLAS, 35105, "reset")
    stack.server(EchoServer, ASHBURN, 35105)
    gw = stack.gateway(manifests(35005, 35105), [35005])
    for i in range(8):
        assert exchange(35005, b"q%d" % i) == b"echo:q%d" % i, gw
    recs = gw.log_records(8)
    assert [r["retries"] for r in recs] == [1, 1, 1, 1, 1, 0, 0, 0], recs
    assert len(dying.received) == 5
    ejects = gateway_events(gw, "eject")
    assert len(ejects) == 1 and ejects[0]["endpoint"] == f"{DALLAS}:35105", gw
    assert "upstream reset before responding" in ejects[0]["reason"], ejects


def test_more_than_4k_before_the_upstream_speaks_is_not_replayed(stack):
    dying = stack.server(DyingServer, DALLAS, 35107, "reset")
    healthy = stack.server(EchoServer, ASHBURN, 35107)
    gw = stack.gateway(manifests(35007, 35107), [35007])
    big = b"x" * 5000
    assert exchange(35007, big) == b""  # the client loses this connection
    assert healthy.accepted == 0
    assert len(dying.received) == 1
    rec = gw.log_records(1)[0]
    assert rec["endpoint"] == f"{DALLAS}:35107" and rec["retries"] == 0, rec

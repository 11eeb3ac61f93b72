"""WebSocket and Upgrade through the gateway (issue 12, Deliver 4): a request with
`Connection: Upgrade` / `Upgrade: websocket` reaches the backend with those headers; after the
backend's `101 Switching Protocols` the connection is a tunnel in both directions (messages both
ways, a 1 MiB message, a message the server pushes unasked, the close handshake, the idle timeout,
a backend that drops the connection); any other answer continues as plain HTTP; a 101 the client
did not ask for is a 502 (issue 11, item 6).

Every exchange is real: the causeway binary between a Python RFC 6455 client and server
(websocket.py, standard library only), which are also checked against each other without the
gateway (test_the_websocket_helpers_speak_rfc6455), so a failure here is the gateway's.

Ports: gateway listeners 39001-39049 on 127.0.0.90 (GW), python backends 39051-39099 on DALLAS.
"""
import hashlib
import socket
import threading
import time

import pytest

from backends import (DALLAS, GW, Conn, ScriptedHTTPServer, base_manifests, dest,
                      external_service, get, join, request, route_table, wait_until)
from websocket import (OP_BINARY, OP_CLOSE, OP_PING, OP_TEXT, Peer, WebSocketClient,
                       WebSocketServer, accept_key, close_payload, encode_frame, handshake_problems,
                       handshake_request, header_tokens, new_key, parse_close, parse_head,
                       socket_fds, tcp_states)

HOST = "ws.example.com"
MIB = 1 << 20


def ws_gateway(stack, port, backend_port, args=()):
    """A gateway with an HTTP listener on `port` sending every request for HOST to
    ExternalService data/chat on DALLAS `backend_port`."""
    return stack.gateway(join(
        base_manifests([(port, "http")]),
        external_service("chat", backend_port, addresses=[DALLAS]),
        route_table("chat", [HOST], f"""
            http:
            - name: chat
              forwardTo:
                destinations:
                {dest("chat", backend_port)}
        """),
    ), [port], args=list(args))


def incompressible(n, seed=b"websocket"):
    return hashlib.shake_256(seed).digest(n)


def echo_round(ws, messages):
    """Sends every message first (pipelined), then reads the echoes: each must come back intact
    and in order. messages: [(opcode, payload)]."""
    for op, payload in messages:
        ws.send_frame(op, payload)
    for i, (op, payload) in enumerate(messages):
        got_op, got = ws.recv_message(timeout=10)
        assert (got_op, len(got)) == (op, len(payload)) and got == payload, \
            f"echo {i}: sent opcode {op:#x} {len(payload)} bytes, got {got_op:#x} {len(got)} bytes"


def assert_connections_gone(gw, ports, sockets_before, timeout=3.0):
    """Nothing of a finished connection is left: the gateway holds as many sockets as before it,
    and no TCP socket at GW/DALLAS `ports` is in any state but LISTEN or TIME_WAIT."""
    def leftovers():
        return [(a, p, s) for a, p in ports for s in tcp_states(a, p)
                if s not in ("LISTEN", "TIME_WAIT")]
    try:
        wait_until(lambda: socket_fds(gw.pid) == sockets_before and not leftovers(), timeout,
                   what="the gateway to let go of the connection")
    except AssertionError as e:
        raise AssertionError(f"{e}: gateway sockets {socket_fds(gw.pid)} (before: "
                             f"{sockets_before}), TCP sockets left {leftovers()}") from None


# --------------------------------------------------------------------------------------------
# the helpers themselves, without the gateway
# --------------------------------------------------------------------------------------------

def test_the_websocket_helpers_speak_rfc6455(stack):
    """The client and server of websocket.py against RFC 6455's own examples and each other: a
    failure of the gateway tests below is then the gateway's, not the helpers'."""
    # §1.3 and §4.2.2: the accept key of the RFC's sample nonce.
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    # §5.7: the example frames, byte for byte.
    assert encode_frame(OP_TEXT, b"Hello") == bytes.fromhex("810548656c6c6f")
    assert encode_frame(OP_TEXT, b"Hello", mask_key=bytes.fromhex("37fa213d")) == \
        bytes.fromhex("818537fa213d7f9f4d5158")
    assert encode_frame(OP_TEXT, b"Hel", fin=False) == bytes.fromhex("010348656c")
    assert encode_frame(0x0, b"lo") == bytes.fromhex("80026c6f")
    assert encode_frame(OP_PING, b"Hello") == bytes.fromhex("890548656c6c6f")
    assert encode_frame(OP_BINARY, bytes(256))[:4] == bytes.fromhex("827e0100")
    assert encode_frame(OP_BINARY, bytes(65536))[:10] == bytes.fromhex("827f0000000000010000")
    assert parse_close(close_payload(1001, "away")) == (1001, "away")

    # Every length class, masked one way and not the other, through a socket pair.
    a, b = socket.socketpair()
    a.settimeout(5)
    b.settimeout(5)
    client, server = Peer(a, masks=True), Peer(b, masks=False)
    sizes = [0, 1, 125, 126, 65535, 65536, 300_000]
    try:
        t = threading.Thread(target=lambda: [client.send_frame(OP_BINARY, incompressible(n))
                                             for n in sizes], daemon=True)
        t.start()
        for n in sizes:
            f = server.read_frame()
            server.check_frame(f)
            assert (f.fin, f.opcode, f.masked, f.payload) == (True, OP_BINARY, True,
                                                              incompressible(n)), n
        t.join(5)
        server.send_frame(OP_TEXT, b"unmasked")
        f = client.read_frame()
        client.check_frame(f)
        assert (f.masked, f.payload) == (False, b"unmasked")
    finally:
        a.close()
        b.close()

    # A whole session, client straight to server.
    srv = stack.server(WebSocketServer, DALLAS, 39099, greeting="welcome", push_after=0.3)
    ws = WebSocketClient(DALLAS, 39099)
    try:
        r = ws.open()
        assert r.header("Sec-WebSocket-Protocol") == "chat"
        assert ws.recv_text() == "welcome"
        assert ws.recv_text() == "pushed by the server"
        echo_round(ws, [(OP_TEXT, "héllo wörld ✓".encode()), (OP_TEXT, b""),
                        (OP_TEXT, b"m" * 1000), (OP_BINARY, bytes(range(256)))])
        big = incompressible(MIB)
        ws.send_binary(big, fragment=256 * 1024)
        assert ws.recv_message(timeout=10) == (OP_BINARY, big)
        assert srv.messages[-1][2] == 4, "the 1 MiB message did not arrive in 4 frames"
        ws.send_frame(OP_PING, b"are you there")
        ws.send_text("after the ping")
        assert ws.recv_text() == "after the ping" and ws.pongs == [b"are you there"]
        assert ws.close_handshake(1000, "bye") == 1000
        assert ws.wait_end(3) == "eof"
    finally:
        ws.close()
    srv.wait_for(lambda: srv.clean_closes == 1, 5, "a clean close")
    assert srv.errors == [] and srv.closes == [1000] and srv.handshakes == 1

    # The server refuses what is not an opening handshake with a 400 that names the missing
    # header, keeps the connection, and answers a plain request on it.
    c = Conn(DALLAS, 39099, timeout=5)
    try:
        for kw, named in (({"upgrade": None}, b"Upgrade"), ({"connection": "keep-alive"},
                                                             b"Connection"),
                          ({"version": "8"}, b"Version"), ({"key": "short"}, b"Key")):
            c.send(handshake_request(**{"key": new_key(), **kw}))
            r = c.read_response()
            assert r.status == 400 and r.body.startswith(b"no websocket: ") and named in r.body, \
                (kw, r)
        c.send(request("GET", "/plain", HOST))
        r = c.read_response()
        assert (r.status, r.body) == (200, b"plain /plain\n"), r
    finally:
        c.close()
    assert handshake_problems("GET", parse_head(srv.heads[0])[1]) == []
    assert handshake_problems("GET", parse_head(srv.heads[1])[1]), "a stripped Upgrade passed"

    # An unmasked client frame is a protocol error: the server closes with 1002.
    ws = WebSocketClient(DALLAS, 39099)
    try:
        ws.open()
        assert ws.recv_text() == "welcome"
        ws.sock.sendall(encode_frame(OP_TEXT, b"not masked"))  # no mask key
        got = [ws.recv_message()]
        if got[0][0] == OP_TEXT:  # the push came first
            got.append(ws.recv_message())
        assert got[-1] == (OP_CLOSE, close_payload(1002, "client frame not masked")), got
    finally:
        ws.close()
    srv.wait_for(lambda: srv.errors == ["client frame not masked"], 5, "the unmasked frame")

    # A dropping server resets the connection after one echo.
    drop = stack.server(WebSocketServer, DALLAS, 39098, mode="drop")
    ws = WebSocketClient(DALLAS, 39098)
    try:
        ws.open()
        ws.send_text("one")
        assert ws.recv_text() == "one"
        assert ws.wait_end(3) == "reset"
    finally:
        ws.close()
    assert drop.messages == [(OP_TEXT, b"one", 1)]


# --------------------------------------------------------------------------------------------
# through the gateway
# --------------------------------------------------------------------------------------------

def test_websocket_messages_cross_the_gateway_both_ways(stack):
    """The handshake reaches the backend with Upgrade and Connection; the client gets the 101 with
    the right accept key; then a greeting that came in the 101's own segment, a message the server
    pushes unasked, pipelined echoes of every frame length class, a 1 MiB binary message sent in
    4 frames (bulk across the tunnel), a ping, all intact and in order."""
    srv = stack.server(WebSocketServer, DALLAS, 39051, greeting="welcome", push_after=0.5)
    ws_gateway(stack, 39001, 39051)
    ws = WebSocketClient(GW, 39001, host=HOST)
    try:
        r = ws.handshake()
        problems = ws.accept_problems(r)
        assert not problems, f"handshake through the gateway: {'; '.join(problems)}\n{r!r}\n" \
                             f"the backend saw: {srv.heads[:1]!r}"
        assert r.header("Sec-WebSocket-Protocol") == "chat", r
        assert srv.handshakes == 1
        head = parse_head(srv.heads[0])[1]
        assert handshake_problems("GET", head) == []
        assert {"chat", "superchat"} <= set(header_tokens(
            next(v for k, v in head if k.lower() == "sec-websocket-protocol")))

        assert ws.recv_text() == "welcome"
        # The push: the client has sent nothing since the handshake.
        assert ws.recv_text(timeout=3) == "pushed by the server"
        assert srv.messages == []

        echo_round(ws, [(OP_TEXT, b"hello"), (OP_TEXT, "héllo wörld ✓".encode()),
                        (OP_TEXT, b""), (OP_TEXT, b"m" * 1000), (OP_BINARY, bytes(range(256))),
                        (OP_BINARY, incompressible(70_000, b"medium"))])
        for i in range(5):  # one at a time, too
            ws.send_text(f"message {i}")
            assert ws.recv_text() == f"message {i}"

        big = incompressible(MIB)
        t0 = time.monotonic()
        ws.send_binary(big, fragment=256 * 1024)
        op, got = ws.recv_message(timeout=10)
        took = time.monotonic() - t0
        assert op == OP_BINARY and len(got) == MIB and got == big, \
            f"1 MiB echo: opcode {op:#x}, {len(got)} bytes, equal {got == big}"
        assert took < 5, f"the 1 MiB round trip took {took:.2f}s"
        assert srv.messages[-1][1] == big and srv.messages[-1][2] == 4

        ws.send_frame(OP_PING, b"ping through")
        ws.send_text("after the ping")
        assert ws.recv_text() == "after the ping" and ws.pongs == [b"ping through"]
        assert ws.close_handshake() == 1000
        assert ws.wait_end(3) == "eof"
    finally:
        ws.close()
    srv.wait_for(lambda: srv.clean_closes == 1, 5, "a clean close")
    assert srv.errors == []
    assert len(srv.messages) == 6 + 5 + 1 + 1


@pytest.mark.parametrize("connection, upgrade, port", [
    ("keep-alive, Upgrade", "websocket", 39003),   # Firefox
    ("upgrade", "WebSocket", 39004),                # other spellings are the same tokens
    ("Upgrade, HTTP2-Settings", "websocket", 39005),
], ids=["keep-alive-upgrade", "lowercase", "with-another-token"])
def test_handshake_spellings_of_connection_and_upgrade(stack, connection, upgrade, port):
    """`Connection` is a token list (RFC 9110 §7.6.1) and `Upgrade` a case-insensitive token:
    the gateway recognises the upgrade however the client spells it."""
    srv = stack.server(WebSocketServer, DALLAS, port + 50)
    ws_gateway(stack, port, port + 50)
    ws = WebSocketClient(GW, port, host=HOST, connection=connection, upgrade=upgrade)
    try:
        r = ws.handshake()
        problems = ws.accept_problems(r)
        assert not problems, f"Connection: {connection} / Upgrade: {upgrade}: " \
                             f"{'; '.join(problems)}\nthe backend saw: {srv.heads[:1]!r}"
        ws.send_text("spelled")
        assert ws.recv_text() == "spelled"
        assert ws.close_handshake() == 1000
    finally:
        ws.close()
    assert srv.errors == []


def test_close_handshake_ends_the_tunnel_and_logs_one_101(stack):
    """Client close → server close → EOF on both sides; one access-log line (status 101) for the
    request, and nothing left of the connection in the gateway."""
    srv = stack.server(WebSocketServer, DALLAS, 39057)
    gw = ws_gateway(stack, 39007, 39057)
    before = socket_fds(gw.pid)
    ws = WebSocketClient(GW, 39007, host=HOST)
    try:
        ws.open()
        ws.send_text("last words")
        assert ws.recv_text() == "last words"
        assert ws.close_handshake(1000, "bye") == 1000
        end = ws.wait_end(3)
        assert end == "eof", f"after the close handshake the client saw {end or 'nothing in 3s'}"
    finally:
        ws.close()
    srv.wait_for(lambda: srv.clean_closes == 1, 5, "the client's EOF after the close handshake")
    assert srv.closes == [1000] and srv.errors == [] and srv.eofs == 0

    recs = gw.log_records(1)
    time.sleep(0.3)  # a second line would be there by now
    recs = gw.log_records(1)
    assert len(recs) == 1, f"expected one access-log line for the upgraded request: {recs}"
    rec = recs[0]
    assert (rec["protocol"], rec["method"], rec["path"], rec["host"], rec["status"]) == \
        ("http", "GET", "/chat", HOST, 101), rec
    assert rec["service"] == "data/chat:39057" and rec["endpoint"] == f"{DALLAS}:39057", rec
    assert_connections_gone(gw, [(GW, 39007), (DALLAS, 39057)], before)


def test_refused_upgrade_continues_as_plain_http(stack):
    """The backend answers the upgrade request with a keep-alive 400: the client gets it, and the
    same connection carries a plain request and its answer."""
    srv = stack.server(WebSocketServer, DALLAS, 39059, mode="refuse")
    gw = ws_gateway(stack, 39009, 39059)
    c = Conn(GW, 39009, timeout=5)
    try:
        c.send(handshake_request("/chat", HOST, new_key()))
        r = c.read_response()
        assert r is not None and r.status == 400, r
        # The backend got the request as an upgrade request: the gateway forwarded Upgrade and
        # Connection (else a 400 here proves nothing).
        problems = handshake_problems("GET", parse_head(srv.heads[0])[1])
        assert problems == [], f"the upgrade request reached the backend without its upgrade " \
                               f"headers: {problems}\n{srv.heads[0]!r}"
        assert r.body.startswith(b"no websocket: this server refuses upgrades"), r
        for path in ("/after", "/and-again"):
            c.send(request("GET", path, HOST))
            r = c.read_response()
            assert r is not None and (r.status, r.body) == (200, f"plain {path}\n".encode()), \
                f"{path}: {r!r}"
    finally:
        c.close()
    recs = gw.log_records(3, requests_only=True)
    assert [(x["path"], x["status"]) for x in recs] == \
        [("/chat", 400), ("/after", 200), ("/and-again", 200)], recs
    assert srv.handshakes == 0


def test_unrequested_101_is_a_502(stack):
    """A backend that answers a plain request (no Upgrade) with 101 does not get the client's
    connection: the client gets 502 and never sees the bytes that follow the 101."""
    switch = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"\r\n" + encode_frame(OP_TEXT, b"not for you"))
    srv = stack.server(ScriptedHTTPServer, DALLAS, 39061, lambda k: switch)
    gw = ws_gateway(stack, 39011, 39061)
    c = Conn(GW, 39011, timeout=5)
    try:
        c.send(request("GET", "/plain", HOST))
        r = c.read_response()
        assert r is not None and r.status == 502, f"a 101 nobody asked for reached the client: {r!r}"
        assert b"not for you" not in r.body and b"not for you" not in c.buf, r
    finally:
        c.close()
    assert srv.requests == 1
    rec = gw.log_records(1, requests_only=True)[-1]
    assert rec["status"] == 502, rec


def test_tunnel_survives_short_pauses_and_closes_after_the_idle_timeout(stack):
    """With --idle-timeout 2s, pauses of 1.2 s (3.6 s in all) do not end the tunnel; 2 s with
    nothing moving do, on both sides."""
    srv = stack.server(WebSocketServer, DALLAS, 39063)
    gw = ws_gateway(stack, 39013, 39063, ["--idle-timeout", "2s"])
    ws = WebSocketClient(GW, 39013, host=HOST)
    try:
        ws.open()
        for i in range(3):
            time.sleep(1.2)
            ws.send_text(f"still here {i}")
            assert ws.recv_text() == f"still here {i}", f"after {1.2 * (i + 1):.1f}s"
        t0 = time.monotonic()
        end = ws.wait_end(8)
        took = time.monotonic() - t0
    finally:
        ws.close()
    assert end in ("eof", "reset"), "the idle tunnel is still open 8 s after the last message"
    assert 1.6 <= took <= 5.0, f"the idle tunnel closed after {took:.2f}s; --idle-timeout is 2s"
    srv.wait_for(lambda: srv.eofs == 1, 5, "the backend side of the tunnel to be closed")
    assert srv.errors == [] and len(srv.messages) == 3
    rec = gw.log_records(1, requests_only=True)[-1]
    assert rec["status"] == 101 and rec["path"] == "/chat", rec


@pytest.mark.parametrize("how, port", [("reset", 39015), ("fin", 39017)])
def test_backend_that_drops_the_tunnel(stack, how, port):
    """The backend ends the WebSocket connection after the 101 without a close frame (a reset, or
    a plain close): the client sees the end promptly, and the gateway keeps serving."""
    srv = stack.server(WebSocketServer, DALLAS, port + 50, mode="drop", drop_how=how)
    gw = ws_gateway(stack, port, port + 50)
    before = socket_fds(gw.pid)
    ws = WebSocketClient(GW, port, host=HOST)
    try:
        ws.open()
        ws.send_text("one")
        assert ws.recv_text() == "one"
        t0 = time.monotonic()
        end = ws.wait_end(5)
        took = time.monotonic() - t0
    finally:
        ws.close()
    assert end in ("eof", "reset"), "the client's side of the tunnel is open 5 s after the " \
                                    "backend dropped it"
    assert took < 2, f"the client saw the end after {took:.2f}s"
    assert_connections_gone(gw, [(GW, port), (DALLAS, port + 50)], before)

    # The gateway still serves: a plain request, and another WebSocket session.
    r = get(port, "/plain", HOST)
    assert (r.status, r.body) == (200, b"plain /plain\n"), r
    ws = WebSocketClient(GW, port, host=HOST)
    try:
        ws.open()
        ws.send_text("two")
        assert ws.recv_text() == "two"
        assert ws.wait_end(5) in ("eof", "reset")
    finally:
        ws.close()
    assert srv.handshakes == 2 and srv.errors == []
    statuses = [x["status"] for x in gw.log_records(3, requests_only=True)]
    assert sorted(statuses) == [101, 101, 200], statuses
    assert gw.proc.poll() is None

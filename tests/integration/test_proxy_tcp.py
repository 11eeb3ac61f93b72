"""TCP listeners: a real PostgreSQL reached with psql through the gateway, connect retries,
half-close in both directions, idle timeout.

Ports: gateway listeners 31301-31399 on 127.0.0.90, python backends 32301-32399,
PostgreSQL 127.0.0.43:35432 (session fixture `postgres`).
"""
import socket
import time

from backends import (ASHBURN, DALLAS, GW, NOWHERE, PG_ADDR, Blackhole, HalfCloseServer, SilentServer,
                      base_manifests, dest, external_endpoint, external_service, join, psql,
                      route_table, tcp_route)

BLACKHOLE = "127.0.0.45"


def database_external(pg_port, extra_endpoints=()):
    """ExternalService data/database (`database.external`, port 5432 named pg) selecting the
    ExternalEndpoints labelled app=database: the real server, plus `extra_endpoints`
    [(name, address, port)]."""
    docs = [
        external_service("database", 5432, protocol="TCP", hosts=["database.external"],
                         selector={"app": "database"}, port_name="pg", target_port="pg"),
        external_endpoint("database-1", PG_ADDR, pg_port, {"app": "database"}, port_name="pg",
                          locality="us-east-1/us-east-1a"),
    ]
    for name, addr, port in extra_endpoints:
        docs.append(external_endpoint(name, addr, port, {"app": "database"}, port_name="pg",
                                      locality="us-east-1/us-east-1a"))
    return join(*docs)


def test_psql_through_tcp_route_to_external_service(stack, postgres):
    """The seed scenario: `psql` to the gateway reaches the database behind database.external."""
    gw = stack.gateway(join(
        base_manifests([(31301, "tcp")]),
        database_external(postgres.port),
        tcp_route(31301, "database", 5432),
    ), [31301])
    r = psql(GW, 31301, "select 6 * 7, current_setting('port'), inet_server_addr()")
    assert r.returncode == 0, f"{r.stderr}\n{gw!r}"
    assert r.stdout.strip() == f"42|{postgres.port}|{PG_ADDR}"
    # More data both ways: a 20,000-row result set, and a 100 kB statement.
    r = psql(GW, 31301, "select g, md5(g::text) from generate_series(1, 20000) g")
    assert r.returncode == 0, r.stderr
    rows = r.stdout.splitlines()
    assert len(rows) == 20000 and rows[-1].startswith("20000|")
    big = "x" * 100_000
    r = psql(GW, 31301, f"select length('{big}')")
    assert (r.returncode, r.stdout.strip()) == (0, "100000"), r.stderr
    recs = gw.log_records(3)
    assert len(recs) == 3, recs
    for rec in recs:
        assert rec["protocol"] == "tcp" and rec["listener"] == 31301
        assert rec["service"] == "data/database:5432"
        assert rec["endpoint"] == f"{PG_ADDR}:{postgres.port}"
        assert rec["route"].startswith("gw/db")
        assert rec["retries"] == 0
    assert recs[1]["bytes_out"] > 20000 * 40
    assert recs[2]["bytes_in"] > 100_000


def test_failed_connect_is_retried_on_another_endpoint(stack, postgres):
    """First endpoint refuses (nothing listens), the second is the real database: every psql
    succeeds, and the connections that tried the dead endpoint first log retries=1."""
    gw = stack.gateway(join(
        base_manifests([(31303, "tcp")]),
        database_external(postgres.port, [("database-dead", NOWHERE, 32303)]),
        tcp_route(31303, "database", 5432),
    ), [31303], workers=1)
    for i in range(4):
        r = psql(GW, 31303, f"select {i} + 1")
        assert r.returncode == 0, f"{r.stderr}\n{gw!r}"
        assert r.stdout.strip() == str(i + 1)
    recs = gw.log_records(4)
    assert all(r["endpoint"] == f"{PG_ADDR}:{postgres.port}" for r in recs), recs
    retried = [r for r in recs if r["retries"] == 1]
    assert retried, f"no connection was retried, round robin should start some on the dead one: {recs}"
    assert all(r["retries"] in (0, 1) for r in recs), recs


def test_no_endpoint_reachable_drops_the_client(stack):
    gw = stack.gateway(join(
        base_manifests([(31305, "tcp")]),
        external_service("dead", 32305, protocol="TCP", addresses=[NOWHERE]),
        tcp_route(31305, "dead", 32305),
    ), [31305])
    t0 = time.monotonic()
    with socket.create_connection((GW, 31305), timeout=3) as s:
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
    assert data == b"" and time.monotonic() - t0 < 2.5
    rec = gw.log_records(1)[0]
    assert rec["protocol"] == "tcp" and "refused" in rec["reason"], rec


def test_half_close_client_to_upstream(stack):
    """The client finishes sending (FIN); the backend still answers after that EOF."""
    srv = stack.server(HalfCloseServer, DALLAS, 32307, "echo-after-eof")
    stack.gateway(join(
        base_manifests([(31307, "tcp")]),
        external_service("halfclose", 32307, protocol="TCP", addresses=[DALLAS]),
        tcp_route(31307, "halfclose", 32307),
    ), [31307])
    payload = bytes(range(256)) * 1000
    with socket.create_connection((GW, 31307), timeout=5) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
    assert got == b"got %d bytes\n" % len(payload)
    assert srv.received == [payload]


def test_half_close_upstream_to_client(stack):
    """The backend finishes sending first (FIN); the client can still send, and it arrives."""
    srv = stack.server(HalfCloseServer, DALLAS, 32309, "greet-then-eof")
    stack.gateway(join(
        base_manifests([(31309, "tcp")]),
        external_service("greeter", 32309, protocol="TCP", addresses=[DALLAS]),
        tcp_route(31309, "greeter", 32309),
    ), [31309])
    started = time.monotonic()
    with socket.create_connection((GW, 31309), timeout=5) as s:
        got = b""
        while True:
            d = s.recv(65536)
            if not d:
                break  # the backend's FIN came through
            if not got:
                first_byte = time.monotonic() - started
            got += d
        assert got == b"hello\n"
        # A server that speaks first (MySQL, SMTP) is not kept waiting for the client: the
        # gateway accepts TCP connections at once (HTTP listeners wait for the first bytes).
        assert first_byte < 0.8, f"the greeting took {first_byte:.2f}s"
        s.sendall(b"still talking after your EOF")
        s.shutdown(socket.SHUT_WR)
        srv.done.wait(5)
    assert srv.received == [b"still talking after your EOF"]


def test_idle_tcp_connection_is_closed(stack):
    silent = stack.server(SilentServer, DALLAS, 32311)
    gw = stack.gateway(join(
        base_manifests([(31311, "tcp")]),
        external_service("silent", 32311, protocol="TCP", addresses=[DALLAS]),
        tcp_route(31311, "silent", 32311),
    ), [31311], args=["--idle-timeout", "500ms"])
    t0 = time.monotonic()
    with socket.create_connection((GW, 31311), timeout=5) as s:
        s.sendall(b"ping")
        try:
            data = s.recv(100)
        except ConnectionResetError:
            data = b""
    took = time.monotonic() - t0
    assert data == b""
    assert 0.4 <= took < 3, took
    assert silent.accepted == 1
    rec = gw.log_records(1)[0]
    assert rec["reason"] == "idle timeout" and rec["bytes_in"] == 4, rec


def test_connect_timeout_is_retried_on_another_endpoint(stack, postgres):
    """One endpoint drops SYNs (an unreachable data center): after --connect-timeout the
    connection is retried on the real database, and psql never notices."""
    stack.server(Blackhole, BLACKHOLE, 32313)
    gw = stack.gateway(join(
        base_manifests([(31313, "tcp")]),
        database_external(postgres.port, [("database-unreachable", BLACKHOLE, 32313)]),
        tcp_route(31313, "database", 5432),
    ), [31313], workers=1, args=["--connect-timeout", "300ms"])
    for i in range(3):
        t0 = time.monotonic()
        r = psql(GW, 31313, "select 'through'")
        assert (r.returncode, r.stdout.strip()) == (0, "through"), f"{r.stderr}\n{gw!r}"
        assert time.monotonic() - t0 < 3
    recs = gw.log_records(3)
    assert all(r["endpoint"] == f"{PG_ADDR}:{postgres.port}" for r in recs), recs
    slow = [r for r in recs if r["retries"] == 1]
    assert slow, recs
    assert all(r["duration_ms"] >= 250 for r in slow), slow


def test_psql_through_listener_exposing_database_external(stack, postgres):
    """No RouteTable: a TCP listener that exposes the ExternalService `database.external`."""
    gw = stack.gateway(join(
        base_manifests([(31315, "tcp", "exposedExternalServices:\n- host: database.external")]),
        database_external(postgres.port),
    ), [31315])
    r = psql(GW, 31315, "select 'exposed', 2 + 3")
    assert (r.returncode, r.stdout.strip()) == (0, "exposed|5"), f"{r.stderr}\n{gw!r}"
    rec = gw.log_records(1)[0]
    assert rec["service"] == "data/database:5432"
    assert rec["endpoint"] == f"{PG_ADDR}:{postgres.port}"


def test_tcp_routes_by_listener_port(stack):
    a = stack.server(HalfCloseServer, DALLAS, 32317, "echo-after-eof")
    b = stack.server(HalfCloseServer, ASHBURN, 32318, "echo-after-eof")
    gw = stack.gateway(join(
        base_manifests([(31317, "tcp"), (31318, "tcp")]),
        external_service("dallas-tcp", 32317, protocol="TCP", addresses=[DALLAS]),
        external_service("ashburn-tcp", 32318, protocol="TCP", addresses=[ASHBURN]),
        route_table("by-port", ["tcp.internal"], f"""
            tcp:
            - matchers:
              - port: 31317
              forwardTo:
                destinations:
                {dest("dallas-tcp", 32317)}
            - matchers:
              - port: 31318
              forwardTo:
                destinations:
                {dest("ashburn-tcp", 32318)}
        """),
    ), [31317, 31318])
    for port, payload in ((31317, b"to dallas"), (31318, b"to ashburn!")):
        with socket.create_connection((GW, port), timeout=5) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            assert s.recv(100) == b"got %d bytes\n" % len(payload)
    assert a.received == [b"to dallas"] and b.received == [b"to ashburn!"]
    recs = gw.log_records(2)
    assert {(r["listener"], r["endpoint"]) for r in recs} == {
        (31317, f"{DALLAS}:32317"), (31318, f"{ASHBURN}:32318")}

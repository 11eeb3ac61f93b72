"""Resilience over TCP (spec §5–§7): a PostgreSQL in each of two data centers behind
`database.external`, reached with psql through the gateway's TCP listener. The gateway runs in
Dallas (`--locality us-south/dallas`).

Ports: gateway listeners 33050-33069 on 127.0.0.90; PostgreSQL "Dallas" 127.0.0.41:33150 and
"Ashburn" 127.0.0.42:33151 (one pair for the module; a test that stops Dallas restarts it).
"""
import os
import signal
import time

import pytest

from backends import (ASHBURN, DALLAS, GW, STOP_TIMEOUT, Postgres,
                      base_manifests, dest, external_endpoint, external_service, gateway_events,
                      join, outlier_detection_policy, port_open, psql, route_table,
                      wait_until)

IN_DALLAS = ["--locality", "us-south/dallas"]
PG_PORT = {"dallas": 33150, "ashburn": 33151}


class DataCenterPostgres(Postgres):
    """A Postgres that can die (immediate shutdown: SIGQUIT to the postmaster, like a crash)
    and come back on the same data directory (launch)."""

    def stop_immediate(self):
        pid = self.postmaster_pid()
        assert pid, "no postmaster.pid"
        os.kill(pid, signal.SIGQUIT)
        self.proc.wait(STOP_TIMEOUT)  # runuser exits with the postmaster
        wait_until(lambda: not port_open(self.addr, self.port), 5, what="PostgreSQL gone")

    def running(self):
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture(scope="module")
def databases():
    """{"dallas": pg at 127.0.0.41, "ashburn": pg at 127.0.0.42}, for the module."""
    pgs = {"dallas": DataCenterPostgres(DALLAS, PG_PORT["dallas"]),
           "ashburn": DataCenterPostgres(ASHBURN, PG_PORT["ashburn"])}
    try:
        for pg in pgs.values():
            pg.start()
        yield pgs
    finally:
        for pg in pgs.values():
            pg.stop()


@pytest.fixture
def dbs(databases):
    """Both databases up at the start of each test (a failed test may have left Dallas down)."""
    for pg in databases.values():
        if not pg.running():
            pg.launch()
    return databases


def database_manifests(port, *policies):
    """ExternalService data/database (database.external, 5432 named pg, label failover=true) over
    the Dallas (us-south/dallas) and Ashburn (us-east/ashburn) instances; TCP listener `port`
    routed to it."""
    return join(
        base_manifests([(port, "tcp")]),
        external_service("database", 5432, protocol="TCP", hosts=["database.external"],
                         selector={"app": "database"}, port_name="pg", target_port="pg",
                         labels={"failover": "true"}),
        external_endpoint("database-dallas", DALLAS, PG_PORT["dallas"], {"app": "database"},
                          port_name="pg", locality="us-south/dallas"),
        external_endpoint("database-ashburn", ASHBURN, PG_PORT["ashburn"], {"app": "database"},
                          port_name="pg", locality="us-east/ashburn"),
        route_table("database", ["database.external"], f"""
            tcp:
            - matchers:
              - port: {port}
              forwardTo:
                destinations:
                {dest("database", 5432)}
        """),
        *policies)


WHERE = {DALLAS: "dallas", ASHBURN: "ashburn"}


def served_by(port):
    """One psql through the gateway; the data center whose server answered."""
    r = psql(GW, port, "select inet_server_addr()")
    assert r.returncode == 0, f"psql through the gateway failed: {r.stderr}"
    return WHERE.get(r.stdout.strip(), r.stdout.strip())


def test_psql_reaches_the_local_data_center(stack, dbs):
    """Manifest: database over Dallas and Ashburn, ODP consecutiveErrors 2 → Dallas is P0:
    every connection reaches the Dallas server."""
    gw = stack.gateway(database_manifests(33051, outlier_detection_policy(
        consecutiveErrors=2, baseEjectionTime="30s")), [33051], args=IN_DALLAS)
    assert [served_by(33051) for _ in range(6)] == ["dallas"] * 6
    recs = gw.log_records(6)
    for r in recs:
        assert (r["protocol"], r["service"], r["endpoint"], r["locality"], r["priority"],
                r["retries"]) == ("tcp", "data/database:5432", f"{DALLAS}:{PG_PORT['dallas']}",
                                  "us-south/dallas", "0", 0), r
    assert gateway_events(gw) == []


def test_dallas_database_dies_then_comes_back(stack, dbs):
    """Manifest as above with baseEjectionTime 6s (PostgreSQL restarts well within it, even on a
    loaded machine). Dallas's PostgreSQL stops (immediate): the
    next connections are refused there and retried on Ashburn (psql never fails), two refusals
    eject Dallas, later connections go straight to Ashburn. Dallas restarts; once the 3 s are
    up (return event) new connections reach Dallas again."""
    base_s = 6
    gw = stack.gateway(database_manifests(33053, outlier_detection_policy(
        consecutiveErrors=2, interval="10s", baseEjectionTime=f"{base_s}s")), [33053], args=IN_DALLAS)
    assert [served_by(33053) for _ in range(3)] == ["dallas"] * 3
    dbs["dallas"].stop_immediate()
    t_stop = time.monotonic()
    after = [served_by(33053) for _ in range(8)]
    assert after == ["ashburn"] * 8, after
    e = wait_until(lambda: gateway_events(gw, "eject"), 3, what="eject event")
    assert len(e) == 1, e
    e = e[0]
    assert (e["service"], e["endpoint"], e["locality"], e["priority"], e["reason"], e["ejection"],
            e["duration_ms"], e["priority_loads"]) == (
        "data/database:5432", f"{DALLAS}:{PG_PORT['dallas']}", "us-south/dallas", "0",
        "2 consecutive errors, last: connect refused", "1", str(base_s * 1000), "0/100"), e
    recs = gw.log_records(11)[3:]
    # The first two met the refusal and were retried; the rest went straight to Ashburn (P1).
    assert [r["retries"] for r in recs] == [1, 1] + [0] * 6, recs
    assert {(r["endpoint"], r["locality"], r["priority"]) for r in recs} == {
        (f"{ASHBURN}:{PG_PORT['ashburn']}", "us-east/ashburn", "1")}, recs
    # Dallas comes back; while it is still ejected, connections keep going to Ashburn.
    dbs["dallas"].launch()
    assert not gateway_events(gw, "return"), "Dallas restarted too slowly for this check to mean anything"
    where = served_by(33053)
    if not gateway_events(gw, "return"):
        assert where == "ashburn", "an ejected endpoint got a connection"
    ret = wait_until(lambda: gateway_events(gw, "return"), base_s + 2, what="return event")[0]
    assert (ret["endpoint"], ret["ejection"], ret["priority_loads"]) == \
        (f"{DALLAS}:{PG_PORT['dallas']}", "1", "100/0"), ret
    assert base_s * 1000 <= int(ret["ejected_ms"]) <= base_s * 1000 + 150, ret
    assert time.monotonic() - t_stop < base_s + 3, "returned much later than baseEjectionTime"
    assert [served_by(33053) for _ in range(4)] == ["dallas"] * 4
    assert len(gateway_events(gw, "eject")) == 1


def test_without_outlier_detection_connections_spread_over_both(stack, dbs):
    """Manifest: database over Dallas and Ashburn, no ODP → one priority, round robin: new
    connections alternate between the two servers."""
    gw = stack.gateway(database_manifests(33055), [33055], args=IN_DALLAS)
    where = [served_by(33055) for _ in range(8)]
    assert set(where) == {"dallas", "ashburn"}, where
    assert where.count("dallas") == 4, where
    recs = gw.log_records(8)
    assert {r["priority"] for r in recs} == {"0"}, recs

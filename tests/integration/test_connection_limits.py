"""Connections the gateway cannot all hold: at --max-connections, and when its descriptors run
out, idle keep-alive connections make way for new ones (oldest first, as nginx does), busy ones
are never cut, and the gateway's own shortage is never held against an endpoint.

Ports: gateway listeners 38041-38049 on 127.0.0.90, backends 38091-38099 on DALLAS.
"""
import stat
import time

from backends import (DALLAS, GW, Conn, Gateway, SlowHTTPServer, base_manifests, dest,
                      external_service, gateway_events, get, join, outlier_detection_policy,
                      request, route_table)

HOST = "limits.example.com"


def manifests(port, backend_port, *policies):
    return join(
        base_manifests([(port, "http")]),
        external_service("up", backend_port, addresses=[DALLAS], labels={"failover": "true"}),
        route_table("limits", [HOST], f"""
            http:
            - name: up
              forwardTo:
                destinations:
                {dest("up", backend_port)}
        """),
        *policies,
    )


def idle_after_one_request(port, n):
    conns = []
    for i in range(n):
        c = Conn(GW, port, timeout=5)
        c.send(request("GET", f"/idle/{i}", HOST))
        assert c.read_response().status == 200
        conns.append(c)
        time.sleep(0.02)  # an order of age the gateway can see
    return conns


def test_at_the_cap_the_oldest_idle_connection_makes_way(stack):
    stack.nginx("server { listen %s:38091; location / { return 200 'ok\\n'; } }" % DALLAS,
                [(DALLAS, 38091)])
    stack.gateway(manifests(38041, 38091), [38041], args=["--max-connections", "3"])
    idle = idle_after_one_request(38041, 3)
    try:
        r = get(38041, "/new", host=HOST)
        assert r.status == 200, r
        assert idle[0].closed_by_peer(3), "the oldest idle connection was not the one closed"
        for c in idle[1:]:  # the others still work
            c.send(request("GET", "/still", HOST))
            assert c.read_response().status == 200
    finally:
        for c in idle:
            c.close()


def test_at_the_cap_busy_connections_are_kept_and_new_ones_wait(stack):
    stack.server(SlowHTTPServer, DALLAS, 38092, 1.0)
    stack.gateway(manifests(38042, 38092), [38042], args=["--max-connections", "2"])
    busy = [Conn(GW, 38042, timeout=5) for _ in range(2)]
    for i, c in enumerate(busy):
        c.send(request("GET", f"/busy/{i}", HOST))
    time.sleep(0.3)  # both are in flight
    t0 = time.monotonic()
    r = get(38042, "/waiting", host=HOST, timeout=6)
    waited = time.monotonic() - t0
    assert r.status == 200, r
    assert waited >= 0.5, f"the third connection was served at once ({waited:.2f}s): over the cap"
    for c in busy:  # neither busy connection was cut
        assert c.read_response().status == 200
        c.close()


def test_out_of_descriptors_idle_clients_make_way_and_no_endpoint_is_ejected(stack, causeway,
                                                                              tmp_path):
    # The gateway runs with 40 descriptors. Idle clients take them all; an honest client is
    # still served (idle ones make way, for its connection and for an upstream connection),
    # and with consecutiveErrors 1 nothing is ejected: the shortage is the gateway's own.
    wrapper = tmp_path / "causeway-40-fds"
    wrapper.write_text(f"#!/bin/sh\nulimit -n 40\nexec {causeway.binary} \"$@\"\n")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    stack.nginx("server { listen %s:38093; location / { return 200 'ok\\n'; } }" % DALLAS,
                [(DALLAS, 38093)])
    gw = Gateway(wrapper, tmp_path / "gw", manifests(38043, 38093,
                                                     outlier_detection_policy(consecutiveErrors=1)),
                 [38043])
    stack.items.append(gw)
    gw.start()
    hogs = []
    try:
        for i in range(60):  # more than it has descriptors for; each then sits idle
            c = Conn(GW, 38043, timeout=5)
            c.send(request("GET", f"/hog/{i}", HOST))
            hogs.append(c)
        time.sleep(0.5)
        ok = sum(get(38043, f"/honest/{i}", host=HOST, timeout=5).status == 200 for i in range(10))
        assert ok == 10, f"{ok} of 10 honest requests were served"
    finally:
        for c in hogs:
            c.close()
    assert gateway_events(gw, "eject") == [], gateway_events(gw)
    assert gw.proc.poll() is None

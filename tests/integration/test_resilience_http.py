"""Resilience over HTTP (spec §5–§7, peers.md §2): locality priorities, outlier ejection and
return, failover to the mapped region, retries that hide a dying data center from clients, the
ejection cap, and 503 when nothing is left. Real nginx backends, one per data center, each
answering with its data center's name so that a test can count where every request went.

The gateway runs in Dallas (`--locality us-south/dallas`) unless a test says otherwise.

Ports: gateway listeners 33001-33049 on 127.0.0.90, nginx backends 33101-33149 on
127.0.0.41/.42/.45/.46.
"""
import signal
import time

from backends import (ASHBURN, DALLAS, HttpLoad, base_manifests, dest,
                      external_endpoint, external_service, failover_policy, gateway_events, get,
                      join, outlier_detection_policy, route_table, stop_process,
                      wait_until)

US_WEST = "127.0.0.46"
RACK3 = "127.0.0.45"
IN_DALLAS = ["--locality", "us-south/dallas"]
HOST = "api.example.com"

# Localities of the stand-in data centers.
LOC = {"dallas": "us-south/dallas", "ashburn": "us-east/ashburn", "portland": "us-west/portland"}


# ---- manifests -----------------------------------------------------------------------------

def inventory(endpoints, labels=None):
    """ExternalService data/inventory (inventory.external, port 80 named http) over one
    ExternalEndpoint per (name, address, port, "region/zone"), in the order given."""
    docs = [external_service("inventory", 80, hosts=["inventory.external"],
                             selector={"app": "inventory"}, port_name="http", target_port="http",
                             labels={"failover": "true"} if labels is None else labels)]
    for name, addr, port, loc in endpoints:
        docs.append(external_endpoint(f"inventory-{name}", addr, port, {"app": "inventory"},
                                      port_name="http", locality=loc))
    return join(*docs)


def api(port, endpoints, *policies):
    """Listener `port` (HTTP), RouteTable gw/api: every path of api.example.com to inventory."""
    return join(
        base_manifests([(port, "http")]),
        inventory(endpoints),
        route_table("api", [HOST], f"""
            http:
            - name: inventory
              matchers:
              - uri:
                  prefix: /
              forwardTo:
                destinations:
                {dest("inventory", 80)}
        """),
        *policies)


def dc_nginx(stack, addr, port, dc, status=200):
    """One nginx for one data center: every request is answered `status` with body "<dc>\\n"."""
    return stack.nginx(f"""
        server {{
          listen {addr}:{port};
          location / {{ return {status} "{dc}\\n"; }}
        }}
    """, [(addr, port)])


def dallas_and_ashburn(stack, port, policy, dallas_status=200, workers=1):
    """Backends "dallas" on DALLAS:port+100 (answering `dallas_status`) and "ashburn" on
    ASHBURN:port+101, and a gateway in Dallas serving them on `port` with `policy`.
    Returns (gateway, dallas nginx, ashburn nginx)."""
    dallas = dc_nginx(stack, DALLAS, port + 100, "dallas", status=dallas_status)
    ashburn = dc_nginx(stack, ASHBURN, port + 101, "ashburn")
    gw = stack.gateway(api(port, [("dallas", DALLAS, port + 100, LOC["dallas"]),
                                  ("ashburn", ASHBURN, port + 101, LOC["ashburn"])], policy),
                       [port], args=IN_DALLAS, workers=workers)
    return gw, dallas, ashburn


def kill(nginx):
    """The data center dies: SIGKILL (nginx runs with `master_process off`: one process)."""
    stop_process(nginx.proc, signal.SIGKILL)


def served_by(resp):
    return resp.text.strip()


def wait_event(gw, event, n=1, timeout=5.0, interval=0.02, **match):
    """Waits until the gateway logged at least n events of this kind matching `match`; returns
    them (all, in order)."""
    def found():
        evs = [e for e in gateway_events(gw, event)
               if all(e.get(k) == str(v) for k, v in match.items())]
        return len(evs) >= n and evs
    try:
        return wait_until(found, timeout, interval=interval,
                          what=f"{n} event={event} {match} on causeway's stderr")
    except AssertionError as e:
        raise AssertionError(f"{e}\n{gw.output()[-3000:]}") from None


# ---- client load ---------------------------------------------------------------------------

def Load(port, clients=4, pause=0.002):
    """`clients` keep-alive connections sending GETs as fast as answers come (with a short
    pause); each answer is labelled with the data center that served it."""
    return HttpLoad(port, HOST, lambda i, k: f"/items/{i}/{k}", keepalive=clients, pause=pause,
                    label=served_by)


# ---- 1. normal: everything to the local data center ------------------------------------------

def test_with_outlier_detection_all_traffic_goes_to_the_local_data_center(stack):
    """Manifest: inventory over Dallas (us-south/dallas) and Ashburn (us-east/ashburn),
    ODP consecutiveErrors 2 → Dallas is P0, Ashburn P1: every request goes to Dallas."""
    gw, _, ashburn = dallas_and_ashburn(
        stack, 33001, outlier_detection_policy(consecutiveErrors=2, baseEjectionTime="30s"))
    answers = [served_by(get(33001, f"/items/{i}", host=HOST)) for i in range(20)]
    assert answers == ["dallas"] * 20, answers
    assert ashburn.log_entries() == []
    recs = gw.log_records(20, requests_only=True)
    for r in recs:
        assert (r["status"], r["endpoint"], r["locality"], r["priority"], r["retries"]) == \
            (200, f"{DALLAS}:33101", "us-south/dallas", "0", 0), r
    assert gateway_events(gw) == []


# ---- 2. Dallas dies under load -------------------------------------------------------------

def test_local_data_center_killed_under_load_clients_see_no_error(stack):
    """Manifest as above (baseEjectionTime 30s so Dallas stays out for the whole test).
    Four keep-alive clients; Dallas's nginx is SIGKILLed: no client sees an error, traffic moves
    to Ashburn, and exactly one eject event names Dallas and its locality."""
    gw, dallas, _ = dallas_and_ashburn(
        stack, 33003,
        outlier_detection_policy(consecutiveErrors=2, interval="10s", baseEjectionTime="30s"),
        workers=2)
    with Load(33003, clients=4) as load:
        load.wait_count("dallas", 200)
        assert load.count("ashburn") == 0, "Ashburn got traffic while Dallas was healthy"
        t_kill = time.monotonic()
        kill(dallas)
        wait_event(gw, "eject")
        load.wait_count("ashburn", 300, since=t_kill)
    results, errors = load.snapshot()
    assert errors == [], f"{len(errors)} client errors, first: {errors[:5]}\n{gw.output()[-3000:]}"
    after = [d for t, d in results if t > t_kill + 0.05]
    assert after and set(after) == {"ashburn"}, set(after)
    ejects = gateway_events(gw, "eject")
    assert len(ejects) == 1, ejects
    e = ejects[0]
    assert (e["service"], e["endpoint"], e["locality"], e["priority"]) == \
        ("data/inventory:80", f"{DALLAS}:33103", "us-south/dallas", "0"), e
    assert e["reason"].startswith("2 consecutive errors, last: "), e
    # a connect under way when the listener died is reset rather than refused: "connect failed"
    assert e["reason"].split("last: ")[1] in ("connect refused", "connect failed",
                                              "upstream reset before responding"), e
    assert (e["ejection"], e["multiplier"], e["duration_ms"], e["priority_loads"]) == \
        ("1", "1", "30000", "0/100"), e
    assert gateway_events(gw, "return") == []
    # The access log: Ashburn answers at priority 1 with its locality; the requests that met the
    # dead Dallas first were retried (retries >= 1) and still ended 200.
    recs = gw.log_records(len(results), requests_only=True, timeout=10)
    assert all(r["status"] == 200 for r in recs), [r for r in recs if r["status"] != 200][:3]
    to_ashburn = [r for r in recs if r["endpoint"] == f"{ASHBURN}:33104"]
    assert to_ashburn and all((r["locality"], r["priority"]) == ("us-east/ashburn", "1")
                              for r in to_ashburn), to_ashburn[:3]
    assert any(r["retries"] >= 1 for r in to_ashburn), "no request was retried after the kill"


# ---- 3. Dallas comes back, and fails again -------------------------------------------------

def test_restarted_data_center_gets_traffic_back_and_a_second_failure_doubles_ejection(stack):
    """Manifest: Dallas + Ashburn, ODP consecutiveErrors 2, interval 10s (no decay within the
    test), baseEjectionTime 2s. Under load: kill Dallas → ejected 2 s; restart it at once →
    traffic returns to Dallas when the 2 s are up (not before, not much later); kill it again
    right after → ejection=2, multiplier=2, 4 s. No client error at any point."""
    base = 2.0
    gw, dallas, _ = dallas_and_ashburn(
        stack, 33005,
        outlier_detection_policy(consecutiveErrors=2, interval="10s", baseEjectionTime="2s"),
        workers=2)
    with Load(33005, clients=3) as load:
        load.wait_count("dallas", 50)
        kill(dallas)
        wait_event(gw, "eject", timeout=3, interval=0.005)
        t_eject = time.monotonic()
        dallas = dc_nginx(stack, DALLAS, 33105, "dallas")  # back up, but still ejected
        assert gateway_events(gw, "return") == [], \
            "Dallas returned before the restart finished: the test can't tell anything"
        t_up = time.monotonic()
        load.wait_count("ashburn", 20, since=t_up)
        # Return: exactly when baseEjectionTime is up, then Dallas gets the traffic back.
        ret = wait_event(gw, "return", timeout=base + 1.5)[0]
        assert (ret["endpoint"], ret["locality"], ret["ejection"], ret["priority_loads"]) == \
            (f"{DALLAS}:33105", "us-south/dallas", "1", "100/0"), ret
        assert 2000 <= int(ret["ejected_ms"]) <= 2150, ret
        load.wait_count("dallas", 1, since=t_up, timeout=base + 1.0)
        first_back = load.first("dallas", since=t_up)
        assert base - 0.1 <= first_back - t_eject <= base + 1.0, first_back - t_eject
        load.wait_count("dallas", 50, since=first_back)
        # Once Dallas is back, P0 has all the traffic again.
        t_settled = time.monotonic()
        load.wait_count("dallas", 50, since=t_settled)
        results, _ = load.snapshot()
        assert {d for t, d in results if t > t_settled} == {"dallas"}
        # Second failure right after the return: twice as long (interval 10s: no decay yet).
        kill(dallas)
        ejects = wait_event(gw, "eject", n=2, timeout=3)
        t_eject2 = time.monotonic()
        e2 = ejects[1]
        assert (e2["endpoint"], e2["ejection"], e2["multiplier"], e2["duration_ms"],
                e2["priority_loads"]) == (f"{DALLAS}:33105", "2", "2", "4000", "0/100"), e2
        load.wait_count("ashburn", 50, since=t_eject2)
        ret2 = wait_event(gw, "return", n=2, timeout=2 * base + 1.5)[1]
        assert ret2["ejection"] == "2" and 4000 <= int(ret2["ejected_ms"]) <= 4150, ret2
    _, errors = load.snapshot()
    assert errors == [], f"{len(errors)} client errors, first: {errors[:5]}\n{gw.output()[-3000:]}"
    first = gateway_events(gw, "eject")[0]
    assert (first["ejection"], first["multiplier"], first["duration_ms"]) == ("1", "1", "2000")


# ---- 4. no outlier detection: no priorities ------------------------------------------------

def test_without_outlier_detection_traffic_spreads_over_both_regions(stack, causeway):
    """Manifest: Dallas + Ashburn and a FailoverPolicy us-south → us-east, but no ODP: no
    priorities (§7.1), requests alternate between the data centers, and the FailoverPolicy is
    reported WARNING (by validate and on the run's stderr)."""
    gw, _, _ = dallas_and_ashburn(stack, 33007, failover_policy([("us-south", ["us-east"])]))
    answers = [served_by(get(33007, f"/items/{i}", host=HOST)) for i in range(20)]
    assert set(answers) == {"dallas", "ashburn"}, answers
    assert 5 <= answers.count("dallas") <= 15, answers
    recs = gw.log_records(20, requests_only=True)
    assert {r["priority"] for r in recs} == {"0"}, recs
    assert {(r["endpoint"], r["locality"]) for r in recs} == {
        (f"{DALLAS}:33107", "us-south/dallas"), (f"{ASHBURN}:33108", "us-east/ashburn")}
    warning = ("no OutlierDetectionPolicy selects data/inventory; failover inactive")
    assert f"causeway: FailoverPolicy data/failover: WARNING: {warning}" in gw.output(), gw.output()
    r = causeway.validate(gw.config, plan=True,
                          gateway=["--namespace", "gw", "--labels", "app=c-gateway", *IN_DALLAS])
    assert r.approval("FailoverPolicy", "data/failover") == "WARNING", r
    assert warning in r.message("FailoverPolicy", "data/failover")
    assert r.endpoint_priorities("data/inventory:80") == {f"{DALLAS}:33107": 0,
                                                         f"{ASHBURN}:33108": 0}, r.plan


# ---- 5. failover goes to the mapped region -------------------------------------------------

def three_regions(port, ports, mapping):
    """Endpoints in the order us-west (Portland), us-south (Dallas, where nothing listens),
    us-east (Ashburn); ODP consecutiveErrors 1; FailoverPolicy when mapping is given."""
    policies = [outlier_detection_policy(consecutiveErrors=1, interval="10s",
                                         baseEjectionTime="30s")]
    if mapping:
        policies.append(failover_policy(mapping))
    west, south, east = ports
    return api(port, [("portland", US_WEST, west, LOC["portland"]),
                      ("dallas", DALLAS, south, LOC["dallas"]),
                      ("ashburn", ASHBURN, east, LOC["ashburn"])], *policies)


def test_failover_goes_to_the_mapped_region_only(stack, causeway):
    """Gateway in us-south/dallas; Dallas is down; FailoverPolicy us-south → us-east: every
    request is answered by Ashburn (P1), never by Portland (us-west, listed first, P2)."""
    portland = dc_nginx(stack, US_WEST, 33111, "portland")
    dc_nginx(stack, ASHBURN, 33113, "ashburn")
    gw = stack.gateway(three_regions(33011, (33111, 33112, 33113), [("us-south", ["us-east"])]),
                       [33011], args=IN_DALLAS)
    r = causeway.validate(gw.config, plan=True,
                          gateway=["--namespace", "gw", "--labels", "app=c-gateway", *IN_DALLAS])
    assert r.endpoint_priorities("data/inventory:80") == {
        f"{US_WEST}:33111": 2, f"{DALLAS}:33112": 0, f"{ASHBURN}:33113": 1}, r.plan
    answers = [get(33011, f"/items/{i}", host=HOST) for i in range(20)]
    assert [(a.status, served_by(a)) for a in answers] == [(200, "ashburn")] * 20, answers
    assert portland.log_entries() == []
    e = wait_event(gw, "eject")[0]
    assert (e["endpoint"], e["locality"], e["reason"], e["priority_loads"]) == \
        (f"{DALLAS}:33112", "us-south/dallas", "1 consecutive errors, last: connect refused",
         "0/100/0"), e
    recs = gw.log_records(20, requests_only=True)
    assert {(r["endpoint"], r["locality"], r["priority"]) for r in recs} == {
        (f"{ASHBURN}:33113", "us-east/ashburn", "1")}, recs
    assert recs[0]["retries"] == 1, recs[0]


def test_without_mapping_the_other_regions_share_the_fallback(stack):
    """The same without FailoverPolicy: us-west and us-east are both "another region" (P1), so
    once Dallas is out both receive requests."""
    dc_nginx(stack, US_WEST, 33131, "portland")
    dc_nginx(stack, ASHBURN, 33133, "ashburn")
    stack.gateway(three_regions(33013, (33131, 33132, 33133), None), [33013], args=IN_DALLAS)
    answers = [get(33013, f"/items/{i}", host=HOST) for i in range(20)]
    assert all(a.status == 200 for a in answers), answers
    assert {served_by(a) for a in answers} == {"portland", "ashburn"}, answers


# ---- 6. HTTP errors eject ------------------------------------------------------------------

def test_endpoint_answering_500_is_ejected_after_consecutive_errors(stack):
    """Manifest: Dallas answers 500, Ashburn 200; ODP consecutiveErrors 3. Sequential requests:
    exactly 3 reach Dallas (the client sees those 500s: a response is never retried), then
    Dallas is ejected and every later request is answered by Ashburn."""
    gw, dallas, _ = dallas_and_ashburn(
        stack, 33015,
        outlier_detection_policy(consecutiveErrors=3, interval="10s", baseEjectionTime="30s"),
        dallas_status=500)
    answers = [get(33015, f"/items/{i}", host=HOST) for i in range(10)]
    assert [(a.status, served_by(a)) for a in answers] == \
        [(500, "dallas")] * 3 + [(200, "ashburn")] * 7, answers
    assert len(dallas.wait_log(3)) == 3
    e = wait_event(gw, "eject")[0]
    assert (e["endpoint"], e["reason"], e["ejection"], e["duration_ms"]) == \
        (f"{DALLAS}:33115", "3 consecutive errors, last: HTTP 500", "1", "30000"), e


def test_endpoint_answering_503_is_ejected_after_consecutive_gateway_errors(stack):
    """Manifest: Dallas answers 503; ODP consecutiveGatewayErrors 2, consecutiveErrors 10:
    the gateway-error counter trips first, after exactly 2 requests."""
    gw, dallas, _ = dallas_and_ashburn(
        stack, 33017,
        outlier_detection_policy(consecutiveErrors=10, consecutiveGatewayErrors=2,
                                 interval="10s", baseEjectionTime="30s"),
        dallas_status=503)
    answers = [get(33017, f"/items/{i}", host=HOST) for i in range(8)]
    assert [(a.status, served_by(a)) for a in answers] == \
        [(503, "dallas")] * 2 + [(200, "ashburn")] * 6, answers
    assert len(dallas.wait_log(2)) == 2
    e = wait_event(gw, "eject")[0]
    assert (e["endpoint"], e["reason"]) == \
        (f"{DALLAS}:33117", "2 consecutive gateway errors, last: HTTP 503"), e
    assert len(gateway_events(gw, "eject")) == 1


# ---- 7. the ejection cap, and nothing left ---------------------------------------------------

def test_max_ejection_percent_keeps_half_of_the_endpoints(stack):
    """Manifest: four endpoints in Dallas's own locality, all answering 500; ODP
    consecutiveErrors 1, maxEjectionPercent 50 → exactly two are ejected, the third is refused
    (eject-refused event), and the two left keep serving (their 500s reach the client)."""
    addrs = [(DALLAS, 33121), (ASHBURN, 33122), (RACK3, 33123), (US_WEST, 33124)]
    servers = {f"{a}:{p}": dc_nginx(stack, a, p, f"rack{i}", status=500)
               for i, (a, p) in enumerate(addrs)}
    endpoints = [(f"rack{i}", a, p, LOC["dallas"]) for i, (a, p) in enumerate(addrs)]
    gw = stack.gateway(api(33021, endpoints,
                           outlier_detection_policy(consecutiveErrors=1, interval="10s",
                                                    baseEjectionTime="30s",
                                                    maxEjectionPercent=50)),
                       [33021], args=IN_DALLAS)
    for i in range(8):
        assert get(33021, f"/items/{i}", host=HOST).status == 500
    wait_event(gw, "eject-refused")
    ejected = {e["endpoint"] for e in gateway_events(gw, "eject")}
    assert len(ejected) == 2, gateway_events(gw)
    refused = gateway_events(gw, "eject-refused")
    assert all(r["refused"] == "maxEjectionPercent 50: 2 of 4 endpoints already ejected"
               and r["endpoint"] not in ejected for r in refused), refused
    # From now on only the two that stayed are used (nginx logs a request after answering it:
    # wait for the lines of all requests so far before counting).
    def logged():
        return {k: len(n.log_entries()) for k, n in servers.items()}
    before = wait_until(lambda: sum((c := logged()).values()) == 8 and c, 5, what="8 nginx lines")
    answers = [get(33021, f"/items/x{i}", host=HOST) for i in range(10)]
    assert all(a.status == 500 for a in answers), answers
    after = wait_until(lambda: sum((c := logged()).values()) == 18 and c, 5, what="18 nginx lines")
    grew = {k for k in servers if after[k] > before[k]}
    assert grew == set(servers) - ejected, (before, after, ejected)
    assert len(gateway_events(gw, "eject")) == 2


def test_all_endpoints_ejected_answers_503_no_healthy_upstream(stack):
    """Manifest: two endpoints in one locality, both answering 500; ODP consecutiveErrors 1,
    no maxEjectionPercent (= 100) → both ejected, then the gateway answers 503 "no healthy
    upstream" itself (panic mode is off) without contacting them."""
    a = dc_nginx(stack, DALLAS, 33125, "a", status=500)
    b = dc_nginx(stack, ASHBURN, 33126, "b", status=500)
    gw = stack.gateway(api(33025, [("a", DALLAS, 33125, LOC["dallas"]),
                                   ("b", ASHBURN, 33126, LOC["dallas"])],
                           outlier_detection_policy(consecutiveErrors=1, interval="10s",
                                                    baseEjectionTime="30s")),
                       [33025], args=IN_DALLAS)
    first = [get(33025, f"/items/{i}", host=HOST) for i in range(2)]
    assert sorted(served_by(r) for r in first) == ["a", "b"] and \
        all(r.status == 500 for r in first), first
    wait_event(gw, "eject", n=2)
    r = get(33025, "/items/late", host=HOST)
    assert (r.status, r.text.strip()) == (503, "no healthy upstream"), r
    wait_until(lambda: len(a.log_entries()) + len(b.log_entries()) >= 2, 5, what="2 nginx lines")
    assert len(a.log_entries()) + len(b.log_entries()) == 2
    rec = gw.log_records(3, requests_only=True)[-1]
    assert (rec["status"], rec["reason"]) == (503, "no healthy upstream"), rec
    assert gateway_events(gw, "eject-refused") == []

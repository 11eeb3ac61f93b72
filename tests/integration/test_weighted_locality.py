"""Weighted locality mappings (spec §6, Istio's `distribute`) through `causeway run`: a
FailoverPolicy mapping with `to[].weight` splits the traffic of a gateway in its `from` locality
over the `to` localities by weight, with or without an OutlierDetectionPolicy; localities it
does not name (the gateway's own included) get nothing; an ejected locality's share goes to the
others; TCP connections are split the same way. Real nginx backends, one per data center, each
answering with its data center's name; 1,000 requests (or connections) per measurement, each
share within ±5 points of its weight.

The gateway runs at us-east-1/us-east-1a (the spec's identity).
Addresses: gateway 127.0.3.1, data centers 127.0.3.11 (us-east-1a), 127.0.3.12 (us-east-1b),
127.0.3.21 (us-west-2a), 127.0.3.31 (eu-west-1a). Ports: gateway listeners 41001-41019,
backends 41051-41099.
"""
import signal
import socket
from collections import Counter

from backends import (Conn, base_manifests, dest, external_endpoint, external_service,
                      gateway_events, join, outlier_detection_policy, request, route_table,
                      stop_process, wait_until)

GW = "127.0.3.1"
HOST = "api.example.com"
REQUESTS = 1000
TOLERANCE = 0.05  # a share may be this far from its weight

# name: (address, locality)
DATA_CENTERS = {
    "east-a": ("127.0.3.11", "us-east-1/us-east-1a"),  # the gateway's own zone
    "east-b": ("127.0.3.12", "us-east-1/us-east-1b"),
    "west": ("127.0.3.21", "us-west-2/us-west-2a"),
    "eu": ("127.0.3.31", "eu-west-1/eu-west-1a"),
}


# ---- manifests -----------------------------------------------------------------------------

def distribute_policy(from_region, targets):
    """FailoverPolicy data/spread for the services labelled failover=true: one mapping from
    `from_region` to `targets`, [(region, weight or None)]."""
    to = ", ".join(f"{{region: {r}, weight: {w}}}" if w is not None else f"{{region: {r}}}"
                   for r, w in targets)
    return f"""\
apiVersion: resilience.policy.gloo.solo.io/v2
kind: FailoverPolicy
metadata: {{name: spread, namespace: data}}
spec:
  applyToDestinations:
  - kind: EXTERNAL_SERVICE
    selector: {{labels: {{failover: "true"}}}}
  config:
    localityMappings:
    - from: {{region: {from_region}}}
      to: [{to}]
"""


def inventory(backends, protocol="HTTP"):
    """ExternalService data/inventory (port 80, label failover=true) over one ExternalEndpoint
    per data center in `backends` ({name: port})."""
    docs = [external_service("inventory", 80, protocol=protocol, hosts=["inventory.external"],
                             selector={"app": "inventory"}, port_name="http", target_port="http",
                             labels={"failover": "true"})]
    for name, port in backends.items():
        addr, loc = DATA_CENTERS[name]
        docs.append(external_endpoint(f"inventory-{name}", addr, port, {"app": "inventory"},
                                      port_name="http", locality=loc))
    return join(*docs)


def http_manifests(port, backends, *policies):
    """HTTP listener `port`: every path of api.example.com to data/inventory."""
    return join(base_manifests([(port, "http")]), inventory(backends), route_table("api", [HOST], f"""
        http:
        - name: inventory
          forwardTo:
            destinations:
            {dest("inventory", 80)}
    """), *policies)


def tcp_manifests(port, backends, *policies):
    """TCP listener `port` to data/inventory (protocol TCP)."""
    return join(base_manifests([(port, "tcp")]), inventory(backends, protocol="TCP"),
                route_table("db", ["inventory.external"], f"""
        tcp:
        - matchers:
          - port: {port}
          forwardTo:
            destinations:
            {dest("inventory", 80)}
    """), *policies)


# ---- processes -----------------------------------------------------------------------------

def data_centers(stack, backends):
    """One nginx per data center in `backends` ({name: port}), answering "<name>\\n"."""
    out = {}
    for name, port in backends.items():
        addr, _ = DATA_CENTERS[name]
        out[name] = stack.nginx(f"""
            server {{
              listen {addr}:{port};
              location / {{ return 200 "{name}\\n"; }}
            }}
        """, [(addr, port)])
    return out


def gateway(stack, manifests, port, workers=1):
    return stack.gateway(manifests, [port], bind=GW, workers=workers)


# ---- clients -------------------------------------------------------------------------------

def http_requests(port, n=REQUESTS):
    """`n` GETs over one keep-alive connection; Counter of the data centers that answered
    (non-200 answers counted as "status <code>")."""
    served = Counter()
    c = Conn(GW, port)
    try:
        for i in range(n):
            c.send(request("GET", f"/items/{i}", HOST))
            r = c.read_response()
            assert r is not None, f"connection closed after {i} requests"
            served[r.text.strip() if r.status == 200 else f"status {r.status}"] += 1
    finally:
        c.close()
    return served


def tcp_connections(port, n=REQUESTS):
    """`n` TCP connections through the gateway, each carrying one HTTP/1.0 request to whichever
    nginx the gateway chose; Counter of the data centers that answered."""
    served = Counter()
    for _ in range(n):
        with socket.create_connection((GW, port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: inventory.external\r\n\r\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        served[data.rsplit(b"\r\n\r\n", 1)[-1].decode().strip() or "nothing"] += 1
    return served


def assert_shares(served, expected):
    """Every data center's share of the answers within TOLERANCE of `expected` ({name: share});
    the others got nothing."""
    total = sum(served.values())
    shares = {k: v / total for k, v in served.items()}
    for name, want in expected.items():
        got = shares.get(name, 0.0)
        assert abs(got - want) <= TOLERANCE, \
            f"{name}: {got:.1%} of {total}, expected {want:.0%} ± {TOLERANCE:.0%}; all: {dict(served)}"
    others = {k: v for k, v in served.items() if k not in expected}
    assert not others, f"traffic where none should go: {others}; all: {dict(served)}"


def log_localities(gw, n):
    """{endpoint: (locality, priority)} of the first `n` access-log records."""
    return {r["endpoint"]: (r["locality"], r["priority"])
            for r in gw.log_records(n, requests_only=True, timeout=10)}


# ---- tests ---------------------------------------------------------------------------------

def test_weighted_mapping_splits_70_30_and_nothing_stays_local(stack):
    """Mapping from us-east-1 to us-west-2 70, eu-west-1 30, no OutlierDetectionPolicy (§7.1:
    distribute works without one). The gateway's own zone has an endpoint; it is not named, so
    it gets nothing."""
    backends = {"east-a": 41051, "west": 41052, "eu": 41053}
    data_centers(stack, backends)
    gw = gateway(stack, http_manifests(41001, backends, distribute_policy(
        "us-east-1", [("us-west-2", 70), ("eu-west-1", 30)])), 41001)
    served = http_requests(41001)
    print(f"70/30 without outlier detection: {dict(served)}")
    assert_shares(served, {"west": 0.70, "eu": 0.30})
    assert log_localities(gw, REQUESTS) == {
        "127.0.3.21:41052": ("us-west-2/us-west-2a", "0"),
        "127.0.3.31:41053": ("eu-west-1/eu-west-1a", "0"),
    }
    assert "failover inactive" not in gw.output(), gw.output()


def test_three_way_split_with_outlier_detection_and_a_region_target(stack):
    """Mapping from us-east-1 to us-east-1 50 (a region: its two zones share it), us-west-2 30
    and eu-west-1 (weight derived: 20), with an OutlierDetectionPolicy: weights, not priorities,
    decide (Istio applies distribute or failover, never both)."""
    backends = {"east-a": 41054, "east-b": 41055, "west": 41056, "eu": 41057}
    data_centers(stack, backends)
    gateway(stack, http_manifests(41003, backends, outlier_detection_policy(consecutiveErrors=1),
                                  distribute_policy("us-east-1", [("us-east-1", 50),
                                                                  ("us-west-2", 30),
                                                                  ("eu-west-1", None)])), 41003)
    served = http_requests(41003)
    print(f"50/30/20 with outlier detection: {dict(served)}")
    assert_shares(served, {"east-a": 0.25, "east-b": 0.25, "west": 0.30, "eu": 0.20})


def test_ejected_locality_share_moves_to_the_others(stack):
    """As above with eu-west-1's nginx killed: the first requests that meet it are retried
    elsewhere (no client error) and it is ejected; its 20 % goes to the others in proportion
    (25/25/30 of 80: 31.25/31.25/37.5)."""
    backends = {"east-a": 41058, "east-b": 41059, "west": 41060, "eu": 41061}
    dcs = data_centers(stack, backends)
    gw = gateway(stack, http_manifests(
        41005, backends, outlier_detection_policy(consecutiveErrors=1, baseEjectionTime="300s"),
        distribute_policy("us-east-1", [("us-east-1", 50), ("us-west-2", 30),
                                        ("eu-west-1", 20)])), 41005)
    stop_process(dcs["eu"].proc, signal.SIGKILL)
    served = http_requests(41005, 50)
    assert set(served) <= {"east-a", "east-b", "west"}, served  # retried: nobody saw an error
    ejects = wait_until(lambda: gateway_events(gw, "eject"), 5, what="an eject event")
    assert [(e["endpoint"], e["locality"]) for e in ejects] == \
        [("127.0.3.31:41061", "eu-west-1/eu-west-1a")], ejects
    served = http_requests(41005)
    print(f"50/30/20 with eu-west-1 ejected: {dict(served)}")
    assert_shares(served, {"east-a": 0.3125, "east-b": 0.3125, "west": 0.375})


def test_tcp_route_honours_the_weights(stack):
    """A TCP listener to the same kind of service: each connection's endpoint is chosen by the
    weights, 70/30, over 1,000 connections spread over two workers."""
    backends = {"east-a": 41062, "west": 41063, "eu": 41064}
    data_centers(stack, backends)
    gw = gateway(stack, tcp_manifests(41007, backends, distribute_policy(
        "us-east-1", [("us-west-2", 70), ("eu-west-1", 30)])), 41007, workers=2)
    served = tcp_connections(41007)
    print(f"TCP 70/30: {dict(served)}")
    assert_shares(served, {"west": 0.70, "eu": 0.30})
    recs = gw.log_records(REQUESTS, timeout=10)
    assert {r["protocol"] for r in recs} == {"tcp"}

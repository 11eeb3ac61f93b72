"""What `--plan` says the gateway would serve: misconfigured routes answering 500 next to working
ones, weights, route order, and the locality priorities of §7 (which need outlier detection)."""
import textwrap

import pytest

from conftest import EXAMPLES

SET_B = EXAMPLES / "set-b"
GW = ["--namespace", "gw", "--labels", "app=c-gateway"]


def dd(text):
    return textwrap.dedent(text).lstrip("\n")


# ---- failure modes ----

BROKEN_TABLE = """
    apiVersion: networking.gloo.solo.io/v2
    kind: RouteTable
    metadata: {name: mixed, namespace: gw}
    spec:
      hosts: [mixed.example.com]
      virtualGateways: [{name: edge, namespace: gw}]
      %s
      http:
      - name: before
        matchers: [{uri: {prefix: /before}}]
        forwardTo:
          destinations:
          - {ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200}}
      - name: missing
        matchers: [{uri: {prefix: /missing}}]
        forwardTo:
          destinations:
          - {ref: {name: no-such-service, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 80}}
      - name: after
        directResponse: {status: 200, body: still here}
    """


@pytest.mark.parametrize("mode", ["", "failureMode: ROUTE_REPLACEMENT"])
def test_route_to_missing_service_answers_500_and_the_rest_is_served(causeway, write, set_a, mode):
    f = write("rt.yaml", BROKEN_TABLE % mode)
    r = causeway.validate(set_a, f, plan=True)
    assert r.rc == 1
    assert r.approval("RouteTable", "gw/mixed") == "INVALID"
    assert r.message("RouteTable", "gw/mixed") == (
        "destination EXTERNAL_SERVICE data/no-such-service not found in workspace ops (route missing)")
    assert "  host mixed.example.com" in r.plan
    missing = r.route_line("missing", "gw/mixed")
    assert " -> 500 " in missing and "no-such-service" in missing
    assert r.route_line("before", "gw/mixed").endswith("-> data/search-db:19200 100%")
    assert r.route_line("after", "gw/mixed").endswith("-> direct response 200")
    # The route keeps its place in the table.
    order = [l.split()[1] for l in r.plan_lines() if "[gw/mixed]" in l]
    assert order == ["before", "missing", "after"]
    # Other tables are not affected.
    assert r.approval("RouteTable", "gw/search") == "ACCEPTED"
    assert r.route_line("search-api", "gw/search").endswith("100%")


def test_freeze_config_serves_nothing_of_a_broken_table_on_cold_start(causeway, write, set_a):
    f = write("rt.yaml", BROKEN_TABLE % "failureMode: FREEZE_CONFIG")
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval("RouteTable", "gw/mixed") == "INVALID"
    assert "mixed.example.com" not in r.plan
    assert "[gw/mixed]" not in r.plan


# ---- weights and order ----

def test_weights_are_split_among_unweighted_destinations(causeway, write, set_a):
    f = write("w.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: s2, namespace: data}
        spec:
          addresses: [127.0.0.102]
          ports: [{name: http, number: 19102, protocol: HTTP}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: s3, namespace: data}
        spec:
          addresses: [127.0.0.103]
          ports: [{name: http, number: 19103, protocol: HTTP}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: split, namespace: gw}
        spec:
          hosts: [split.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http:
          - name: half-and-quarters
            matchers: [{uri: {prefix: /a}}]
            forwardTo:
              destinations:
              - {ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200}, weight: 50}
              - {ref: {name: s2, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19102}}
              - {ref: {name: s3, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19103}}
          - name: thirds
            matchers: [{uri: {prefix: /c}}]
            forwardTo:
              destinations:
              - {ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200}}
              - {ref: {name: s2, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19102}}
              - {ref: {name: s3, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19103}}
          - name: explicit
            matchers: [{uri: {prefix: /b}}]
            forwardTo:
              destinations:
              - {ref: {name: s2, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19102}, weight: 90}
              - {ref: {name: s3, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19103}, weight: 10}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval("RouteTable", "gw/split") == "ACCEPTED", r
    assert r.route_line("half-and-quarters", "gw/split").endswith(
        "-> data/search-db:19200 50%, data/s2:19102 25%, data/s3:19103 25%")
    assert r.route_line("explicit", "gw/split").endswith("-> data/s2:19102 90%, data/s3:19103 10%")
    thirds = r.route_line("thirds", "gw/split")
    shares = [int(w.rstrip("%,")) for w in thirds.split("->", 1)[1].split() if w.rstrip(",").endswith("%")]
    assert sum(shares) == 100 and sorted(shares) == [33, 33, 34], thirds


def test_two_tables_for_one_host_oldest_first(causeway, write, set_a):
    f = write("two.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: newer, namespace: gw, creationTimestamp: "2024-02-01T00:00:00Z"}
        spec:
          hosts: [same.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http: [{name: from-newer, directResponse: {status: 204}}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: older, namespace: gw, creationTimestamp: "2024-01-01T00:00:00Z"}
        spec:
          hosts: [same.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http: [{name: from-older, matchers: [{uri: {prefix: /old}}], directResponse: {status: 200}}]
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval("RouteTable", "gw/older") == "ACCEPTED"
    assert r.approval("RouteTable", "gw/newer") == "WARNING"
    assert "gw/older" in r.message("RouteTable", "gw/newer")
    lines = [l.strip() for l in r.plan_lines()]
    start = lines.index("host same.example.com")
    assert lines[start + 1].startswith("route from-older [gw/older]")
    assert lines[start + 2].startswith("route from-newer [gw/newer]")
    assert lines.count("host same.example.com") == 1


def test_duplicate_route_names_are_renamed(causeway, write, set_a):
    f = write("dups.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: dups, namespace: gw}
        spec:
          hosts: [dups.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http:
          - {name: r, matchers: [{uri: {exact: /1}}], directResponse: {status: 201}}
          - {name: r, matchers: [{uri: {exact: /2}}], directResponse: {status: 202}}
          - {name: r, directResponse: {status: 203}}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.route_line("r", "gw/dups").endswith("direct response 201")
    assert r.route_line("duplicate-r-1", "gw/dups").endswith("direct response 202")
    assert r.route_line("duplicate-r-2", "gw/dups").endswith("direct response 203")


# ---- failover needs outlier detection (§7.1) ----

def set_b_without(tmp_write, keep_od, keep_fo):
    text = (SET_B / "policies.yaml").read_text()
    cut = text.index("# Where traffic goes")
    parts = ([text[:cut]] if keep_od else []) + ([text[cut:]] if keep_fo else [])
    files = [SET_B / "endpoints.yaml", SET_B / "external-service.yaml", SET_B / "route-table.yaml"]
    if parts:
        files.append(tmp_write("policies.yaml", "---\n".join(parts)))
    return files


def test_failover_without_outlier_detection_turns_priorities_off(causeway, write, set_a):
    r = causeway.validate(set_a, *set_b_without(write, keep_od=False, keep_fo=True), plan=True)
    assert r.rc == 0
    assert r.approval("FailoverPolicy", "data/inventory-fo") == "WARNING"
    assert r.message("FailoverPolicy", "data/inventory-fo") == (
        "no OutlierDetectionPolicy selects data/inventory; failover inactive")
    header, _ = r.cluster("data/inventory:80")
    assert "priorities off" in header
    assert "failover data/inventory-fo (inactive" in header
    assert " outlier data/" not in header
    # One priority: traffic is spread over east and west.
    assert r.endpoint_priorities("data/inventory:80") == {"127.0.0.41:18081": 0, "localhost:18082": 0}
    es = r.status("ExternalService", "data/inventory")
    assert es["numAppliedDestinationPolicies"].get("OutlierDetectionPolicy", 0) == 0


def test_no_policies_no_priorities(causeway, write, set_a):
    r = causeway.validate(set_a, *set_b_without(write, keep_od=False, keep_fo=False), plan=True)
    assert r.rc == 0
    header, _ = r.cluster("data/inventory:80")
    assert "priorities off" in header
    assert set(r.endpoint_priorities("data/inventory:80").values()) == {0}


def test_outlier_detection_alone_gives_default_priorities(causeway, write, set_a):
    r = causeway.validate(set_a, *set_b_without(write, keep_od=True, keep_fo=False), plan=True)
    header, _ = r.cluster("data/inventory:80")
    assert "outlier data/inventory-od" in header and "priorities off" not in header
    assert r.endpoint_priorities("data/inventory:80") == {"127.0.0.41:18081": 0, "localhost:18082": 1}


def test_outlier_detection_settings_and_defaults(causeway, write, set_a):
    f = write("od.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: s1, namespace: data, labels: {od: defaults}}
        spec:
          addresses: [127.0.0.101]
          ports: [{name: http, number: 19101, protocol: HTTP}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: s2, namespace: data, labels: {od: zero}}
        spec:
          addresses: [127.0.0.102]
          ports: [{name: http, number: 19102, protocol: HTTP}]
        ---
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-defaults, namespace: data}
        spec:
          applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {labels: {od: defaults}}}]
        ---
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-zero, namespace: data}
        spec:
          applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {labels: {od: zero}}}]
          config: {maxEjectionPercent: 0, baseEjectionTime: 1m30s, consecutiveErrors: 7}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.rc == 0, r
    h1, _ = r.cluster("data/s1:19101")
    assert "outlier data/od-defaults (consecutiveErrors 5, baseEjectionTime 30s, maxEjectionPercent 100)" in h1
    h2, _ = r.cluster("data/s2:19102")
    assert "outlier data/od-zero (consecutiveErrors 7, baseEjectionTime 1m30s, maxEjectionPercent 10)" in h2


# ---- the gateway's locality decides the priorities (§7.2) ----

@pytest.mark.parametrize("locality,east,west", [
    ("us-east-1/us-east-1a", 0, 1),      # the spec's gateway: east is local
    ("us-east-1/us-east-1b", 0, 1),      # same region, other zone: still east first
    ("us-east-1", 0, 1),
    ("us-west-2/us-west-2b", 1, 0),      # a gateway in the west prefers the west
    ("us-west-2", 1, 0),
    ("eu-west-1/eu-west-1a", 0, 0),      # neither is closer and no mapping from eu-west-1
])
def test_gateway_locality_changes_priorities(causeway, set_a, locality, east, west):
    r = causeway.validate(set_a, SET_B, plan=True, gateway=GW + ["--locality", locality])
    assert r.plan.startswith(f"gateway locality {locality}\n")
    assert r.endpoint_priorities("data/inventory:80") == {"127.0.0.41:18081": east, "localhost:18082": west}


def test_gateway_without_locality_has_no_priorities(causeway, set_a):
    r = causeway.validate(set_a, SET_B, plan=True, gateway=GW)
    header, _ = r.cluster("data/inventory:80")
    assert "priorities off" in header
    assert set(r.endpoint_priorities("data/inventory:80").values()) == {0}


MANY = """
    apiVersion: networking.gloo.solo.io/v2
    kind: ExternalService
    metadata: {name: many, namespace: data, labels: {failover: "yes"}}
    spec:
      hosts: [many.internal]
      ports: [{name: http, number: 80, protocol: HTTP, targetPort: {number: 18200}}]
      selector: {app: many}
    ---
    apiVersion: resilience.policy.gloo.solo.io/v2
    kind: OutlierDetectionPolicy
    metadata: {name: many-od, namespace: data}
    spec:
      applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {labels: {failover: "yes"}}}]
      config: {consecutiveErrors: 1}
    ---
    %s
"""

ENDPOINTS = {
    # name: (address, region, zone, subZone)
    "same-subzone": ("127.0.0.201", "us-east-1", "us-east-1a", "rack1"),
    "other-subzone": ("127.0.0.202", "us-east-1", "us-east-1a", "rack2"),
    "other-zone": ("127.0.0.203", "us-east-1", "us-east-1c", ""),
    "mapped-region": ("127.0.0.204", "us-west-2", "us-west-2a", ""),
    "unmapped-region": ("127.0.0.205", "eu-west-1", "eu-west-1a", ""),
    "no-locality": ("127.0.0.206", "", "", ""),
}


def many_endpoints():
    docs = []
    for name, (addr, region, zone, sub) in ENDPOINTS.items():
        loc = ""
        if region:
            loc = f"  locality: {{region: {region}, zone: {zone}" + (f", subZone: {sub}" if sub else "") + "}\n"
        docs.append(
            "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalEndpoint\n"
            f"metadata: {{name: {name}, namespace: data, labels: {{app: many}}}}\n"
            f"spec:\n  address: {addr}\n  ports: [{{name: http, number: 18200}}]\n{loc}"
        )
    return "---\n".join(docs)


FAILOVER = """
apiVersion: resilience.policy.gloo.solo.io/v2
kind: FailoverPolicy
metadata: {name: many-fo, namespace: data}
spec:
  applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {labels: {failover: "yes"}}}]
  config:
    localityMappings:
    - from: {region: us-east-1}
      to: [{region: us-west-2}]
"""


def priorities(r):
    raw = r.endpoint_priorities("data/many:80")
    return {name: raw[f"{addr}:18200"] for name, (addr, *_rest) in ENDPOINTS.items()}


def test_priority_levels_with_failover_mapping(causeway, write, set_a):
    f = write("many.yaml", dd(MANY % "") + many_endpoints() + "---\n" + FAILOVER)
    r = causeway.validate(set_a, f, plan=True,
                          gateway=GW + ["--locality", "us-east-1/us-east-1a/rack1"])
    assert r.rc == 0, r
    # p: same subzone 0, same zone 1, same region 2, mapped region 3, other regions 4 → compacted.
    assert priorities(r) == {
        "same-subzone": 0,
        "other-subzone": 1,
        "other-zone": 2,
        "mapped-region": 3,
        "unmapped-region": 4,
        "no-locality": 4,
    }


def test_priority_levels_without_mapping(causeway, write, set_a):
    f = write("many.yaml", dd(MANY % "") + many_endpoints())
    r = causeway.validate(set_a, f, plan=True,
                          gateway=GW + ["--locality", "us-east-1/us-east-1a/rack1"])
    # Without a mapping all other regions share the last priority.
    assert priorities(r) == {
        "same-subzone": 0,
        "other-subzone": 1,
        "other-zone": 2,
        "mapped-region": 3,
        "unmapped-region": 3,
        "no-locality": 3,
    }


def test_priorities_are_compacted(causeway, write, set_a):
    # Gateway in us-east-1/us-east-1c: nothing at p0/p1; same region (other-zone) is p0 after compaction.
    f = write("many.yaml", dd(MANY % "") + many_endpoints() + "---\n" + FAILOVER)
    r = causeway.validate(set_a, f, plan=True, gateway=GW + ["--locality", "us-east-1/us-east-1c"])
    assert priorities(r) == {
        "same-subzone": 1,       # same region, other zone (p2)
        "other-subzone": 1,
        "other-zone": 0,         # same zone and subZone "" == "" (p0)
        "mapped-region": 2,
        "unmapped-region": 3,
        "no-locality": 3,
    }


def test_mapping_for_another_region_changes_nothing(causeway, write, set_a):
    other = FAILOVER.replace("from: {region: us-east-1}", "from: {region: ap-south-1}")
    f = write("many.yaml", dd(MANY % "") + many_endpoints() + "---\n" + other)
    r = causeway.validate(set_a, f, plan=True,
                          gateway=GW + ["--locality", "us-east-1/us-east-1a/rack1"])
    assert priorities(r)["mapped-region"] == priorities(r)["unmapped-region"] == 3


def test_gateway_without_region_turns_priorities_off(causeway, write, set_a):
    f = write("many.yaml", dd(MANY % "") + many_endpoints())
    r = causeway.validate(set_a, f, plan=True, gateway=GW)
    assert "priorities off" in r.cluster("data/many:80")[0]
    assert set(priorities(r).values()) == {0}


# ---- weighted locality mappings (§6, Istio's distribute) ----

DISTRIBUTE = FAILOVER.replace("to: [{region: us-west-2}]",
                              "to: [{region: us-east-1, weight: 60}, {region: us-west-2}]")


def test_weighted_mapping_shows_per_locality_shares(causeway, write, set_a):
    """us-east-1's 60 % is shared by its three localities (one endpoint each), us-west-2 gets
    the derived 40 %; eu-west-1 and the endpoint without a locality get nothing, and there are
    no priorities although an OutlierDetectionPolicy selects the service."""
    f = write("many.yaml", dd(MANY % "") + many_endpoints() + "---\n" + DISTRIBUTE)
    r = causeway.validate(set_a, f, plan=True,
                          gateway=GW + ["--locality", "us-east-1/us-east-1a/rack1"])
    assert r.rc == 0, r
    assert r.approval("FailoverPolicy", "data/many-fo") == "ACCEPTED"
    head, lines = r.cluster("data/many:80")
    assert " failover data/many-fo (distribute) priorities off" in head, head
    assert lines[0] == "distribute from us-east-1: us-east-1 60%, us-west-2 40% (derived)"
    shares = {l.split()[1]: l.rsplit(") ", 1)[1] for l in lines[1:]}
    assert shares == {
        "127.0.0.201:18200": "locality share 20%",
        "127.0.0.202:18200": "locality share 20%",
        "127.0.0.203:18200": "locality share 20%",
        "127.0.0.204:18200": "locality share 40%",
        "127.0.0.205:18200": "no traffic (locality not in the mapping)",
        "127.0.0.206:18200": "no traffic (locality not in the mapping)",
    }, lines
    assert set(priorities(r).values()) == {0}


def test_weighted_mapping_from_another_region_distributes_nothing(causeway, write, set_a):
    other = DISTRIBUTE.replace("from: {region: us-east-1}", "from: {region: ap-south-1}")
    f = write("many.yaml", dd(MANY % "") + many_endpoints() + "---\n" + other)
    r = causeway.validate(set_a, f, plan=True,
                          gateway=GW + ["--locality", "us-east-1/us-east-1a/rack1"])
    assert r.approval("FailoverPolicy", "data/many-fo") == "ACCEPTED"
    assert "distribute: no localityMappings[].from holds this gateway's locality" in \
        r.message("FailoverPolicy", "data/many-fo")
    head, lines = r.cluster("data/many:80")
    assert "priorities off" in head
    assert lines[0] == ("distribute: no mapping from us-east-1/us-east-1a/rack1; every endpoint "
                        "shares one priority")
    assert set(priorities(r).values()) == {0}


def test_insecure_prefix_is_trimmed_from_route_names(causeway, write, set_a):
    f = write("names.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: names, namespace: gw}
        spec:
          hosts: [names.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http:
          - {name: insecure-login, directResponse: {status: 200}}
          - {name: login, directResponse: {status: 201}}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.route_line("login", "gw/names").endswith("direct response 200")
    assert r.route_line("duplicate-login-1", "gw/names").endswith("direct response 201")


# ---- upstreams of an ExternalService (§1.4) ----

def test_static_addresses_share_one_upstream(causeway, write, set_a):
    f = write("es.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: pair, namespace: data}
        spec:
          addresses: [127.0.0.141, 127.0.0.142]
          ports: [{name: http, number: 19141, protocol: HTTP}]
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.endpoint_priorities("data/pair:19141") == {"127.0.0.141:19141": 0, "127.0.0.142:19141": 0}


def test_each_dns_host_is_its_own_upstream(causeway, write, set_a):
    # §1.4 rule 2: without endpoints, the hosts are resolved via DNS and "each host is its own
    # upstream" (Istio builds one cluster per host). Two different hosts must not be load-balanced
    # as if they were replicas of one backend.
    f = write("es.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: two-hosts, namespace: data}
        spec:
          hosts: [localhost, ip6-localhost]
          ports: [{name: http, number: 19151, protocol: HTTP}]
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval("ExternalService", "data/two-hosts") in ("ACCEPTED", "WARNING")
    lines = r.plan_lines()
    clusters = {}
    current = None
    for line in lines:
        if line.startswith("cluster "):
            current = line.split()[1]
            clusters[current] = set()
        elif current and line.startswith("  P"):
            clusters[current].add(line.split()[1].rsplit(":", 1)[0])
        else:
            current = None
    mine = {c: hosts for c, hosts in clusters.items() if c.startswith("data/two-hosts")}
    assert mine, r.plan
    for c, hosts in mine.items():
        assert len(hosts) <= 1, f"cluster {c} mixes the hosts {sorted(hosts)}"
    assert mine == {"data/two-hosts:19151@localhost": {"localhost"},
                    "data/two-hosts:19151@ip6-localhost": {"ip6-localhost"}}, r.plan

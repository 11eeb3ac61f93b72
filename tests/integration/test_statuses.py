"""Every situation of the spec's §9 message table, through the CLI, plus the overlap (§8.4) and
visibility (§8.3) rules that decide them."""
import textwrap

import pytest

from conftest import EXAMPLES

ES = "ExternalService"


def dd(text):
    """Dedents a manifest literal so that it can be concatenated with es_doc()/route_table()."""
    return textwrap.dedent(text).lstrip("\n")

RT = "RouteTable"


def es_doc(name, ns="data", addresses=None, hosts=None, ports="[{name: http, number: 19000, protocol: HTTP}]",
           created=None, labels=None, extra=""):
    meta = f"name: {name}, namespace: {ns}"
    if created:
        meta += f', creationTimestamp: "{created}"'
    if labels:
        meta += f", labels: {labels}"
    spec = ""
    if addresses is not None:
        spec += f"  addresses: {addresses}\n"
    if hosts is not None:
        spec += f"  hosts: {hosts}\n"
    return (
        "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\n"
        f"metadata: {{{meta}}}\nspec:\n{spec}  ports: {ports}\n{extra}---\n"
    )


def route_table(name, routes, host=None):
    return (
        "apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\n"
        f"metadata: {{name: {name}, namespace: gw}}\nspec:\n"
        f"  hosts: [{host or name + '.example.com'}]\n"
        "  virtualGateways: [{name: edge, namespace: gw}]\n"
        f"  http:\n{routes}---\n"
    )


def fwd(name, ref, port=None, weight=None, extra_dest=""):
    d = f"{{ref: {ref}, kind: EXTERNAL_SERVICE"
    if port is not None:
        d += f", port: {{number: {port}}}"
    if weight is not None:
        d += f", weight: {weight}"
    d += "}"
    return f"  - name: {name}\n    forwardTo:\n      destinations:\n      - {d}\n{extra_dest}"


# ---- ExternalService duplicate address / host (§8.4) ----

def test_duplicate_address_message_names_the_winner(causeway, write, set_a):
    f = write("dup.yaml", es_doc("first", addresses="[127.0.0.50]", created="2024-01-01T00:00:00Z")
              + es_doc("second", addresses="['127.0.0.50/32']", created="2024-06-01T00:00:00Z"))
    r = causeway.validate(set_a, f)
    assert r.rc == 1
    assert r.approval(ES, "data/first") == "ACCEPTED"
    assert r.approval(ES, "data/second") == "INVALID"
    assert r.message(ES, "data/second") == (
        "address 127.0.0.50/32 already used by ExternalService data/first in workspace ops")


def test_creation_timestamp_decides_not_file_order(causeway, write, set_a):
    # ledger-b is written first and named later, but created earlier: it wins.
    f = write("ledgers.yaml", es_doc("ledger-b", addresses="['127.0.0.15/32']", created="2023-12-31T23:59:59Z")
              + es_doc("ledger-a", addresses="[127.0.0.15]", created="2024-01-10T09:00:00Z"))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "data/ledger-b") == "ACCEPTED"
    assert r.approval(ES, "data/ledger-a") == "INVALID"
    assert r.message(ES, "data/ledger-a") == (
        "address 127.0.0.15 already used by ExternalService data/ledger-b in workspace ops")


def test_timestamps_with_offsets_are_compared_as_instants(causeway, write, set_a):
    # 2024-01-02T00:30:00+02:00 is 2024-01-01T22:30Z: earlier than 23:00Z.
    f = write("tz.yaml", es_doc("utc", addresses="[127.0.0.51]", created="2024-01-01T23:00:00Z")
              + es_doc("plus-two", addresses="[127.0.0.51]", created="2024-01-02T00:30:00+02:00"))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "data/plus-two") == "ACCEPTED"
    assert r.approval(ES, "data/utc") == "INVALID"


def test_tie_is_broken_by_namespace_and_name(causeway, write, set_a):
    f = write("tie.yaml", es_doc("zeta", addresses="[127.0.0.52]") + es_doc("alpha", addresses="[127.0.0.52]"))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "data/alpha") == "ACCEPTED"
    assert r.approval(ES, "data/zeta") == "INVALID"
    assert "data/alpha in workspace ops" in r.message(ES, "data/zeta")


def test_deleting_the_winner_makes_the_loser_accepted(causeway, write, set_a):
    # Set C without ledger-a: ledger-b is evaluated again and accepted.
    f = write("only-b.yaml", es_doc("ledger-b", addresses="['127.0.0.15/32']",
                                    ports="[{name: tcp, number: 17001, protocol: TCP}]",
                                    created="2024-03-05T14:30:00Z"))
    r = causeway.validate(set_a, f)
    assert r.rc == 0
    assert r.approval(ES, "data/ledger-b") == "ACCEPTED"


def test_duplicate_host_is_rejected_case_insensitively(causeway, write, set_a):
    f = write("hosts.yaml", es_doc("h1", hosts="[API.corp.internal]", created="2024-01-01T00:00:00Z")
              + es_doc("h2", hosts="[api.corp.internal]", created="2024-02-01T00:00:00Z"))
    # --resolve off: h1's host is its own DNS backend (spec §1.4) and does not resolve here
    r = causeway.validate(set_a, f, extra=["--resolve", "off"])
    assert r.approval(ES, "data/h1") == "ACCEPTED"
    assert r.approval(ES, "data/h2") == "INVALID"
    assert "already used by ExternalService data/h1 in workspace ops" in r.message(ES, "data/h2")


def test_partially_overlapping_cidrs_are_both_warnings(causeway, write, set_a):
    f = write("cidr.yaml", es_doc("net16", addresses="[127.5.0.0/16]") + es_doc("net24", addresses="[127.5.1.0/24]"))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "data/net16") == "WARNING"
    assert r.approval(ES, "data/net24") == "WARNING"
    assert "overlaps" in r.message(ES, "data/net16") and "data/net24" in r.message(ES, "data/net16")
    assert r.rc == 0


def test_export_without_import_changes_nothing(causeway, write):
    # Set D with only prod's export: staging does not import, so no collision.
    d = EXAMPLES / "set-d"
    ws = write("d/workspaces.yaml", (d / "workspaces.yaml").read_text())
    es = write("d/customers-db.yaml", (d / "customers-db.yaml").read_text())
    wss = write("d/settings.yaml", """
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: prod, namespace: prod-data}
        spec:
          exportTo:
          - workspaces: [{selector: {env: staging}}]
            resources: [{kind: EXTERNAL_SERVICE}]
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: staging, namespace: staging-data}
        spec: {}
        """)
    r = causeway.validate(ws, es, wss)
    assert r.rc == 0, r
    assert r.approval(ES, "staging-data/customers-db") == "ACCEPTED"
    assert r.approval(ES, "prod-data/customers-db") == "ACCEPTED"


def test_import_without_export_changes_nothing(causeway, write):
    d = EXAMPLES / "set-d"
    ws = write("d/workspaces.yaml", (d / "workspaces.yaml").read_text())
    es = write("d/customers-db.yaml", (d / "customers-db.yaml").read_text())
    wss = write("d/settings.yaml", """
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: prod, namespace: prod-data}
        spec: {}
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: staging, namespace: staging-data}
        spec:
          importFrom:
          - workspaces: [{name: prod}]
            resources: [{kind: EXTERNAL_SERVICE}]
        """)
    r = causeway.validate(ws, es, wss)
    assert r.rc == 0, r
    assert {r.approval(ES, "staging-data/customers-db"), r.approval(ES, "prod-data/customers-db")} == {"ACCEPTED"}


def test_collision_in_a_common_importing_workspace(causeway, write):
    f = write("three.yaml", dd("""
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: wa, namespace: gloo-mesh}
        spec: {workloadClusters: [{name: '*', namespaces: [{name: ns-a}]}]}
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: wb, namespace: gloo-mesh}
        spec: {workloadClusters: [{name: '*', namespaces: [{name: ns-b}]}]}
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: wc, namespace: gloo-mesh}
        spec: {workloadClusters: [{name: '*', namespaces: [{name: ns-c}]}]}
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: wa, namespace: ns-a}
        spec: {exportTo: [{workspaces: [{name: wc}]}]}
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: wb, namespace: ns-b}
        spec: {exportTo: [{workspaces: [{name: '*'}], resources: [{kind: EXTERNAL_SERVICE}]}]}
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: wc, namespace: ns-c}
        spec: {importFrom: [{workspaces: [{name: 'w*'}]}]}
        ---
        """) + es_doc("shared", ns="ns-a", addresses="[127.0.0.53]", created="2024-01-01T00:00:00Z")
              + es_doc("shared", ns="ns-b", addresses="[127.0.0.53]", created="2023-01-01T00:00:00Z"))
    r = causeway.validate(f)
    assert r.approval(ES, "ns-b/shared") == "ACCEPTED"
    assert r.approval(ES, "ns-a/shared") == "INVALID"
    assert r.message(ES, "ns-a/shared") == (
        "address 127.0.0.53 already used by ExternalService ns-b/shared in workspace wc")
    assert r.status(ES, "ns-a/shared")["ownedByWorkspace"] == "wa"


# ---- hosts / addresses ----

@pytest.mark.parametrize("spec", [
    {"addresses": "[127.0.0.54]", "hosts": "[both.internal]"},
    {},
    {"addresses": "[]"},
])
def test_exactly_one_of_hosts_or_addresses(causeway, write, set_a, spec):
    f = write("es.yaml", es_doc("odd", **spec))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "data/odd") == "INVALID"
    assert r.message(ES, "data/odd") == "exactly one of hosts or addresses must be set"
    assert r.rc == 1


# ---- ports ----

def test_target_port_name_without_endpoints(causeway, write, set_a):
    f = write("es.yaml", es_doc("named", hosts="[named.internal]",
                                ports="[{name: http, number: 80, protocol: HTTP, targetPort: {name: web}}]"))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "data/named") == "INVALID"
    assert r.message(ES, "data/named") == "targetPort name web requires selected ExternalEndpoints"


def test_target_port_number_without_endpoints_is_fine(causeway, write, set_a):
    f = write("es.yaml", es_doc("numbered", addresses="[127.0.0.55]",
                                ports="[{name: http, number: 80, protocol: HTTP, targetPort: {number: 18055}}]"))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(ES, "data/numbered") == "ACCEPTED"
    assert r.endpoint_priorities("data/numbered:80") == {"127.0.0.55:18055": 0}


def test_selected_endpoint_without_the_port_is_a_warning(causeway, write, set_a):
    f = write("eps.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalEndpoint
        metadata: {name: ep-good, namespace: data, labels: {app: partial}}
        spec:
          address: 127.0.0.81
          ports: [{name: http, number: 18181}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalEndpoint
        metadata: {name: ep-admin-only, namespace: data, labels: {app: partial}}
        spec:
          address: 127.0.0.82
          ports: [{name: admin, number: 18999}]
        ---
        """) + es_doc("partial", hosts="[partial.internal]", extra="  selector: {app: partial}\n",
                     ports="[{name: http, number: 80, protocol: HTTP, targetPort: {name: http}}]"))
    r = causeway.validate(set_a, f, plan=True)
    assert r.rc == 0
    assert r.approval(ES, "data/partial") == "WARNING"
    msg = r.message(ES, "data/partial")
    assert msg.startswith("ExternalEndpoint data/ep-admin-only has no port matching"), msg
    assert "http" in msg
    assert r.status(ES, "data/partial")["numSelectedExternalEndpoints"] == 2
    # The endpoint without the port is excluded, the other one serves.
    assert r.endpoint_priorities("data/partial:80") == {"127.0.0.81:18181": 0}


def test_endpoint_without_ports_uses_the_service_port(causeway, write, set_a):
    f = write("eps.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalEndpoint
        metadata: {name: bare, namespace: data, labels: {app: bare}}
        spec:
          address: 127.0.0.83
        ---
        """) + es_doc("bare", hosts="[bare.internal]", extra="  selector: {app: bare}\n",
                     ports="[{name: http, number: 18083, protocol: HTTP}]"))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(ES, "data/bare") == "ACCEPTED"
    assert r.endpoint_priorities("data/bare:18083") == {"127.0.0.83:18083": 0}


def test_empty_selector_selects_nothing(causeway, write, set_a):
    f = write("eps.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalEndpoint
        metadata: {name: stray, namespace: data, labels: {app: x}}
        spec:
          address: 127.0.0.84
          ports: [{name: http, number: 18084}]
        ---
        """) + es_doc("dns-only", hosts="[localhost]", extra="  selector: {}\n",
                     ports="[{name: http, number: 18085, protocol: HTTP}]"))
    r = causeway.validate(set_a, f, plan=True)
    assert r.status(ES, "data/dns-only")["numSelectedExternalEndpoints"] == 0
    assert r.endpoint_priorities("data/dns-only:18085") == {"localhost:18085": 0}


# ---- route destinations (RouteTable) ----

def test_route_to_missing_external_service(causeway, write, set_a):
    f = write("rt.yaml", route_table("broken", fwd("missing", "{name: nope, namespace: data}", 80)))
    r = causeway.validate(set_a, f)
    assert r.rc == 1
    assert r.approval(RT, "gw/broken") == "INVALID"
    assert r.message(RT, "gw/broken").startswith(
        "destination EXTERNAL_SERVICE data/nope not found in workspace ops")


def test_route_ref_namespace_defaults_to_the_route_tables(causeway, write, set_a):
    # ref without namespace ⇒ gw/search-db, which does not exist (search-db lives in data).
    f = write("rt.yaml", route_table("nsdefault", fwd("r", "{name: search-db}", 19200)))
    r = causeway.validate(set_a, f)
    assert r.approval(RT, "gw/nsdefault") == "INVALID"
    assert "destination EXTERNAL_SERVICE gw/search-db not found in workspace ops" in r.message(RT, "gw/nsdefault")


def test_route_to_external_service_of_another_workspace_without_import(causeway, write, set_a):
    f = write("other.yaml", dd("""
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: billing, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1, namespaces: [{name: billing}]}]
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: billing, namespace: billing}
        spec:
          exportTo: [{workspaces: [{name: ops}]}]
        ---
        """) + es_doc("ledger", ns="billing", addresses="[127.0.0.56]")
              + route_table("cross", fwd("r", "{name: ledger, namespace: billing}", 19000)))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "billing/ledger") == "ACCEPTED"
    assert r.approval(RT, "gw/cross") == "INVALID"
    assert "destination EXTERNAL_SERVICE billing/ledger not found in workspace ops" in r.message(RT, "gw/cross")


def test_route_to_imported_external_service(causeway, write):
    # Same as above, but ops imports from billing: the route is fine.
    f = write("all.yaml", dd("""
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: ops, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1, namespaces: [{name: gw}]}]
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: ops, namespace: gw}
        spec:
          importFrom: [{workspaces: [{name: billing}], resources: [{kind: EXTERNAL_SERVICE}]}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualGateway
        metadata: {name: edge, namespace: gw}
        spec:
          workloads: [{selector: {labels: {app: c-gateway}}}]
          listeners: [{port: {number: 18080}, http: {}}]
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: billing, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1, namespaces: [{name: billing}]}]
        ---
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: billing, namespace: billing}
        spec:
          exportTo: [{workspaces: [{name: ops}]}]
        ---
        """) + es_doc("ledger", ns="billing", addresses="[127.0.0.56]")
              + route_table("cross", fwd("r", "{name: ledger, namespace: billing}", 19000)))
    r = causeway.validate(f, plan=True)
    assert r.rc == 0, r
    assert r.approval(RT, "gw/cross") == "ACCEPTED"
    assert r.route_line("r", "gw/cross").endswith("-> billing/ledger:19000 100%")


def test_route_to_invalid_external_service_is_misconfigured(causeway, set_a, write):
    # Set C's loser cannot be a destination: the route answers 500.
    f = write("rt.yaml", route_table("ledger", fwd("to-b", "{name: ledger-b, namespace: data}", 17001)
                                     + fwd("to-a", "{name: ledger-a, namespace: data}", 17000)))
    r = causeway.validate(set_a, EXAMPLES / "set-c", f, plan=True)
    assert r.approval(RT, "gw/ledger") == "INVALID"
    assert "data/ledger-b" in r.message(RT, "gw/ledger")
    assert " -> 500 " in r.route_line("to-b", "gw/ledger")
    assert r.route_line("to-a", "gw/ledger").endswith("-> data/ledger-a:17000 100%")


def test_destination_port_not_on_the_service(causeway, write, set_a):
    f = write("rt.yaml", route_table("badport", fwd("r", "{name: search-db, namespace: data}", 1234)))
    r = causeway.validate(set_a, f)
    assert r.approval(RT, "gw/badport") == "INVALID"
    assert r.message(RT, "gw/badport").startswith("port 1234 not found on data/search-db")


def test_destination_port_by_name(causeway, write, set_a):
    routes = (
        "  - name: by-name\n    forwardTo:\n      destinations:\n"
        "      - {ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {name: http}}\n"
        "  - name: bad-name\n    forwardTo:\n      destinations:\n"
        "      - {ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {name: grpc}}\n"
    )
    f = write("rt.yaml", route_table("names", routes))
    r = causeway.validate(set_a, f, plan=True)
    assert r.route_line("by-name", "gw/names").endswith("-> data/search-db:19200 100%")
    assert "port grpc not found on data/search-db" in r.message(RT, "gw/names")


def test_port_required_when_the_service_has_several(causeway, write, set_a):
    f = write("rt.yaml", es_doc("twoports", addresses="[127.0.0.57]",
                                ports="[{name: http, number: 19057, protocol: HTTP}, {name: admin, number: 19058, protocol: HTTP}]")
              + route_table("noport", fwd("r", "{name: twoports, namespace: data}")))
    r = causeway.validate(set_a, f)
    assert r.approval(RT, "gw/noport") == "INVALID"
    assert r.message(RT, "gw/noport").startswith("port required: destination has multiple ports")


def test_port_may_be_omitted_when_the_service_has_one(causeway, write, set_a):
    f = write("rt.yaml", route_table("oneport", fwd("r", "{name: search-db, namespace: data}")))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/oneport") == "ACCEPTED", r
    assert r.route_line("r", "gw/oneport").endswith("-> data/search-db:19200 100%")


@pytest.mark.parametrize("weights,valid", [
    ((70, 50), False),        # sum > 100
    ((100, None), False),     # remainder 0 with an unweighted destination left
    ((60, 30), False),        # sum < 100, nobody to take the rest
    ((60, 40), True),
    ((60, None), True),
    ((None, None), True),
])
def test_destination_weights(causeway, write, set_a, weights, valid):
    es = es_doc("w2", addresses="[127.0.0.58]", ports="[{name: http, number: 19058, protocol: HTTP}]")
    dest = "      - {ref: {name: w2, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19058}%s}\n" % (
        f", weight: {weights[1]}" if weights[1] is not None else "")
    f = write("rt.yaml", es + route_table("weights", fwd("r", "{name: search-db, namespace: data}", 19200, weights[0],
                                                         extra_dest=dest)))
    r = causeway.validate(set_a, f, plan=True)
    if valid:
        assert r.approval(RT, "gw/weights") == "ACCEPTED", r
    else:
        assert r.approval(RT, "gw/weights") == "INVALID", r
        assert r.message(RT, "gw/weights").startswith("destination weights must sum to 100")
        assert " -> 500 " in r.route_line("r", "gw/weights")


# ---- binding ----

def test_route_table_not_allowed_on_listener(causeway, write, set_a):
    f = write("rt.yaml", route_table("elsewhere", fwd("r", "{name: search-db, namespace: data}", 19200),
                                     host="shop.other.org"))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/elsewhere") == "WARNING"
    assert r.message(RT, "gw/elsewhere") == "not allowed by VirtualGateway gw/edge listener 18080"
    assert "shop.other.org" not in r.plan
    assert r.rc == 0


def test_allowed_route_tables_namespace_prefix(causeway, write):
    f = write("vg.yaml", """
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: ops, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1, namespaces: [{name: gw}, {name: apps}]}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualGateway
        metadata: {name: edge, namespace: gw}
        spec:
          workloads: [{selector: {labels: {app: c-gateway}}}]
          listeners:
          - port: {number: 18080}
            http: {}
            allowedRouteTables: [{host: 'apps/*.example.com'}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: in-apps, namespace: apps}
        spec:
          hosts: [a.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http: [{name: r, directResponse: {status: 200}}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: in-gw, namespace: gw}
        spec:
          hosts: [b.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http: [{name: r, directResponse: {status: 200}}]
        """)
    r = causeway.validate(f, plan=True)
    assert r.approval(RT, "apps/in-apps") == "ACCEPTED"
    assert r.approval(RT, "gw/in-gw") == "WARNING"
    assert r.message(RT, "gw/in-gw") == "not allowed by VirtualGateway gw/edge listener 18080"
    assert "host a.example.com" in r.plan and "host b.example.com" not in r.plan


# ---- policies ----

def test_failover_without_outlier_detection(causeway, write, set_a):
    b = EXAMPLES / "set-b"
    text = (b / "policies.yaml").read_text()
    failover_only = text[text.index("# Where traffic goes"):]
    f = write("fo.yaml", failover_only)
    r = causeway.validate(set_a, b / "endpoints.yaml", b / "external-service.yaml", b / "route-table.yaml", f)
    assert r.rc == 0
    assert r.approval("FailoverPolicy", "data/inventory-fo") == "WARNING"
    assert r.message("FailoverPolicy", "data/inventory-fo") == (
        "no OutlierDetectionPolicy selects data/inventory; failover inactive")


def test_outlier_detection_selecting_kubernetes_services(causeway, write, set_a):
    f = write("od.yaml", """
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-service, namespace: data}
        spec:
          applyToDestinations:
          - kind: SERVICE
            selector: {labels: {app: x}}
          config: {consecutiveErrors: 3}
        ---
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-default-kind, namespace: data}
        spec:
          applyToDestinations:
          - selector: {labels: {app: x}}
        """)
    r = causeway.validate(set_a, f)
    assert r.rc == 1
    for name in ("od-service", "od-default-kind"):  # kind defaults to SERVICE
        assert r.approval("OutlierDetectionPolicy", f"data/{name}") == "INVALID", name
        assert r.message("OutlierDetectionPolicy", f"data/{name}") == (
            "applyToDestinations.kind must be VIRTUAL_DESTINATION or EXTERNAL_SERVICE")


def test_policies_of_another_workspace_do_not_apply(causeway, write, set_a):
    f = write("other.yaml", """
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: other, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1, namespaces: [{name: other}]}]
        ---
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-all, namespace: other}
        spec:
          applyToDestinations: [{kind: EXTERNAL_SERVICE}]
        """)
    r = causeway.validate(set_a, f, plan=True)
    header, _ = r.cluster("data/search-db:19200")
    assert "outlier" not in header
    assert r.status(ES, "data/search-db").get("numAppliedDestinationPolicies", {}) in ({}, {"OutlierDetectionPolicy": 0})


# ---- §1.4 decisions ----

def test_cidr_without_endpoints_is_a_warning(causeway, write, set_a):
    f = write("cidr.yaml", es_doc("subnet", addresses="[127.0.9.0/24]"))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(ES, "data/subnet") == "WARNING"
    assert r.message(ES, "data/subnet") == "CIDR address has no concrete endpoints"
    header, eps = r.cluster("data/subnet:19000")
    assert eps == [] and "unroutable" in header


def test_wildcard_host_without_endpoints_is_a_warning(causeway, write, set_a):
    f = write("wild.yaml", es_doc("wild", hosts="['*.wild.example.org']",
                                  ports="[{name: https, number: 18443, protocol: HTTPS}]"))
    r = causeway.validate(set_a, f)
    assert r.approval(ES, "data/wild") == "WARNING"


def test_bare_star_route_table_host_is_a_warning(causeway, write, set_a):
    f = write("star.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualGateway
        metadata: {name: open, namespace: gw}
        spec:
          workloads: [{selector: {labels: {app: c-gateway}}}]
          listeners: [{port: {number: 18090}, http: {}}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: star, namespace: gw}
        spec:
          hosts: ['*']
          virtualGateways: [{name: open}]
          http: [{name: ok, directResponse: {status: 200, body: ok}}]
        """)
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/star") == "WARNING"
    assert r.route_line("ok", "gw/star").endswith("-> direct response 200")


def test_two_outlier_policies_on_one_port_older_applies(causeway, write, set_a):
    f = write("od.yaml", """
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-old, namespace: data, creationTimestamp: "2024-01-01T00:00:00Z"}
        spec:
          config: {consecutiveErrors: 3}
        ---
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-new, namespace: data, creationTimestamp: "2024-02-01T00:00:00Z"}
        spec:
          applyToDestinations: [{kind: EXTERNAL_SERVICE, selector: {name: search-db}}]
          config: {consecutiveErrors: 4}
        """)
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval("OutlierDetectionPolicy", "data/od-old") == "ACCEPTED"
    assert r.approval("OutlierDetectionPolicy", "data/od-new") == "WARNING"
    assert "data/od-old" in r.message("OutlierDetectionPolicy", "data/od-new")
    assert "outlier data/od-old (consecutiveErrors 3," in r.cluster("data/search-db:19200")[0]


def test_route_to_a_kind_causeway_does_not_serve(causeway, write, set_a):
    routes = (
        "  - name: to-service\n    forwardTo:\n      destinations: [{ref: {name: x}, port: {number: 80}}]\n"
        "  - name: to-vd\n    forwardTo:\n      destinations: [{ref: {name: x}, kind: VIRTUAL_DESTINATION, port: {number: 80}}]\n"
        "  - name: ok\n    directResponse: {status: 200}\n"
    )
    f = write("rt.yaml", route_table("kinds", routes))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/kinds") == "WARNING"
    assert "SERVICE" in r.message(RT, "gw/kinds") and "VIRTUAL_DESTINATION" in r.message(RT, "gw/kinds")
    assert " -> 500 (" in r.route_line("to-service", "gw/kinds")
    assert " -> 500 (" in r.route_line("to-vd", "gw/kinds")
    assert r.route_line("ok", "gw/kinds").endswith("direct response 200")

"""Field rules of spec §1–§8 beyond the §9 message table, checked through the CLI: schema rules are
reported on stderr with their position and make the object INVALID; route-level problems make the
RouteTable INVALID and the route answer 500; listener and workspace rules."""
import textwrap

import pytest

RT = "RouteTable"
VG = "VirtualGateway"


def dd(text):
    return textwrap.dedent(text).lstrip("\n")


def table(name, body, host=None):
    return dd(f"""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {{name: {name}, namespace: gw}}
        spec:
          hosts: [{host or name + '.example.com'}]
          virtualGateways: [{{name: edge, namespace: gw}}]
        """) + textwrap.indent(dd(body), "  ")


def schema_error(r, name, path):
    found = [d for d in r.diagnostics() if d["name"] == name and d["path"] == path]
    assert found, f"no diagnostic for {name} at {path}\n{r.stderr}"
    return found[0]["msg"]


# ---- RouteTable schema (§3) ----

def test_route_table_needs_routes(causeway, write, set_a):
    f = write("rt.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: empty, namespace: gw}
        spec:
          hosts: [empty.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
        """))
    r = causeway.validate(set_a, f)
    assert r.approval(RT, "gw/empty") == "INVALID"
    assert "http" in schema_error(r, "empty", "spec")


def test_route_table_with_gateways_needs_hosts(causeway, write, set_a):
    f = write("rt.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: hostless, namespace: gw}
        spec:
          virtualGateways: [{name: edge, namespace: gw}]
          http: [{name: r, directResponse: {status: 200}}]
        """))
    r = causeway.validate(set_a, f)
    assert r.approval(RT, "gw/hostless") == "INVALID"
    assert "hosts" in r.message(RT, "gw/hostless")


@pytest.mark.parametrize("host,valid", [
    ("*bar.example.com", True),
    ("*-bar.example.com", True),
    ("trailing.example.com.", True),
    ("b" * 63 + ".example.com", True),
    ("a" * 64 + ".example.com", False),
    ("foo.*.example.com", False),
    ("bad_label.example.com", False),
    ("example.123", False),
    ("-x.example.com", False),
    ("api..example.com", False),
])
def test_route_table_hostnames(causeway, write, set_a, host, valid):
    f = write("rt.yaml", table("hostcheck", "http: [{name: r, directResponse: {status: 200}}]", host=f'"{host}"'))
    r = causeway.validate(set_a, f, plan=True)
    if valid:
        assert r.approval(RT, "gw/hostcheck") == "ACCEPTED", r
        assert f"  host {host}\n" in r.plan
    else:
        assert r.approval(RT, "gw/hostcheck") == "INVALID", r
        assert host in schema_error(r, "hostcheck", "spec.hosts[0]")
        assert "[gw/hostcheck]" not in r.plan


@pytest.mark.parametrize("route,path", [
    ("{name: r, directResponse: {status: 99}}", "spec.http[0].directResponse.status"),
    ("{name: r, directResponse: {status: 600}}", "spec.http[0].directResponse.status"),
    ("{name: r, directResponse: {body: no status}}", "spec.http[0].directResponse"),
    ("{name: r, redirect: {responseCode: MOVED, hostRedirect: x.example.com}}", "spec.http[0].redirect.responseCode"),
    ("{name: r, directResponse: {status: 200}, redirect: {hostRedirect: x.example.com}}", "spec.http[0]"),
    ("{name: r, matchers: [{uri: {suffix: .png}}], directResponse: {status: 200}}", "spec.http[0].matchers[0].uri.suffix"),
    ("{name: r, forwardTo: {pathRewrite: /b, regexRewrite: {pattern: {regex: a}, substitution: b}}}", "spec.http[0].forwardTo"),
    ("{name: r, forwardTo: {hostRewrite: x.example.com, autoHostRewrite: true}}", "spec.http[0].forwardTo"),
    ("{name: r, forwardTo: {destinations: [{ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200, name: http}}]}}",
     "spec.http[0].forwardTo.destinations[0].port"),
])
def test_route_schema_errors(causeway, write, set_a, route, path):
    f = write("rt.yaml", table("schema", f"http:\n- {route}\n"))
    r = causeway.validate(set_a, f)
    assert r.rc == 1
    assert r.approval(RT, "gw/schema") == "INVALID"
    schema_error(r, "schema", path)


def test_tcp_route_needs_forward_to(causeway, write, set_a):
    f = write("rt.yaml", table("tcp-bad", "tcp:\n- matchers: [{port: 15432}]\n", host="orders-db.internal"))
    r = causeway.validate(set_a, f)
    assert r.approval(RT, "gw/tcp-bad") == "INVALID"
    assert "forwardTo" in schema_error(r, "tcp-bad", "spec.tcp[0]")


SEMANTIC_ROUTES = [
    ("regex-path", """
        matchers: [{uri: {regex: "/a/.*"}}]
        forwardTo:
          pathRewrite: /b
          destinations: [{ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200}}]
        """, "pathRewrite"),
    ("bad-regex", """
        matchers: [{uri: {regex: "(("}}]
        directResponse: {status: 200}
        """, "matchers[0].uri.regex"),
    ("bad-header-regex", """
        matchers: [{headers: [{name: x, value: "[", regex: true}]}]
        directResponse: {status: 200}
        """, "matchers[0].headers[0].value"),
    ("empty-subset", """
        forwardTo:
          destinations: [{ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200}, subset: {}}]
        """, "subset"),
    ("no-destinations", """
        forwardTo: {}
        """, "defaultDestination"),
]


def test_misconfigured_routes_answer_500_each(causeway, write, set_a):
    body = "http:\n"
    for name, route, _ in SEMANTIC_ROUTES:
        body += f"- name: {name}\n" + textwrap.indent(dd(route), "  ")
    body += "- name: fine\n  directResponse: {status: 200}\n"
    f = write("rt.yaml", table("semantic", body))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/semantic") == "INVALID"
    msg = r.message(RT, "gw/semantic")
    for name, _, words in SEMANTIC_ROUTES:
        assert f"(route {name})" in msg, name
        line = r.route_line(name, "gw/semantic")
        assert " -> 500 (" in line and words in line, line
    assert r.route_line("fine", "gw/semantic").endswith("-> direct response 200")


def test_default_destination_is_used_by_empty_forward_to(causeway, write, set_a):
    f = write("rt.yaml", table("defdest", """
        defaultDestination: {ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200}}
        http:
        - name: uses-default
          forwardTo: {}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/defdest") == "ACCEPTED", r
    assert r.route_line("uses-default", "gw/defdest").endswith("-> data/search-db:19200 100%")


def test_delegation(causeway, write, set_a):
    f = write("deleg.yaml", table("parent", """
        http:
        - name: to-children
          matchers: [{uri: {prefix: /api}}]
          delegate:
            routeTables: [{labels: {delegate: api}}]
            sortMethod: TABLE_WEIGHT
        - name: fallback
          directResponse: {status: 404, body: nope}
        """) + "---\n" + dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: child-low, namespace: gw, labels: {delegate: api}, creationTimestamp: "2024-01-01T00:00:00Z"}
        spec:
          weight: 1
          http:
          - {name: low, matchers: [{uri: {prefix: /api/v1}}], directResponse: {status: 201}}
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: child-high, namespace: gw, labels: {delegate: api}, creationTimestamp: "2024-02-01T00:00:00Z"}
        spec:
          weight: 10
          http:
          - name: high
            matchers: [{uri: {prefix: /api/v2}}]
            forwardTo:
              destinations: [{ref: {name: search-db, namespace: data}, kind: EXTERNAL_SERVICE, port: {number: 19200}}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: child-bad, namespace: gw, labels: {delegate: api}}
        spec:
          hosts: [x.example.com]
          http: [{name: bad, directResponse: {status: 202}}]
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/parent") == "ACCEPTED", r
    assert r.approval(RT, "gw/child-low") == "ACCEPTED"
    assert r.approval(RT, "gw/child-high") == "ACCEPTED"
    assert r.status(RT, "gw/child-high")["numParentRouteTables"] == 1
    # Children must leave hosts, virtualGateways and failureMode empty.
    assert r.approval(RT, "gw/child-bad") == "INVALID"
    assert "[gw/child-bad]" not in r.plan
    lines = [l.strip() for l in r.plan_lines() if "[gw/child-" in l or "[gw/parent]" in l]
    # TABLE_WEIGHT: the heavier child first, then the lighter, then the parent's next route.
    assert [l.split()[1] for l in lines] == ["high", "low", "fallback"]
    assert "prefix /api and prefix /api/v2" in lines[0]


# ---- VirtualGateway listeners (§4) ----

def vg(name, listeners):
    return dd(f"""
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualGateway
        metadata: {{name: {name}, namespace: gw}}
        spec:
          workloads: [{{selector: {{labels: {{app: c-gateway}}}}}}]
          listeners:
        """) + textwrap.indent(dd(listeners), "  ")


def test_listener_port_collision(causeway, write, set_a):
    f = write("vg.yaml", vg("collide", """
        - {port: {number: 18100}, http: {}}
        - {port: {number: 18100}, http: {}}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(VG, "gw/collide") == "INVALID"
    assert "collides" in r.message(VG, "gw/collide")
    assert "listener 18100" not in r.plan


def test_same_port_different_first_host_is_fine(causeway, write, set_a):
    f = write("vg.yaml", vg("split", """
        - {port: {number: 18100}, http: {}, allowedRouteTables: [{host: a.example.com}]}
        - {port: {number: 18100}, http: {}, allowedRouteTables: [{host: b.example.com}]}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(VG, "gw/split") == "ACCEPTED", r


@pytest.mark.parametrize("listener,path", [
    ("{port: {number: 18101}, tcp: {}, httpsRedirect: true}", "spec.listeners[0].httpsRedirect"),
    ("{port: {number: 18101}, http: {}, tcp: {}}", "spec.listeners[0]"),
    ("{port: {number: 18101, name: web}, http: {}}", "spec.listeners[0].port"),
    ("{port: {number: 70000}, http: {}}", "spec.listeners[0].port.number"),
    ("{port: {number: 18101}, http: {}, appProtocol: SMTP}", "spec.listeners[0].appProtocol"),
])
def test_listener_schema_errors(causeway, write, set_a, listener, path):
    f = write("vg.yaml", vg("bad", f"- {listener}\n"))
    r = causeway.validate(set_a, f)
    assert r.approval(VG, "gw/bad") == "INVALID"
    schema_error(r, "bad", path)


def test_app_protocol_must_fit_the_listener(causeway, write, set_a):
    f = write("vg.yaml", vg("mismatch", "- {port: {number: 18104}, tcp: {}, appProtocol: HTTP}\n"))
    r = causeway.validate(set_a, f)
    assert r.approval(VG, "gw/mismatch") == "INVALID"


@pytest.mark.parametrize("listener", [
    "{port: {number: 18102}, http: {}, appProtocol: HTTPS}",
    "{port: {number: 18103}, tcp: {}, appProtocol: TLS}",
])
def test_https_and_tls_app_protocols_require_listener_tls(causeway, write, set_a, listener):
    # §4.2: ListenerTLS is "required when appProtocol is HTTPS/TLS". Without it the listener
    # would serve plaintext where the user asked for TLS.
    f = write("vg.yaml", vg("needs-tls", f"- {listener}\n"))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(VG, "gw/needs-tls") == "INVALID", r
    assert "tls" in r.message(VG, "gw/needs-tls").lower()


def test_route_table_for_a_missing_gateway(causeway, write, set_a):
    f = write("rt.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: ghost, namespace: gw}
        spec:
          hosts: [ghost.example.com]
          virtualGateways: [{name: nope}]
          http: [{name: r, directResponse: {status: 200}}]
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval(RT, "gw/ghost") in ("WARNING", "INVALID")
    assert "gw/nope" in r.message(RT, "gw/ghost")
    assert "ghost.example.com" not in r.plan


# ---- ExternalService / ExternalEndpoint fields (§1, §2) ----

def test_endpoint_port_names_required_with_several_ports(causeway, write, set_a):
    f = write("ep.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalEndpoint
        metadata: {name: two-unnamed, namespace: data}
        spec:
          address: 127.0.0.1
          ports: [{number: 18001}, {number: 18002}]
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalEndpoint", "data/two-unnamed") == "INVALID"
    assert "required" in schema_error(r, "two-unnamed", "spec.ports[0].name")


def test_endpoint_address_must_not_be_a_wildcard(causeway, write, set_a):
    f = write("ep.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalEndpoint
        metadata: {name: wild, namespace: data}
        spec:
          address: "*.example.com"
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalEndpoint", "data/wild") == "INVALID"
    schema_error(r, "wild", "spec.address")


@pytest.mark.parametrize("tls,path", [
    ("{mode: MUTUAL}", "spec.ports[0].clientsideTls"),
    ("{mode: ISTIO_MUTUAL, caCertificates: /ca.pem}", "spec.ports[0].clientsideTls.caCertificates"),
    ("{credentialName: s, caCertificates: /ca.pem}", "spec.ports[0].clientsideTls"),
    ("{mode: STRICT}", "spec.ports[0].clientsideTls.mode"),
])
def test_clientside_tls_rules(causeway, write, set_a, tls, path):
    f = write("es.yaml", dd(f"""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {{name: tls, namespace: data}}
        spec:
          hosts: [localhost]
          ports: [{{name: https, number: 18443, protocol: HTTPS, clientsideTls: {tls}}}]
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalService", "data/tls") == "INVALID"
    schema_error(r, "tls", path)


def test_clientside_tls_defaults_are_accepted(causeway, write, set_a):
    f = write("es.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: tls, namespace: data}
        spec:
          hosts: [localhost]
          ports:
          - {name: https, number: 18443, protocol: HTTPS, clientsideTls: {}}
          - {name: plain, number: 18080, protocol: HTTP, targetPort: {number: 18444}, clientsideTls: {mode: SIMPLE, sni: localhost}}
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalService", "data/tls") == "ACCEPTED", r


def test_wildcard_host_ignores_target_port_with_a_warning(causeway, write, set_a):
    f = write("es.yaml", dd("""
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: wild-tp, namespace: data}
        spec:
          hosts: ["*.api.example.com"]
          ports: [{name: https, number: 443, protocol: HTTPS, targetPort: {number: 18443}}]
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalService", "data/wild-tp") == "WARNING"
    assert "targetPort" in r.message("ExternalService", "data/wild-tp")


# ---- policies (§5, §6) ----

def test_outlier_detection_without_selectors_applies_to_the_whole_workspace(causeway, write, set_a):
    f = write("od.yaml", dd("""
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-all, namespace: data}
        spec:
          config: {consecutiveErrors: 3}
        """))
    r = causeway.validate(set_a, f, plan=True)
    assert r.approval("OutlierDetectionPolicy", "data/od-all") == "ACCEPTED"
    assert r.status("OutlierDetectionPolicy", "data/od-all")["numSelectedDestinationPorts"] == 2
    for c in ("data/search-db:19200", "data/orders-db:25432"):
        assert "outlier data/od-all (consecutiveErrors 3," in r.cluster(c)[0]


def test_consecutive_errors_must_fit_int32(causeway, write, set_a):
    f = write("od.yaml", dd("""
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od-big, namespace: data}
        spec:
          config: {consecutiveErrors: 2147483648}
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("OutlierDetectionPolicy", "data/od-big") == "INVALID"
    schema_error(r, "od-big", "spec.config.consecutiveErrors")


def test_failover_weights_must_total_100(causeway, write, set_a):
    f = write("fo.yaml", dd("""
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: FailoverPolicy
        metadata: {name: fo-weights, namespace: data}
        spec:
          applyToDestinations: [{kind: EXTERNAL_SERVICE}]
          config:
            localityMappings:
            - from: {region: us-east-1}
              to: [{region: us-west-2, weight: 70}, {region: eu-west-1, weight: 20}]
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("FailoverPolicy", "data/fo-weights") == "INVALID"
    assert "100" in schema_error(r, "fo-weights", "spec.config.localityMappings[0].to")


def test_priority_labels_must_not_mix_keys_and_pairs(causeway, write, set_a):
    f = write("fo.yaml", dd("""
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: FailoverPolicy
        metadata: {name: fo-labels, namespace: data}
        spec:
          applyToDestinations: [{kind: EXTERNAL_SERVICE}]
          config:
            priorityLabels: {labels: [topology.kubernetes.io/region, "zone=a"]}
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("FailoverPolicy", "data/fo-labels") == "INVALID"


# ---- workspaces (§8) ----

def test_a_namespace_belongs_to_one_workspace(causeway, write, set_a):
    f = write("ws.yaml", dd("""
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: ops2, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1, namespaces: [{name: data}]}]
        """))
    r = causeway.validate(set_a, f)
    assert r.approval("Workspace", "gloo-mesh/ops2") == "INVALID"
    assert "data" in r.message("Workspace", "gloo-mesh/ops2")
    assert r.status("ExternalService", "data/search-db")["ownedByWorkspace"] == "ops"


def test_one_workspace_settings_per_workspace(causeway, write, set_a):
    f = write("wss.yaml", dd("""
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata: {name: ops-again, namespace: data}
        spec: {}
        """))
    r = causeway.validate(set_a, f)
    states = {r.approval("WorkspaceSettings", "gw/ops"), r.approval("WorkspaceSettings", "data/ops-again")}
    assert states == {"ACCEPTED", "INVALID"}
    # Without creation timestamps the precedence rule orders by namespace/name: data/ before gw/.
    assert r.approval("WorkspaceSettings", "data/ops-again") == "ACCEPTED"
    assert "already has WorkspaceSettings data/ops-again" in r.message("WorkspaceSettings",
                                                                       "gw/ops")


def test_workspace_needs_namespaces(causeway, write):
    f = write("ws.yaml", dd("""
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: empty, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1}]
        """))
    r = causeway.validate(f)
    assert r.approval("Workspace", "gloo-mesh/empty") == "INVALID"


def test_glob_namespaces(causeway, write):
    f = write("ws.yaml", dd("""
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: teams, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: '*', namespaces: [{name: 'team-*'}]}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: api, namespace: team-blue}
        spec:
          addresses: [127.0.0.131]
          ports: [{name: http, number: 19131}]
        """))
    r = causeway.validate(f)
    assert r.status("ExternalService", "team-blue/api")["ownedByWorkspace"] == "teams"

"""Exposure by hostname (spec §4.2 [DECISION]) and delegation order (§3.4), through `causeway run`.

Ports: gateway listeners 40201-40249 on 127.0.0.90, nginx backends 40251-40299 on DALLAS.
"""
from backends import (DALLAS, base_manifests, external_endpoint, external_service, get, join,
                      route_table)


def echo(stack, port):
    """nginx on DALLAS:<port> answering "dc=dallas host=<Host> uri=<uri>"."""
    return stack.nginx(f"""
        server {{
          listen {DALLAS}:{port};
          location / {{ return 200 "dc=dallas host=$host uri=$request_uri\\n"; }}
        }}
    """, [(DALLAS, port)])


def services(backend_port):
    """ES data/inventory (inventory.internal, label edge=yes) and data/billing
    (billing.internal), both served by the nginx on DALLAS:<backend_port>."""
    return join(
        external_service("inventory", 80, hosts=["inventory.internal"], selector={"app": "inv"},
                         labels={"edge": "yes"}),
        external_endpoint("inventory-1", DALLAS, backend_port, {"app": "inv"}),
        external_service("billing", 80, hosts=["billing.internal"], selector={"app": "bill"}),
        external_endpoint("billing-1", DALLAS, backend_port, {"app": "bill"}),
    )


def shop_table():
    return route_table("shop", ["shop.example.com"], """
        http:
        - name: hello
          directResponse:
            status: 200
            body: shop
    """)


def test_listener_without_exposed_external_services_serves_route_tables_only(stack):
    """An internet-facing listener no longer relays to every declared service by its Host."""
    echo(stack, 40251)
    stack.gateway(join(base_manifests([(40201, "http")]), services(40251), shop_table()), [40201])
    r = get(40201, "/", host="shop.example.com")
    assert r.status == 200 and r.text == "shop", r
    for host in ("inventory.internal", "billing.internal"):
        r = get(40201, "/items", host=host)
        assert r.status == 404, r
        assert r.text.strip() == "no route: unknown host"


def test_exposed_external_services_entry_by_host(stack):
    """Only the services an entry names are reachable by their own hostname."""
    echo(stack, 40252)
    stack.gateway(join(
        base_manifests([(40202, "http", "exposedExternalServices:\n- host: inventory.internal")]),
        services(40252), shop_table(),
    ), [40202])
    r = get(40202, "/items", host="inventory.internal")
    assert r.status == 200, r
    assert r.text.strip() == "dc=dallas host=inventory.internal uri=/items"
    assert get(40202, "/items", host="billing.internal").status == 404
    assert get(40202, "/", host="shop.example.com").text == "shop"


def test_exposed_external_services_entry_by_selector(stack):
    """host '*' with a selector exposes the services whose labels it matches."""
    echo(stack, 40253)
    stack.gateway(join(
        base_manifests([(40203, "http",
                         "exposedExternalServices:\n- host: '*'\n  selector:\n"
                         "    labels: {edge: 'yes'}")]),
        services(40253),
    ), [40203])
    assert get(40203, "/a", host="inventory.internal").status == 200
    assert get(40203, "/a", host="billing.internal").status == 404


def delegating_tables(routes_yaml, delegate_yaml):
    """Parent gw/root on shop.example.com delegating /api to child tables, and children
    data/early (older), data/late and data/heavy (weight 5), each answering with its name."""
    children = []
    for name, created, weight in (("early", "2024-01-01T00:00:00Z", 0),
                                  ("late", "2024-03-01T00:00:00Z", 0),
                                  ("heavy", "2024-05-01T00:00:00Z", 5)):
        children.append(f"""\
apiVersion: networking.gloo.solo.io/v2
kind: RouteTable
metadata:
  name: {name}
  namespace: data
  labels: {{team: a}}
  creationTimestamp: '{created}'
spec:
  weight: {weight}
  http:
{routes_yaml(name)}""")
    parent = route_table("root", ["shop.example.com"], f"""
        http:
        - name: api
          matchers:
          - uri:
              prefix: /api
          delegate:
            {delegate_yaml}
    """)
    return join(parent, *children)


def same_route(name):
    """Every child answers /api/x with its own name: the first child in order wins."""
    return f"""  - name: {name}-r
    matchers: [{{uri: {{prefix: /api/x}}}}]
    directResponse: {{status: 200, body: {name}}}
"""


def test_delegation_children_listed_by_name_keep_list_order(stack):
    stack.gateway(join(base_manifests([(40204, "http")]), delegating_tables(
        same_route, "routeTables: [{name: late, namespace: data}, {name: early, namespace: data}]"
    )), [40204])
    r = get(40204, "/api/x", host="shop.example.com")
    assert r.status == 200 and r.text == "late", r


def test_delegation_table_weight_then_creation_order(stack):
    """Selected by label: the heavier child first, equal weights in creation order."""
    def routes(name):
        y = "" if name == "heavy" else (f"  - name: {name}-y\n    matchers: [{{uri: {{prefix: /api/y}}}}]\n"
                                        f"    directResponse: {{status: 200, body: {name}}}\n")
        return same_route(name) + y
    stack.gateway(join(base_manifests([(40205, "http")]), delegating_tables(
        routes, "routeTables: [{labels: {team: a}}]\n            sortMethod: TABLE_WEIGHT")),
        [40205])
    assert get(40205, "/api/x", host="shop.example.com").text == "heavy"
    assert get(40205, "/api/y", host="shop.example.com").text == "early"


def test_delegation_route_specificity_by_path_matcher(stack):
    """ROUTE_SPECIFICITY: the longer prefix of a later child beats an earlier, shorter one."""
    def routes(name):
        prefix = {"early": "/api", "late": "/api/x/deep", "heavy": "/api/zzz"}[name]
        return (f"  - name: {name}-r\n    matchers: [{{uri: {{prefix: {prefix}}}}}]\n"
                f"    directResponse: {{status: 200, body: {name}}}\n")
    stack.gateway(join(base_manifests([(40206, "http")]), delegating_tables(
        routes, "routeTables: [{labels: {team: a}}]\n            sortMethod: ROUTE_SPECIFICITY")),
        [40206])
    assert get(40206, "/api/x/deep/1", host="shop.example.com").text == "late"
    assert get(40206, "/api/other", host="shop.example.com").text == "early"


def test_delegation_route_specificity_ignores_headers(stack):
    """ROUTE_SPECIFICITY looks at path matchers only: an equal prefix with a header matcher
    does not move ahead of an older child's route."""
    def routes(name):
        header = {"early": "", "late": ", headers: [{name: x-v, value: '1'}]",
                  "heavy": ", method: GET"}[name]
        return (f"  - name: {name}-r\n    matchers: [{{uri: {{prefix: /api/x}}{header}}}]\n"
                f"    directResponse: {{status: 200, body: {name}}}\n")
    stack.gateway(join(base_manifests([(40207, "http")]), delegating_tables(
        routes, "routeTables: [{labels: {team: a}}]\n            sortMethod: ROUTE_SPECIFICITY")),
        [40207])
    r = get(40207, "/api/x", host="shop.example.com", headers=[("x-v", "1")])
    assert r.status == 200 and r.text == "early", r

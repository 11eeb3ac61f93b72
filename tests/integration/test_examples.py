"""The example sets A–E (examples/, spec §12) give exactly the statuses and plans the spec promises."""
import ipaddress
import re
import subprocess

from conftest import EXAMPLES, REPO, TIMEOUT

SET_A = {
    ("Workspace", "gloo-mesh/ops"),
    ("WorkspaceSettings", "gw/ops"),
    ("VirtualGateway", "gw/edge"),
    ("ExternalService", "data/search-db"),
    ("ExternalService", "data/orders-db"),
    ("RouteTable", "gw/search"),
    ("RouteTable", "gw/orders-db"),
}


def test_set_a_all_accepted(causeway):
    r = causeway.validate(EXAMPLES / "set-a")
    assert r.rc == 0, r
    assert set(r.approvals()) == SET_A
    assert set(r.approvals().values()) == {"ACCEPTED"}, r
    # TCP routes to an ExternalService are the documented extension A1.
    assert "extension: tcp→EXTERNAL_SERVICE" in r.message("RouteTable", "gw/orders-db")
    for es in ("data/search-db", "data/orders-db"):
        assert r.status("ExternalService", es)["ownedByWorkspace"] == "ops"
        assert r.status("ExternalService", es)["numSelectedExternalEndpoints"] == 0
    assert r.status("VirtualGateway", "gw/edge")["selectedWorkloadsCount"] == 1
    assert r.status("Workspace", "gloo-mesh/ops")["numSelectedNamespaces"] == 2
    assert r.stderr == "", r


def test_set_a_plan(causeway):
    r = causeway.validate(EXAMPLES / "set-a", plan=True)
    plan = r.plan
    assert "listener 18080 http (VirtualGateway gw/edge)" in plan
    assert "listener 15432 tcp (VirtualGateway gw/edge)" in plan
    assert "  host search.example.com" in plan
    search = r.route_line("search-api", "gw/search")
    assert "GET prefix /_search" in search and "exact /_health" in search
    assert search.endswith("-> data/search-db:19200 100%")
    assert r.route_line("tcp[0]", "gw/orders-db").endswith("-> data/orders-db:25432 100%")
    assert r.endpoint_priorities("data/search-db:19200") == {"127.0.0.21:19200": 0}
    assert r.endpoint_priorities("data/orders-db:25432") == {"127.0.0.22:25432": 0}


def test_set_b_statuses_and_counters(causeway, set_a):
    r = causeway.validate(set_a, EXAMPLES / "set-b")
    assert r.rc == 0, r
    assert set(r.approvals().values()) == {"ACCEPTED"}, r
    es = r.status("ExternalService", "data/inventory")
    assert es["ownedByWorkspace"] == "ops"
    assert es["numSelectedExternalEndpoints"] == 2
    # Both the outlier detection and the failover policy apply to the service.
    assert len(es["numAppliedDestinationPolicies"]) == 2
    assert es["numAppliedDestinationPolicies"] == {"OutlierDetectionPolicy": 1, "FailoverPolicy": 1}
    assert r.status("OutlierDetectionPolicy", "data/inventory-od")["numSelectedDestinationPorts"] == 1
    assert r.status("FailoverPolicy", "data/inventory-fo")["numSelectedDestinationPorts"] == 1
    for ep in ("data/inventory-east", "data/inventory-west"):
        assert r.approval("ExternalEndpoint", ep) == "ACCEPTED"


def test_set_b_plan_east_is_p0_west_is_p1(causeway, set_a):
    r = causeway.validate(set_a, EXAMPLES / "set-b", plan=True)
    header, eps = r.cluster("data/inventory:80")
    assert "outlier data/inventory-od" in header and "failover data/inventory-fo" in header
    assert "priorities off" not in header and "inactive" not in header
    assert r.endpoint_priorities("data/inventory:80") == {
        "127.0.0.41:18081": 0,
        "localhost:18082": 1,
    }
    east = next(e for e in eps if "127.0.0.41" in e)
    west = next(e for e in eps if "localhost" in e)
    assert "us-east-1/us-east-1a" in east and "ExternalEndpoint data/inventory-east" in east
    assert "us-west-2/us-west-2b" in west and west.endswith("dns")
    assert r.route_line("inventory", "gw/inventory").endswith("-> data/inventory:80 100%")
    assert "  host shop.example.com" in r.plan


def test_set_c_second_ledger_rejected(causeway, set_a):
    r = causeway.validate(set_a, EXAMPLES / "set-c", plan=True)
    assert r.rc == 1, r
    a = r.status("ExternalService", "data/ledger-a")
    b = r.status("ExternalService", "data/ledger-b")
    assert a["common"]["State"]["approval"] == "ACCEPTED"
    assert "message" not in a["common"]["State"]
    assert a["common"]["State"]["observedGeneration"] == 1
    assert b["common"]["State"] == {
        "approval": "INVALID",
        "message": "address 127.0.0.15/32 already used by ExternalService data/ledger-a in workspace ops",
        "observedGeneration": 1,
    }
    assert a["ownedByWorkspace"] == b["ownedByWorkspace"] == "ops"
    # Set A is untouched by the collision.
    assert all(v == "ACCEPTED" for k, v in r.approvals().items() if k in SET_A)
    # The loser is not translated.
    r.cluster("data/ledger-a:17000")
    assert "ledger-b" not in r.plan


def test_set_d_isolated_workspaces_both_accepted(causeway):
    r = causeway.validate(EXAMPLES / "set-d", plan=True)
    assert r.rc == 0, r
    assert len(r.items) == 6
    assert set(r.approvals().values()) == {"ACCEPTED"}, r
    assert r.status("ExternalService", "staging-data/customers-db")["ownedByWorkspace"] == "staging"
    assert r.status("ExternalService", "prod-data/customers-db")["ownedByWorkspace"] == "prod"
    r.cluster("staging-data/customers-db:25432")
    r.cluster("prod-data/customers-db:25432")


def test_set_d_linked_newer_is_invalid(causeway):
    r = causeway.validate(EXAMPLES / "set-d-linked", plan=True)
    assert r.rc == 1, r
    assert r.approval("ExternalService", "prod-data/customers-db") == "ACCEPTED"  # older
    assert r.approval("ExternalService", "staging-data/customers-db") == "INVALID"  # newer
    assert r.message("ExternalService", "staging-data/customers-db") == (
        "address 127.0.0.7 already used by ExternalService prod-data/customers-db in workspace staging"
    )
    assert r.status("ExternalService", "staging-data/customers-db")["ownedByWorkspace"] == "staging"
    for kind, ref in [
        ("Workspace", "gloo-mesh/staging"),
        ("Workspace", "gloo-mesh/prod"),
        ("WorkspaceSettings", "staging-data/staging"),
        ("WorkspaceSettings", "prod-data/prod"),
    ]:
        assert r.approval(kind, ref) == "ACCEPTED"
    assert r.status("Workspace", "gloo-mesh/staging")["numImportedWorkspaces"] == 1
    r.cluster("prod-data/customers-db:25432")
    assert "staging-data/customers-db" not in r.plan


def test_set_e_https_api(causeway, set_a):
    r = causeway.validate(set_a, EXAMPLES / "set-e", plan=True)
    assert r.rc == 0, r
    assert set(r.approvals().values()) == {"ACCEPTED"}, r
    assert r.status("ExternalService", "data/payments-api")["ownedByWorkspace"] == "ops"
    charge = r.route_line("charge", "gw/payments")
    assert "prefix /v1/charges" in charge and "header x-tenant" in charge
    assert charge.endswith("-> data/payments-api:18443 100%")
    assert r.route_line("deny-rest", "gw/payments").endswith("-> direct response 403")
    # Routes are evaluated in list order: charge before deny-rest.
    lines = r.plan_lines()
    idx = {n: next(i for i, l in enumerate(lines) if l.strip().startswith(f"route {n} ")) for n in ("charge", "deny-rest")}
    assert idx["charge"] < idx["deny-rest"]
    assert r.endpoint_priorities("data/payments-api:18443") == {"localhost:18443": 0}


def test_sets_a_b_c_e_together_only_ledger_b_invalid(causeway):
    """B, C and E share set A's workspace without disturbing each other."""
    r = causeway.validate(EXAMPLES / "set-a", EXAMPLES / "set-b", EXAMPLES / "set-c", EXAMPLES / "set-e")
    assert r.rc == 1
    invalid = {k for k, v in r.approvals().items() if v != "ACCEPTED"}
    assert invalid == {("ExternalService", "data/ledger-b")}, r


def test_examples_use_loopback_and_high_ports_only(causeway, set_a):
    """Every address the data plane would bind or connect to is on 127.0.0.0/8 (or localhost) and
    every such port is ≥ 10000."""
    runs = [
        causeway.validate(set_a, EXAMPLES / s, plan=True) for s in ("set-b", "set-c", "set-e")
    ] + [causeway.validate(EXAMPLES / s, plan=True) for s in ("set-a", "set-d", "set-d-linked")]
    seen = 0
    for r in runs:
        for line in r.plan_lines():
            m = re.match(r"^listener (\d+) ", line)
            if m:
                assert int(m.group(1)) >= 10000, line
            m = re.match(r"^\s+P\d+ (\S+):(\d+) ", line)
            if m:
                seen += 1
                host, port = m.groups()
                assert int(port) >= 10000, line
                assert host == "localhost" or ipaddress.ip_address(host) in ipaddress.ip_network("127.0.0.0/8"), line
    assert seen >= 8


def test_examples_readme_documents_every_set():
    readme = (EXAMPLES / "README.md").read_text()
    for s in ("set-a", "set-b", "set-c", "set-d", "set-d-linked", "set-e"):
        assert (EXAMPLES / s).is_dir()
        assert f"## {s} " in readme, s
        assert f"-c examples/{s}" in readme, s


def run_script(*args):
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "run-examples.sh"), *map(str, args)],
        capture_output=True, text=True, timeout=TIMEOUT * 3, cwd=REPO, stdin=subprocess.DEVNULL,
    )


def test_run_examples_script(causeway):
    p = run_script(causeway.binary)
    assert p.returncode == 0, p
    for s in ("set-a", "set-b", "set-c", "set-d", "set-d-linked", "set-e", "tls"):
        assert re.search(rf"^=== {s}: causeway validate ", p.stdout, re.M), s
    assert p.stdout.count("gateway locality us-east-1/us-east-1a") == 7
    assert "ledger-b" in p.stdout and "INVALID" in p.stdout
    # the TLS example, with the Secrets the script made: served with TLS on both sides
    assert "listener 18443 https (VirtualGateway gw/edge-tls)" in p.stdout
    assert "listener 18444 tls passthrough (VirtualGateway gw/edge-tls)" in p.stdout
    assert re.search(r"^  tls MUTUAL sni ledger.internal ", p.stdout, re.M)


def test_run_examples_script_fails_on_a_broken_binary(tmp_path):
    fake = tmp_path / "causeway"
    fake.write_text("#!/bin/sh\necho boom >&2\nexit 3\n")
    fake.chmod(0o755)
    p = run_script(fake)
    assert p.returncode != 0, p
    assert "unexpected exit status 3" in p.stderr


def test_run_examples_script_fails_when_a_valid_set_turns_invalid(tmp_path):
    fake = tmp_path / "causeway"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    p = run_script(fake)
    assert p.returncode != 0, p
    assert "set-a: unexpected exit status 1" in p.stderr
    assert "set-c: unexpected" not in p.stderr


def test_run_examples_script_without_binary(tmp_path):
    p = run_script(tmp_path / "no-such-binary")
    assert p.returncode != 0
    assert "no executable causeway" in p.stderr

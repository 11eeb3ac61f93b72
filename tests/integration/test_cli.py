"""The command line: help texts, usage errors (exit 2), exit codes 0/1, and the three output formats."""
import json
import os
import re
import subprocess

import pytest

from conftest import EXAMPLES, GATEWAY

VALIDATE_OPTIONS = [
    "-c", "--config", "--locality", "--labels", "--namespace", "--name", "--cluster",
    "-o", "--output", "table", "yaml", "json", "--plan", "-h", "--help",
]


# ---- help ----

@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_validate_help_mentions_every_option(causeway, flag):
    p = causeway.run("validate", flag)
    assert p.returncode == 0, p
    assert p.stdout.startswith("Usage: causeway validate")
    for opt in VALIDATE_OPTIONS:
        assert re.search(rf"(^|[\s,]){re.escape(opt)}([\s,=:]|$)", p.stdout), f"{opt} missing from help"
    # The exit codes are part of the interface.
    for code in ("0", "1", "2"):
        assert re.search(rf"\b{code}\b", p.stdout.split("Exit status", 1)[1])
    assert p.stderr == ""


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"]])
def test_top_level_help_lists_commands(causeway, args):
    p = causeway.run(*args)
    assert p.returncode == 0, p
    for cmd in ("validate", "version", "help"):
        assert re.search(rf"^\s+{cmd}\s", p.stdout, re.M), cmd
    assert "--help" in p.stdout


def test_version(causeway):
    p = causeway.run("version")
    assert p.returncode == 0
    assert re.match(r"^causeway \d+\.\d+\.\d+", p.stdout)


def test_no_command_is_a_usage_error(causeway):
    p = causeway.run()
    assert p.returncode == 2
    assert "validate" in p.stdout + p.stderr


def test_unknown_command(causeway):
    p = causeway.run("frobnicate")
    assert p.returncode == 2
    assert "frobnicate" in p.stderr
    assert p.stdout == ""


# ---- usage errors: exit 2 with a message on stderr, nothing on stdout ----

USAGE_ERRORS = [
    (["validate", "-c", "examples/set-a", "--bogus"], "--bogus"),
    (["validate", "-c", "examples/set-a", "-x"], "-x"),
    (["validate"], "-c"),
    (["validate", "--namespace", "gw", "--plan"], "-c"),
    (["validate", "-c"], "-c"),
    (["validate", "-c", "examples/set-a", "--locality", "/us-east-1a"], "--locality"),
    (["validate", "-c", "examples/set-a", "--locality", "a/b/c/d"], "--locality"),
    (["validate", "-c", "examples/set-a", "--locality"], "--locality"),
    (["validate", "-c", "examples/set-a", "--labels", "app"], "--labels"),
    (["validate", "-c", "examples/set-a", "--labels", "=x"], "--labels"),
    (["validate", "-c", "examples/set-a", "-o", "xml"], "-o"),
    (["validate", "-c", "examples/set-a", "-o"], "-o"),
    (["validate", "-c", "examples/set-a", "--output=csv"], "-o"),
    (["validate", "-c", "examples/set-a", "--dns-min-ttl", "10s", "--dns-max-ttl", "1s"],
     "--dns-min-ttl"),
    # run's numeric options: nothing a typo or a hostile value can make mean "unlimited"
    (["run", "-c", "examples/set-a", "--max-connections", "0"], "--max-connections"),
    (["run", "-c", "examples/set-a", "--max-connections", "-1"], "--max-connections"),
    (["run", "-c", "examples/set-a", "--max-connections", "12x"], "--max-connections"),
    (["run", "-c", "examples/set-a", "--max-connections", "99999999999"], "--max-connections"),
    (["run", "-c", "examples/set-a", "--busy-poll", "fast"], "--busy-poll"),
    (["run", "-c", "examples/set-a", "--busy-poll", "20000"], "--busy-poll"),
    (["run", "-c", "examples/set-a", "--busy-poll", "-5"], "--busy-poll"),
    # CPU lists: the position of what is wrong, and no CPU this process may not run on
    (["run", "-c", "examples/set-a", "--worker-cpus", "0,x"], "position 3 of \"0,x\""),
    (["run", "-c", "examples/set-a", "--worker-cpus", ""], "--worker-cpus"),
    (["run", "-c", "examples/set-a", "--worker-cpus", "0,"], "position 3"),
    (["run", "-c", "examples/set-a", "--worker-cpus", "184467440737095516170"], "too large"),
    (["run", "-c", "examples/set-a", "--worker-cpus", "1023"], "not one this process may run on"),
    (["run", "-c", "examples/set-a", "--control-cpus", "1-0"], "--control-cpus"),
    (["run", "-c", "examples/set-a", "--control-cpus", "0-"], "the end of a range"),
]


@pytest.mark.parametrize("args,mentions", USAGE_ERRORS, ids=[" ".join(a[1:]) for a, _ in USAGE_ERRORS])
def test_usage_error_exits_2_with_message(causeway, args, mentions):
    p = causeway.run(*args)
    assert p.returncode == 2, p
    assert p.stdout == "", p
    assert p.stderr.strip(), "a usage error must say what is wrong"
    assert mentions in p.stderr, p.stderr


# ---- exit codes 0 and 1 ----

def test_exit_0_when_nothing_invalid(causeway):
    p = causeway.run("validate", "-c", EXAMPLES / "set-a", *GATEWAY)
    assert p.returncode == 0, p


def test_exit_0_with_warnings_only(causeway, write, set_a):
    f = write("warn.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: subnet, namespace: data}
        spec:
          addresses: [127.0.8.0/24]
          ports: [{name: http, number: 19008, protocol: HTTP}]
        """)
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalService", "data/subnet") == "WARNING"
    assert r.rc == 0, r


def test_exit_1_when_something_invalid(causeway, set_a):
    p = causeway.run("validate", "-c", set_a, "-c", EXAMPLES / "set-c", *GATEWAY)
    assert p.returncode == 1, p


def test_exit_1_when_a_path_does_not_exist(causeway, tmp_path, set_a):
    missing = tmp_path / "nope.yaml"
    p = causeway.run("validate", "-c", set_a, "-c", missing, *GATEWAY)
    assert p.returncode == 1, p
    assert str(missing) in p.stderr
    # The readable path is still processed.
    assert "search-db" in p.stdout


def test_exit_1_on_a_yaml_syntax_error_even_without_objects(causeway, write):
    f = write("broken.yaml", "kind: [\n")
    p = causeway.run("validate", "-c", f, *GATEWAY)
    assert p.returncode == 1, p


def test_empty_directory_is_fine(causeway, tmp_path):
    r = causeway.validate(tmp_path)
    assert r.rc == 0, r
    assert r.items == []


# ---- option spellings ----

@pytest.mark.parametrize("spelling", [["-o", "json"], ["--output", "json"], ["--output=json"], ["-ojson"]])
def test_output_option_spellings(causeway, spelling):
    p = causeway.run("validate", "-c", EXAMPLES / "set-a", *GATEWAY, *spelling)
    assert p.returncode == 0, p
    assert json.loads(p.stdout)["kind"] == "List"


def test_equals_spellings_of_gateway_options(causeway):
    p = causeway.run(
        "validate", "--config=examples/set-a", "--config=examples/set-b", "--namespace=gw",
        "--labels=app=c-gateway", "--locality=us-west-2/us-west-2b", "--plan",
    )
    assert p.returncode == 0, p
    assert "gateway locality us-west-2/us-west-2b" in p.stdout
    assert "listener 18080 http" in p.stdout


def test_options_after_and_before_paths(causeway):
    a = causeway.run("validate", *GATEWAY, "-o", "json", "-c", "examples/set-a")
    b = causeway.run("validate", "-c", "examples/set-a", "-o", "json", *GATEWAY)
    assert a.returncode == b.returncode == 0
    assert json.loads(a.stdout) == json.loads(b.stdout)


# ---- output formats ----

def test_json_output_parses(causeway, set_a):
    p = causeway.run("validate", "-c", set_a, "-c", EXAMPLES / "set-b", *GATEWAY, "-o", "json")
    doc = json.loads(p.stdout)
    assert doc["apiVersion"] == "v1" and doc["kind"] == "List"
    assert len(doc["items"]) == 13
    for item in doc["items"]:
        assert set(item) >= {"apiVersion", "kind", "metadata", "status"}
        assert item["apiVersion"].endswith(".solo.io/v2")
        assert set(item["metadata"]) >= {"name", "namespace"}
        state = item["status"]["common"]["State"]
        assert state["approval"] in ("ACCEPTED", "WARNING", "INVALID")
        assert isinstance(state["observedGeneration"], int)


def test_json_output_escapes_messages(causeway, write, set_a):
    # A message quoting user input with quotes and a backslash must still be valid JSON.
    f = write("q.yaml", r'''
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: quoted, namespace: data}
        spec:
          addresses: ['127.0.0.1"\x']
          ports: [{name: http, number: 19000}]
        ''')
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalService", "data/quoted") == "INVALID"
    assert '127.0.0.1"\\x' in r.message("ExternalService", "data/quoted")


def parse_status_yaml(text):
    """A tiny parser for the block YAML that `-o yaml` prints: nested maps, one list of items,
    scalars either double-quoted (JSON-compatible escapes) or integers. Fails on anything else,
    which is the point: the structure must be exactly this simple and consistent."""
    lines = text.splitlines()
    assert lines[:3] == ["apiVersion: v1", "kind: List", "items:"], lines[:3]
    items = []
    stack = None  # [(indent, dict)]
    for n, line in enumerate(lines[3:], start=4):
        if line == "  []":
            assert not items
            continue
        m = re.match(r"^(- |  )((?:  )*)([A-Za-z][A-Za-z0-9]*):(?: (.*))?$", line)
        assert m, f"line {n} is not simple block YAML: {line!r}"
        dash, indent, key, value = m.groups()
        depth = len(indent) // 2
        if dash == "- ":
            assert depth == 0, f"line {n}: list dash on a nested key"
            items.append({})
            stack = [(0, items[-1])]
        assert stack is not None, f"line {n}: key before the first item"
        assert depth < len(stack), f"line {n}: indentation jumps ({line!r})"
        del stack[depth + 1:]
        target = stack[depth][1]
        assert key not in target, f"line {n}: duplicate key {key}"
        if value is None:
            target[key] = {}
            stack.append((depth + 1, target[key]))
        elif value.startswith('"'):
            target[key] = json.loads(value)
        else:
            assert re.fullmatch(r"\d+", value), f"line {n}: unquoted non-integer scalar {value!r}"
            target[key] = int(value)
    return items


@pytest.mark.parametrize("sets", [["set-a"], ["set-a", "set-b"], ["set-a", "set-c"], ["set-d-linked"]])
def test_yaml_output_has_the_same_content_as_json(causeway, sets):
    paths = [EXAMPLES / s for s in sets]
    y = causeway.validate(*paths, output="yaml")
    j = causeway.validate(*paths, output="json")
    assert y.rc == j.rc
    assert parse_status_yaml(y.stdout) == j.items


def test_yaml_output_of_nothing(causeway, tmp_path):
    r = causeway.validate(tmp_path, output="yaml")
    assert parse_status_yaml(r.stdout) == []


def test_yaml_output_with_plan_keeps_the_list_intact(causeway, set_a):
    r = causeway.validate(set_a, EXAMPLES / "set-b", output="yaml", plan=True)
    status_part = r.stdout[: len(r.stdout) - len(r.plan)].rstrip("\n")
    assert len(parse_status_yaml(status_part)) == 13
    assert r.plan.startswith("gateway locality us-east-1/us-east-1a\n")


def test_table_output(causeway, set_a):
    r = causeway.validate(set_a, EXAMPLES / "set-c", output="table")
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["KIND", "NAMESPACE", "NAME", "STATUS", "MESSAGE"]
    rows = {tuple(l.split()[:4]) for l in lines[1:] if l.strip()}
    assert ("ExternalService", "data", "ledger-a", "ACCEPTED") in rows
    assert ("ExternalService", "data", "ledger-b", "INVALID") in rows
    row = next(l for l in lines if " ledger-b " in l)
    assert "address 127.0.0.15/32 already used by ExternalService data/ledger-a in workspace ops" in row
    # Columns line up: STATUS starts at the same offset on every line.
    col = lines[0].index("STATUS")
    for l in lines[1:]:
        if l.strip():
            assert l[col:].split()[0] in ("ACCEPTED", "WARNING", "INVALID"), l


def test_statuses_on_stdout_diagnostics_on_stderr(causeway, write, set_a):
    f = write("bad.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: badport, namespace: data}
        spec:
          addresses: [127.0.0.9]
          ports: [{name: http, number: 0, protocol: HTTP}]
        """)
    r = causeway.validate(set_a, f)
    assert "bad.yaml" not in r.stdout
    assert any(d["name"] == "badport" for d in r.diagnostics()), r.stderr
    assert r.approval("ExternalService", "data/badport") == "INVALID"


# ---- the gateway identity options ----

def test_labels_decide_which_virtual_gateway_is_served(causeway, set_a):
    mine = causeway.validate(set_a, plan=True)
    other = causeway.validate(
        set_a, plan=True, gateway=["--namespace", "gw", "--labels", "app=other-gateway"]
    )
    assert "listener 18080" in mine.plan
    assert "listener" not in other.plan
    assert other.approval("VirtualGateway", "gw/edge") == "ACCEPTED"
    assert other.status("VirtualGateway", "gw/edge")["selectedWorkloadsCount"] == 0


def test_several_labels(causeway, set_a):
    r = causeway.validate(
        set_a, plan=True, gateway=["--namespace", "gw", "--labels", "tier=edge,app=c-gateway"]
    )
    assert "listener 18080 http" in r.plan


def test_name_selects_virtual_gateway_workloads(causeway, write):
    f = write("vg.yaml", """
        apiVersion: admin.gloo.solo.io/v2
        kind: Workspace
        metadata: {name: ops, namespace: gloo-mesh}
        spec:
          workloadClusters: [{name: cluster1, namespaces: [{name: gw}]}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualGateway
        metadata: {name: by-name, namespace: gw}
        spec:
          workloads:
          - selector: {name: gw-east}
          listeners:
          - port: {number: 18081}
            http: {}
        """)
    east = causeway.validate(f, plan=True, gateway=["--namespace", "gw", "--name", "gw-east"])
    west = causeway.validate(f, plan=True, gateway=["--namespace", "gw", "--name", "gw-west"])
    assert "listener 18081 http (VirtualGateway gw/by-name)" in east.plan
    assert "listener 18081" not in west.plan


def test_cluster_option(causeway, set_a):
    same = causeway.validate(set_a, plan=True, extra=["--cluster", "cluster1"])
    assert same.rc == 0, same
    assert "listener 18080 http" in same.plan
    other = causeway.validate(set_a, plan=True, extra=["--cluster", "cluster9"])
    # Workspace ops only covers cluster1: a gateway in cluster9 serves none of it.
    assert "listener 18080" not in other.plan


def test_locality_is_printed_by_the_plan(causeway, set_a):
    r = causeway.validate(set_a, plan=True, gateway=["--namespace", "gw", "--labels", "app=c-gateway",
                                                      "--locality", "eu-west-1/eu-west-1b/rack7"])
    assert r.plan.startswith("gateway locality eu-west-1/eu-west-1b/rack7\n")
    r = causeway.validate(set_a, plan=True, gateway=["--namespace", "gw", "--labels", "app=c-gateway"])
    assert r.plan.startswith("gateway locality (no locality)\n")


# ---- the gateway's locality from the environment (Kubernetes Downward API) ----

def _validate_env(causeway, env, *args):
    return subprocess.run([causeway.binary, "validate", *map(str, args)], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL,
                          env={**os.environ, **env})


def test_locality_comes_from_causeway_locality_unless_given(causeway):
    ex = EXAMPLES
    ident = ["--namespace", "gw", "--labels", "app=c-gateway", "--plan", "-o", "table"]
    p = _validate_env(causeway, {"CAUSEWAY_LOCALITY": "us-east-1/us-east-1a"},
                      "-c", ex / "set-a", "-c", ex / "set-b", *ident)
    assert p.returncode == 0 and "gateway locality us-east-1/us-east-1a" in p.stdout, p
    p = _validate_env(causeway, {"CAUSEWAY_LOCALITY": "us-east-1/us-east-1a"},
                      "-c", ex / "set-a", "-c", ex / "set-b", *ident, "--locality", "us-west-2")
    assert "gateway locality us-west-2\n" in p.stdout, p
    p = _validate_env(causeway, {"CAUSEWAY_LOCALITY": "a/b/c/d"}, "-c", ex / "set-a")
    assert p.returncode == 2 and "CAUSEWAY_LOCALITY must be region[/zone[/subZone]]" in p.stderr, p


def test_failover_without_a_gateway_locality_is_a_warning(causeway):
    """§7.1: no locality, no priorities: the FailoverPolicy says its failover is inactive
    instead of traffic silently alternating between data centers."""
    ex = EXAMPLES
    p = _validate_env(causeway, {}, "-c", ex / "set-a", "-c", ex / "set-b", "--namespace", "gw",
                      "--labels", "app=c-gateway", "-o", "json")
    fo = [o for o in json.loads(p.stdout)["items"] if o["kind"] == "FailoverPolicy"]
    states = [o["status"]["common"]["State"] for o in fo]
    assert states and all(s["approval"] == "WARNING" for s in states), fo
    assert all("this gateway has no locality" in s["message"] for s in states), fo

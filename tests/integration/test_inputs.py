"""Broken and unusual manifest files: every problem is reported with file:line:col on stderr, the
object concerned is INVALID, and everything else keeps being processed."""
import re

import pytest


def diag_for(r, name):
    found = [d for d in r.diagnostics() if d["name"] == name]
    assert found, f"no file:line:col diagnostic for {name}\n{r.stderr}"
    return found[0]


def test_yaml_syntax_error_names_file_line_col(causeway, write, set_a):
    f = write("broken/syntax.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata:
          name: unclosed
          namespace: data
        spec:
          addresses: [127.0.0.9
          ports:
          - {name: http, number: 19009}
        """)
    r = causeway.validate(set_a, f)
    assert r.rc == 1, r
    m = re.search(rf"^{re.escape(str(f))}:(\d+):(\d+): error: .*", r.stderr, re.M)
    assert m, r.stderr
    line = int(m.group(1))
    assert 7 <= line <= 10, f"syntax error reported at line {line}, the flow list opens on line 7"
    assert "syntax" in m.group(0).lower()
    # The other files are still processed.
    assert r.approval("VirtualGateway", "gw/edge") == "ACCEPTED"


def test_tab_indentation_is_a_syntax_error(causeway, write):
    f = write("tabs.yaml", "apiVersion: v1\nkind: List\nitems:\n\t- a: b\n")
    r = causeway.validate(f)
    assert r.rc == 1
    assert re.search(rf"^{re.escape(str(f))}:4:\d+: error: ", r.stderr, re.M), r.stderr


def test_unknown_field_typo_suggests_the_right_one(causeway, write, set_a):
    f = write("wss.yaml", """
        apiVersion: admin.gloo.solo.io/v2
        kind: WorkspaceSettings
        metadata:
          name: linked
          namespace: data
        spec:
          exportTpo:
          - workspaces:
            - name: '*'
        """)
    r = causeway.validate(f)
    assert r.rc == 1, r
    d = diag_for(r, "linked")
    assert d["file"] == str(f)
    assert (int(d["line"]), int(d["col"])) == (7, 3)
    assert d["kind"] == "WorkspaceSettings" and d["ns"] == "data"
    assert d["path"] == "spec.exportTpo"
    assert "unknown field" in d["msg"]
    assert 'did you mean "exportTo"' in d["msg"] or "did you mean exportTo" in d["msg"]
    assert r.approval("WorkspaceSettings", "data/linked") == "INVALID"
    assert "unknown field" in r.message("WorkspaceSettings", "data/linked")


@pytest.mark.parametrize(
    "name,spec_yaml,path,line,words",
    [
        ("wrong-type-list", "addresses: 127.0.0.9\n  ports: [{name: http, number: 19000}]",
         "spec.addresses", 5, ["list"]),
        ("wrong-type-int", "addresses: [127.0.0.9]\n  ports: [{name: http, number: abc}]",
         "spec.ports[0].number", 6, ["integer"]),
        ("wrong-type-map", "addresses: [127.0.0.9]\n  ports: [{name: http, number: 19000}]\n  selector: [a, b]",
         "spec.selector", 7, ["map"]),
        ("port-too-big", "addresses: [127.0.0.9]\n  ports: [{name: http, number: 70000}]",
         "spec.ports[0].number", 6, ["65535"]),
        ("port-zero", "addresses: [127.0.0.9]\n  ports: [{name: http, number: 0}]",
         "spec.ports[0].number", 6, ["65535"]),
        ("port-negative", "addresses: [127.0.0.9]\n  ports: [{name: http, number: -1}]",
         "spec.ports[0].number", 6, ["between 1 and 65535"]),
        ("target-too-big", "addresses: [127.0.0.9]\n  ports: [{name: http, number: 19000, targetPort: {number: 65536}}]",
         "spec.ports[0].targetPort.number", 6, ["65535"]),
        ("bad-protocol", "addresses: [127.0.0.9]\n  ports: [{name: http, number: 19000, protocol: SMTP}]",
         "spec.ports[0].protocol", 6, ["SMTP"]),
        ("bad-cidr-length", "addresses: [127.0.0.0/33]\n  ports: [{name: http, number: 19000}]",
         "spec.addresses[0]", 5, ["127.0.0.0/33"]),
        ("bad-cidr-octet", "addresses: [127.0.0.300]\n  ports: [{name: http, number: 19000}]",
         "spec.addresses[0]", 5, ["127.0.0.300"]),
        ("bad-cidr-text", "addresses: [localhost/8]\n  ports: [{name: http, number: 19000}]",
         "spec.addresses[0]", 5, ["localhost/8"]),
    ],
)
def test_external_service_schema_errors(causeway, write, set_a, name, spec_yaml, path, line, words):
    f = write(f"{name}.yaml", f"""
apiVersion: networking.gloo.solo.io/v2
kind: ExternalService
metadata: {{name: {name}, namespace: data}}
spec:
  {spec_yaml}
""")
    r = causeway.validate(set_a, f)
    assert r.rc == 1, r
    d = diag_for(r, name)
    assert d["kind"] == "ExternalService" and d["ns"] == "data"
    assert d["path"] == path, d
    assert int(d["line"]) == line, d
    for w in words:
        assert w in d["msg"], d
    assert r.approval("ExternalService", f"data/{name}") == "INVALID"
    assert r.message("ExternalService", f"data/{name}").startswith(path)
    # Set A is not affected by someone else's typo.
    assert r.approval("RouteTable", "gw/search") == "ACCEPTED"


@pytest.mark.parametrize(
    "field,value,accepted",
    [
        ("interval", "5s", True),
        ("interval", "1s500ms", True),
        ("interval", "1.5h", True),
        ("interval", "1ms", True),
        ("interval", "5 seconds", False),
        ("interval", "10", False),
        ("interval", "5sec", False),
        ("interval", "-5s", False),
        ("interval", "0s", False),
        ("baseEjectionTime", "0.5ms", False),
        ("baseEjectionTime", "", False),
    ],
)
def test_durations(causeway, write, set_a, field, value, accepted):
    f = write("od.yaml", f"""
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {{name: od, namespace: data}}
        spec:
          applyToDestinations:
          - kind: EXTERNAL_SERVICE
            selector: {{}}
          config:
            {field}: "{value}"
        """)
    r = causeway.validate(set_a, f)
    if accepted:
        assert r.approval("OutlierDetectionPolicy", "data/od") == "ACCEPTED", r
        assert r.rc == 0
    else:
        assert r.approval("OutlierDetectionPolicy", "data/od") == "INVALID", r
        d = diag_for(r, "od")
        assert d["path"] == f"spec.config.{field}"
        # line 9, at the value (its opening quote or first character)
        value_col = 5 + len(field) + 2
        assert int(d["line"]) == 9 and int(d["col"]) in (value_col, value_col + 1), d
        assert "duration" in d["msg"]
        assert r.rc == 1


def test_max_ejection_percent_range(causeway, write, set_a):
    f = write("od.yaml", """
        apiVersion: resilience.policy.gloo.solo.io/v2
        kind: OutlierDetectionPolicy
        metadata: {name: od, namespace: data}
        spec:
          config:
            maxEjectionPercent: 101
            consecutiveErrors: 0
        """)
    r = causeway.validate(set_a, f)
    assert r.approval("OutlierDetectionPolicy", "data/od") == "INVALID"
    paths = {d["path"] for d in r.diagnostics() if d["name"] == "od"}
    # Both problems are reported, not just the first.
    assert paths == {"spec.config.maxEjectionPercent", "spec.config.consecutiveErrors"}, r.stderr


def test_every_problem_is_reported_not_just_the_first(causeway, write):
    f = write("many.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: many, namespace: data}
        spec:
          addresses: [127.0.0.400]
          portz: []
          ports: [{name: http, number: 99999, protocol: NOPE}]
        """)
    r = causeway.validate(f)
    paths = [d["path"] for d in r.diagnostics() if d["name"] == "many"]
    assert set(paths) >= {"spec.addresses[0]", "spec.portz", "spec.ports[0].number", "spec.ports[0].protocol"}, r.stderr


def test_duplicate_object_across_two_files(causeway, write, set_a):
    one = write("one.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: twin, namespace: data}
        spec:
          addresses: [127.0.0.31]
          ports: [{name: http, number: 19031, protocol: HTTP}]
        """)
    two = write("other/two.yaml", """
        # the same object again, with a different address
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata:
          name: twin
          namespace: data
        spec:
          addresses: [127.0.0.32]
          ports: [{name: http, number: 19032, protocol: HTTP}]
        """)
    r = causeway.validate(set_a, one, two)
    assert r.rc == 1, r
    twins = r.find("ExternalService", "data/twin")
    assert sorted(t["status"]["common"]["State"]["approval"] for t in twins) == ["ACCEPTED", "INVALID"]
    loser = next(t for t in twins if t["status"]["common"]["State"]["approval"] == "INVALID")
    msg = loser["status"]["common"]["State"]["message"]
    assert "duplicate" in msg and "data/twin" in msg
    # The diagnostic points at the second definition and names the first one.
    err = [l for l in r.stderr.splitlines() if "duplicate" in l]
    assert len(err) == 1, r.stderr
    assert err[0].startswith(f"{two}:2:1: error: ExternalService data/twin") or err[0].startswith(
        f"{one}:1:1: error: ExternalService data/twin"), err
    assert str(one) in err[0] and str(two) in err[0], err
    # The first definition (file given first) is the one served.
    p = causeway.validate(set_a, one, two, plan=True)
    assert "127.0.0.31" in p.plan and "127.0.0.32" not in p.plan


def test_same_name_different_kind_or_namespace_is_not_a_duplicate(causeway, write, set_a):
    f = write("names.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: thing, namespace: data}
        spec:
          addresses: [127.0.0.33]
          ports: [{name: http, number: 19033, protocol: HTTP}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalEndpoint
        metadata: {name: thing, namespace: data}
        spec:
          address: 127.0.0.34
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: RouteTable
        metadata: {name: thing, namespace: gw}
        spec:
          hosts: [thing.example.com]
          virtualGateways: [{name: edge, namespace: gw}]
          http:
          - directResponse: {status: 200}
        """)
    r = causeway.validate(set_a, f)
    assert r.rc == 0, r
    assert "duplicate" not in r.stderr


KUBECTL_LIST = """\
apiVersion: v1
items:
- apiVersion: networking.gloo.solo.io/v2
  kind: ExternalService
  metadata:
    annotations:
      kubectl.kubernetes.io/last-applied-configuration: |
        {"apiVersion":"networking.gloo.solo.io/v2","kind":"ExternalService","metadata":{"annotations":{},"name":"billing-db","namespace":"data"},"spec":{"addresses":["127.0.0.61"],"ports":[{"name":"http","number":19061,"protocol":"HTTP"}]}}
    creationTimestamp: "2024-05-01T10:00:00Z"
    generation: 3
    labels:
      team: billing
    managedFields:
    - apiVersion: networking.gloo.solo.io/v2
      fieldsType: FieldsV1
      fieldsV1:
        f:metadata:
          f:annotations:
            .: {}
            f:kubectl.kubernetes.io/last-applied-configuration: {}
        f:spec:
          .: {}
          f:addresses: {}
          f:ports: {}
      manager: kubectl-client-side-apply
      operation: Update
      time: "2024-05-01T10:00:00Z"
    - apiVersion: networking.gloo.solo.io/v2
      fieldsType: FieldsV1
      fieldsV1:
        f:status:
          .: {}
          f:common:
            .: {}
            f:State:
              .: {}
              f:approval: {}
              f:observedGeneration: {}
      manager: gloo-mgmt-server
      operation: Update
      subresource: status
      time: "2024-05-01T10:00:02Z"
    name: billing-db
    namespace: data
    resourceVersion: "123456"
    uid: 5c1f0d0e-7c33-4a53-9d1c-0f5b2a7e9b11
  spec:
    addresses:
    - 127.0.0.61
    ports:
    - name: http
      number: 19061
      protocol: HTTP
  status:
    common:
      State:
        approval: ACCEPTED
        observedGeneration: 3
      workspaceConditions:
        Accepted: 1
    numSelectedExternalEndpoints: 0
    numSelectedVirtualGateways: 1
    ownedByWorkspace: ops
- apiVersion: networking.gloo.solo.io/v2
  kind: RouteTable
  metadata:
    creationTimestamp: "2024-05-01T10:00:00Z"
    generation: 1
    name: billing
    namespace: gw
    resourceVersion: "123457"
    uid: 0b0c5bb3-1e57-4b8e-a1e8-7c9a5b8d4c21
  spec:
    hosts:
    - billing.example.com
    virtualGateways:
    - name: edge
      namespace: gw
    http:
    - name: billing
      forwardTo:
        destinations:
        - ref:
            name: billing-db
            namespace: data
          kind: EXTERNAL_SERVICE
          port:
            number: 19061
  status:
    common:
      State:
        approval: ACCEPTED
        observedGeneration: 1
    numAllowedVirtualGateways: 1
    ownedByWorkspace: ops
kind: List
metadata:
  resourceVersion: ""
"""


def test_kubectl_get_list_is_accepted(causeway, write, set_a):
    f = write("kubectl-get.yaml", KUBECTL_LIST)
    r = causeway.validate(set_a, f, plan=True)
    assert r.rc == 0, r
    assert r.approval("ExternalService", "data/billing-db") == "ACCEPTED"
    assert r.approval("RouteTable", "gw/billing") == "ACCEPTED"
    # metadata.generation is honoured; the stored status block is ignored (recomputed).
    assert r.status("ExternalService", "data/billing-db")["common"]["State"]["observedGeneration"] == 3
    assert r.status("ExternalService", "data/billing-db")["ownedByWorkspace"] == "ops"
    assert r.stderr == "", r
    assert r.route_line("billing", "gw/billing").endswith("-> data/billing-db:19061 100%")


def test_list_errors_point_into_the_list(causeway, write, set_a):
    f = write("list.yaml", """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: networking.gloo.solo.io/v2
          kind: ExternalService
          metadata: {name: listed, namespace: data}
          spec:
            addresses: [127.0.0.62]
            ports: [{name: http, number: 99999}]
        """)
    r = causeway.validate(set_a, f)
    d = diag_for(r, "listed")
    assert d["file"] == str(f) and int(d["line"]) == 9 and d["path"] == "spec.ports[0].number"
    assert r.approval("ExternalService", "data/listed") == "INVALID"


def test_other_kinds_are_skipped_with_a_note(causeway, write, set_a):
    f = write("mixed.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: VirtualDestination
        metadata: {name: vd, namespace: data}
        spec:
          hosts: [vd.internal]
          ports: [{number: 80, protocol: HTTP}]
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: svc, namespace: data}
        spec:
          ports: [{port: 80}]
        ---
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: after-skipped, namespace: data}
        spec:
          addresses: [127.0.0.63]
          ports: [{name: http, number: 19063}]
        """)
    r = causeway.validate(set_a, f)
    assert r.rc == 0, r
    kinds = {i["kind"] for i in r.items}
    assert "VirtualDestination" not in kinds and "Service" not in kinds
    notes = [l for l in r.stderr.splitlines() if "note:" in l]
    assert any("VirtualDestination" in l and str(f) in l for l in notes), r.stderr
    assert any(l.startswith(f"{f}:1:1: note:") for l in notes), r.stderr
    assert any("Service" in l and ":8:1: note:" in l for l in notes), r.stderr
    assert "error" not in r.stderr
    assert r.approval("ExternalService", "data/after-skipped") == "ACCEPTED"


def test_directory_with_nested_folders_and_other_files(causeway, tmp_path, write, set_a):
    write("a.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: top, namespace: data}
        spec:
          addresses: [127.0.0.64]
          ports: [{name: http, number: 19064}]
        """)
    write("deep/er/still/b.yml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: nested, namespace: data}
        spec:
          addresses: [127.0.0.65]
          ports: [{name: http, number: 19065}]
        """)
    write("deep/README.md", "# not a manifest: [unclosed\n")
    write("deep/values.json", '{"kind": "ExternalService", "broken": ')
    write("deep/er/notes.txt", "kind: ExternalService\nmetadata: [\n")
    write("deep/er/manifest.yaml.bak", "kind: [\n")
    write("empty.yaml", "")
    write("comments-only.yaml", "# nothing here yet\n---\n# still nothing\n")
    r = causeway.validate(set_a, tmp_path)
    assert r.rc == 0, r
    assert r.approval("ExternalService", "data/top") == "ACCEPTED"
    assert r.approval("ExternalService", "data/nested") == "ACCEPTED"
    for ignored in ("README.md", "values.json", "notes.txt", ".bak"):
        assert ignored not in r.stderr, r.stderr
    assert len(r.items) == 9


def test_directory_order_is_deterministic(causeway, write, tmp_path):
    for n in ("b", "a", "c"):
        write(f"{n}/es.yaml", f"""
            apiVersion: networking.gloo.solo.io/v2
            kind: ExternalService
            metadata: {{name: es-{n}, namespace: data}}
            spec:
              addresses: [127.0.1.{ord(n)}]
              ports: [{{name: http, number: 19000}}]
            """)
    runs = [causeway.validate(tmp_path) for _ in range(3)]
    names = [[i["metadata"]["name"] for i in r.items] for r in runs]
    assert names[0] == names[1] == names[2]
    assert sorted(names[0]) == ["es-a", "es-b", "es-c"]


def test_missing_envelope_fields(causeway, write, set_a):
    f = write("envelope.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {namespace: data}
        spec:
          addresses: [127.0.0.66]
          ports: [{name: http, number: 19066}]
        ---
        kind: ExternalService
        metadata: {name: no-api-version, namespace: data}
        spec:
          addresses: [127.0.0.67]
          ports: [{name: http, number: 19067}]
        """)
    r = causeway.validate(set_a, f)
    assert r.rc == 1, r
    errs = [l for l in r.stderr.splitlines() if ": error:" in l]
    assert any(l.startswith(f"{f}:3:") and "name" in l for l in errs), r.stderr
    assert any(l.startswith(f"{f}:") and "apiVersion" in l for l in errs), r.stderr


def test_bad_creation_timestamp(causeway, write, set_a):
    f = write("ts.yaml", """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata:
          name: when
          namespace: data
          creationTimestamp: "yesterday"
        spec:
          addresses: [127.0.0.68]
          ports: [{name: http, number: 19068}]
        """)
    r = causeway.validate(set_a, f)
    assert r.rc == 1
    d = diag_for(r, "when")
    assert d["path"] == "metadata.creationTimestamp" and int(d["line"]) == 6


def test_hidden_folders_and_dotfiles_are_skipped(causeway, tmp_path, write, set_a):
    es = """
        apiVersion: networking.gloo.solo.io/v2
        kind: ExternalService
        metadata: {name: %s, namespace: data}
        spec:
          addresses: [%s]
          ports: [{name: http, number: 19000}]
        """
    write(".git/x/hidden.yaml", es % ("in-hidden-folder", "127.0.0.71"))
    write("sub/.dotfile.yaml", es % ("dotfile", "127.0.0.72"))
    write("sub/visible.yaml", es % ("visible", "127.0.0.73"))
    r = causeway.validate(set_a, tmp_path)
    names = {i["metadata"]["name"] for i in r.items}
    assert "visible" in names
    assert "in-hidden-folder" not in names and "dotfile" not in names


def test_a_file_given_explicitly_is_read_whatever_its_name(causeway, write, set_a):
    f = write("es.json", '{"apiVersion": "networking.gloo.solo.io/v2", "kind": "ExternalService", '
                         '"metadata": {"name": "from-json", "namespace": "data"}, '
                         '"spec": {"addresses": ["127.0.0.74"], "ports": [{"name": "http", "number": 19074}]}}\n')
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalService", "data/from-json") == "ACCEPTED"


def test_crlf_and_byte_order_mark(causeway, tmp_path, set_a):
    f = tmp_path / "windows.yaml"
    f.write_bytes(b"\xef\xbb\xbfapiVersion: networking.gloo.solo.io/v2\r\nkind: ExternalService\r\n"
                  b"metadata:\r\n  name: crlf\r\n  namespace: data\r\nspec:\r\n"
                  b"  addresses: [127.0.0.75]\r\n  ports: [{name: http, number: 70000}]\r\n")
    r = causeway.validate(set_a, f)
    assert r.approval("ExternalService", "data/crlf") == "INVALID"
    d = [d for d in r.diagnostics() if d["name"] == "crlf"]
    assert d and int(d[0]["line"]) == 8, r.stderr

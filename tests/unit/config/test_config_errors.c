/*
 * Schema errors (config/config.h): each problem a user can make in a manifest is reported as
 * "file:line:col: error: Kind ns/name: spec.field.path: message" pointing at the value to fix,
 * loading never stops at the first one, and the object keeps its first error in obj.error so
 * translation reports it INVALID.
 */
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ES  "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\n"
#define EE  "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalEndpoint\n"
#define RT  "apiVersion: networking.gloo.solo.io/v2\nkind: RouteTable\n"
#define VG  "apiVersion: networking.gloo.solo.io/v2\nkind: VirtualGateway\n"
#define ODP "apiVersion: resilience.policy.gloo.solo.io/v2\nkind: OutlierDetectionPolicy\n"
#define FP  "apiVersion: resilience.policy.gloo.solo.io/v2\nkind: FailoverPolicy\n"
#define WS  "apiVersion: admin.gloo.solo.io/v2\nkind: Workspace\n"
#define WSS "apiVersion: admin.gloo.solo.io/v2\nkind: WorkspaceSettings\n"

/* Loads <yaml> as "t.yaml" and asserts that its diagnostics are exactly <expected>. */
static void assert_diags(const char *yaml, const char *expected)
{
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml", yaml);
    if (strcmp(l.text, expected) != 0) {
        cwt_print_diff("t.yaml", expected, l.text);
        fail_msg("diagnostics differ (diff above)");
    }
    cwt_load_free(&l);
}

/* Loads <yaml> and asserts that some diagnostic line contains each of the given pieces. */
static void assert_reports(const char *yaml, const char *piece1, const char *piece2)
{
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml", yaml);
    assert_diag_contains(l.text, piece1);
    if (piece2)
        assert_diag_contains(l.text, piece2);
    if (l.diags.errors == 0)
        fail_msg("expected an error, got:\n%s", l.text);
    cwt_load_free(&l);
}

static void one_problem_one_message(void **state)
{
    (void)state;
    /* A mapping without from, and one whose from has no region: each said once. */
    assert_diags(
        FP "metadata: {name: fo, namespace: data}\n"
           "spec:\n"
           "  config:\n"
           "    localityMappings:\n"
           "    - to: [{region: us-east-1}]\n"
           "    - {from: {zone: a}, to: [{region: us-east-1}]}\n",
        "t.yaml:7:7: error: FailoverPolicy data/fo: spec.config.localityMappings[0]: "
        "missing required field \"from\"\n"
        "t.yaml:8:15: error: FailoverPolicy data/fo: spec.config.localityMappings[1].from: "
        "missing required field \"region\"\n");
}

static void unknown_field_suggests_the_closest(void **state)
{
    (void)state;
    assert_diags(WSS "metadata: {name: ops, namespace: gw}\n"
                     "spec:\n"
                     "  exportTpo:\n"
                     "  - workspaces: [{name: web}]\n",
                 "t.yaml:5:3: error: WorkspaceSettings gw/ops: spec.exportTpo: unknown field "
                 "\"exportTpo\" (did you mean \"exportTo\"?)\n");
    /* Case slips are typos too. */
    assert_diags(ES "metadata: {name: db, namespace: data}\n"
                    "spec:\n"
                    "  hosts: [db.example.com]\n"
                    "  ports: [{number: 5432, targetport: {number: 5433}}]\n",
                 "t.yaml:6:26: error: ExternalService data/db: spec.ports[0].targetport: unknown "
                 "field \"targetport\" (did you mean \"targetPort\"?)\n");
    /* Nothing close: no hint rather than a misleading one. */
    assert_diags(ES "metadata: {name: db, namespace: data}\n"
                    "spec:\n"
                    "  hosts: [db.example.com]\n"
                    "  ports: [{number: 5432}]\n"
                    "  resolution: DNS\n",
                 "t.yaml:7:3: error: ExternalService data/db: spec.resolution: unknown field "
                 "\"resolution\"\n");
}

static void unknown_field_in_policy_selector_marks_the_object(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "od.yaml",
                  ODP "metadata: {name: od, namespace: data}\n"
                      "spec:\n"
                      "  applyToDestinations:\n"
                      "  - kind: EXTERNAL_SERVICE\n"
                      "    selector:\n"
                      "      labels: {app: db}\n"
                      "      lables: {tier: gold}\n"
                      "  config: {consecutiveErrors: 3}\n");
    assert_string_equal(l.text,
                        "od.yaml:9:7: error: OutlierDetectionPolicy data/od: "
                        "spec.applyToDestinations[0].selector.lables: unknown field \"lables\" "
                        "(did you mean \"labels\"?)\n");
    /* The object is kept, so translation can give it an INVALID status with this reason. */
    assert_int_equal(CW_CONFIG_COUNT(&l.cfg, OUTLIER_DETECTION_POLICY), 1);
    const struct cw_object *obj = l.cfg.objects.v[0];
    assert_non_null(obj->error);
    assert_string_equal(obj->error, "spec.applyToDestinations[0].selector.lables: unknown field "
                                    "\"lables\" (did you mean \"labels\"?)");
    /* The rest still decoded. */
    const struct cw_outlier_policy *od = (const void *)obj;
    assert_int_equal(od->config.consecutive_errors, 3);
    cwt_load_free(&l);
}

static void unknown_top_level_field(void **state)
{
    (void)state;
    assert_diags(ES "metadata: {name: db, namespace: data}\n"
                    "spec: {hosts: [db.example.com], ports: [{number: 1}]}\n"
                    "sepc: {}\n",
                 "t.yaml:5:1: error: ExternalService data/db: sepc: unknown field \"sepc\" (did "
                 "you mean \"spec\"?)\n");
    /* A misspelt metadata also loses the name; both problems are shown. */
    assert_diags(ES "metdata: {name: db}\nspec: {hosts: [db.x], ports: [{number: 1}]}\n",
                 "t.yaml:3:1: error: ExternalService: metdata: unknown field \"metdata\" (did you "
                 "mean \"metadata\"?)\n"
                 "t.yaml:1:1: error: ExternalService: missing required field \"metadata\"\n");
}

static void wrong_types(void **state)
{
    (void)state;
    assert_diags(ES "metadata: {name: db, namespace: data, labels: {version: 2, canary: true}}\n"
                    "spec:\n"
                    "  hosts: db.example.com\n"
                    "  selector: [app]\n"
                    "  ports:\n"
                    "  - name: 5432\n"
                    "    number: \"5432\"\n"
                    "    clientsideTls: {insecureSkipVerify: \"true\", sni: [a.com]}\n"
                    "    targetPort: 443\n",
                 "t.yaml:3:57: error: ExternalService data/db: metadata.labels.version: expected "
                 "a string, got a number (quote it: \"2\")\n"
                 "t.yaml:3:68: error: ExternalService data/db: metadata.labels.canary: expected "
                 "a string, got a boolean (quote it: \"true\")\n"
                 "t.yaml:5:10: error: ExternalService data/db: spec.hosts: expected a list of "
                 "strings, got a scalar\n"
                 "t.yaml:6:14: error: ExternalService data/db: spec.selector: expected a map of "
                 "strings, got a list\n"
                 "t.yaml:8:11: error: ExternalService data/db: spec.ports[0].name: expected a "
                 "string, got a number (quote it: \"5432\")\n"
                 "t.yaml:9:14: error: ExternalService data/db: spec.ports[0].number: expected an "
                 "integer, got the string \"5432\" (remove the quotes)\n"
                 "t.yaml:10:42: error: ExternalService data/db: "
                 "spec.ports[0].clientsideTls.insecureSkipVerify: expected true or false, got the "
                 "string \"true\" (remove the quotes)\n"
                 "t.yaml:10:55: error: ExternalService data/db: spec.ports[0].clientsideTls.sni: "
                 "expected a string, got a list\n"
                 "t.yaml:11:17: error: ExternalService data/db: spec.ports[0].targetPort: "
                 "expected a mapping, got a scalar\n");
    assert_reports(VG "metadata: {name: edge, namespace: gw}\n"
                      "spec: {listeners: {port: {number: 80}}}\n",
                   "spec.listeners: expected a list, got a mapping", NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{directResponse: {status: 200.5}}]}\n",
                   "spec.http[0].directResponse.status: expected an integer, got \"200.5\"", NULL);
    assert_reports(WS "metadata: {name: ws, namespace: gloo-mesh}\n"
                      "spec: {workloadClusters: [{name: c1, namespaces: [{name: gw, "
                      "configEnabled: yes}]}]}\n",
                   "configEnabled: expected true or false, got \"yes\"", NULL);
}

static void missing_required_fields(void **state)
{
    (void)state;
    assert_diags(ES "metadata: {name: db, namespace: data}\n"
                    "spec:\n"
                    "  hosts: [db.example.com]\n",
                 "t.yaml:5:3: error: ExternalService data/db: spec: missing required field "
                 "\"ports\"\n");
    /* "ports:" with no value is null: still missing, as kubectl reports it. */
    assert_reports(ES "metadata: {name: db, namespace: data}\n"
                      "spec:\n  hosts: [db.example.com]\n  ports:\n",
                   "ExternalService data/db: spec: missing required field \"ports\"", NULL);
    assert_reports(ES "metadata: {name: db, namespace: data}\n"
                      "spec:\n",
                   "ExternalService data/db: spec: missing required field \"ports\"", NULL);
    assert_reports(ES "metadata: {name: db, namespace: data}\n"
                      "spec: {hosts: [db.example.com], ports: [{name: pg}]}\n",
                   "spec.ports[0]: missing required field \"number\"", NULL);
    assert_reports(EE "metadata: {name: ep, namespace: data}\n"
                      "spec: {ports: [{number: 80}]}\n",
                   "ExternalEndpoint data/ep: spec: missing required field \"address\"", NULL);
    assert_reports(VG "metadata: {name: edge, namespace: gw}\nspec: {}\n",
                   "VirtualGateway gw/edge: spec: missing required field \"listeners\"", NULL);
    assert_reports(VG "metadata: {name: edge, namespace: gw}\n"
                      "spec: {listeners: [{http: {}}]}\n",
                   "spec.listeners[0]: missing required field \"port\"", NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{forwardTo: {destinations: [{kind: EXTERNAL_SERVICE}]}}]}\n",
                   "spec.http[0].forwardTo.destinations[0]: missing required field \"ref\"", NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {tcp: [{matchers: [{port: 5432}]}]}\n",
                   "spec.tcp[0]: missing required field \"forwardTo\"", NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{directResponse: {body: hi}}]}\n",
                   "spec.http[0].directResponse: missing required field \"status\"", NULL);
    assert_reports(WS "metadata: {name: ws, namespace: gloo-mesh}\n"
                      "spec: {workloadClusters: [{name: c1}]}\n",
                   "spec.workloadClusters[0]: missing required field \"namespaces\"", NULL);
    assert_reports(FP "metadata: {name: fo, namespace: data}\n"
                      "spec: {config: {localityMappings: [{from: {region: a}}]}}\n",
                   "spec.config.localityMappings[0]: missing required field \"to\"", NULL);
    /* A kind whose spec is required, without one. */
    assert_diags(RT "metadata: {name: rt, namespace: gw}\n",
                 "t.yaml:1:1: error: RouteTable gw/rt: missing required field \"spec\"\n");
}

static void metadata_problems(void **state)
{
    (void)state;
    /* Without a name there is nothing to report a status on: the object is dropped. */
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml", ES "metadata: {namespace: data}\nspec: {ports: [{number: 1}]}\n");
    assert_string_equal(l.text, "t.yaml:3:12: error: ExternalService: metadata: missing "
                                "required field \"name\"\n");
    assert_int_equal(l.cfg.objects.n, 0);
    cwt_load_free(&l);
    assert_diags(ES "spec: {ports: [{number: 1}]}\n",
                 "t.yaml:1:1: error: ExternalService: missing required field \"metadata\"\n");
    assert_diags(ES "metadata:\nspec: {ports: [{number: 1}]}\n",
                 "t.yaml:3:1: error: ExternalService: metadata: missing required field "
                 "\"name\"\n");
    /* Kubernetes names are lower-case DNS names; the object is still named in the message. */
    assert_diags(ES "metadata: {name: Orders_DB, namespace: Data}\n"
                    "spec: {hosts: [db.example.com], ports: [{number: 1}]}\n",
                 "t.yaml:3:18: error: ExternalService Data/Orders_DB: metadata.name: "
                 "\"Orders_DB\": must consist of lower case letters, digits, '-' and '.'\n"
                 "t.yaml:3:40: error: ExternalService Data/Orders_DB: metadata.namespace: "
                 "\"Data\": must consist of lower case letters, digits and '-'\n");
    assert_reports(ES "metadata: {name: db, generation: 0}\n"
                      "spec: {hosts: [db.example.com], ports: [{number: 1}]}\n",
                   "ExternalService default/db: metadata.generation: must be between 1 and", NULL);
    assert_reports(ES "metadata: {name: db, labels: [app]}\n"
                      "spec: {hosts: [db.example.com], ports: [{number: 1}]}\n",
                   "metadata.labels: expected a map of strings, got a list", NULL);
}

static void out_of_range_numbers(void **state)
{
    (void)state;
    assert_diags(ES "metadata: {name: db, namespace: data}\n"
                    "spec:\n"
                    "  hosts: [db.example.com]\n"
                    "  ports:\n"
                    "  - number: 70000\n"
                    "  - number: 0\n"
                    "  - number: -1\n"
                    "    targetPort: {number: 65536}\n",
                 "t.yaml:7:13: error: ExternalService data/db: spec.ports[0].number: must be "
                 "between 1 and 65535, got 70000\n"
                 "t.yaml:8:13: error: ExternalService data/db: spec.ports[1].number: must be "
                 "between 1 and 65535, got 0\n"
                 "t.yaml:9:13: error: ExternalService data/db: spec.ports[2].number: must be "
                 "between 1 and 65535, got -1\n"
                 "t.yaml:10:26: error: ExternalService data/db: spec.ports[2].targetPort.number: "
                 "must be between 1 and 65535, got 65536\n");
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{directResponse: {status: 600}}]}\n",
                   "spec.http[0].directResponse.status: must be between 100 and 599, got 600",
                   NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{forwardTo: {destinations: [{ref: {name: a}, weight: 101}]}}]}"
                      "\n",
                   "destinations[0].weight: must be between 0 and 100, got 101", NULL);
    assert_reports(ODP "metadata: {name: od, namespace: data}\n"
                       "spec: {config: {maxEjectionPercent: 101, consecutiveErrors: 0}}\n",
                   "spec.config.maxEjectionPercent: must be between 0 and 100, got 101",
                   "spec.config.consecutiveErrors: must be between 1 and 2147483647, got 0");
    assert_reports(ODP "metadata: {name: od, namespace: data}\n"
                       "spec: {config: {consecutiveErrors: 99999999999999999999}}\n",
                   "consecutiveErrors: must be between 1 and 2147483647, got 99999999999999999999",
                   NULL);
}

static void bad_durations(void **state)
{
    (void)state;
    assert_diags(ODP "metadata: {name: od, namespace: data}\n"
                     "spec:\n"
                     "  config:\n"
                     "    interval: 30\n"
                     "    baseEjectionTime: 1.5ms\n",
                 "t.yaml:6:15: error: OutlierDetectionPolicy data/od: spec.config.interval: "
                 "invalid duration \"30\": missing or unknown unit (use ns, us, ms, s, m or h)\n"
                 "t.yaml:7:23: error: OutlierDetectionPolicy data/od: "
                 "spec.config.baseEjectionTime: invalid duration \"1.5ms\": duration must be a "
                 "whole number of milliseconds\n");
    assert_reports(ODP "metadata: {name: od, namespace: data}\nspec: {config: {interval: -1s}}\n",
                   "invalid duration \"-1s\": duration must not be negative", NULL);
    assert_reports(ODP "metadata: {name: od, namespace: data}\nspec: {config: {interval: 0s}}\n",
                   "invalid duration \"0s\": duration must be at least 1ms", NULL);
    assert_reports(ODP "metadata: {name: od, namespace: data}\n"
                       "spec: {config: {interval: \"5x\"}}\n",
                   "invalid duration \"5x\": missing or unknown unit", NULL);
    assert_reports(ODP "metadata: {name: od, namespace: data}\n"
                       "spec: {config: {interval: [5s]}}\n",
                   "spec.config.interval: expected a string, got a list", NULL);
}

static void bad_addresses(void **state)
{
    (void)state;
    assert_diags(ES "metadata: {name: db, namespace: data}\n"
                    "spec:\n"
                    "  addresses: [10.0.0.256, 10.1.2.3/33, 10.0.0.0/08, '::1/129', '']\n"
                    "  ports: [{number: 5432}]\n",
                 "t.yaml:5:15: error: ExternalService data/db: spec.addresses[0]: \"10.0.0.256\": "
                 "not a valid IP address\n"
                 "t.yaml:5:27: error: ExternalService data/db: spec.addresses[1]: "
                 "\"10.1.2.3/33\": prefix length must be 0-32\n"
                 "t.yaml:5:40: error: ExternalService data/db: spec.addresses[2]: "
                 "\"10.0.0.0/08\": prefix length must not have leading zeros\n"
                 "t.yaml:5:54: error: ExternalService data/db: spec.addresses[3]: \"::1/129\": "
                 "prefix length must be 0-128\n"
                 "t.yaml:5:65: error: ExternalService data/db: spec.addresses[4]: \"\": not an IP "
                 "address or CIDR prefix\n");
    /* An ExternalEndpoint address is one concrete backend: no prefix, port or wildcard. */
    assert_reports(EE "metadata: {name: ep, namespace: data}\nspec: {address: 10.0.0.0/24}\n",
                   "spec.address: \"10.0.0.0/24\": must be an IP address or a hostname, not a "
                   "CIDR prefix",
                   NULL);
    assert_reports(EE "metadata: {name: ep, namespace: data}\nspec: {address: '10.0.0.1:5432'}\n",
                   "must not contain a port; list ports under spec.ports", NULL);
    assert_reports(EE "metadata: {name: ep, namespace: data}\nspec: {address: '*.corp.com'}\n",
                   "spec.address: \"*.corp.com\": must not contain a wildcard", NULL);
    assert_reports(EE "metadata: {name: ep, namespace: data}\n"
                      "spec: {address: 'unix:///var/run/db.sock'}\n",
                   "unix:// addresses are not supported by causeway", NULL);
    assert_reports(EE "metadata: {name: ep, namespace: data}\nspec: {address: 10.0.0.256}\n",
                   "spec.address: \"10.0.0.256\": top-level label must not be all digits", NULL);
}

static void bad_hostnames(void **state)
{
    (void)state;
    assert_diags(ES "metadata: {name: api, namespace: data}\n"
                    "spec:\n"
                    "  hosts: [api_v2.example.com, 'a.*.com', '*', -api.example.com]\n"
                    "  ports: [{number: 443}]\n",
                 "t.yaml:5:11: error: ExternalService data/api: spec.hosts[0]: "
                 "\"api_v2.example.com\": invalid character (allowed: letters, digits, '-', "
                 "'.')\n"
                 "t.yaml:5:32: error: ExternalService data/api: spec.hosts[1]: \"a.*.com\": "
                 "wildcard only allowed at the start of the first label\n"
                 "t.yaml:5:43: error: ExternalService data/api: spec.hosts[2]: \"*\": bare '*' "
                 "is not a valid hostname\n"
                 "t.yaml:5:47: error: ExternalService data/api: spec.hosts[3]: "
                 "\"-api.example.com\": label must not start or end with '-'\n");
    /* RouteTable hosts accept the bare "*" (A8) but not a wildcard in the middle. */
    assert_diags(RT "metadata: {name: rt, namespace: gw}\n"
                    "spec:\n"
                    "  hosts: ['*', '*.example.com', 'www.*.com']\n"
                    "  http: [{directResponse: {status: 200}}]\n",
                 "t.yaml:5:34: error: RouteTable gw/rt: spec.hosts[2]: \"www.*.com\": wildcard "
                 "only allowed at the start of the first label\n");
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{forwardTo: {hostRewrite: '*.example.com'}}]}\n",
                   "spec.http[0].forwardTo.hostRewrite: \"*.example.com\": wildcard not allowed "
                   "here",
                   NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {tls: [{matchers: [{sniHosts: [bad..host]}], forwardTo: {}}]}\n",
                   "spec.tls[0].matchers[0].sniHosts[0]: \"bad..host\": empty label", NULL);
    assert_reports(VG "metadata: {name: edge, namespace: gw}\n"
                      "spec: {listeners: [{port: {number: 80}, http: {}, allowedRouteTables: "
                      "[{host: 'Prod_NS/*.example.com'}]}]}\n",
                   "allowedRouteTables[0].host: \"Prod_NS/*.example.com\": namespace part must be "
                   "a namespace name, '*' or '.'",
                   NULL);
}

static void enums_list_the_allowed_values(void **state)
{
    (void)state;
    assert_diags(ES "metadata: {name: db, namespace: data}\n"
                    "spec: {hosts: [db.x], ports: [{number: 1, protocol: tcp}]}\n",
                 "t.yaml:4:53: error: ExternalService data/db: spec.ports[0].protocol: unknown "
                 "value \"tcp\" (allowed: HTTP, HTTPS, GRPC, HTTP2, MONGO, TCP, TLS)\n");
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {failureMode: FREEZE, http: [{directResponse: {status: 200}}]}\n",
                   "spec.failureMode: unknown value \"FREEZE\" (allowed: ROUTE_REPLACEMENT, "
                   "FREEZE_CONFIG)",
                   NULL);
    assert_reports(ODP "metadata: {name: od, namespace: data}\n"
                       "spec: {applyToDestinations: [{kind: EXTERNAL}]}\n",
                   "spec.applyToDestinations[0].kind: unknown value \"EXTERNAL\" (allowed: "
                   "SERVICE, VIRTUAL_DESTINATION, EXTERNAL_SERVICE)",
                   NULL);
    assert_reports(
        WSS "metadata: {name: ws, namespace: gw}\n"
            "spec: {exportTo: [{resources: [{kind: EXTERNALSERVICE}]}]}\n",
        "spec.exportTo[0].resources[0].kind: unknown value \"EXTERNALSERVICE\" (allowed: "
        "ALL, ROUTE_TABLE, SERVICE, VIRTUAL_DESTINATION, EXTERNAL_SERVICE, API_DOC,",
        NULL);
    assert_reports(VG "metadata: {name: edge, namespace: gw}\n"
                      "spec: {listeners: [{port: {number: 80}, http: {}, appProtocol: HTTP3}]}\n",
                   "spec.listeners[0].appProtocol: unknown value \"HTTP3\" (allowed: GRPC,", NULL);
}

static void cross_field_rules(void **state)
{
    (void)state;
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {hosts: [a.com], http: [{name: r1}]}\n",
                   "RouteTable gw/rt: spec.http[0]: set exactly one of forwardTo, delegate, "
                   "redirect, directResponse and graphql (0 set)",
                   NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{forwardTo: {}, directResponse: {status: 200}}]}\n",
                   "spec.http[0]: set exactly one of", "(2 set)");
    assert_reports(RT "metadata: {name: rt, namespace: gw}\nspec: {hosts: [a.com]}\n",
                   "RouteTable gw/rt: spec: at least one of http, tcp and tls must be set", NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{forwardTo: {pathRewrite: /, regexRewrite: {pattern: {regex: "
                      "a}, substitution: b}}}]}\n",
                   "spec.http[0].forwardTo: pathRewrite and regexRewrite are mutually exclusive",
                   NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{matchers: [{uri: {prefix: /a, exact: /a}}], forwardTo: {}}]}"
                      "\n",
                   "spec.http[0].matchers[0].uri: set only one of exact, prefix and regex", NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {http: [{matchers: [{uri: {suffix: .jpg}}], forwardTo: {}}]}\n",
                   "spec.http[0].matchers[0].uri.suffix: not supported by Gloo; use regex", NULL);
    assert_reports(RT "metadata: {name: rt, namespace: gw}\n"
                      "spec: {tcp: [{forwardTo: {hostRewrite: a.com}}]}\n",
                   "spec.tcp[0].forwardTo: rewrites are only allowed on HTTP routes", NULL);
    assert_reports(VG "metadata: {name: edge, namespace: gw}\n"
                      "spec: {listeners: [{port: {number: 80}, http: {}, tcp: {}}]}\n",
                   "spec.listeners[0]: http and tcp are mutually exclusive", NULL);
    assert_reports(VG "metadata: {name: edge, namespace: gw}\n"
                      "spec: {listeners: [{port: {number: 80}, tcp: {}, httpsRedirect: true}]}\n",
                   "spec.listeners[0].httpsRedirect: only allowed on http listeners", NULL);
    assert_reports(ES "metadata: {name: db, namespace: data}\n"
                      "spec: {hosts: [db.x], ports: [{number: 80, targetPort: {number: 8080, "
                      "name: http}}]}\n",
                   "spec.ports[0].targetPort: set at most one of number and name", NULL);
    assert_reports(ES "metadata: {name: db, namespace: data}\n"
                      "spec: {hosts: [db.x], ports: [{name: a, number: 80}, {name: b, number: "
                      "80}]}\n",
                   "spec.ports[1].number: port number 80 is already listed in ports[0]", NULL);
    assert_reports(ES "metadata: {name: db, namespace: data}\n"
                      "spec: {hosts: [db.x], ports: [{name: a, number: 80}, {name: a, number: "
                      "81}]}\n",
                   "spec.ports[1].name: port name \"a\" is already listed in ports[0]", NULL);
    assert_reports(ES "metadata: {name: db, namespace: data}\n"
                      "spec: {hosts: [db.x], ports: [{number: 443, clientsideTls: {mode: "
                      "MUTUAL}}]}\n",
                   "spec.ports[0].clientsideTls: mode MUTUAL requires clientCertificate and "
                   "privateKey",
                   NULL);
    assert_reports(EE "metadata: {name: ep, namespace: data}\n"
                      "spec: {address: 10.0.0.1, ports: [{number: 80}, {number: 443}]}\n",
                   "spec.ports[0].name: required when more than one port is listed",
                   "spec.ports[1].name: required when more than one port is listed");
    assert_reports(FP "metadata: {name: fo, namespace: data}\n"
                      "spec: {config: {localityMappings: [{from: {region: a}, to: [{region: b, "
                      "weight: 60}, {region: c, weight: 30}]}]}}\n",
                   "spec.config.localityMappings[0].to: weights must total 100 (they total 90)",
                   NULL);
    /* A Workspace cluster entry with neither name nor selector matches every cluster (§8.1). */
    assert_reports(WS "metadata: {name: ws, namespace: gloo-mesh}\n"
                      "spec: {workloadClusters: [{namespaces: [{name: gw}]}, {name: c1}]}\n",
                   "spec.workloadClusters[1]: missing required field \"namespaces\"", NULL);
}

static void every_error_of_one_object_is_reported(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "many.yaml",
                  ES "metadata: {name: db, namespace: data}\n"
                     "spec:\n"
                     "  hostz: [db.example.com]\n"
                     "  addresses: [300.0.0.1]\n"
                     "  ports:\n"
                     "  - number: 70000\n"
                     "    protocol: TCPX\n"
                     "  - number: 80\n"
                     "    clientsideTls: {mode: MUTUAL}\n"
                     "---\n" ES "metadata: {name: after, namespace: data}\n"
                     "spec: {hosts: [after.example.com], ports: [{number: 1}]}\n");
    assert_int_equal(l.diags.errors, 5);
    assert_int_equal(cwt_count_lines(l.text, "error: ExternalService data/db: "), 5);
    assert_diag_line(l.text, "many.yaml:5:3: error: ExternalService data/db: spec.hostz: unknown "
                             "field \"hostz\" (did you mean \"hosts\"?)");
    assert_diag_line(l.text, "many.yaml:6:15: error: ExternalService data/db: spec.addresses[0]: "
                             "\"300.0.0.1\": not a valid IP address");
    assert_diag_line(l.text, "many.yaml:8:13: error: ExternalService data/db: "
                             "spec.ports[0].number: must be between 1 and 65535, got 70000");
    assert_diag_line(l.text, "many.yaml:9:15: error: ExternalService data/db: "
                             "spec.ports[0].protocol: unknown value \"TCPX\" (allowed: HTTP, "
                             "HTTPS, GRPC, HTTP2, MONGO, TCP, TLS)");
    assert_diag_line(l.text, "many.yaml:11:21: error: ExternalService data/db: "
                             "spec.ports[1].clientsideTls: mode MUTUAL requires "
                             "clientCertificate and privateKey");
    /* obj.error holds the first problem; the next document is unaffected. */
    assert_int_equal(l.cfg.objects.n, 2);
    assert_string_equal(l.cfg.objects.v[0]->error,
                        "spec.hostz: unknown field \"hostz\" (did you mean \"hosts\"?)");
    assert_null(l.cfg.objects.v[1]->error);
    cwt_load_free(&l);
}

static void wrong_or_missing_api_version(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml",
                  "apiVersion: networking.gloo.solo.io/v2alpha1\n"
                  "kind: RouteTable\n"
                  "metadata: {name: rt, namespace: gw}\n"
                  "spec: {http: [{directResponse: {status: 200}}]}\n"
                  "---\n"
                  "kind: OutlierDetectionPolicy\n"
                  "metadata: {name: od}\n"
                  "---\n"
                  "apiVersion: networking.gloo.solo.io/v2\n"
                  "kind: Workspace\n"
                  "metadata: {name: ws}\n");
    assert_string_equal(l.text, "t.yaml:1:13: error: RouteTable gw/rt: apiVersion: RouteTable "
                                "must have apiVersion networking.gloo.solo.io/v2, got "
                                "networking.gloo.solo.io/v2alpha1\n"
                                "t.yaml:6:1: error: OutlierDetectionPolicy default/od: apiVersion: "
                                "OutlierDetectionPolicy must have apiVersion "
                                "resilience.policy.gloo.solo.io/v2, got nothing\n"
                                "t.yaml:9:13: error: Workspace default/ws: apiVersion: Workspace "
                                "must have apiVersion admin.gloo.solo.io/v2, got "
                                "networking.gloo.solo.io/v2\n");
    /* Like kubectl, a resource of an unknown version is not stored at all. */
    assert_int_equal(l.cfg.objects.n, 0);
    cwt_load_free(&l);
}

static void documents_without_kind(void **state)
{
    (void)state;
    assert_diags("apiVersion: v1\nmetadata: {name: x}\n---\n- a\n- b\n---\nplain text\n",
                 "t.yaml:1:1: error: missing required field \"kind\"\n"
                 "t.yaml:4:3: error: a manifest must be a mapping with apiVersion, kind and "
                 "metadata\n"
                 "t.yaml:7:1: error: a manifest must be a mapping with apiVersion, kind and "
                 "metadata\n");
}

static void yaml_syntax_errors_have_positions(void **state)
{
    (void)state;
    /* The document before the error still loads; the error points at the bad token. */
    struct cwt_load l;
    cwt_load_yaml(&l, "broken.yaml",
                  ES "metadata: {name: ok, namespace: data}\n"
                     "spec: {hosts: [ok.x], ports: [{number: 1}]}\n"
                     "---\n" ES "metadata: {name: bad, namespace: data}\n"
                     "spec:\n"
                     "  hosts: [\"unterminated]\n");
    assert_diag_line(l.text, "broken.yaml:10:12: error: YAML syntax error: double-quoted scalar "
                             "without closing quote");
    assert_int_equal(l.diags.errors, 1);
    assert_int_equal(l.cfg.objects.n, 1);
    assert_string_equal(l.cfg.objects.v[0]->meta.name, "ok");
    cwt_load_free(&l);

    assert_diags("apiVersion: v1\nkind: X\nkind: Y\n",
                 "t.yaml:3:1: error: duplicate key \"kind\" (first at line 2, column 1)\n");
    /* A tab where indentation was meant. */
    assert_diags("apiVersion: v1\n\tkind: X\n",
                 "t.yaml:1:13: error: YAML syntax error: invalid multiline plain key\n");
}

static void duplicates_across_files(void **state)
{
    (void)state;
    char *dir = cwt_mkdtemp();
    const char *doc = ES "metadata: {name: db, namespace: data}\n"
                         "spec: {hosts: [db.example.com], ports: [{number: 1}]}\n";
    cwt_write_file(dir, "a.yaml", doc);
    cwt_write_file(dir, "b.yaml",
                   "# the same service, copied by mistake\n---\n" ES
                   "metadata: {name: db, namespace: data}\n"
                   "spec: {hosts: [db2.example.com], ports: [{number: 2}]}\n");
    /* Same name in another namespace, or another kind with the same name: not duplicates. */
    cwt_write_file(dir, "c.yaml",
                   ES "metadata: {name: db, namespace: other}\n"
                      "spec: {hosts: [db.example.com], ports: [{number: 1}]}\n"
                      "---\n" EE "metadata: {name: db, namespace: data}\n"
                      "spec: {address: 10.0.0.1}\n");
    struct cwt_load l;
    cwt_load_path(&l, dir);
    char expect[8192];
    snprintf(expect, sizeof(expect),
             "%s/b.yaml:3:1: error: ExternalService data/db: duplicate ExternalService data/db "
             "(first defined at %s/a.yaml:1)\n",
             dir, dir);
    assert_string_equal(l.text, expect);
    /* Both are kept in load order; the later one carries the error and loses. */
    assert_int_equal(l.cfg.objects.n, 4);
    assert_null(l.cfg.objects.v[0]->error);
    assert_non_null(l.cfg.objects.v[1]->error);
    assert_true(strstr(l.cfg.objects.v[1]->error, "duplicate ExternalService data/db") != NULL);
    cwt_load_free(&l);
    cwt_rm_rf(dir);
    free(dir);

    /* The namespace default applies before comparing: "db" and "default/db" collide. */
    assert_diags(ES "metadata: {name: db}\nspec: {hosts: [db.x], ports: [{number: 1}]}\n---\n" ES
                    "metadata: {name: db, namespace: default}\n"
                    "spec: {hosts: [db.x], ports: [{number: 1}]}\n",
                 "t.yaml:6:1: error: ExternalService default/db: duplicate ExternalService "
                 "default/db (first defined at t.yaml:1)\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_field_suggests_the_closest),
        cmocka_unit_test(one_problem_one_message),
        cmocka_unit_test(unknown_field_in_policy_selector_marks_the_object),
        cmocka_unit_test(unknown_top_level_field),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(missing_required_fields),
        cmocka_unit_test(metadata_problems),
        cmocka_unit_test(out_of_range_numbers),
        cmocka_unit_test(bad_durations),
        cmocka_unit_test(bad_addresses),
        cmocka_unit_test(bad_hostnames),
        cmocka_unit_test(enums_list_the_allowed_values),
        cmocka_unit_test(cross_field_rules),
        cmocka_unit_test(every_error_of_one_object_is_reported),
        cmocka_unit_test(wrong_or_missing_api_version),
        cmocka_unit_test(documents_without_kind),
        cmocka_unit_test(yaml_syntax_errors_have_positions),
        cmocka_unit_test(duplicates_across_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

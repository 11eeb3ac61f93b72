/*
 * Loading manifests (config/config.h): files, directories, multi-document YAML, kubectl's
 * `kind: List`, the metadata envelope, and kinds causeway does not serve.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define ES_HEADER "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\n"

/* A minimal valid ExternalService named <name>, as one YAML document. */
static char *external_service(const char *name)
{
    char *doc;
    int n = asprintf(&doc,
                     ES_HEADER "metadata: {name: %s, namespace: data}\n"
                               "spec:\n  hosts: [%s.example.com]\n  ports: [{number: 443}]\n",
                     name, name);
    assert_true(n > 0);
    return doc;
}

static const char *name_at(const struct cw_config *cfg, uint32_t i)
{
    assert_true(i < cfg->objects.n);
    return cfg->objects.v[i]->meta.name;
}

static void multi_document_stream(void **state)
{
    (void)state;
    struct cwt_load l;
    /* A leading "---", comments, an empty document and "..." are all ordinary YAML streams. */
    cwt_load_yaml(&l, "multi.yaml",
                  "# services of the data team\n"
                  "---\n" ES_HEADER "metadata: {name: one, namespace: data}\n"
                  "spec: {hosts: [one.example.com], ports: [{number: 1}]}\n"
                  "---\n"
                  "# nothing here\n"
                  "---\n" ES_HEADER "metadata: {name: two, namespace: data}\n"
                  "spec: {hosts: [two.example.com], ports: [{number: 2}]}\n"
                  "...\n"
                  "---\n" ES_HEADER "metadata: {name: three, namespace: data}\n"
                  "spec: {hosts: [three.example.com], ports: [{number: 3}]}\n");
    assert_string_equal(l.text, "");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg.files, 1);
    assert_int_equal(l.cfg.objects.n, 3);
    assert_int_equal(CW_CONFIG_COUNT(&l.cfg, EXTERNAL_SERVICE), 3);
    assert_string_equal(name_at(&l.cfg, 0), "one");
    assert_string_equal(name_at(&l.cfg, 1), "two");
    assert_string_equal(name_at(&l.cfg, 2), "three");
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(l.cfg.objects.v[i]->load_order, i);
    /* Each object remembers where its document starts, for statuses that point at it. */
    const struct cw_object *two = l.cfg.objects.v[1];
    assert_string_equal(two->file, "multi.yaml");
    assert_int_equal(two->line, 10);
    assert_int_equal(two->col, 1);
    cwt_load_free(&l);
}

/* What `kubectl get externalservices,externalendpoints -A -o yaml` prints. */
static const char kubectl_list[] =
    "apiVersion: v1\n"
    "items:\n"
    "- apiVersion: networking.gloo.solo.io/v2\n"
    "  kind: ExternalService\n"
    "  metadata:\n"
    "    annotations:\n"
    "      kubectl.kubernetes.io/last-applied-configuration: |\n"
    "        {\"apiVersion\":\"networking.gloo.solo.io/v2\",\"kind\":\"ExternalService\"}\n"
    "    creationTimestamp: \"2024-05-01T10:00:00Z\"\n"
    "    generation: 3\n"
    "    labels:\n"
    "      app: db\n"
    "    managedFields:\n"
    "    - apiVersion: networking.gloo.solo.io/v2\n"
    "      fieldsType: FieldsV1\n"
    "      fieldsV1:\n"
    "        f:spec:\n"
    "          .: {}\n"
    "          f:addresses: {}\n"
    "      manager: kubectl-client-side-apply\n"
    "      operation: Update\n"
    "      time: \"2024-05-01T10:00:00Z\"\n"
    "    name: db\n"
    "    namespace: data\n"
    "    resourceVersion: \"123456\"\n"
    "    uid: 4d1c2f4e-4a5b-4c6d-8e9f-0a1b2c3d4e5f\n"
    "  spec:\n"
    "    addresses:\n"
    "    - 10.0.0.1\n"
    "    ports:\n"
    "    - name: pg\n"
    "      number: 5432\n"
    "      protocol: TCP\n"
    "  status:\n"
    "    common:\n"
    "      state:\n"
    "        approval: ACCEPTED\n"
    "        observedGeneration: 3\n"
    "      workspaceConditions:\n"
    "        Accepted: 1\n"
    "    numSelectedExternalEndpoints: 1\n"
    "    ownedByWorkspace: ops\n"
    "- apiVersion: networking.gloo.solo.io/v2\n"
    "  kind: ExternalEndpoint\n"
    "  metadata:\n"
    "    creationTimestamp: \"2024-05-01T12:30:00+02:00\"\n"
    "    finalizers: [gloo.solo.io/cleanup]\n"
    "    labels: {app: db}\n"
    "    name: db-1\n"
    "    namespace: data\n"
    "    ownerReferences: []\n"
    "    resourceVersion: \"123457\"\n"
    "    uid: 5e2d3f5a-4a5b-4c6d-8e9f-0a1b2c3d4e5f\n"
    "  spec:\n"
    "    address: 10.0.0.2\n"
    "  status:\n"
    "    common: {state: {approval: ACCEPTED}}\n"
    "kind: List\n"
    "metadata:\n"
    "  resourceVersion: \"\"\n";

static void kubectl_list_with_status_and_server_fields(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "get.yaml", kubectl_list);
    /* uid, resourceVersion, managedFields, annotations, status: accepted without a word. */
    assert_string_equal(l.text, "");
    assert_int_equal(l.cfg.objects.n, 2);

    const struct cw_external_service *es =
        CW_CONFIG_GET(&l.cfg, EXTERNAL_SERVICE, cw_external_service, 0);
    assert_string_equal(es->obj.meta.name, "db");
    assert_string_equal(es->obj.meta.ns, "data");
    assert_int_equal(es->obj.meta.generation, 3);
    assert_int_equal(es->obj.meta.created, 1714557600); /* 2024-05-01T10:00:00Z */
    assert_int_equal(es->obj.meta.labels.n, 1);
    assert_string_equal(es->obj.meta.labels.v[0].key, "app");
    assert_string_equal(es->obj.meta.labels.v[0].value, "db");
    assert_int_equal(es->addresses.n, 1);
    assert_string_equal(es->addresses.v[0], "10.0.0.1");
    /* List items are positioned at their own "- apiVersion" line. */
    assert_int_equal(es->obj.line, 3);
    assert_int_equal(es->obj.col, 3);

    const struct cw_external_endpoint *ee =
        CW_CONFIG_GET(&l.cfg, EXTERNAL_ENDPOINT, cw_external_endpoint, 0);
    assert_string_equal(ee->obj.meta.name, "db-1");
    /* 12:30+02:00 is 10:30Z: offsets are applied, so creation order compares correctly. */
    assert_int_equal(ee->obj.meta.created, 1714557600 + 1800);
    assert_null(ee->obj.error);
    cwt_load_free(&l);
}

static void list_problems_name_the_item(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "list.yaml",
                  "apiVersion: v1\n"
                  "kind: List\n"
                  "items:\n"
                  "- just a string\n"
                  "- apiVersion: v1\n"
                  "  kind: ConfigMap\n"
                  "  metadata: {name: settings}\n");
    assert_diag_line(l.text, "list.yaml:4:3: error: items[0]: a manifest must be a mapping with "
                             "apiVersion, kind and metadata");
    assert_diag_line(l.text, "list.yaml:5:3: note: items[1]: skipping ConfigMap settings: "
                             "causeway does not serve this kind");
    assert_int_equal(l.cfg.skipped, 1);
    cwt_load_free(&l);

    cwt_load_yaml(&l, "list.yaml", "apiVersion: v1\nkind: List\nitems: {}\n");
    assert_diag_line(l.text, "list.yaml:1:1: error: List: items: a List must have an items "
                             "sequence");
    cwt_load_free(&l);
}

static void other_kinds_are_skipped_with_a_note(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "mixed.yaml",
                  "apiVersion: v1\n"
                  "kind: Namespace\n"
                  "metadata: {name: data}\n"
                  "---\n"
                  "apiVersion: networking.gloo.solo.io/v2\n"
                  "kind: VirtualDestination\n"
                  "metadata: {name: reviews, namespace: data}\n"
                  "spec: {hosts: [reviews.global]}\n"
                  "---\n" ES_HEADER "metadata: {name: kept, namespace: data}\n"
                  "spec: {hosts: [kept.example.com], ports: [{number: 80}]}\n");
    assert_string_equal(l.text,
                        "mixed.yaml:1:1: note: skipping Namespace data: causeway does not "
                        "serve this kind\n"
                        "mixed.yaml:5:1: note: skipping VirtualDestination reviews: causeway "
                        "does not serve this kind\n");
    /* Notes are not errors: the rest of the file loads. */
    assert_int_equal(l.diags.errors, 0);
    assert_int_equal(l.cfg.skipped, 2);
    assert_int_equal(l.cfg.objects.n, 1);
    assert_string_equal(name_at(&l.cfg, 0), "kept");
    cwt_load_free(&l);
}

static void namespace_defaults_like_kubectl(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "ns.yaml",
                  ES_HEADER "metadata:\n  name: db\nspec: {hosts: [db.x], ports: [{number: 1}]}\n");
    assert_no_errors(&l);
    const struct cw_object *obj = l.cfg.objects.v[0];
    assert_string_equal(obj->meta.ns, "default");
    /* Absent creationTimestamp sorts as the newest; absent generation is 1. */
    assert_true(obj->meta.created == INT64_MAX);
    assert_int_equal(obj->meta.generation, 1);
    assert_int_equal(obj->meta.labels.n, 0);
    cwt_load_free(&l);
}

static void creation_timestamps(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t expect;
    } cases[] = {
        {"\"2024-05-01T10:00:00Z\"", 1714557600},
        {"2024-05-01T10:00:00Z", 1714557600}, /* unquoted is still a string in YAML 1.2 */
        {"\"2024-05-01T10:00:00.123456Z\"", 1714557600},
        {"\"2024-05-01T08:00:00-02:00\"", 1714557600},
        {"\"2024-05-01T10:00:00+00:00\"", 1714557600},
        {"\"1970-01-01T00:00:00Z\"", 0},
        {"null", INT64_MAX}, /* `kubectl create --dry-run -o yaml` prints this */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *yaml;
        assert_true(asprintf(&yaml,
                             ES_HEADER "metadata: {name: db, creationTimestamp: %s}\n"
                                       "spec: {hosts: [db.x], ports: [{number: 1}]}\n",
                             cases[i].text) > 0);
        struct cwt_load l;
        cwt_load_yaml(&l, "ts.yaml", yaml);
        assert_no_errors(&l);
        if (l.cfg.objects.v[0]->meta.created != cases[i].expect)
            fail_msg("%s: got %lld", cases[i].text, (long long)l.cfg.objects.v[0]->meta.created);
        cwt_load_free(&l);
        free(yaml);
    }
}

static void bad_creation_timestamps(void **state)
{
    (void)state;
    static const char *const bad[] = {"yesterday",
                                      "2024-05-01",
                                      "2024-05-01T10:00:00",
                                      "2024-05-01T10:00:00+2:00",
                                      "2024-05-01T10:00:00+0200",
                                      "2024-05-01T10:00:00Zjunk"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *yaml;
        assert_true(asprintf(&yaml,
                             ES_HEADER "metadata: {name: db, creationTimestamp: \"%s\"}\n"
                                       "spec: {hosts: [db.x], ports: [{number: 1}]}\n",
                             bad[i]) > 0);
        struct cwt_load l;
        cwt_load_yaml(&l, "ts.yaml", yaml);
        if (l.diags.errors != 1)
            fail_msg("\"%s\" gave:\n%s", bad[i], l.text);
        assert_diag_contains(l.text, "ExternalService default/db: metadata.creationTimestamp: ");
        assert_diag_contains(l.text, "not an RFC 3339 timestamp");
        cwt_load_free(&l);
        free(yaml);
    }
}

static void loads_append_and_share_identities(void **state)
{
    (void)state;
    struct cw_config cfg;
    struct cw_diags diags;
    cw_config_init(&cfg);
    cw_diags_init(&diags);
    char *a = external_service("a"), *b = external_service("b");
    assert_int_equal(cw_config_load_buffer(&cfg, "a.yaml", a, strlen(a), &diags), 0);
    assert_int_equal(cw_config_load_buffer(&cfg, "b.yaml", b, strlen(b), &diags), 0);
    assert_int_equal(cfg.files, 2);
    assert_int_equal(cfg.objects.n, 2);
    assert_string_equal(cfg.objects.v[1]->file, "b.yaml");
    assert_int_equal(cfg.objects.v[1]->load_order, 1);
    /* The same object again in a third buffer is a duplicate of the first load. */
    assert_int_equal(cw_config_load_buffer(&cfg, "c.yaml", a, strlen(a), &diags), 0);
    char *text = cwt_diags_text(&diags);
    assert_diag_line(text, "c.yaml:1:1: error: ExternalService data/a: duplicate ExternalService "
                           "data/a (first defined at a.yaml:1)");
    free(text);
    free(a);
    free(b);
    cw_diags_deinit(&diags);
    cw_config_deinit(&cfg);
}

static void buffer_length_is_respected(void **state)
{
    (void)state;
    /* Only <len> bytes are YAML: what follows (here a second document) is not read. */
    char *one = external_service("one");
    char *text;
    assert_true(asprintf(&text, "%s---\n%s", one, "garbage: [") > 0);
    struct cw_config cfg;
    struct cw_diags diags;
    cw_config_init(&cfg);
    cw_diags_init(&diags);
    assert_int_equal(cw_config_load_buffer(&cfg, "part.yaml", text, strlen(one), &diags), 0);
    assert_int_equal(diags.items.n, 0);
    assert_int_equal(cfg.objects.n, 1);
    cw_diags_deinit(&diags);
    cw_config_deinit(&cfg);
    free(text);
    free(one);
}

/* ---- files and directories ---- */

static void directory_is_recursive_sorted_and_filtered(void **state)
{
    (void)state;
    char *dir = cwt_mkdtemp();
    char *a = external_service("a"), *b = external_service("b"), *c = external_service("c"),
         *d = external_service("d"), *e = external_service("e");
    cwt_write_file(dir, "b.yaml", b);
    cwt_write_file(dir, "a.yml", a);
    cwt_write_file(dir, "sub/c.yaml", c); /* "sub" sorts after "b.yaml" */
    cwt_write_file(dir, "sub/deeper/d.yaml", d);
    cwt_write_file(dir, "0-first/e.YAML", e); /* extension match is exact: skipped */
    cwt_write_file(dir, "README.md", "# not yaml: [");
    cwt_write_file(dir, "notes.yaml.bak", "garbage: [");
    cwt_write_file(dir, "x.json", "{");
    cwt_write_file(dir, ".git/config.yaml", "garbage: ["); /* hidden folders are skipped */
    cwt_write_file(dir, ".hidden.yaml", "garbage: [");     /* and hidden files */

    struct cwt_load l;
    cwt_load_path(&l, dir);
    assert_string_equal(l.text, "");
    assert_int_equal(l.rc, 0);
    assert_int_equal(l.cfg.files, 4);
    assert_int_equal(l.cfg.objects.n, 4);
    assert_string_equal(name_at(&l.cfg, 0), "a");
    assert_string_equal(name_at(&l.cfg, 1), "b");
    assert_string_equal(name_at(&l.cfg, 2), "c");
    assert_string_equal(name_at(&l.cfg, 3), "d");
    /* Diagnostics and statuses name the file as found below the given directory. */
    char expect[4200];
    snprintf(expect, sizeof(expect), "%s/sub/deeper/d.yaml", dir);
    assert_string_equal(l.cfg.objects.v[3]->file, expect);
    cwt_load_free(&l);

    cwt_rm_rf(dir);
    free(dir);
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

static void single_file_path(void **state)
{
    (void)state;
    char *dir = cwt_mkdtemp();
    char *a = external_service("a");
    /* A file named explicitly is read whatever its extension. */
    cwt_write_file(dir, "manifest.txt", a);
    char path[4200];
    snprintf(path, sizeof(path), "%s/manifest.txt", dir);
    struct cwt_load l;
    cwt_load_path(&l, path);
    assert_string_equal(l.text, "");
    assert_int_equal(l.cfg.objects.n, 1);
    assert_string_equal(l.cfg.objects.v[0]->file, path);
    cwt_load_free(&l);
    cwt_rm_rf(dir);
    free(dir);
    free(a);
}

static void missing_path(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_path(&l, "/nonexistent/causeway/manifests");
    assert_int_equal(l.rc, -1);
    assert_string_equal(l.text, "/nonexistent/causeway/manifests: error: cannot read: No such "
                                "file or directory\n");
    assert_int_equal(l.cfg.objects.n, 0);
    cwt_load_free(&l);
}

static void syntax_error_in_one_file_keeps_the_others(void **state)
{
    (void)state;
    char *dir = cwt_mkdtemp();
    char *a = external_service("a"), *c = external_service("c");
    cwt_write_file(dir, "a.yaml", a);
    cwt_write_file(dir, "b.yaml", "apiVersion: v1\nkind: [unclosed\n");
    cwt_write_file(dir, "c.yaml", c);
    struct cwt_load l;
    cwt_load_path(&l, dir);
    assert_int_equal(l.diags.errors, 1);
    assert_diag_contains(l.text, "/b.yaml:");
    assert_diag_contains(l.text, "error: YAML syntax error: ");
    assert_int_equal(l.cfg.objects.n, 2);
    assert_int_equal(l.cfg.files, 3);
    cwt_load_free(&l);
    cwt_rm_rf(dir);
    free(dir);
    free(a);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(multi_document_stream),
        cmocka_unit_test(kubectl_list_with_status_and_server_fields),
        cmocka_unit_test(list_problems_name_the_item),
        cmocka_unit_test(other_kinds_are_skipped_with_a_note),
        cmocka_unit_test(namespace_defaults_like_kubectl),
        cmocka_unit_test(creation_timestamps),
        cmocka_unit_test(bad_creation_timestamps),
        cmocka_unit_test(loads_append_and_share_identities),
        cmocka_unit_test(buffer_length_is_respected),
        cmocka_unit_test(directory_is_recursive_sorted_and_filtered),
        cmocka_unit_test(single_file_path),
        cmocka_unit_test(missing_path),
        cmocka_unit_test(syntax_error_in_one_file_keeps_the_others),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

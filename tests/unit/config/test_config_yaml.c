/*
 * YAML as anyone who can edit a ConfigMap may write it (config/config.h "Limits"): aliases and
 * merge keys keep working as kubectl reads them, while an alias bomb, a huge mapping, a file too
 * large or a file that is not a file are refused quickly, with a position or a reason, and never
 * take more than a little memory. Each refused document is skipped; the others still load.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "support.h"

#define ES "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\n"
/* The same two lines as a List item. */
#define ITEM "- apiVersion: networking.gloo.solo.io/v2\n  kind: ExternalService\n"
#define GOOD                                                                                       \
    ES "metadata: {name: good, namespace: data}\n"                                                 \
       "spec: {hosts: [good.example.com], ports: [{number: 443}]}\n"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct cw_external_service *es_named(const struct cw_config *cfg, const char *name)
{
    for (uint32_t i = 0; i < CW_CONFIG_COUNT(cfg, EXTERNAL_SERVICE); i++) {
        const struct cw_external_service *es =
            CW_CONFIG_GET(cfg, EXTERNAL_SERVICE, cw_external_service, i);
        if (strcmp(es->obj.meta.name, name) == 0)
            return es;
    }
    fail_msg("no ExternalService %s loaded", name);
    return NULL;
}

static const char *label(const struct cw_meta *meta, const char *key)
{
    for (uint32_t i = 0; i < meta->labels.n; i++)
        if (strcmp(meta->labels.v[i].key, key) == 0)
            return meta->labels.v[i].value;
    return NULL;
}

/* Asserts that of <l>'s documents only GOOD loaded (the others were refused); frees <l>. */
static void only_good_loaded(struct cwt_load *l)
{
    assert_int_equal(l->cfg.objects.n, 1);
    assert_string_equal(l->cfg.objects.v[0]->meta.name, "good");
    cwt_load_free(l);
}

/* A growing malloc'd string for generated documents. */
struct text {
    char *s;
    size_t len, cap;
};

static void add(struct text *t, const char *piece)
{
    size_t n = strlen(piece);
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        assert_non_null(t->s);
    }
    memcpy(t->s + t->len, piece, n + 1);
    t->len += n;
}

/* ---- aliases and merge keys still mean what kubectl makes of them ---- */

static void aliases_and_merge_keys_work(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "list.yaml",
                  "apiVersion: v1\n"
                  "kind: List\n"
                  "items:\n" ITEM "  metadata: &meta\n"
                  "    name: a\n"
                  "    namespace: data\n"
                  "    labels: &common {team: db, tier: gold}\n"
                  "  spec: &spec\n"
                  "    hosts: [a.example.com]\n"
                  "    ports: [&https {name: https, number: 443, protocol: HTTPS}]\n" ITEM
                  "  metadata:\n"
                  "    <<: *meta\n"
                  "    name: b\n" /* an explicit key beats the merged one, after or before */
                  "    labels: &more {tier: silver, <<: *common, zone: z1}\n"
                  "  spec:\n"
                  "    hosts: [b.example.com]\n"
                  "    <<: *spec\n" ITEM "  metadata:\n"
                  "    <<: [*meta, {namespace: other}]\n" /* the first source wins */
                  "    name: c\n"
                  "    labels: {<<: *more}\n" /* a merge of a mapping that merges */
                  "  spec: *spec\n");
    assert_string_equal(l.text, "");
    assert_int_equal(CW_CONFIG_COUNT(&l.cfg, EXTERNAL_SERVICE), 3);

    const struct cw_external_service *b = es_named(&l.cfg, "b");
    assert_string_equal(b->obj.meta.ns, "data");
    assert_int_equal(b->obj.meta.labels.n, 3);
    assert_string_equal(label(&b->obj.meta, "team"), "db");
    assert_string_equal(label(&b->obj.meta, "tier"), "silver");
    assert_string_equal(label(&b->obj.meta, "zone"), "z1");
    assert_int_equal(b->hosts.n, 1);
    assert_string_equal(b->hosts.v[0], "b.example.com");
    assert_int_equal(b->ports.n, 1);
    assert_int_equal(b->ports.v[0].number, 443);
    assert_int_equal(b->ports.v[0].protocol, CW_PROTO_HTTPS);

    const struct cw_external_service *c = es_named(&l.cfg, "c");
    assert_string_equal(c->obj.meta.ns, "data");
    assert_int_equal(c->obj.meta.labels.n, 3);
    assert_string_equal(label(&c->obj.meta, "tier"), "silver");
    assert_string_equal(c->hosts.v[0], "a.example.com");
    assert_string_equal(c->ports.v[0].name, "https");
    cwt_load_free(&l);
}

static void alias_errors_have_positions(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml",
                  ES "metadata: {name: x, namespace: data, labels: *nope}\n"
                     "spec: {hosts: [x.example.com], ports: [{number: 1}]}\n"
                     "---\n" ES "metadata:\n"
                     "  name: y\n"
                     "  annotations: &loop {self: [*loop]}\n"
                     "spec: {hosts: [y.example.com], ports: [{number: 1}]}\n"
                     "---\n" ES "metadata: {name: z, <<: just-a-string}\n"
                     "spec: {hosts: [z.example.com], ports: [{number: 1}]}\n"
                     "---\n" GOOD);
    assert_string_equal(l.text,
                        "t.yaml:3:46: error: YAML alias *nope has no anchor &nope before it "
                        "in this document\n"
                        "t.yaml:10:30: error: YAML alias *loop is inside the node it refers to "
                        "(a recursive structure)\n"
                        "t.yaml:15:25: error: merge key \"<<\" takes a mapping or a list of "
                        "mappings, got a scalar\n");
    /* Anchors belong to their document: only the last one loads. */
    only_good_loaded(&l);
}

/* ---- alias expansion is bounded ---- */

/* ~600 bytes that expand to a billion nodes. */
static const char bomb[] = ES "metadata:\n"
                              "  name: bomb\n"
                              "  namespace: data\n"
                              "  annotations:\n"
                              "    a0: &a0 lol\n"
                              "    a1: &a1 [*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0,*a0]\n"
                              "    a2: &a2 [*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1,*a1]\n"
                              "    a3: &a3 [*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2,*a2]\n"
                              "    a4: &a4 [*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3,*a3]\n"
                              "    a5: &a5 [*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4,*a4]\n"
                              "    a6: &a6 [*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5,*a5]\n"
                              "    a7: &a7 [*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6,*a6]\n"
                              "    a8: &a8 [*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7,*a7]\n"
                              "spec: {hosts: [bomb.example.com], ports: [{number: 1}]}\n"
                              "---\n" GOOD;

static void alias_bomb_is_refused_quickly_and_small(void **state)
{
    (void)state;
    /* Without a bound the bomb needs gigabytes: cap the address space so that a regression
     * fails here instead of taking the machine down. ASan (make test-sanitize) maps terabytes
     * for its shadow memory and cannot run under the cap; the time bound still holds there. */
    struct rlimit saved;
    getrlimit(RLIMIT_AS, &saved);
#ifndef __SANITIZE_ADDRESS__
    struct rlimit cap = saved;
    cap.rlim_cur = 512ul << 20;
    setrlimit(RLIMIT_AS, &cap);
#endif
    double t0 = now_s();
    struct cwt_load l;
    cwt_load_yaml(&l, "bomb.yaml", bomb);
    double took = now_s() - t0;
    setrlimit(RLIMIT_AS, &saved);

    /* 10 + 110 + 1110 + 11110 nodes from a1..a4, then a5's eighth alias of 11111 passes 100000. */
    assert_string_equal(l.text, "bomb.yaml:12:42: error: YAML aliases would expand this document "
                                "by 101228 nodes at *a4, over the limit of 100000 (aliases may "
                                "add 100000 nodes, or as many as the document has of its own "
                                "when that is more)\n");
    assert_true(took < 1.0);
    only_good_loaded(&l);
}

/* An ExternalService whose annotations hold <n> aliases of an 11-node list, after <own> more
 * nodes of its own (a list of <own> - 1 zeros). */
static char *aliases_document(int n, int own)
{
    struct text t = {0};
    add(&t, ES "metadata:\n  name: many\n  namespace: data\n  annotations:\n"
               "    ten: &ten [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n    own: [");
    for (int i = 0; i < own - 1; i++)
        add(&t, i ? ",0" : "0");
    add(&t, "]\n    uses: [");
    for (int i = 0; i < n; i++)
        add(&t, i ? ",*ten" : "*ten");
    add(&t, "]\nspec: {hosts: [many.example.com], ports: [{number: 1}]}\n");
    return t.s;
}

/* Loads generated <doc> (then frees it): its diagnostics hold <diag> ("" for none at all). */
static void assert_generated(char *doc, const char *diag, uint32_t objects)
{
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml", doc);
    if (*diag)
        assert_diag_contains(l.text, diag);
    else
        assert_string_equal(l.text, "");
    assert_int_equal(l.cfg.objects.n, objects);
    cwt_load_free(&l);
    free(doc);
}

static void alias_limit_is_exact_and_grows_with_the_document(void **state)
{
    (void)state;
    /* 9090 x 11 = 99990 nodes from aliases: within the limit. */
    assert_generated(aliases_document(9090, 1), "", 1);
    /* One more alias passes 100000; the error points at it (column 12 + 5 x 9090). */
    assert_generated(aliases_document(9091, 1),
                     "t.yaml:9:45462: error: YAML aliases would expand this document by 100001 "
                     "nodes at *ten, over the limit of 100000 ",
                     0);
    /* A large document may use as many nodes from aliases as it has of its own so far. */
    assert_generated(aliases_document(12000, 150000), "", 1);
    assert_generated(aliases_document(12000, 100000),
                     "error: YAML aliases would expand this document by 110033 nodes", 0);
}

static void alias_nesting_depth_is_bounded(void **state)
{
    (void)state;
    /* Each anchor nests the previous one ten levels deeper: d5 takes the document to 64 levels,
     * d6 (whose *d5 starts at level 14) to 74. */
    struct text t = {0};
    add(&t, ES "metadata:\n  name: deep\n  namespace: data\n  annotations:\n");
    for (int level = 0; level < 7; level++) {
        char line[128];
        snprintf(line, sizeof(line), "    d%d: &d%d [[[[[[[[[[", level, level);
        add(&t, line);
        if (level)
            snprintf(line, sizeof(line), "*d%d]]]]]]]]]]\n", level - 1);
        else
            snprintf(line, sizeof(line), "x]]]]]]]]]]\n");
        add(&t, line);
    }
    add(&t, "spec: {hosts: [deep.example.com], ports: [{number: 1}]}\n---\n" GOOD);
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml", t.s);
    assert_string_equal(l.text, "t.yaml:13:23: error: YAML alias *d5 nests this document 74 "
                                "levels deep, more than the limit of 64\n");
    only_good_loaded(&l);
    free(t.s);
}

/* An ExternalService whose annotation "a" nests <n> flow sequences (levels 4 to n + 3), then GOOD.
 */
static char *nested_document(int n)
{
    struct text t = {0};
    add(&t, ES "metadata:\n  name: deep\n  namespace: data\n  annotations:\n    a: ");
    for (int i = 0; i < n; i++)
        add(&t, "[");
    add(&t, "x");
    for (int i = 0; i < n; i++)
        add(&t, "]");
    add(&t, "\nspec: {hosts: [deep.example.com], ports: [{number: 1}]}\n---\n" GOOD);
    return t.s;
}

/* Nesting as written: libfyaml's event parser does not bound it (its document builder did). */
static void nesting_as_written_is_bounded(void **state)
{
    (void)state;
    char *doc = nested_document(61); /* the last list is level 64: what it holds would be 65 */
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml", doc);
    assert_string_equal(l.text,
                        "t.yaml:7:68: error: YAML nesting over the limit of 64 levels (what "
                        "this collection holds would be at level 65): the rest of the file "
                        "is not read\n");
    assert_int_equal(l.cfg.objects.n, 0);
    cwt_load_free(&l);
    free(doc);
    doc = nested_document(60); /* one level less loads, and so does what follows it */
    cwt_load_yaml(&l, "t.yaml", doc);
    assert_string_equal(l.text, "");
    assert_int_equal(l.cfg.objects.n, 2);
    cwt_load_free(&l);
    free(doc);
}

/* ---- duplicate keys: found in linear time, reported with both positions ---- */

/* An ExternalService with <n> labels k0..k<n-1>, then the label <extra> when not NULL. */
static char *labels_document(int n, const char *extra)
{
    struct text t = {0};
    add(&t, ES "metadata:\n  name: wide\n  namespace: data\n  labels:\n");
    char line[64];
    for (int i = 0; i < n; i++) {
        snprintf(line, sizeof(line), "    k%d: v\n", i);
        add(&t, line);
    }
    if (extra) {
        snprintf(line, sizeof(line), "    %s: again\n", extra);
        add(&t, line);
    }
    add(&t, "spec: {hosts: [wide.example.com], ports: [{number: 1}]}\n");
    return t.s;
}

static void a_mapping_of_20000_keys_loads_in_linear_time(void **state)
{
    (void)state;
    char *doc = labels_document(20000, NULL);
    double t0 = now_s();
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml", doc);
    double took = now_s() - t0;
    assert_string_equal(l.text, "");
    assert_int_equal(l.cfg.objects.n, 1);
    assert_int_equal(l.cfg.objects.v[0]->meta.labels.n, 20000);
    cwt_load_free(&l);
    free(doc);
    assert_true(took < 1.0);

    doc = labels_document(20000, "k12345");
    t0 = now_s();
    cwt_load_yaml(&l, "t.yaml", doc);
    took = now_s() - t0;
    assert_string_equal(l.text, "t.yaml:20007:5: error: duplicate key \"k12345\" (first at "
                                "line 12352, column 5)\n");
    assert_int_equal(l.cfg.objects.n, 0);
    cwt_load_free(&l);
    free(doc);
    assert_true(took < 1.0);
}

static void duplicate_keys_skip_only_their_document(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "t.yaml",
                  ES "metadata: {name: x, namespace: data, name: y}\n"
                     "spec: {hosts: [x.example.com], ports: [{number: 1}]}\n"
                     /* Quoted or not, the same key; positions are the text's, as elsewhere. */
                     "---\n" ES "metadata: {name: z, labels: {'a': 1, \"a\": 2}}\n"
                     "spec: {hosts: [z.example.com], ports: [{number: 1}]}\n"
                     "---\n" GOOD);
    assert_string_equal(l.text, "t.yaml:3:38: error: duplicate key \"name\" (first at line 3, "
                                "column 12)\n"
                                "t.yaml:8:39: error: duplicate key \"a\" (first at line 8, "
                                "column 31)\n");
    only_good_loaded(&l);
}

/* ---- files: a size limit, and only regular files ---- */

/* Loads <dir>, which holds GOOD and <path>: <path> alone is refused, for <why>. */
static void assert_file_refused(const char *dir, const char *path, const char *why)
{
    struct cwt_load l;
    cwt_load_path(&l, dir);
    char expect[1024];
    snprintf(expect, sizeof(expect), "%s: error: %s\n", path, why);
    assert_string_equal(l.text, expect);
    assert_int_equal(l.rc, -1);
    assert_int_equal(l.cfg.objects.n, 1);
    cwt_load_free(&l);
}

static void a_file_over_the_size_limit_is_refused(void **state)
{
    (void)state;
    char *dir = cwt_mkdtemp();
    char path[512];
    snprintf(path, sizeof(path), "%s/huge.yaml", dir);
    /* Comment lines, one byte too many: valid YAML, refused for its size alone. */
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < CW_CONFIG_MAX_FILE_BYTES; i++)
        fputc(i % 100 == 0 ? '#' : i % 100 == 99 ? '\n' : 'x', f);
    fputc('\n', f);
    fclose(f);
    cwt_write_file(dir, "ok.yaml", GOOD);
    assert_file_refused(dir, path,
                        "file is 16777217 bytes, more than the limit of 16777216 bytes (16 MiB) "
                        "for one manifest file");
    cwt_rm_rf(dir);
    free(dir);

    /* A buffer (stdin) has the same limit. */
    char *big = malloc(CW_CONFIG_MAX_FILE_BYTES + 2);
    assert_non_null(big);
    memset(big, '\n', CW_CONFIG_MAX_FILE_BYTES + 1);
    big[CW_CONFIG_MAX_FILE_BYTES + 1] = '\0';
    struct cwt_load l;
    cwt_load_yaml(&l, "-", big);
    assert_int_equal(l.rc, -1);
    assert_diag_contains(l.text, "-: error: file is 16777217 bytes, more than the limit");
    cwt_load_free(&l);
    free(big);
}

static void a_fifo_is_refused_without_waiting_for_a_writer(void **state)
{
    (void)state;
    char *dir = cwt_mkdtemp();
    char path[512];
    snprintf(path, sizeof(path), "%s/pipe.yaml", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    cwt_write_file(dir, "ok.yaml", GOOD);
    alarm(5); /* opening a FIFO for reading blocks until a writer comes: fail, do not hang */
    assert_file_refused(dir, path, "not a regular file");
    alarm(0);
    cwt_rm_rf(dir);
    free(dir);
}

/* libfyaml never returns on some bytes that are not UTF-8 ("%\x88\n" hung validate and would
 * hang a reload): such a file is refused with the position of the first bad byte. */
static void text_that_is_not_utf8_is_refused_with_its_position(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "bad.yaml", "%\x88\n");
    assert_string_equal(l.text, "bad.yaml:1:2: error: not UTF-8 text: byte 0x88 cannot start or "
                                "continue a character here\n");
    cwt_load_free(&l);
    cwt_load_yaml(&l, "bad.yaml", "# caf\xc3\xa9\nmetadata: {name: \xed\xa0\x80}\n");
    assert_string_equal(l.text, "bad.yaml:2:18: error: not UTF-8 text: byte 0xed cannot start or "
                                "continue a character here\n");
    cwt_load_free(&l);
}

/* Loads <len> bytes (they may hold a NUL) and returns the diagnostics' text; free it. */
static char *diags_of(const char *text, size_t len)
{
    struct cw_config cfg;
    struct cw_diags diags;
    cw_config_init(&cfg);
    cw_diags_init(&diags);
    cw_config_load_buffer(&cfg, "bad.yaml", text, len, &diags);
    char *out = cwt_diags_text(&diags);
    assert_int_equal(cfg.objects.n, 0);
    cw_diags_deinit(&diags);
    cw_config_deinit(&cfg);
    return out;
}

/* YAML is printable text (YAML 1.2 §5.1, as kubectl reads it): control characters are refused
 * before libfyaml reads anything. "? 2:\t\0" made libfyaml 0.7.12 crash (fuzz_yaml). */
static void control_characters_are_refused_with_their_position(void **state)
{
    (void)state;
    char *text = diags_of("? 2:\t\0", 6);
    assert_string_equal(text, "bad.yaml:1:6: error: not YAML text: the character U+0000 is not "
                              "allowed (YAML is printable characters, tab, line feed and carriage "
                              "return)\n");
    free(text);
    text = diags_of("a: caf\xc3\xa9\nb: \x1b[0m\n", 16);
    assert_true(cwt_has_line(text,
                             "bad.yaml:2:4: error: not YAML text: the character U+001B is not "
                             "allowed (YAML is printable characters, tab, line feed and "
                             "carriage return)"));
    free(text);
    text = diags_of("a: \xc2\x85 \xc2\x9b\n", 9); /* NEL is allowed, CSI (U+009B) is not */
    assert_true(cwt_contains(text, "bad.yaml:1:6: error: not YAML text: the character U+009B"));
    free(text);
}

/* Found by fuzz_yaml: an empty collection read before any other node (UBSan, test-sanitize). */
static void empty_collections_are_documents_like_any_other(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "empty.yaml", "{}\n---\n[]\n---\n" GOOD);
    assert_string_equal(l.text,
                        "empty.yaml:1:1: error: missing required field \"kind\"\n"
                        "empty.yaml:1:1: error: a manifest must be a mapping with apiVersion, kind "
                        "and metadata\n");
    only_good_loaded(&l);
}

/* Found by fuzz_yaml: libfyaml 0.7.12 crashed destroying its parser after these (a complex key,
 * ':' and a tab): the loader refuses them with their position, and a thousand of them in a row
 * (a reload loop of a bad file) neither crash nor grow without bound. */
static void a_file_that_crashed_libfyaml_is_refused_with_its_position(void **state)
{
    (void)state;
    static const char *const crashers[] = {"? 4:\t-",        "? 4:\t- x\n",   "? a: b\n? 4:\t-",
                                           "- ? 4:\t-",      "- - ? 4:\t-",    "a:\n  ? 4:\t-"};
    for (size_t i = 0; i < sizeof(crashers) / sizeof(crashers[0]); i++) {
        char *text = diags_of(crashers[i], strlen(crashers[i]));
        assert_true(cwt_contains(text, "bad.yaml:"));
        /* refused before libfyaml parses it, not parked after its error */
        assert_true(cwt_contains(text, "explicit-key"));
        free(text);
    }
    for (int i = 0; i < 1000; i++)
        free(diags_of(crashers[0], strlen(crashers[0])));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_file_that_crashed_libfyaml_is_refused_with_its_position),
        cmocka_unit_test(aliases_and_merge_keys_work),
        cmocka_unit_test(alias_errors_have_positions),
        cmocka_unit_test(alias_bomb_is_refused_quickly_and_small),
        cmocka_unit_test(alias_limit_is_exact_and_grows_with_the_document),
        cmocka_unit_test(alias_nesting_depth_is_bounded),
        cmocka_unit_test(nesting_as_written_is_bounded),
        cmocka_unit_test(a_mapping_of_20000_keys_loads_in_linear_time),
        cmocka_unit_test(duplicate_keys_skip_only_their_document),
        cmocka_unit_test(a_file_over_the_size_limit_is_refused),
        cmocka_unit_test(a_fifo_is_refused_without_waiting_for_a_writer),
        cmocka_unit_test(text_that_is_not_utf8_is_refused_with_its_position),
        cmocka_unit_test(empty_collections_are_documents_like_any_other),
        cmocka_unit_test(control_characters_are_refused_with_their_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

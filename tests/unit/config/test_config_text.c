/*
 * The text of a scalar as YAML defines it, whatever its style: plain, quoted with escapes, folded
 * over lines, block literal or folded. Keys and values alike, since both reach the decoder. And
 * reading a key that needs unescaping, done again on every reload, must not cost memory each time
 * (libfyaml 0.7.12 loses the text of such a key when asked for it: see fuzz/README.md).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "support.h"

#define ES "apiVersion: networking.gloo.solo.io/v2\nkind: ExternalService\n"

/* Loads one ExternalService whose metadata is <meta> (YAML lines indented by two) and returns
 * the value of its label "k"; the load must have no diagnostics. */
static char *label_k(const char *meta)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             ES "metadata:\n  name: svc\n%s"
                "spec: {hosts: [svc.example.com], ports: [{number: 443}]}\n",
             meta);
    struct cwt_load l;
    cwt_load_yaml(&l, "text.yaml", yaml);
    if (l.text[0])
        fail_msg("unexpected diagnostics for\n%s\n%s", yaml, l.text);
    assert_int_equal(l.cfg.objects.n, 1);
    const struct cw_meta *m = &l.cfg.objects.v[0]->meta;
    char *value = NULL;
    for (uint32_t i = 0; i < m->labels.n; i++)
        if (strcmp(m->labels.v[i].key, "k") == 0)
            value = strdup(m->labels.v[i].value);
    cwt_load_free(&l);
    if (!value)
        fail_msg("no label k in\n%s", yaml);
    return value;
}

static void assert_label(const char *meta, const char *want)
{
    char *got = label_k(meta);
    if (strcmp(got, want) != 0)
        fail_msg("label k of\n%s\nis \"%s\", expected \"%s\"", meta, got, want);
    free(got);
}

/* Positions and text are right after a byte order mark too. */
static void a_byte_order_mark_moves_nothing(void **state)
{
    (void)state;
    struct cwt_load l;
    cwt_load_yaml(&l, "bom.yaml",
                  "\xef\xbb\xbf" ES "metadata: {name: svc, labels: {k: v}}\n"
                  "spec: {hosts: [svc.example.com], ports: [{number: 70000}]}\n");
    assert_string_equal(l.text, "bom.yaml:4:51: error: ExternalService default/svc: "
                                "spec.ports[0].number: must be between 1 and 65535, got 70000\n");
    assert_string_equal(l.cfg.objects.v[0]->meta.labels.v[0].value, "v");
    cwt_load_free(&l);
}

static void every_scalar_style_gives_its_yaml_text(void **state)
{
    (void)state;
    assert_label("  labels: {k: plain}\n", "plain");
    assert_label("  labels: {k: plain with spaces  }\n", "plain with spaces");
    assert_label("  labels:\n    k: plain # a comment\n", "plain");
    assert_label("  labels:\n    k: two\n      lines\n", "two lines");
    assert_label("  labels: {k: 'single ''quoted'''}\n", "single 'quoted'");
    assert_label("  labels: {k: ''}\n", "");
    assert_label("  labels: {k: 'a''''b'}\n", "a''b"); /* libfyaml 0.7.12 made it a'''b */
    assert_label("  labels: {k: ' one\n      two ''2''  \n\n\n      three '}\n",
                 " one two '2'\n\nthree ");
    assert_label("  labels: {k: \"double \\\"quoted\\\" \\t\\u00e9\"}\n",
                 "double \"quoted\" \t\xc3\xa9");
    assert_label("  labels: {k: \"folded\n      over  \n\n      lines\"}\n", "folded over\nlines");
    assert_label("  labels:\n    k: |\n      literal\n       kept\n", "literal\n kept\n");
    assert_label("  labels:\n    k: >-\n      folded\n      block\n", "folded block");
    assert_label("  labels: {'k': quoted key}\n", "quoted key");
    assert_label("  labels: {\"\\x6b\": escaped key}\n", "escaped key");
    assert_label("  labels: {k: caf\xc3\xa9}\n", "caf\xc3\xa9");
}

/* A key of forty escaped quotes: libfyaml builds its text in pieces, more than fit its stack. */
static char *escaped_key_document(void)
{
    char key[128] = "'";
    for (int i = 0; i < 40; i++)
        strcat(key, "''");
    strcat(key, "'");
    char *yaml = malloc(4096);
    snprintf(yaml, 4096,
             ES "metadata:\n  name: svc\n  labels:\n    %s: v\n"
                "spec: {hosts: [svc.example.com], ports: [{number: 443}]}\n%s: v\n",
             key, key);
    return yaml;
}

static void an_escaped_key_is_read_without_losing_memory(void **state)
{
    (void)state;
    char *yaml = escaped_key_document();
    struct cwt_load l;
    cwt_load_yaml(&l, "keys.yaml", yaml); /* warm-up: the allocator's own first blocks */
    assert_true(cwt_contains(l.text, "unknown field \"''''''''''''''''''''''''''''''''''''''''\""));
    assert_int_equal(l.cfg.objects.v[0]->meta.labels.n, 1);
    assert_int_equal(strlen(l.cfg.objects.v[0]->meta.labels.v[0].key), 40);
    cwt_load_free(&l);
    /* 200 reloads lost 1.6 MB before (two such keys, 4 KiB each). Under AddressSanitizer,
     * which keeps its own books, mallinfo2 says nothing and LeakSanitizer reports the loss. */
    size_t before = mallinfo2().uordblks;
    for (int i = 0; i < 200; i++) {
        cwt_load_yaml(&l, "keys.yaml", yaml);
        cwt_load_free(&l);
    }
    size_t after = mallinfo2().uordblks;
    if (after > before + 64 * 1024)
        fail_msg("200 loads kept %zu bytes more allocated than before", after - before);
    free(yaml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_scalar_style_gives_its_yaml_text),
        cmocka_unit_test(a_byte_order_mark_moves_nothing),
        cmocka_unit_test(an_escaped_key_is_read_without_losing_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#include "support.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

char *cwt_diags_text(const struct cw_diags *d)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    cw_diags_print(d, f);
    fclose(f);
    return buf;
}

static void init_load(struct cwt_load *l)
{
    cw_config_init(&l->cfg);
    cw_diags_init(&l->diags);
}

void cwt_load_yaml(struct cwt_load *l, const char *file, const char *yaml)
{
    init_load(l);
    l->rc = cw_config_load_buffer(&l->cfg, file, yaml, strlen(yaml), &l->diags);
    l->text = cwt_diags_text(&l->diags);
}

void cwt_load_path(struct cwt_load *l, const char *path)
{
    init_load(l);
    l->rc = cw_config_load_path(&l->cfg, path, &l->diags);
    l->text = cwt_diags_text(&l->diags);
}

void cwt_load_free(struct cwt_load *l)
{
    free(l->text);
    l->text = NULL;
    cw_diags_deinit(&l->diags);
    cw_config_deinit(&l->cfg);
}

char *cwt_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf)
        buf = calloc(1, 1);
    buf[len] = '\0';
    return buf;
}

bool cwt_has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len == n && memcmp(p, line, n) == 0)
            return true;
        p = nl ? nl + 1 : NULL;
    }
    return false;
}

bool cwt_contains(const char *text, const char *needle)
{
    return strstr(text, needle) != NULL;
}

int cwt_count_lines(const char *text, const char *needle)
{
    int count = 0;
    size_t n = strlen(needle);
    for (const char *p = text; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (memmem(p, len, needle, n))
            count++;
        p = nl ? nl + 1 : NULL;
    }
    return count;
}

/* ---- diff ---- */

struct lines {
    const char **v;
    size_t *len;
    size_t n;
};

static void split_lines(const char *text, struct lines *out)
{
    size_t cap = 16;
    out->v = malloc(cap * sizeof(*out->v));
    out->len = malloc(cap * sizeof(*out->len));
    out->n = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (out->n == cap) {
            cap *= 2;
            out->v = realloc(out->v, cap * sizeof(*out->v));
            out->len = realloc(out->len, cap * sizeof(*out->len));
        }
        out->v[out->n] = p;
        out->len[out->n++] = len;
        p = nl ? nl + 1 : p + len;
    }
}

static bool line_eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
    return a->len[i] == b->len[j] && memcmp(a->v[i], b->v[j], a->len[i]) == 0;
}

/*
 * Longest-common-subsequence diff: expectations are a few dozen lines, so the quadratic table
 * is cheap and the output shows exactly which lines moved, vanished or appeared.
 */
void cwt_print_diff(const char *label, const char *expected, const char *actual)
{
    struct lines a, b;
    split_lines(expected, &a);
    split_lines(actual, &b);
    size_t w = b.n + 1;
    size_t *lcs = calloc((a.n + 1) * w, sizeof(*lcs));
    for (size_t i = a.n; i-- > 0;) {
        for (size_t j = b.n; j-- > 0;) {
            size_t down = lcs[(i + 1) * w + j], right = lcs[i * w + j + 1];
            if (line_eq(&a, i, &b, j))
                lcs[i * w + j] = lcs[(i + 1) * w + j + 1] + 1;
            else
                lcs[i * w + j] = down > right ? down : right;
        }
    }
    fprintf(stderr, "--- %s (expected)\n+++ %s (actual)\n", label, label);
    size_t i = 0, j = 0;
    while (i < a.n || j < b.n) {
        if (i < a.n && j < b.n && line_eq(&a, i, &b, j)) {
            fprintf(stderr, " %.*s\n", (int)a.len[i], a.v[i]);
            i++;
            j++;
        } else if (i < a.n && (j == b.n || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
            /* Removals first, as diff -u prints them. */
            fprintf(stderr, "-%.*s\n", (int)a.len[i], a.v[i]);
            i++;
        } else {
            fprintf(stderr, "+%.*s\n", (int)b.len[j], b.v[j]);
            j++;
        }
    }
    free(lcs);
    free(a.v);
    free(a.len);
    free(b.v);
    free(b.len);
}

/* ---- scratch directories ---- */

char *cwt_mkdtemp(void)
{
    char *dir = strdup("/tmp/causeway-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

void cwt_write_file(const char *dir, const char *rel, const char *text)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    /* Create every parent folder of <rel>. */
    for (char *slash = path + strlen(dir) + 1; (slash = strchr(slash, '/')); slash++) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void cwt_rm_rf(const char *dir)
{
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * parse_only: the floor for loading a manifest directory. Walks <dir> the way the config loader
 * does (recursively, sorted, *.yaml and *.yml, hidden entries skipped) and parses every file with
 * libfyaml alone, with the loader's parser settings: each document is built as a tree and then
 * destroyed. No decoding, no typed resources. Whatever causeway's loader spends beyond this
 * figure is its own work; below it nothing built on libfyaml documents can go.
 *
 *     parse_only DIR
 *
 * Prints "key value" lines (files, documents, bytes, wall_ms, cpu_ms, peak_rss_kb) for
 * bench/translate_scale.sh. Exit status 1 on a YAML error or an unreadable path.
 */
#include <dirent.h>
#include <errno.h>
#include <libfyaml.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

struct totals {
    unsigned long files;
    unsigned long documents;
    unsigned long long bytes;
    unsigned long errors;
};

static double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static bool yaml_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

/* Same configuration as src/config/loader.c: YAML 1.2, quiet, errors collected (not printed). */
static void parse_file(const char *path, off_t size, struct totals *t)
{
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.level = FYET_ERROR;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2, .diag = diag};
    struct fy_parser *parser = fy_parser_create(&pcfg);
    if (!parser || fy_parser_set_input_file(parser, path) != 0) {
        fprintf(stderr, "parse_only: cannot read %s\n", path);
        t->errors++;
    } else {
        struct fy_document *doc;
        while ((doc = fy_parse_load_document(parser))) {
            t->documents++;
            fy_parse_document_destroy(parser, doc);
        }
        void *iter = NULL;
        struct fy_diag_error *e;
        while ((e = fy_diag_errors_iterate(diag, &iter))) {
            fprintf(stderr, "%s:%d:%d: YAML error: %s\n", path, e->line + 1, e->column + 1, e->msg);
            t->errors++;
        }
    }
    fy_parser_destroy(parser);
    fy_diag_destroy(diag);
    t->files++;
    t->bytes += (unsigned long long)size;
}

static int walk(const char *dir, struct totals *t)
{
    struct dirent **entries;
    int n = scandir(dir, &entries, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "parse_only: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        char path[4096];
        struct stat st;
        if (name[0] != '.' &&
            snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path) &&
            stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                rc |= walk(path, t);
            else if (yaml_name(name))
                parse_file(path, st.st_size, t);
        }
        free(entries[i]);
    }
    free(entries);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: parse_only DIR\n");
        return 2;
    }
    struct totals t = {0};
    double wall0 = now_ms(CLOCK_MONOTONIC);
    double cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
    int rc = walk(argv[1], &t);
    double wall = now_ms(CLOCK_MONOTONIC) - wall0;
    double cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu0;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("files %lu\n", t.files);
    printf("documents %lu\n", t.documents);
    printf("bytes %llu\n", t.bytes);
    printf("wall_ms %.1f\n", wall);
    printf("cpu_ms %.1f\n", cpu);
    printf("peak_rss_kb %ld\n", ru.ru_maxrss); /* Linux reports kilobytes */
    return rc == 0 && t.errors == 0 ? 0 : 1;
}

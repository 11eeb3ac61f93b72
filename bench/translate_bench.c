/*
 * translate_bench: times causeway's own path from a manifest directory to statuses, phase by
 * phase: load (YAML → typed resources, src/config), translate (workspaces, overlap rule,
 * endpoint selection, snapshot, src/translate) and their total; then teardown, for information.
 *
 *     translate_bench DIR [--statuses FILE]
 *
 * Prints "key value" lines for bench/translate_scale.sh: timings in ms, peak RSS after load and
 * at the end, object counts per kind, and INVALID / WARNING counts per kind. --statuses writes
 * every status that is not ACCEPTED as "APPROVAL<TAB>Kind<TAB>ns/name<TAB>message" lines, so the
 * script can compare the INVALID ExternalServices with the generator's expected.json.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "config/config.h"
#include "translate/translate.h"
#include "util/diag.h"

/* Load errors worth showing on stderr before the figures: a data set the loader rejects would
 * make the timings meaningless. */
#define SHOW_DIAGS 5

struct approval_counts {
    uint32_t invalid[CW_KIND_COUNT];
    uint32_t warning[CW_KIND_COUNT];
};

static double now_ms(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* kilobytes on Linux */
}

/* The gateway the whole data set is translated for (a fixed identity keeps runs comparable). */
static struct cw_gateway_identity bench_gateway(void)
{
    struct cw_gateway_identity gw = {
        .name = "causeway",
        .ns = "gw",
        .cluster = NULL,
        .locality = {.region = "r1", .zone = "r1-a", .subzone = ""},
    };
    return gw;
}

static void print_diag_summary(const struct cw_diags *diags)
{
    uint32_t by_sev[3] = {0};
    uint32_t shown = 0;
    for (uint32_t i = 0; i < diags->items.n; i++) {
        const struct cw_diag *d = &diags->items.v[i];
        by_sev[d->severity]++;
        if (d->severity == CW_SEV_ERROR && shown++ < SHOW_DIAGS)
            cw_diag_print(d, stderr);
    }
    printf("diag_errors %u\n", by_sev[CW_SEV_ERROR]);
    printf("diag_warnings %u\n", by_sev[CW_SEV_WARNING]);
    printf("diag_notes %u\n", by_sev[CW_SEV_NOTE]);
}

static struct approval_counts count_approvals(const struct cw_config *cfg,
                                              const struct cw_translation *tr)
{
    struct approval_counts c = {{0}, {0}};
    for (uint32_t i = 0; i < cfg->objects.n; i++) {
        const struct cw_object *obj = cfg->objects.v[i];
        enum cw_approval a = tr->statuses[obj->id].approval;
        if (a == CW_APPROVAL_INVALID)
            c.invalid[obj->kind]++;
        else if (a == CW_APPROVAL_WARNING)
            c.warning[obj->kind]++;
    }
    return c;
}

static void print_counts(const struct cw_config *cfg, const struct cw_translation *tr)
{
    struct approval_counts c = count_approvals(cfg, tr);
    printf("files %u\n", cfg->files);
    printf("objects %u\n", cfg->objects.n);
    printf("invalid %u\n", tr->invalid);
    printf("warnings %u\n", tr->warnings);
    for (int k = 0; k < CW_KIND_COUNT; k++) {
        if (cfg->by_kind[k].n == 0)
            continue;
        const char *name = cw_kind_name((enum cw_kind)k);
        printf("objects_%s %u\n", name, cfg->by_kind[k].n);
        printf("invalid_%s %u\n", name, c.invalid[k]);
        printf("warning_%s %u\n", name, c.warning[k]);
    }
}

/* Every status that is not ACCEPTED, one line each, for the expected.json comparison. */
static int write_statuses(const char *path, const struct cw_config *cfg,
                          const struct cw_translation *tr)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        return -1;
    }
    for (uint32_t i = 0; i < cfg->objects.n; i++) {
        const struct cw_object *obj = cfg->objects.v[i];
        const struct cw_status *s = &tr->statuses[obj->id];
        if (s->approval == CW_APPROVAL_ACCEPTED)
            continue;
        fprintf(f, "%s\t%s\t%s/%s\t%s\n", cw_approval_name(s->approval), cw_kind_name(obj->kind),
                obj->meta.ns, obj->meta.name, s->message ? s->message : "");
    }
    return fclose(f) == 0 ? 0 : -1;
}

static const char *parse_args(int argc, char **argv, const char **statuses_out)
{
    const char *dir = NULL;
    *statuses_out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--statuses") && i + 1 < argc)
            *statuses_out = argv[++i];
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else
            return NULL;
    }
    return dir;
}

int main(int argc, char **argv)
{
    const char *statuses_out;
    const char *dir = parse_args(argc, argv, &statuses_out);
    if (!dir) {
        fprintf(stderr, "usage: translate_bench DIR [--statuses FILE]\n");
        return 2;
    }
    struct cw_diags diags;
    struct cw_config cfg;
    struct cw_translation tr;
    struct cw_gateway_identity gw = bench_gateway();
    cw_diags_init(&diags);
    cw_config_init(&cfg);

    double cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
    double t0 = now_ms(CLOCK_MONOTONIC);
    int rc = cw_config_load_path(&cfg, dir, &diags);
    double t1 = now_ms(CLOCK_MONOTONIC);
    long rss_load = peak_rss_kb();
    cw_translate(&cfg, &gw, &tr, &diags);
    double t2 = now_ms(CLOCK_MONOTONIC);
    double cpu = now_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
    long rss_end = peak_rss_kb();

    print_diag_summary(&diags);
    print_counts(&cfg, &tr);
    if (statuses_out && write_statuses(statuses_out, &cfg, &tr) != 0)
        rc = -1;

    double t3 = now_ms(CLOCK_MONOTONIC);
    cw_translation_deinit(&tr);
    cw_config_deinit(&cfg);
    cw_diags_deinit(&diags);
    double t4 = now_ms(CLOCK_MONOTONIC);

    printf("load_ms %.1f\n", t1 - t0);
    printf("translate_ms %.1f\n", t2 - t1);
    printf("total_ms %.1f\n", t2 - t0);
    printf("cpu_ms %.1f\n", cpu);
    printf("teardown_ms %.1f\n", t4 - t3);
    printf("peak_rss_after_load_kb %ld\n", rss_load);
    printf("peak_rss_kb %ld\n", rss_end);
    return rc == 0 ? 0 : 1;
}

/*
 * `causeway validate`: load manifests, translate them for this gateway, print every resource's
 * status. Diagnostics (with file:line:col) go to stderr, the statuses to stdout.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "cli/cli.h"
#include "cli/dns_options.h"
#include "cli/dns_plan.h"
#include "cli/dns_start.h"
#include "cli/options.h"
#include "cli/plan_output.h"
#include "cli/status_output.h"
#include "config/config.h"
#include "translate/translate.h"

static void usage(FILE *out)
{
    fputs("Usage: causeway validate -c PATH [-c PATH...] [options]\n"
          "\n"
          "Reads Gloo Platform manifests and prints, for every resource, whether causeway\n"
          "accepts it (ACCEPTED), serves it with a caveat (WARNING) or refuses it (INVALID), and\n"
          "why. Problems in the YAML itself are printed on stderr as file:line:col diagnostics.\n"
          "\n"
          "Options:\n",
          out);
    cw_common_options_help(out);
    fputs("  -o, --output FORMAT      table (default), yaml or json: the status blocks\n"
          "      --plan               also print what this gateway would serve: listeners,\n"
          "                           hosts, routes, clusters, endpoint priorities, and each\n"
          "                           endpoint name with its addresses and their expiry\n",
          out);
    cw_dns_options_help(out, false);
    fputs("      --resolve on|off     look endpoint names up (default on); off: no DNS at all,\n"
          "                           names are neither checked nor listed by --plan\n",
          out);
    fputs("  -h, --help               show this help\n"
          "\n"
          "Endpoint names are looked up once (at most " CW_DNS_FIRST_ANSWERS_TEXT "); a name that does not\n"
          "resolve makes its ExternalService WARNING, as `run` would at start.\n"
          "\n"
          "Exit status: 0 nothing is INVALID, 1 something is INVALID or a file has an error,\n"
          "2 usage error.\n",
          out);
}

static int parse_output(const char *v, enum cw_output_format *out)
{
    if (!strcmp(v, "table"))
        *out = CW_OUTPUT_TABLE;
    else if (!strcmp(v, "yaml"))
        *out = CW_OUTPUT_YAML;
    else if (!strcmp(v, "json"))
        *out = CW_OUTPUT_JSON;
    else
        return -1;
    return 0;
}

static int parse_args(struct cw_common_options *o, struct cw_dns_options *dns, bool *plan,
                      bool *resolve, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        enum cw_opt_result r = cw_common_option(o, argc, argv, &i);
        if (r == CW_OPT_UNKNOWN)
            r = cw_dns_option(dns, false, argc, argv, &i, "validate");
        if (r == CW_OPT_TAKEN)
            continue;
        if (r == CW_OPT_ERROR)
            return 2;
        if (!strcmp(arg, "--plan")) {
            *plan = true;
            continue;
        }
        if (!strcmp(arg, "--resolve") && i + 1 < argc &&
            (!strcmp(argv[i + 1], "on") || !strcmp(argv[i + 1], "off"))) {
            *resolve = !strcmp(argv[++i], "on");
            continue;
        }
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        const char *v = NULL;
        if (!strcmp(arg, "-o") || !strcmp(arg, "--output"))
            v = i + 1 < argc ? argv[++i] : NULL;
        else if (!strncmp(arg, "--output=", 9))
            v = arg + 9;
        else if (!strncmp(arg, "-o", 2) && arg[2])
            v = arg + 2;
        else {
            fprintf(stderr, "causeway validate: unknown argument %s (see --help)\n", arg);
            return 2;
        }
        if (!v || parse_output(v, &o->output) != 0) {
            fprintf(stderr, "causeway validate: -o must be table, yaml or json\n");
            return 2;
        }
    }
    if (o->n_paths == 0) {
        fprintf(stderr, "causeway validate: give at least one -c PATH (see --help)\n");
        return 2;
    }
    return -1;
}

struct unresolved_marks {
    struct cw_translation *tr;
    struct cw_arena *arena;
};

/* A name that does not resolve makes its service WARNING (an INVALID one stays INVALID). */
static void mark_unresolved(void *data, const struct cw_external_service *es, const char *name,
                            const char *reason)
{
    struct unresolved_marks *m = data;
    struct cw_status *st = &m->tr->statuses[es->obj.id];
    const char *why = reason ? cw_arena_printf(m->arena, "%s does not resolve: %s", name, reason)
                             : cw_arena_strdup(m->arena, name);
    if (st->approval == CW_APPROVAL_ACCEPTED) {
        st->approval = CW_APPROVAL_WARNING;
        m->tr->warnings++;
        st->message = why;
    } else if (st->approval == CW_APPROVAL_WARNING) {
        st->message = st->message ? cw_arena_cat(m->arena, st->message, "; ", why, NULL) : why;
    }
}

int cw_cli_validate(int argc, char **argv)
{
    struct cw_common_options o;
    if (cw_common_options_init(&o) != 0) {
        cw_common_options_deinit(&o);
        return 2;
    }
    struct cw_dns_options dns;
    cw_dns_options_init(&dns);
    bool plan = false, resolve = true;
    int rc = parse_args(&o, &dns, &plan, &resolve, argc, argv);
    if (rc < 0 && cw_dns_options_check(&dns, "validate") != 0)
        rc = 2;
    if (rc >= 0) {
        cw_common_options_deinit(&o);
        return rc;
    }
    struct cw_loaded l;
    cw_load_and_translate(&o, &l);
    struct unresolved_marks marks = {.tr = &l.tr, .arena = &o.arena};
    struct cw_dns_resolver *resolver =
        resolve ? cw_cli_dns_resolve(&dns, l.tr.snapshot, NULL, mark_unresolved, &marks, "validate")
                : NULL;
    cw_print_statuses(stdout, o.output, &l.cfg, &l.tr);
    if (plan) {
        fputc('\n', stdout);
        cw_print_plan(stdout, l.tr.snapshot);
        if (resolver)
            cw_print_dns_plan(stdout, l.tr.snapshot, resolver);
    }
    if (resolver) {
        cw_dns_resolver_close(resolver);
        uv_run(uv_default_loop(), UV_RUN_DEFAULT); /* the close completes and frees it */
    }
    rc = (l.tr.invalid > 0 || l.diags.errors > 0) ? 1 : 0;
    cw_loaded_free(&l);
    cw_common_options_deinit(&o);
    return rc;
}

/*
 * `causeway validate`: load manifests, translate them for this gateway, print every resource's
 * status. Diagnostics (with file:line:col) go to stderr, the statuses to stdout.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
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
          "                           hosts, routes, clusters, endpoint priorities\n"
          "  -h, --help               show this help\n"
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

static int parse_args(struct cw_common_options *o, bool *plan, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        switch (cw_common_option(o, argc, argv, &i)) {
        case CW_OPT_TAKEN:
            continue;
        case CW_OPT_ERROR:
            return 2;
        case CW_OPT_UNKNOWN:
            break;
        }
        if (!strcmp(arg, "--plan")) {
            *plan = true;
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

int cw_cli_validate(int argc, char **argv)
{
    struct cw_common_options o;
    if (cw_common_options_init(&o) != 0) {
        cw_common_options_deinit(&o);
        return 2;
    }
    bool plan = false;
    int rc = parse_args(&o, &plan, argc, argv);
    if (rc >= 0) {
        cw_common_options_deinit(&o);
        return rc;
    }
    struct cw_loaded l;
    cw_load_and_translate(&o, &l);
    cw_print_statuses(stdout, o.output, &l.cfg, &l.tr);
    if (plan) {
        fputc('\n', stdout);
        cw_print_plan(stdout, l.tr.snapshot);
    }
    rc = (l.tr.invalid > 0 || l.diags.errors > 0) ? 1 : 0;
    cw_loaded_free(&l);
    cw_common_options_deinit(&o);
    return rc;
}

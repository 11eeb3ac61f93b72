#include "cli/options.h"

#include <stdlib.h>
#include <string.h>

#include "util/text.h"

static int parse_locality(struct cw_common_options *o, const char *text);

int cw_common_options_init(struct cw_common_options *o)
{
    memset(o, 0, sizeof(*o));
    cw_arena_init(&o->arena);
    o->paths = CW_ARENA_ARRAY(&o->arena, const char *, 64);
    o->gateway.name = "causeway";
    o->gateway.ns = "default";
    o->gateway.locality = (struct cw_locality){"", "", ""};
    const char *env = getenv("CAUSEWAY_LOCALITY");
    if (env && *env && parse_locality(o, env) != 0) {
        fprintf(stderr, "causeway: CAUSEWAY_LOCALITY must be region[/zone[/subZone]], got %s\n",
                env);
        return 2;
    }
    return 0;
}

void cw_common_options_deinit(struct cw_common_options *o)
{
    cw_arena_deinit(&o->arena);
}

void cw_load_and_translate(const struct cw_common_options *o, struct cw_loaded *l)
{
    cw_config_init(&l->cfg);
    cw_diags_init(&l->diags);
    l->unreadable = false;
    for (unsigned i = 0; i < o->n_paths; i++)
        l->unreadable |= cw_config_load_path(&l->cfg, o->paths[i], &l->diags) != 0;
    cw_translate(&l->cfg, &o->gateway, &l->tr, &l->diags);
    cw_diags_print(&l->diags, stderr);
}

void cw_loaded_free(struct cw_loaded *l)
{
    cw_translation_deinit(&l->tr);
    cw_diags_deinit(&l->diags);
    cw_config_deinit(&l->cfg);
}

void cw_common_options_help(FILE *out)
{
    fputs("  -c, --config PATH        manifest file or directory (recursive, *.yaml/*.yml);\n"
          "                           repeat for several\n"
          "      --locality R/Z/S     this gateway's region/zone/subZone, the origin of every\n"
          "                           priority decision (e.g. us-east-1/us-east-1a)\n"
          "      --labels K=V,...     this gateway's labels, matched by VirtualGateway workloads\n"
          "      --namespace NS       this gateway's namespace (default: default)\n"
          "      --name NAME          this gateway's name, matched by workloads selector.name\n"
          "                           (default: causeway)\n"
          "      --cluster NAME       this gateway's cluster; when unset every\n"
          "                           workloadClusters entry applies\n"
          "      --secrets-dir DIR    Kubernetes Secrets as a pod mounts them:\n"
          "                           DIR/<namespace>/<name>/tls.crt, tls.key, ca.crt\n",
          out);
}

static int parse_locality(struct cw_common_options *o, const char *text)
{
    char *copy = cw_arena_strdup(&o->arena, text);
    char *parts[3] = {copy, NULL, NULL};
    for (int i = 1; i < 3; i++) {
        char *slash = parts[i - 1] ? strchr(parts[i - 1], '/') : NULL;
        if (slash) {
            *slash = '\0';
            parts[i] = slash + 1;
        }
    }
    if (parts[2] && strchr(parts[2], '/'))
        return -1;
    if (!*parts[0] && (parts[1] || parts[2]))
        return -1; /* a zone without a region cannot be compared */
    o->gateway.locality.region = parts[0];
    o->gateway.locality.zone = parts[1] ? parts[1] : "";
    o->gateway.locality.subzone = parts[2] ? parts[2] : "";
    return 0;
}

static int parse_labels(struct cw_common_options *o, const char *text)
{
    char *copy = cw_arena_strdup(&o->arena, text);
    uint32_t max = 1;
    for (const char *c = text; *c; c++)
        max += *c == ',';
    struct cw_label *v = CW_ARENA_ARRAY(&o->arena, struct cw_label, max);
    uint32_t n = 0;
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok)
            return -1;
        *eq = '\0';
        v[n++] = (struct cw_label){tok, eq + 1};
    }
    o->gateway.labels.v = v;
    o->gateway.labels.n = n;
    return 0;
}

static const char *value_of(int argc, char **argv, int *i, const char *name)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (!strncmp(arg, name, n) && arg[n] == '=')
        return arg + n + 1;
    if (*i + 1 >= argc) {
        fprintf(stderr, "causeway: option %s needs a value\n", name);
        return NULL;
    }
    return argv[++*i];
}

static bool is(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return !strncmp(arg, name, n) && (arg[n] == '\0' || arg[n] == '=');
}

enum cw_opt_result cw_common_option(struct cw_common_options *o, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *v;
    if (!strcmp(arg, "-c") || is(arg, "--config")) {
        if (!(v = value_of(argc, argv, i, !strcmp(arg, "-c") ? "-c" : "--config")))
            return CW_OPT_ERROR;
        if (o->n_paths == 64) {
            fprintf(stderr, "causeway: at most 64 -c paths\n");
            return CW_OPT_ERROR;
        }
        o->paths[o->n_paths++] = v;
    } else if (is(arg, "--locality")) {
        if (!(v = value_of(argc, argv, i, "--locality")) || parse_locality(o, v) != 0) {
            fprintf(stderr, "causeway: --locality must be region[/zone[/subZone]], got %s\n",
                    v ? v : "nothing");
            return CW_OPT_ERROR;
        }
    } else if (is(arg, "--labels")) {
        if (!(v = value_of(argc, argv, i, "--labels")) || parse_labels(o, v) != 0) {
            fprintf(stderr, "causeway: --labels must be key=value[,key=value...], got %s\n",
                    v ? v : "nothing");
            return CW_OPT_ERROR;
        }
    } else if (is(arg, "--namespace")) {
        if (!(v = value_of(argc, argv, i, "--namespace")))
            return CW_OPT_ERROR;
        o->gateway.ns = v;
    } else if (is(arg, "--name")) {
        if (!(v = value_of(argc, argv, i, "--name")))
            return CW_OPT_ERROR;
        o->gateway.name = v;
    } else if (is(arg, "--cluster")) {
        if (!(v = value_of(argc, argv, i, "--cluster")))
            return CW_OPT_ERROR;
        o->gateway.cluster = v;
    } else if (is(arg, "--secrets-dir")) {
        if (!(v = value_of(argc, argv, i, "--secrets-dir")))
            return CW_OPT_ERROR;
        o->gateway.secrets_dir = v;
    } else {
        return CW_OPT_UNKNOWN;
    }
    return CW_OPT_TAKEN;
}

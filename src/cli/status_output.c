/*
 * Status output. YAML and JSON are produced from one sequence of events (map start/end, string,
 * number) so that both formats always carry the same fields.
 */
#include "cli/status_output.h"

#include <string.h>

enum ev_type { EV_MAP, EV_END, EV_STR, EV_NUM };

struct ev {
    enum ev_type type;
    const char *key;
    const char *str;
    uint64_t num;
};

struct events {
    struct ev v[64];
    int n;
};

static void ev(struct events *e, enum ev_type type, const char *key, const char *str, uint64_t num)
{
    if (e->n < (int)(sizeof(e->v) / sizeof(e->v[0])))
        e->v[e->n++] = (struct ev){type, key, str, num};
}

/* Counters named "map/key" become entries of a nested map "map". */
static void counters(struct events *e, const struct cw_status *st, char keys[][64])
{
    const char *open = NULL;
    size_t open_len = 0;
    for (uint32_t i = 0; i < st->n_counters; i++) {
        const char *name = st->counters[i].name;
        const char *slash = strchr(name, '/');
        if (open &&
            (!slash || (size_t)(slash - name) != open_len || strncmp(name, open, open_len))) {
            ev(e, EV_END, NULL, NULL, 0);
            open = NULL;
        }
        if (slash && !open) {
            snprintf(keys[i], 64, "%.*s", (int)(slash - name), name);
            ev(e, EV_MAP, keys[i], NULL, 0);
            open = name;
            open_len = (size_t)(slash - name);
        }
        ev(e, EV_NUM, slash ? slash + 1 : name, NULL, st->counters[i].value);
    }
    if (open)
        ev(e, EV_END, NULL, NULL, 0);
}

static void item_events(struct events *e, const struct cw_object *o, const struct cw_status *st,
                        char keys[][64])
{
    ev(e, EV_STR, "apiVersion", cw_kind_api_version(o->kind), 0);
    ev(e, EV_STR, "kind", cw_kind_name(o->kind), 0);
    ev(e, EV_MAP, "metadata", NULL, 0);
    ev(e, EV_STR, "name", o->meta.name, 0);
    ev(e, EV_STR, "namespace", o->meta.ns, 0);
    ev(e, EV_END, NULL, NULL, 0);
    ev(e, EV_MAP, "status", NULL, 0);
    ev(e, EV_MAP, "common", NULL, 0);
    ev(e, EV_MAP, "State", NULL, 0);
    ev(e, EV_STR, "approval", cw_approval_name(st->approval), 0);
    if (st->message)
        ev(e, EV_STR, "message", st->message, 0);
    ev(e, EV_NUM, "observedGeneration", NULL, (uint64_t)st->observed_generation);
    ev(e, EV_END, NULL, NULL, 0);
    ev(e, EV_END, NULL, NULL, 0);
    if (st->workspace)
        ev(e, EV_STR, "ownedByWorkspace", st->workspace, 0);
    counters(e, st, keys);
    ev(e, EV_END, NULL, NULL, 0);
}

static void quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", out);
        else if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static void emit_json(FILE *out, const struct events *e)
{
    int depth = 1;
    bool first = true;
    fputs("{", out);
    for (int i = 0; i < e->n; i++) {
        const struct ev *x = &e->v[i];
        if (x->type == EV_END) {
            fputs("}", out);
            depth--;
            first = false;
            continue;
        }
        fputs(first ? "" : ",", out);
        quoted(out, x->key);
        fputs(":", out);
        first = false;
        if (x->type == EV_MAP) {
            fputs("{", out);
            depth++;
            first = true;
        } else if (x->type == EV_STR) {
            quoted(out, x->str);
        } else {
            fprintf(out, "%llu", (unsigned long long)x->num);
        }
    }
    fputs("}", out);
    (void)depth;
}

static void emit_yaml(FILE *out, const struct events *e)
{
    int depth = 0;
    for (int i = 0; i < e->n; i++) {
        const struct ev *x = &e->v[i];
        if (x->type == EV_END) {
            depth--;
            continue;
        }
        /* The first key of an item carries the list dash. */
        fprintf(out, "%s%*s%s:", i == 0 ? "- " : "  ", depth * 2, "", x->key);
        if (x->type == EV_MAP) {
            fputs("\n", out);
            depth++;
        } else if (x->type == EV_STR) {
            fputc(' ', out);
            quoted(out, x->str);
            fputc('\n', out);
        } else {
            fprintf(out, " %llu\n", (unsigned long long)x->num);
        }
    }
}

static void print_table(FILE *out, const struct cw_config *cfg, const struct cw_translation *tr)
{
    int wk = 4, wn = 9, wname = 4, ws = 6;
    for (uint32_t i = 0; i < cfg->objects.n; i++) {
        const struct cw_object *o = cfg->objects.v[i];
        int k = (int)strlen(cw_kind_name(o->kind)), n = (int)strlen(o->meta.ns),
            m = (int)strlen(o->meta.name);
        wk = k > wk ? k : wk;
        wn = n > wn ? n : wn;
        wname = m > wname ? m : wname;
    }
    ws = 8;
    fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", wk, "KIND", wn, "NAMESPACE", wname, "NAME", ws,
            "STATUS", "MESSAGE");
    for (uint32_t i = 0; i < cfg->objects.n; i++) {
        const struct cw_object *o = cfg->objects.v[i];
        const struct cw_status *st = &tr->statuses[o->id];
        fprintf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", wk, cw_kind_name(o->kind), wn, o->meta.ns,
                wname, o->meta.name, ws, cw_approval_name(st->approval),
                st->message ? st->message : "");
    }
}

void cw_print_statuses(FILE *out, enum cw_output_format format, const struct cw_config *cfg,
                       const struct cw_translation *tr)
{
    if (format == CW_OUTPUT_TABLE) {
        print_table(out, cfg, tr);
        return;
    }
    if (format == CW_OUTPUT_JSON)
        fputs("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[", out);
    else
        fputs("apiVersion: v1\nkind: List\nitems:\n", out);
    for (uint32_t i = 0; i < cfg->objects.n; i++) {
        const struct cw_object *o = cfg->objects.v[i];
        struct events e = {.n = 0};
        char keys[CW_STATUS_MAX_COUNTERS][64];
        item_events(&e, o, &tr->statuses[o->id], keys);
        if (format == CW_OUTPUT_JSON) {
            fputs(i ? ",\n" : "\n", out);
            emit_json(out, &e);
        } else {
            emit_yaml(out, &e);
        }
    }
    if (format == CW_OUTPUT_JSON)
        fputs("\n]}\n", out);
    else if (cfg->objects.n == 0)
        fputs("  []\n", out);
}

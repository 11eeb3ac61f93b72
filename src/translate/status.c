/* Building statuses: messages collected per severity, joined once all passes ran. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "translate/translate_int.h"

const char *cw_approval_name(enum cw_approval a)
{
    switch (a) {
    case CW_APPROVAL_PENDING:
        return "PENDING";
    case CW_APPROVAL_ACCEPTED:
        return "ACCEPTED";
    case CW_APPROVAL_INVALID:
        return "INVALID";
    case CW_APPROVAL_WARNING:
        return "WARNING";
    case CW_APPROVAL_FAILED:
        return "FAILED";
    }
    return "?";
}

/* Appends "; msg" to *list unless the same message is already there (a rule found twice). */
static void append(struct tr *t, char **list, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (*list) {
        if (strstr(*list, msg))
            return;
        *list = cw_arena_printf(t->arena, "%s; %s", *list, msg);
    } else {
        *list = cw_arena_strdup(t->arena, msg);
    }
}

void tr_invalid(struct tr *t, const struct cw_object *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(t, &tr_obj(t, o)->invalid_msg, fmt, ap);
    va_end(ap);
    tr_obj(t, o)->usable = false;
}

void tr_invalid_served(struct tr *t, const struct cw_object *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(t, &tr_obj(t, o)->invalid_msg, fmt, ap);
    va_end(ap);
}

void tr_warn(struct tr *t, const struct cw_object *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(t, &tr_obj(t, o)->warning_msg, fmt, ap);
    va_end(ap);
}

void tr_note(struct tr *t, const struct cw_object *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    append(t, &tr_obj(t, o)->note_msg, fmt, ap);
    va_end(ap);
}

static const char *join(struct tr *t, const char *a, const char *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return cw_arena_printf(t->arena, "%s; %s", a, b);
}

static void counter(struct cw_status *st, const char *name, uint64_t value)
{
    if (st->n_counters < CW_STATUS_MAX_COUNTERS)
        st->counters[st->n_counters++] = (struct cw_status_counter){name, value};
}

/* The per-kind counters of spec §1.5, §3.7, §4.3, §5, §6 and §8.1. */
static void fill_counters(struct tr *t, const struct cw_object *o, struct cw_status *st)
{
    struct tr_object *to = tr_obj(t, o);
    switch (o->kind) {
    case CW_KIND_EXTERNAL_SERVICE:
        counter(st, "numSelectedExternalEndpoints", to->n_selected_endpoints);
        counter(st, "numSelectedVirtualGateways", to->n_gateways);
        if (to->n_policies[0])
            counter(st, "numAppliedDestinationPolicies/OutlierDetectionPolicy", to->n_policies[0]);
        if (to->n_policies[1])
            counter(st, "numAppliedDestinationPolicies/FailoverPolicy", to->n_policies[1]);
        break;
    case CW_KIND_ROUTE_TABLE:
        counter(st, "numAllowedVirtualGateways", to->counter);
        counter(st, "numParentRouteTables", to->counter2);
        break;
    case CW_KIND_VIRTUAL_GATEWAY:
        counter(st, "externalServicesCount", to->counter);
        counter(st, "routeTablesCount", to->counter2);
        counter(st, "selectedWorkloadsCount", to->selects_gateway ? 1 : 0);
        break;
    case CW_KIND_OUTLIER_DETECTION_POLICY:
    case CW_KIND_FAILOVER_POLICY:
        counter(st, "numSelectedDestinationPorts", to->counter);
        break;
    case CW_KIND_WORKSPACE:
        for (uint32_t w = 0; w < t->workspaces.n; w++) {
            const struct tr_workspace *ws = t->workspaces.v[w];
            if (ws->src == (const struct cw_workspace *)o) {
                counter(st, "numSelectedNamespaces", ws->n_namespaces);
                counter(st, "numImportedWorkspaces", ws->n_imported);
            }
        }
        break;
    default:
        break;
    }
}

void tr_finish_statuses(struct tr *t)
{
    for (uint32_t i = 0; i < t->cfg->objects.n; i++) {
        const struct cw_object *o = t->cfg->objects.v[i];
        struct tr_object *to = tr_obj(t, o);
        struct cw_status *st = &t->out->statuses[o->id];
        st->observed_generation = o->meta.generation;
        st->workspace = to->ws ? to->ws->name : NULL;
        if (to->invalid_msg) {
            st->approval = CW_APPROVAL_INVALID;
            t->out->invalid++;
        } else if (to->warning_msg) {
            st->approval = CW_APPROVAL_WARNING;
            t->out->warnings++;
        } else {
            st->approval = CW_APPROVAL_ACCEPTED;
        }
        st->message = join(t, join(t, to->invalid_msg, to->warning_msg), to->note_msg);
        fill_counters(t, o, st);
    }
}

const char *tr_key(struct tr *t, uint32_t n, const char *a, char sep, const char *b)
{
    char num[12];
    size_t nl = 0;
    do {
        num[nl++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    size_t al = strlen(a), bl = b ? strlen(b) : 0;
    char *key = cw_arena_alloc(&t->scratch, nl + 1 + al + 1 + bl + 1);
    char *w = key;
    while (nl)
        *w++ = num[--nl];
    *w++ = '|';
    memcpy(w, a, al);
    w += al;
    if (b) {
        *w++ = sep;
        memcpy(w, b, bl);
        w += bl;
    }
    *w = '\0';
    return key;
}

const char *tr_ref(struct tr *t, const struct cw_object *o)
{
    struct tr_object *to = tr_obj(t, o);
    if (!to->ref) {
        size_t nl = strlen(o->meta.ns), ml = strlen(o->meta.name);
        char *ref = cw_arena_alloc(t->arena, nl + ml + 2);
        memcpy(ref, o->meta.ns, nl);
        ref[nl] = '/';
        memcpy(ref + nl + 1, o->meta.name, ml + 1);
        to->ref = ref;
    }
    return to->ref;
}

static int precedence_cmp(const void *pa, const void *pb)
{
    const struct cw_object *a = *(struct cw_object *const *)pa;
    const struct cw_object *b = *(struct cw_object *const *)pb;
    if (a->meta.created != b->meta.created)
        return a->meta.created < b->meta.created ? -1 : 1;
    int c = strcmp(a->meta.ns, b->meta.ns);
    if (c)
        return c;
    c = strcmp(a->meta.name, b->meta.name);
    if (c)
        return c;
    return a->load_order < b->load_order ? -1 : a->load_order > b->load_order;
}

void tr_count_gateway(struct tr *t, const struct cw_object *es, const struct cw_object *vg)
{
    char vg_id[12];
    snprintf(vg_id, sizeof(vg_id), "%u", vg->id);
    const char *key = tr_key(t, es->id, vg_id, 0, NULL);
    size_t before = t->served_pairs.count;
    cw_strmap_put_new(&t->served_pairs, key, strlen(key), (void *)es);
    if (t->served_pairs.count > before)
        tr_obj(t, es)->n_gateways++;
}

struct cw_object **tr_by_precedence(struct tr *t, enum cw_kind kind, uint32_t *n)
{
    *n = t->cfg->by_kind[kind].n;
    if (t->sorted[kind])
        return t->sorted[kind];
    struct cw_object **v = CW_ARENA_ARRAY(t->arena, struct cw_object *, *n ? *n : 1);
    /* A kind nobody wrote has no vector at all: memcpy from NULL is undefined even for 0 bytes. */
    if (*n) {
        memcpy(v, t->cfg->by_kind[kind].v, sizeof(*v) * *n);
        qsort(v, *n, sizeof(*v), precedence_cmp);
    }
    t->sorted[kind] = v;
    return v;
}

#include "snapshot/snapshot.h"

#include <string.h>

#include "tls/origin.h"
#include "tls/termination.h"
#include "util/regex.h"

void cw_snapshot_release(struct cw_snapshot *snap)
{
    if (!snap)
        return;
    for (uint32_t i = 0; i < snap->regexes.n; i++)
        cw_regex_free(snap->regexes.v[i]);
    snap->regexes.n = 0;
    for (uint32_t i = 0; i < snap->clusters.n; i++) {
        cw_tls_origin_free(snap->clusters.v[i]->tls);
        snap->clusters.v[i]->tls = NULL;
    }
    for (uint32_t i = 0; i < snap->listeners.n; i++) {
        if (snap->listeners.v[i]->tls)
            cw_tls_termination_free(snap->listeners.v[i]->tls);
        cw_strmap_deinit(&snap->listeners.v[i]->exact_hosts);
        cw_strmap_deinit(&snap->listeners.v[i]->exposed_hosts);
    }
}

int cw_snapshot_host_key(const char *host, size_t len, bool drop_dot, char *out, size_t size)
{
    if (drop_dot && len && host[len - 1] == '.')
        len--;
    if (len >= size)
        return -1;
    for (size_t i = 0; i < len; i++) { /* ASCII only, as host names are: no locale lookup */
        char c = host[i];
        out[i] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
    }
    out[len] = '\0';
    return (int)len;
}

/* Puts <value> under <name> (configured: a trailing dot is dropped) unless present. */
static void index_name(struct cw_strmap *m, struct cw_arena *arena, const char *name, void *value)
{
    char key[CW_HOST_KEY_MAX];
    int n = cw_snapshot_host_key(name, strlen(name), true, key, sizeof(key));
    if (n >= 0)
        cw_strmap_put_new(m, cw_arena_strndup(arena, key, (size_t)n), (size_t)n, value);
}

void cw_snapshot_index(struct cw_snapshot *snap, struct cw_arena *arena)
{
    for (uint32_t i = 0; i < snap->listeners.n; i++) {
        struct cw_snapshot_listener *l = snap->listeners.v[i];
        cw_strmap_init(&l->exact_hosts);
        cw_strmap_init(&l->exposed_hosts);
        for (uint32_t v = 0; v < l->virtual_hosts.n; v++) {
            struct cw_virtual_host *vh = l->virtual_hosts.v[v];
            if (vh->domain[0] == '*')
                CW_ARENA_PUSH(arena, &l->wildcard_hosts, vh);
            else
                index_name(&l->exact_hosts, arena, vh->domain, vh);
        }
        for (uint32_t e = 0; e < l->exposed.n; e++)
            index_name(&l->exposed_hosts, arena, l->exposed.v[e].host, l->exposed.v[e].cluster);
    }
}

const struct cw_snapshot_listener *cw_snapshot_listener_on(const struct cw_snapshot *snap,
                                                           uint16_t port)
{
    for (uint32_t i = 0; i < snap->listeners.n; i++)
        if (snap->listeners.v[i]->port == port)
            return snap->listeners.v[i];
    return NULL;
}

static void add_file(const char *path, const char **out, unsigned cap, unsigned *n)
{
    if (path && *n < cap)
        out[*n] = path;
    if (path)
        (*n)++;
}

unsigned cw_snapshot_tls_files(const struct cw_snapshot *snap, const char **out, unsigned cap)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < snap->clusters.n; i++) {
        const struct cw_tls_origin *o = snap->clusters.v[i]->tls;
        if (!o)
            continue;
        add_file(o->spec.ca_file, out, cap, &n);
        add_file(o->spec.cert_file, out, cap, &n);
        add_file(o->spec.key_file, out, cap, &n);
    }
    for (uint32_t i = 0; i < snap->listeners.n; i++) {
        const struct cw_tls_termination *t = snap->listeners.v[i]->tls;
        for (uint32_t c = 0; t && c < t->n_certs; c++) {
            const struct cw_tls_serving_spec *s = cw_tls_termination_spec(t, c);
            add_file(s->cert_file, out, cap, &n);
            add_file(s->key_file, out, cap, &n);
            add_file(s->ca_file, out, cap, &n);
        }
    }
    return n;
}

const char *cw_snapshot_listener_kind(const struct cw_snapshot_listener *l)
{
    if (l->http)
        return l->tls ? "https" : "http";
    return l->tls ? "tls" : l->passthrough ? "tls passthrough" : "tcp";
}

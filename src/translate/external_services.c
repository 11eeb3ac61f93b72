/*
 * ExternalService validity and the overlap rule (spec §8.4). Keys of a service are its canonical
 * addresses (10.0.0.1 ≡ 10.0.0.1/32, one IPv6 spelling) and its lower-cased hosts. Two services
 * collide when they share a key and some workspace sees both. Services are taken in precedence
 * order (older creationTimestamp, then namespace/name), so the older keeps the key and the newer
 * is INVALID naming it. An INVALID service claims nothing. Different CIDRs that overlap are both
 * accepted with a WARNING (§8.4 rule 5).
 */
#include <stdio.h>
#include <string.h>

#include "snapshot/snapshot.h"
#include "translate/translate_int.h"
#include "util/netaddr.h"

struct es_key {
    const char *spelled; /* as the user wrote it, for messages */
    const char *key;     /* canonical: "a:10.0.0.1/32" or "h:db.example.com" */
    bool is_address;
    struct cw_ip_prefix prefix;
};

struct overlap {
    struct cw_strmap owners; /* "<ws index>|<key>" → winning service */
    uint64_t *v4_lengths;    /* per workspace: bit L set when a /L IPv4 prefix is held */
    uint64_t (*v6_lengths)[3];
};

static uint32_t service_keys(struct tr *t, const struct cw_external_service *es,
                             struct es_key *keys)
{
    uint32_t n = 0;
    char buf[CW_IP_PREFIX_TEXT];
    for (uint32_t i = 0; i < es->addresses.n; i++) {
        struct es_key *k = &keys[n];
        const char *why;
        if (cw_ip_prefix_parse(es->addresses.v[i], &k->prefix, &why) != 0)
            continue; /* rejected while decoding */
        k->spelled = es->addresses.v[i];
        k->key = cw_arena_printf(&t->scratch, "a:%s", cw_ip_prefix_format(&k->prefix, buf));
        k->is_address = true;
        n++;
    }
    for (uint32_t i = 0; i < es->hosts.n; i++) {
        struct es_key *k = &keys[n];
        /* The router's key: "DB.example.com." names the same host as "db.example.com". */
        char host[CW_HOST_KEY_MAX];
        const char *spelled = es->hosts.v[i];
        if (cw_snapshot_host_key(spelled, strlen(spelled), true, host, sizeof(host)) < 0)
            continue; /* longer than any hostname: rejected while decoding */
        k->spelled = spelled;
        k->key = cw_arena_printf(&t->scratch, "h:%s", host);
        k->is_address = false;
        n++;
    }
    return n;
}

static const char *ws_key(struct tr *t, const struct tr_workspace *ws, const char *key)
{
    return tr_key(t, ws->index, key, 0, NULL);
}

/* Workspaces in which <es> is visible: its owner first, then importers. */
static uint32_t seen_in(struct tr *t, const struct cw_external_service *es,
                        struct tr_workspace **out)
{
    struct tr_workspace *owner = tr_obj(t, &es->obj)->ws;
    uint32_t n = 0;
    out[n++] = owner;
    for (uint32_t w = 0; w < t->workspaces.n; w++) {
        struct tr_workspace *ws = t->workspaces.v[w];
        if (ws != owner && tr_linked(t, owner, ws) && tr_visible_in(t, &es->obj, ws))
            out[n++] = ws;
    }
    return n;
}

static void record_length(struct overlap *ov, const struct tr_workspace *ws,
                          const struct cw_ip_prefix *p)
{
    if (p->family == 4)
        ov->v4_lengths[ws->index] |= 1ull << p->len;
    else
        ov->v6_lengths[ws->index][p->len / 64] |= 1ull << (p->len % 64);
}

static bool has_length(struct overlap *ov, const struct tr_workspace *ws, int family, unsigned len)
{
    if (family == 4)
        return ov->v4_lengths[ws->index] >> len & 1u;
    return ov->v6_lengths[ws->index][len / 64] >> (len % 64) & 1u;
}

/* Claims the keys of <es> in every workspace that sees it, or marks it INVALID. */
static void claim_keys(struct tr *t, struct overlap *ov, const struct cw_external_service *es,
                       struct es_key *keys, uint32_t nk, struct tr_workspace **ws, uint32_t nw)
{
    const char *wk[nw * nk + 1]; /* the keys per workspace, built once for both passes */
    for (uint32_t w = 0; w < nw; w++) {
        for (uint32_t k = 0; k < nk; k++) {
            const char *key = wk[w * nk + k] = ws_key(t, ws[w], keys[k].key);
            const struct cw_external_service *winner = cw_strmap_get(&ov->owners, key, strlen(key));
            if (winner && winner != es) {
                tr_invalid(t, &es->obj,
                           "%s %s already used by ExternalService %s/%s in workspace %s",
                           keys[k].is_address ? "address" : "host", keys[k].spelled,
                           winner->obj.meta.ns, winner->obj.meta.name, ws[w]->name);
                return;
            }
        }
    }
    for (uint32_t w = 0; w < nw; w++) {
        for (uint32_t k = 0; k < nk; k++) {
            const char *key = wk[w * nk + k];
            cw_strmap_put_new(&ov->owners, key, strlen(key), (void *)es);
            if (keys[k].is_address)
                record_length(ov, ws[w], &keys[k].prefix);
        }
    }
}

/* Warns about different prefixes of which one contains the other (10.0.0.0/16 ⊃ 10.0.1.0/24). */
static void warn_partial_overlaps(struct tr *t, struct overlap *ov,
                                  const struct cw_external_service *es, struct es_key *keys,
                                  uint32_t nk, struct tr_workspace **ws, uint32_t nw)
{
    char buf[CW_IP_PREFIX_TEXT];
    for (uint32_t k = 0; k < nk; k++) {
        if (!keys[k].is_address)
            continue;
        for (uint32_t w = 0; w < nw; w++) {
            for (unsigned len = 0; len < keys[k].prefix.len; len++) {
                if (!has_length(ov, ws[w], keys[k].prefix.family, len))
                    continue;
                struct cw_ip_prefix wider = keys[k].prefix;
                cw_ip_prefix_truncate(&wider, (uint8_t)len);
                cw_ip_prefix_format(&wider, buf);
                const char *key = tr_key(t, ws[w]->index, "a", ':', buf);
                const struct cw_external_service *other =
                    cw_strmap_get(&ov->owners, key, strlen(key));
                if (!other || other == es || !tr_obj(t, &other->obj)->usable)
                    continue;
                tr_warn(t, &es->obj,
                        "address %s overlaps %s of ExternalService %s/%s in "
                        "workspace %s",
                        keys[k].spelled, buf, other->obj.meta.ns, other->obj.meta.name,
                        ws[w]->name);
                tr_warn(t, &other->obj,
                        "address %s overlaps %s of ExternalService %s/%s in "
                        "workspace %s",
                        buf, keys[k].spelled, es->obj.meta.ns, es->obj.meta.name, ws[w]->name);
            }
        }
    }
}

static bool check_shape(struct tr *t, const struct cw_external_service *es)
{
    if ((es->hosts.n > 0) == (es->addresses.n > 0)) {
        tr_invalid(t, &es->obj, "exactly one of hosts or addresses must be set");
        return false;
    }
    return true;
}

void tr_external_services(struct tr *t)
{
    uint32_t n;
    struct cw_object **v = tr_by_precedence(t, CW_KIND_EXTERNAL_SERVICE, &n);
    struct overlap ov;
    cw_strmap_init(&ov.owners);
    ov.v4_lengths = CW_ARENA_ARRAY(t->arena, uint64_t, t->workspaces.n + 1);
    ov.v6_lengths = cw_arena_alloc(t->arena, sizeof(*ov.v6_lengths) * (t->workspaces.n + 1));
    struct tr_workspace **ws = CW_ARENA_ARRAY(t->arena, struct tr_workspace *, t->workspaces.n + 1);
    for (uint32_t pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < n; i++) {
            const struct cw_external_service *es = (const struct cw_external_service *)v[i];
            if (!tr_obj(t, &es->obj)->usable)
                continue;
            if (pass == 0 && !check_shape(t, es))
                continue;
            struct es_key keys[es->addresses.n + es->hosts.n + 1];
            uint32_t nk = service_keys(t, es, keys);
            uint32_t nw = seen_in(t, es, ws);
            if (pass == 0)
                claim_keys(t, &ov, es, keys, nk, ws, nw);
            else
                warn_partial_overlaps(t, &ov, es, keys, nk, ws, nw);
        }
    }
    /* Every service is indexed, INVALID ones too, so a route naming one can say why it fails. */
    for (uint32_t i = 0; i < n; i++) {
        const char *ref = tr_ref(t, v[i]);
        cw_strmap_put_new(&t->es_by_name, ref, strlen(ref), v[i]);
    }
    cw_strmap_deinit(&ov.owners);
}

/*
 * c-ares on the control thread's libuv loop (resolver.h). One uv_poll per socket c-ares opens
 * (its socket-state callback says which and for what), one loop timer for c-ares's own timeouts,
 * one timer per name for its refresh.
 */
#include "dns/resolver.h"

#include <ares.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dns/hosts_file.h"
#include "util/strmap.h"
#include "util/xalloc.h"

#define QUERY_TIMEOUT_MS 1000 /* per try and server; c-ares doubles it on each retry */
#define QUERY_TRIES 2
/* Lookups running at once; the others wait their turn. Thousands of names whose TTLs expire
 * together would otherwise leave as one burst that overflows the resolver's (and our own
 * socket's) queues and comes back as timeouts. */
#define MAX_IN_FLIGHT 128
/* Refreshes due within one such step of each other start together (refresh_delay). */
#define REFRESH_GRID_MS 100
/* How often the hosts file's modification time is looked at, at most. */
#define HOSTS_FILE_CHECK_MS 1000
/* Answers that change address sets within this long make one new generation. */
#define CHANGE_COALESCE_MS 100

struct entry {
    struct cw_dns_name n;
    struct cw_dns_resolver *r;
    uv_timer_t refresh;
    bool wanted;        /* named by the configuration being served */
    bool in_flight;     /* a lookup is running: another is not started */
    bool queued;        /* waiting for a free lookup slot */
    struct entry *next; /* in the wait queue */
};

struct poller {
    uv_poll_t poll;
    ares_socket_t fd;
    struct poller *next;
};

struct cw_dns_resolver {
    uv_loop_t *loop;
    ares_channel channel;
    uv_timer_t ares_timer; /* c-ares's timeouts */
    uv_timer_t coalesce;   /* one change callback per burst of answers */
    struct poller *pollers;
    struct cw_strmap by_name; /* name → entry; keys are the entries' names */
    struct entry **entries;
    uint32_t n_entries, cap_entries;
    uint32_t handles_open; /* closed on cw_dns_resolver_close; freed at 0 */
    uint32_t running;      /* lookups in flight */
    struct entry *queue_head, *queue_tail; /* lookups waiting for a slot, oldest first */
    uint32_t unanswered;   /* wanted names without a first answer */
    uint64_t lookups_dns, lookups_hosts_file, address_changes; /* for the metrics */
    uint64_t failures[CW_DNS_FAIL_KINDS];
    bool closing;
    struct cw_dns_settings settings;
    FILE *events;
    struct cw_hosts_file *hosts; /* NULL: no hosts file */
    void (*on_change)(void *data);
    void *change_data;
};

static void rearm_ares_timer(struct cw_dns_resolver *r);
static void arm_ares_timer(struct cw_dns_resolver *r);

/* ---- c-ares sockets and timeouts on the loop ---- */

static void on_socket_ready(uv_poll_t *p, int status, int events)
{
    struct cw_dns_resolver *r = p->data;
    struct poller *pl = (struct poller *)p;
    /* An error on the socket is c-ares's to find: let it read (and fail). */
    bool readable = status < 0 || (events & UV_READABLE);
    ares_process_fd(r->channel, readable ? pl->fd : ARES_SOCKET_BAD,
                    events & UV_WRITABLE ? pl->fd : ARES_SOCKET_BAD);
    /* Not recomputed after every answer (ares_timeout walks every query in flight: ~10 % of
     * the thread): only when a query c-ares sent now (a retry over TCP) could be due first. */
    arm_ares_timer(r);
}

static void free_poller(uv_handle_t *h)
{
    free(h);
}

static void on_socket_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct cw_dns_resolver *r = data;
    struct poller **at = &r->pollers;
    while (*at && (*at)->fd != fd)
        at = &(*at)->next;
    if (!readable && !writable) {
        if (*at) {
            struct poller *gone = *at;
            *at = gone->next;
            uv_poll_stop(&gone->poll);
            uv_close((uv_handle_t *)&gone->poll, free_poller);
        }
        return;
    }
    if (!*at) {
        struct poller *p = cw_xcalloc(1, sizeof(*p));
        p->fd = fd;
        uv_poll_init_socket(r->loop, &p->poll, fd);
        p->poll.data = r;
        p->next = r->pollers;
        r->pollers = p;
        at = &r->pollers;
    }
    uv_poll_start(&(*at)->poll, (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0),
                  on_socket_ready);
}

static void on_ares_timeout(uv_timer_t *t)
{
    struct cw_dns_resolver *r = t->data;
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm_ares_timer(r);
}

static void rearm_ares_timer(struct cw_dns_resolver *r)
{
    struct timeval tv;
    if (r->closing || !ares_timeout(r->channel, NULL, &tv)) {
        uv_timer_stop(&r->ares_timer);
        return;
    }
    uint64_t ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
    uv_timer_start(&r->ares_timer, on_ares_timeout, ms ? ms : 1, 0);
}

/* After queries may have been sent. A query sent now is due QUERY_TIMEOUT_MS from now at the
 * earliest (retries wait longer), so an armed timer due no later than that is still right and
 * the walk over every query in flight (rearm_ares_timer) is skipped. */
static void arm_ares_timer(struct cw_dns_resolver *r)
{
    if (!uv_is_active((uv_handle_t *)&r->ares_timer) ||
        uv_timer_get_due_in(&r->ares_timer) > QUERY_TIMEOUT_MS)
        rearm_ares_timer(r);
}

/* ---- events ---- */

static void address_list(const struct sockaddr_storage *a, uint32_t n, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (uint32_t i = 0; i < n && len + 48 < size; i++) {
        char ip[64];
        cw_dns_address_text(&a[i], ip, sizeof(ip));
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? "," : "", ip);
    }
    if (!n)
        snprintf(out, size, "-");
}

static bool listed(const struct sockaddr_storage *a, const struct sockaddr_storage *set, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char x[64], y[64];
        cw_dns_address_text(a, x, sizeof(x));
        cw_dns_address_text(&set[i], y, sizeof(y));
        if (!strcmp(x, y))
            return true;
    }
    return false;
}

/* The addresses of <a> not in <b>, as a list. */
static void difference(const struct sockaddr_storage *a, uint32_t na,
                       const struct sockaddr_storage *b, uint32_t nb, char *out, size_t size)
{
    struct sockaddr_storage only[CW_DNS_MAX_ADDRESSES];
    uint32_t k = 0;
    for (uint32_t i = 0; i < na; i++)
        if (!listed(&a[i], b, nb))
            only[k++] = a[i];
    address_list(only, k, out, size);
}

static void log_change(struct cw_dns_resolver *r, const struct cw_dns_name *n,
                       const struct cw_dns_change *c, const struct sockaddr_storage *before,
                       uint32_t n_before)
{
    if (!r->events)
        return;
    char now[1024], added[1024], removed[1024];
    address_list(n->addrs, n->n_addrs, now, sizeof(now));
    if (c->addresses) {
        difference(n->addrs, n->n_addrs, before, n_before, added, sizeof(added));
        difference(before, n_before, n->addrs, n->n_addrs, removed, sizeof(removed));
        fprintf(r->events, "causeway: event=dns-change name=%s added=%s removed=%s addresses=%s%s\n",
                n->name, added, removed, now, c->dropped ? " reason=stale-for-expired" : "");
    }
    bool spaced = strchr(n->error, ' ') != NULL; /* "connection refused": quoted */
    if (c->failing)
        fprintf(r->events,
                "causeway: event=dns-failure name=%s reason=%s%s%s failures=%llu serving=%s%s\n",
                n->name, spaced ? "\"" : "", n->error, spaced ? "\"" : "",
                (unsigned long long)n->failures_total,
                n->state == CW_DNS_STALE ? "last-known-good:" : "nothing",
                n->state == CW_DNS_STALE ? now : "");
    if (c->recovered)
        fprintf(r->events, "causeway: event=dns-recovered name=%s addresses=%s\n", n->name, now);
    fflush(r->events);
}

static void on_coalesced(uv_timer_t *t)
{
    struct cw_dns_resolver *r = t->data;
    if (r->on_change && !r->closing)
        r->on_change(r->change_data);
}

/* ---- lookups ---- */

static void start_lookup(struct entry *e);
static void start_waiting_lookups(struct cw_dns_resolver *r);

static void on_refresh_due(uv_timer_t *t)
{
    start_lookup(t->data);
}

static enum cw_dns_failure_kind failure_kind(int status)
{
    switch (status) {
    case ARES_ENOTFOUND:
        return CW_DNS_FAIL_NXDOMAIN;
    case ARES_ENODATA:
        return CW_DNS_FAIL_NO_ADDRESS;
    case ARES_ESERVFAIL:
        return CW_DNS_FAIL_SERVFAIL;
    case ARES_EREFUSED:
        return CW_DNS_FAIL_REFUSED;
    case ARES_ETIMEOUT:
        return CW_DNS_FAIL_TIMEOUT;
    default:
        return CW_DNS_FAIL_OTHER;
    }
}

const char *cw_dns_failure_kind_name(enum cw_dns_failure_kind k)
{
    static const char *const names[CW_DNS_FAIL_KINDS] = {
        "nxdomain", "no_address", "servfail", "refused", "timeout", "other"};
    return k < CW_DNS_FAIL_KINDS ? names[k] : "other";
}

/* The reason an event line gives for a failed lookup. */
static const char *failure_reason(int status)
{
    static const char *const reasons[CW_DNS_FAIL_KINDS] = {
        "NXDOMAIN", "no address", "SERVFAIL", "REFUSED", "timeout", NULL};
    enum cw_dns_failure_kind k = failure_kind(status);
    if (reasons[k])
        return reasons[k];
    return status == ARES_ECONNREFUSED ? "connection refused" : ares_strerror(status);
}

/* The addresses and smallest TTL of an answer. */
static uint32_t collect(const struct ares_addrinfo *res, struct sockaddr_storage *out,
                        uint32_t cap, uint32_t *ttl_s)
{
    uint32_t n = 0;
    *ttl_s = UINT32_MAX;
    for (const struct ares_addrinfo_node *a = res ? res->nodes : NULL; a && n < cap;
         a = a->ai_next) {
        if ((a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
            a->ai_addrlen > sizeof(*out))
            continue;
        memset(&out[n], 0, sizeof(out[n]));
        memcpy(&out[n++], a->ai_addr, a->ai_addrlen);
        if (a->ai_ttl >= 0 && (uint32_t)a->ai_ttl < *ttl_s)
            *ttl_s = (uint32_t)a->ai_ttl;
    }
    if (*ttl_s == UINT32_MAX)
        *ttl_s = 0;
    return n;
}

/* How long until a name due at <due_ms> is looked up again. Refreshes are put on a grid of
 * REFRESH_GRID_MS so that names due close together start together: one wake-up of the control
 * thread for a burst of lookups, not one per name (thousands of names at TTL 1 s made the
 * thread sleep and wake 4,000 times a second). Rounded down, so no name is served past its
 * TTL because of the grid. */
static uint64_t refresh_delay(uint64_t due_ms, uint64_t now_ms)
{
    if (due_ms > now_ms + REFRESH_GRID_MS)
        due_ms -= due_ms % REFRESH_GRID_MS;
    return due_ms > now_ms ? due_ms - now_ms : 0;
}

/* A lookup's outcome: <failure> NULL with <n> addresses and their smallest TTL, or the reason it
 * failed. Logs what changed, schedules a rebuild when an address set changed, and the refresh. */
static void record_outcome(struct entry *e, const struct sockaddr_storage *got, uint32_t n,
                           uint32_t ttl, const char *failure)
{
    struct cw_dns_resolver *r = e->r;
    bool first = e->n.state == CW_DNS_PENDING;
    struct sockaddr_storage before[CW_DNS_MAX_ADDRESSES];
    uint32_t n_before = e->n.n_addrs;
    memcpy(before, e->n.addrs, n_before * sizeof(*before));
    uint64_t now = uv_now(r->loop);
    struct cw_dns_change c = failure ? cw_dns_name_failed(&e->n, &r->settings, failure, now)
                                     : cw_dns_name_answered(&e->n, &r->settings, got, n, ttl, now);
    if (first && e->wanted)
        r->unanswered--;
    bool rebuild = c.addresses;
    if (first)
        c.addresses = false; /* a name's first addresses are no event (thousands at start) */
    r->address_changes += c.addresses;
    log_change(r, &e->n, &c, before, n_before);
    if (rebuild && !uv_is_active((uv_handle_t *)&r->coalesce))
        uv_timer_start(&r->coalesce, on_coalesced, CHANGE_COALESCE_MS, 0);
    if (e->wanted)
        uv_timer_start(&e->refresh, on_refresh_due, refresh_delay(e->n.refresh_at_ms, now), 0);
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    (void)timeouts;
    struct entry *e = arg;
    struct cw_dns_resolver *r = e->r;
    e->in_flight = false;
    r->running--;
    if (r->closing || status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) {
        ares_freeaddrinfo(res);
        return;
    }
    r->lookups_dns++;
    if (status != ARES_SUCCESS)
        r->failures[failure_kind(status)]++;
    if (status == ARES_SUCCESS) {
        struct sockaddr_storage got[CW_DNS_MAX_ADDRESSES * 2];
        uint32_t ttl;
        uint32_t n = collect(res, got, CW_DNS_MAX_ADDRESSES * 2, &ttl);
        record_outcome(e, got, n, ttl, NULL);
    } else {
        record_outcome(e, NULL, 0, 0, failure_reason(status));
    }
    ares_freeaddrinfo(res);
    start_waiting_lookups(r);
}

/* Starts lookups from the wait queue while slots are free. */
static void start_waiting_lookups(struct cw_dns_resolver *r)
{
    while (r->queue_head && r->running < MAX_IN_FLIGHT && !r->closing) {
        struct entry *e = r->queue_head;
        r->queue_head = e->next;
        if (!r->queue_head)
            r->queue_tail = NULL;
        e->queued = false;
        e->next = NULL;
        start_lookup(e);
    }
}

static void start_lookup(struct entry *e)
{
    struct cw_dns_resolver *r = e->r;
    if (e->in_flight || e->queued || r->closing)
        return;
    uv_timer_stop(&e->refresh);
    /* The hosts file first, as the system's resolver does; its answers are looked at again
     * after the minimum TTL, so an edit to the file is followed. */
    struct sockaddr_storage listed_addrs[CW_DNS_MAX_ADDRESSES];
    uint32_t listed_n = r->hosts ? cw_hosts_file_lookup(r->hosts, e->n.name, uv_now(r->loop),
                                                        listed_addrs, CW_DNS_MAX_ADDRESSES)
                                 : 0;
    if (listed_n) {
        r->lookups_hosts_file++;
        record_outcome(e, listed_addrs, listed_n, 0, NULL);
        return;
    }
    if (r->running >= MAX_IN_FLIGHT) {
        e->queued = true;
        if (r->queue_tail)
            r->queue_tail->next = e;
        else
            r->queue_head = e;
        r->queue_tail = e;
        return;
    }
    r->running++;
    e->in_flight = true;
    struct ares_addrinfo_hints hints = {.ai_family = AF_UNSPEC, .ai_flags = ARES_AI_NOSORT};
    ares_getaddrinfo(e->r->channel, e->n.name, NULL, &hints, on_answer, e);
    arm_ares_timer(e->r);
}

static struct entry *add_entry(struct cw_dns_resolver *r, const char *name)
{
    struct entry *e = cw_xcalloc(1, sizeof(*e));
    cw_dns_name_init(&e->n, name);
    e->r = r;
    uv_timer_init(r->loop, &e->refresh);
    e->refresh.data = e;
    r->handles_open++;
    if (r->n_entries == r->cap_entries) {
        r->cap_entries = r->cap_entries ? r->cap_entries * 2 : 16;
        r->entries = cw_xrealloc(r->entries, r->cap_entries * sizeof(*r->entries));
    }
    r->entries[r->n_entries++] = e;
    cw_strmap_put_new(&r->by_name, e->n.name, strlen(e->n.name), e);
    return e;
}

void cw_dns_resolver_want(struct cw_dns_resolver *r, const char *const *names, uint32_t n)
{
    for (uint32_t i = 0; i < r->n_entries; i++)
        r->entries[i]->wanted = false;
    for (uint32_t i = 0; i < n; i++) {
        struct entry *e = cw_strmap_get(&r->by_name, names[i], strlen(names[i]));
        if (!e)
            e = add_entry(r, names[i]);
        if (e->wanted)
            continue; /* named twice */
        e->wanted = true;
        start_lookup(e);
    }
    r->unanswered = 0;
    for (uint32_t i = 0; i < r->n_entries; i++) {
        struct entry *e = r->entries[i];
        if (!e->wanted)
            uv_timer_stop(&e->refresh);
        r->unanswered += e->wanted && e->n.state == CW_DNS_PENDING;
    }
}

uint32_t cw_dns_resolver_unanswered(const struct cw_dns_resolver *r)
{
    return r->unanswered;
}

static void on_settle_deadline(uv_timer_t *t)
{
    *(bool *)t->data = true;
}

void cw_dns_resolver_settle(struct cw_dns_resolver *r, uint64_t timeout_ms)
{
    bool late = false;
    uv_timer_t deadline;
    uv_timer_init(r->loop, &deadline);
    deadline.data = &late;
    uv_timer_start(&deadline, on_settle_deadline, timeout_ms, 0);
    while (!late && cw_dns_resolver_unanswered(r) > 0)
        uv_run(r->loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&deadline, NULL);
    uv_run(r->loop, UV_RUN_NOWAIT); /* the close completes: <deadline> lives on this stack */
}

const struct cw_dns_name *cw_dns_resolver_find(const struct cw_dns_resolver *r, const char *name)
{
    const struct entry *e = cw_strmap_get(&r->by_name, name, strlen(name));
    return e ? &e->n : NULL;
}

int cw_dns_resolver_addresses(void *resolver, const char *name, struct sockaddr_storage *out,
                              uint32_t cap)
{
    const struct cw_dns_name *n = cw_dns_resolver_find(resolver, name);
    if (!n || n->n_addrs == 0)
        return -1;
    uint32_t k = n->n_addrs < cap ? n->n_addrs : cap;
    memcpy(out, n->addrs, k * sizeof(*out));
    return (int)k;
}

void cw_dns_resolver_stats(const struct cw_dns_resolver *r, struct cw_dns_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (uint32_t i = 0; i < r->n_entries; i++)
        if (r->entries[i]->wanted)
            out->names[r->entries[i]->n.state]++;
    out->lookups_dns = r->lookups_dns;
    out->lookups_hosts_file = r->lookups_hosts_file;
    memcpy(out->failures, r->failures, sizeof(out->failures));
    out->address_changes = r->address_changes;
    out->in_flight = r->running;
    for (const struct entry *e = r->queue_head; e; e = e->next)
        out->queued++;
}

uint64_t cw_dns_resolver_now(const struct cw_dns_resolver *r)
{
    return uv_now(r->loop);
}

/* ---- forwarding (--dns-forward) ---- */

struct forwarded {
    void (*done)(void *arg, const uint8_t *answer, size_t len);
    void *arg;
    uint8_t id[2];
};

static void on_forwarded(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
    (void)timeouts;
    struct forwarded *f = arg;
    /* Also when the resolver is being destroyed: the caller frees what waits for the answer. */
    if (status == ARES_SUCCESS && abuf && alen >= 2) {
        uint8_t *copy = cw_xmalloc((size_t)alen);
        memcpy(copy, abuf, (size_t)alen);
        memcpy(copy, f->id, 2); /* c-ares sent the query with an ID of its own */
        f->done(f->arg, copy, (size_t)alen);
        free(copy);
    } else {
        f->done(f->arg, NULL, 0);
    }
    free(f);
}

void cw_dns_resolver_forward(struct cw_dns_resolver *r, const uint8_t *msg, size_t len,
                             void (*done)(void *arg, const uint8_t *answer, size_t len),
                             void *arg)
{
    struct forwarded *f = cw_xcalloc(1, sizeof(*f));
    f->done = done;
    f->arg = arg;
    memcpy(f->id, msg, 2);
    ares_send(r->channel, msg, (int)len, on_forwarded, f);
    arm_ares_timer(r);
}

/* ---- lifecycle ---- */

static int set_servers(ares_channel ch, const char *const *servers, unsigned n, char *why,
                       size_t size)
{
    if (!n)
        return 0;
    char csv[2048];
    size_t len = 0;
    for (unsigned i = 0; i < n && len < sizeof(csv); i++)
        len += (size_t)snprintf(csv + len, sizeof(csv) - len, "%s%s", i ? "," : "", servers[i]);
    int rc = len < sizeof(csv) ? ares_set_servers_ports_csv(ch, csv) : ARES_EBADSTR;
    if (rc != ARES_SUCCESS) {
        snprintf(why, size, "--dns-server %s: %s", csv, ares_strerror(rc));
        return -1;
    }
    return 0;
}

int cw_dns_resolver_new(struct cw_dns_resolver **out, uv_loop_t *loop,
                        const struct cw_dns_resolver_config *cfg, char *why, size_t size)
{
    static bool library_ready;
    if (!library_ready && ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS)
        library_ready = true;
    struct cw_dns_resolver *r = cw_xcalloc(1, sizeof(*r));
    r->loop = loop;
    r->settings = cfg->settings;
    r->events = cfg->events;
    struct ares_options opts = {.sock_state_cb = on_socket_state,
                                .sock_state_cb_data = r,
                                .timeout = QUERY_TIMEOUT_MS,
                                .tries = QUERY_TRIES,
                                /* DNS only: the hosts file is ours (hosts_file.h) */
                                .lookups = (char *)"b"};
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
    int rc = ares_init_options(&r->channel, &opts, mask);
    if (rc != ARES_SUCCESS) {
        snprintf(why, size, "cannot start the resolver: %s", ares_strerror(rc));
        free(r);
        return -1;
    }
    if (set_servers(r->channel, cfg->servers, cfg->n_servers, why, size) != 0) {
        ares_destroy(r->channel);
        free(r);
        return -1;
    }
    cw_strmap_init(&r->by_name);
    if (cfg->hosts_file)
        r->hosts = cw_hosts_file_new(cfg->hosts_file, HOSTS_FILE_CHECK_MS);
    uv_timer_init(loop, &r->ares_timer);
    uv_timer_init(loop, &r->coalesce);
    r->ares_timer.data = r->coalesce.data = r;
    r->handles_open = 2;
    *out = r;
    return 0;
}

void cw_dns_resolver_on_change(struct cw_dns_resolver *r, void (*fn)(void *data), void *data)
{
    r->on_change = fn;
    r->change_data = data;
}

static void free_resolver(struct cw_dns_resolver *r)
{
    for (uint32_t i = 0; i < r->n_entries; i++) {
        cw_dns_name_deinit(&r->entries[i]->n);
        free(r->entries[i]);
    }
    free(r->entries);
    cw_strmap_deinit(&r->by_name);
    cw_hosts_file_free(r->hosts);
    free(r);
}

static void handle_closed(struct cw_dns_resolver *r)
{
    if (--r->handles_open == 0)
        free_resolver(r);
}

static void on_timer_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_refresh_closed(uv_handle_t *h)
{
    handle_closed(((struct entry *)h->data)->r);
}

void cw_dns_resolver_close(struct cw_dns_resolver *r)
{
    r->closing = true;
    ares_destroy(r->channel); /* ends every lookup (ARES_EDESTRUCTION) and closes its sockets */
    while (r->pollers) { /* sockets c-ares did not report closed */
        struct poller *p = r->pollers;
        r->pollers = p->next;
        uv_close((uv_handle_t *)&p->poll, free_poller);
    }
    uv_close((uv_handle_t *)&r->ares_timer, on_timer_closed);
    uv_close((uv_handle_t *)&r->coalesce, on_timer_closed);
    for (uint32_t i = 0; i < r->n_entries; i++)
        uv_close((uv_handle_t *)&r->entries[i]->refresh, on_refresh_closed);
}

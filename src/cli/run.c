/*
 * `causeway run`: load and translate the manifests, then serve them until SIGTERM or SIGINT.
 * INVALID objects are simply not served (as Gloo does); causeway refuses to start only when a
 * path cannot be read or nothing at all is left to serve.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "admin/admin.h"
#include "cli/cli.h"
#include "cli/dns_options.h"
#include "cli/dns_start.h"
#include "cli/file_watch.h"
#include "cli/options.h"
#include "config/config.h"
#include "event/loop.h"
#include "proxy/access_log.h"
#include "proxy/proxy.h"
#include "snapshot/snapshot.h"
#include "translate/translate.h"
#include "upstream/outlier.h"
#include "util/cpu_list.h"
#include "util/event_log.h"
#include "util/stats.h"
#include "util/text.h"
#include "util/xalloc.h"

struct run_options {
    struct cw_common_options common;
    struct cw_proxy_config proxy;
    const char *access_log;
    bool json_log;
    bool no_watch; /* --watch off: only SIGHUP reloads */
    const char *admin;          /* ADDR:PORT, or NULL for --admin off */
    uint64_t shutdown_delay_ms; /* not ready, yet accepting, this long before draining */
    bool strict;                /* --strict: nothing INVALID is started or reloaded */
    struct cw_dns_options dns;
    bool workers_given;            /* --workers */
    struct cw_cpu_list worker_cpus; /* --worker-cpus; n 0: not pinned */
    struct cw_cpu_list control_cpus; /* --control-cpus; n 0: not pinned */
    const char *worker_cpus_text, *control_cpus_text; /* as given */
};

#define DEFAULT_ADMIN "127.0.0.1:9901"
#define MAX_WORKERS 256

static void usage(FILE *out)
{
    fputs("Usage: causeway run -c PATH [-c PATH...] [options]\n"
          "\n"
          "Serves the listeners of the VirtualGateways that select this gateway, routing\n"
          "HTTP requests and TCP connections to the endpoints of ExternalServices.\n"
          "SIGTERM or SIGINT: stop accepting, finish in-flight work (up to --drain-timeout),\n"
          "exit 0. SIGHUP, or a change to a manifest or certificate file (--watch): reload\n"
          "the manifests and certificates; unchanged endpoints keep their outlier state,\n"
          "and a configuration that cannot be served is rejected (the running one keeps\n"
          "serving). Ejections and returns of endpoints are logged on stderr.\n"
          "SIGUSR1: reopen the access log file (after logrotate moved it).\n"
          "\n"
          "Options:\n",
          out);
    cw_common_options_help(out);
    fputs("      --workers N          worker threads (default: the CPUs this process may run\n"
          "                           on, or those of --worker-cpus)\n"
          "      --worker-cpus LIST   pin worker i to the i-th CPU of LIST (\"0-3,6\")\n"
          "      --control-cpus LIST  run the control thread (reloads, DNS lookups, the admin\n"
          "                           API) on LIST only, e.g. apart from the workers' CPUs\n"
          "      --bind ADDR          address the listeners bind (default 0.0.0.0)\n"
          "      --access-log FILE|-  one line per request or TCP connection (default: none)\n"
          "      --log-format F       access log as text (default) or json\n"
          "      --connect-timeout D  upstream connect timeout (default 2s); a failed connect\n"
          "                           is retried on another endpoint\n"
          "      --request-header-timeout D\n"
          "                           a client must send request headers within D (default 10s)\n"
          "      --upstream-timeout D an upstream must start its response within D of getting\n"
          "                           the whole request (default 30s)\n"
          "      --idle-timeout D     close connections idle for D (default 60s); a request\n"
          "                           body stalled for D gets 408 (client) or 504 (upstream)\n"
          "      --drain-timeout D    on shutdown, in-flight work gets D (default 10s)\n"
          "      --shutdown-delay D   on SIGTERM, /ready answers 503 at once but the listeners\n"
          "                           keep accepting for D before draining (default 0), so a\n"
          "                           load balancer stops sending first\n"
          "      --admin ADDR:PORT|off\n"
          "                           the admin API: /ready, /healthz, /metrics (Prometheus),\n"
          "                           /clusters, /config_dump, /status, /events and a page at /\n"
          "                           (default " DEFAULT_ADMIN ")\n"
          "      --max-request-body S a request body larger than S (e.g. 10m) gets 413\n"
          "                           (default: no limit; bodies are streamed, never held)\n"
          "      --max-connections N  client connections at once (default: no cap); at the cap\n"
          "                           idle keep-alive connections make way, else new ones wait\n"
          "      --busy-poll on|off|US\n"
          "                           under load, a worker polls for up to US microseconds\n"
          "                           before it sleeps, which spares the sending core a\n"
          "                           wake-up (default on: 20); an idle worker never\n"
          "                           polls. It costs CPU per request: see BENCHMARKS.md\n"
          "      --strict             refuse to start, or to reload, while any object is\n"
          "                           INVALID (the running configuration keeps serving)\n"
          "      --watch on|off       reload when a -c manifest or a certificate, key or CA\n"
          "                           file in use changes (default on); off: SIGHUP only\n",
          out);
    cw_dns_options_help(out, true);
    fputs("  -h, --help               show this help\n"
          "\n"
          "Durations use Go syntax: 500ms, 2s, 1m30s.\n",
          out);
}

static int duration_option(const char *name, const char *v, uint64_t *out)
{
    const char *why;
    if (!v || cw_duration_parse(v, out, &why) != 0) {
        fprintf(stderr, "causeway run: %s: invalid duration \"%s\": %s\n", name, v ? v : "",
                v ? why : "missing value");
        return -1;
    }
    return 0;
}

static const struct {
    const char *name;
    size_t offset;
} durations[] = {
    {"--connect-timeout", offsetof(struct cw_timeouts, connect_ms)},
    {"--request-header-timeout", offsetof(struct cw_timeouts, request_headers_ms)},
    {"--upstream-timeout", offsetof(struct cw_timeouts, upstream_ms)},
    {"--idle-timeout", offsetof(struct cw_timeouts, idle_ms)},
    {"--drain-timeout", offsetof(struct cw_timeouts, drain_ms)},
};

/* "1048576", "512k", "10m", "1g" (powers of 1024) into bytes. */
static int parse_size(const char *text, uint64_t *out)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text)
        return -1;
    unsigned shift = *end == 'k' || *end == 'K'   ? 10
                     : *end == 'm' || *end == 'M' ? 20
                     : *end == 'g' || *end == 'G' ? 30
                                                  : 0;
    if (shift)
        end++;
    if (*end || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

/* Returns 0 to continue, or an exit code. */
static int parse_args(struct run_options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        enum cw_opt_result r = cw_common_option(&o->common, argc, argv, &i);
        if (r == CW_OPT_UNKNOWN)
            r = cw_dns_option(&o->dns, true, argc, argv, &i, "run");
        if (r == CW_OPT_TAKEN)
            continue;
        if (r == CW_OPT_ERROR)
            return 2;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            usage(stdout);
            return 0;
        }
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool matched = false;
        for (size_t d = 0; d < sizeof(durations) / sizeof(durations[0]); d++) {
            if (strcmp(arg, durations[d].name) != 0)
                continue;
            matched = true;
            if (duration_option(
                    arg, v, (uint64_t *)((char *)&o->proxy.timeouts + durations[d].offset)) != 0)
                return 2;
            i++;
        }
        if (matched)
            continue;
        if (!strcmp(arg, "--workers") && v && atoi(v) > 0 && atoi(v) <= MAX_WORKERS) {
            o->proxy.workers = (unsigned)atoi(v);
            o->workers_given = true;
        } else if ((!strcmp(arg, "--worker-cpus") || !strcmp(arg, "--control-cpus")) && v) {
            char why[512];
            bool workers = !strcmp(arg, "--worker-cpus");
            struct cw_cpu_list *list = workers ? &o->worker_cpus : &o->control_cpus;
            *(workers ? &o->worker_cpus_text : &o->control_cpus_text) = v;
            if (cw_cpu_list_parse(v, list, why, sizeof(why)) != 0) {
                fprintf(stderr, "causeway run: %s: %s\n", arg, why);
                return 2;
            }
        } else if (!strcmp(arg, "--max-request-body") && v) {
            if (parse_size(v, &o->proxy.max_request_body) != 0) {
                fprintf(stderr,
                        "causeway run: --max-request-body must be a size such as 10m, "
                        "512k or 1g, got %s\n",
                        v);
                return 2;
            }
        } else if (!strcmp(arg, "--busy-poll") && v) {
            char *end;
            unsigned long us = strtoul(v, &end, 10);
            if (!strcmp(v, "on") || !strcmp(v, "off"))
                cw_io_set_busy_poll(!strcmp(v, "on") ? CW_IO_BUSY_POLL_ON_US : 0);
            else if (end != v && !*end && us <= 10000)
                cw_io_set_busy_poll((uint32_t)us);
            else {
                fprintf(stderr, "causeway run: --busy-poll takes on, off or microseconds "
                                "(0 to 10000), got %s\n", v);
                return 2;
            }
        } else if (!strcmp(arg, "--max-connections") && v) {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (end == v || *end || v[0] == '-' || n == 0 || n > 10000000) {
                fprintf(stderr, "causeway run: --max-connections takes a number of client "
                                "connections from 1 to 10000000, got %s\n",
                        v);
                return 2;
            }
            o->proxy.max_connections = n;
        } else if (!strcmp(arg, "--admin") && v) {
            o->admin = strcmp(v, "off") ? v : NULL;
        } else if (!strcmp(arg, "--shutdown-delay")) {
            if (duration_option(arg, v, &o->shutdown_delay_ms) != 0)
                return 2;
        } else if (!strcmp(arg, "--strict")) { /* takes no value */
            o->strict = true;
            continue;
        } else if (!strcmp(arg, "--watch") && v && (!strcmp(v, "on") || !strcmp(v, "off"))) {
            o->no_watch = !strcmp(v, "off");
        } else if (!strcmp(arg, "--bind") && v) {
            o->proxy.bind = v;
        } else if (!strcmp(arg, "--access-log") && v) {
            o->access_log = v;
        } else if (!strcmp(arg, "--log-format") && v &&
                   (!strcmp(v, "text") || !strcmp(v, "json"))) {
            o->json_log = !strcmp(v, "json");
        } else {
            fprintf(stderr, "causeway run: bad or unknown argument %s%s%s (see --help)\n", arg,
                    v ? " " : "", v ? v : "");
            return 2;
        }
        i++;
    }
    if (o->common.n_paths == 0) {
        fprintf(stderr, "causeway run: give at least one -c PATH (see --help)\n");
        return 2;
    }
    return cw_dns_options_check(&o->dns, "run") ? 2 : -1;
}

/* Tells the operator, once, what is not served and why. */
static void report_statuses(const struct cw_config *cfg, const struct cw_translation *tr)
{
    for (uint32_t i = 0; i < cfg->objects.n; i++) {
        const struct cw_object *o = cfg->objects.v[i];
        const struct cw_status *st = &tr->statuses[o->id];
        if (st->approval == CW_APPROVAL_INVALID || st->approval == CW_APPROVAL_WARNING)
            fprintf(stderr, "causeway: %s %s/%s: %s: %s\n", cw_kind_name(o->kind), o->meta.ns,
                    o->meta.name, cw_approval_name(st->approval), st->message);
    }
}

/* One loaded configuration. The generations built from it share it: the one a reload builds,
 * and those a DNS change builds (new addresses, same configuration). */
struct loaded_config {
    _Atomic uint32_t refs; /* generations; the last may let go on a worker */
    struct cw_loaded loaded;
};

/* A loaded configuration and the hosts it names now: what the workers serve (a generation). */
struct served {
    struct cw_generation gen; /* first: the proxy hands back &gen */
    struct loaded_config *config;
    struct cw_upstreams upstreams;
};

static void release_served(struct cw_generation *g)
{
    struct served *s = (struct served *)g;
    cw_upstreams_free(&s->upstreams);
    if (atomic_fetch_sub(&s->config->refs, 1) == 1) {
        cw_loaded_free(&s->config->loaded);
        free(s->config);
    }
    free(s);
}

/* A generation of <config> (taking a reference), its hosts not yet built. */
static struct served *served_of(struct loaded_config *config)
{
    struct served *s = cw_xcalloc(1, sizeof(*s));
    atomic_fetch_add(&config->refs, 1);
    s->config = config;
    s->gen.snapshot = config->loaded.tr.snapshot;
    s->gen.upstreams = &s->upstreams;
    atomic_init(&s->gen.refs, 1);
    s->gen.release = release_served;
    return s;
}

/* Loads and translates the -c paths; the statuses are reported, the hosts not yet built. */
static struct served *load_served(const struct run_options *o)
{
    struct loaded_config *config = cw_xcalloc(1, sizeof(*config));
    cw_load_and_translate(&o->common, &config->loaded);
    report_statuses(&config->loaded.cfg, &config->loaded.tr);
    return served_of(config);
}

/* Builds the hosts of <s> from the addresses <resolver> knows now (NULL: names have none yet),
 * sharing host health with <previous> when given. */
static void build_hosts(struct served *s, struct served *previous,
                        struct cw_dns_resolver *resolver)
{
    struct cw_diags diags;
    cw_diags_init(&diags);
    struct cw_name_lookup names = {.addresses = cw_dns_resolver_addresses, .ctx = resolver};
    cw_upstreams_build(&s->upstreams, s->gen.snapshot, previous ? &previous->upstreams : NULL,
                       resolver ? &names : NULL, &diags);
    cw_diags_print(&diags, stderr);
    cw_diags_deinit(&diags);
}

/* How many objects of <s> are INVALID. */
static unsigned count_invalid(const struct served *s)
{
    unsigned n = 0;
    for (uint32_t i = 0; i < s->config->loaded.tr.n_statuses; i++)
        n += s->config->loaded.tr.statuses[i].approval == CW_APPROVAL_INVALID;
    return n;
}

/* Why <next> cannot replace <current> without a restart, or NULL. */
static const char *reload_refusal(const struct served *current, const struct served *next,
                                  bool strict, char *buf, size_t size)
{
    const struct cw_snapshot *a = current->gen.snapshot, *b = next->gen.snapshot;
    if (next->config->loaded.unreadable)
        return "a configuration path cannot be read";
    if (next->config->loaded.diags.errors) {
        snprintf(buf, size, "the configuration has %u error(s) (above)",
                 next->config->loaded.diags.errors);
        return buf;
    }
    if (a->listeners.n != b->listeners.n) {
        snprintf(buf, size, "the listeners changed (%u before, %u now); restart to apply",
                 a->listeners.n, b->listeners.n);
        return buf;
    }
    /* The same ports with the same kinds, in any order: the sockets are kept. */
    for (uint32_t i = 0; i < a->listeners.n; i++) {
        const struct cw_snapshot_listener *x = a->listeners.v[i];
        const struct cw_snapshot_listener *y = cw_snapshot_listener_on(b, x->port);
        if (!y) {
            snprintf(buf, size, "listener %u is gone; restart to apply", x->port);
            return buf;
        }
        /* HTTP and TCP sessions, and SNI pass-through, are chosen per socket when it opens;
         * TLS termination is chosen per connection, so http <-> https needs no restart. */
        if (x->http != y->http || x->passthrough != y->passthrough) {
            snprintf(buf, size, "listener %u changed from %s to %s; restart to apply", x->port,
                     cw_snapshot_listener_kind(x), cw_snapshot_listener_kind(y));
            return buf;
        }
    }
    unsigned invalid = count_invalid(next);
    if (strict && invalid) {
        snprintf(buf, size, "--strict: %u object(s) INVALID (above)", invalid);
        return buf;
    }
    return NULL;
}

struct server {
    const struct run_options *options;
    struct cw_proxy *proxy;
    struct served *current; /* the control thread's reference */
    sigset_t held;          /* signals blocked until the control loop handles them */
    uv_loop_t *loop;
    struct cw_file_watch *watch; /* the -c paths and the TLS files of <current> */
    struct cw_access_log *access_log;
    struct cw_admin_source admin; /* what the admin API shows */
    struct cw_admin *admin_server;
    struct cw_dns_resolver *resolver;   /* the names of <current>'s endpoints */
    struct cw_dns_responder *responder; /* --dns-listen, or NULL */
};

/* The admin API shows <s> from now on. */
static void show_served(struct server *srv, struct served *s)
{
    srv->admin.gen = &s->gen;
    srv->admin.cfg = &s->config->loaded.cfg;
    srv->admin.tr = &s->config->loaded.tr;
}

/* How long the watched files must be quiet before a change reloads (a Secret's keys, an
 * editor's temporary file and rename come as one burst). */
#define RELOAD_QUIET_MS 200

/* TLS files beyond this many are not watched (SIGHUP still reloads them). */
#define WATCHED_TLS_FILES 1024

static void on_files_changed(void *data);

/* Watches what the configuration being served was read from: the -c paths and every
 * certificate, key and CA file, so that a change to any of them reloads. */
static void watch_files(struct server *srv)
{
    cw_file_watch_stop(srv->watch);
    srv->watch = NULL;
    if (srv->options->no_watch)
        return;
    const struct cw_common_options *c = &srv->options->common;
    const char *paths[64 + WATCHED_TLS_FILES];
    unsigned n = c->n_paths;
    memcpy(paths, c->paths, n * sizeof(*paths));
    unsigned tls = cw_snapshot_tls_files(srv->current->gen.snapshot, paths + n, WATCHED_TLS_FILES);
    n += tls < WATCHED_TLS_FILES ? tls : WATCHED_TLS_FILES;
    srv->watch = cw_file_watch_start(srv->loop, paths, n, RELOAD_QUIET_MS, on_files_changed, srv);
}

/* Builds the hosts of <next> and hands it to the workers in place of the current generation. */
static void serve_next(struct server *srv, struct served *next)
{
    build_hosts(next, srv->current, srv->resolver);
    cw_ejection_adopt(&srv->current->upstreams, &next->upstreams);
    cw_proxy_publish(srv->proxy, &next->gen);
    cw_generation_unref(&srv->current->gen);
    srv->current = next;
    show_served(srv, next); /* the admin API shows what is served, after a reload or a DNS change */
    srv->admin.generation++;
}

/* Loads the manifests again and serves them, keeping every unchanged endpoint's health; a
 * configuration that cannot be served leaves the running one untouched. Certificates and keys
 * are read again too: new handshakes use them, open connections keep theirs. */
static void reload(struct server *srv, const char *cause, enum cw_reload_trigger trigger)
{
    if (srv->admin.draining) {
        fprintf(stderr, "causeway: %s while draining; not reloading\n", cause);
        return;
    }
    fprintf(stderr, "causeway: %s, reloading\n", cause);
    struct served *next = load_served(srv->options);
    char why[256];
    const char *refusal =
        reload_refusal(srv->current, next, srv->options->strict, why, sizeof(why));
    if (refusal) {
        fprintf(stderr, "causeway: reload rejected: %s; still serving the previous configuration\n",
                refusal);
        srv->admin.reload_failures[trigger]++;
        cw_event_log_add(srv->admin.events, "reload-rejected",
                         (const char *[]){"cause", cause, "reason", refusal, NULL});
        cw_generation_unref(&next->gen);
        watch_files(srv); /* a file may have been replaced: watch where it is now */
        return;
    }
    cw_cli_dns_want(srv->resolver, next->gen.snapshot); /* every name again at once; new ones join when answered */
    serve_next(srv, next);
    srv->admin.reloads[trigger]++;
    if (srv->responder)
        cw_dns_responder_serve(srv->responder, next->gen.snapshot);
    fprintf(stderr, "causeway: reloaded: %u listener(s), %u cluster(s)\n",
            next->gen.snapshot->listeners.n, next->gen.snapshot->clusters.n);
    char generation[24];
    snprintf(generation, sizeof(generation), "%llu", (unsigned long long)srv->admin.generation);
    cw_event_log_add(srv->admin.events, "reload",
                     (const char *[]){"cause", cause, "generation", generation, NULL});
    watch_files(srv);
}

/* Some name's addresses changed: the same configuration with the hosts the names give now. An
 * address that stays keeps its health record; work on one that left finishes on the generation
 * it started with. */
static void on_names_changed(void *data)
{
    struct server *srv = data;
    serve_next(srv, served_of(srv->current->config));
}

static void on_files_changed(void *data)
{
    reload(data, "configuration or certificate files changed", CW_RELOAD_FILES);
}

static void on_reload_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    reload(sig->data, "SIGHUP received", CW_RELOAD_SIGNAL);
}

static void on_reopen_signal(uv_signal_t *sig, int signum)
{
    (void)signum;
    struct server *srv = sig->data;
    if (!srv->access_log)
        return;
    int rc = cw_access_log_reopen(srv->access_log, srv->options->access_log);
    if (rc != 0)
        fprintf(stderr, "causeway: SIGUSR1: cannot reopen access log %s: %s; still writing the "
                        "old file\n",
                srv->options->access_log, strerror(-rc));
    else
        fprintf(stderr, "causeway: SIGUSR1 received, access log reopened\n");
}

static void print_listeners(const struct run_options *o, const struct cw_snapshot *snap)
{
    fprintf(stderr, "causeway: serving %u listener(s) on %s with %u worker(s)\n", snap->listeners.n,
            o->proxy.bind, o->proxy.workers);
    if (o->worker_cpus.n || o->control_cpus.n)
        fprintf(stderr, "causeway: workers on CPUs %s, control thread on CPUs %s\n",
                o->worker_cpus.n ? o->worker_cpus_text : "(not pinned)",
                o->control_cpus.n ? o->control_cpus_text : "(not pinned)");
    for (uint32_t i = 0; i < snap->listeners.n; i++)
        fprintf(stderr, "causeway: listener %u %s\n", snap->listeners.v[i]->port,
                cw_snapshot_listener_kind(snap->listeners.v[i]));
}

/* The control thread's loop: signals, reloads, ejections, the admin API. */
struct control {
    uv_loop_t *loop;
    uv_signal_t sigterm, sigint, sighup, sigusr1;
    uv_timer_t shutdown_delay; /* SIGTERM came: not ready, still accepting */
    uv_timer_t drain_check;    /* draining: is every worker done? */
    struct server *srv;
};

/* Every worker finished its in-flight work (or the drain timeout ended it): stop the loop. */
static void on_drain_check(uv_timer_t *t)
{
    struct control *c = t->data;
    if (cw_proxy_stopped(c->srv->proxy))
        uv_stop(t->loop);
}

#define DRAIN_CHECK_MS 20

/* The shutdown delay is over: the listeners close and in-flight work drains, while the
 * control loop (and so the admin API) keeps running. */
static void on_shutdown_delay_over(uv_timer_t *t)
{
    struct control *c = t->data;
    cw_proxy_begin_stop(c->srv->proxy);
    uv_timer_start(&c->drain_check, on_drain_check, 0, DRAIN_CHECK_MS);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    struct control *c = sig->data;
    struct server *srv = c->srv;
    if (srv->admin.draining)
        return; /* already on its way out */
    srv->admin.draining = true;
    const char *name = signum == SIGTERM ? "SIGTERM" : "SIGINT";
    uint64_t delay = srv->options->shutdown_delay_ms;
    fprintf(stderr, "causeway: %s received, draining\n", name);
    if (delay)
        fprintf(stderr, "causeway: not ready; the listeners accept for %llu ms more "
                        "(--shutdown-delay)\n",
                (unsigned long long)delay);
    cw_event_log_add(srv->admin.events, "shutdown", (const char *[]){"signal", name, NULL});
    uv_timer_start(&c->shutdown_delay, on_shutdown_delay_over, delay, 0);
}

/* Sets up everything the control loop owns before the listeners accept: a gateway that
 * accepts connections is whole (descriptors and all), and a signal that comes early waits,
 * blocked, for its handler. */
static void control_prepare(struct server *srv, struct control *c)
{
    c->loop = uv_default_loop();
    c->srv = srv;
    srv->loop = c->loop;
    watch_files(srv);
    cw_ejection_start(&srv->current->upstreams, c->loop, stderr, srv->admin.events);
    uv_signal_init(c->loop, &c->sigterm);
    uv_signal_init(c->loop, &c->sigint);
    uv_signal_init(c->loop, &c->sighup);
    uv_signal_init(c->loop, &c->sigusr1);
    uv_timer_init(c->loop, &c->shutdown_delay);
    uv_timer_init(c->loop, &c->drain_check);
    c->sigterm.data = c->sigint.data = c->shutdown_delay.data = c->drain_check.data = c;
    c->sighup.data = c->sigusr1.data = srv;
    uv_signal_start(&c->sigterm, on_signal, SIGTERM);
    uv_signal_start(&c->sigint, on_signal, SIGINT);
    uv_signal_start(&c->sighup, on_reload_signal, SIGHUP);
    uv_signal_start(&c->sigusr1, on_reopen_signal, SIGUSR1);
}

static void control_close(struct server *srv, struct control *c)
{
    cw_ejection_stop(&srv->current->upstreams);
    cw_file_watch_stop(srv->watch);
    srv->watch = NULL;
    cw_admin_stop(srv->admin_server);
    srv->admin_server = NULL;
    cw_dns_resolver_close(srv->resolver); /* first: forwarded queries end before the responder */
    if (srv->responder)
        cw_dns_responder_close(srv->responder);
    uv_close((uv_handle_t *)&c->sigterm, NULL);
    uv_close((uv_handle_t *)&c->sigint, NULL);
    uv_close((uv_handle_t *)&c->sighup, NULL);
    uv_close((uv_handle_t *)&c->sigusr1, NULL);
    uv_close((uv_handle_t *)&c->shutdown_delay, NULL);
    uv_close((uv_handle_t *)&c->drain_check, NULL);
    uv_run(c->loop, UV_RUN_DEFAULT);
}

/* Runs the control loop until SIGTERM/SIGINT, then stops the proxy. */
static void control_run(struct server *srv, struct control *c)
{
    pthread_sigmask(SIG_UNBLOCK, &srv->held, NULL); /* one that came meanwhile is handled now */
    uv_run(c->loop, UV_RUN_DEFAULT);
    cw_proxy_stop(srv->proxy);
    control_close(srv, c);
}

/* Starts the admin API (unless --admin off); false after saying why it cannot listen. */
static bool start_admin(struct server *srv)
{
    const char *addr = srv->options->admin;
    if (!addr)
        return true;
    char err[256];
    srv->admin_server = cw_admin_start(srv->loop, addr, &srv->admin, err, sizeof(err));
    if (!srv->admin_server) {
        fprintf(stderr, "causeway run: %s; not starting\n", err);
        return false;
    }
    fprintf(stderr, "causeway: admin API on http://%s/\n", addr);
    return true;
}

static void warn_unresolved(void *data, const struct cw_external_service *es, const char *name,
                            const char *reason)
{
    (void)data;
    fprintf(stderr, "causeway: ExternalService %s/%s: WARNING: %s%s%s\n", es->obj.meta.ns,
            es->obj.meta.name, name, reason ? " does not resolve: " : "", reason ? reason : "");
}

/* --control-cpus, once the workers run: they were started with the process's CPUs (a thread
 * inherits its creator's), so only the control thread moves. */
static void pin_control_thread(const struct run_options *o)
{
    if (!o->control_cpus.n)
        return;
    int err = cw_cpu_pin_self(&o->control_cpus, NULL);
    if (err)
        fprintf(stderr, "causeway run: --control-cpus: %s\n", strerror(err));
}

static int serve(struct run_options *o, struct served *first)
{
    cw_stats_init(o->proxy.workers + 1); /* before the hosts: they have a slot per thread */
    o->proxy.generation = &first->gen;
    struct cw_access_log log;
    if (o->access_log) {
        int rc = cw_access_log_open(&log, o->access_log, o->json_log);
        if (rc != 0) {
            fprintf(stderr, "causeway run: cannot open access log %s: %s\n", o->access_log,
                    strerror(-rc));
            return 1;
        }
        o->proxy.access_log = &log;
    }
    /* A gateway that starts serves the names that resolve at once; the others join as they
     * do (the wait is bounded). */
    struct cw_dns_resolver *resolver = cw_cli_dns_resolve(&o->dns, first->gen.snapshot, stderr,
                                                          warn_unresolved, NULL, "run");
    if (!resolver) {
        if (o->access_log)
            cw_access_log_close(&log);
        return 1;
    }
    build_hosts(first, NULL, resolver);
    struct cw_dns_responder *responder;
    if (cw_cli_dns_responder_start(&o->dns, first->gen.snapshot, resolver, &responder) != 0) {
        cw_dns_resolver_close(resolver);
        uv_run(uv_default_loop(), UV_RUN_DEFAULT);
        if (o->access_log)
            cw_access_log_close(&log);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Held until the control loop's handlers are installed: a SIGTERM that comes while the
     * listeners already accept is then a drain, not a default death. The workers, started
     * meanwhile, keep them blocked, so only the control thread receives them. */
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGHUP);
    sigaddset(&held, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &held, NULL);
    struct server srv = {.options = o,
                         .current = first,
                         .held = held,
                         .access_log = o->access_log ? &log : NULL,
                         .admin = {.generation = 1, .events = cw_event_log_new(),
                                   .resolver = resolver},
                         .resolver = resolver,
                         .responder = responder};
    show_served(&srv, first);
    cw_dns_resolver_on_change(resolver, on_names_changed, &srv);
    struct control control;
    control_prepare(&srv, &control);
    if (start_admin(&srv))
        srv.proxy = cw_proxy_start(&o->proxy);
    if (!srv.proxy) {
        control_close(&srv, &control);
        if (o->access_log)
            cw_access_log_close(&log);
        cw_event_log_free(srv.admin.events);
        return 1;
    }
    srv.admin.serving = true;
    pin_control_thread(o);
    print_listeners(o, first->gen.snapshot);
    cw_generation_ref(&first->gen); /* the caller's reference stays with the caller */
    control_run(&srv, &control);
    cw_generation_unref(&srv.current->gen);
    if (o->access_log)
        cw_access_log_close(&log);
    cw_event_log_free(srv.admin.events);
    fprintf(stderr, "causeway: stopped\n");
    return 0;
}

int cw_cli_run(int argc, char **argv)
{
    struct run_options o = {
        .admin = DEFAULT_ADMIN,
        .proxy = {.bind = "0.0.0.0",
                  .timeouts = {.connect_ms = 2000,
                               .request_headers_ms = 10000,
                               .upstream_ms = 30000,
                               .idle_ms = 60000,
                               .drain_ms = 10000}},
    };
    if (cw_common_options_init(&o.common) != 0) {
        cw_common_options_deinit(&o.common);
        return 2;
    }
    cw_dns_options_init(&o.dns);
    o.proxy.workers = cw_cpu_allowed_count() < MAX_WORKERS ? cw_cpu_allowed_count() : MAX_WORKERS;
    int rc = parse_args(&o, argc, argv);
    if (rc >= 0) {
        cw_common_options_deinit(&o.common);
        return rc;
    }
    if (o.worker_cpus.n) {
        o.proxy.worker_cpus = &o.worker_cpus;
        if (!o.workers_given)
            o.proxy.workers = o.worker_cpus.n < MAX_WORKERS ? o.worker_cpus.n : MAX_WORKERS;
    }
    struct served *first = load_served(&o);
    const struct cw_snapshot *snap = first->gen.snapshot;
    if (first->config->loaded.unreadable) {
        fprintf(stderr, "causeway run: a configuration path cannot be read; not starting\n");
        rc = 1;
    } else if (o.strict && count_invalid(first)) {
        fprintf(stderr, "causeway run: --strict: %u object(s) INVALID (above); not starting\n",
                count_invalid(first));
        rc = 1;
    } else if (snap->listeners.n == 0) {
        fprintf(stderr, "causeway run: nothing to serve: no VirtualGateway listener selects this "
                        "gateway (check --labels/--namespace and the statuses above)\n");
        rc = 1;
    } else {
        rc = serve(&o, first);
    }
    cw_generation_unref(&first->gen);
    cw_common_options_deinit(&o.common);
    return rc;
}

/*
 * Hosts of hostname endpoints (upstream/hosts.c with a name lookup, as the dns module gives
 * it): one host per address with the endpoint's locality and priority, the "not resolved"
 * mark when a name has none, and health kept for an address that stays across a rebuild.
 */
#include <arpa/inet.h>

#include "up_support.h"

#define TWO_NAMES                                                                                  \
    EP("local", "db.local.test", "{region: us-east-1, zone: us-east-1a}")                          \
    EP("west", "db.west.test", "{region: us-west-2, zone: us-west-2a}")

/* The test's DNS: db.local.test has <local> addresses, db.west.test one, others none. */
struct table {
    const char *local[3];
};

static int lookup(void *ctx, const char *name, struct sockaddr_storage *out, uint32_t cap)
{
    const struct table *t = ctx;
    const char *west[] = {"10.0.9.1", NULL};
    const char *const *list = !strcmp(name, "db.local.test")  ? t->local
                              : !strcmp(name, "db.west.test") ? west
                                                              : NULL;
    int n = 0;
    for (; list && list[n] && (uint32_t)n < cap; n++) {
        memset(&out[n], 0, sizeof(out[n]));
        out[n].ss_family = AF_INET;
        inet_pton(AF_INET, list[n], &((struct sockaddr_in *)&out[n])->sin_addr);
    }
    return n ? n : -1;
}

static void build(struct world *w, struct cw_upstreams *into, struct cw_upstreams *previous,
                  struct table *t)
{
    struct cw_name_lookup names = {.addresses = lookup, .ctx = t};
    struct cw_diags d;
    cw_diags_init(&d);
    cw_upstreams_build(into, w->x.tr.snapshot, previous, t ? &names : NULL, &d);
    cw_diags_deinit(&d);
}

static struct cw_upstream_cluster *db_of(struct cw_upstreams *u)
{
    for (uint32_t i = 0; i < u->n; i++)
        if (!strcmp(u->clusters[i].cluster->name, "data/db:5432"))
            return &u->clusters[i];
    fail_msg("no data/db:5432");
    return NULL;
}

static void every_address_is_a_host_of_the_endpoints_locality(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, TWO_NAMES ODP); /* built without names: nothing resolved */
    assert_int_equal(w.db->n_hosts, 0);
    assert_true(w.db->unresolved);
    struct table t = {{"10.0.0.1", "10.0.0.2", NULL}};
    struct cw_upstreams next;
    build(&w, &next, &w.ups, &t);
    struct cw_upstream_cluster *db = db_of(&next);
    assert_false(db->unresolved);
    assert_int_equal(db->n_hosts, 3);
    assert_string_equal(db->hosts[0].text, "10.0.0.1:5432");
    assert_string_equal(db->hosts[1].text, "10.0.0.2:5432");
    assert_string_equal(db->hosts[2].text, "10.0.9.1:5432");
    assert_string_equal(db->hosts[0].locality, "us-east-1/us-east-1a");
    assert_string_equal(db->hosts[1].locality, "us-east-1/us-east-1a");
    assert_int_equal(db->hosts[0].priority, db->hosts[1].priority);
    assert_string_equal(db->hosts[2].locality, "us-west-2/us-west-2a");
    assert_true(db->hosts[2].priority > db->hosts[0].priority);
    assert_string_equal(db->hosts[0].dns_name, "db.local.test");
    cw_upstreams_free(&next);
    world_stop(&w);
}

static void an_address_that_stays_keeps_its_health(void **state)
{
    (void)state;
    struct world w;
    world_start(&w, TWO_NAMES ODP_CONFIG("{consecutiveErrors: 5}"));
    struct table t = {{"10.0.0.1", "10.0.0.2", NULL}};
    struct cw_upstreams first, second;
    build(&w, &first, &w.ups, &t);
    struct cw_upstream_cluster *db = db_of(&first);
    atomic_store(&db->hosts[0].health->consecutive_errors, 3);
    struct cw_host_health *kept = db->hosts[0].health;
    t.local[1] = "10.0.0.3"; /* .2 leaves, .3 comes, .1 stays */
    build(&w, &second, &first, &t);
    db = db_of(&second);
    assert_int_equal(db->n_hosts, 3);
    assert_string_equal(db->hosts[1].text, "10.0.0.3:5432");
    assert_ptr_equal(db->hosts[0].health, kept);
    assert_int_equal(atomic_load(&db->hosts[0].health->consecutive_errors), 3);
    assert_int_equal(atomic_load(&db->hosts[1].health->consecutive_errors), 0);
    cw_upstreams_free(&first); /* the old build may go first: its records are shared */
    cw_upstreams_free(&second);
    world_stop(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_address_is_a_host_of_the_endpoints_locality),
        cmocka_unit_test(an_address_that_stays_keeps_its_health),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

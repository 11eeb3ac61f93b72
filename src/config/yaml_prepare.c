/*
 * cw_yaml_prepare (yaml.h): one walk over an unresolved document that binds aliases, bounds
 * their expansion, finds duplicate keys and merges merge keys, in time linear in the document.
 *
 * The walk recurses over the document as written, whose depth libfyaml's parser already bounds;
 * an alias is never walked into, only measured by what its anchor was found to hold.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/schema.h"
#include "config/yaml.h"

/* Mappings up to this many keys are checked for duplicates pairwise: cheaper than hashing. */
#define SMALL_MAPPING 16

struct walk {
    struct cw_yaml_doc *y;
    uint64_t own;      /* nodes of the document as written, seen so far */
    uint64_t expanded; /* nodes the aliases seen so far stand for */
    bool refused;      /* an alias problem: stop, counting further means nothing */
    uint32_t errors;
};

/* A subtree's size and height with its aliases expanded. */
struct extent {
    uint64_t nodes;
    uint32_t height;
};

static void error_at(struct walk *w, struct fy_node *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_at(struct walk *w, struct fy_node *node, const char *fmt, ...)
{
    uint32_t line = 0, col = 0;
    cw_node_position(node, &line, &col);
    if (col > 1 && fy_node_is_alias(node))
        col--; /* libfyaml's alias token starts at the name: point at its '*' */
    va_list ap;
    va_start(ap, fmt);
    cw_diags_vadd(w->y->diags, CW_SEV_ERROR, w->y->file, line, col, NULL, NULL, fmt, ap);
    va_end(ap);
    w->errors++;
}

/* A bomb's sizes overflow 64 bits after ~20 levels: saturate instead of wrapping to small. */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void grow(struct extent *e, struct extent child)
{
    e->nodes = add_sat(e->nodes, child.nodes);
    if (child.height + 1 > e->height)
        e->height = child.height + 1;
}

/* Marks every anchored node with its info, so the walk knows it when it gets there. */
static void find_anchors(struct cw_yaml_doc *y, struct fy_document *doc)
{
    void *iter = NULL;
    struct fy_anchor *a;
    while ((a = fy_document_anchor_iterate(doc, &iter))) {
        struct cw_yaml_info *info = CW_ARENA_NEW(&y->arena, struct cw_yaml_info);
        info->node = fy_anchor_node(a);
        info->anchor = fy_anchor_get_text(a, &info->anchor_len);
        if (info->node && info->anchor)
            fy_node_set_meta(info->node, info);
    }
}

static struct extent walk_node(struct walk *w, struct fy_node *node, uint32_t depth);

/*
 * An alias stands for what its anchor holds. The anchor named most recently before it counts
 * (YAML lets a name be anchored again); one still being walked contains the alias.
 */
static struct extent walk_alias(struct walk *w, struct fy_node *alias, uint32_t depth)
{
    struct extent one = {1, 1};
    size_t len = 0;
    const char *name = fy_node_get_scalar(alias, &len);
    struct cw_yaml_info *to = name ? cw_strmap_get(&w->y->anchors, name, len) : NULL;
    int n = (int)len;
    if (!to) {
        error_at(w, alias, "YAML alias *%.*s has no anchor &%.*s before it in this document", n,
                 name, n, name);
    } else if (!to->done) {
        error_at(w, alias,
                 "YAML alias *%.*s is inside the node it refers to (a recursive structure)", n,
                 name);
    } else {
        fy_node_set_meta(alias, to);
        w->expanded = add_sat(w->expanded, to->nodes);
        uint64_t limit = w->own > CW_YAML_MAX_ALIAS_NODES ? w->own : CW_YAML_MAX_ALIAS_NODES;
        uint32_t deepest = depth + to->height - 1;
        if (w->expanded > limit)
            error_at(w, alias,
                     "YAML aliases would expand this document by %llu nodes at *%.*s, over the "
                     "limit of %llu (aliases may add %u nodes, or as many as the document has of "
                     "its own when that is more)",
                     (unsigned long long)w->expanded, n, name, (unsigned long long)limit,
                     CW_YAML_MAX_ALIAS_NODES);
        else if (deepest > CW_YAML_MAX_DEPTH)
            error_at(w, alias,
                     "YAML alias *%.*s nests this document %u levels deep, more than the limit "
                     "of %u",
                     n, name, deepest, CW_YAML_MAX_DEPTH);
        else
            return (struct extent){to->nodes, to->height};
    }
    w->refused = true;
    return one;
}

/* The text a key is compared by, or NULL for a key that is not a scalar. */
static const char *key_text(struct fy_node *key, size_t *len)
{
    key = cw_yaml_deref(key);
    if (!key || fy_node_get_type(key) != FYNT_SCALAR)
        return NULL;
    const char *s = fy_node_get_scalar(key, len);
    if (!s) { /* an empty scalar may have no text at all; a hash key needs a pointer */
        *len = 0;
        return "";
    }
    return s;
}

/* "<<" written plain: YAML 1.1's merge key, which kubectl's decoder honours. */
static bool is_merge_key(struct fy_node *key)
{
    size_t len;
    const char *s;
    return key && fy_node_get_type(key) == FYNT_SCALAR && fy_node_get_style(key) == FYNS_PLAIN &&
           (s = fy_node_get_scalar(key, &len)) && len == 2 && s[0] == '<' && s[1] == '<';
}

struct key {
    const char *text;
    size_t len;
    struct fy_node *node;
};

static void report_duplicate(struct walk *w, const struct key *k, struct fy_node *first)
{
    uint32_t line = 0, col = 0;
    cw_node_position(first, &line, &col);
    int shown = k->len > 80 ? 80 : (int)k->len;
    error_at(w, k->node, "duplicate key \"%.*s%s\" (first at line %u, column %u)", shown, k->text,
             k->len > 80 ? "..." : "", line, col);
}

/*
 * Reports every key of <map> written twice, in linear time: pairwise for a small mapping, with a
 * hash set otherwise. Returns whether <map> has a merge key.
 */
static bool check_keys(struct walk *w, struct fy_node *map)
{
    bool small = fy_node_mapping_item_count(map) <= SMALL_MAPPING, merges = false;
    struct key seen[SMALL_MAPPING];
    int n_seen = 0;
    struct cw_strmap set;
    cw_strmap_init(&set);
    void *iter = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &iter))) {
        struct key k = {.node = fy_node_pair_key(p)};
        k.text = key_text(k.node, &k.len);
        if (!k.text)
            continue; /* a collection as a key: the decoder says keys must be strings */
        merges |= k.len == 2 && k.text[0] == '<' && is_merge_key(k.node); /* text first: cheap */
        struct fy_node *first = NULL;
        for (int i = 0; small && i < n_seen && !first; i++)
            if (seen[i].len == k.len && memcmp(seen[i].text, k.text, k.len) == 0)
                first = seen[i].node;
        if (small && !first)
            seen[n_seen++] = k;
        if (!small) {
            first = cw_strmap_put_new(&set, k.text, k.len, k.node);
            first = first == k.node ? NULL : first;
        }
        if (first)
            report_duplicate(w, &k, first);
    }
    cw_strmap_deinit(&set);
    return merges;
}

typedef CW_GROWABLE(struct cw_yaml_pair) pairs_t;

/* Appends <p> unless its key is already in <keys> (the first pair with a key wins). */
static void add_pair(struct cw_arena *arena, struct cw_strmap *keys, pairs_t *pairs,
                     struct cw_yaml_pair p)
{
    size_t len;
    const char *text = key_text(p.key, &len);
    if (text && cw_strmap_put_new(keys, text, len, p.key) != p.key)
        return;
    CW_ARENA_PUSH(arena, pairs, p);
}

/* Adds the pairs of merge source <src>, merged already (it was walked before its alias). */
static void add_source(struct walk *w, struct fy_node *src, struct cw_strmap *keys, pairs_t *pairs)
{
    if (fy_node_get_type(src) != FYNT_MAPPING) {
        error_at(w, src, "merge key \"<<\" takes a mapping or a list of mappings, got %s",
                 cw_node_type_name(src));
        return;
    }
    struct cw_yaml_iter it = {0};
    struct cw_yaml_pair p;
    while (cw_yaml_map_next(src, &it, &p))
        add_pair(&w->y->arena, keys, pairs, p);
}

/*
 * Lists the pairs of <map> as YAML 1.1's merge gives them: its own keys first, which override
 * merged ones, then each source's pairs in order, a key taken from the first source that has
 * it. The list replaces the mapping's own pairs for the accessors.
 */
static void merge(struct walk *w, struct fy_node *map)
{
    struct cw_strmap keys;
    cw_strmap_init(&keys);
    pairs_t pairs = {0};
    void *iter = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &iter)))
        if (!is_merge_key(fy_node_pair_key(p)))
            add_pair(&w->y->arena, &keys, &pairs,
                     (struct cw_yaml_pair){cw_yaml_deref(fy_node_pair_key(p)),
                                           cw_yaml_deref(fy_node_pair_value(p))});
    iter = NULL;
    while ((p = fy_node_mapping_iterate(map, &iter))) {
        if (!is_merge_key(fy_node_pair_key(p)))
            continue;
        struct fy_node *src = cw_yaml_deref(fy_node_pair_value(p));
        if (!src) {
            error_at(w, fy_node_pair_key(p), "merge key \"<<\" without a value");
        } else if (fy_node_get_type(src) == FYNT_SEQUENCE) {
            void *si = NULL;
            struct fy_node *item;
            while ((item = cw_yaml_seq_next(src, &si)))
                add_source(w, item, &keys, &pairs);
        } else {
            add_source(w, src, &keys, &pairs);
        }
    }
    cw_strmap_deinit(&keys);
    struct cw_yaml_info *info = fy_node_get_meta(map);
    if (!info) {
        info = CW_ARENA_NEW(&w->y->arena, struct cw_yaml_info);
        info->node = map;
        fy_node_set_meta(map, info);
    }
    info->merges = true;
    info->pairs = pairs.v;
    info->n_pairs = pairs.n;
}

static struct extent walk_sequence(struct walk *w, struct fy_node *seq, uint32_t depth)
{
    struct extent e = {1, 1};
    void *iter = NULL;
    struct fy_node *item;
    while (!w->refused && (item = fy_node_sequence_iterate(seq, &iter)))
        grow(&e, walk_node(w, item, depth + 1));
    return e;
}

static struct extent walk_mapping(struct walk *w, struct fy_node *map, uint32_t depth)
{
    struct extent e = {1, 1};
    void *iter = NULL;
    struct fy_node_pair *p;
    while (!w->refused && (p = fy_node_mapping_iterate(map, &iter))) {
        grow(&e, walk_node(w, fy_node_pair_key(p), depth + 1));
        grow(&e, walk_node(w, fy_node_pair_value(p), depth + 1));
    }
    /* After the pairs: an alias key is bound only once walked. */
    if (!w->refused && check_keys(w, map) && !w->errors)
        merge(w, map);
    return e;
}

static struct extent walk_node(struct walk *w, struct fy_node *node, uint32_t depth)
{
    if (!node || w->refused) /* an empty key or value ("a:") has no node */
        return (struct extent){0, 0};
    w->own++;
    if (fy_node_is_alias(node))
        return walk_alias(w, node, depth);
    struct cw_yaml_info *anchor = fy_node_get_meta(node); /* only anchored nodes have one yet */
    if (anchor)
        cw_strmap_set(&w->y->anchors, anchor->anchor, anchor->anchor_len, anchor);
    struct extent e = {1, 1};
    if (fy_node_get_type(node) == FYNT_SEQUENCE)
        e = walk_sequence(w, node, depth);
    else if (fy_node_get_type(node) == FYNT_MAPPING)
        e = walk_mapping(w, node, depth);
    if (anchor) {
        anchor->nodes = e.nodes;
        anchor->height = e.height;
        anchor->done = true;
    }
    return e;
}

int cw_yaml_prepare(struct cw_yaml_doc *y, struct fy_document *doc, struct cw_diags *diags,
                    const char *file)
{
    y->diags = diags;
    y->file = file;
    cw_arena_init(&y->arena);
    cw_strmap_init(&y->anchors);
    find_anchors(y, doc);
    struct walk w = {.y = y};
    walk_node(&w, fy_document_root(doc), 1);
    return w.errors ? -1 : 0;
}

void cw_yaml_release(struct cw_yaml_doc *y)
{
    cw_strmap_deinit(&y->anchors);
    cw_arena_deinit(&y->arena);
}

/*
 * cw_yaml_prepare (yaml.h): one walk over an unresolved document that binds aliases, bounds
 * their expansion, finds duplicate keys and merges merge keys, in time linear in the document.
 *
 * The walk recurses over the document as written, whose depth the reader already bounds;
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

static void error_at(struct walk *w, struct cw_ynode *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void error_at(struct walk *w, struct cw_ynode *node, const char *fmt, ...)
{
    uint32_t line = 0, col = 0;
    cw_node_position(node, &line, &col);
    if (col > 1 && node->type == CW_YNODE_ALIAS)
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

static struct extent walk_node(struct walk *w, struct cw_ynode *node, uint32_t depth);

/*
 * An alias stands for what its anchor holds. The anchor named most recently before it counts
 * (YAML lets a name be anchored again); one still being walked contains the alias.
 */
static struct extent walk_alias(struct walk *w, struct cw_ynode *alias, uint32_t depth)
{
    struct extent one = {1, 1};
    const char *name = alias->text;
    struct cw_yaml_info *to = cw_strmap_get(&w->y->anchors, name, alias->n);
    int n = (int)alias->n;
    if (!to) {
        error_at(w, alias, "YAML alias *%.*s has no anchor &%.*s before it in this document", n,
                 name, n, name);
    } else if (!to->done) {
        error_at(w, alias,
                 "YAML alias *%.*s is inside the node it refers to (a recursive structure)", n,
                 name);
    } else {
        alias->info = to;
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
static const char *key_text(struct cw_ynode *key, size_t *len)
{
    key = cw_yaml_deref(key);
    if (!cw_yaml_is(key, CW_YNODE_SCALAR))
        return NULL;
    *len = key->n;
    return key->text;
}

/* "<<" written plain: YAML 1.1's merge key, which kubectl's decoder honours. */
static bool is_merge_key(const struct cw_ynode *key)
{
    return cw_yaml_is(key, CW_YNODE_SCALAR) && key->plain && key->n == 2 && key->text[0] == '<' &&
           key->text[1] == '<';
}

struct key {
    const char *text;
    size_t len;
    struct cw_ynode *node;
};

static void report_duplicate(struct walk *w, const struct key *k, struct cw_ynode *first)
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
static bool check_keys(struct walk *w, struct cw_ynode *map)
{
    bool small = map->n <= SMALL_MAPPING, merges = false;
    struct key seen[SMALL_MAPPING];
    int n_seen = 0;
    struct cw_strmap set;
    cw_strmap_init(&set);
    for (uint32_t i = 0; i < map->n; i++) {
        struct key k = {.node = map->pairs[i].key};
        k.text = key_text(k.node, &k.len);
        if (!k.text)
            continue; /* a collection as a key: the decoder says keys must be strings */
        merges |= k.len == 2 && k.text[0] == '<' && is_merge_key(k.node); /* text first: cheap */
        struct cw_ynode *first = NULL;
        for (int j = 0; small && j < n_seen && !first; j++)
            if (seen[j].len == k.len && memcmp(seen[j].text, k.text, k.len) == 0)
                first = seen[j].node;
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
static void add_source(struct walk *w, struct cw_ynode *src, struct cw_strmap *keys, pairs_t *pairs)
{
    if (src->type != CW_YNODE_MAPPING) {
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
static void merge(struct walk *w, struct cw_ynode *map)
{
    struct cw_strmap keys;
    cw_strmap_init(&keys);
    pairs_t pairs = {0};
    for (uint32_t i = 0; i < map->n; i++)
        if (!is_merge_key(map->pairs[i].key))
            add_pair(&w->y->arena, &keys, &pairs,
                     (struct cw_yaml_pair){cw_yaml_deref(map->pairs[i].key),
                                           cw_yaml_deref(map->pairs[i].value)});
    for (uint32_t i = 0; i < map->n; i++) {
        if (!is_merge_key(map->pairs[i].key))
            continue;
        struct cw_ynode *src = cw_yaml_deref(map->pairs[i].value);
        if (!src) {
            error_at(w, map->pairs[i].key, "merge key \"<<\" without a value");
        } else if (src->type == CW_YNODE_SEQUENCE) {
            uint32_t at = 0;
            struct cw_ynode *item;
            while ((item = cw_yaml_seq_next(src, &at)))
                add_source(w, item, &keys, &pairs);
        } else {
            add_source(w, src, &keys, &pairs);
        }
    }
    cw_strmap_deinit(&keys);
    struct cw_yaml_info *info = map->info;
    if (!info) {
        info = CW_ARENA_NEW(&w->y->arena, struct cw_yaml_info);
        info->node = map;
        map->info = info;
    }
    info->merges = true;
    info->pairs = pairs.v;
    info->n_pairs = pairs.n;
}

static struct extent walk_sequence(struct walk *w, struct cw_ynode *seq, uint32_t depth)
{
    struct extent e = {1, 1};
    for (uint32_t i = 0; !w->refused && i < seq->n; i++)
        grow(&e, walk_node(w, seq->items[i], depth + 1));
    return e;
}

static struct extent walk_mapping(struct walk *w, struct cw_ynode *map, uint32_t depth)
{
    struct extent e = {1, 1};
    for (uint32_t i = 0; !w->refused && i < map->n; i++) {
        grow(&e, walk_node(w, map->pairs[i].key, depth + 1));
        grow(&e, walk_node(w, map->pairs[i].value, depth + 1));
    }
    /* After the pairs: an alias key is bound only once walked. */
    if (!w->refused && check_keys(w, map) && !w->errors)
        merge(w, map);
    return e;
}

/* The info of anchored <node>, which aliases after this point stand for. */
static struct cw_yaml_info *bind_anchor(struct walk *w, struct cw_ynode *node)
{
    struct cw_yaml_info *info = CW_ARENA_NEW(&w->y->arena, struct cw_yaml_info);
    info->node = node;
    node->info = info;
    cw_strmap_set(&w->y->anchors, node->anchor, node->anchor_len, info);
    return info;
}

static struct extent walk_node(struct walk *w, struct cw_ynode *node, uint32_t depth)
{
    if (!node || w->refused)
        return (struct extent){0, 0};
    w->own++;
    if (node->type == CW_YNODE_ALIAS)
        return walk_alias(w, node, depth);
    struct cw_yaml_info *anchor = node->anchor ? bind_anchor(w, node) : NULL;
    struct extent e = {1, 1};
    if (node->type == CW_YNODE_SEQUENCE)
        e = walk_sequence(w, node, depth);
    else if (node->type == CW_YNODE_MAPPING)
        e = walk_mapping(w, node, depth);
    if (anchor) {
        anchor->nodes = e.nodes;
        anchor->height = e.height;
        anchor->done = true;
    }
    return e;
}

int cw_yaml_prepare(struct cw_yaml_doc *y, struct cw_ynode *root, struct cw_diags *diags,
                    const char *file)
{
    y->diags = diags;
    y->file = file;
    cw_arena_init(&y->arena);
    cw_strmap_init(&y->anchors);
    struct walk w = {.y = y};
    walk_node(&w, root, 1);
    return w.errors ? -1 : 0;
}

void cw_yaml_release(struct cw_yaml_doc *y)
{
    cw_strmap_deinit(&y->anchors);
    cw_arena_deinit(&y->arena);
}

/*
 * YAML documents as the decoder reads them (private to config/).
 *
 * libfyaml builds each document unresolved, with its own duplicate-key check off: its resolver
 * copies every alias (a ~600-byte alias bomb becomes gigabytes) and both it and the check compare
 * keys pairwise (a mapping of 20,000 keys took 24 s). cw_yaml_prepare walks a document once
 * instead: it binds every alias to its anchor, bounds what the aliases would expand to
 * (CW_YAML_MAX_ALIAS_NODES, CW_YAML_MAX_DEPTH in config.h), finds duplicate keys with a hash set
 * and lists the pairs of each mapping with a merge key (<<) as kubectl sees them. The accessors
 * below then follow aliases and merges in place: nothing is ever copied.
 *
 * Every node the accessors return is dereferenced (never an alias). Node positions stay those
 * of the source: a value reached through an alias is reported where its anchor defines it.
 *
 * Thread: the loading thread; a document is prepared and read by the same thread.
 */
#ifndef CW_CONFIG_YAML_H
#define CW_CONFIG_YAML_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/diag.h"
#include "util/strmap.h"

struct cw_yaml_pair {
    struct fy_node *key, *value; /* both dereferenced */
};

/*
 * What the walk learnt about an anchored node, or about a mapping with merge keys. Attached to
 * the node with fy_node_set_meta; an alias node carries its anchor's.
 */
struct cw_yaml_info {
    struct fy_node *node;       /* the node described: what an alias to it stands for */
    const char *anchor;         /* its anchor's name, or NULL */
    size_t anchor_len;          /* length of <anchor> */
    uint64_t nodes;             /* its size with aliases expanded */
    uint32_t height;            /* levels from it to its deepest leaf, itself included, expanded */
    bool done;                  /* walked: an alias to a node not yet done is inside it */
    bool merges;                /* a mapping with merge keys: <pairs> replace its own */
    uint32_t n_pairs;           /* number of <pairs> */
    struct cw_yaml_pair *pairs; /* explicit pairs first, then merged ones not overridden */
};

/* One document's preparation: what the accessors need lives in <arena> until release. */
struct cw_yaml_doc {
    struct cw_diags *diags;
    const char *file;
    struct cw_arena arena;    /* infos and merged pair lists */
    struct cw_strmap anchors; /* anchor name → the cw_yaml_info it names at this point */
};

/*
 * Prepares <doc> (parsed with FYPCF_ALLOW_DUPLICATE_KEYS, not resolved) for the accessors.
 * Returns 0, or -1 after reporting every problem in <diags> under <file> (an unknown or
 * recursive alias, an alias limit, a duplicate key, a bad merge key): the caller then skips the
 * document. Release <y> with cw_yaml_release after the document is no longer read.
 */
int cw_yaml_prepare(struct cw_yaml_doc *y, struct fy_document *doc, struct cw_diags *diags,
                    const char *file);

void cw_yaml_release(struct cw_yaml_doc *y);

/* <node> itself, or the node an alias stands for; NULL stays NULL. */
struct fy_node *cw_yaml_deref(struct fy_node *node);

/* Iterates the pairs of <map> after merging; zero-initialise before the first call. */
struct cw_yaml_iter {
    void *fy;    /* libfyaml's iterator, for a mapping without merge keys */
    uint32_t at; /* index into the merged pairs */
};

/* Stores the next pair of mapping <map> in <out>; false at the end. */
bool cw_yaml_map_next(struct fy_node *map, struct cw_yaml_iter *it, struct cw_yaml_pair *out);

/* Number of pairs cw_yaml_map_next visits. */
int cw_yaml_map_count(struct fy_node *map);

/*
 * The value under the string key <key> in <map>, or NULL (also when <map> is NULL or not a
 * mapping). <key_node>, when not NULL, receives the key node (for its position) or NULL.
 */
struct fy_node *cw_yaml_map_get(struct fy_node *map, const char *key, struct fy_node **key_node);

/* The next item of sequence <seq>, dereferenced; <iter> starts as NULL. */
struct fy_node *cw_yaml_seq_next(struct fy_node *seq, void **iter);

#endif

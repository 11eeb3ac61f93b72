/*
 * YAML documents as the decoder reads them (private to config/).
 *
 * cw_yaml_reader turns libfyaml's event stream into a small tree of its own (yaml_tree.c):
 * libfyaml's document tree costs more to build, destroy and read than parsing itself, and asking
 * it for a scalar's text costs hundreds of instructions where the text is usually a span of the
 * source. libfyaml's resolver and duplicate-key check are not used either: its resolver copies
 * every alias (a ~600-byte alias bomb becomes gigabytes) and both compare keys pairwise (a
 * mapping of 20,000 keys took 24 s). cw_yaml_prepare walks a document once instead: it binds
 * every alias to its anchor, bounds what the aliases would expand to (CW_YAML_MAX_ALIAS_NODES,
 * CW_YAML_MAX_DEPTH in config.h), finds duplicate keys with a hash set and lists the pairs of each
 * mapping with a merge key (<<) as kubectl sees them. The accessors below then follow aliases and
 * merges in place: nothing is ever copied.
 *
 * Every node the accessors return is dereferenced (never an alias). Node positions stay those
 * of the source: a value reached through an alias is reported where its anchor defines it.
 *
 * Thread: the loading thread; a document is read, prepared and decoded by the same thread.
 */
#ifndef CW_CONFIG_YAML_H
#define CW_CONFIG_YAML_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/diag.h"
#include "util/strmap.h"

/*
 * Whether <text> may be given to libfyaml: UTF-8 made of YAML's printable characters
 * (manifest_text.c says why). Otherwise reports the first offending character with its position
 * in <diags> under <file> and returns false.
 */
bool cw_manifest_text_check(const char *text, size_t len, struct cw_diags *diags, const char *file);

enum cw_ynode_type {
    CW_YNODE_SCALAR,
    CW_YNODE_SEQUENCE,
    CW_YNODE_MAPPING,
    CW_YNODE_ALIAS,
};

struct cw_yaml_pair {
    struct cw_ynode *key, *value; /* as written; dereferenced when an accessor returns them */
};

/* One node of a document, in the reader's arena. */
struct cw_ynode {
    uint8_t type;  /* enum cw_ynode_type */
    bool plain;    /* a scalar written without quotes or a block indicator */
    uint32_t line; /* 1-based position of a scalar or alias; 0 for an empty scalar, which has */
    uint32_t col;  /* no text in the source; a collection is found by its first child */
    uint32_t n;    /* scalar and alias: length of <text>; sequence: items; mapping: pairs */
    union {
        const char *text;           /* scalar: its value (not NUL-terminated); alias: the name */
        struct cw_ynode **items;    /* sequence */
        struct cw_yaml_pair *pairs; /* mapping */
    };
    const char *anchor;        /* &name on this node, or NULL */
    uint32_t anchor_len;       /* length of <anchor> */
    struct cw_yaml_info *info; /* what cw_yaml_prepare learnt; an alias's is its anchor's */
};

/*
 * Reads the documents of one YAML text. The text must stay unchanged while the reader and the
 * documents it returned are in use: scalars point into it.
 */
struct cw_yaml_reader {
    struct fy_parser *parser;
    const char *src;
    size_t len;
    struct cw_arena arena;   /* the documents' nodes; dropped between documents when large */
    struct cw_ynode **stack; /* children of the collections still open, innermost last */
    uint32_t n_stack, cap_stack;
    bool too_deep; /* a collection opened CW_YAML_MAX_DEPTH levels deep, at this position: */
    uint32_t too_deep_line, too_deep_col;
};

/* Prepares <r> to read <text>; libfyaml's syntax errors are collected by <diag>. Returns 0, or
 * -1 when libfyaml refuses the text outright. Deinit <r> in either case. */
int cw_yaml_reader_init(struct cw_yaml_reader *r, const char *text, size_t len,
                        struct fy_diag *diag);

void cw_yaml_reader_deinit(struct cw_yaml_reader *r);

/*
 * Reads the next document. Returns 1 with its root in <root> (an empty document has an empty
 * scalar as root), 0 at the end of the stream or -1 at a syntax error (collected by the reader's
 * diag) or at a collection nested CW_YAML_MAX_DEPTH levels deep (<too_deep> and its position;
 * the root is level 1): the stream ends there. The document's nodes stay valid until the next
 * call.
 */
int cw_yaml_read_document(struct cw_yaml_reader *r, struct cw_ynode **root);

/*
 * What the walk learnt about an anchored node, or about a mapping with merge keys. An alias node
 * points at its anchor's.
 */
struct cw_yaml_info {
    struct cw_ynode *node;      /* the node described: what an alias to it stands for */
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
 * Prepares the document under <root> for the accessors. Returns 0, or -1 after reporting every
 * problem in <diags> under <file> (an unknown or recursive alias, an alias limit, a duplicate
 * key, a bad merge key): the caller then skips the document. Release <y> with cw_yaml_release
 * after the document is no longer read.
 */
int cw_yaml_prepare(struct cw_yaml_doc *y, struct cw_ynode *root, struct cw_diags *diags,
                    const char *file);

void cw_yaml_release(struct cw_yaml_doc *y);

/* <node> itself, or the node an alias stands for; NULL stays NULL. */
struct cw_ynode *cw_yaml_deref(struct cw_ynode *node);

/* Whether <node> is of <type>; false for NULL. */
static inline bool cw_yaml_is(const struct cw_ynode *node, enum cw_ynode_type type)
{
    return node && node->type == type;
}

/* Iterates the pairs of <map> after merging; zero-initialise before the first call. */
struct cw_yaml_iter {
    uint32_t at;
};

/* Stores the next pair of mapping <map> in <out>, both dereferenced; false at the end. */
bool cw_yaml_map_next(struct cw_ynode *map, struct cw_yaml_iter *it, struct cw_yaml_pair *out);

/* Number of pairs cw_yaml_map_next visits. */
int cw_yaml_map_count(struct cw_ynode *map);

/*
 * The value under the string key <key> in <map>, or NULL (also when <map> is NULL or not a
 * mapping). <key_node>, when not NULL, receives the key node (for its position) or NULL.
 */
struct cw_ynode *cw_yaml_map_get(struct cw_ynode *map, const char *key, struct cw_ynode **key_node);

/* The next item of sequence <seq>, dereferenced; <at> starts at 0. */
struct cw_ynode *cw_yaml_seq_next(struct cw_ynode *seq, uint32_t *at);

#endif

/*
 * Table-driven decoding of YAML nodes into the structs of config_types.h (private to config/).
 *
 * Each object type is described once as a table of fields: name, type, where it goes, whether it
 * is required, its range and an optional value check. The decoder applies kubectl's strict
 * validation to every table: unknown fields, wrong types, missing required fields and values out
 * of range become diagnostics with file:line:col and the field path, and decoding continues so
 * every problem is reported. Cross-field rules (one-of, mutual exclusion) run in a table's
 * post-check with the object's position.
 */
#ifndef CW_CONFIG_SCHEMA_H
#define CW_CONFIG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "config/yaml.h"
#include "util/arena.h"
#include "util/diag.h"

enum cw_field_type {
    CW_F_STR = 0,  /* const char * */
    CW_F_U32,      /* uint32_t within [min, max] */
    CW_F_I32,      /* int32_t within [min, max] */
    CW_F_I64,      /* int64_t */
    CW_F_BOOL,     /* bool */
    CW_F_DURATION, /* uint64_t milliseconds */
    CW_F_ENUM,     /* int (enum) from <names>, index = value */
    CW_F_STRS,     /* cw_strs_t */
    CW_F_LABELS,   /* cw_labels_t: map of string to string */
    CW_F_OBJ,      /* embedded struct described by <sub> */
    CW_F_LIST,     /* CW_LIST of structs described by <sub>, each <elem_size> bytes */
    CW_F_IGNORE,   /* accepted and ignored (fields the spec puts out of scope) */
};

enum {
    CW_F_REQUIRED = 1 << 0,
    CW_F_NONEMPTY = 1 << 1, /* a list or string that must not be empty when present */
};

struct cw_decode;

/* Returns NULL when <value> is acceptable, or a reason. */
typedef const char *(*cw_value_check_fn)(const char *value);

struct cw_field {
    const char *name;
    enum cw_field_type type;
    uint32_t offset;
    uint32_t present; /* offsetof(bool) + 1 set to true when the key appears; 0 = none */
    uint32_t flags;
    int64_t min, max;
    const struct cw_schema *sub;
    uint32_t elem_size;
    /* NULL-terminated names ("" entries are placeholders nobody may write): CW_F_ENUM stores
     * the index; CW_F_STR accepts only these strings and stores the string. */
    const char *const *names;
    cw_value_check_fn check; /* CW_F_STR / CW_F_STRS: extra validation */
};

/* The index of <s> among <names> (NULL-terminated; "" never matches), or -1. */
int cw_name_index(const char *const *names, const char *s);

struct cw_schema {
    const struct cw_field *fields; /* terminated by an entry with name == NULL */
    /* Cross-field checks after all fields decoded; <obj> is the struct just filled. */
    void (*post)(struct cw_decode *d, void *obj);
};

struct cw_decode {
    struct cw_arena *arena;
    struct cw_diags *diags;
    const char *file;
    /* "Kind ns/name" for diagnostics, built by <name_subject> at the first one: most objects
     * have none, and a name costs an allocation per object. */
    const char *subject;
    const char *(*name_subject)(struct cw_decode *d);
    const void *subject_from; /* what <name_subject> reads besides <object> */
    struct cw_object *object; /* receives the first error */
    uint32_t line, col;       /* position of the node being decoded, for post-checks */
    char path[512];
    size_t path_len;
};

/* Decodes mapping <node> into <out> (zeroed by the caller) according to <schema>. */
void cw_decode_object(struct cw_decode *d, struct cw_ynode *node, const struct cw_schema *schema,
                      void *out);

/* Reports an error at the current object's position and path extended by <field> (may be NULL). */
void cw_decode_error(struct cw_decode *d, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Position (1-based) of <node>: its own token for scalars, its first child otherwise. */
int cw_node_position(struct cw_ynode *node, uint32_t *line, uint32_t *col);

/* "a mapping", "a list" or "a scalar", for messages. */
const char *cw_node_type_name(struct cw_ynode *node);

/* Returns the scalar text of <node> copied into <arena>, or NULL when not a scalar. */
const char *cw_node_text(struct cw_arena *arena, struct cw_ynode *node);

#define CW_FIELD_AT(st, member) .offset = (uint32_t)offsetof(st, member)
#define CW_PRESENT(st, member)  .present = (uint32_t)offsetof(st, member) + 1u

#endif

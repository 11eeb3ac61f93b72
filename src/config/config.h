/*
 * Loading Gloo Platform manifests: files and directories (recursive, *.yaml and *.yml, in sorted
 * order), multi-document YAML and `kind: List`. Every resource of the eight kinds causeway serves
 * becomes a typed struct (config_types.h); other kinds are skipped with a note. Problems become
 * diagnostics; an object with a schema error is kept with obj.error set so that translation can
 * report it as INVALID.
 *
 * Thread: whichever thread loads (the control thread); the result is read-only afterwards.
 */
#ifndef CW_CONFIG_H
#define CW_CONFIG_H

#include "config/config_types.h"
#include "util/arena.h"
#include "util/diag.h"
#include "util/strmap.h"
#include "util/vec.h"

struct cw_config {
    struct cw_arena arena;                             /* owns every object and string */
    CW_VEC(struct cw_object *) objects;                /* load order, every kind */
    CW_VEC(struct cw_object *) by_kind[CW_KIND_COUNT]; /* load order within each kind */
    uint32_t files;                                    /* YAML files read */
    uint32_t skipped;            /* documents of kinds causeway does not serve */
    struct cw_strmap identities; /* "Kind/ns/name" → first object, to find duplicates */
};

/*
 * Limits on what one manifest may cost, because manifests come from anyone who can edit a
 * ConfigMap and a reload must never take the gateway down. Each is reported with the file and,
 * where there is one, the position; the document (or file) is skipped, the rest still loads.
 */
/* One file, or one buffer: larger ones are refused unread. */
#define CW_CONFIG_MAX_FILE_BYTES (16u << 20)
/* Nodes that aliases may add to one document, or as many as the document has of its own when
 * that is more (Kubernetes' YAML decoder bounds alias expansion the same way): a ~600-byte
 * "billion laughs" is refused instead of growing to gigabytes. */
#define CW_YAML_MAX_ALIAS_NODES 100000u
/* Nesting depth of a document once its aliases are expanded. */
#define CW_YAML_MAX_DEPTH 64u

void cw_config_init(struct cw_config *cfg);
void cw_config_deinit(struct cw_config *cfg);

/*
 * Loads <path> (a file, or a directory searched recursively) into <cfg>, appending to what is
 * already loaded. Returns 0, or -1 when the path cannot be read at all (also reported in <diags>).
 * YAML syntax errors and schema errors are reported in <diags> and do not stop loading.
 */
int cw_config_load_path(struct cw_config *cfg, const char *path, struct cw_diags *diags);

/* Loads YAML text held in memory, reported under the name <file> (tests and stdin). */
int cw_config_load_buffer(struct cw_config *cfg, const char *file, const char *text, size_t len,
                          struct cw_diags *diags);

/* "ExternalService", "RouteTable", ... */
const char *cw_kind_name(enum cw_kind kind);

/* "networking.gloo.solo.io/v2", ... */
const char *cw_kind_api_version(enum cw_kind kind);

/* Same region, zone and subzone (an absent field equals an empty one, §7.2). */
bool cw_locality_equal(const struct cw_locality *a, const struct cw_locality *b);

/* Typed access to the objects of one kind, e.g. CW_CONFIG_EACH(cfg, EXTERNAL_SERVICE, i). */
#define CW_CONFIG_COUNT(cfg, KIND)        ((cfg)->by_kind[CW_KIND_##KIND].n)
#define CW_CONFIG_GET(cfg, KIND, type, i) ((struct type *)(cfg)->by_kind[CW_KIND_##KIND].v[i])

#endif

/*
 * Files, directories and YAML documents → typed resources. The per-field work is done by the
 * schema decoder; this file handles the envelope (apiVersion, kind, metadata, List), identity
 * (duplicate kind/namespace/name), YAML syntax errors, and reading each file within the limits of
 * config.h (what is bounded inside a document is in yaml.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "config/kinds.h"
#include "config/yaml.h"
#include "util/strmap.h"
#include "util/xalloc.h"

struct load {
    struct cw_config *cfg;
    struct cw_diags *diags;
    const char *file;             /* arena copy */
    struct cw_strmap *identities; /* "Kind/ns/name" → first object */
};

void cw_config_init(struct cw_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cw_arena_init(&cfg->arena);
    cw_strmap_init(&cfg->identities);
}

void cw_config_deinit(struct cw_config *cfg)
{
    CW_VEC_FREE(&cfg->objects);
    cw_strmap_deinit(&cfg->identities);
    for (int k = 0; k < CW_KIND_COUNT; k++)
        CW_VEC_FREE(&cfg->by_kind[k]);
    cw_arena_deinit(&cfg->arena);
}

/* ---- metadata ---- */

struct meta_in {
    struct cw_meta meta;
    const char *created_text;
};

static const char *check_timestamp(const char *s);

static const struct cw_field meta_fields[] = {
    {.name = "name",
     .type = CW_F_STR,
     CW_FIELD_AT(struct meta_in, meta.name),
     .flags = CW_F_REQUIRED,
     .check = cw_check_dns1123_subdomain},
    {.name = "namespace",
     .type = CW_F_STR,
     CW_FIELD_AT(struct meta_in, meta.ns),
     .check = cw_check_dns1123_label},
    {.name = "labels", .type = CW_F_LABELS, CW_FIELD_AT(struct meta_in, meta.labels)},
    {.name = "creationTimestamp",
     .type = CW_F_STR,
     CW_FIELD_AT(struct meta_in, created_text),
     .check = check_timestamp},
    {.name = "generation",
     .type = CW_F_I64,
     CW_FIELD_AT(struct meta_in, meta.generation),
     .min = 1},
    /* Standard ObjectMeta fields that `kubectl get -o yaml` prints; they carry nothing for us. */
    {.name = "annotations", .type = CW_F_IGNORE},
    {.name = "uid", .type = CW_F_IGNORE},
    {.name = "resourceVersion", .type = CW_F_IGNORE},
    {.name = "managedFields", .type = CW_F_IGNORE},
    {.name = "finalizers", .type = CW_F_IGNORE},
    {.name = "ownerReferences", .type = CW_F_IGNORE},
    {.name = "generateName", .type = CW_F_IGNORE},
    {.name = "deletionTimestamp", .type = CW_F_IGNORE},
    {.name = "deletionGracePeriodSeconds", .type = CW_F_IGNORE},
    {.name = "selfLink", .type = CW_F_IGNORE},
    {.name = "clusterName", .type = CW_F_IGNORE},
    {0},
};

static const struct cw_schema meta_schema = {.fields = meta_fields};

/* RFC 3339 as Kubernetes writes it: 2024-05-01T10:00:00Z or with a numeric offset. */
static int parse_timestamp(const char *s, int64_t *out)
{
    struct tm tm = {0};
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return -1;
    if (*rest == '.') { /* fractional seconds are allowed and ignored */
        rest++;
        while (*rest >= '0' && *rest <= '9')
            rest++;
    }
    int64_t offset = 0;
    if (*rest == 'Z' || *rest == 'z') {
        rest++;
    } else if (*rest == '+' || *rest == '-') {
        /* Exactly "+hh:mm": anything shorter would make rest + 6 run past the string. */
        const char *o = rest + 1;
        bool digits = o[0] >= '0' && o[0] <= '9' && o[1] >= '0' && o[1] <= '9' && o[2] == ':' &&
                      o[3] >= '0' && o[3] <= '9' && o[4] >= '0' && o[4] <= '9';
        if (!digits)
            return -1;
        int hh = (o[0] - '0') * 10 + (o[1] - '0'), mm = (o[3] - '0') * 10 + (o[4] - '0');
        offset = (hh * 3600 + mm * 60) * (*rest == '+' ? 1 : -1);
        rest += 6;
    } else {
        return -1;
    }
    if (*rest)
        return -1;
    *out = (int64_t)timegm(&tm) - offset;
    return 0;
}

static const char *check_timestamp(const char *s)
{
    int64_t t;
    return parse_timestamp(s, &t) == 0 ? NULL
                                       : "not an RFC 3339 timestamp (e.g. 2024-05-01T10:00:00Z)";
}

/* ---- objects ---- */

static void register_object(struct load *l, struct cw_object *obj, const struct cw_kind_info *ki)
{
    struct cw_config *cfg = l->cfg;
    const char *id =
        cw_arena_cat(&cfg->arena, ki->name, "/", obj->meta.ns, "/", obj->meta.name, NULL);
    struct cw_object *first = cw_strmap_put_new(l->identities, id, strlen(id), obj);
    if (first != obj) {
        const char *why =
            cw_arena_printf(&cfg->arena, "duplicate %s %s/%s (first defined at %s:%u)", ki->name,
                            obj->meta.ns, obj->meta.name, first->file, first->line);
        cw_diags_add(
            l->diags, CW_SEV_ERROR, obj->file, obj->line, obj->col,
            cw_arena_printf(&cfg->arena, "%s %s/%s", ki->name, obj->meta.ns, obj->meta.name), NULL,
            "%s", why);
        if (!obj->error)
            obj->error = why;
    }
    obj->load_order = cfg->objects.n;
    CW_VEC_PUSH(&cfg->objects, obj);
    CW_VEC_PUSH(&cfg->by_kind[ki->kind], obj);
}

static struct cw_ynode *lookup(struct cw_ynode *map, const char *key)
{
    return cw_yaml_map_get(map, key, NULL);
}

/* The top-level fields the loader reads itself, found in one pass over a document's root. */
struct envelope {
    struct cw_ynode *kind, *api_version;
    struct cw_ynode *metadata, *metadata_key; /* the key too, for its position */
    struct cw_ynode *spec, *spec_key;
};

static bool key_is(const char *s, size_t n, const char *name)
{
    return n == strlen(name) && memcmp(s, name, n) == 0;
}

static void read_envelope(struct cw_ynode *root, struct envelope *e)
{
    memset(e, 0, sizeof(*e));
    struct cw_yaml_iter it = {0};
    struct cw_yaml_pair p;
    while (cw_yaml_map_next(root, &it, &p)) {
        if (!cw_yaml_is(p.key, CW_YNODE_SCALAR))
            continue;
        const char *s = p.key->text;
        size_t n = p.key->n;
        if (key_is(s, n, "kind")) {
            e->kind = p.value;
        } else if (key_is(s, n, "apiVersion")) {
            e->api_version = p.value;
        } else if (key_is(s, n, "metadata")) {
            e->metadata = p.value;
            e->metadata_key = p.key;
        } else if (key_is(s, n, "spec")) {
            e->spec = p.value;
            e->spec_key = p.key;
        }
    }
}

/*
 * The text of scalar <node> in <buf> when it fits, else copied into <arena>; NULL when <node> is
 * not a scalar. For text read to decide (kind, apiVersion), which the config need not keep.
 */
static const char *text_into(struct cw_ynode *node, char *buf, size_t size, struct cw_arena *arena)
{
    if (!cw_yaml_is(node, CW_YNODE_SCALAR))
        return NULL;
    size_t len = node->n;
    if (len >= size)
        return cw_node_text(arena, node);
    memcpy(buf, node->text, len);
    buf[len] = '\0';
    return buf;
}

/* Decodes metadata into <meta>; returns -1 when the object cannot be identified. */
static int decode_meta(struct cw_decode *d, struct cw_ynode *node, struct cw_meta *meta)
{
    struct meta_in in = {.meta = {.generation = 1}};
    size_t saved = d->path_len;
    if (!node)
        cw_decode_error(d, NULL, "missing required field \"metadata\"");
    memcpy(d->path, "metadata", sizeof("metadata"));
    d->path_len = sizeof("metadata") - 1;
    if (node)
        cw_decode_object(d, node, &meta_schema, &in);
    d->path_len = saved;
    d->path[saved] = '\0';
    if (!in.meta.name)
        return -1;
    if (!in.meta.ns)
        in.meta.ns = "default";
    in.meta.created = INT64_MAX;
    if (in.created_text)
        parse_timestamp(in.created_text, &in.meta.created);
    *meta = in.meta;
    return 0;
}

/* The top level of a resource; spec is decoded by the kind's own schema. */
static const struct cw_field top_fields[] = {
    {.name = "apiVersion", .type = CW_F_IGNORE}, {.name = "kind", .type = CW_F_IGNORE},
    {.name = "metadata", .type = CW_F_IGNORE},   {.name = "spec", .type = CW_F_IGNORE},
    {.name = "status", .type = CW_F_IGNORE},     {0},
};

static const struct cw_schema top_schema = {.fields = top_fields};

/*
 * "Kind ns/name" read straight from the document, so that problems found before (or inside)
 * metadata still name the object; just "Kind" when there is no usable name.
 */
static const char *document_subject(struct cw_arena *arena, const char *kind,
                                    const struct envelope *e)
{
    char name_buf[256], ns_buf[64];
    const char *name = text_into(lookup(e->metadata, "name"), name_buf, sizeof(name_buf), arena);
    if (!name || !*name)
        return kind;
    const char *ns = text_into(lookup(e->metadata, "namespace"), ns_buf, sizeof(ns_buf), arena);
    return cw_arena_cat(arena, kind, " ", ns && *ns ? ns : "default", "/", name, NULL);
}

/* The subject of an object's problems before its metadata is decoded: from the document. */
static const char *subject_from_document(struct cw_decode *d)
{
    return document_subject(d->arena, cw_kind_name(d->object->kind), d->subject_from);
}

/* The subject once metadata gave the object its namespace and name. */
static const char *subject_from_meta(struct cw_decode *d)
{
    const struct cw_meta *m = &d->object->meta;
    return cw_arena_cat(d->arena, cw_kind_name(d->object->kind), " ", m->ns, "/", m->name, NULL);
}

static void decode_resource(struct load *l, struct cw_ynode *root, const struct envelope *e,
                            const struct cw_kind_info *ki, uint32_t line, uint32_t col)
{
    struct cw_config *cfg = l->cfg;
    struct cw_object *obj = cw_arena_alloc(&cfg->arena, ki->size);
    obj->kind = ki->kind;
    obj->file = l->file;
    obj->line = line;
    obj->col = col;
    struct cw_decode d = {.arena = &cfg->arena,
                          .diags = l->diags,
                          .file = l->file,
                          .name_subject = subject_from_document,
                          .subject_from = e,
                          .object = obj,
                          .line = line,
                          .col = col};
    /* First, so that "metdata:" or "sepc:" gets its did-you-mean hint. */
    cw_decode_object(&d, root, &top_schema, obj);
    /* "metadata:" without a value is reported at that key. */
    cw_node_position(e->metadata_key, &d.line, &d.col);
    if (decode_meta(&d, e->metadata, &obj->meta) != 0)
        return; /* reported; without a name there is nothing to give a status to */
    d.line = line;
    d.col = col;
    d.subject = NULL;
    d.name_subject = subject_from_meta;

    if (!e->spec && ki->spec_required) {
        cw_decode_error(&d, NULL, "missing required field \"spec\"");
    } else {
        /* "spec:" without a value is reported at that key, not at the document's start. */
        cw_node_position(e->spec_key, &d.line, &d.col);
        memcpy(d.path, "spec", sizeof("spec"));
        d.path_len = sizeof("spec") - 1;
        cw_decode_object(&d, e->spec, ki->spec, obj); /* NULL: post-checks on the empty spec */
    }
    register_object(l, obj, ki);
}

static void decode_document_root(struct load *l, struct cw_ynode *root, int list_index);

static void decode_list(struct load *l, struct cw_ynode *root)
{
    struct cw_ynode *items = lookup(root, "items");
    if (!cw_yaml_is(items, CW_YNODE_SEQUENCE)) {
        uint32_t line = 0, col = 0;
        cw_node_position(root, &line, &col);
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, line, col, "List", "items",
                     "a List must have an items sequence");
        return;
    }
    uint32_t at = 0;
    struct cw_ynode *item;
    for (int i = 0; (item = cw_yaml_seq_next(items, &at)); i++)
        decode_document_root(l, item, i);
}

static void decode_document_root(struct load *l, struct cw_ynode *root, int list_index)
{
    uint32_t line = 1, col = 1;
    cw_node_position(root, &line, &col);
    char where[32] = "";
    if (list_index >= 0)
        snprintf(where, sizeof(where), "items[%d]", list_index);
    if (!cw_yaml_is(root, CW_YNODE_MAPPING)) {
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, line, col, NULL, where,
                     "a manifest must be a mapping with apiVersion, kind and metadata");
        return;
    }
    struct envelope e;
    read_envelope(root, &e);
    char kind_buf[64], api_buf[64];
    struct cw_arena *arena = &l->cfg->arena;
    const char *kind = text_into(e.kind, kind_buf, sizeof(kind_buf), arena);
    if (!kind || !*kind) {
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, line, col, NULL, where,
                     "missing required field \"kind\"");
        return;
    }
    if (!strcmp(kind, "List") && list_index < 0) {
        decode_list(l, root);
        return;
    }
    const struct cw_kind_info *ki = cw_kind_info_by_name(kind);
    if (!ki) {
        const char *name = cw_node_text(arena, lookup(e.metadata, "name"));
        cw_diags_add(l->diags, CW_SEV_NOTE, l->file, line, col, NULL, where,
                     "skipping %s %s: causeway does not serve this kind", kind,
                     name ? name : "(unnamed)");
        l->cfg->skipped++;
        return;
    }
    const char *api = text_into(e.api_version, api_buf, sizeof(api_buf), arena);
    if (!api || strcmp(api, ki->api_version) != 0) {
        cw_node_position(e.api_version, &line, &col); /* the value to correct */
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, line, col,
                     document_subject(arena, ki->name, &e), "apiVersion",
                     "%s must have apiVersion %s, got %s", ki->name, ki->api_version,
                     api ? api : "nothing");
        return;
    }
    decode_resource(l, root, &e, ki, line, col);
}

/*
 * Collects libfyaml's syntax errors (with positions) as our diagnostics. Unlike fy_mark, whose
 * line and column count from 0, a collected fy_diag_error is already 1-based.
 */
static void report_yaml_errors(struct load *l, struct fy_diag *diag)
{
    void *iter = NULL;
    struct fy_diag_error *e;
    while ((e = fy_diag_errors_iterate(diag, &iter)))
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, (uint32_t)e->line, (uint32_t)e->column, NULL,
                     NULL, "YAML syntax error: %s", e->msg);
}

/* Decodes every document of <r> up to the end of the stream or its first syntax error. */
static void read_stream(struct load *l, struct cw_yaml_reader *r)
{
    struct cw_ynode *root;
    while (cw_yaml_read_document(r, &root) > 0) {
        bool empty = root->type == CW_YNODE_SCALAR && root->n == 0;
        struct cw_yaml_doc y;
        /* A document that fails preparation (reported) is skipped; the next ones still load. */
        if (cw_yaml_prepare(&y, root, l->diags, l->file) == 0 && !empty)
            decode_document_root(l, cw_yaml_deref(root), -1);
        cw_yaml_release(&y);
    }
}

static void report_size(struct load *l, uint64_t size)
{
    cw_diags_add(l->diags, CW_SEV_ERROR, l->file, 0, 0, NULL, NULL,
                 "file is %llu bytes, more than the limit of %u bytes (%u MiB) for one manifest "
                 "file",
                 (unsigned long long)size, CW_CONFIG_MAX_FILE_BYTES,
                 CW_CONFIG_MAX_FILE_BYTES >> 20);
}

static int load_yaml(struct load *l, const char *text, size_t len)
{
    l->cfg->files++;
    if (len > CW_CONFIG_MAX_FILE_BYTES) {
        report_size(l, len);
        return -1;
    }
    if (!cw_manifest_text_check(text, len, l->diags, l->file))
        return -1;
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.level = FYET_ERROR;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    fy_diag_set_collect_errors(diag, true);
    /*
     * Read as events into causeway's own tree, neither resolved nor checked for duplicate keys
     * by libfyaml: both take time quadratic in a mapping's size and resolving copies every
     * alias. cw_yaml_prepare does both in linear time, with bounds (yaml.h); aliases and merge
     * keys (<<) still work as kubectl reads them.
     */
    struct cw_yaml_reader r;
    int rc = cw_yaml_reader_init(&r, text, len, diag);
    if (rc == 0)
        read_stream(l, &r);
    else
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, 0, 0, NULL, NULL, "cannot read file");
    if (r.too_deep)
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, r.too_deep_line, r.too_deep_col, NULL, NULL,
                     "YAML nesting over the limit of %u levels (what this collection holds would "
                     "be at level %u): the rest of the file is not read",
                     CW_YAML_MAX_DEPTH, CW_YAML_MAX_DEPTH + 1);
    report_yaml_errors(l, diag);
    cw_yaml_reader_deinit(&r);
    fy_diag_destroy(diag);
    return rc == 0 ? 0 : -1;
}

/*
 * Reads all of open file <fd>, expected to hold <hint> bytes: into a malloc'd buffer, or NULL
 * after reporting an error or a file over CW_CONFIG_MAX_FILE_BYTES (also one that grew).
 */
static char *read_all(struct load *l, int fd, size_t hint, size_t *len)
{
    size_t cap = hint + 1, n = 0; /* a byte more than expected: room to see that it grew */
    char *buf = cw_xmalloc(cap);
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cw_diags_add(l->diags, CW_SEV_ERROR, l->file, 0, 0, NULL, NULL, "cannot read: %s",
                         strerror(errno));
            break;
        }
        if (r == 0) {
            *len = n;
            return buf;
        }
        n += (size_t)r;
        if (n > CW_CONFIG_MAX_FILE_BYTES) {
            report_size(l, n);
            break;
        }
        if (n == cap) {
            cap = cap * 2 > CW_CONFIG_MAX_FILE_BYTES + 1u ? CW_CONFIG_MAX_FILE_BYTES + 1u : cap * 2;
            buf = cw_xrealloc(buf, cap);
        }
    }
    free(buf);
    return NULL;
}

/*
 * Reads <l->file> whole. Only a regular file: a FIFO would hold the loader until someone writes
 * to it (and a reload with it), a device might never end. Returns a malloc'd buffer or NULL
 * after reporting.
 */
static char *read_file(struct load *l, size_t *len)
{
    /* O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer. */
    int fd = open(l->file, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, 0, 0, NULL, NULL, "cannot read: %s",
                     strerror(errno));
        return NULL;
    }
    struct stat st;
    char *buf = NULL;
    if (fstat(fd, &st) != 0)
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, 0, 0, NULL, NULL, "cannot read: %s",
                     strerror(errno));
    else if (!S_ISREG(st.st_mode))
        cw_diags_add(l->diags, CW_SEV_ERROR, l->file, 0, 0, NULL, NULL, "not a regular file");
    else if ((uint64_t)st.st_size > CW_CONFIG_MAX_FILE_BYTES)
        report_size(l, (uint64_t)st.st_size); /* refused unread */
    else
        buf = read_all(l, fd, (size_t)st.st_size, len);
    close(fd);
    return buf;
}

static bool yaml_name(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int load_file(struct load *l, const char *path)
{
    l->file = cw_arena_strdup(&l->cfg->arena, path);
    size_t len;
    char *text = read_file(l, &len);
    if (!text)
        return -1;
    int rc = load_yaml(l, text, len);
    free(text); /* after the parser is gone: libfyaml reads the buffer in place */
    return rc;
}

static int load_dir(struct load *l, const char *path)
{
    struct dirent **entries;
    int n = scandir(path, &entries, NULL, alphasort);
    if (n < 0) {
        cw_diags_add(l->diags, CW_SEV_ERROR, path, 0, 0, NULL, NULL, "cannot read directory: %s",
                     strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        if (name[0] != '.') { /* skips ".", ".." and hidden folders such as .git */
            char *child = cw_arena_printf(&l->cfg->arena, "%s/%s", path, name);
            struct stat st;
            if (stat(child, &st) == 0 && S_ISDIR(st.st_mode))
                rc |= load_dir(l, child);
            else if (yaml_name(name))
                rc |= load_file(l, child);
        }
        free(entries[i]);
    }
    free(entries);
    return rc;
}

int cw_config_load_path(struct cw_config *cfg, const char *path, struct cw_diags *diags)
{
    struct load l = {.cfg = cfg, .diags = diags, .identities = &cfg->identities};
    struct stat st;
    if (stat(path, &st) != 0) {
        cw_diags_add(diags, CW_SEV_ERROR, path, 0, 0, NULL, NULL, "cannot read: %s",
                     strerror(errno));
        return -1;
    }
    return S_ISDIR(st.st_mode) ? load_dir(&l, cw_arena_strdup(&cfg->arena, path))
                               : load_file(&l, path);
}

int cw_config_load_buffer(struct cw_config *cfg, const char *file, const char *text, size_t len,
                          struct cw_diags *diags)
{
    struct load l = {.cfg = cfg, .diags = diags, .identities = &cfg->identities};
    l.file = cw_arena_strdup(&cfg->arena, file);
    return load_yaml(&l, text, len);
}

/*
 * The generic decoder behind schema.h. YAML typing follows what kubectl's strict validation
 * accepts for a CRD: integers must be unquoted integers, strings must not be unquoted numbers
 * or booleans, null means absent.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/schema.h"
#include "config/yaml.h"
#include "util/text.h"

int cw_node_position(struct cw_ynode *node, uint32_t *line, uint32_t *col)
{
    while (node) {
        if (node->type == CW_YNODE_SCALAR || node->type == CW_YNODE_ALIAS) {
            if (!node->line) /* an empty scalar: nothing in the source to point at */
                return -1;
            *line = node->line;
            *col = node->col;
            return 0;
        }
        if (!node->n)
            return -1;
        node = node->type == CW_YNODE_MAPPING ? node->pairs[0].key : node->items[0];
    }
    return -1;
}

const char *cw_node_text(struct cw_arena *arena, struct cw_ynode *node)
{
    return cw_yaml_is(node, CW_YNODE_SCALAR) ? cw_arena_strndup(arena, node->text, node->n) : NULL;
}

/* cw_node_text into the decoder's arena. */
static const char *node_text(struct cw_decode *d, struct cw_ynode *node)
{
    return cw_node_text(d->arena, node);
}

static void report(struct cw_decode *d, const char *msg)
{
    if (!d->subject && d->name_subject)
        d->subject = d->name_subject(d);
    cw_diags_add(d->diags, CW_SEV_ERROR, d->file, d->line, d->col, d->subject, d->path, "%s", msg);
    if (d->object && !d->object->error)
        d->object->error = d->path_len ? cw_arena_printf(d->arena, "%s: %s", d->path, msg)
                                       : cw_arena_strdup(d->arena, msg);
}

/* Appends <len> bytes to the field path; the path is built on every field, so no printf. */
static void append(struct cw_decode *d, const char *text, size_t len)
{
    if (d->path_len + len >= sizeof(d->path))
        len = sizeof(d->path) - 1 - d->path_len;
    memcpy(d->path + d->path_len, text, len);
    d->path_len += len;
    d->path[d->path_len] = '\0';
}

/* Extends the path by ".name" (or "name" at the root); returns the length to pop back to. */
static size_t push_name(struct cw_decode *d, const char *name)
{
    size_t saved = d->path_len;
    if (d->path_len)
        append(d, ".", 1);
    append(d, name, strlen(name));
    return saved;
}

/* Extends the path by "[i]". */
static size_t push_index(struct cw_decode *d, int i)
{
    size_t saved = d->path_len;
    char buf[16], *w = buf + sizeof(buf);
    *--w = ']';
    unsigned v = (unsigned)i; /* written backwards: snprintf is costly once per list item */
    do
        *--w = (char)('0' + v % 10);
    while (v /= 10);
    *--w = '[';
    append(d, w, (size_t)(buf + sizeof(buf) - w));
    return saved;
}

static void pop(struct cw_decode *d, size_t saved)
{
    d->path_len = saved;
    d->path[saved] = '\0';
}

void cw_decode_error(struct cw_decode *d, const char *field, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    size_t saved = field ? push_name(d, field) : d->path_len;
    report(d, msg);
    pop(d, saved);
}

/* Reports at <node>'s own position. */
static void node_error(struct cw_decode *d, struct cw_ynode *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void node_error(struct cw_decode *d, struct cw_ynode *node, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    uint32_t l = d->line, c = d->col;
    cw_node_position(node, &d->line, &d->col);
    report(d, msg);
    d->line = l;
    d->col = c;
}

const char *cw_node_type_name(struct cw_ynode *node)
{
    if (cw_yaml_is(node, CW_YNODE_MAPPING))
        return "a mapping";
    return cw_yaml_is(node, CW_YNODE_SEQUENCE) ? "a list" : "a scalar";
}

static bool is_plain(struct cw_ynode *node)
{
    return node->plain;
}

/* YAML 1.2 core schema: what an unquoted scalar means besides a string. */
static const char *plain_scalar_type(const char *s)
{
    static const char *const bools[] = {"true", "True", "TRUE", "false", "False", "FALSE", NULL};
    for (int i = 0; bools[i]; i++)
        if (strcmp(s, bools[i]) == 0)
            return "a boolean";
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        return NULL;
    bool digit = false, dot = false;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digit = true;
        else if (*p == '.' && !dot)
            dot = true;
        else
            return NULL;
    }
    return digit ? "a number" : NULL;
}

static bool is_null(struct cw_ynode *node)
{
    if (!node)
        return true;
    if (node->type != CW_YNODE_SCALAR || !is_plain(node))
        return false;
    size_t len = node->n;
    const char *s = node->text;
    return len == 0 || (len == 1 && s[0] == '~') || (len == 4 && memcmp(s, "null", 4) == 0) ||
           (len == 4 && memcmp(s, "Null", 4) == 0) || (len == 4 && memcmp(s, "NULL", 4) == 0);
}

/* Decodes a string scalar; returns NULL (after reporting) when <node> is not a string. */
static const char *decode_string(struct cw_decode *d, struct cw_ynode *node)
{
    if (!cw_yaml_is(node, CW_YNODE_SCALAR)) {
        node_error(d, node, "expected a string, got %s", cw_node_type_name(node));
        return NULL;
    }
    const char *s = node_text(d, node);
    const char *other = is_plain(node) ? plain_scalar_type(s) : NULL;
    if (other) {
        node_error(d, node, "expected a string, got %s (quote it: \"%s\")", other, s);
        return NULL;
    }
    return s;
}

/*
 * The text of a scalar that is parsed rather than kept (numbers, booleans, durations): in
 * <buf> when it fits, so that loading does not copy every such value into the config's arena.
 * NULL when <node> is not a scalar.
 */
static const char *parsed_text(struct cw_decode *d, struct cw_ynode *node, char *buf, size_t size)
{
    if (!cw_yaml_is(node, CW_YNODE_SCALAR))
        return NULL;
    size_t len = node->n;
    const char *s = node->text;
    if (len >= size)
        return node_text(d, node);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

static int decode_integer(struct cw_decode *d, struct cw_ynode *node, int64_t min, int64_t max,
                          int64_t *out)
{
    char buf[64];
    const char *s = parsed_text(d, node, buf, sizeof(buf));
    if (!s) {
        node_error(d, node, "expected an integer, got %s", cw_node_type_name(node));
        return -1;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0') {
        node_error(d, node, "expected an integer, got \"%s\"", s);
        return -1;
    }
    if (!is_plain(node)) {
        /* kubectl rejects "8080" for an integer field; say how to fix it. */
        node_error(d, node, "expected an integer, got the string \"%s\" (remove the quotes)", s);
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        node_error(d, node, "must be between %lld and %lld, got %s", (long long)min, (long long)max,
                   s);
        return -1;
    }
    *out = v;
    return 0;
}

static void decode_bool(struct cw_decode *d, struct cw_ynode *node, bool *out)
{
    char buf[64];
    const char *s = parsed_text(d, node, buf, sizeof(buf));
    bool is_true = s && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"));
    bool is_false = s && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"));
    if (s && is_plain(node) && (is_true || is_false)) {
        *out = is_true;
        return;
    }
    if (!s)
        node_error(d, node, "expected true or false, got %s", cw_node_type_name(node));
    else if (is_true || is_false) /* "true" quoted is a string to kubectl */
        node_error(d, node, "expected true or false, got the string \"%s\" (remove the quotes)", s);
    else
        node_error(d, node, "expected true or false, got \"%s\"", s);
}

int cw_name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (names[i][0] && strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* "unknown value "X" (allowed: A, B, C)" from the names themselves, so they cannot drift. */
static void unknown_name(struct cw_decode *d, struct cw_ynode *node, const char *const *names,
                         const char *s)
{
    char allowed[512] = "";
    size_t off = 0;
    for (int i = 0; names[i]; i++)
        if (names[i][0] && off < sizeof(allowed))
            off += (size_t)snprintf(allowed + off, sizeof(allowed) - off, "%s%s", off ? ", " : "",
                                    names[i]);
    node_error(d, node, "unknown value \"%s\" (allowed: %s)", s, allowed);
}

static void decode_enum(struct cw_decode *d, struct cw_ynode *node, const char *const *names,
                        int *out)
{
    const char *s = decode_string(d, node);
    if (!s)
        return;
    int i = cw_name_index(names, s);
    if (i < 0)
        unknown_name(d, node, names, s);
    else
        *out = i;
}

static void decode_strs(struct cw_decode *d, struct cw_ynode *node, const struct cw_field *f,
                        cw_strs_t *out)
{
    if (!cw_yaml_is(node, CW_YNODE_SEQUENCE)) {
        node_error(d, node, "expected a list of strings, got %s", cw_node_type_name(node));
        return;
    }
    out->v = CW_ARENA_ARRAY(d->arena, const char *, node->n ? node->n : 1);
    uint32_t at = 0;
    struct cw_ynode *item;
    for (int i = 0; (item = cw_yaml_seq_next(node, &at)); i++) {
        size_t saved = push_index(d, i);
        const char *s = decode_string(d, item);
        const char *why = (s && f->check) ? f->check(s) : NULL;
        if (why)
            node_error(d, item, "\"%s\": %s", s, why);
        else if (s)
            out->v[out->n++] = s;
        pop(d, saved);
    }
}

static void decode_labels(struct cw_decode *d, struct cw_ynode *node, cw_labels_t *out)
{
    if (!cw_yaml_is(node, CW_YNODE_MAPPING)) {
        node_error(d, node, "expected a map of strings, got %s", cw_node_type_name(node));
        return;
    }
    int n = cw_yaml_map_count(node);
    out->v = CW_ARENA_ARRAY(d->arena, struct cw_label, n > 0 ? n : 1);
    struct cw_yaml_iter iter = {0};
    struct cw_yaml_pair p;
    while (cw_yaml_map_next(node, &iter, &p)) {
        const char *key = node_text(d, p.key);
        if (!key) {
            node_error(d, p.key, "label keys must be strings");
            continue;
        }
        size_t saved = push_name(d, key);
        struct cw_ynode *v = p.value;
        const char *value = is_null(v) ? "" : decode_string(d, v);
        if (value)
            out->v[out->n++] = (struct cw_label){key, value};
        pop(d, saved);
    }
}

static void decode_list(struct cw_decode *d, struct cw_ynode *node, const struct cw_field *f,
                        void *out)
{
    struct {
        void *v;
        uint32_t n;
    } *list = out;
    if (!cw_yaml_is(node, CW_YNODE_SEQUENCE)) {
        node_error(d, node, "expected a list, got %s", cw_node_type_name(node));
        return;
    }
    list->v = cw_arena_alloc(d->arena, (size_t)f->elem_size * (size_t)(node->n ? node->n : 1));
    uint32_t at = 0;
    struct cw_ynode *item;
    for (int i = 0; (item = cw_yaml_seq_next(node, &at)); i++) {
        size_t saved = push_index(d, i);
        cw_decode_object(d, item, f->sub, (char *)list->v + (size_t)f->elem_size * list->n);
        list->n++;
        pop(d, saved);
    }
}

static void decode_duration(struct cw_decode *d, struct cw_ynode *node, uint64_t *out)
{
    /*
     * "interval: 30" is a number to YAML; quoting it would not help (a unit is missing), so
     * let the duration parser explain instead of asking for quotes.
     */
    char buf[64];
    const char *s = cw_yaml_is(node, CW_YNODE_SCALAR) && is_plain(node)
                        ? parsed_text(d, node, buf, sizeof(buf))
                        : decode_string(d, node);
    const char *why;
    if (s && cw_duration_parse(s, out, &why) != 0)
        node_error(d, node, "invalid duration \"%s\": %s", s, why);
}

static void decode_value(struct cw_decode *d, struct cw_ynode *node, const struct cw_field *f,
                         void *out)
{
    void *slot = (char *)out + f->offset;
    int64_t v;
    switch (f->type) {
    case CW_F_STR: {
        const char *s = decode_string(d, node);
        if (s && f->names && cw_name_index(f->names, s) < 0) {
            unknown_name(d, node, f->names, s);
            break;
        }
        const char *why = (s && f->check) ? f->check(s) : NULL;
        if (s && (f->flags & CW_F_NONEMPTY) && !*s)
            why = "must not be empty";
        if (why)
            node_error(d, node, "\"%s\": %s", s, why);
        else if (s)
            *(const char **)slot = s;
        break;
    }
    case CW_F_U32:
        if (decode_integer(d, node, f->min, f->max ? f->max : UINT32_MAX, &v) == 0)
            *(uint32_t *)slot = (uint32_t)v;
        break;
    case CW_F_I32:
        if (decode_integer(d, node, f->min ? f->min : INT32_MIN, f->max ? f->max : INT32_MAX, &v) ==
            0)
            *(int32_t *)slot = (int32_t)v;
        break;
    case CW_F_I64:
        if (decode_integer(d, node, f->min ? f->min : INT64_MIN, f->max ? f->max : INT64_MAX, &v) ==
            0)
            *(int64_t *)slot = v;
        break;
    case CW_F_BOOL:
        decode_bool(d, node, slot);
        break;
    case CW_F_DURATION:
        decode_duration(d, node, slot);
        break;
    case CW_F_ENUM:
        decode_enum(d, node, f->names, slot);
        break;
    case CW_F_STRS:
        decode_strs(d, node, f, slot);
        if ((f->flags & CW_F_NONEMPTY) && ((cw_strs_t *)slot)->n == 0)
            node_error(d, node, "must not be empty");
        break;
    case CW_F_LABELS:
        decode_labels(d, node, slot);
        break;
    case CW_F_OBJ:
        cw_decode_object(d, node, f->sub, slot);
        break;
    case CW_F_LIST:
        decode_list(d, node, f, slot);
        if ((f->flags & CW_F_NONEMPTY) && cw_yaml_is(node, CW_YNODE_SEQUENCE) && node->n == 0)
            node_error(d, node, "must not be empty");
        break;
    case CW_F_IGNORE:
        break;
    }
}

static const struct cw_field *find_field(const struct cw_schema *s, const char *name, size_t len)
{
    for (const struct cw_field *f = s->fields; f->name; f++)
        if (strlen(f->name) == len && memcmp(f->name, name, len) == 0)
            return f;
    return NULL;
}

/* Suggests the closest known field name for a typo such as "exportTpo". */
static const char *closest_field(const struct cw_schema *s, const char *name);

/* Reports every required field of <schema> whose bit is not in <seen>. */
static void report_missing(struct cw_decode *d, const struct cw_schema *schema, uint64_t seen)
{
    for (const struct cw_field *f = schema->fields; f->name; f++)
        if ((f->flags & CW_F_REQUIRED) && !(seen & (1ull << (f - schema->fields))))
            cw_decode_error(d, NULL, "missing required field \"%s\"", f->name);
}

void cw_decode_object(struct cw_decode *d, struct cw_ynode *node, const struct cw_schema *schema,
                      void *out)
{
    if (!cw_yaml_is(node, CW_YNODE_MAPPING)) {
        /*
         * "http: {}" written as "http:" is null: treat it as an empty object, whose required
         * fields are still missing (kubectl drops the null and then reports them).
         */
        if (is_null(node)) {
            report_missing(d, schema, 0);
            if (schema->post)
                schema->post(d, out);
            return;
        }
        node_error(d, node, "expected a mapping, got %s", cw_node_type_name(node));
        return;
    }
    uint32_t line = d->line, col = d->col;
    cw_node_position(node, &d->line, &d->col);
    uint32_t obj_line = d->line, obj_col = d->col;
    uint64_t seen = 0; /* bit per field index, for the required check */
    struct cw_yaml_iter iter = {0};
    struct cw_yaml_pair p;
    while (cw_yaml_map_next(node, &iter, &p)) {
        struct cw_ynode *key = p.key;
        if (!cw_yaml_is(key, CW_YNODE_SCALAR)) {
            node_error(d, key, "field names must be strings");
            continue;
        }
        /* Known fields are matched in place; only an unknown one is copied, to report it. */
        const struct cw_field *f = find_field(schema, key->text, key->n);
        const char *name = f ? f->name : cw_arena_strndup(d->arena, key->text, key->n);
        size_t saved = push_name(d, name);
        if (!f) {
            const char *hint = closest_field(schema, name);
            if (hint)
                node_error(d, key, "unknown field \"%s\" (did you mean \"%s\"?)", name, hint);
            else
                node_error(d, key, "unknown field \"%s\"", name);
            pop(d, saved);
            continue;
        }
        struct cw_ynode *value = p.value;
        /* A null value is absent, so "ports:" alone does not satisfy a required field. */
        if (!is_null(value) || (f->type == CW_F_OBJ && f->present))
            seen |= 1ull << (f - schema->fields);
        if (!is_null(value)) {
            if (f->present)
                *(bool *)((char *)out + f->present - 1) = true;
            cw_node_position(key, &d->line, &d->col);
            decode_value(d, value, f, out);
        } else if (f->type == CW_F_OBJ && f->present) {
            /* "tcp:" with nothing after it still selects the TCP listener kind. */
            *(bool *)((char *)out + f->present - 1) = true;
        }
        pop(d, saved);
    }
    d->line = obj_line;
    d->col = obj_col;
    report_missing(d, schema, seen);
    if (schema->post)
        schema->post(d, out);
    d->line = line;
    d->col = col;
}

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 99;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = (a[i - 1] | 32) == (b[j - 1] | 32) ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

static const char *closest_field(const struct cw_schema *s, const char *name)
{
    const char *best = NULL;
    size_t best_d = 3; /* only suggest close typos */
    for (const struct cw_field *f = s->fields; f->name; f++) {
        size_t dist = edit_distance(name, f->name);
        if (dist < best_d) {
            best_d = dist;
            best = f->name;
        }
    }
    return best;
}

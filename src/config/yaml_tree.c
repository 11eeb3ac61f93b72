/*
 * cw_yaml_reader (yaml.h): libfyaml's events into cw_ynode trees.
 *
 * A scalar's text is taken from the source where the source spells it as it is (a plain scalar
 * on one line, a quoted one on one line without escapes: nearly every value of a manifest).
 * Single-quoted scalars are unescaped here; only double-quoted escapes and folded or block
 * scalars are formatted by libfyaml's token iterator. Never through fy_token_get_text: besides
 * costing more, in libfyaml 0.7.12 it loses memory and returns unwritten bytes for '''' (see
 * single_quoted and fuzz/README.md).
 *
 * Nesting is bounded here: libfyaml's event parser does not bound it (its document builder did,
 * with the same limit and position), and everything that walks a tree recurses over it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "config/yaml.h"
#include "util/xalloc.h"

/* Collections open at once: the one that would be the CW_YAML_MAX_DEPTH-th is refused. */
#define OPEN_MAX (CW_YAML_MAX_DEPTH - 1)

/* Nodes of earlier documents are dropped at a document's start once they take this much. */
#define KEEP_BYTES (4u << 20)

int cw_yaml_reader_init(struct cw_yaml_reader *r, const char *text, size_t len,
                        struct fy_diag *diag)
{
    memset(r, 0, sizeof(*r));
    r->src = text;
    r->len = len;
    cw_arena_init(&r->arena);
    /* Allocated now: an empty collection reads its (no) children at the stack's start. */
    r->cap_stack = 256;
    r->stack = cw_xmalloc(sizeof(*r->stack) * r->cap_stack);
    /* Duplicate keys are cw_yaml_prepare's to find: libfyaml's check compares pairwise. */
    struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 |
                                         FYPCF_ALLOW_DUPLICATE_KEYS,
                                .diag = diag};
    r->parser = fy_parser_create(&pcfg);
    if (!r->parser)
        return -1;
    return fy_parser_set_string(r->parser, text, len);
}

/*
 * libfyaml 0.7.12 can crash destroying a parser that stopped on an error: after "? 4:\t-"
 * (found by fuzz_yaml) fy_parse_cleanup walks an indent stack the error left corrupt, and a
 * manifest anyone can write must never take the gateway down, at start or on a reload. A
 * parser that ended in an error is therefore not destroyed: it is parked here, still
 * reachable (so leak checkers stay quiet), at a cost of a few KiB per refused file. The park is
 * bounded; past it a refused file's parser is destroyed as before.
 */
#define PARKED_PARSERS_MAX 4096

static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
/* volatile: never read, so without it the compiler may drop the stores, and the parked
 * parsers would look lost to a leak checker. */
static struct fy_parser *volatile parked[PARKED_PARSERS_MAX];
static unsigned n_parked;

static bool park(struct fy_parser *p)
{
    pthread_mutex_lock(&parked_lock);
    bool room = n_parked < PARKED_PARSERS_MAX;
    if (room)
        parked[n_parked++] = p;
    pthread_mutex_unlock(&parked_lock);
    return room;
}

void cw_yaml_reader_deinit(struct cw_yaml_reader *r)
{
    if (r->parser && !(fy_parser_get_stream_error(r->parser) && park(r->parser)))
        fy_parser_destroy(r->parser);
    free(r->stack);
    cw_arena_deinit(&r->arena);
}

/* The text of a scalar that needs formatting (escapes, folded lines, block scalars): by
 * libfyaml's token iterator, which frees what it allocates (fy_token_get_text may not). */
static const char *formatted_text(struct cw_yaml_reader *r, struct fy_token *tok, uint32_t *len)
{
    struct fy_token_iter *it = fy_token_iter_create(tok);
    if (!it) {
        *len = 0;
        return "";
    }
    size_t n = 0, cap = 256;
    char *buf = cw_xmalloc(cap);
    const struct fy_iter_chunk *ic = NULL;
    int err = 0;
    while ((ic = fy_token_iter_chunk_next(it, ic, &err))) {
        if (n + ic->len > cap) {
            while (n + ic->len > cap)
                cap *= 2;
            buf = cw_xrealloc(buf, cap);
        }
        memcpy(buf + n, ic->str, ic->len);
        n += ic->len;
    }
    fy_token_iter_destroy(it);
    /* A text over 4 GiB cannot come from a file under CW_CONFIG_MAX_FILE_BYTES. */
    const char *text = cw_arena_strndup(&r->arena, buf, n);
    free(buf);
    *len = (uint32_t)n;
    return text;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Appends line <s, n> of a single-quoted scalar to <out> with each '' as one quote; <first> and
 * <last> say which ends keep their blanks.
 */
static void unquote_line(const char *s, size_t n, bool first, bool last, char *out, size_t *len)
{
    while (!first && n && is_blank(*s)) {
        s++;
        n--;
    }
    while (!last && n && is_blank(s[n - 1]))
        n--;
    for (size_t i = 0; i < n; i++) {
        out[(*len)++] = s[i];
        if (s[i] == '\'' && i + 1 < n && s[i + 1] == '\'')
            i++;
    }
}

/*
 * The text of a single-quoted scalar whose source between the quotes is <s, n>: '' is a quote,
 * and over several lines a line break folds into a space, or each empty line after it into a
 * newline (YAML 1.2 §7.3.2). Done here because libfyaml 0.7.12 doubles a quote that follows an
 * escaped one: it formats '''' as three quotes where its own length says two, then writes past
 * what it measured, losing memory and returning bytes it never wrote (fuzz/README.md).
 */
static const char *single_quoted(struct cw_yaml_reader *r, const char *s, size_t n, uint32_t *len)
{
    char *out = cw_arena_alloc(&r->arena, n + 1); /* the text never grows */
    size_t at = 0, breaks = 0;
    const char *end = s + n;
    for (bool first = true;; first = false) {
        const char *eol = s;
        while (eol < end && *eol != '\n' && *eol != '\r')
            eol++;
        bool last = eol == end;
        const char *t = s;
        while (t < eol && is_blank(*t))
            t++;
        if (!first && !last && t == eol) {
            breaks++; /* an empty line */
        } else {
            if (!first) {
                for (size_t i = 0; i < breaks; i++)
                    out[at++] = '\n';
                if (!breaks)
                    out[at++] = ' ';
            }
            breaks = 0;
            unquote_line(s, (size_t)(eol - s), first, last, out, &at);
        }
        if (last)
            break;
        s = eol + (eol[0] == '\r' && eol + 1 < end && eol[1] == '\n' ? 2 : 1);
    }
    *len = (uint32_t)at;
    return out;
}

/* The text of scalar token <tok> (NULL for an empty scalar: "a:"). */
static const char *scalar_text(struct cw_yaml_reader *r, struct fy_token *tok, uint32_t *len)
{
    *len = 0;
    if (!tok)
        return "";
    const struct fy_mark *start = fy_token_start_mark(tok), *end = fy_token_end_mark(tok);
    enum fy_scalar_style style = fy_token_scalar_style(tok);
    if (start && end && start->input_pos <= end->input_pos && end->input_pos <= r->len) {
        /* The marks of a quoted scalar lie inside its quotes. */
        const char *s = r->src + start->input_pos;
        size_t n = end->input_pos - start->input_pos;
        bool one_line = start->line == end->line;
        if (style == FYSS_SINGLE_QUOTED && (!one_line || memchr(s, '\'', n)))
            return single_quoted(r, s, n, len);
        bool as_written = style == FYSS_PLAIN || style == FYSS_SINGLE_QUOTED ||
                          (style == FYSS_DOUBLE_QUOTED && !memchr(s, '\\', n));
        if (one_line && as_written) {
            *len = (uint32_t)n;
            return s;
        }
    }
    return formatted_text(r, tok, len);
}

/* Position of <tok> (1-based) in <line, col>, or nothing without one. */
static void mark_of(struct fy_token *tok, uint32_t *line, uint32_t *col)
{
    const struct fy_mark *m = tok ? fy_token_start_mark(tok) : NULL;
    if (m) {
        *line = (uint32_t)m->line + 1;
        *col = (uint32_t)m->column + 1;
    }
}

static void position(struct cw_ynode *node, struct fy_token *tok)
{
    mark_of(tok, &node->line, &node->col);
}

/* Records that the collection of <e> opens too deep: the stream is not read further. */
static void too_deep(struct cw_yaml_reader *r, struct fy_event *e)
{
    bool seq = e->type == FYET_SEQUENCE_START;
    struct fy_token *start =
        seq ? e->sequence_start.sequence_start : e->mapping_start.mapping_start;
    struct fy_token *anchor = seq ? e->sequence_start.anchor : e->mapping_start.anchor;
    r->too_deep = true;
    mark_of(start ? start : anchor, &r->too_deep_line, &r->too_deep_col);
}

/* A copy of the text of an anchor or alias name: tokens go with their events. */
static const char *name_text(struct cw_yaml_reader *r, struct fy_token *tok, uint32_t *len)
{
    size_t n = 0;
    const char *s = tok ? fy_token_get_text(tok, &n) : NULL;
    *len = s ? (uint32_t)n : 0;
    return cw_arena_strndup(&r->arena, s ? s : "", *len);
}

static struct cw_ynode *new_node(struct cw_yaml_reader *r, enum cw_ynode_type type,
                                 struct fy_token *anchor)
{
    struct cw_ynode *node = CW_ARENA_NEW(&r->arena, struct cw_ynode);
    node->type = (uint8_t)type;
    if (anchor)
        node->anchor = name_text(r, anchor, &node->anchor_len);
    return node;
}

static void push(struct cw_yaml_reader *r, struct cw_ynode *node)
{
    if (r->n_stack == r->cap_stack) {
        r->cap_stack *= 2;
        r->stack = cw_xrealloc(r->stack, sizeof(*r->stack) * r->cap_stack);
    }
    r->stack[r->n_stack++] = node;
}

/*
 * Closes <coll>, whose children are the stack entries from <first> on: they move into the arena.
 * A mapping's children alternate key, value (the parser always gives both).
 */
static void close_collection(struct cw_yaml_reader *r, struct cw_ynode *coll, uint32_t first)
{
    uint32_t n = r->n_stack - first;
    struct cw_ynode **children = r->stack + first;
    if (coll->type == CW_YNODE_SEQUENCE) {
        coll->n = n;
        coll->items = CW_ARENA_ARRAY(&r->arena, struct cw_ynode *, n ? n : 1);
        memcpy(coll->items, children, sizeof(*children) * n);
    } else {
        coll->n = n / 2;
        coll->pairs = CW_ARENA_ARRAY(&r->arena, struct cw_yaml_pair, n / 2 ? n / 2 : 1);
        for (uint32_t i = 0; i + 1 < n; i += 2)
            coll->pairs[i / 2] = (struct cw_yaml_pair){children[i], children[i + 1]};
    }
    r->n_stack = first;
}

/* Open collections: the node, and where its children start on the stack. */
struct open {
    struct cw_ynode *node;
    uint32_t first;
};

/* Adds the node of event <e> to the document being read; returns the node when it is complete
 * (a scalar, an alias, a collection that ends) and NULL otherwise. */
static struct cw_ynode *node_of(struct cw_yaml_reader *r, struct fy_event *e, struct open *open,
                                uint32_t *depth)
{
    struct cw_ynode *node = NULL;
    switch (e->type) {
    case FYET_SCALAR:
        node = new_node(r, CW_YNODE_SCALAR, e->scalar.anchor);
        node->text = scalar_text(r, e->scalar.value, &node->n);
        node->plain = !e->scalar.value || fy_token_scalar_style(e->scalar.value) == FYSS_PLAIN;
        position(node, e->scalar.value);
        return node;
    case FYET_ALIAS:
        node = new_node(r, CW_YNODE_ALIAS, NULL);
        node->text = name_text(r, e->alias.anchor, &node->n);
        position(node, e->alias.anchor);
        return node;
    case FYET_SEQUENCE_START:
    case FYET_MAPPING_START: {
        if (*depth >= OPEN_MAX) {
            too_deep(r, e);
            return NULL;
        }
        bool seq = e->type == FYET_SEQUENCE_START;
        node = new_node(r, seq ? CW_YNODE_SEQUENCE : CW_YNODE_MAPPING,
                        seq ? e->sequence_start.anchor : e->mapping_start.anchor);
        open[(*depth)++] = (struct open){node, r->n_stack};
        return NULL;
    }
    case FYET_SEQUENCE_END:
    case FYET_MAPPING_END:
        if (*depth == 0) /* cannot happen: the parser pairs starts and ends */
            return NULL;
        --(*depth);
        close_collection(r, open[*depth].node, open[*depth].first);
        return open[*depth].node;
    default:
        return NULL;
    }
}

int cw_yaml_read_document(struct cw_yaml_reader *r, struct cw_ynode **root)
{
    struct open open[OPEN_MAX];
    uint32_t depth = 0;
    bool in_document = false;
    struct cw_ynode *top = NULL;
    struct fy_event *e;
    while ((e = fy_parser_parse(r->parser))) {
        enum fy_event_type type = e->type;
        if (type == FYET_DOCUMENT_START) {
            in_document = true;
            top = NULL;
            r->n_stack = 0;
            /* Documents are decoded one at a time; a file of many large ones must not keep
             * every tree, nor a file of many small ones pay for a fresh arena each. */
            if (r->arena.used_total > KEEP_BYTES) {
                cw_arena_deinit(&r->arena);
                cw_arena_init(&r->arena);
            }
        } else if (in_document && type != FYET_DOCUMENT_END) {
            struct cw_ynode *node = node_of(r, e, open, &depth);
            if (node && depth == 0)
                top = node;
            else if (node)
                push(r, node);
        }
        fy_parser_event_free(r->parser, e);
        if (r->too_deep)
            return -1;
        if (type == FYET_DOCUMENT_END && in_document) {
            if (!top) { /* cannot happen: a document always has a root node */
                top = new_node(r, CW_YNODE_SCALAR, NULL);
                top->text = "";
            }
            *root = top;
            return 1;
        }
    }
    return fy_parser_get_stream_error(r->parser) ? -1 : 0;
}

#include "http/path.h"

#include <stdbool.h>
#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 3986 §2.3: the characters whose escapes mean the same as the characters themselves. */
static bool is_unreserved(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Copies the segment [p, end) to out + *o, decoding escapes of unreserved characters only: a
 * decoded reserved character ("%2F", "%3F") would change where segments or the query begin. A
 * malformed escape ("%zz", a '%' at the end) is copied as it came, for the origin to judge. */
static void put_segment(const char *p, const char *end, char *out, size_t *o)
{
    while (p < end) {
        if (*p == '%' && end - p >= 3) {
            int hi = hex_value(p[1]), lo = hex_value(p[2]);
            if (hi >= 0 && lo >= 0 && is_unreserved(hi * 16 + lo)) {
                out[(*o)++] = (char)(hi * 16 + lo);
                p += 3;
                continue;
            }
        }
        out[(*o)++] = *p++;
    }
}

static bool is_dot_segment(const char *s, size_t n)
{
    return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* Removes the last segment written, with its '/'; false when there is none: the ".." that
 * asked for it climbs above the root. */
static bool pop_segment(const char *out, size_t *o)
{
    if (*o == 0)
        return false;
    /* What is written always starts with '/', so a '/' is found. */
    const char *slash = memrchr(out, '/', *o);
    *o = (size_t)(slash - out);
    return true;
}

int cw_path_normalize(struct cw_span in, char *out, size_t out_size, size_t *out_len)
{
    if (out_size < in.len)
        return CW_PATH_NO_ROOM;
    if (in.len == 0 || in.p[0] != '/') {
        if (in.len)
            memcpy(out, in.p, in.len);
        *out_len = in.len;
        return 0;
    }
    /* One segment at a time ("/" and what follows up to the next '/'), written decoded, then
     * taken back when it decoded to "." or "..". Nothing written is longer than what it came
     * from, so the output never overtakes the input's length. */
    size_t o = 0;
    const char *p = in.p, *end = in.p + in.len;
    while (p < end) {
        const char *seg = p + 1;
        const char *next = seg < end ? memchr(seg, '/', (size_t)(end - seg)) : NULL;
        if (!next)
            next = end;
        size_t start = o;
        out[o++] = '/';
        put_segment(seg, next, out, &o);
        if (is_dot_segment(out + start + 1, o - start - 1)) {
            bool up = o - start - 1 == 2;
            o = start;
            if (up && !pop_segment(out, &o))
                return CW_PATH_ABOVE_ROOT;
            if (next == end) /* "/a/." and "/a/b/.." name the directory: "/a/" */
                out[o++] = '/';
        }
        p = next;
    }
    *out_len = o;
    return 0;
}

int cw_path_normalize_target(struct cw_span target, char *out, size_t out_size,
                             struct cw_span *out_target)
{
    if (out_size < target.len + 1)
        return CW_PATH_NO_ROOM;
    const char *q = target.len ? memchr(target.p, '?', target.len) : NULL;
    struct cw_span path = {target.p, q ? (size_t)(q - target.p) : target.len};
    size_t n;
    int rc = cw_path_normalize(path, out, out_size, &n);
    if (rc != 0)
        return rc;
    size_t query_len = target.len - path.len; /* '?' included */
    if (query_len)
        memcpy(out + n, q, query_len);
    out[n + query_len] = '\0';
    *out_target = (struct cw_span){out, n + query_len};
    return 0;
}

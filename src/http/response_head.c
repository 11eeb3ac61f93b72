#include "http/response_head.h"

#include <string.h>

/* RFC 9110 §5.6.2 token characters, the only ones a header name may have. */
static const bool is_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1,         ['&'] = 1,         ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,         ['^'] = 1,         ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

static bool plain_bytes(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && c != '\t') || c > 0x7e)
            return false;
    }
    return true;
}

/* True when the eight bytes at <p> are plain. A word with no byte below 0x20 or above 0x7e
 * needs no closer look (the tests of "Bit Twiddling Hacks", exact for these bounds). */
static bool plain_word(const char *p)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t w;
    memcpy(&w, p, 8);
    uint64_t below = (w - ones * 0x20) & ~w & highs;
    uint64_t above = ((w + ones * (0x7f - 0x7e)) | w) & highs;
    return !(below | above) || plain_bytes(p, 8);
}

/* True when [p, p + n) is visible ASCII, spaces and tabs: what a plain reason or value holds.
 * Eight bytes at a time, the last word overlapping the one before. */
static bool plain_text(const char *p, size_t n)
{
    if (n < 8)
        return plain_bytes(p, n);
    for (size_t i = 0; i + 8 < n; i += 8)
        if (!plain_word(p + i))
            return false;
    return plain_word(p + n - 8);
}

/* The end of the line that starts at <s> (its CR, followed by LF), or NULL. */
static const char *line_end(const char *s, const char *end)
{
    const char *cr = memchr(s, '\r', (size_t)(end - s));
    return cr && cr + 1 < end && cr[1] == '\n' ? cr : NULL;
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static bool at_crlf(const char *s, const char *end)
{
    return end - s >= 2 && s[0] == '\r' && s[1] == '\n';
}

/* "HTTP/1.1 200 OK\r\n": the status and reason, and where the headers start; NULL if declined. */
static const char *status_line(const char *p, const char *end, struct cw_http_head *h,
                               struct cw_response_framing *f)
{
    if (end - p < 15 || memcmp(p, "HTTP/1.1 ", 9) != 0 || p[12] != ' ')
        return NULL;
    int status = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return NULL;
        status = status * 10 + (p[i] - '0');
    }
    /* 1xx, 204 and 304 have framing of their own: llhttp's path handles them. */
    if (status < 200 || status > 599 || status == 204 || status == 304)
        return NULL;
    const char *reason = p + 13, *cr = line_end(reason, end);
    if (!cr || !plain_text(reason, (size_t)(cr - reason)))
        return NULL;
    f->status = status;
    h->reason = (struct cw_span){reason, (size_t)(cr - reason)};
    return cr + 2;
}

/* The headers the framing depends on; false when the head is not plain. */
static bool note_framing(const struct cw_header *hd, struct cw_response_framing *f, bool *have_cl,
                         bool *have_conn)
{
    struct cw_span n = hd->name, v = hd->value;
    while (v.len && v.p[v.len - 1] == ' ') /* llhttp refuses a tab after a length */
        v.len--;
    if (cw_span_is_lower(n, "transfer-encoding", 17))
        return false;
    if (cw_span_is_lower(n, "content-length", 14)) {
        if (*have_cl || v.len == 0 || v.len > 15) /* 15 digits cannot overflow */
            return false;
        uint64_t len = 0;
        for (size_t i = 0; i < v.len; i++) {
            if (v.p[i] < '0' || v.p[i] > '9')
                return false;
            len = len * 10 + (uint64_t)(v.p[i] - '0');
        }
        f->content_length = len;
        *have_cl = true;
        return true;
    }
    if (cw_span_is_lower(n, "connection", 10)) {
        if (*have_conn)
            return false;
        *have_conn = true;
        if (cw_span_is_lower(v, "close", 5))
            f->keep_alive = false;
        else if (!cw_span_is_lower(v, "keep-alive", 10))
            return false;
    }
    return true;
}

/* "Name: value \r\n" at <s>: the header and where the next line starts; NULL if declined. */
static const char *header_line(const char *s, const char *end, struct cw_header *hd)
{
    const char *name = s;
    while (s < end && is_tchar[(unsigned char)*s])
        s++;
    if (s == name || s == end || *s != ':')
        return NULL;
    hd->name = (struct cw_span){name, (size_t)(s - name)};
    const char *value = s + 1, *cr = line_end(value, end);
    if (!cr || !plain_text(value, (size_t)(cr - value)))
        return NULL;
    while (value < cr && is_ows(*value))
        value++;
    /* Trailing spaces stay in the value, as llhttp reports it. */
    hd->value =
        cr > value ? (struct cw_span){value, (size_t)(cr - value)} : (struct cw_span){"", 0};
    return cr + 2;
}

size_t cw_response_head_parse(const char *p, size_t n, struct cw_http_head *h,
                              struct cw_response_framing *f)
{
    const char *end = p + n;
    *f = (struct cw_response_framing){.keep_alive = true};
    h->url = (struct cw_span){NULL, 0};
    h->n_headers = 0;
    h->too_many_headers = false;
    h->in_name = false;
    const char *s = status_line(p, end, h, f);
    bool have_cl = false, have_conn = false;
    while (s && !at_crlf(s, end)) {
        if (h->n_headers == CW_HTTP_MAX_HEADERS)
            return 0;
        struct cw_header *hd = &h->headers[h->n_headers++];
        s = header_line(s, end, hd);
        if (s && !note_framing(hd, f, &have_cl, &have_conn))
            return 0;
    }
    if (!s || !have_cl)
        return 0;
    return (size_t)(s + 2 - p);
}

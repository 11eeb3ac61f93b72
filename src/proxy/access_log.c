#include "proxy/access_log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proxy/response_flags.h"
#include "snapshot/snapshot_types.h"
#include "util/xalloc.h"

int cw_access_log_open(struct cw_access_log *log, const char *path, bool json)
{
    log->json = json;
    if (!strcmp(path, "-")) {
        log->fd = STDOUT_FILENO;
        return 0;
    }
    log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return log->fd < 0 ? -errno : 0;
}

int cw_access_log_reopen(struct cw_access_log *log, const char *path)
{
    if (!strcmp(path, "-"))
        return 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    /* dup3 swaps the file under the same descriptor at once: a worker's write goes wholly to
     * the old file or wholly to the new one, and nobody holds a descriptor that goes away. */
    int rc = dup3(fd, log->fd, O_CLOEXEC) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

void cw_access_log_close(struct cw_access_log *log)
{
    if (log->fd > STDERR_FILENO)
        close(log->fd);
    log->fd = -1;
}

void cw_log_buffer_free(struct cw_log_buffer *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = buf->cap = 0;
}

static void put(struct cw_log_buffer *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct cw_log_buffer *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = b->cap ? b->cap * 2 : 16384;
        if (n > 0 && b->cap < b->len + (size_t)n + 1)
            b->cap = b->len + (size_t)n + 1;
        b->data = cw_xrealloc(b->data, b->cap);
    }
}

/* Appends <n> bytes as they are. */
static void put_raw(struct cw_log_buffer *b, const char *p, size_t n)
{
    if (b->cap - b->len < n + 1) {
        b->cap = b->cap * 2 > b->len + n + 1 ? b->cap * 2 : b->len + n + 16384;
        b->data = cw_xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* How a field's bytes are escaped. Method, path, Host and reason come from the client (or carry
 * what it sent), so no byte of theirs may end a field or a line: a Host of
 * `x" status=200 route="gw/a:b` must stay inside host="...", whatever reads the log. */
enum escape {
    IN_QUOTES, /* text inside "...": '"', '\\', control and non-ASCII bytes escaped */
    AS_TOKEN,  /* text between spaces: the space escaped too */
    IN_JSON,   /* a JSON string: \u00XX for control and non-ASCII bytes */
};

/* Whether byte <c> is written as it is. Bytes outside printable ASCII are always escaped: a
 * line must not end early, and a JSON line must stay valid UTF-8 whatever bytes came. */
static bool plain(unsigned char c, enum escape e)
{
    if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
        return false;
    return c != ' ' || e != AS_TOKEN;
}

static void put_escaped(struct cw_log_buffer *b, const char *s, enum escape e)
{
    const char *run = s;
    for (const char *c = s;; c++) {
        if (*c && plain((unsigned char)*c, e))
            continue;
        put_raw(b, run, (size_t)(c - run)); /* runs of plain bytes in one copy */
        if (!*c)
            return;
        if (*c == '"' || *c == '\\')
            put_raw(b, (char[]){'\\', *c}, 2);
        else if (e == IN_JSON)
            put(b, "\\u%04x", (unsigned char)*c);
        else
            put(b, "\\x%02x", (unsigned char)*c);
        run = c + 1;
    }
}

/* JSON string with escapes, or null. */
static void put_json(struct cw_log_buffer *b, const char *key, const char *s, bool comma)
{
    put(b, "%s\"%s\":", comma ? "," : "", key);
    if (!s) {
        put(b, "null");
        return;
    }
    put_raw(b, "\"", 1);
    put_escaped(b, s, IN_JSON);
    put_raw(b, "\"", 1);
}

/* A text field " key=value": the value escaped as <e> says, in quotes unless a token. */
static void put_text(struct cw_log_buffer *b, const char *key, const char *s, enum escape e)
{
    put(b, " %s=%s", key, e == IN_QUOTES ? "\"" : "");
    put_escaped(b, s, e);
    if (e == IN_QUOTES)
        put_raw(b, "\"", 1);
}

static void timestamp(char *out, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

static const char *dash(const char *s)
{
    return s && *s ? s : "-";
}

/* A time in µs: the number, or "-" (text) / null (JSON) when there is none. */
static void put_us(struct cw_log_buffer *b, const char *key, int64_t us, bool json)
{
    if (json)
        put(b, us < 0 ? ",\"%s\":null" : ",\"%s\":%lld", key, (long long)us);
    else if (us < 0)
        put(b, " %s=-", key);
    else
        put(b, " %s=%lld", key, (long long)us);
}

/* The text format: quoted fields for what the client sent, escaped tokens for the names the
 * configuration gives (route, service, endpoint, locality), so neither can fake a field. */
static void put_text_log(struct cw_log_buffer *b, const char *ts, const struct cw_access_record *r)
{
    put(b, "%s %s listener=%u", ts, r->protocol, r->listener);
    if (r->method) {
        put_raw(b, " \"", 2);
        put_escaped(b, dash(r->method), IN_QUOTES);
        put_raw(b, " ", 1);
        put_escaped(b, dash(r->path), IN_QUOTES);
        put_raw(b, "\"", 1);
        put_text(b, "host", dash(r->host), IN_QUOTES);
        put(b, " status=%d", r->status);
    }
    put_text(b, "route", dash(r->route), AS_TOKEN);
    put_text(b, "service", dash(r->service), AS_TOKEN);
    put_text(b, "endpoint", dash(r->endpoint), AS_TOKEN);
    put_text(b, "locality", dash(r->locality), AS_TOKEN);
    if (r->priority >= 0)
        put(b, " priority=%d", r->priority);
    else
        put(b, " priority=-");
    put(b, " in=%llu out=%llu duration_ms=%llu retries=%u", (unsigned long long)r->bytes_in,
        (unsigned long long)r->bytes_out, (unsigned long long)r->duration_ms, r->retries);
    char flags[16];
    cw_response_flags(r->reason, r->retries, flags, sizeof(flags));
    put_text(b, "client", dash(r->client), AS_TOKEN);
    put_text(b, "request_id", dash(r->request_id), IN_QUOTES);
    put_us(b, "upstream_connect_us", r->upstream_connect_us, false);
    put_us(b, "upstream_response_us", r->upstream_response_us, false);
    put(b, " flags=%s", flags);
    if (r->sni)
        put_text(b, "sni", r->sni, IN_QUOTES);
    if (r->upstream_tls)
        put_text(b, "upstream_tls", r->upstream_tls, AS_TOKEN);
    put_text(b, "reason", dash(r->reason), IN_QUOTES);
    put_raw(b, "\n", 1);
}

void cw_access_log_add(const struct cw_access_log *log, struct cw_log_buffer *b,
                       const struct cw_access_record *r)
{
    char ts[40];
    timestamp(ts, sizeof(ts));
    if (!log->json) {
        put_text_log(b, ts, r);
        return;
    }
    put(b, "{");
    put_json(b, "time", ts, false);
    put_json(b, "protocol", r->protocol, true);
    put(b, ",\"listener\":%u", r->listener);
    put_json(b, "method", r->method, true);
    put_json(b, "path", r->path, true);
    put_json(b, "host", r->host, true);
    put(b, ",\"status\":%d", r->status);
    put_json(b, "route", r->route, true);
    put_json(b, "service", r->service, true);
    put_json(b, "endpoint", r->endpoint, true);
    put_json(b, "locality", r->locality, true);
    if (r->priority >= 0)
        put(b, ",\"priority\":%d", r->priority);
    else
        put(b, ",\"priority\":null");
    put(b, ",\"bytes_in\":%llu,\"bytes_out\":%llu,\"duration_ms\":%llu,\"retries\":%u",
        (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
        (unsigned long long)r->duration_ms, r->retries);
    char flags[16];
    cw_response_flags(r->reason, r->retries, flags, sizeof(flags));
    put_json(b, "client", r->client, true);
    put_json(b, "request_id", r->request_id, true);
    put_us(b, "upstream_connect_us", r->upstream_connect_us, true);
    put_us(b, "upstream_response_us", r->upstream_response_us, true);
    put_json(b, "flags", strcmp(flags, "-") ? flags : NULL, true);
    put_json(b, "sni", r->sni, true);
    put_json(b, "upstream_tls", r->upstream_tls, true);
    put_json(b, "reason", r->reason, true);
    put(b, "}\n");
}

void cw_access_log_flush(const struct cw_access_log *log, struct cw_log_buffer *b)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t n = write(log->fd, b->data + off, b->len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* a full disk must not stop the proxy; the lines are dropped */
        off += (size_t)n;
    }
    b->len = 0;
}

char *cw_log_text_new(const struct cw_span *fields, unsigned n)
{
    size_t len = 0;
    for (unsigned i = 0; i < n; i++)
        len += fields[i].len + 1;
    char *text = cw_xmalloc(len ? len : 1), *p = text;
    for (unsigned i = 0; i < n; i++) {
        memcpy(p, fields[i].p, fields[i].len);
        p += fields[i].len;
        *p++ = '\0';
    }
    return text;
}

const char *cw_log_text_field(const char *text, unsigned i)
{
    if (!text)
        return "-";
    while (i--)
        text += strlen(text) + 1;
    return text;
}

void cw_client_text(char *out, const char *ip, uint16_t port)
{
    snprintf(out, CW_CLIENT_TEXT, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
}

uint16_t cw_sockaddr_port(const struct sockaddr_storage *peer)
{
    if (peer->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)peer)->sin_port);
    if (peer->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
    return 0;
}

void cw_sockaddr_ip(const struct sockaddr_storage *peer, char *out, size_t size)
{
    snprintf(out, size, "unknown");
    if (peer->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, out, (socklen_t)size);
    else if (peer->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, out,
                  (socklen_t)size);
}

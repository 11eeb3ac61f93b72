#include "proxy/access_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* JSON string with escapes, or null. */
static void put_json(struct cw_log_buffer *b, const char *key, const char *s, bool comma)
{
    put(b, "%s\"%s\":", comma ? "," : "", key);
    if (!s) {
        put(b, "null");
        return;
    }
    put(b, "\"");
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\')
            put(b, "\\%c", *c);
        else if (*c < 0x20)
            put(b, "\\u%04x", *c);
        else
            put(b, "%c", *c);
    }
    put(b, "\"");
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

void cw_access_log_add(const struct cw_access_log *log, struct cw_log_buffer *b,
                       const struct cw_access_record *r)
{
    char ts[40];
    timestamp(ts, sizeof(ts));
    if (!log->json) {
        put(b, "%s %s listener=%u", ts, r->protocol, r->listener);
        if (r->method)
            put(b, " \"%s %s\" host=%s status=%d", r->method, dash(r->path), dash(r->host),
                r->status);
        put(b, " route=%s service=%s endpoint=%s locality=%s", dash(r->route), dash(r->service),
            dash(r->endpoint), dash(r->locality));
        if (r->priority >= 0)
            put(b, " priority=%d", r->priority);
        else
            put(b, " priority=-");
        put(b, " in=%llu out=%llu duration_ms=%llu retries=%u reason=\"%s\"\n",
            (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
            (unsigned long long)r->duration_ms, r->retries, dash(r->reason));
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

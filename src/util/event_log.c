#include "util/event_log.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/utf8.h"
#include "util/xalloc.h"

struct cw_event_log {
    char *events[CW_EVENT_LOG_SIZE]; /* a ring of JSON objects */
    unsigned next;                   /* where the next one goes */
    unsigned long long seq;          /* events recorded in all */
};

struct cw_event_log *cw_event_log_new(void)
{
    return cw_xcalloc(1, sizeof(struct cw_event_log));
}

void cw_event_log_free(struct cw_event_log *log)
{
    if (!log)
        return;
    for (unsigned i = 0; i < CW_EVENT_LOG_SIZE; i++)
        free(log->events[i]);
    free(log);
}

/* The length of the UTF-8 sequence at <p> (1..4), or 0 when it is not a valid one (overlong
 * forms, surrogates and code points past U+10FFFF are not: util/utf8.h). */
static size_t utf8_length(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2;
    const char *c = (const char *)p;
    return strnlen(c, n) == n && cw_utf8_valid_prefix(c, n) == n ? n : 0;
}

void cw_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; *c;) {
        size_t n = utf8_length(c);
        if (n == 0) {
            fprintf(out, "\\u%04x", *c); /* a stray byte, shown as the Latin-1 character */
            c++;
        } else if (n > 1) {
            fwrite(c, 1, n, out);
            c += n;
        } else {
            if (*c == '"' || *c == '\\')
                fprintf(out, "\\%c", *c);
            else if (*c < 0x20 || *c == 0x7F)
                fprintf(out, "\\u%04x", *c);
            else
                fputc(*c, out);
            c++;
        }
    }
    fputc('"', out);
}

void cw_event_log_add(struct cw_event_log *log, const char *type, const char *const *kv)
{
    if (!log)
        return;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (!out)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char when[64];
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(out, "{\"seq\":%llu,\"time\":\"%s.%03ldZ\",\"type\":", ++log->seq, when,
            now.tv_nsec / 1000000);
    cw_json_string(out, type);
    for (; kv && kv[0] && kv[1]; kv += 2) {
        fputc(',', out);
        cw_json_string(out, kv[0]);
        fputc(':', out);
        cw_json_string(out, kv[1]);
    }
    fputc('}', out);
    fclose(out);
    free(log->events[log->next]);
    log->events[log->next] = text;
    log->next = (log->next + 1) % CW_EVENT_LOG_SIZE;
}

void cw_event_log_write_json(const struct cw_event_log *log, FILE *out)
{
    fputs("{\"events\":[", out);
    bool first = true;
    for (unsigned i = 1; log && i <= CW_EVENT_LOG_SIZE; i++) {
        const char *e = log->events[(log->next + CW_EVENT_LOG_SIZE - i) % CW_EVENT_LOG_SIZE];
        if (!e)
            break;
        fputs(first ? "\n" : ",\n", out);
        fputs(e, out);
        first = false;
    }
    fputs("\n]}\n", out);
}

/*
 * CPU lists (cpu_list.h).
 */
#include "util/cpu_list.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool allowed_set(cpu_set_t *set)
{
    CPU_ZERO(set);
    return sched_getaffinity(0, sizeof(*set), set) == 0;
}

unsigned cw_cpu_allowed_count(void)
{
    cpu_set_t set;
    int n = allowed_set(&set) ? CPU_COUNT(&set) : 0;
    return n > 0 ? (unsigned)n : 1;
}

void cw_cpu_list_allowed_text(char *out, size_t size)
{
    cpu_set_t set;
    size_t len = 0;
    out[0] = '\0';
    if (!allowed_set(&set))
        return;
    for (int c = 0; c < CPU_SETSIZE && len + 24 < size; c++) {
        if (!CPU_ISSET(c, &set) || (c > 0 && CPU_ISSET(c - 1, &set)))
            continue;
        int last = c;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set))
            last++;
        len += (size_t)(last > c ? snprintf(out + len, size - len, "%s%d-%d", len ? "," : "", c, last)
                                 : snprintf(out + len, size - len, "%s%d", len ? "," : "", c));
    }
}

/* One number of a list, digits only. Returns 0, -1 when there is none, or -2 when it is not
 * below CPU_SETSIZE (no such CPU can exist). */
static int parse_cpu(const char **p, unsigned *out)
{
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if (v < CPU_SETSIZE)
            v = v * 10 + (unsigned long)(*s - '0');
    *p = s;
    *out = v < CPU_SETSIZE ? (unsigned)v : CPU_SETSIZE;
    return v < CPU_SETSIZE ? 0 : -2;
}

/* Why <rc> of parse_cpu at <at> is refused. */
static void number_error(int rc, const char *text, const char *at, const char *what, char *why,
                         size_t size)
{
    if (rc == -2)
        snprintf(why, size, "CPU number at position %zu of \"%s\" is too large (at most %d)",
                 (size_t)(at - text) + 1, text, CPU_SETSIZE - 1);
    else
        snprintf(why, size, "expected %s at position %zu of \"%s\" (a list such as 0-3,6)",
                 what, (size_t)(at - text) + 1, text);
}

static int add_cpu(struct cw_cpu_list *out, unsigned cpu, const cpu_set_t *allowed, char *why,
                   size_t size)
{
    if (!CPU_ISSET(cpu, allowed)) {
        char text[256];
        cw_cpu_list_allowed_text(text, sizeof(text));
        snprintf(why, size, "CPU %u is not one this process may run on (allowed: %s)", cpu, text);
        return -1;
    }
    for (unsigned i = 0; i < out->n; i++)
        if (out->cpu[i] == cpu)
            return 0;
    if (out->n == CW_CPU_LIST_MAX) {
        snprintf(why, size, "more than %d CPUs", CW_CPU_LIST_MAX);
        return -1;
    }
    out->cpu[out->n++] = cpu;
    return 0;
}

int cw_cpu_list_parse(const char *text, struct cw_cpu_list *out, char *why, size_t size)
{
    cpu_set_t allowed;
    out->n = 0;
    if (!allowed_set(&allowed)) {
        snprintf(why, size, "cannot read this process's CPUs: %s", strerror(errno));
        return -1;
    }
    const char *p = text;
    for (;;) {
        unsigned first, last;
        const char *at = p;
        int rc = parse_cpu(&p, &first);
        if (rc != 0) {
            number_error(rc, text, at, "a CPU number", why, size);
            return -1;
        }
        last = first;
        if (*p == '-') {
            at = ++p;
            rc = parse_cpu(&p, &last);
            if (rc == 0 && last < first)
                rc = -1;
            if (rc != 0) {
                number_error(rc, text, at, "the end of a range, not below its start", why, size);
                return -1;
            }
        }
        for (unsigned c = first; c <= last; c++)
            if (add_cpu(out, c, &allowed, why, size) != 0)
                return -1;
        if (*p == '\0')
            return 0;
        if (*p != ',') {
            snprintf(why, size, "unexpected '%c' at position %zu of \"%s\"", *p,
                     (size_t)(p - text) + 1, text);
            return -1;
        }
        p++;
    }
}

int cw_cpu_pin_self(const struct cw_cpu_list *list, const unsigned *only)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (only)
        CPU_SET(*only, &set);
    else
        for (unsigned i = 0; i < list->n; i++)
            CPU_SET(list->cpu[i], &set);
    return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

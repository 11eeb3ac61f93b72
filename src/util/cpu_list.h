/*
 * CPU lists as taskset and cpusets write them ("0-3,6"), for --worker-cpus and --control-cpus:
 * which cores the workers and the control thread (configuration, DNS, admin API) may run on.
 * Pinning them apart keeps the control thread's work (thousands of DNS lookups a second) off the
 * cores that serve traffic, the way HAProxy's cpu-map and nginx's worker_cpu_affinity do.
 */
#ifndef CW_UTIL_CPU_LIST_H
#define CW_UTIL_CPU_LIST_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

#define CW_CPU_LIST_MAX 1024 /* CPUs named in one list */

struct cw_cpu_list {
    unsigned n;
    unsigned cpu[CW_CPU_LIST_MAX]; /* in the order written, without repeats */
};

/*
 * Parses <text> into <out>; every CPU must be one this process may run on (its affinity mask,
 * as taskset or a cpuset left it). Returns 0, or -1 with the reason in <why>.
 */
int cw_cpu_list_parse(const char *text, struct cw_cpu_list *out, char *why, size_t size);

/* The CPUs this process may run on now, as text ("0-1"), into <out>. */
void cw_cpu_list_allowed_text(char *out, size_t size);

/* How many CPUs this process may run on (at least 1). */
unsigned cw_cpu_allowed_count(void);

/* Pins the calling thread to every CPU of <list> (one of them: [<only>], when <only> is not
 * NULL). Returns 0 or an errno value. */
int cw_cpu_pin_self(const struct cw_cpu_list *list, const unsigned *only);

#endif

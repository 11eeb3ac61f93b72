/*
 * The hosts file (/etc/hosts, or --dns-hosts-file) as the resolver consults it before DNS, the
 * way the system's resolver and c-ares do.
 *
 * Why not let c-ares read it: c-ares 1.18 opens and parses the file for every lookup, and with
 * thousands of names at short TTLs that was the largest part of the control thread's work
 * (BENCHMARKS.md "DNS"). This keeps it in memory instead and reads it again only when its
 * modification time, size or inode changes, checked at most once per `check_every_ms`.
 *
 * Lines are "ADDRESS NAME [ALIAS...]" with '#' comments; names match without regard to case; a
 * name on several lines gets every address (at most CW_DNS_MAX_ADDRESSES). A line whose first
 * field is not an IPv4 or IPv6 address is skipped, and so is a file over 16 MiB (names then go
 * to DNS). Control thread only.
 */
#ifndef CW_DNS_HOSTS_FILE_H
#define CW_DNS_HOSTS_FILE_H

#include <stdint.h>
#include <sys/socket.h>

struct cw_hosts_file;

/* A table for <path> (copied), read on the first lookup. */
struct cw_hosts_file *cw_hosts_file_new(const char *path, uint64_t check_every_ms);
void cw_hosts_file_free(struct cw_hosts_file *h);

/*
 * The addresses the file gives <name> (port 0), at most <cap>; 0 when it does not name it (or
 * cannot be read: then DNS answers, as when the file is absent). <now_ms> (monotonic) decides
 * whether the file is due for a check.
 */
uint32_t cw_hosts_file_lookup(struct cw_hosts_file *h, const char *name, uint64_t now_ms,
                              struct sockaddr_storage *out, uint32_t cap);

/* The parser alone, for tests: replaces the table with <text>, as if the file had been read at
 * time 0 (the next check is due at check_every_ms). */
void cw_hosts_file_parse(struct cw_hosts_file *h, const char *text, size_t len);

#endif

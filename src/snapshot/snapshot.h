/*
 * Snapshot lifetime. A snapshot lives in its translation's arena; the compiled regexes it owns
 * are the only memory outside it.
 */
#ifndef CW_SNAPSHOT_H
#define CW_SNAPSHOT_H

#include "snapshot/snapshot_types.h"

/*
 * Indexes the host names of every listener (exact_hosts, exposed_hosts, wildcard_hosts), in
 * <arena>. Called once when the snapshot is complete.
 */
void cw_snapshot_index(struct cw_snapshot *snap, struct cw_arena *arena);

/*
 * Writes <host> lowercased into <out> (NUL-terminated) as the key of the host indexes; a
 * trailing dot is dropped when <drop_dot>. Returns the key's length, or -1 when it does not
 * fit (no name that long is indexed).
 */
int cw_snapshot_host_key(const char *host, size_t len, bool drop_dot, char *out, size_t size);

/* Longest host name a key holds (RFC 1035: 253, plus room for a trailing dot). */
#define CW_HOST_KEY_MAX 256

/* "http", "https", "tcp", "tls" (terminated) or "tls passthrough". */
const char *cw_snapshot_listener_kind(const struct cw_snapshot_listener *l);

/* The listener of <snap> on <port>, or NULL. */
const struct cw_snapshot_listener *cw_snapshot_listener_on(const struct cw_snapshot *snap,
                                                           uint16_t port);

/* The certificate, key and CA files TLS reads for <snap> (origination and termination), at most
 * <cap> of them into <out> (repeats included); returns how many there are. For reloading when
 * one changes. */
unsigned cw_snapshot_tls_files(const struct cw_snapshot *snap, const char **out, unsigned cap);

/* Frees the compiled regexes of <snap>; the arena holding <snap> is freed by its owner. */
void cw_snapshot_release(struct cw_snapshot *snap);

#endif

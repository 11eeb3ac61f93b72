/*
 * Snapshot lifetime. A snapshot lives in its translation's arena; the compiled regexes it owns
 * are the only memory outside it.
 */
#ifndef CW_SNAPSHOT_H
#define CW_SNAPSHOT_H

#include "snapshot/snapshot_types.h"

/* The listener of <snap> on <port>, or NULL. */
const struct cw_snapshot_listener *cw_snapshot_listener_on(const struct cw_snapshot *snap,
                                                           uint16_t port);

/* Frees the compiled regexes of <snap>; the arena holding <snap> is freed by its owner. */
void cw_snapshot_release(struct cw_snapshot *snap);

#endif

#include "snapshot/snapshot.h"

#include "util/regex.h"

void cw_snapshot_release(struct cw_snapshot *snap)
{
    if (!snap)
        return;
    for (uint32_t i = 0; i < snap->regexes.n; i++)
        cw_regex_free(snap->regexes.v[i]);
    snap->regexes.n = 0;
}

const struct cw_snapshot_listener *cw_snapshot_listener_on(const struct cw_snapshot *snap,
                                                           uint16_t port)
{
    for (uint32_t i = 0; i < snap->listeners.n; i++)
        if (snap->listeners.v[i]->port == port)
            return snap->listeners.v[i];
    return NULL;
}

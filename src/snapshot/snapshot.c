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

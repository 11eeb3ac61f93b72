#include "event/event_types.h"

#include <string.h>

const char *cw_strerror(int err)
{
    if (err == CW_EOF)
        return "end of file";
    if (err == CW_ETLS)
        return "TLS failure";
    return strerror(-err);
}

const char *cw_err_name(int err)
{
    if (err == CW_EOF)
        return "EOF";
    if (err == CW_ETLS)
        return "ETLS";
    const char *name = strerrorname_np(-err); /* glibc 2.32 and later */
    return name ? name : "E?";
}

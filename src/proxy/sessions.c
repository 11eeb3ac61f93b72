/* Which session serves the connections of a listener (proxy_int.h). */
#include "proxy/http_conn.h"
#include "proxy/proxy_int.h"

cw_accept_fn cw_session_accept_for(const struct cw_snapshot_listener *l)
{
    return l->http ? cw_http_accept : cw_tcp_proxy_accept;
}

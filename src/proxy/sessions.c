/* Which session serves the connections of a listener (proxy_int.h). */
#include <unistd.h>

#include "event/tls.h"
#include "proxy/http_conn.h"
#include "proxy/proxy_int.h"
#include "tls/termination.h"

cw_accept_fn cw_session_accept_for(const struct cw_snapshot_listener *l)
{
    if (l->http)
        return cw_http_accept;
    return l->passthrough ? cw_sni_accept : cw_tcp_proxy_accept;
}

int cw_session_adopt(struct cw_worker_listener *wl, struct cw_transport *t, int fd, void *data)
{
    const struct cw_tls_termination *tls = wl->listener->tls;
    if (!tls)
        return cw_transport_adopt(&wl->worker->io, t, fd, data);
    SSL *ssl = cw_tls_termination_connection(tls);
    if (!ssl) {
        close(fd);
        return CW_ENOMEM;
    }
    return cw_tls_adopt(&wl->worker->io, t, fd, ssl, data);
}

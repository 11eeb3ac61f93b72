#include "proxy/upstream_connect.h"

#include "event/tls.h"
#include "tls/origin.h"

int cw_upstream_connect(struct cw_io_loop *io, struct cw_transport *t,
                        const struct cw_upstream_cluster *uc, const struct cw_host *h, bool http,
                        void *data, cw_transport_status_cb cb)
{
    const struct sockaddr *addr = (const struct sockaddr *)&h->addr;
    const struct cw_tls_origin *tls = uc->cluster->tls;
    int rc;
    if (!tls) {
        rc = cw_transport_connect(io, t, addr, data, cb);
    } else {
        SSL *ssl = cw_tls_origin_connection(tls, h->dns_name, addr, http, h->tls_session);
        if (!ssl)
            return CW_ENOMEM;
        rc = cw_tls_connect(io, t, addr, ssl, data, cb);
    }
    t->connect_ms = cw_io_now(io);
    return rc;
}

void cw_upstream_connected(struct cw_io_loop *io, const struct cw_transport *t,
                           const struct cw_host *h)
{
    if (t->connect_ms)
        cw_histogram_observe(&cw_host_counters(h)->connect, cw_io_now(io) - t->connect_ms);
    cw_stat_add(&cw_stats()->upstream_opened, 1);
}

void cw_upstream_closed(void)
{
    cw_stat_add(&cw_stats()->upstream_closed, 1);
}

const char *cw_upstream_connect_failure(const struct cw_transport *t, int status)
{
    const char *tls = cw_tls_failure(t);
    return tls ? tls : cw_sock_connect_error(status);
}

const char *cw_upstream_tls_handshake(const struct cw_transport *t)
{
    SSL *ssl = cw_tls_ssl(t);
    if (!ssl)
        return NULL;
    return SSL_session_reused(ssl) ? "resumed" : "full";
}

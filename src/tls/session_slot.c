#include "tls/session_slot.h"

#include <stdlib.h>

#include "util/xalloc.h"

/* The ex_data index under which an SSL keeps its slot, made once. */
static int the_index = -1;

static void make_index(void)
{
    the_index = SSL_get_ex_new_index(0, "cw_tls_session_slot", NULL, NULL, NULL);
}

static int index_of_slots(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_index);
    return the_index;
}

struct cw_tls_session_slot *cw_tls_session_slot_new(void)
{
    struct cw_tls_session_slot *slot = cw_xcalloc(1, sizeof(*slot));
    pthread_mutex_init(&slot->lock, NULL);
    return slot;
}

void cw_tls_session_slot_free(struct cw_tls_session_slot *slot)
{
    if (!slot)
        return;
    SSL_SESSION_free(slot->session);
    pthread_mutex_destroy(&slot->lock);
    free(slot);
}

SSL_SESSION *cw_tls_session_slot_get(struct cw_tls_session_slot *slot)
{
    pthread_mutex_lock(&slot->lock);
    SSL_SESSION *s = slot->session;
    if (s && !SSL_SESSION_is_resumable(s))
        s = NULL;
    if (s)
        SSL_SESSION_up_ref(s);
    pthread_mutex_unlock(&slot->lock);
    return s;
}

void cw_tls_session_slot_put(struct cw_tls_session_slot *slot, SSL_SESSION *session)
{
    pthread_mutex_lock(&slot->lock);
    SSL_SESSION *old = slot->session;
    slot->session = session;
    pthread_mutex_unlock(&slot->lock);
    SSL_SESSION_free(old);
}

void cw_tls_session_slot_attach(SSL *ssl, struct cw_tls_session_slot *slot)
{
    SSL_set_ex_data(ssl, index_of_slots(), slot);
}

int cw_tls_session_slot_on_new(SSL *ssl, SSL_SESSION *session)
{
    struct cw_tls_session_slot *slot = SSL_get_ex_data(ssl, index_of_slots());
    if (!slot)
        return 0; /* not kept: OpenSSL frees it */
    cw_tls_session_slot_put(slot, session);
    return 1; /* the reference is the slot's now */
}

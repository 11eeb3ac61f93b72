/*
 * The last TLS session of one upstream endpoint, shared by every worker, so that a new
 * connection after the first resumes (an abbreviated handshake: no certificate chain, no
 * signature) whichever worker makes it. A lock per slot: taken once per new upstream TLS
 * connection and once per session ticket, never per request.
 */
#ifndef CW_TLS_SESSION_SLOT_H
#define CW_TLS_SESSION_SLOT_H

#include <openssl/ssl.h>
#include <pthread.h>

struct cw_tls_session_slot {
    pthread_mutex_t lock;
    SSL_SESSION *session;
};

struct cw_tls_session_slot *cw_tls_session_slot_new(void);
void cw_tls_session_slot_free(struct cw_tls_session_slot *slot);

/* The session to resume (a reference the caller gives to SSL_set_session and then frees), or
 * NULL. */
SSL_SESSION *cw_tls_session_slot_get(struct cw_tls_session_slot *slot);

/* Keeps <session> (its reference is taken over) in place of the previous one. */
void cw_tls_session_slot_put(struct cw_tls_session_slot *slot, SSL_SESSION *session);

/* Ties <ssl> to <slot>, so that the context's new-session callback finds where to put it. */
void cw_tls_session_slot_attach(SSL *ssl, struct cw_tls_session_slot *slot);

/* The context's new-session callback (SSL_CTX_sess_set_new_cb). */
int cw_tls_session_slot_on_new(SSL *ssl, SSL_SESSION *session);

#endif

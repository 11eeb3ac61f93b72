/* Listening sockets (the event layer). */
#ifndef CW_EVENT_LISTENER_H
#define CW_EVENT_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A non-blocking SO_REUSEPORT socket listening on <bind_addr>:<port>, or -1 with the reason in
 * <err>. The connections accepted on it come with TCP_NODELAY. An <http> listener accepts a
 * connection only once its first bytes have arrived (or after about a second of silence).
 * Control thread, before the workers start.
 */
int cw_listener_socket(const char *bind_addr, uint16_t port, bool http, char *err, size_t err_size);

#endif

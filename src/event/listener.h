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

/*
 * Whether <bind_addr>:<port> is free: 0, or -1 with the reason in <err> ("already in use by
 * another process"). The listeners share their port among the workers with SO_REUSEPORT, which
 * would also let them share it silently with a second causeway (or anything that set the
 * option too): this is asked first, before any of them is bound. Control thread.
 */
int cw_listener_check_free(const char *bind_addr, uint16_t port, char *err, size_t err_size);

#endif

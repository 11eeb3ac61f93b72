/*
 * The last events of the control plane — ejections, returns, reloads — kept for the admin API
 * (/events) as ready-made JSON objects, newest first. Control thread only.
 */
#ifndef CW_UTIL_EVENT_LOG_H
#define CW_UTIL_EVENT_LOG_H

#include <stdio.h>

#define CW_EVENT_LOG_SIZE 512

struct cw_event_log;

struct cw_event_log *cw_event_log_new(void);
void cw_event_log_free(struct cw_event_log *log);

/*
 * Records an event of <type> ("eject", "return", "reload", ...) now, with the fields <kv>:
 * key, value, key, value, ..., NULL (values are strings; JSON-escaped here). The oldest of
 * CW_EVENT_LOG_SIZE events makes way. <log> may be NULL (nothing is kept).
 */
void cw_event_log_add(struct cw_event_log *log, const char *type, const char *const *kv);

/* Writes {"events":[...]} newest first. */
void cw_event_log_write_json(const struct cw_event_log *log, FILE *out);

/* Writes <s> as a JSON string: quoted, with quotes, backslashes, control characters and
 * bytes that are not UTF-8 escaped, so that no text can break out of its field. */
void cw_json_string(FILE *out, const char *s);

#endif

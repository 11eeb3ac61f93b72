/*
 * Request path normalisation (the http codec, no sockets), as Istio's default does before routing:
 * RFC 3986 §5.2.4 dot-segment removal and §6.2.2.2 decoding of percent-escapes of unreserved
 * characters (ALPHA DIGIT - . _ ~), so that "/v1/../admin" and "/v1/%2e%2e/admin" are routed,
 * and forwarded, as the "/admin" the origin will read them as. Other escapes stay as they came
 * ("%2F" is a reserved character: decoding it would make one segment two), adjacent slashes are
 * not merged, and a path that climbs above "/" is refused rather than clamped.
 */
#ifndef CW_HTTP_PATH_H
#define CW_HTTP_PATH_H

#include <stddef.h>

#include "http/head.h"

/* A ".." segment climbs above the root ("/..", "/a/../.."). */
#define CW_PATH_ABOVE_ROOT (-1)
/* The output buffer is smaller than what is written into it. */
#define CW_PATH_NO_ROOM (-2)

/*
 * Normalises the path <in> (no query) into <out> of <out_size> bytes; <*out_len> gets the length
 * written. The result is never longer than <in>, so <in.len> bytes of room always suffice. A path
 * that does not start with '/' (an asterisk or absolute-form target) is copied unchanged.
 * Returns 0, CW_PATH_ABOVE_ROOT or CW_PATH_NO_ROOM. Pure: any thread.
 */
int cw_path_normalize(struct cw_span in, char *out, size_t out_size, size_t *out_len);

/*
 * The same for a whole request target: its path is normalised and its query ('?' and what
 * follows) copied unchanged after it. <out> is NUL-terminated (the router looks one byte past
 * a path for '?'), so it needs <target.len> + 1 bytes. <*out_target> points into <out>.
 * Returns 0, CW_PATH_ABOVE_ROOT or CW_PATH_NO_ROOM. Pure: any thread.
 */
int cw_path_normalize_target(struct cw_span target, char *out, size_t out_size,
                             struct cw_span *out_target);

#endif

/* UTF-8 validation (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF. */
#ifndef CW_UTIL_UTF8_H
#define CW_UTIL_UTF8_H

#include <stddef.h>

/* The offset of the first byte of [p, p + n) that does not begin a valid UTF-8 sequence (or
 * belongs to a broken one), or n when all of it is valid. Any thread. */
size_t cw_utf8_valid_prefix(const char *p, size_t n);

#endif

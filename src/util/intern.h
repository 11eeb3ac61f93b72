/*
 * Interned texts: a copy of a string that lives as long as the process, shared by every thread,
 * for messages built at run time that must outlive what produced them (a TLS failure's reason
 * is read by the access log after the connection is gone). Error paths only: a lock, a linear
 * search, and a fixed number of distinct texts, after which <fallback> is returned.
 */
#ifndef CW_UTIL_INTERN_H
#define CW_UTIL_INTERN_H

const char *cw_intern(const char *text, const char *fallback);

#endif

#include "util/intern.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Distinct reasons are few (a verify error code times a handful of prefixes); a peer cannot
 * grow the table without bound because it is capped. */
#define INTERN_MAX 256

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *texts[INTERN_MAX];
static unsigned n_texts;

const char *cw_intern(const char *text, const char *fallback)
{
    const char *found = fallback;
    pthread_mutex_lock(&lock);
    unsigned i = 0;
    while (i < n_texts && strcmp(texts[i], text) != 0)
        i++;
    if (i < n_texts) {
        found = texts[i];
    } else if (n_texts < INTERN_MAX) {
        char *copy = strdup(text);
        if (copy)
            found = texts[n_texts++] = copy;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

/* The fuzz targets' invariant check (shared by every target). */
#ifndef CW_FUZZ_CHECK_H
#define CW_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

/* Ends the run as a crash, with what was violated; libFuzzer saves the input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif

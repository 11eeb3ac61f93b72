/*
 * The ClientHello SNI reader (src/tls/client_hello.h) over a client's first bytes. Besides memory
 * safety and UB: a verdict reached on a prefix never changes when more bytes arrive (reads may
 * stop anywhere), and a name found is a lowercase host name of at most 255 characters.
 * Input: 1 byte (where the prefix ends, as a fraction of the rest), then the bytes.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "tls/client_hello.h"

static void check_name(const char *sni)
{
    size_t n = strlen(sni);
    CHECK(n > 0 && n <= 255);
    for (size_t i = 0; i < n; i++)
        CHECK((sni[i] >= 'a' && sni[i] <= 'z') || (sni[i] >= '0' && sni[i] <= '9') ||
              sni[i] == '-' || sni[i] == '.');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t n = size - 1;
    size_t cut = n * data[0] / 255;
    const unsigned char *p = data + 1;
    char whole[256], part[256];
    enum cw_hello_result all = cw_client_hello_sni(p, n, whole, sizeof(whole), NULL);
    enum cw_hello_result early = cw_client_hello_sni(p, cut, part, sizeof(part), NULL);
    if (early != CW_HELLO_NEED_MORE) {
        CHECK(all == early);
        if (early == CW_HELLO_SNI)
            CHECK(!strcmp(whole, part));
    }
    if (all == CW_HELLO_SNI)
        check_name(whole);
    return 0;
}

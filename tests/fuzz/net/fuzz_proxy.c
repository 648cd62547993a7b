/* fuzz_proxy.c — libFuzzer target for the PROXY protocol header reader: any bytes give an
 * error, "more", or a length within the input; a header read is the same when more bytes
 * follow it (the client's own), and its addresses are NUL-terminated. */
#include "net/proxy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_proxy_hdr h, h2;
    long n = st_proxy_parse(data, size, &h);
    if (n > (long)size) abort();
    if (n <= 0) return 0;
    if (strnlen(h.src, sizeof h.src) == sizeof h.src ||
        strnlen(h.dst, sizeof h.dst) == sizeof h.dst)
        abort();
    if (st_proxy_parse(data, (size_t)n, &h2) != n || strcmp(h.src, h2.src) != 0) abort();
    return 0;
}

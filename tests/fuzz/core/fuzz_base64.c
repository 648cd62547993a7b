/* fuzz_base64.c — libFuzzer target for the strict base64 decoder (etcd keys come through
 * it): whatever decodes must encode back to exactly the input (one text per byte string),
 * and the decoder never writes past its buffer. */
#include "core/base64.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    uint8_t *out = malloc(size / 4 * 3 + 1);
    char *back = malloc(size + 1);
    long n = out && back ? st_b64_decode((const char *)data, size, out, size / 4 * 3) : 0;
    if (n >= 0 && out && back) {
        if (st_b64_encode(out, (size_t)n, back, size + 1) != (long)size) abort();
        if (memcmp(back, data, size) != 0) abort();
    } else if (n != ST_EMALFORMED && n != ST_EFULL) {
        abort();
    }
    free(out);
    free(back);
    return 0;
}

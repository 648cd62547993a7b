/* fuzz_http.c — libFuzzer target for the HTTP request-head parser: a parsed request has a
 * method and a path that starts with '/', both NUL-terminated within their buffers. */
#include "net/http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_http_req r;
    int rc = st_http_parse((const char *)data, size, &r);
    if (rc < -1 || rc > 1) abort();
    if (rc == 1 && (!r.method[0] || r.path[0] != '/' ||
                    strnlen(r.method, sizeof r.method) == sizeof r.method ||
                    strnlen(r.path, sizeof r.path) == sizeof r.path))
        abort();
    return 0;
}

/* fuzz_ws.c — libFuzzer target for the WebSocket codec (net/ws.h): the first byte picks the
 * handshake or the frame parser. A handshake answer fits its buffer and an accepted request
 * has a length within the input; a frame's length is within the input, its payload inside
 * it, and a frame read from a copy with more bytes behind it is the same. */
#include "net/ws.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void handshake(const uint8_t *data, size_t size)
{
    char resp[512];
    size_t rlen = 0;
    int status = 0;
    long n = st_ws_handshake((const char *)data, size, "/mqtt", resp, sizeof resp, &rlen, &status);
    if (n > (long)size || rlen >= sizeof resp) abort();
    if (n > 0 && status != 101) abort();
    if (n < 0 && (status < 400 || status > 499)) abort();
}

static void frames(const uint8_t *data, size_t size)
{
    uint8_t *a = malloc(size + 1), *b = malloc(size + 8);
    if (!a || !b) abort();
    memcpy(a, data, size);
    memcpy(b, data, size);
    memset(b + size, 0xA5, 8);
    st_ws_frame f, g;
    long n = st_ws_frame_parse(a, size, 1 << 20, &f);
    if (n > (long)size) abort();
    if (n > 0) {
        if (f.payload < a || f.payload + f.len > a + n) abort();
        long m = st_ws_frame_parse(b, size + 8, 1 << 20, &g);
        if (m != n || g.len != f.len || memcmp(g.payload, f.payload, (size_t)f.len) != 0) abort();
    }
    uint8_t h[ST_WS_MAX_HEADER];
    if (st_ws_frame_header(h, ST_WS_BINARY, size) > ST_WS_MAX_HEADER) abort();
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) return 0;
    if (data[0] & 1)
        handshake(data + 1, size - 1);
    else
        frames(data + 1, size - 1);
    return 0;
}

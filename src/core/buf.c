/* buf.c — a growable byte buffer (buf.h). */
#include "core/buf.h"

#include <stdlib.h>
#include <string.h>

uint8_t *st_buf_room(st_buf *b, size_t n)
{
    if (b->oom) return NULL;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->oom = 1;
            return NULL;
        }
        b->p = q;
        b->cap = cap;
    }
    return b->p + b->len;
}

void st_buf_put(st_buf *b, const void *p, size_t n)
{
    if (!n) return;
    uint8_t *d = st_buf_room(b, n);
    if (!d) return;
    memcpy(d, p, n);
    b->len += n;
}

void st_buf_be(st_buf *b, uint64_t v, int bytes)
{
    uint8_t x[8];
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        x[i] = (uint8_t)v;
    st_buf_put(b, x, (size_t)bytes);
}

void st_buf_str(st_buf *b, const char *s)
{
    size_t n = strlen(s);
    st_buf_be(b, n, 2);
    st_buf_put(b, s, n);
}

size_t st_put_str16(uint8_t *out, const char *s)
{
    size_t n = strlen(s);
    out[0] = (uint8_t)(n >> 8);
    out[1] = (uint8_t)n;
    memcpy(out + 2, s, n);
    return n + 2;
}

size_t st_get_str16(const uint8_t *p, size_t n, char *dst, size_t cap)
{
    if (n < 2) return 0;
    size_t len = (size_t)p[0] << 8 | p[1];
    if (len + 2 > n || len >= cap) return 0;
    memcpy(dst, p + 2, len);
    dst[len] = 0;
    return len + 2;
}

void st_buf_free(st_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

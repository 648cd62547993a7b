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

void st_buf_free(st_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* wire.h — cwire's private big-endian reader and writer. The reader sticks at the first
 * error (every later get returns zeros), so a decoder reads all fields and checks once;
 * the writer counts bytes past cap without writing them, so encoders size and write in
 * one pass. */
#ifndef ST_CWIRE_WIRE_H
#define ST_CWIRE_WIRE_H

#include "core/bytes.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cw_rd {
    const uint8_t *p;
    uint32_t len, off;
    int bad;
} cw_rd;

typedef struct cw_wr {
    uint8_t *p;
    size_t cap, len;
} cw_wr;

static inline cw_rd cw_rd_of(st_bytes b)
{
    cw_rd r = {b.p, b.len, 0, 0};
    return r;
}

static inline const uint8_t *cw_take(cw_rd *r, uint32_t n)
{
    if (r->bad || r->len - r->off < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

static inline uint64_t cw_get(cw_rd *r, int bytes)
{
    const uint8_t *p = cw_take(r, (uint32_t)bytes);
    uint64_t v = 0;
    for (int i = 0; p && i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static inline uint8_t cw_u8(cw_rd *r)
{
    return (uint8_t)cw_get(r, 1);
}
static inline uint16_t cw_u16(cw_rd *r)
{
    return (uint16_t)cw_get(r, 2);
}
static inline uint32_t cw_u32(cw_rd *r)
{
    return (uint32_t)cw_get(r, 4);
}
static inline uint64_t cw_u64(cw_rd *r)
{
    return cw_get(r, 8);
}

static inline void cw_fixed(cw_rd *r, uint8_t *dst, uint32_t n)
{
    const uint8_t *p = cw_take(r, n);
    if (p)
        memcpy(dst, p, n);
    else
        memset(dst, 0, n);
}

static inline st_bytes cw_span(cw_rd *r, uint32_t n)
{
    st_bytes b = {cw_take(r, n), n};
    if (!b.p) b.len = 0;
    return b;
}

static inline st_bytes cw_str(cw_rd *r)
{
    return cw_span(r, cw_u16(r));
}
static inline st_bytes cw_blob(cw_rd *r)
{
    return cw_span(r, cw_u32(r));
}

/* The rest of the input (an extension list, validated by the caller). */
static inline st_bytes cw_rest(cw_rd *r)
{
    return cw_span(r, r->bad ? 0 : r->len - r->off);
}

static inline void cw_put(cw_wr *w, const void *src, size_t n)
{
    if (n && w->len < w->cap) {
        size_t room = w->cap - w->len;
        memcpy(w->p + w->len, src, n < room ? n : room);
    }
    w->len += n;
}

static inline void cw_putn(cw_wr *w, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    cw_put(w, b, (size_t)bytes);
}

static inline void cw_put_str(cw_wr *w, st_bytes s)
{
    cw_putn(w, s.len, 2);
    cw_put(w, s.p, s.len);
}

static inline void cw_put_blob(cw_wr *w, st_bytes s)
{
    cw_putn(w, s.len, 4);
    cw_put(w, s.p, s.len);
}

/* Start a frame (header filled by cw_wr_end) / finish it; returns the frame size. */
static inline cw_wr cw_wr_begin(uint8_t *dst, size_t cap)
{
    cw_wr w = {dst, cap, 6};
    return w;
}

static inline size_t cw_wr_end(cw_wr *w, uint8_t type, uint8_t flags)
{
    uint8_t h[6];
    uint32_t len = (uint32_t)(w->len - 4);
    h[0] = (uint8_t)(len >> 24), h[1] = (uint8_t)(len >> 16), h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len, h[4] = type, h[5] = flags;
    size_t total = w->len;
    w->len = 0;
    cw_put(w, h, 6);
    return total;
}

/* A forwarded message record (msgs.c): read (0 if invalid) and write. */
struct cw_record;
int cw_get_record(cw_rd *r, struct cw_record *rec);
void cw_put_record(cw_wr *w, const struct cw_record *rec);

/* Read an extension list (u16 n, n × {u16 tag, u16 len, bytes}) at the reader's position:
 * the list's bytes (bytes after it are ignored: a later version may append), or a bad
 * reader. */
st_bytes cw_ext_read(cw_rd *r);
/* Write ext (an encoded list, or len 0 for an empty one). */
void cw_ext_write(cw_wr *w, st_bytes ext);

#endif

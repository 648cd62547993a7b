/* wire.h — private to src/mqtt: a bounds-checked read cursor and a two-pass writer.
 *
 * Not a public header: only the codec's .c files include it, and everything here is
 * static inline. The reader turns every overrun into ST_EMALFORMED, so the decoders never
 * index past their packet. The writer runs twice: once with p == NULL to count bytes (the
 * encoders never duplicate size logic), then for real once the caller's buffer is known to
 * be big enough. */
#ifndef ST_MQTT_WIRE_H
#define ST_MQTT_WIRE_H

#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "mqtt/mqtt.h"

#define MQ_MAX_VARINT 268435455u /* largest Variable Byte Integer (4 bytes) */
#define MQ_MAX_STR 65535u        /* largest two-byte-length string / binary */

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct mq_rd {
    const uint8_t *p, *end;
} mq_rd;

static inline uint32_t mq_left(const mq_rd *r)
{
    return (uint32_t)(r->end - r->p);
}

static inline int mq_u8(mq_rd *r, uint8_t *v)
{
    if (r->p >= r->end) return ST_EMALFORMED;
    *v = *r->p++;
    return 0;
}

static inline int mq_u16(mq_rd *r, uint16_t *v)
{
    if (mq_left(r) < 2) return ST_EMALFORMED;
    *v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return 0;
}

static inline int mq_u32(mq_rd *r, uint32_t *v)
{
    if (mq_left(r) < 4) return ST_EMALFORMED;
    *v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    return 0;
}

/* Variable Byte Integer: at most 4 bytes and minimally encoded [MQTT-1.5.5-1]. */
static inline int mq_varint(mq_rd *r, uint32_t *v)
{
    uint32_t val = 0;
    for (int i = 0; i < 4; i++) {
        if (r->p >= r->end) return ST_EMALFORMED;
        uint8_t b = *r->p++;
        val |= (uint32_t)(b & 0x7F) << (7 * i);
        if (!(b & 0x80)) {
            if (i > 0 && b == 0) return ST_EMALFORMED;
            *v = val;
            return 0;
        }
    }
    return ST_EMALFORMED;
}

/* Two-byte length + bytes (Binary Data; also a string before its UTF-8 check). */
static inline int mq_bin(mq_rd *r, st_bytes *b)
{
    uint16_t n;
    if (mq_u16(r, &n) < 0 || mq_left(r) < n) return ST_EMALFORMED;
    b->p = r->p;
    b->len = n;
    r->p += n;
    return 0;
}

/* UTF-8 Encoded String: bad UTF-8 gives ST_EUTF8. */
static inline int mq_str(mq_rd *r, st_bytes *b)
{
    int rc = mq_bin(r, b);
    return rc < 0 ? rc : mqtt_utf8_check(b->p, b->len);
}

/* ---- writing ---------------------------------------------------------------------------- */

/* p == NULL: only count. err latches ST_EINVAL when something cannot be represented. */
typedef struct mq_wr {
    uint8_t *p;
    size_t n;
    int err;
} mq_wr;

static inline void mq_put8(mq_wr *w, uint8_t v)
{
    if (w->p) w->p[w->n] = v;
    w->n++;
}

static inline void mq_put16(mq_wr *w, uint16_t v)
{
    mq_put8(w, (uint8_t)(v >> 8));
    mq_put8(w, (uint8_t)v);
}

static inline void mq_put32(mq_wr *w, uint32_t v)
{
    mq_put16(w, (uint16_t)(v >> 16));
    mq_put16(w, (uint16_t)v);
}

static inline void mq_putvar(mq_wr *w, uint32_t v)
{
    if (v > MQ_MAX_VARINT) {
        w->err = ST_EINVAL;
        return;
    }
    if (w->p) mqtt_varint_put(w->p + w->n, v);
    w->n += (size_t)mqtt_varint_size(v);
}

static inline void mq_putraw(mq_wr *w, const uint8_t *p, size_t n)
{
    if (w->p && n) memcpy(w->p + w->n, p, n);
    w->n += n;
}

static inline void mq_putbin(mq_wr *w, st_bytes b)
{
    if (b.len > MQ_MAX_STR || (b.len && !b.p)) {
        w->err = ST_EINVAL;
        return;
    }
    mq_put16(w, (uint16_t)b.len);
    mq_putraw(w, b.p, b.len);
}

#endif

/* buf.h — a growable byte buffer: snapshots, op bodies, session images. */
#ifndef ST_CORE_BUF_H
#define ST_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A growable byte buffer (snapshots, op bodies). Writers set oom on allocation failure. */
typedef struct st_buf {
    uint8_t *p;
    size_t len, cap;
    int oom;
} st_buf;

void st_buf_put(st_buf *b, const void *p, size_t n);
/* Room for n more bytes at b->p + b->len (the caller writes them and adds n to len), or
 * NULL (oom set). */
uint8_t *st_buf_room(st_buf *b, size_t n);
void st_buf_be(st_buf *b, uint64_t v, int bytes); /* big-endian integer of 1..8 bytes */
void st_buf_str(st_buf *b, const char *s);        /* u16 length + bytes */
void st_buf_free(st_buf *b);

/* The same u16-prefixed strings in a fixed buffer: write s at out (room for 2 + its
 * length); read one of the n bytes at p into dst (NUL-terminated): the bytes taken, or 0
 * when it is cut short or does not fit in cap. */
size_t st_put_str16(uint8_t *out, const char *s);
size_t st_get_str16(const uint8_t *p, size_t n, char *dst, size_t cap);

#endif

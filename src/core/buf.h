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

#endif

/* outq.h — a connection's output queue: small packets are appended to an on-demand byte
 * arena; large shared payloads are referenced, not copied, and written with writev.
 * Nothing is allocated while the queue is empty, so an idle connection costs no buffer. */
#ifndef ST_OUTQ_H
#define ST_OUTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

typedef void (*st_unref_fn)(void *ref);

typedef struct st_oseg {
    const uint8_t *p; /* external bytes (NULL: bytes live in the arena at off) */
    uint32_t off;     /* arena offset when p == NULL */
    uint32_t len;
    void *ref; /* released with unref when the segment is written (may be NULL) */
} st_oseg;

typedef struct st_outq {
    uint8_t *arena;
    uint32_t arena_len, arena_cap;
    st_oseg *segs;
    uint32_t head, n, cap; /* segs[head .. head+n) are pending */
    uint32_t head_done;    /* bytes of segs[head] already written */
    size_t bytes;          /* pending bytes */
} st_outq;

/* Reserve len bytes in the arena as a new segment; returns where to write them, or NULL. */
uint8_t *st_outq_reserve(st_outq *q, uint32_t len);
/* Copy len bytes into the arena. 0 or ST_ENOMEM. */
int st_outq_append(st_outq *q, const void *p, uint32_t len);
/* Append external bytes; takes a reference (ref is released through unref later). */
int st_outq_push_ref(st_outq *q, const uint8_t *p, uint32_t len, void *ref);
/* Write as much as the socket takes. Returns 1 when everything was written, 0 when the
 * socket is full (wait for EPOLLOUT), or ST_EIO / ST_ECLOSED. */
int st_outq_flush(st_outq *q, int fd, st_unref_fn unref);
/* The same through fn, which returns what writev would (-1 with errno EAGAIN when full): a
 * TLS or WebSocket layer between the queue and the socket. */
typedef ssize_t (*st_writev_fn)(void *ctx, const struct iovec *iov, int cnt);
int st_outq_flush_with(st_outq *q, st_writev_fn fn, void *ctx, st_unref_fn unref);
/* The socket's own writev as an st_writev_fn (ctx points at the fd). */
ssize_t st_fd_writev(void *ctx, const struct iovec *iov, int cnt);
/* Drop everything (on close), releasing references, and free the buffers. */
void st_outq_clear(st_outq *q, st_unref_fn unref);

#endif

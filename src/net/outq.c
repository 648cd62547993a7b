/* outq.c — output queue: arena for small encoded packets, references for shared payloads,
 * flushed with writev once per loop iteration. Buffers are freed as soon as the queue
 * drains, which keeps idle connections small. */
#include "net/outq.h"
#include "core/err.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define OUTQ_IOV 64

static int grow_segs(st_outq *q)
{
    if (q->head + q->n < q->cap) return 0;
    if (q->head > 0) { /* compact */
        memmove(q->segs, q->segs + q->head, q->n * sizeof *q->segs);
        q->head = 0;
        if (q->n < q->cap) return 0;
    }
    uint32_t nc = q->cap ? q->cap * 2 : 8;
    st_oseg *s = realloc(q->segs, nc * sizeof *s);
    if (!s) return ST_ENOMEM;
    q->segs = s;
    q->cap = nc;
    return 0;
}

uint8_t *st_outq_reserve(st_outq *q, uint32_t len)
{
    if (q->arena_len + len > q->arena_cap) {
        uint32_t nc = q->arena_cap ? q->arena_cap : 256;
        while (nc < q->arena_len + len)
            nc *= 2;
        uint8_t *a = realloc(q->arena, nc);
        if (!a) return NULL;
        q->arena = a;
        q->arena_cap = nc;
    }
    if (grow_segs(q) < 0) return NULL;
    st_oseg *last = q->n ? &q->segs[q->head + q->n - 1] : NULL;
    uint8_t *out = q->arena + q->arena_len;
    if (last && !last->p && last->off + last->len == q->arena_len && !last->ref) {
        last->len += len; /* coalesce with the previous arena segment */
    } else {
        q->segs[q->head + q->n] = (st_oseg){.p = NULL, .off = q->arena_len, .len = len};
        q->n++;
    }
    q->arena_len += len;
    q->bytes += len;
    return out;
}

int st_outq_append(st_outq *q, const void *p, uint32_t len)
{
    uint8_t *dst = st_outq_reserve(q, len);
    if (!dst) return ST_ENOMEM;
    memcpy(dst, p, len);
    return 0;
}

int st_outq_push_ref(st_outq *q, const uint8_t *p, uint32_t len, void *ref)
{
    if (grow_segs(q) < 0) return ST_ENOMEM;
    q->segs[q->head + q->n] = (st_oseg){.p = p, .len = len, .ref = ref};
    q->n++;
    q->bytes += len;
    return 0;
}

static void release_head(st_outq *q, st_unref_fn unref)
{
    st_oseg *s = &q->segs[q->head];
    if (s->ref && unref) unref(s->ref);
    q->head++;
    q->n--;
    q->head_done = 0;
}

static void reset_if_empty(st_outq *q)
{
    if (q->n) return;
    q->head = 0;
    q->arena_len = 0;
    q->bytes = 0;
    free(q->arena);
    q->arena = NULL;
    q->arena_cap = 0;
    free(q->segs);
    q->segs = NULL;
    q->cap = 0;
}

/* The pending buffers as iovecs (up to OUTQ_IOV): how many. */
static int gather(const st_outq *q, struct iovec *iov)
{
    int cnt = 0;
    for (uint32_t i = 0; i < q->n && cnt < OUTQ_IOV; i++) {
        const st_oseg *s = &q->segs[q->head + i];
        const uint8_t *base = s->p ? s->p : q->arena + s->off;
        uint32_t skip = i == 0 ? q->head_done : 0;
        iov[cnt].iov_base = (void *)(base + skip);
        iov[cnt].iov_len = s->len - skip;
        cnt++;
    }
    return cnt;
}

/* w bytes of the queue's head were written. */
static void consume(st_outq *q, size_t w, st_unref_fn unref)
{
    q->bytes -= w;
    while (w && q->n) {
        st_oseg *s = &q->segs[q->head];
        size_t rem = s->len - q->head_done;
        if (w >= rem) {
            w -= rem;
            release_head(q, unref);
        } else {
            q->head_done += (uint32_t)w;
            w = 0;
        }
    }
    while (q->n && q->segs[q->head].len == 0) /* zero-length segments at the head are done too */
        release_head(q, unref);
}

int st_outq_flush(st_outq *q, int fd, st_unref_fn unref)
{
    while (q->n) { /* the plain socket's path: writev itself, no writer in between */
        struct iovec iov[OUTQ_IOV];
        ssize_t w = writev(fd, iov, gather(q, iov));
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return ST_EIO;
        }
        consume(q, (size_t)w, unref);
    }
    reset_if_empty(q);
    return 1;
}

int st_outq_flush_with(st_outq *q, st_writev_fn fn, void *ctx, st_unref_fn unref)
{
    while (q->n) {
        struct iovec iov[OUTQ_IOV];
        ssize_t w = fn(ctx, iov, gather(q, iov));
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return ST_EIO;
        }
        consume(q, (size_t)w, unref);
    }
    reset_if_empty(q);
    return 1;
}

ssize_t st_fd_writev(void *ctx, const struct iovec *iov, int cnt)
{
    return writev(*(const int *)ctx, iov, cnt);
}

void st_outq_clear(st_outq *q, st_unref_fn unref)
{
    while (q->n)
        release_head(q, unref);
    reset_if_empty(q);
}

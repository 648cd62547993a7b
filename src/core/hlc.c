/* hlc.c — hybrid logical clock (Kulkarni et al.), packed into a u64. */
#include "core/hlc.h"

static uint64_t pack(int64_t ms)
{
    return ms > 0 ? (uint64_t)ms << 16 : 0;
}

/* The next timestamp after both prev and floor: floor if it is later, else prev + 1 (the
 * counter; when it would overflow, the millisecond part moves on instead). */
static uint64_t next(uint64_t prev, uint64_t floor)
{
    return floor > prev ? floor : prev + 1;
}

static uint64_t advance(st_hlc *h, uint64_t floor)
{
    uint64_t prev = atomic_load_explicit(&h->last, memory_order_relaxed), t;
    do {
        t = next(prev, floor);
    } while (!atomic_compare_exchange_weak_explicit(&h->last, &prev, t, memory_order_relaxed,
                                                    memory_order_relaxed));
    return t;
}

uint64_t st_hlc_now(st_hlc *h, int64_t now_ms)
{
    return advance(h, pack(now_ms));
}

uint64_t st_hlc_recv(st_hlc *h, uint64_t remote, int64_t now_ms)
{
    uint64_t wall = pack(now_ms);
    /* after the remote stamp: its successor, unless our wall clock is already later */
    return advance(h, wall > remote ? wall : remote + 1);
}

/* hlc.h — a node-wide hybrid logical clock (docs/cluster.md §9.2): 48 bits of wall-clock
 * milliseconds and a 16-bit counter in one u64, so timestamps compare as integers, never go
 * backwards on this node even if the wall clock does, and order after every timestamp the
 * node has received. Lock-free (CAS), safe from every thread. */
#ifndef ST_HLC_H
#define ST_HLC_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct st_hlc {
    _Atomic uint64_t last;
} st_hlc;

#define ST_HLC_MS(t) ((t) >> 16)
#define ST_HLC_COUNT(t) ((t)&0xFFFF)

/* A timestamp for a local event, from wall-clock ms now_ms (st_wall_ms()). */
uint64_t st_hlc_now(st_hlc *h, int64_t now_ms);
/* Merge a timestamp received from another node; returns one after both. */
uint64_t st_hlc_recv(st_hlc *h, uint64_t remote, int64_t now_ms);

#endif

/* shared.h — private to src/bench: the memory every process and thread of one run shares.
 * One anonymous MAP_SHARED mapping is made before the processes fork, so every child sees
 * it at the same address. It holds the phase the coordinator drives, one cache-line-aligned
 * counter slot per worker thread (written only by that worker, summed by the coordinator for
 * progress and the summary), per-worker histograms, per-publisher sent/acked counts, and the
 * sequence-stream state of every (subscriber, publisher) pair. Results are merged from here
 * after the workers exit; nothing has to be serialized back through pipes. */
#ifndef ST_BENCH_SHARED_H
#define ST_BENCH_SHARED_H

#include "bench/hist.h"
#include "bench/plan.h"

#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

enum bench_phase {
    BENCH_PH_INIT,
    BENCH_PH_CONNECT_SUBS, /* subscribers (and conn clients) connect and subscribe */
    BENCH_PH_CONNECT_PUBS, /* then publishers connect */
    BENCH_PH_RUN,          /* publish (conn: hold) */
    BENCH_PH_DRAIN,        /* no new publishes; wait for acks and deliveries */
    BENCH_PH_STOP,         /* DISCONNECT, close, exit */
};

/* One sequence stream checked by a subscriber; written only by that subscriber's worker. */
typedef struct bench_pair {
    uint32_t pub;    /* publisher id */
    uint32_t dup;    /* duplicates seen within the window */
    uint64_t next;   /* next expected sequence number */
    uint64_t window; /* bit i set: sequence next-1-i was received */
    uint64_t uniq;   /* distinct sequence numbers received */
    uint64_t ooo;    /* arrived after a later sequence number */
} bench_pair;

/* Record sequence number seq in a stream: in order, a gap (later ones lost or late), a late
 * arrival (out of order), or a duplicate when it is within the last 64 and already seen. */
void bench_pair_seen(bench_pair *p, uint64_t seq);

/* clang-format off */
#define BENCH_COUNTERS(X) \
    X(conn_ok) \
    X(conn_fail) \
    X(conn_timeout) \
    X(conn_refused) \
    X(tls_resumed) \
    X(subs_resolved) \
    X(pubs_resolved) \
    X(pubs_done) \
    X(sent) \
    X(acked) \
    X(received) \
    X(unexpected) \
    X(foreign) \
    X(err_closed) \
    X(err_proto) \
    X(err_suback) \
    X(err_rejected) \
    X(err_io)
/* clang-format on */

typedef struct bench_slot {
    _Alignas(128) _Atomic int64_t first_conn_ns; /* first connect attempt, 0: none */
    _Atomic int64_t last_connack_ns;
    _Atomic int64_t last_rx_ns;
#define BENCH_FIELD(name) _Atomic uint64_t name;
    BENCH_COUNTERS(BENCH_FIELD)
#undef BENCH_FIELD
} bench_slot;

#define BENCH_ADD(slot, field, n)                                                                  \
    atomic_fetch_add_explicit(&(slot)->field, (n), memory_order_relaxed)
#define BENCH_SET(obj, val) atomic_store_explicit(&(obj), (val), memory_order_relaxed)
#define BENCH_GET(obj) atomic_load_explicit(&(obj), memory_order_relaxed)

typedef struct bench_ctl {
    _Atomic int phase;
    _Atomic int64_t run_start_ns;
} bench_ctl;

typedef struct bench_shared {
    void *map;
    size_t map_len;
    bench_ctl *ctl;
    uint32_t nslots, npubs, npairs;
    bench_slot *slots;
    bench_hist *lat, *conn, *ack; /* [nslots] each */
    _Atomic uint64_t *pub_sent, *pub_acked;
    bench_pair *pairs;
} bench_shared;

/* Map and initialise the shared memory for nslots workers and the plan's pairs. */
int bench_shared_new(bench_shared *sh, uint32_t nslots, const bench_plan *plan);
void bench_shared_free(bench_shared *sh);

static inline int64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif

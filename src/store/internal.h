/* internal.h — the store's state, shared by store.c (batches, rounds, the thread, open and
 * close) and repl.c (what rounds give a replicator, the gate on replicas' acks, snapshots
 * and replacements; docs/durability.md §6). Private to src/store/. */
#ifndef ST_STORE_INTERNAL_H
#define ST_STORE_INTERNAL_H

#include "core/mpsc.h"
#include "store/engine.h"
#include "store/pending.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>

/* A batch: records [u8 cf][u8 op][u16 klen][u32 vlen][key][val], and its place in the
 * store's inbox once submitted. replace: everything the store holds goes first (a
 * snapshot received by a mirror). */
struct st_store_batch {
    st_mpsc_node node;
    uint64_t ticket;
    uint8_t *p;
    size_t len, cap;
    int oom, replace;
};

/* Rounds committed while the gate is on wait here for the replicas' acks: (the round's
 * number, the highest ticket it covers), oldest first. When full, the newest entry takes
 * the next round too (both only grow: waiting for the later round is always safe). */
#define ST_STORE_GATED 64
typedef struct st_gated {
    uint64_t round, upto;
} st_gated;

struct st_store {
    st_store_cfg cfg;
    const st_log *log;
    st_engine *eng;
    st_pending *pend;
    st_mpsc inbox;
    int efd;
    pthread_t th;
    int started;
    atomic_int stopping;
    atomic_uint_fast64_t next_ticket;
    atomic_uint_fast64_t durable, failed;
    atomic_int ok;
    uint64_t taken;        /* the highest ticket in pend (store thread) */
    uint64_t round_writes; /* of the last round committed (trim) */
    int was_big;           /* the round before it was large (trim) */
    struct {
        void (*fn)(void *);
        void *ctx;
    } wakers[ST_STORE_MAX_WAKERS];
    int nwakers;
    pthread_mutex_t stats_mu;
    st_store_stats stats;
    uint8_t id[ST_STORE_ID_LEN]; /* meta "id" */
    int fresh;                   /* meta "fresh": made empty, never restored nor settled */
    /* replication (repl.c) */
    st_store_round_fn round_fn;
    void *round_ctx;
    uint64_t round; /* rounds that wrote something, in this process (store thread) */
    st_store_batch *scratch;
    st_store_batch *replace; /* a replacement taken, not committed yet (store thread) */
    atomic_int gate, want_snap;
    atomic_uint_fast64_t acked_round;
    st_gated gated[ST_STORE_GATED];
    int ngated;
};

/* store.c */
int st_store_record(st_store_batch *b, int cf, int op, const void *key, size_t klen,
                    const void *val, size_t vlen);
void st_store_wake(st_store *s); /* the store thread looks again (any thread) */
/* In an open transaction: the store's own meta (format, node, and with_id its id). */
int st_store_put_meta(st_store *s, int with_id, char *err, size_t errlen);

/* repl.c (the store thread) */
/* After a commit of what is pending (before it is cleared): the round goes to the round
 * function. */
void st_repl_round(st_store *s);
/* Tickets up to upto are on disk: durable now, or once the replicas have the round. */
void st_repl_publish(st_store *s, uint64_t upto);
/* Release the gated rounds the replicas have (or all, the gate being off): 1 if durable
 * moved. */
int st_repl_release(st_store *s);
/* A snapshot was asked for: the whole store to the round function. */
void st_repl_snapshot(st_store *s);
/* In a commit's transaction, before what is pending: the replacement taken (everything
 * goes, the store's own meta is written again, then its records). 0 or an ST_E* code. */
int st_repl_replace(st_store *s, char *err, size_t errlen);

#endif

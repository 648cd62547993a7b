/* durable_int.h — the state behind durable.h, shared by durable.c (the workers' writes) and
 * durable_recover.c (recovery). Private to those two files. */
#ifndef ST_DURABLE_INT_H
#define ST_DURABLE_INT_H

#include "broker/durable.h"
#include "core/buf.h"

#include <stdatomic.h>

/* Longest client id kept durable: the store's keys are at most 511 bytes (LMDB). */
#define ST_DURABLE_MAX_CID 500

/* A publisher's ack that waits for its worker's writes: the batch's ticket once submitted
 * (0 before), refused when those writes could not be made. pack NULL: a mark that clients'
 * output waits for (st_durable_w.marks). */
typedef struct st_durable_held {
    st_pack *pack;
    uint64_t ticket;
    int refused;
} st_durable_held;

/* One worker's share. */
typedef struct st_durable_w {
    st_store_batch *batch; /* NULL: no memory for one (every write is lost) */
    int lost;              /* a write did not fit into the batch */
    st_buf scratch;
    st_durable_held *held;
    size_t first, n, cap;
    /* wal_sync_interval 0: clients whose output waits for their session's writes hold the
     * number of a mark in held (client.hold_dur); marks_done of them are settled */
    uint32_t marks, marks_done; /* they skip 0 (not held) and are compared wrapping */
    int mark_open;              /* the last mark is not submitted yet: new holds share it */
    struct st_client **out;     /* the clients with hold_dur set, in no order */
    size_t nout, out_cap;
    uint64_t writes; /* puts and deletes so far (st_durable_writes) */
    size_t *idx;     /* a dispatch's durable targets */
    size_t idx_cap;
    struct pick *picks;
    size_t picks_cap;
} st_durable_w;

/* How far a data lane had come, as the store said at start (st_durable_lane_last). */
typedef struct st_durable_lanepos {
    uint64_t node, boot, last;
    uint16_t lane;
} st_durable_lanepos;

struct st_durable {
    struct st_broker *b;
    st_store *store;
    st_durable_lanepos *lanes; /* read at recovery, unchanged afterwards */
    size_t nlanes;
    int hold; /* wal_sync_interval 0: acks wait for the disk */
    int64_t sync_interval_ms;
    st_durable_w *w;
    atomic_long sessions, messages; /* stored now */
};

#endif

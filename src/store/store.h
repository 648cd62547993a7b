/* store.h — the durable store of one node (docs/durability.md): records of durable
 * sessions, their queued messages and the retained messages, kept in `node.data_dir/durable`
 * by an embedded engine and written by one store thread.
 *
 * Writers (the workers) gather records into a batch and submit it; each submission gets a
 * ticket, in submission order. The store thread coalesces what it was handed (pending.h) and
 * commits it in rounds:
 *   - sync interval 0: a round is committed, with its fsync, as soon as the previous one is
 *     done; everything submitted meanwhile shares it (group commit). st_store_durable() then
 *     covers its tickets, and the waker of each writer is called.
 *   - sync interval N ms: a round is committed (with its fsync) every N ms, or sooner when
 *     what is pending passes ST_STORE_ROUND_BYTES. Writers do not wait.
 * A round that fails (a full disk, a full map) is kept and tried again every
 * ST_STORE_RETRY_MS; meanwhile st_store_failed() covers the tickets that were waiting, and
 * st_store_ok() is 0, so that new durable writes are refused until a round succeeds.
 *
 * Recovery reads the records (st_store_scan) after st_store_open and before st_store_start,
 * on one thread. */
#ifndef ST_STORE_H
#define ST_STORE_H

#include "core/log.h"

#include <stddef.h>
#include <stdint.h>

/* Column families (named databases of the engine). */
enum {
    ST_CF_META = 0,
    ST_CF_SESSIONS = 1,
    ST_CF_MSGS = 2,
    ST_CF_QUEUE = 3,
    ST_CF_RETAINED = 4,
    ST_CF_N = 5
};

#define ST_STORE_FORMAT 1
#define ST_STORE_ROUND_BYTES (64u << 20)
#define ST_STORE_RETRY_MS 5000

typedef struct st_store_cfg {
    char dir[512];            /* node.data_dir/durable */
    char node[256];           /* node.name: a data dir of another node is refused */
    int64_t sync_interval_ms; /* persistence.wal_sync_interval */
    uint64_t max_bytes;       /* the engine's map: past it, writes fail as on a full disk */
    int64_t retry_ms;         /* a failed round is tried again after this (0: ST_STORE_RETRY_MS) */
    struct st_alarms *alarms; /* raised while commits fail (durable_storage_full/_error); NULL */
} st_store_cfg;

typedef struct st_store st_store;
typedef struct st_store_batch st_store_batch;

/* Open (creating the dir if missing) and check what is there: a data dir of another node, of
 * a newer format or that the engine cannot read is refused with a message saying what was
 * found and how to move it aside. NULL and err on failure. */
st_store *st_store_open(const st_store_cfg *cfg, const st_log *log, char *err, size_t errlen);
/* The store thread. 0, or an error code. */
int st_store_start(st_store *s);
/* Commits what is pending (with its fsync), stops the thread and closes. NULL is a no-op. */
void st_store_close(st_store *s);

/* Records in key order: fn returns 0 to go on, anything else stops the scan and is returned.
 * Any thread (a read transaction: what the last commit left); recovery scans before
 * st_store_start. */
typedef int (*st_store_scan_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                                size_t vlen);
int st_store_scan(st_store *s, int cf, st_store_scan_fn fn, void *ctx);
/* Writes before st_store_start (recovery's clean-up), committed at once. 0 or an error. */
int st_store_write_now(st_store *s, st_store_batch *b);

/* A batch of writes (one writer's). */
st_store_batch *st_store_batch_new(void);
void st_store_batch_free(st_store_batch *b);
int st_store_batch_empty(const st_store_batch *b);
/* fresh: the key has never been written before (a message, a queue entry), so a delete
 * before the commit cancels both. 0 or ST_ENOMEM (the batch is then unusable: drop it). */
int st_store_put(st_store_batch *b, int cf, const void *key, size_t klen, const void *val,
                 size_t vlen, int fresh);
int st_store_del(st_store_batch *b, int cf, const void *key, size_t klen);
/* Hand the batch to the store thread: its ticket. *b becomes a new empty batch, or NULL if
 * there was no memory for one (then nothing can be written durably until one is made). A
 * batch whose put or del failed is dropped by the store: the writer answers for its writes
 * as failed. */
uint64_t st_store_submit(st_store *s, st_store_batch **b);

/* The highest ticket whose writes are on disk. A writer that waits for ticket t: done when
 * t <= st_store_durable(); failed (for now) when t <= st_store_failed(); else still waiting. */
uint64_t st_store_durable(const st_store *s);
/* The highest ticket that waited on a round that failed. */
uint64_t st_store_failed(const st_store *s);
/* 1 while the last round succeeded (new durable writes are accepted). */
int st_store_ok(const st_store *s);
/* Called on the store thread after durable or failed moved (a worker's wake). At most
 * ST_STORE_MAX_WAKERS, before st_store_start. */
#define ST_STORE_MAX_WAKERS 64
int st_store_on_settled(st_store *s, void (*fn)(void *ctx), void *ctx);

/* The store's directory; when its files were last written (wall ms, 0: unknown): the time a
 * node that crashed went down, near enough. */
const char *st_store_dir(const st_store *s);
int64_t st_store_written_ms(st_store *s);

/* ---- replication (docs/durability.md §6) ------------------------------------------------ */

/* The store's id: random, made when the store was created (a data dir made anew has a new
 * one). ST_STORE_ID_LEN bytes. */
#define ST_STORE_ID_LEN 16
const uint8_t *st_store_id(const st_store *s);

/* The owner's side. fn is called on the store thread after each round that wrote
 * something, with the round's number (1, 2, ... in this process) and its writes in batch
 * form (st_store_records reads them: puts and deletes, no order among different keys);
 * snapshot 1: the writes are the whole store as that round left it (every record but the
 * store's own meta: format, node, id), and a receiver replaces what it holds by them. Set
 * before st_store_start. */
typedef void (*st_store_round_fn)(void *ctx, uint64_t round, int snapshot, const uint8_t *w,
                                  size_t len);
void st_store_on_round(st_store *s, st_store_round_fn fn, void *ctx);
/* Any thread: a snapshot goes to the round function soon (after the round under way). */
void st_store_want_snapshot(st_store *s);
/* Any thread: while the gate is on, a round's tickets count as durable only once
 * st_store_replicated has said the replicas have it too; turning it off releases them. */
void st_store_gate(st_store *s, int on);
void st_store_replicated(st_store *s, uint64_t round);

/* The receiver's side. Each record of w (a round's or a snapshot's writes, or a batch's):
 * fn gets its cf, whether it deletes the key, the key and the value; fn returns 0 to go on. 0, fn's
 * code, or ST_EMALFORMED for bytes cut short or an unknown cf or op (nothing is called for a record
 * after the bad one). */
typedef int (*st_store_record_fn)(void *ctx, int cf, int del, const uint8_t *key, size_t klen,
                                  const uint8_t *val, size_t vlen);
int st_store_records(const uint8_t *w, size_t len, st_store_record_fn fn, void *ctx);
/* The records of w appended to b (checked as st_store_records does). 0 or an ST_E* code. */
int st_store_put_records(st_store_batch *b, const uint8_t *w, size_t len);
/* Submit b as a replacement: everything the store holds but its own meta is removed in the
 * commit that writes b (batches submitted before it need not be written: their tickets are
 * covered by that commit). Its ticket. */
uint64_t st_store_submit_replace(st_store *s, st_store_batch **b);

/* A store made empty (its data dir was new) is "fresh" until the node has looked for a copy
 * of an earlier store of its own on the other members (docs/durability.md §6, restore): 1
 * while it is. */
int st_store_fresh(const st_store *s);
/* The look is over: the store is not fresh any more (written at once before st_store_start,
 * else in the next round). 0 or an ST_E* code. */
int st_store_settle_fresh(st_store *s);
/* Every record of the store but its own meta (format, node, id, fresh) appended to b as puts,
 * each column family read in a transaction of its own (any thread). 0 or an ST_E* code. */
int st_store_dump(st_store *s, st_store_batch *b);
/* The bytes of b in record form (st_store_records reads them). */
const uint8_t *st_store_batch_bytes(const st_store_batch *b, size_t *len);

typedef struct st_store_stats {
    uint64_t rounds, failed_rounds, writes, cancelled;
    uint64_t disk_bytes;  /* the engine's files */
    int64_t last_sync_ms; /* wall clock of the last successful commit, 0: none */
    char error[160];      /* the last failure ("" while ok) */
} st_store_stats;
void st_store_stats_get(st_store *s, st_store_stats *out);

#endif

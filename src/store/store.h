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
 * Before st_store_start only. */
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

typedef struct st_store_stats {
    uint64_t rounds, failed_rounds, writes, cancelled;
    uint64_t disk_bytes;  /* the engine's files */
    int64_t last_sync_ms; /* wall clock of the last successful commit, 0: none */
    char error[160];      /* the last failure ("" while ok) */
} st_store_stats;
void st_store_stats_get(st_store *s, st_store_stats *out);

#endif

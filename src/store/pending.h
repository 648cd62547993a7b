/* pending.h — the writes of the durable store that are not committed yet, coalesced by key
 * (docs/durability.md §5). A key written as new (a message, a queue entry: keys that are
 * never reused) and deleted before its commit is never written at all: a delivery that is
 * acknowledged within a round costs the disk nothing. Single-threaded (the store thread). */
#ifndef ST_STORE_PENDING_H
#define ST_STORE_PENDING_H

#include <stddef.h>
#include <stdint.h>

typedef struct st_pending st_pending;

/* PUT replaces a value that may be on disk; NEW writes a key that has never been written
 * before (so a DEL that follows cancels both); DEL removes the key. */
enum { ST_W_PUT = 1, ST_W_NEW = 2, ST_W_DEL = 3 };

st_pending *st_pending_new(void);
void st_pending_free(st_pending *p);
/* One write (val ignored for DEL). 0, or ST_ENOMEM (nothing changed). */
int st_pending_add(st_pending *p, uint8_t cf, const void *key, size_t klen, int op, const void *val,
                   size_t vlen);
/* Writes to make, and their bytes (keys and values). */
size_t st_pending_count(const st_pending *p);
size_t st_pending_bytes(const st_pending *p);
/* Writes cancelled so far (a NEW then a DEL). */
uint64_t st_pending_cancelled(const st_pending *p);

/* Each write to make (val NULL: delete), in no particular order. */
typedef void (*st_pending_fn)(void *ctx, uint8_t cf, const uint8_t *key, size_t klen,
                              const uint8_t *val, size_t vlen);
void st_pending_each(const st_pending *p, st_pending_fn fn, void *ctx);
/* Empty the set (its writes were committed). */
void st_pending_clear(st_pending *p);

#endif

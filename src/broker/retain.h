/* retain.h — the retained-message store: topic → last retained message.
 * Shared by all workers behind one mutex (docs/locking.md); lookups copy out message
 * references so delivery happens after the lock is released.
 *
 * Across nodes (docs/cluster.md §9.2) every node keeps the whole store and the last writer
 * wins: each entry has a version, msg->rv (a hybrid-logical-clock stamp; ties broken by a
 * hash of the payload, so every node picks the same winner). A deletion (empty payload)
 * leaves a tombstone with its version, which subscribers never see, so an older write
 * arriving later cannot resurrect the topic. Version 0 (a standalone write) always wins. */
#ifndef ST_RETAIN_H
#define ST_RETAIN_H

#include "broker/msg.h"

#include <stddef.h>

typedef struct st_retain st_retain;

st_retain *st_retain_new(int64_t max_messages); /* 0 = unlimited */
void st_retain_free(st_retain *r);
/* Store msg (takes a new reference) or, for an empty payload, delete the topic (a
 * tombstone), if msg->rv is newer than what the topic holds. Returns 1 if stored, 0 if an
 * newer version is there, or ST_EFULL when the store is at max_messages and the topic is
 * new. */
int st_retain_put(st_retain *r, st_msg *msg);
/* Every entry, tombstones included (catch-up of another node); cb gets a new reference. */
void st_retain_dump(st_retain *r, void (*cb)(st_msg *m, void *ctx), void *ctx);
/* Call cb for every retained message whose topic matches filter and has not expired;
 * cb receives a new reference it must release. */
void st_retain_match(st_retain *r, const char *filter, size_t len, int64_t now_ms,
                     void (*cb)(st_msg *m, void *ctx), void *ctx);
size_t st_retain_count(st_retain *r);
/* Forget the tombstones with a version older than before (a node that comes back later
 * with an older write than the deletion would bring it back: the age is the window for
 * that). Returns how many were dropped. */
size_t st_retain_gc(st_retain *r, uint64_t before);

#endif

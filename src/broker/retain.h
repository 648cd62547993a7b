/* retain.h — the retained-message store: topic → last retained message.
 * Shared by all workers behind one mutex (docs/locking.md); lookups copy out message
 * references so delivery happens after the lock is released. */
#ifndef ST_RETAIN_H
#define ST_RETAIN_H

#include "broker/msg.h"

#include <stddef.h>

typedef struct st_retain st_retain;

st_retain *st_retain_new(int64_t max_messages); /* 0 = unlimited */
void st_retain_free(st_retain *r);
/* Store msg (takes a new reference) or, for an empty payload, delete the topic.
 * Returns 0, or ST_EFULL when the store is at max_messages and the topic is new. */
int st_retain_put(st_retain *r, st_msg *msg);
/* Call cb for every retained message whose topic matches filter and has not expired;
 * cb receives a new reference it must release. */
void st_retain_match(st_retain *r, const char *filter, size_t len, int64_t now_ms,
                     void (*cb)(st_msg *m, void *ctx), void *ctx);
size_t st_retain_count(st_retain *r);

#endif

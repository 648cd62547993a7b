/* dedup.h — a session that moved here from another node drops second copies of messages it
 * already holds, for a while after the move (docs/cluster.md §10.3): a publisher's copy on
 * its direct path to this node can arrive after the same message came in the old node's
 * PENDING. Messages are known by their identity across nodes (st_msg origin/oid). A worker
 * with no recent move pays one branch per delivery. On the session's worker only. */
#ifndef ST_DEDUP_H
#define ST_DEDUP_H

#include "broker/msg.h"

#include <stddef.h>
#include <stdint.h>

struct st_worker;

typedef struct st_mid {
    uint64_t origin, oid;
} st_mid;

int st_mid_cmp(const void *a, const void *b); /* qsort / bsearch order */

/* Session sid drops messages with these identities (sorted by st_mid_cmp; the array is
 * taken over) until `until` (monotonic ms). Replaces an earlier set. */
void st_dedup_put(struct st_worker *w, uint64_t sid, st_mid *ids, size_t n, int64_t until);
/* Is msg one that session sid already holds? */
int st_dedup_seen(struct st_worker *w, uint64_t sid, const st_msg *msg);
/* Sets past their time go; a session that ended: st_dedup_drop. */
void st_dedup_tick(struct st_worker *w, int64_t now);
void st_dedup_drop(struct st_worker *w, uint64_t sid);
void st_dedup_free(struct st_worker *w);

#endif

/* mirror.h — the replicated table's rows to the state that mirrors them on this node (the
 * built-in databases' users, the bans, authorization's rules, the API's keys and users).
 * Part of the cluster's wiring (docs/cluster.md §5.3).
 *
 * A mirror never starts afresh: when the table is replaced (a snapshot, a new table), every
 * row is handed over as a write, and the rows the mirrors held that the new table lacks are
 * handed over as deletes at the end (marked "replaced": a mirror falls back to its bootstrap
 * file's row if it has one). A row in both is never missing for a moment, so a login,
 * a ban check or an authorization decision made meanwhile sees the old row or the new. The
 * cluster thread only, after set-up. */
#ifndef ST_CLUSTER_MIRROR_H
#define ST_CLUSTER_MIRROR_H

#include "auth/auth.h"
#include "cluster/cluster.h"
#include "cluster/data/data.h"
#include "cluster/plane/plane.h"

typedef struct st_mirrors st_mirrors;

st_mirrors *st_mirrors_new(void);
void st_mirrors_free(st_mirrors *m);
/* Namespace ns's rows to fn (cluster.h st_cluster_rows_fn). 0, or ST_EFULL. */
int st_mirrors_add(st_mirrors *m, uint8_t ns, st_cluster_rows_fn fn, void *ctx);
/* Users, bans and rules to access control; a clientid ban also kicks its session through d. */
void st_mirrors_auth(st_mirrors *m, st_auth *a, st_data *d);
/* The table's changes since the last call, to every mirror. */
void st_mirrors_sync(st_mirrors *m, st_plane *p);

#endif

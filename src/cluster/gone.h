/* gone.h — a member gone for good: the member that ranks first for the copies of its durable
 * store takes its sessions over (docs/durability.md §6, adoption). A member is gone for good
 * once it has left the cluster (`ctl cluster force-leave`, or a leave that could not hand
 * every session over); a member that is only down is not: it may come back with its disk.
 * The cluster thread, once a second. */
#ifndef ST_CLUSTER_GONE_H
#define ST_CLUSTER_GONE_H

#include "cluster/data/data.h"
#include "cluster/plane/plane.h"
#include "cluster/replica/replica.h"

#include <stdint.h>

typedef struct st_gone {
    char owner[256]; /* whose sessions are being taken over ("": none) */
    int64_t next;
} st_gone;

/* r NULL (persistence.shared_client_session off): nothing. self: this node's name. */
void st_gone_tick(st_gone *g, st_plane *pl, st_replica *r, st_data *d, const char *self,
                  int64_t now);

#endif

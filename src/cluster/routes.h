/* routes.h — route sync between nodes (docs/cluster.md §7): the local index announced to
 * every peer, and each peer's routes applied to the subscription table under its node
 * slot. Cluster thread only. */
#ifndef ST_CLUSTER_ROUTES_H
#define ST_CLUSTER_ROUTES_H

#include "cluster/internal.h"

/* p's CONTROL link is up: send the full local index (SYNC_BEGIN, batches, SYNC_END). */
void st_cl_routes_link_up(st_cluster *c, st_peer *p);
/* Local route changes drained from the inbox, in table order. */
void st_cl_routes_changed(st_cluster *c, st_cl_item **items, size_t n);
/* Recompute what every linked peer has confirmed and release held SUBACKs. Call after any
 * change: items handled, an ACK, a link up or down. */
void st_cl_routes_publish_ack(st_cluster *c);
/* p said goodbye (or left): its routes go. */
void st_cl_routes_purge(st_cluster *c, st_peer *p);
/* The frame handlers (ROUTE_*, ACK), with the links at start. */
void st_cl_routes_register(st_cluster *c);
void st_cl_routes_free(st_cluster *c);

#endif

/* ready.h — a node that restarts as a member of a cluster, or a fresh one that discovery
 * may join to one, takes MQTT connections only once it has the other members' routes
 * (docs/cluster.md §7.3): a client that connects to it at once and publishes would otherwise
 * be acknowledged for messages that reach no subscriber on the other nodes. Wiring of the
 * cluster thread (cluster.c). */
#ifndef ST_CLUSTER_READY_H
#define ST_CLUSTER_READY_H

#include "cluster/data/data.h"
#include "cluster/plane/plane.h"
#include "core/log.h"

#include <stdint.h>

struct st_broker;

typedef struct st_ready {
    struct st_broker *b;
    int held;         /* the broker's listeners wait */
    int fresh;        /* no Raft state: it may first have to find and join a cluster */
    int64_t deadline; /* then they open anyway (members that never link) */
    int64_t since;
} st_ready;

/* Before st_broker_start: hold b's listeners when this node is a core node and either has
 * Raft state in data_dir (it was a member) or discovers (discovers: a strategy other than
 * manual, so that a fresh node may join a cluster at start). */
void st_ready_hold(st_ready *r, struct st_broker *b, const char *data_dir, int core, int discovers);
/* Before st_broker_start too: hold b's listeners (if they are not yet) while this node's
 * durable store may be restored from a copy (docs/durability.md §6). */
void st_ready_hold_restore(st_ready *r);
/* The cluster thread has started (at now): a held node waits at most wait_ms (a fresh one
 * longer by window_ms, the time discovery takes to decide). */
void st_ready_start(st_ready *r, int64_t now, int64_t wait_ms, int64_t window_ms,
                    const st_log *log);
/* Each tick of the cluster thread while held, after the plane's: the listeners open once
 * Raft says this node is alone in its configuration, or once it is in a formed cluster and
 * every other member whose row says up has sent its routes, or at the deadline (logged,
 * with who was missing); never while restoring (the store's restore is not decided). */
void st_ready_tick(st_ready *r, st_plane *pl, st_data *d, int restoring, int64_t now,
                   const st_log *log);

#endif

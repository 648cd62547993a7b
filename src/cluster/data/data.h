/* data.h — the data lanes (docs/cluster.md §7-§10): what carries messages and sessions
 * between nodes. Route sync (the filters this node has subscribers to, announced to every
 * peer; theirs applied to the subscription table under their node slot), forwarding on the
 * broker's workers with acks and resends (forward.h), session moves and evacuation
 * (move.h), the retained-tombstone sweep, and the cluster thread's inbox of items the
 * workers post (route changes, lanes gone, registrations, moves).
 *
 * It sends through the links and reads who is linked there (st_peer: left, forgotten,
 * live); of the control plane it knows only what the wiring hands it in st_data_env: where
 * the registry says a client id lives, and where registrations go. The wiring tells it of
 * the links' events (st_data_peer_*) and the plane's (st_data_gone, st_data_registry_*). */
#ifndef ST_CLUSTER_DATA_H
#define ST_CLUSTER_DATA_H

#include "broker/worker.h"
#include "cluster/links/links.h"
#include "core/log.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

typedef struct st_data st_data;

typedef struct st_data_cfg {
    int forward_ack;
    int64_t forward_ack_timeout_ms;
    int64_t forward_buffer_high; /* bytes per outbound lane */
    int64_t evacuation_timeout_ms;
    int64_t tombstone_ttl_ms;
    int leftovers; /* persistence.shared_client_session: keep a left member's (leftover.h) */
} st_data_cfg;

typedef struct st_data_env {
    const st_log *log;
    pthread_mutex_t *view_lock; /* the API's figures are published under it */
    st_links *links;
    uint64_t boot, node_id;
    void *ctx; /* for the functions below */
    /* The node the client-id registry names for cid (0: none); any thread. */
    uint64_t (*locate)(void *ctx, const char *cid, size_t len);
    /* Registrations posted by the workers (up: a CONNECT at hlc; else its session ended),
     * handed over once per wake of the cluster thread, in their order. */
    void (*registered)(void *ctx, const char *cid, size_t len, uint64_t hlc, int up);
    void (*registered_flush)(void *ctx);
} st_data_env;

st_data *st_data_new(const st_data_cfg *cfg, const st_data_env *env);
/* Connect the broker (before st_broker_start): its route changes are announced, the peers'
 * routes go to its table, its workers run the lanes. Without it, nothing here runs. */
int st_data_attach(st_data *d, st_broker *b);
int st_data_attached(const st_data *d);
/* On the cluster thread's loop: the inbox, the frame and stream handlers. */
int st_data_start(st_data *d, uv_loop_t *loop);
void st_data_tick(st_data *d, int64_t now);
/* Stop: posts are dropped from now on, the inbox's handle closes. */
void st_data_stop(st_data *d);
void st_data_free(st_data *d);

/* ---- the links' events (the cluster thread) ---- */
void st_data_peer_up(st_data *d, st_peer *p, uint64_t prev_boot);
void st_data_peer_down(st_data *d, st_peer *p);
/* p is gone for good (how ST_GONE_LEFT: it left, and what the lanes held for it is kept for
 * its adopter with cfg.leftovers; ST_GONE_US: it said goodbye, or this node left) or declared
 * down (ST_GONE_DOWN: the same process may come back and resume): its routes go, and what
 * is queued for it. */
void st_data_gone(st_data *d, st_peer *p, int how);
/* What this node's lanes held for name, which left (leftover.h's answer, malloc'd), and its
 * adopter's word that it took them: the messages let go, or -1 for none kept. */
char *st_data_leftovers(st_data *d, const char *name, size_t *len);
int st_data_leftovers_ready(st_data *d, const char *name); /* every lane has posted its part */
long st_data_leftovers_drop(st_data *d, const char *name);

/* ---- the registry's (the plane's) events (the cluster thread) ---- */
/* The cluster has another member: every session here registers, and a CONNECT may find its
 * session on another node from now on. Again after a new incarnation of this node. */
void st_data_registry_on(st_data *d);
/* cid's registration at hlc lost to a newer connection elsewhere: it is closed here. */
void st_data_kick(st_data *d, const char *cid, size_t len, uint64_t hlc);
/* Whether the registry can order this node's registrations now (a leader is in reach). */
void st_data_quorum(st_data *d, int quorum);

/* ---- evacuation (docs/cluster.md §10.4) ---- */
/* `ctl cluster leave` hands the sessions over first: 0 if there is nothing to hand over
 * (alone, or cluster.evacuation_timeout is 0), else 1 and st_data_evacuating says when it
 * is over. */
int st_data_leave_evacuate(st_data *d, int64_t now);
int st_data_evacuating(st_data *d, int64_t now);
/* The leave is over: the node serves clients again. */
void st_data_evacuate_end(st_data *d);
/* From the main thread (st_cluster_evacuate): every session to the other live members;
 * blocks up to cluster.evacuation_timeout. The sessions left behind, or -1. */
long st_data_evacuate(st_data *d);

/* ---- figures for the API (any thread) ---- */
typedef struct st_data_stats {
    size_t local;     /* filters announced by this node */
    size_t remote;    /* (filter, node) routes held for other nodes */
    uint64_t ops_tx;  /* route changes sent */
    uint64_t pending; /* route changes made here that not every linked peer has applied yet */
    uint64_t fwd_sent, fwd_received, fwd_dropped, fwd_resent, fwd_redispatched;
} st_data_stats;
void st_data_stats_get(st_data *d, st_data_stats *s);
/* The routes peer slot announced and the route ops received from it (under the view lock). */
void st_data_peer_routes(st_data *d, int slot, size_t *routes, uint64_t *ops_rx);
/* Has the node called name sent us all its routes (a full sync) since its CONTROL link to
 * its current process came up? Cluster thread. */
int st_data_routes_synced(st_data *d, const char *name);
/* While on (a node whose store is being restored from a copy, docs/durability.md §6): the
 * peers get no route sync from this node (they keep the routes its earlier process
 * announced) and their DATA lanes to it are refused (what they queued for it waits for the
 * process that has the sessions). Turned off: the routes go to every linked peer. */
void st_data_hold(st_data *d, int on);

/* Any thread: the data lanes past cluster.forward_buffer_high now (0 without a broker). */
int st_data_lanes_over(st_data *d);

#endif

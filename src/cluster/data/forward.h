/* forward.h — data lanes (docs/cluster.md §8): messages between nodes, on the broker's
 * workers. Each worker owns one outbound lane per peer, so every message of a publisher
 * (who lives on one worker) travels to a node on one lane, in order. A lane's records
 * carry consecutive sequence numbers and stay in a retransmit queue until the receiver's
 * cumulative ACK covers them; after a reconnect the receiver's RESUME says what it already
 * has, and the rest is sent again — to the same peer process only: a peer that restarted
 * lost its sessions, so what was queued for the old process is dropped. Inbound lane i of a
 * peer is served by worker i % workers, which keeps the last delivered sequence per
 * (peer, lane) to drop resent duplicates.
 *
 * Retained messages: a write stored here goes to every node with a CONTROL link (a
 * STORE_RETAINED record, with DELIVER where it also has subscribers), and whenever worker
 * 0's lane to a node (re)connects, the whole store follows (catch-up; last writer wins).
 *
 * With cluster.forward_ack, a QoS 1/2 publisher's ack waits for every node its message was
 * queued for (remote.h), until that node's lane has been down for forward_ack_timeout. */
#ifndef ST_CLUSTER_DATA_FORWARD_H
#define ST_CLUSTER_DATA_FORWARD_H

#include "broker/remote.h"
#include "broker/worker.h"
#include "cluster/data/data.h"
#include "net/tls.h"

#include <stdint.h>

typedef struct st_fwd st_fwd;

typedef struct st_fwd_cfg {
    int forward_ack;
    int64_t ack_timeout_ms;
    int64_t buffer_high; /* bytes per outbound lane */
} st_fwd_cfg;

st_fwd *st_fwd_new(st_broker *b, st_data *d, const st_fwd_cfg *cfg);
void st_fwd_free(st_fwd *f);
extern const st_remote_ops st_fwd_ops;

/* Cluster thread: an authenticated DATA stream goes to its worker (fd and tls, its TLS
 * connection or NULL, are the worker's from now on). outbound: we dialled it as our lane
 * `lane` to node `slot`; else the peer's lane `lane` to us. pre/npre: bytes already read
 * from it after the handshake (copied). peer_id, peer_boot: the peer's node id and process. */
void st_fwd_adopt(st_fwd *f, int fd, st_tls *tls, int outbound, uint16_t slot, uint16_t lane,
                  uint64_t peer_id, uint64_t peer_boot, const uint8_t *pre, size_t npre);
/* Cluster thread: the peer's CONTROL link is down — close its lanes (they are redialled
 * with the link). ST_FWD_GONE: it said goodbye or left: what is queued for it is dropped
 * (shared records go to other members); ST_FWD_LEFT_KEEP: the same, but each worker first
 * posts its QoS 1/2 deliveries as an ST_DI_LEFTOVER item (none too: leftover.h);
 * ST_FWD_DOWN: declared down: shared records go to other members, the rest stays for the
 * same process's return. */
enum { ST_FWD_LINK_DOWN, ST_FWD_GONE, ST_FWD_DOWN, ST_FWD_LEFT_KEEP };
void st_fwd_peer_down(st_fwd *f, uint16_t slot, int gone);

/* Cluster thread: the node in slot is a new process (it restarted). Records queued for it
 * from now on are for that process; those queued before are dropped when its lanes
 * connect (the restart lost the sessions they were for). Called before any route of the
 * new process is applied, so nothing routed by it is dropped. */
void st_fwd_new_boot(st_fwd *f, uint16_t slot);
/* Cluster thread: the node in slot has (live = 1) or lost its CONTROL link; retained
 * writes are copied to every live node. */
void st_fwd_set_live(st_fwd *f, uint16_t slot, int live);
/* Cluster thread: route acks advanced; worker `worker` has clients waiting for them. */
void st_fwd_routes_acked(st_fwd *f, uint16_t worker);

typedef struct st_fwd_stats {
    uint64_t sent, received, dropped, resent, redispatched;
} st_fwd_stats;
void st_fwd_stats_get(st_fwd *f, st_fwd_stats *out);
/* Any thread: lanes past cluster.forward_buffer_high now, every worker's. */
int st_fwd_lanes_over(st_fwd *f);
/* Every worker registers every session it holds (the cluster has a second member). */
void st_fwd_register_all(st_fwd *f);
/* Cluster thread: a MOVE frame (its body) from node slot for worker `worker` (move.h). */
void st_fwd_move(st_fwd *f, uint16_t worker, uint16_t slot, uint64_t node_id, uint8_t type,
                 const uint8_t *body, size_t n);
/* Cluster thread: every worker hands its sessions to these node slots (move.h). */
void st_fwd_evacuate(st_fwd *f, const uint16_t *slots, size_t n);
/* Sessions not handed over yet, summed over the workers (-1: not every worker has begun). */
long st_fwd_evac_left(st_fwd *f);
/* The registry gave cid to a newer connection elsewhere: its owner worker acts. */
void st_fwd_kick(st_fwd *f, const char *cid, size_t len, uint64_t hlc);

#endif

/* remote.h — how the broker meets other nodes without knowing about clusters
 * (docs/cluster.md §2.3). The cluster module fills an ops table in before the workers
 * start; the broker calls it at three points: when a filter gains its first or loses its
 * last local subscriber (under the subscription table's write lock, so the order of the
 * calls is the order of the table changes), when a publish matched routes of other nodes,
 * and once per worker loop iteration and tick. A standalone broker has no ops and pays
 * one branch per publish. */
#ifndef ST_REMOTE_H
#define ST_REMOTE_H

#include "broker/msg.h"

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_NODES 256 /* remote node slots (the cluster thread numbers its peers) */

#define ST_MAX_PICKS 16 /* shared groups per message that may pick a member on another node */

struct st_sharekey;
typedef struct st_remote_pick {
    uint16_t slot;           /* the node */
    struct st_sharekey *key; /* the group ("$share/g/f"), referenced */
} st_remote_pick;

/* Where a message goes beyond this node: every node with plain subscribers that match
 * (b, one DELIVER copy each) and, per shared group whose pick fell on another node's
 * member, that node (picks, one SHARED copy each; past ST_MAX_PICKS groups, only local
 * members are picked). */
typedef struct st_nodeset {
    uint64_t b[ST_MAX_NODES / 64];
    uint32_t npicks;
    st_remote_pick picks[ST_MAX_PICKS];
} st_nodeset;

static inline void st_nodeset_add(st_nodeset *s, unsigned slot)
{
    s->b[slot >> 6] |= 1ull << (slot & 63);
}
static inline int st_nodeset_empty(const st_nodeset *s)
{
    return !(s->b[0] | s->b[1] | s->b[2] | s->b[3]) && !s->npicks;
}

struct st_worker;
struct st_imsg;
struct st_client;
struct st_session;

/* A publisher's acknowledgement (PUBACK or PUBREC) that waits for other nodes to confirm
 * they have the message (cluster.forward_ack). A client's pending acks form a FIFO released
 * in PUBLISH order (MQTT §4.6). Each node the message went to holds one wait; the last
 * st_pack_done sends the ack, unless the client has gone (then nothing is sent: the client
 * resends the PUBLISH and gets a fresh answer). Worker-local: all on the publisher's worker. */
typedef struct st_pack {
    struct st_pack *next;
    struct st_client *c; /* NULL once the client is gone */
    uint32_t waits;
    uint16_t pid;
    uint8_t type, reason; /* set after the dispatch */
} st_pack;

/* What the forward op may attach a wait to: the publisher (NULL for QoS 0 and server
 * messages) and the pack, created on the first wait. */
typedef struct st_ackwait {
    struct st_client *c;
    st_pack *pack;
} st_ackwait;

/* A new wait on the publisher's ack (the pack is created and queued on first use). */
st_pack *st_ackwait_hold(st_ackwait *aw);
/* One node confirmed: drop a wait and send whatever acks are now at the FIFO's head. */
void st_pack_done(st_pack *p);

/* Route changes reach the cluster through the subscription table's hook (subs.h). */
typedef struct st_remote_ops {
    /* on worker w, for a message published here: one copy to each node in dest. Returns the
     * number of nodes it was queued for; waits are attached through aw when aw->c is set. */
    size_t (*forward)(void *cx, struct st_worker *w, st_msg *msg, const st_nodeset *dest,
                      st_ackwait *aw);
    void (*before_sleep)(void *cx, struct st_worker *w);
    void (*tick)(void *cx, struct st_worker *w, int64_t now);
    /* the session of cid on worker w was opened by a CONNECT (up, with its registration
     * version hlc) or has ended (up 0): the cluster's client-id registry follows */
    void (*registry)(void *cx, struct st_worker *w, const char *cid, size_t len, uint64_t hlc,
                     int up);
    /* a CONNECT with clean_start 0 and a client id found no session s here (s is its new,
     * empty one): 1 if the cluster looks for it on another node (st_session_arrived ends
     * the wait), 0 if not */
    int (*takeover)(void *cx, struct st_worker *w, struct st_session *s);
    /* an ST_IM_REMOTE inbox item (owned by the callee) */
    void (*imsg)(void *cx, struct st_worker *w, struct st_imsg *m);
} st_remote_ops;

#endif

/* flow.h — flow control between publishers and subscribers on one node.
 *
 * Three conditions stop the broker from reading publishers' sockets (the bytes wait in the
 * kernel, TCP pushes back on the publisher; nothing is dropped or refused):
 *  - overload: some worker's inbox holds more than ST_INBOX_HIGH items (resume below
 *    ST_INBOX_LOW);
 *  - congestion: the messages waiting in the queues of connected, progressing sessions
 *    ("lag", summed over the workers) pass ST_LAG_HIGH (resume below ST_LAG_LOW), or one
 *    such queue is past half of mqtt.max_mqueue_len ("hot"; cools at a quarter; the
 *    node-wide count b->hot changes at once, so every worker stops at its next PUBLISH);
 *  - a data lane of this worker to another node holds more than
 *    cluster.forward_buffer_high (w->remote_blocked).
 * Only connections that have published and have nothing in flight or queued to them are
 * paused: consumers are always read, since their acks are what clears every condition. A
 * paused connection that gets a message becomes a consumer and is read again.
 * The event that clears a condition resumes the paused connections: the worker whose
 * before_sleep sees it clear resumes its own and wakes the others, which do the same in
 * theirs; no timer is involved.
 * A session whose client has had something outstanding and made no progress (no ack, no
 * bytes written) for ST_STUCK_MS does not count (an idle one is not stuck): a stuck
 * consumer fills its own queue up to mqtt.max_mqueue_len and drops (EMQX); it cannot
 * stall the node. A consumer that is reading never loses a message to its queue limit. */
#ifndef ST_FLOW_H
#define ST_FLOW_H

#include "broker/client.h"

#define ST_LAG_HIGH 65536
#define ST_LAG_LOW 16384
#define ST_STUCK_MS 2000
/* A connected session that is reading is never cut to max_mqueue_len: its publishers are
 * paused instead. The hard ceiling below only guards memory against a client that
 * publishes to itself faster than it reads (flow cannot pause a client that has messages
 * outstanding, its acks would not be read): max(max_mqueue_len x 64, 65536). */
#define ST_QUEUE_CEILING_X 64
#define ST_QUEUE_CEILING_MIN 65536

/* Before sleeping: publish this worker's lag, recompute overload and congestion, and
 * resume paused connections when both have cleared. */
void st_flow_update(st_worker *w);
/* On tick: recount the lag exactly (stuck sessions excluded). */
void st_flow_tick(st_worker *w, int64_t now);
/* Readable event on c: 1 if reading c must pause now (then it has been paused). */
int st_flow_pause(st_worker *w, st_client *c);
/* After a PUBLISH from c: 1 if c must stop here (paused; the rest of what was read stays
 * in its input buffer and is parsed when it resumes). A single read can hold thousands of
 * packets, far more than a queue limit, so this is checked per packet. */
int st_flow_hold(st_worker *w, st_client *c);
/* Is the node overloaded or congested right now, as this worker sees it (its own counters
 * current, the other workers' as last published)? Data lanes from other nodes stop being
 * read while it is, as publishers do. */
int st_flow_blocked(st_worker *w);
/* Queue length at which the oldest message of s is dropped (0: none), and the reason
 * counted when it is (offline, stuck, or the ceiling of a reading session). */
int64_t st_flow_queue_limit(const st_worker *w, const st_session *s, int *reason);
/* Count a dropped delivery to s (st_worker.dropped; the first and every 1,024th of a
 * reason on a worker are logged). */
void st_flow_dropped(st_worker *w, st_session *s, int reason);
const char *st_flow_drop_name(int reason);
/* Something was sent or queued to c: if flow control paused it, it is read again from the
 * next before_sleep on (its acks must be read). */
static inline void st_flow_consumer(st_worker *w, const st_client *c)
{
    if (c->paused) w->unpause = 1;
}
/* A session's client attaches (+1) or detaches (-1): its queue joins or leaves the lag. */
void st_flow_attach(st_worker *w, st_session *s, int sign);
/* One message was queued to / taken from the queue of a connected session. */
void st_flow_queued(st_worker *w, st_session *s);
void st_flow_dequeued(st_worker *w, st_session *s);

#endif

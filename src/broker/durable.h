/* durable.h — durable sessions on the workers' side (docs/durability.md §5, §7): what they
 * write to the node's store (store/store.h), when a publisher's acknowledgement waits for it,
 * and the recovery of the sessions at start.
 *
 * A session is durable while its expiry is not 0 (and persistence is on). Its record holds
 * its subscriptions; each QoS 1/2 message delivered to it is stored once, with one queue
 * entry per durable session it goes to. The publisher's worker writes the message and every
 * entry when it dispatches (the subscriptions carry ST_T_DURABLE), so that with
 * wal_sync_interval 0 the PUBACK/PUBREC waits for that worker's batch only. The worker that
 * owns a session updates its entries: the packet id once in flight, the state at PUBREC, and
 * deletes them at the final ack or when they are dropped. All functions run on the worker
 * named, and do nothing when persistence is off (w->b->durable NULL). */
#ifndef ST_DURABLE_H
#define ST_DURABLE_H

#include "broker/remote.h"
#include "broker/session.h"
#include "broker/subs.h"
#include "store/store.h"

struct st_worker;
struct st_broker;

#define ST_T_DURABLE 0x08 /* target flag: the session keeps its deliveries in the store */

typedef struct st_durable st_durable;

/* Open the store and recover its sessions into the workers (before they start: main.c).
 * NULL and err when the store cannot be used; the node must not start then. */
st_durable *st_durable_open(struct st_broker *b, const st_store_cfg *cfg, char *err, size_t errlen);
int st_durable_start(st_durable *d);
/* After the workers stopped: what is pending is committed. */
void st_durable_close(st_durable *d);
st_store *st_durable_store(st_durable *d);

/* What the store holds and how it does (any thread). */
typedef struct st_durable_stats {
    long sessions, messages;  /* durable sessions and stored messages on this node */
    int64_t sync_interval_ms; /* persistence.wal_sync_interval */
    int ok;                   /* 0: the last commit failed (durable writes refused) */
    st_store_stats store;
} st_durable_stats;
void st_durable_stats_get(st_durable *d, st_durable_stats *out);

/* The target flags of a subscription of s (ST_T_DURABLE when s is durable and the filter
 * is not a shared one). */
uint8_t st_durable_tflags(struct st_worker *w, const st_session *s, const char *filter, size_t len,
                          uint8_t flags);
/* s changed (connected, subscriptions, expiry) or went offline (offline 1): its record is
 * written, or all its records deleted if it is no longer durable. */
void st_durable_session(struct st_worker *w, st_session *s, int offline);
/* s arrived from another node (docs/cluster.md §10.3): its record, its subscriptions'
 * targets, its QoS 2 ids and every QoS 1/2 message it brought are stored here now. */
void st_durable_adopt(struct st_worker *w, st_session *s);
/* s ends: all its records go. */
void st_durable_session_gone(struct st_worker *w, st_session *s);

/* A retained message was stored (or its topic deleted: an empty payload): written to the
 * store too, whichever node it came from. */
void st_durable_retained(struct st_worker *w, const st_msg *msg);
/* After a client's retained PUBLISH that was stored: its ack waits for that write
 * (wal_sync_interval 0), or is refused when it could not be made. */
void st_durable_hold_retained(struct st_worker *w, st_ackwait *aw);
/* The publisher's worker: msg matched targets t; the durable ones get their records, and the
 * publisher's ack (aw) waits for them when wal_sync_interval is 0. */
void st_durable_dispatch(struct st_worker *w, st_msg *msg, st_target *t, size_t n, st_ackwait *aw);
/* The durable message id of a delivery of msg through target t to s (0: not stored). */
uint64_t st_durable_entry_of(struct st_worker *w, st_session *s, st_msg *msg, const st_target *t,
                             uint8_t qos);
/* A target's session is gone: its entry goes. */
void st_durable_orphan(struct st_worker *w, uint64_t sid, st_msg *msg, const st_target *t);
/* An entry went in flight or changed state (f->state; WAIT_COMP: its message is no longer
 * needed and is released by the caller after this call). */
void st_durable_inflight(struct st_worker *w, st_session *s, const st_inflight *f);
/* An entry is done (acknowledged, dropped, expired): deleted. Call before releasing it. */
void st_durable_done(struct st_worker *w, st_session *s, const st_qitem *it);
/* A QoS 2 packet id from the client awaits PUBREL (add 1) or is released (add 0). */
void st_durable_rel(struct st_worker *w, st_session *s, uint16_t pid, int add);

/* The data lane `lane` of node `node` (its process `boot`) has delivered its records up to
 * seq `last` here, and they wrote to this worker's batch: that position is written in the
 * same batch, so that after a crash the node knows which of that sender's records its store
 * holds (docs/durability.md §5, "Across nodes"). */
void st_durable_lane(struct st_worker *w, uint64_t node, uint16_t lane, uint64_t boot,
                     uint64_t last);
/* What the store held at start for that lane of that sender process: the seq up to which its
 * records' writes were on disk, or 0. Any thread (read-only after st_durable_open). */
uint64_t st_durable_lane_last(const st_durable *d, uint64_t node, uint16_t lane, uint64_t boot);

/* Hand this worker's writes to the store (before waking other workers: their acks may
 * delete what these writes create). */
void st_durable_submit(struct st_worker *w);
/* Send the acknowledgements whose writes are now on disk (or answer 0x97 for those whose
 * round failed), and release the output that waited for them. */
void st_durable_settle(struct st_worker *w);
/* wal_sync_interval 0: 1 while c's output waits for its session's writes (c->hold_dur),
 * else 0 (and c no longer holds). */
int st_durable_out_held(struct st_worker *w, struct st_client *c);
/* c closes: its output waits for nothing any more. */
void st_durable_out_drop(struct st_worker *w, struct st_client *c);
/* The writes this worker has made so far (a counter; 0 with persistence off): a caller
 * compares it before and after handling something to know whether that wrote. */
uint64_t st_durable_writes(struct st_worker *w);
/* wal_sync_interval 0: the mark (never 0) that settles once the writes this worker made so
 * far are on disk (or their round failed); 0 when nothing waits (an interval, persistence
 * off, no memory to wait). A data lane's ACK waits for it (cluster/data/forward.c). */
uint32_t st_durable_mark(struct st_worker *w);
/* 1 once mark m has settled (st_durable_settle ran after it). */
int st_durable_mark_done(struct st_worker *w, uint32_t m);

#endif

/* leftover.h — what this node's data lanes still held for a member that left (was forced
 * out), kept for the member that takes its durable sessions over (docs/durability.md §6,
 * adoption).
 *
 * When a member leaves, each worker's lane to it still holds the records it had not
 * acknowledged: messages published here while it was down or dying. Its routes are gone
 * from then on, so those QoS 1/2 deliveries would be dropped, though their publishers may
 * have had their PUBACKs (past cluster.forward_ack_timeout). With
 * persistence.shared_client_session, each worker instead packs them (st_leftover_put: its
 * lane, each record's seq and the message as a session image's queue entry) and posts them
 * here; the cluster thread keeps them under the member's name. The adopter asks every node
 * for them (ST_ASK_LEFTOVER) before it builds the sessions' images, skips what the copy
 * says the member had taken (its lane positions), and queues the rest to the adopted
 * sessions whose subscriptions match; then it says so (ST_ASK_LEFTOVER_DROP) and they are
 * let go. Nobody asking within LEFTOVER_KEEP_MS: dropped, and logged.
 *
 * The answer: u8 ready (0: a worker has not packed its lane yet: ask again), u64 this
 * node's id, u64 its process (boot), then entries: u16 lane, u64 seq, u32 n, n bytes of a
 * cw_sess_ent CW_SE_QUEUE with its record. */
#ifndef ST_CLUSTER_DATA_LEFTOVER_H
#define ST_CLUSTER_DATA_LEFTOVER_H

#include "broker/msg.h"
#include "core/buf.h"
#include "cwire/cwire.h"

#include <stddef.h>
#include <stdint.h>

typedef struct st_leftovers st_leftovers;

/* A worker: one record of its lane (seq, message m at time now) appended to b. */
void st_leftover_put(st_buf *b, uint16_t lane, uint64_t seq, const st_msg *m, int64_t now);

/* ---- the cluster thread ---- */
st_leftovers *st_leftovers_new(void);
void st_leftovers_free(st_leftovers *l);
/* Member name (at link slot) left: nworkers lanes will post what they held. */
void st_leftovers_expect(st_leftovers *l, const char *name, uint16_t slot, int nworkers,
                         int64_t now);
/* A worker's lane to slot posted its part (n bytes of st_leftover_put entries, maybe 0).
 * Kept up to what one answer frame carries: returns how many entries did not fit. */
size_t st_leftovers_add(st_leftovers *l, uint16_t slot, const uint8_t *p, size_t n);
/* Whether every lane has posted what it held for name (1 too when none is kept). */
int st_leftovers_ready(const st_leftovers *l, const char *name);
/* The answer above for name (malloc'd; NULL when out of memory). */
char *st_leftovers_answer(const st_leftovers *l, const char *name, uint64_t node_id, uint64_t boot,
                          size_t *len);
/* Let name's go (taken by its adopter); the messages it held, or -1 for none kept. */
long st_leftovers_drop(st_leftovers *l, const char *name);
/* Those kept past LEFTOVER_KEEP_MS are dropped; fn(ctx, name, messages) for each. */
void st_leftovers_tick(st_leftovers *l, int64_t now,
                       void (*fn)(void *ctx, const char *name, size_t n), void *ctx);

/* ---- reading an answer (the adopter) ---- */
typedef struct st_leftover {
    uint16_t lane;
    uint64_t seq;
    cw_sess_ent e; /* CW_SE_QUEUE and its record, pointing into the answer */
} st_leftover;
/* An answer's head: 0 (ready or not in *ready), or ST_EMALFORMED. *off: its first entry. */
int st_leftover_head(const uint8_t *p, size_t n, int *ready, uint64_t *node, uint64_t *boot,
                     size_t *off);
/* The entry at *off: 1 (and *off past it), 0 at the end, ST_EMALFORMED. */
int st_leftover_next(const uint8_t *p, size_t n, size_t *off, st_leftover *e);

#endif

/* move.h — a session moves to the node its client connects to (docs/cluster.md §10.3).
 *
 * New node B (a CONNECT with clean_start 0 found no session here): the cluster thread
 * reads the registry's row for the client id and sends MOVE_BEGIN to the node A holding
 * it. A closes the old connection (0x8E), freezes the session (deliveries only queue) and
 * answers MOVE_STATE with its image: subscriptions, inflight, queue, PUBREL waits. B
 * installs it (its routes go out), waits until every node has acked those routes, then
 * sends MOVE_END; A answers MOVE_PENDING with what was queued since STATE and frees the
 * session. B puts that between the image's queue and what reached it directly, dropping
 * copies of one message (same origin and id), and CONNACKs with session_present = 1.
 * Between B's routes and A's withdrawal every publisher reaches A or B or both, so nothing
 * published during the move is lost, and nothing is delivered twice.
 *
 * A node that is leaving pushes its sessions the same way: MOVE_OFFER asks the node that
 * takes one to send MOVE_BEGIN for it (its clients then get 0x9C; the will moves along).
 *
 * Worker side: each worker keeps the moves of the client ids it owns (st_moves). Cluster
 * thread side: ASK (look the row up, send BEGIN) and frames in and out of CONTROL links. */
#ifndef ST_CLUSTER_DATA_MOVE_H
#define ST_CLUSTER_DATA_MOVE_H

#include "broker/session.h"
#include "broker/worker.h"
#include "cluster/data/data.h"
#include "cwire/cwire.h"

#include <stddef.h>
#include <stdint.h>

typedef struct st_moves st_moves;

#define ST_MOVE_ASK_SLOT 0xFFFF /* a frame from the cluster thread itself (ASK answered) */

/* ---- workers ---- */
st_moves *st_moves_new(void);
void st_moves_free(st_moves *mv);
/* remote.h takeover: s, a new empty session, looks for its old one. */
int st_move_takeover(st_moves *mv, st_data *cl, st_worker *w, st_session *s);
/* A MOVE frame about a client id this worker owns, from node slot. */
void st_move_frame(st_moves *mv, st_data *cl, st_worker *w, uint16_t slot, uint64_t from,
                   uint8_t type, st_bytes body); /* from: the node's id */
void st_move_tick(st_moves *mv, st_data *cl, st_worker *w, int64_t now);
/* Route acks advanced: arrivals waiting for theirs send MOVE_END. */
void st_move_routes_acked(st_moves *mv, st_data *cl, st_worker *w);
/* Sessions on their way here or away (for stop: wait until none is left). */
size_t st_moves_count(const st_moves *mv);

/* Evacuation: every session here is offered to one of these node slots (by a hash of its
 * client id), again every 2 s until it has gone. */
void st_move_evacuate(st_moves *mv, const uint16_t *slots, size_t n);
/* On each tick while evacuating: the sessions not gone yet (offers go out); -1 if not
 * evacuating. */
long st_move_evac_tick(st_moves *mv, st_data *cl, st_worker *w, int64_t now);

/* ---- cluster thread ---- */
/* Start an evacuation (ST_DI_EVACUATE): the workers learn the live members. */
void st_data_evacuate_start(st_data *c);
/* A worker's ask: BEGIN to the node the registry names, or NONE back to the worker. */
void st_data_move_ask(st_data *c, uint16_t worker, const char *cid, size_t len, uint64_t hlc,
                      uint8_t flags, uint64_t hint); /* hint: ask that node */
/* A worker's frame for node slot (dropped if that node has no link: timeouts repair). */
void st_data_move_send(st_data *c, uint16_t slot, const uint8_t *frame, size_t n);
/* The MOVE frames' handler, with the links at start. */
void st_data_move_register(st_data *c);

#endif

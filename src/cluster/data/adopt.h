/* adopt.h — the durable sessions of a member gone for good, taken over by this node from
 * the copy of that member's store it keeps (docs/durability.md §6, adoption).
 *
 * The copy's records (a store dump: sessions, QoS 2 ids, messages, queue entries) become a
 * session image per client id, in the format a session move carries (cwire.h cw_sess_ent:
 * expiry and time left, subscriptions, PUBREL waits, inflight messages with their packet
 * ids, the queue in arrival order, the will). Each is offered to the worker that owns its
 * client id as a leaving node offers its sessions (MOVE_OFFER, move.h): the worker makes an
 * arriving session and asks for it with MOVE_BEGIN, and this thread answers in the old
 * node's place (ST_MOVE_ADOPT_SLOT) with the image, then an empty PENDING at MOVE_END. The
 * worker installs it as any moved session: its routes go out, it is registered under a new
 * version and written to this node's own store. A client id the registry places on a node
 * that is up (its client came back meanwhile) is left alone. The cluster thread. */
#ifndef ST_CLUSTER_DATA_ADOPT_H
#define ST_CLUSTER_DATA_ADOPT_H

#include "cluster/data/data.h"

#include <stddef.h>
#include <stdint.h>

#define ST_MOVE_ADOPT_SLOT 0xFFFE /* move frames between the workers and an adoption */

/* Start adopting owner's sessions from w (st_store_dump's records of the copy, len bytes)
 * at wall time `wall`; written: when the copy was last written (wall ms; the moment a
 * session that was connected then went offline). The sessions offered (>= 0), or an ST_E*
 * code (ST_EAGAIN: an adoption is under way). */
long st_data_adopt(st_data *c, const char *owner, const uint8_t *w, size_t len, int64_t written,
                   const st_bytes *extra, size_t nextra);
/* 1 while an adoption is under way; 0 once every session offered is installed or it gave up
 * (30 s without progress; logged). */
int st_data_adopting(st_data *c, int64_t now);
/* A move frame a worker sent to ST_MOVE_ADOPT_SLOT (move.c). */
void st_data_adopt_frame(st_data *c, const uint8_t *frame, size_t n);
void st_data_adopt_free(st_data *c);

/* The image of every session in a store dump that has not expired at wall: fn(ctx, cid,
 * len, image) for each (0: go on). Sessions expired and entries without their message are
 * left out. extra[nextra]: the members' answers of what their lanes still held for the
 * member (leftover.h); each message the copy's lane positions do not say the member took is
 * queued, after the session's own queue, to every session with a (non-shared) subscription
 * that matches it, once, at the highest QoS granted; *queued counts those entries. 0, fn's
 * code, or an ST_E* code. */
typedef int (*st_adopt_image_fn)(void *ctx, const char *cid, size_t len, const uint8_t *img,
                                 size_t ilen);
int st_adopt_images(const uint8_t *w, size_t len, int64_t written, int64_t wall, int64_t mono,
                    const st_bytes *extra, size_t nextra, size_t *queued, st_adopt_image_fn fn,
                    void *ctx);

#endif

/* msgrec.h — an application message as a cluster wire record (cwire.h cw_record) and back:
 * data lanes forward them, session moves carry queued ones. The record keeps the message's
 * identity (origin, mid) and its remaining expiry. */
#ifndef ST_CLUSTER_DATA_MSGREC_H
#define ST_CLUSTER_DATA_MSGREC_H

#include "broker/msg.h"
#include "broker/subs.h"
#include "core/buf.h"
#include "cwire/cwire.h"

#include <stddef.h>

/* Room the message's properties need in the caller's scratch space (0: none). */
size_t st_msgrec_room(const st_msg *m);
/* Fill r (kind CW_REC_DELIVER; the caller sets kind, share and hlc) for m at time now, its
 * properties encoded into props[room]; returns their length. */
size_t st_msgrec_fill(const st_msg *m, int64_t now, cw_record *r, uint8_t *props, size_t room);
/* The message a record carries (refs = 1), or NULL (undecodable properties, ENOMEM). */
st_msg *st_msgrec_msg(const cw_record *r, int64_t now);

/* Session image entries (cwire.h cw_sess_ent) appended to img (img->oom on failure): e as it
 * is, or e with the record of message m (queued, inflight or a will; share: the shared group it
 * came through, or NULL) at time now. */
void st_msgrec_put_ent(st_buf *img, const cw_sess_ent *e);
void st_msgrec_put_msg(st_buf *img, cw_sess_ent *e, const st_msg *m, const st_sharekey *share,
                       int64_t now);

#endif

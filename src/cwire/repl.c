/* repl.c — a durable store's mirror on another node (docs/durability.md §6): REPL carries
 * a piece of the owner's stream (a committed round or a snapshot, or a copy going back to
 * its owner), REPL_ACK says how far the holder's copy is on its disk, RESTORE looks for the
 * copies of a node's earlier stores. */
#include "core/err.h"
#include "cwire/cwire.h"
#include "cwire/wire.h"

int cw_decode_repl(st_bytes body, cw_repl *r)
{
    cw_rd rd = cw_rd_of(body);
    r->kind = cw_u8(&rd);
    r->flags = cw_u8(&rd);
    cw_fixed(&rd, r->store, CW_STORE_ID);
    r->boot = cw_u64(&rd);
    r->round = cw_u64(&rd);
    r->body = cw_blob(&rd);
    return rd.bad || rd.off != body.len || r->kind < CW_REPL_ROUND || r->kind > CW_REPL_RESTORE ||
                   (r->flags & ~CW_REPL_END)
               ? ST_EMALFORMED
               : 0;
}

size_t cw_encode_repl(const cw_repl *r, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, r->kind, 1);
    cw_putn(&w, r->flags, 1);
    cw_put(&w, r->store, CW_STORE_ID);
    cw_putn(&w, r->boot, 8);
    cw_putn(&w, r->round, 8);
    cw_put_blob(&w, r->body);
    return cw_wr_end(&w, CW_REPL, CW_F_IGNORABLE);
}

int cw_decode_repl_ack(st_bytes body, cw_repl_ack *a)
{
    cw_rd rd = cw_rd_of(body);
    a->boot = cw_u64(&rd);
    a->round = cw_u64(&rd);
    a->status = cw_u8(&rd);
    return rd.bad || rd.off != body.len || a->status > 1 ? ST_EMALFORMED : 0;
}

size_t cw_encode_repl_ack(const cw_repl_ack *a, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, a->boot, 8);
    cw_putn(&w, a->round, 8);
    cw_putn(&w, a->status, 1);
    return cw_wr_end(&w, CW_REPL_ACK, CW_F_IGNORABLE);
}

int cw_decode_restore(st_bytes body, cw_restore *r)
{
    cw_rd rd = cw_rd_of(body);
    r->op = cw_u8(&rd);
    cw_fixed(&rd, r->store, CW_STORE_ID);
    r->written_ms = (int64_t)cw_u64(&rd);
    r->sessions = cw_u64(&rd);
    return rd.bad || rd.off != body.len || r->op > CW_RESTORE_GET ? ST_EMALFORMED : 0;
}

size_t cw_encode_restore(const cw_restore *r, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, r->op, 1);
    cw_put(&w, r->store, CW_STORE_ID);
    cw_putn(&w, (uint64_t)r->written_ms, 8);
    cw_putn(&w, r->sessions, 8);
    return cw_wr_end(&w, CW_RESTORE, CW_F_IGNORABLE);
}

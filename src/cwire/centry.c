/* centry.c — Raft entry codec. */
#include "cwire/centry.h"
#include "core/err.h"
#include "cwire/wire.h"

static int read_op(cw_rd *r, ce_op *op)
{
    op->origin = cw_u64(r);
    op->seq = cw_u64(r);
    op->table = cw_u16(r);
    op->verb = cw_u16(r);
    uint32_t len = cw_u32(r);
    if (len > CE_MAX_OP) r->bad = 1;
    op->body = cw_span(r, r->bad ? 0 : len);
    return !r->bad;
}

int ce_decode_entry(st_bytes buf, ce_entry *e)
{
    cw_rd r = cw_rd_of(buf);
    const uint8_t *magic = cw_take(&r, 4);
    if (!magic || memcmp(magic, CE_MAGIC, 4) != 0) return ST_EMALFORMED;
    e->version = cw_u16(&r);
    e->flags = cw_u16(&r);
    e->hlc = cw_u64(&r);
    e->n = cw_u32(&r);
    if (r.bad || e->flags) return ST_EMALFORMED;
    if (e->version != CE_VERSION) return e->version > CE_VERSION ? ST_EVERSION : ST_EMALFORMED;
    uint32_t start = r.off;
    ce_op op;
    for (uint32_t i = 0; i < e->n; i++)
        if (!read_op(&r, &op)) return ST_EMALFORMED;
    /* libraft needs entry buffers in multiples of 8 bytes: up to 7 zero bytes of padding */
    if (buf.len - r.off >= 8) return ST_EMALFORMED;
    for (uint32_t i = r.off; i < buf.len; i++)
        if (buf.p[i]) return ST_EMALFORMED;
    e->ops.p = buf.p + start;
    e->ops.len = r.off - start;
    return 0;
}

int ce_op_next(const ce_entry *e, uint32_t *off, ce_op *op)
{
    if (*off >= e->ops.len) return 0;
    cw_rd r = cw_rd_of(e->ops);
    r.off = *off;
    if (!read_op(&r, op)) return 0;
    *off = r.off;
    return 1;
}

static void write_op(cw_wr *w, const ce_op *op)
{
    cw_putn(w, op->origin, 8);
    cw_putn(w, op->seq, 8);
    cw_putn(w, op->table, 2);
    cw_putn(w, op->verb, 2);
    cw_put_blob(w, op->body);
}

size_t ce_op_size(const ce_op *op)
{
    cw_wr w = {NULL, 0, 0};
    write_op(&w, op);
    return w.len;
}

size_t ce_encode_entry(uint64_t hlc, const ce_op *ops, uint32_t n, uint8_t *dst, size_t cap)
{
    cw_wr w = {dst, cap, 0};
    cw_put(&w, CE_MAGIC, 4);
    cw_putn(&w, CE_VERSION, 2);
    cw_putn(&w, 0, 2);
    cw_putn(&w, hlc, 8);
    cw_putn(&w, n, 4);
    for (uint32_t i = 0; i < n; i++)
        write_op(&w, &ops[i]);
    return w.len;
}

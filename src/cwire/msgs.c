/* msgs.c — ACK, route sync (CONTROL) and the data lane's RESUME and FWD batches.
 * docs/cluster.md §4.2-§4.4. */
#include "core/err.h"
#include "cwire/cwire.h"
#include "cwire/wire.h"

int cw_decode_ack(st_bytes body, cw_ack *a)
{
    cw_rd r = cw_rd_of(body);
    a->seq = cw_u64(&r);
    a->nnack = cw_u16(&r);
    a->nacks = cw_span(&r, (uint32_t)a->nnack * 8);
    return r.bad ? ST_EMALFORMED : 0;
}

uint64_t cw_ack_nack(const cw_ack *a, uint16_t i)
{
    cw_rd r = cw_rd_of(a->nacks);
    r.off = (uint32_t)i * 8;
    return cw_u64(&r);
}

size_t cw_encode_ack(uint64_t seq, const uint64_t *nacks, uint16_t nnack, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, seq, 8);
    cw_putn(&w, nnack, 2);
    for (uint16_t i = 0; i < nnack; i++)
        cw_putn(&w, nacks[i], 8);
    return cw_wr_end(&w, CW_ACK, 0);
}

int cw_decode_route_sync(uint8_t type, st_bytes body, cw_route_sync *s)
{
    cw_rd r = cw_rd_of(body);
    s->seq = cw_u64(&r);
    s->sync_id = cw_u64(&r);
    s->count = type == CW_ROUTE_SYNC_END ? cw_u32(&r) : 0;
    return r.bad ? ST_EMALFORMED : 0;
}

size_t cw_encode_route_sync(uint8_t type, const cw_route_sync *s, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, s->seq, 8);
    cw_putn(&w, s->sync_id, 8);
    if (type == CW_ROUTE_SYNC_END) cw_putn(&w, s->count, 4);
    return cw_wr_end(&w, type, 0);
}

static int read_route_op(cw_rd *r, cw_route_op *op)
{
    op->kind = cw_u8(r);
    op->filter = cw_str(r);
    op->group = (st_bytes){NULL, 0};
    op->members = 0;
    if (op->kind == CW_ROUTE_SHARE) {
        op->group = cw_str(r);
        op->members = cw_u32(r);
    }
    return !r->bad && op->kind >= CW_ROUTE_ADD && op->kind <= CW_ROUTE_SHARE &&
           op->filter.len > 0 && (op->kind != CW_ROUTE_SHARE || op->group.len > 0);
}

/* A batch body: u64 seq, u16 n, n items each checked by valid(); the items' span. */
static int read_batch(st_bytes body, int (*valid)(cw_rd *r), uint64_t *seq, uint16_t *n,
                      st_bytes *items)
{
    cw_rd r = cw_rd_of(body);
    *seq = cw_u64(&r);
    *n = cw_u16(&r);
    uint32_t start = r.off;
    for (uint16_t i = 0; i < *n; i++)
        if (!valid(&r)) return ST_EMALFORMED;
    if (r.bad) return ST_EMALFORMED;
    items->p = body.p + start;
    items->len = r.off - start;
    return 0;
}

static int valid_route_op(cw_rd *r)
{
    cw_route_op op;
    return read_route_op(r, &op);
}

int cw_decode_route_batch(st_bytes body, cw_route_batch *b)
{
    return read_batch(body, valid_route_op, &b->seq, &b->n, &b->ops);
}

int cw_route_next(const cw_route_batch *b, uint32_t *off, cw_route_op *op)
{
    if (*off >= b->ops.len) return 0;
    cw_rd r = cw_rd_of(b->ops);
    r.off = *off;
    if (!read_route_op(&r, op)) return 0;
    *off = r.off;
    return 1;
}

static void write_route_op(cw_wr *w, const cw_route_op *op)
{
    cw_putn(w, op->kind, 1);
    cw_put_str(w, op->filter);
    if (op->kind == CW_ROUTE_SHARE) {
        cw_put_str(w, op->group);
        cw_putn(w, op->members, 4);
    }
}

size_t cw_encode_route_batch(uint64_t seq, const cw_route_op *ops, uint16_t n, uint8_t *dst,
                             size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, seq, 8);
    cw_putn(&w, n, 2);
    for (uint16_t i = 0; i < n; i++)
        write_route_op(&w, &ops[i]);
    return cw_wr_end(&w, CW_ROUTE_BATCH, 0);
}

int cw_decode_resume(st_bytes body, cw_resume *v)
{
    cw_rd r = cw_rd_of(body);
    v->sender_boot = cw_u64(&r);
    v->last_seq = cw_u64(&r);
    return r.bad ? ST_EMALFORMED : 0;
}

size_t cw_encode_resume(const cw_resume *v, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, v->sender_boot, 8);
    cw_putn(&w, v->last_seq, 8);
    return cw_wr_end(&w, CW_RESUME, 0);
}

int cw_get_record(cw_rd *r, cw_record *rec)
{
    rec->kind = cw_u8(r);
    rec->m = cw_u8(r);
    rec->origin = cw_u64(r);
    rec->mid = cw_u64(r);
    rec->hlc = cw_u64(r);
    rec->expiry_ms = cw_u32(r);
    rec->topic = cw_str(r);
    rec->share = (rec->kind & CW_REC_SHARED) ? cw_str(r) : (st_bytes){NULL, 0};
    rec->props = cw_blob(r);
    rec->payload = cw_blob(r);
    return !r->bad && rec->kind && !(rec->kind & ~7) && !(rec->m & ~7) &&
           (rec->m & CW_MSG_QOS_MASK) != 3 && rec->topic.len > 0 &&
           (!(rec->kind & CW_REC_SHARED) || rec->share.len > 0);
}

static int valid_record(cw_rd *r)
{
    cw_record rec;
    return cw_get_record(r, &rec);
}

int cw_decode_fwd(st_bytes body, cw_fwd *f)
{
    return read_batch(body, valid_record, &f->first_seq, &f->n, &f->recs);
}

int cw_fwd_next(const cw_fwd *f, uint32_t *off, cw_record *rec)
{
    if (*off >= f->recs.len) return 0;
    cw_rd r = cw_rd_of(f->recs);
    r.off = *off;
    if (!cw_get_record(&r, rec)) return 0;
    *off = r.off;
    return 1;
}

void cw_put_record(cw_wr *w, const cw_record *rec)
{
    cw_putn(w, rec->kind, 1);
    cw_putn(w, rec->m, 1);
    cw_putn(w, rec->origin, 8);
    cw_putn(w, rec->mid, 8);
    cw_putn(w, rec->hlc, 8);
    cw_putn(w, rec->expiry_ms, 4);
    cw_put_str(w, rec->topic);
    if (rec->kind & CW_REC_SHARED) cw_put_str(w, rec->share);
    cw_put_blob(w, rec->props);
    cw_put_blob(w, rec->payload);
}

size_t cw_record_size(const cw_record *rec)
{
    cw_wr w = {NULL, 0, 0};
    cw_put_record(&w, rec);
    return w.len;
}

size_t cw_encode_fwd(uint64_t first_seq, const cw_record *recs, uint16_t n, uint8_t *dst,
                     size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, first_seq, 8);
    cw_putn(&w, n, 2);
    for (uint16_t i = 0; i < n; i++)
        cw_put_record(&w, &recs[i]);
    return cw_wr_end(&w, CW_FWD, 0);
}

int cw_decode_join_req(st_bytes body, cw_join_req *j)
{
    cw_rd r = cw_rd_of(body);
    j->req_id = cw_u64(&r);
    j->role = cw_u8(&r);
    return r.bad || j->role < CW_ROLE_CORE || j->role > CW_ROLE_REPLICANT ? ST_EMALFORMED : 0;
}

size_t cw_encode_join_req(const cw_join_req *j, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, j->req_id, 8);
    cw_putn(&w, j->role, 1);
    return cw_wr_end(&w, CW_JOIN_REQ, 0);
}

int cw_decode_leave_req(st_bytes body, cw_leave_req *l)
{
    cw_rd r = cw_rd_of(body);
    l->name = cw_str(&r);
    l->forced = cw_u8(&r);
    return r.bad || l->name.len == 0 || l->forced > 1 ? ST_EMALFORMED : 0;
}

size_t cw_encode_leave_req(const cw_leave_req *l, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_put_str(&w, l->name);
    cw_putn(&w, l->forced, 1);
    return cw_wr_end(&w, CW_LEAVE_REQ, 0);
}

int cw_decode_join_result(st_bytes body, cw_join_result *j)
{
    cw_rd r = cw_rd_of(body);
    j->req_id = cw_u64(&r);
    j->status = cw_u16(&r);
    j->leader_name = cw_str(&r);
    j->text = cw_str(&r);
    return r.bad ? ST_EMALFORMED : 0;
}

size_t cw_encode_join_result(const cw_join_result *j, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, j->req_id, 8);
    cw_putn(&w, j->status, 2);
    cw_put_str(&w, j->leader_name);
    cw_put_str(&w, j->text);
    return cw_wr_end(&w, CW_JOIN_RESULT, 0);
}

/* move.c — session moves between nodes (docs/cluster.md §10.3): the MOVE_* frames and the
 * session image they carry (a list of tagged entries). */
#include "core/err.h"
#include "cwire/cwire.h"
#include "cwire/wire.h"

int cw_decode_move(st_bytes body, cw_move *m)
{
    cw_rd r = cw_rd_of(body);
    m->cid = cw_str(&r);
    m->hlc = cw_u64(&r);
    m->status = cw_u8(&r);
    m->image = cw_blob(&r);
    return r.bad || m->cid.len == 0 ? ST_EMALFORMED : 0;
}

size_t cw_encode_move(uint8_t type, const cw_move *m, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_put_str(&w, m->cid);
    cw_putn(&w, m->hlc, 8);
    cw_putn(&w, m->status, 1);
    cw_put_blob(&w, m->image);
    return cw_wr_end(&w, type, 0);
}

/* The delivery fields of a queued or inflight entry: qos, retain, sub_id. */
static void put_item(cw_wr *w, const cw_sess_ent *e)
{
    cw_putn(w, e->qos, 1);
    cw_putn(w, e->retain, 1);
    cw_putn(w, e->sub_id, 4);
    cw_put_record(w, &e->rec);
}

static int get_item(cw_rd *r, cw_sess_ent *e)
{
    e->qos = cw_u8(r);
    e->retain = cw_u8(r);
    e->sub_id = cw_u32(r);
    return cw_get_record(r, &e->rec) && e->qos <= 2 && e->retain <= 1;
}

size_t cw_encode_sess_ent(const cw_sess_ent *e, uint8_t *dst, size_t cap)
{
    cw_wr w = {dst, cap, 0};
    cw_putn(&w, e->tag, 1);
    switch (e->tag) {
    case CW_SE_HEAD:
        cw_putn(&w, e->expiry_ms, 8);
        cw_putn(&w, e->next_pid, 2);
        cw_putn(&w, e->in_ms, 4);
        break;
    case CW_SE_SUB:
        cw_put_str(&w, e->filter);
        cw_putn(&w, e->qos, 1);
        cw_putn(&w, e->flags, 1);
        cw_putn(&w, e->sub_id, 4);
        break;
    case CW_SE_REL:
        cw_putn(&w, e->pid, 2);
        break;
    case CW_SE_INFLIGHT:
        cw_putn(&w, e->pid, 2);
        cw_putn(&w, e->state, 1);
        if (e->state == 1) put_item(&w, e); /* 2: PUBREC came, only PUBREL is owed */
        break;
    case CW_SE_QUEUE:
        put_item(&w, e);
        break;
    case CW_SE_WILL:
        cw_putn(&w, e->delay_s, 4);
        cw_putn(&w, e->in_ms, 4);
        cw_put_record(&w, &e->rec);
        break;
    default:
        break;
    }
    return w.len;
}

static int get_entry(cw_rd *r, cw_sess_ent *e)
{
    memset(e, 0, sizeof *e);
    e->tag = cw_u8(r);
    switch (e->tag) {
    case CW_SE_HEAD:
        e->expiry_ms = cw_u64(r);
        e->next_pid = cw_u16(r);
        e->in_ms = cw_u32(r);
        return !r->bad;
    case CW_SE_SUB:
        e->filter = cw_str(r);
        e->qos = cw_u8(r);
        e->flags = cw_u8(r);
        e->sub_id = cw_u32(r);
        return !r->bad && e->filter.len > 0 && e->qos <= 2;
    case CW_SE_REL:
        e->pid = cw_u16(r);
        return !r->bad && e->pid;
    case CW_SE_INFLIGHT:
        e->pid = cw_u16(r);
        e->state = cw_u8(r);
        if (e->state == 2) return !r->bad && e->pid;
        return e->state == 1 && get_item(r, e) && e->pid;
    case CW_SE_QUEUE:
        return get_item(r, e);
    case CW_SE_WILL:
        e->delay_s = cw_u32(r);
        e->in_ms = cw_u32(r);
        return cw_get_record(r, &e->rec);
    default:
        return 0;
    }
}

int cw_sess_next(st_bytes image, uint32_t *off, cw_sess_ent *e)
{
    if (*off >= image.len) return 0;
    cw_rd r = cw_rd_of(image);
    r.off = *off;
    if (!get_entry(&r, e)) return ST_EMALFORMED;
    *off = r.off;
    return 1;
}

/* tail.c — replicants tailing a core's applied log (docs/cluster.md §4.3, §5.5): TAIL_REQ,
 * LOG_ENTRIES and TAIL_SNAPSHOT on the CONTROL stream. */
#include "core/err.h"
#include "cwire/cwire.h"
#include "cwire/wire.h"

int cw_decode_tail_req(st_bytes body, cw_tail_req *t)
{
    cw_rd r = cw_rd_of(body);
    t->from = cw_u64(&r);
    cw_fixed(&r, t->uuid, CW_UUID);
    return r.bad || t->from == 0 ? ST_EMALFORMED : 0;
}

size_t cw_encode_tail_req(const cw_tail_req *t, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, t->from, 8);
    cw_put(&w, t->uuid, CW_UUID);
    return cw_wr_end(&w, CW_TAIL_REQ, 0);
}

/* Entries: u16 n, n × (u64 index, blob); indexes strictly increasing. */
int cw_decode_log_entries(st_bytes body, cw_log_entries *e)
{
    cw_rd r = cw_rd_of(body);
    e->n = cw_u16(&r);
    uint32_t start = r.off;
    uint64_t last = 0;
    for (uint16_t i = 0; i < e->n && !r.bad; i++) {
        uint64_t index = cw_u64(&r);
        cw_blob(&r);
        if (index <= last) r.bad = 1;
        last = index;
    }
    if (r.bad || r.off != body.len) return ST_EMALFORMED;
    e->items = (st_bytes){body.p + start, r.off - start};
    return 0;
}

int cw_log_next(const cw_log_entries *e, uint32_t *off, cw_log_entry *out)
{
    if (*off >= e->items.len) return 0;
    cw_rd r = cw_rd_of(e->items);
    r.off = *off;
    out->index = cw_u64(&r);
    out->entry = cw_blob(&r);
    if (r.bad) return 0;
    *off = r.off;
    return 1;
}

size_t cw_encode_log_entries(const cw_log_entry *e, uint16_t n, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, n, 2);
    for (uint16_t i = 0; i < n; i++) {
        cw_putn(&w, e[i].index, 8);
        cw_put_blob(&w, e[i].entry);
    }
    return cw_wr_end(&w, CW_LOG_ENTRIES, 0);
}

int cw_decode_tail_snapshot(st_bytes body, cw_tail_snapshot *s)
{
    cw_rd r = cw_rd_of(body);
    s->index = cw_u64(&r);
    cw_fixed(&r, s->uuid, CW_UUID);
    s->image = cw_blob(&r);
    return r.bad || r.off != body.len ? ST_EMALFORMED : 0;
}

size_t cw_encode_tail_snapshot(const cw_tail_snapshot *s, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, s->index, 8);
    cw_put(&w, s->uuid, CW_UUID);
    cw_put_blob(&w, s->image);
    return cw_wr_end(&w, CW_TAIL_SNAPSHOT, 0);
}

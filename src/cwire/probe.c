/* probe.c — questions between nodes: the indirect probe (docs/cluster.md §9.4: before the
 * leader declares a node it cannot reach down, it asks the other members whether they can,
 * PROBE_REQ / PROBE_RESP), and the API's questions to every node (ASK / ANSWER). */
#include "core/err.h"
#include "cwire/cwire.h"
#include "cwire/wire.h"

int cw_decode_probe(uint8_t type, st_bytes body, cw_probe *p)
{
    cw_rd r = cw_rd_of(body);
    p->id = cw_u64(&r);
    p->node = cw_str(&r);
    p->reachable = type == CW_PROBE_RESP ? cw_u8(&r) : 0;
    p->since_ms = type == CW_PROBE_RESP ? cw_u32(&r) : 0;
    return r.bad || r.off != body.len || p->node.len == 0 || p->reachable > 1 ? ST_EMALFORMED : 0;
}

size_t cw_encode_probe(uint8_t type, const cw_probe *p, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, p->id, 8);
    cw_put_str(&w, p->node);
    if (type == CW_PROBE_RESP) {
        cw_putn(&w, p->reachable, 1);
        cw_putn(&w, p->since_ms, 4);
    }
    return cw_wr_end(&w, type, 0);
}

int cw_decode_ask(uint8_t type, st_bytes body, cw_ask *a)
{
    cw_rd r = cw_rd_of(body);
    a->id = cw_u64(&r);
    a->what = cw_u8(&r);
    a->status = type == CW_ANSWER ? cw_u8(&r) : 0;
    a->body = cw_blob(&r);
    return r.bad || r.off != body.len ? ST_EMALFORMED : 0;
}

size_t cw_encode_ask(uint8_t type, const cw_ask *a, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, a->id, 8);
    cw_putn(&w, a->what, 1);
    if (type == CW_ANSWER) cw_putn(&w, a->status, 1);
    cw_put_blob(&w, a->body);
    return cw_wr_end(&w, type, CW_F_IGNORABLE);
}

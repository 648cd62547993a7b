/* propose.c — writes submitted on a node that does not lead (docs/cluster.md §5.4): PROPOSE
 * carries ops to the leader, PROPOSE_RESULT says what became of them. */
#include "core/err.h"
#include "cwire/cwire.h"
#include "cwire/wire.h"

int cw_decode_propose(st_bytes body, cw_propose *p)
{
    cw_rd r = cw_rd_of(body);
    p->req_id = cw_u64(&r);
    p->entry = cw_blob(&r);
    return r.bad || r.off != body.len || p->entry.len == 0 ? ST_EMALFORMED : 0;
}

size_t cw_encode_propose(const cw_propose *p, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, p->req_id, 8);
    cw_put_blob(&w, p->entry);
    return cw_wr_end(&w, CW_PROPOSE, 0);
}

int cw_decode_propose_result(st_bytes body, cw_propose_result *p)
{
    cw_rd r = cw_rd_of(body);
    p->req_id = cw_u64(&r);
    p->status = cw_u16(&r);
    p->leader_name = cw_str(&r);
    return r.bad || r.off != body.len || p->status > CW_PROP_INVALID ? ST_EMALFORMED : 0;
}

size_t cw_encode_propose_result(const cw_propose_result *p, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, p->req_id, 8);
    cw_putn(&w, p->status, 2);
    cw_put_str(&w, p->leader_name);
    return cw_wr_end(&w, CW_PROPOSE_RESULT, 0);
}

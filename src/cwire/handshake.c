/* handshake.c — HELLO, WELCOME, PROOF, READY, REFUSE, and the small link frames (PING,
 * PONG, GOODBYE). docs/cluster.md §3.2, §4.2. */
#include "core/err.h"
#include "cwire/cwire.h"
#include "cwire/wire.h"

static int done(const cw_rd *r)
{
    return r->bad ? ST_EMALFORMED : 0;
}

static int valid_role(uint8_t role)
{
    return role == CW_ROLE_CORE || role == CW_ROLE_REPLICANT;
}

int cw_decode_hello(st_bytes body, cw_hello *h)
{
    cw_rd r = cw_rd_of(body);
    const uint8_t *magic = cw_take(&r, 4);
    if (!magic || memcmp(magic, CW_MAGIC, 4) != 0) return ST_EMALFORMED;
    h->ver_min = cw_u8(&r);
    h->ver_max = cw_u8(&r);
    h->stream = cw_u8(&r);
    h->role = cw_u8(&r);
    h->lane = cw_u16(&r);
    h->flags = cw_u16(&r);
    h->boot = cw_u64(&r);
    h->incarnation = cw_u64(&r);
    h->node_id = cw_u64(&r);
    cw_fixed(&r, h->uuid, CW_UUID);
    cw_fixed(&r, h->nonce, CW_NONCE);
    h->cluster_name = cw_str(&r);
    h->node_name = cw_str(&r);
    h->addr = cw_str(&r);
    h->ext = cw_ext_read(&r);
    if (r.bad || h->ver_min > h->ver_max || h->stream < CW_S_CONTROL || h->stream > CW_S_BULK ||
        !valid_role(h->role) || h->node_name.len == 0)
        return ST_EMALFORMED;
    return 0;
}

size_t cw_encode_hello(const cw_hello *h, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_put(&w, CW_MAGIC, 4);
    cw_putn(&w, h->ver_min, 1);
    cw_putn(&w, h->ver_max, 1);
    cw_putn(&w, h->stream, 1);
    cw_putn(&w, h->role, 1);
    cw_putn(&w, h->lane, 2);
    cw_putn(&w, h->flags, 2);
    cw_putn(&w, h->boot, 8);
    cw_putn(&w, h->incarnation, 8);
    cw_putn(&w, h->node_id, 8);
    cw_put(&w, h->uuid, CW_UUID);
    cw_put(&w, h->nonce, CW_NONCE);
    cw_put_str(&w, h->cluster_name);
    cw_put_str(&w, h->node_name);
    cw_put_str(&w, h->addr);
    cw_ext_write(&w, h->ext);
    return cw_wr_end(&w, CW_HELLO, 0);
}

int cw_decode_welcome(st_bytes body, cw_welcome *v)
{
    cw_rd r = cw_rd_of(body);
    v->ver = cw_u8(&r);
    v->role = cw_u8(&r);
    v->flags = cw_u16(&r);
    v->boot = cw_u64(&r);
    v->incarnation = cw_u64(&r);
    v->node_id = cw_u64(&r);
    cw_fixed(&r, v->uuid, CW_UUID);
    cw_fixed(&r, v->nonce, CW_NONCE);
    cw_fixed(&r, v->proof, CW_PROOF);
    v->cluster_name = cw_str(&r);
    v->node_name = cw_str(&r);
    v->addr = cw_str(&r);
    v->leader_name = cw_str(&r);
    v->members = cw_u16(&r);
    v->ext = cw_ext_read(&r);
    if (r.bad || v->ver == 0 || !valid_role(v->role) || v->node_name.len == 0) return ST_EMALFORMED;
    return 0;
}

size_t cw_encode_welcome(const cw_welcome *v, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, v->ver, 1);
    cw_putn(&w, v->role, 1);
    cw_putn(&w, v->flags, 2);
    cw_putn(&w, v->boot, 8);
    cw_putn(&w, v->incarnation, 8);
    cw_putn(&w, v->node_id, 8);
    cw_put(&w, v->uuid, CW_UUID);
    cw_put(&w, v->nonce, CW_NONCE);
    cw_put(&w, v->proof, CW_PROOF);
    cw_put_str(&w, v->cluster_name);
    cw_put_str(&w, v->node_name);
    cw_put_str(&w, v->addr);
    cw_put_str(&w, v->leader_name);
    cw_putn(&w, v->members, 2);
    cw_ext_write(&w, v->ext);
    return cw_wr_end(&w, CW_WELCOME, 0);
}

int cw_decode_proof(st_bytes body, uint8_t proof[CW_PROOF])
{
    cw_rd r = cw_rd_of(body);
    cw_fixed(&r, proof, CW_PROOF);
    return done(&r);
}

size_t cw_encode_proof(const uint8_t proof[CW_PROOF], uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_put(&w, proof, CW_PROOF);
    return cw_wr_end(&w, CW_PROOF_MSG, 0);
}

int cw_decode_ready(st_bytes body, st_bytes *ext)
{
    cw_rd r = cw_rd_of(body);
    *ext = cw_ext_read(&r);
    return done(&r);
}

size_t cw_encode_ready(st_bytes ext, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_ext_write(&w, ext);
    return cw_wr_end(&w, CW_READY, 0);
}

int cw_decode_refuse(st_bytes body, cw_refuse *v)
{
    cw_rd r = cw_rd_of(body);
    v->code = cw_u16(&r);
    v->text = cw_str(&r);
    return done(&r);
}

size_t cw_encode_refuse(const cw_refuse *v, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, v->code, 2);
    cw_put_str(&w, v->text);
    return cw_wr_end(&w, CW_REFUSE, 0);
}

int cw_decode_u64(st_bytes body, uint64_t *v)
{
    cw_rd r = cw_rd_of(body);
    *v = cw_u64(&r);
    return done(&r);
}

size_t cw_encode_u64(uint8_t type, uint64_t v, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, v, 8);
    return cw_wr_end(&w, type, 0);
}

int cw_decode_goodbye(st_bytes body, cw_goodbye *g)
{
    cw_rd r = cw_rd_of(body);
    g->reason = cw_u8(&r);
    g->text = cw_str(&r);
    if (g->reason < CW_BYE_SHUTDOWN || g->reason > CW_BYE_REMOVED) return ST_EMALFORMED;
    return done(&r);
}

size_t cw_encode_goodbye(const cw_goodbye *g, uint8_t *dst, size_t cap)
{
    cw_wr w = cw_wr_begin(dst, cap);
    cw_putn(&w, g->reason, 1);
    cw_put_str(&w, g->text);
    return cw_wr_end(&w, CW_GOODBYE, 0);
}

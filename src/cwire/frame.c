/* frame.c — frame boundaries, type names, extension lists. */
#include "cwire/cwire.h"
#include "core/err.h"
#include "cwire/wire.h"

long cw_frame_decode(const uint8_t *p, size_t n, uint32_t max_len, cw_frame *f)
{
    if (n < 4) return 0;
    uint32_t len = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (len < 2) return ST_EMALFORMED;
    if (len > max_len) return ST_ETOOLARGE;
    if (n - 4 < len) return 0;
    f->type = p[4];
    f->flags = p[5];
    if (f->flags & ~CW_F_IGNORABLE) return ST_EMALFORMED; /* LZ4 and the rest: reserved */
    f->body.p = p + 6;
    f->body.len = len - 2;
    return (long)len + 4;
}

static const char *const names[] = {
    [CW_HELLO] = "HELLO",
    [CW_WELCOME] = "WELCOME",
    [CW_PROOF_MSG] = "PROOF",
    [CW_READY] = "READY",
    [CW_REFUSE] = "REFUSE",
    [CW_PING] = "PING",
    [CW_PONG] = "PONG",
    [CW_ACK] = "ACK",
    [CW_GOODBYE] = "GOODBYE",
    [CW_ROUTE_SYNC_BEGIN] = "ROUTE_SYNC_BEGIN",
    [CW_ROUTE_BATCH] = "ROUTE_BATCH",
    [CW_ROUTE_SYNC_END] = "ROUTE_SYNC_END",
    [CW_PROPOSE] = "PROPOSE",
    [CW_PROPOSE_RESULT] = "PROPOSE_RESULT",
    [CW_JOIN_REQ] = "JOIN_REQ",
    [CW_LEAVE_REQ] = "LEAVE_REQ",
    [CW_JOIN_RESULT] = "JOIN_RESULT",
    [CW_TAIL_REQ] = "TAIL_REQ",
    [CW_LOG_ENTRIES] = "LOG_ENTRIES",
    [CW_TAIL_SNAPSHOT] = "TAIL_SNAPSHOT",
    [CW_PROBE_REQ] = "PROBE_REQ",
    [CW_PROBE_RESP] = "PROBE_RESP",
    [CW_ASK] = "ASK",
    [CW_ANSWER] = "ANSWER",
    [CW_REPL] = "REPL",
    [CW_REPL_ACK] = "REPL_ACK",
    [CW_RESTORE] = "RESTORE",
    [CW_MOVE_BEGIN] = "MOVE_BEGIN",
    [CW_MOVE_STATE] = "MOVE_STATE",
    [CW_MOVE_END] = "MOVE_END",
    [CW_MOVE_PENDING] = "MOVE_PENDING",
    [CW_MOVE_OFFER] = "MOVE_OFFER",
    [CW_RESUME] = "RESUME",
    [CW_FWD] = "FWD",
};

int cw_type_known(uint8_t type)
{
    return type < sizeof names / sizeof names[0] && names[type] != NULL;
}

const char *cw_type_name(uint8_t type)
{
    return cw_type_known(type) ? names[type] : "unknown";
}

const char *cw_refuse_text(uint16_t code)
{
    switch (code) {
    case CW_REFUSE_COOKIE:
        return "cookie mismatch (node.cookie differs)";
    case CW_REFUSE_VERSION:
        return "no common protocol version";
    case CW_REFUSE_CLUSTER_NAME:
        return "cluster.name differs";
    case CW_REFUSE_NOT_MEMBER:
        return "not a member of this cluster";
    case CW_REFUSE_OTHER_CLUSTER:
        return "member of another cluster";
    case CW_REFUSE_STALE_BOOT:
        return "stale process (a newer one of the same node is connected)";
    case CW_REFUSE_SHUTTING_DOWN:
        return "shutting down";
    case CW_REFUSE_PROTOCOL:
        return "protocol error";
    default:
        return "refused";
    }
}

st_bytes cw_ext_read(cw_rd *r)
{
    uint32_t start = r->off;
    uint16_t n = cw_u16(r);
    for (uint16_t i = 0; i < n && !r->bad; i++) {
        cw_u16(r);
        cw_str(r);
    }
    st_bytes ext = {NULL, 0};
    if (!r->bad) {
        ext.p = r->p + start;
        ext.len = r->off - start;
    }
    return ext;
}

void cw_ext_write(cw_wr *w, st_bytes ext)
{
    if (ext.len < 2)
        cw_putn(w, 0, 2);
    else
        cw_put(w, ext.p, ext.len);
}

int cw_ext_next(st_bytes ext, uint32_t *off, cw_ext *e)
{
    if (ext.len < 2) return 0;
    cw_rd r = cw_rd_of(ext);
    uint16_t n = cw_u16(&r);
    if (*off == 0) *off = 2;
    r.off = *off;
    if (r.off >= ext.len || n == 0) return 0;
    e->tag = cw_u16(&r);
    e->value = cw_str(&r);
    if (r.bad) return 0;
    *off = r.off;
    return 1;
}

size_t cw_ext_put(uint8_t *buf, size_t len, size_t cap, uint16_t tag, st_bytes value)
{
    if (len < 2) {
        if (cap < 2) return 0;
        buf[0] = buf[1] = 0;
        len = 2;
    }
    size_t need = len + 4 + value.len;
    uint16_t n = (uint16_t)(buf[0] << 8 | buf[1]);
    if (need > cap || n == UINT16_MAX || value.len > UINT16_MAX) return 0;
    cw_wr w = {buf, cap, len};
    cw_putn(&w, tag, 2);
    cw_put_str(&w, value);
    n++;
    buf[0] = (uint8_t)(n >> 8);
    buf[1] = (uint8_t)n;
    return w.len;
}

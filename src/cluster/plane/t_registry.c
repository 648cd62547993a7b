/* t_registry.c — the client-id registry table (registry.h). */
#include "cluster/plane/registry.h"
#include "core/err.h"
#include "core/strmap.h"
#include "cwire/wire.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KICKS 65536 /* noted and not yet taken; beyond, the oldest are dropped */

struct st_registry {
    st_strmap *rows; /* cid → st_reg_row* */
    st_reg_kick *kicks;
    size_t nkicks, capkicks;
};

typedef struct reg_op {
    st_bytes cid;
    uint64_t node_id, incarnation, hlc;
} reg_op;

static int decode(uint16_t verb, st_bytes body, reg_op *op)
{
    cw_rd r = cw_rd_of(body);
    memset(op, 0, sizeof *op);
    if (verb != ST_V_PURGE) op->cid = cw_str(&r);
    op->node_id = cw_u64(&r);
    if (verb != ST_V_UNREG) op->incarnation = cw_u64(&r);
    if (verb != ST_V_PURGE) op->hlc = cw_u64(&r);
    int cid_ok = verb == ST_V_PURGE || op->cid.len > 0;
    return verb >= ST_V_REG && verb <= ST_V_PURGE && !r.bad && r.off == body.len && cid_ok;
}

static void *create(void)
{
    st_registry *r = calloc(1, sizeof *r);
    if (r && !(r->rows = st_strmap_new())) {
        free(r);
        return NULL;
    }
    return r;
}

static void clear_rows(st_registry *r)
{
    size_t it = 0;
    void *v;
    while (st_strmap_next(r->rows, &it, NULL, NULL, &v))
        free(v);
    st_strmap_free(r->rows);
    r->rows = st_strmap_new();
}

static void destroy(void *st)
{
    st_registry *r = st;
    clear_rows(r);
    st_strmap_free(r->rows);
    for (size_t i = 0; i < r->nkicks; i++)
        free(r->kicks[i].cid);
    free(r->kicks);
    free(r);
}

static int validate(uint16_t verb, st_bytes body)
{
    reg_op op;
    return decode(verb, body, &op) ? ST_OP_OK : ST_OP_INVALID;
}

static void note_kick(st_registry *r, st_bytes cid, uint64_t node_id, uint64_t hlc)
{
    if (r->nkicks == r->capkicks) {
        size_t nc = r->capkicks ? r->capkicks * 2 : 16;
        st_reg_kick *k = nc <= MAX_KICKS ? realloc(r->kicks, nc * sizeof *k) : NULL;
        if (!k) return; /* not noted: the old connection stays until it goes by itself */
        r->kicks = k;
        r->capkicks = nc;
    }
    char *s = malloc(cid.len + 1);
    if (!s) return;
    memcpy(s, cid.p, cid.len);
    s[cid.len] = 0;
    r->kicks[r->nkicks++] = (st_reg_kick){s, cid.len, node_id, hlc};
}

/* Does (hlc, node) beat the row's? The clock first; equal clocks (two nodes, one ms, one
 * counter) by node id, so every node decides the same. */
static int newer(const reg_op *op, const st_reg_row *row)
{
    return op->hlc != row->hlc ? op->hlc > row->hlc : op->node_id > row->node_id;
}

static int apply_reg(st_registry *r, const reg_op *op)
{
    const char *k = (const char *)op->cid.p;
    st_reg_row *row = st_strmap_get(r->rows, k, op->cid.len);
    /* The same node's registration: again (maybe re-registered), a client that connected to
     * it again, or a session its new process recovered from a disk that lacked what its
     * earlier process registered (a crash within wal_sync_interval). The session is on
     * that node either way: nobody to kick; the row keeps the newer clock and the later
     * incarnation (a purge of the earlier one does not end it), in any apply order. */
    if (row && row->node_id == op->node_id) {
        if (op->hlc > row->hlc) row->hlc = op->hlc;
        if (op->incarnation > row->incarnation) row->incarnation = op->incarnation;
        return ST_OP_OK;
    }
    if (row && !newer(op, row)) {
        note_kick(r, op->cid, op->node_id, op->hlc); /* its proposer's connection lost */
        return ST_OP_STALE;
    }
    if (!row) {
        if (!(row = calloc(1, sizeof *row))) return ST_OP_FULL;
        if (st_strmap_put(r->rows, k, op->cid.len, row) < 0) {
            free(row);
            return ST_OP_FULL;
        }
    } else {
        note_kick(r, op->cid, row->node_id, row->hlc); /* its connection is older */
    }
    *row = (st_reg_row){op->node_id, op->incarnation, op->hlc};
    return ST_OP_OK;
}

static int apply(void *st, uint16_t verb, st_bytes body, const st_fsm_ctx *cx)
{
    st_registry *r = st;
    reg_op op;
    (void)cx;
    if (!decode(verb, body, &op)) return ST_OP_INVALID;
    if (verb == ST_V_REG) return apply_reg(r, &op);
    if (verb == ST_V_UNREG) {
        st_reg_row *row = st_strmap_get(r->rows, (const char *)op.cid.p, op.cid.len);
        if (!row || row->node_id != op.node_id || row->hlc != op.hlc) return ST_OP_STALE;
        free(st_strmap_del(r->rows, (const char *)op.cid.p, op.cid.len));
        return ST_OP_OK;
    }
    size_t it = 0; /* PURGE: deleting during the walk is allowed (strmap.h) */
    const char *k;
    size_t klen;
    void *v;
    while (st_strmap_next(r->rows, &it, &k, &klen, &v)) {
        st_reg_row *row = v;
        if (row->node_id == op.node_id && row->incarnation <= op.incarnation)
            free(st_strmap_del(r->rows, k, klen));
    }
    return ST_OP_OK;
}

static void snapshot(void *st, st_buf *out)
{
    st_registry *r = st;
    st_buf_be(out, st_strmap_count(r->rows), 4);
    size_t it = 0;
    const char *k;
    size_t klen;
    void *v;
    while (st_strmap_next(r->rows, &it, &k, &klen, &v)) {
        const st_reg_row *row = v;
        st_buf_be(out, klen, 2);
        st_buf_put(out, k, klen);
        st_buf_be(out, row->node_id, 8);
        st_buf_be(out, row->incarnation, 8);
        st_buf_be(out, row->hlc, 8);
    }
}

static int restore(void *st, st_bytes in)
{
    st_registry *r = st;
    clear_rows(r);
    cw_rd rd = cw_rd_of(in);
    uint32_t n = cw_u32(&rd);
    for (uint32_t i = 0; i < n && !rd.bad; i++) {
        st_bytes cid = cw_str(&rd);
        st_reg_row *row = calloc(1, sizeof *row);
        if (!row) return ST_ENOMEM;
        row->node_id = cw_u64(&rd); /* one after the other: reads in order */
        row->incarnation = cw_u64(&rd);
        row->hlc = cw_u64(&rd);
        if (rd.bad || !cid.len || st_strmap_put(r->rows, (const char *)cid.p, cid.len, row) < 0) {
            free(row);
            return ST_EMALFORMED;
        }
    }
    return rd.bad || rd.off != in.len ? ST_EMALFORMED : 0;
}

const st_rtable_ops st_table_registry = {ST_T_REGISTRY, "registry", 1,        create, destroy,
                                         validate,      apply,      snapshot, restore};

const st_reg_row *st_registry_get(const st_registry *r, const char *cid, size_t len)
{
    return st_strmap_get(r->rows, cid, len);
}

size_t st_registry_count(const st_registry *r)
{
    return st_strmap_count(r->rows);
}

st_reg_kick *st_registry_kicks(st_registry *r, size_t *n)
{
    st_reg_kick *k = r->kicks;
    *n = r->nkicks;
    r->kicks = NULL;
    r->nkicks = r->capkicks = 0;
    return k;
}

void st_op_reg(st_buf *b, const char *cid, size_t len, uint64_t node_id, uint64_t incarnation,
               uint64_t hlc)
{
    st_buf_be(b, len, 2);
    st_buf_put(b, cid, len);
    st_buf_be(b, node_id, 8);
    st_buf_be(b, incarnation, 8);
    st_buf_be(b, hlc, 8);
}

void st_op_unreg(st_buf *b, const char *cid, size_t len, uint64_t node_id, uint64_t hlc)
{
    st_buf_be(b, len, 2);
    st_buf_put(b, cid, len);
    st_buf_be(b, node_id, 8);
    st_buf_be(b, hlc, 8);
}

void st_op_purge(st_buf *b, uint64_t node_id, uint64_t incarnation)
{
    st_buf_be(b, node_id, 8);
    st_buf_be(b, incarnation, 8);
}

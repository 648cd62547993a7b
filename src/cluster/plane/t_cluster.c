/* t_cluster.c — the `cluster` table: one row, written once by INIT when a cluster forms. */
#include "cluster/plane/tables.h"
#include "core/err.h"
#include "cwire/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct init_op {
    uint8_t uuid[16];
    st_bytes name;
    uint16_t feature;
} init_op;

static int decode_init(st_bytes body, init_op *op)
{
    cw_rd r = cw_rd_of(body);
    cw_fixed(&r, op->uuid, 16);
    op->name = cw_str(&r);
    op->feature = cw_u16(&r);
    return !r.bad && r.off == body.len && op->name.len > 0 && op->name.len < 128;
}

static void *create(void)
{
    return calloc(1, sizeof(st_cluster_row));
}

static int validate(uint16_t verb, st_bytes body)
{
    init_op op;
    return verb == ST_V_INIT && decode_init(body, &op) ? ST_OP_OK : ST_OP_INVALID;
}

static int apply(void *st, uint16_t verb, st_bytes body, const st_fsm_ctx *cx)
{
    st_cluster_row *row = st;
    init_op op;
    if (verb != ST_V_INIT || !decode_init(body, &op)) return ST_OP_INVALID;
    if (row->init) return memcmp(row->uuid, op.uuid, 16) == 0 ? ST_OP_OK : ST_OP_CONFLICT;
    row->init = 1;
    memcpy(row->uuid, op.uuid, 16);
    snprintf(row->name, sizeof row->name, "%.*s", (int)op.name.len, op.name.p);
    row->created_hlc = cx->hlc;
    row->feature = op.feature;
    return ST_OP_OK;
}

static void snapshot(void *st, st_buf *out)
{
    const st_cluster_row *row = st;
    st_buf_be(out, (uint64_t)row->init, 1);
    st_buf_put(out, row->uuid, 16);
    st_buf_str(out, row->name);
    st_buf_be(out, row->created_hlc, 8);
    st_buf_be(out, row->feature, 2);
}

static int restore(void *st, st_bytes in)
{
    st_cluster_row *row = st;
    cw_rd r = cw_rd_of(in);
    row->init = cw_u8(&r);
    cw_fixed(&r, row->uuid, 16);
    st_bytes name = cw_str(&r);
    row->created_hlc = cw_u64(&r);
    row->feature = cw_u16(&r);
    if (r.bad || r.off != in.len || name.len >= sizeof row->name) return ST_EMALFORMED;
    snprintf(row->name, sizeof row->name, "%.*s", (int)name.len, name.p);
    return 0;
}

const st_rtable_ops st_table_cluster = {ST_T_CLUSTER, "cluster", 1,        create, free,
                                        validate,     apply,     snapshot, restore};

void st_op_init(st_buf *b, const uint8_t uuid[16], const char *name, uint16_t feature)
{
    st_buf_put(b, uuid, 16);
    st_buf_str(b, name);
    st_buf_be(b, feature, 2);
}

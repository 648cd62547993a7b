/* t_nodes.c — the `nodes` table: membership, slots and incarnations (docs/cluster.md §5.3,
 * §5.6). Incarnations fence node-owned state: BOOT and DOWN bump them, and a DOWN about an
 * older incarnation is stale (the node has restarted since). */
#include "cluster/plane/tables.h"
#include "core/err.h"
#include "cwire/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct node_op {
    st_bytes name, addr;
    uint8_t role, forced;
    uint64_t node_id, boot, incarnation;
} node_op;

static int decode(uint16_t verb, st_bytes body, node_op *op)
{
    cw_rd r = cw_rd_of(body);
    memset(op, 0, sizeof *op);
    op->name = cw_str(&r);
    switch (verb) {
    case ST_V_JOIN:
        op->role = cw_u8(&r);
        op->node_id = cw_u64(&r);
        op->addr = cw_str(&r);
        op->boot = cw_u64(&r);
        if (op->role < 1 || op->role > 2 || op->addr.len >= 256) return 0;
        break;
    case ST_V_JOINED:
        break;
    case ST_V_BOOT:
        op->boot = cw_u64(&r);
        break;
    case ST_V_DOWN:
        op->incarnation = cw_u64(&r);
        break;
    case ST_V_LEAVE:
        op->forced = cw_u8(&r);
        break;
    default:
        return 0;
    }
    return !r.bad && r.off == body.len && op->name.len > 0 && op->name.len < 256;
}

static st_node_row *find(st_nodes *t, st_bytes name)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (strlen(t->rows[i].name) == name.len && memcmp(t->rows[i].name, name.p, name.len) == 0)
            return &t->rows[i];
    return NULL;
}

const st_node_row *st_nodes_find(const st_nodes *t, const char *name)
{
    st_bytes b = {(const uint8_t *)name, (uint32_t)strlen(name)};
    return find((st_nodes *)t, b);
}

const char *st_node_state_name(int state)
{
    static const char *const names[] = {"?", "joining", "up", "down", "left"};
    return state >= 1 && state <= 4 ? names[state] : "?";
}

static int free_slot(const st_nodes *t)
{
    uint8_t used[ST_MAX_SLOTS] = {0};
    for (uint32_t i = 0; i < t->n; i++)
        if (t->rows[i].slot != ST_NO_SLOT) used[t->rows[i].slot] = 1;
    for (int s = 0; s < ST_MAX_SLOTS; s++)
        if (!used[s]) return s;
    return -1;
}

static int join(st_nodes *t, const node_op *op, const st_fsm_ctx *cx)
{
    st_node_row *row = find(t, op->name);
    if (row && row->state != ST_NS_LEFT)
        return row->node_id == op->node_id ? ST_OP_OK : ST_OP_CONFLICT;
    int slot = free_slot(t);
    if (slot < 0 || (!row && t->n == ST_MAX_NODE_ROWS)) return ST_OP_FULL;
    if (!row) {
        row = &t->rows[t->n++];
        memset(row, 0, sizeof *row);
        snprintf(row->name, sizeof row->name, "%.*s", (int)op->name.len, op->name.p);
        row->incarnation = 1; /* the joining process is the first incarnation */
    } else {
        row->incarnation++; /* a node that left and comes back is a new incarnation */
    }
    snprintf(row->addr, sizeof row->addr, "%.*s", (int)op->addr.len, op->addr.p);
    row->node_id = op->node_id;
    row->boot = op->boot;
    row->role = op->role;
    row->slot = (uint16_t)slot;
    row->state = ST_NS_JOINING;
    row->hlc = cx->hlc;
    return ST_OP_OK;
}

static int apply(void *st, uint16_t verb, st_bytes body, const st_fsm_ctx *cx)
{
    st_nodes *t = st;
    node_op op;
    if (!decode(verb, body, &op)) return ST_OP_INVALID;
    if (verb == ST_V_JOIN) return join(t, &op, cx);
    st_node_row *row = find(t, op.name);
    if (!row || row->state == ST_NS_LEFT) return ST_OP_NOTFOUND;
    switch (verb) {
    case ST_V_JOINED:
        if (row->state != ST_NS_JOINING) return ST_OP_STALE;
        row->state = ST_NS_UP;
        break;
    case ST_V_BOOT:
        if (row->boot == op.boot && row->state == ST_NS_UP) return ST_OP_STALE; /* asked twice */
        row->incarnation++;
        row->boot = op.boot;
        row->state = ST_NS_UP;
        break;
    case ST_V_DOWN:
        if (row->incarnation != op.incarnation || row->state == ST_NS_DOWN) return ST_OP_STALE;
        row->incarnation++;
        row->state = ST_NS_DOWN;
        break;
    case ST_V_LEAVE:
        row->state = ST_NS_LEFT;
        row->slot = ST_NO_SLOT;
        break;
    }
    row->hlc = cx->hlc;
    return ST_OP_OK;
}

static int validate(uint16_t verb, st_bytes body)
{
    node_op op;
    return decode(verb, body, &op) ? ST_OP_OK : ST_OP_INVALID;
}

static void *create(void)
{
    return calloc(1, sizeof(st_nodes));
}

static void snapshot(void *st, st_buf *out)
{
    const st_nodes *t = st;
    st_buf_be(out, t->n, 4);
    for (uint32_t i = 0; i < t->n; i++) {
        const st_node_row *r = &t->rows[i];
        st_buf_str(out, r->name);
        st_buf_str(out, r->addr);
        st_buf_be(out, r->node_id, 8);
        st_buf_be(out, r->incarnation, 8);
        st_buf_be(out, r->boot, 8);
        st_buf_be(out, r->hlc, 8);
        st_buf_be(out, r->slot, 2);
        st_buf_be(out, r->role, 1);
        st_buf_be(out, r->state, 1);
    }
}

static int restore(void *st, st_bytes in)
{
    st_nodes *t = st;
    cw_rd r = cw_rd_of(in);
    uint32_t n = cw_u32(&r);
    if (n > ST_MAX_NODE_ROWS) return ST_EMALFORMED;
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        st_node_row *row = &t->rows[i];
        st_bytes name = cw_str(&r), addr = cw_str(&r);
        row->node_id = cw_u64(&r);
        row->incarnation = cw_u64(&r);
        row->boot = cw_u64(&r);
        row->hlc = cw_u64(&r);
        row->slot = cw_u16(&r);
        row->role = cw_u8(&r);
        row->state = cw_u8(&r);
        if (name.len == 0 || name.len >= 256 || addr.len >= 256 || row->state < ST_NS_JOINING ||
            row->state > ST_NS_LEFT || (row->slot != ST_NO_SLOT && row->slot >= ST_MAX_SLOTS))
            return ST_EMALFORMED;
        snprintf(row->name, sizeof row->name, "%.*s", (int)name.len, name.p);
        snprintf(row->addr, sizeof row->addr, "%.*s", (int)addr.len, addr.p);
    }
    if (r.bad || r.off != in.len) return ST_EMALFORMED;
    t->n = n;
    return 0;
}

const st_rtable_ops st_table_nodes = {ST_T_NODES, "nodes", 1,        create, free,
                                      validate,   apply,   snapshot, restore};

void st_op_join(st_buf *b, const char *name, uint8_t role, uint64_t node_id, const char *addr,
                uint64_t boot)
{
    st_buf_str(b, name);
    st_buf_be(b, role, 1);
    st_buf_be(b, node_id, 8);
    st_buf_str(b, addr);
    st_buf_be(b, boot, 8);
}

void st_op_name(st_buf *b, const char *name)
{
    st_buf_str(b, name);
}

void st_op_boot(st_buf *b, const char *name, uint64_t boot)
{
    st_buf_str(b, name);
    st_buf_be(b, boot, 8);
}

void st_op_down(st_buf *b, const char *name, uint64_t incarnation)
{
    st_buf_str(b, name);
    st_buf_be(b, incarnation, 8);
}

void st_op_leave(st_buf *b, const char *name, int forced)
{
    st_buf_str(b, name);
    st_buf_be(b, forced ? 1 : 0, 1);
}

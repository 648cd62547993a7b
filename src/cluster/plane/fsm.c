/* fsm.c — the replicated-table engine: entry application with op-id dedupe, snapshots. */
#include "cluster/plane/fsm.h"
#include "core/err.h"
#include "cwire/centry.h"
#include "cwire/wire.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TABLES 16
#define SNAP_MAGIC "STSN"
#define SNAP_VERSION 1

typedef struct opid {
    uint64_t seq;
    uint8_t status;
} opid;

typedef struct origin {
    uint64_t id;
    uint32_t head, count; /* ring of the last ST_FSM_OPS_KEPT applied ops */
    opid ring[ST_FSM_OPS_KEPT];
} origin;

struct st_fsm {
    const st_rtable_ops *ops[MAX_TABLES];
    void *st[MAX_TABLES];
    size_t n;
    uint64_t applied;
    origin *origins[ST_FSM_MAX_ORIGINS];
    size_t norigins;
};

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int create_states(const st_rtable_ops *const *ops, size_t n, void **st)
{
    for (size_t i = 0; i < n; i++) {
        st[i] = ops[i]->create();
        if (!st[i]) {
            while (i--)
                ops[i]->destroy(st[i]);
            return ST_ENOMEM;
        }
    }
    return 0;
}

st_fsm *st_fsm_new(const st_rtable_ops *const *tables, size_t n)
{
    if (n > MAX_TABLES) return NULL;
    st_fsm *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    memcpy(f->ops, tables, n * sizeof *tables);
    f->n = n;
    if (create_states(f->ops, n, f->st) < 0) {
        free(f);
        return NULL;
    }
    return f;
}

static void free_origins(origin **o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(o[i]);
}

void st_fsm_free(st_fsm *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++)
        f->ops[i]->destroy(f->st[i]);
    free_origins(f->origins, f->norigins);
    free(f);
}

static int table_index(const st_fsm *f, uint16_t id)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->ops[i]->id == id) return (int)i;
    return -1;
}

void *st_fsm_table(st_fsm *f, uint16_t id)
{
    int i = table_index(f, id);
    return i < 0 ? NULL : f->st[i];
}

uint64_t st_fsm_applied(const st_fsm *f)
{
    return f->applied;
}

int st_fsm_validate(const st_fsm *f, uint16_t table, uint16_t verb, st_bytes body)
{
    int i = table_index(f, table);
    return i < 0 ? ST_OP_INVALID : f->ops[i]->validate(verb, body);
}

/* ---- op ids -------------------------------------------------------------------------------- */

static origin *find_origin(const st_fsm *f, uint64_t id)
{
    for (size_t i = 0; i < f->norigins; i++)
        if (f->origins[i]->id == id) return f->origins[i];
    return NULL;
}

static const opid *find_op(const origin *o, uint64_t seq)
{
    for (uint32_t k = 0; k < o->count; k++) {
        const opid *e = &o->ring[(o->head + ST_FSM_OPS_KEPT - 1 - k) % ST_FSM_OPS_KEPT];
        if (e->seq == seq) return e;
    }
    return NULL;
}

static origin *origin_for(st_fsm *f, uint64_t id)
{
    origin *o = find_origin(f, id);
    if (o) return o;
    if (f->norigins == ST_FSM_MAX_ORIGINS) { /* evict the first (oldest) origin */
        free(f->origins[0]);
        memmove(f->origins, f->origins + 1, (f->norigins - 1) * sizeof f->origins[0]);
        f->norigins--;
    }
    o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->id = id;
    f->origins[f->norigins++] = o;
    return o;
}

static void remember(origin *o, uint64_t seq, int status)
{
    o->ring[o->head] = (opid){seq, (uint8_t)status};
    o->head = (o->head + 1) % ST_FSM_OPS_KEPT;
    if (o->count < ST_FSM_OPS_KEPT) o->count++;
}

int st_fsm_op_status(const st_fsm *f, uint64_t origin_id, uint64_t seq)
{
    const origin *o = find_origin(f, origin_id);
    const opid *e = o ? find_op(o, seq) : NULL;
    return e ? e->status : -1;
}

/* ---- apply --------------------------------------------------------------------------------- */

int st_fsm_apply(st_fsm *f, uint64_t index, st_bytes entry)
{
    if (index <= f->applied) return ST_EINVAL;
    ce_entry e;
    int rc = ce_decode_entry(entry, &e);
    if (rc < 0) return rc;
    st_fsm_ctx cx = {index, e.hlc};
    uint32_t off = 0;
    ce_op op;
    while (ce_op_next(&e, &off, &op)) {
        origin *o = origin_for(f, op.origin);
        if (o && find_op(o, op.seq)) continue; /* applied before: once only */
        int t = table_index(f, op.table);
        int status = t < 0 ? ST_OP_INVALID : f->ops[t]->apply(f->st[t], op.verb, op.body, &cx);
        if (o) remember(o, op.seq, status);
    }
    f->applied = index;
    return 0;
}

/* ---- snapshots ----------------------------------------------------------------------------- */

static void snapshot_opids(const st_fsm *f, st_buf *b)
{
    st_buf_be(b, f->norigins, 4);
    for (size_t i = 0; i < f->norigins; i++) {
        const origin *o = f->origins[i];
        st_buf_be(b, o->id, 8);
        st_buf_be(b, o->count, 2);
        for (uint32_t k = 0; k < o->count; k++) { /* oldest first */
            const opid *e = &o->ring[(o->head + ST_FSM_OPS_KEPT - o->count + k) % ST_FSM_OPS_KEPT];
            st_buf_be(b, e->seq, 8);
            st_buf_be(b, e->status, 1);
        }
    }
}

static int restore_opids(st_bytes in, origin **out, size_t *n)
{
    cw_rd r = cw_rd_of(in);
    uint32_t cnt = cw_u32(&r);
    if (cnt > ST_FSM_MAX_ORIGINS) return ST_EMALFORMED;
    *n = 0;
    for (uint32_t i = 0; i < cnt && !r.bad; i++) {
        origin *o = calloc(1, sizeof *o);
        if (!o) return ST_ENOMEM;
        out[(*n)++] = o;
        o->id = cw_u64(&r);
        uint16_t c = cw_u16(&r);
        if (c > ST_FSM_OPS_KEPT) return ST_EMALFORMED;
        for (uint16_t k = 0; k < c && !r.bad; k++) {
            uint64_t seq = cw_u64(&r);
            remember(o, seq, cw_u8(&r));
        }
    }
    return r.bad || r.off != in.len ? ST_EMALFORMED : 0;
}

void st_fsm_snapshot(st_fsm *f, st_buf *out)
{
    st_buf_put(out, SNAP_MAGIC, 4);
    st_buf_be(out, SNAP_VERSION, 2);
    st_buf_be(out, f->applied, 8);
    st_buf_be(out, f->n + 1, 4);
    for (size_t i = 0; i <= f->n; i++) {
        st_buf sec = {0};
        if (i == 0)
            snapshot_opids(f, &sec);
        else
            f->ops[i - 1]->snapshot(f->st[i - 1], &sec);
        st_buf_be(out, i == 0 ? 0 : f->ops[i - 1]->id, 2);
        st_buf_be(out, i == 0 ? 1 : f->ops[i - 1]->version, 2);
        st_buf_be(out, sec.len, 8);
        st_buf_put(out, sec.p, sec.len);
        out->oom |= sec.oom;
        st_buf_free(&sec);
    }
}

/* Restore into fresh states; the FSM changes only if everything decoded. */
int st_fsm_restore(st_fsm *f, st_bytes in)
{
    void *st[MAX_TABLES] = {0};
    origin **orig = calloc(ST_FSM_MAX_ORIGINS, sizeof *orig);
    size_t norig = 0;
    if (!orig || create_states(f->ops, f->n, st) < 0) {
        free(orig);
        return ST_ENOMEM;
    }
    cw_rd r = cw_rd_of(in);
    const uint8_t *magic = cw_take(&r, 4);
    int rc = !magic || memcmp(magic, SNAP_MAGIC, 4) != 0 || cw_u16(&r) != SNAP_VERSION
                 ? ST_EMALFORMED
                 : 0;
    uint64_t applied = cw_u64(&r);
    uint32_t nsec = cw_u32(&r);
    for (uint32_t s = 0; s < nsec && rc == 0 && !r.bad; s++) {
        uint16_t id = cw_u16(&r), version = cw_u16(&r);
        uint64_t len = cw_u64(&r);
        st_bytes body = cw_span(&r, len > r.len ? 0 : (uint32_t)len);
        if (r.bad || len > in.len) break;
        int t = id ? table_index(f, id) : -1;
        if (id == 0)
            rc = restore_opids(body, orig, &norig);
        else if (t < 0 || version != f->ops[t]->version)
            rc = ST_EMALFORMED; /* a table this node does not know: version skew */
        else
            rc = f->ops[t]->restore(st[t], body);
    }
    if (rc == 0 && (r.bad || r.off != in.len)) rc = ST_EMALFORMED;
    if (rc < 0) {
        for (size_t i = 0; i < f->n; i++)
            f->ops[i]->destroy(st[i]);
        free_origins(orig, norig);
        free(orig);
        return rc;
    }
    for (size_t i = 0; i < f->n; i++) {
        f->ops[i]->destroy(f->st[i]);
        f->st[i] = st[i];
    }
    free_origins(f->origins, f->norigins);
    memcpy(f->origins, orig, norig * sizeof *orig);
    f->norigins = norig;
    f->applied = applied;
    free(orig);
    return 0;
}

/* t_kv.c — the replicated key-value table (kv.h). Rows are kept in a map from the key with
 * its namespace in front; changed keys are noted in a second map until the wiring takes
 * them. */
#include "cluster/plane/kv.h"
#include "core/err.h"
#include "core/strmap.h"
#include "cwire/wire.h"

#include <stdlib.h>
#include <string.h>

typedef struct kv_row {
    size_t len;
    uint8_t val[];
} kv_row;

struct st_kv {
    st_strmap *rows;    /* ns ‖ key → kv_row* */
    st_strmap *changed; /* ns ‖ key → (void *)1 */
    int reset;
};

typedef struct kv_op {
    uint8_t ns;
    st_bytes key, val;
} kv_op;

static int decode(uint16_t verb, st_bytes body, kv_op *op)
{
    cw_rd r = cw_rd_of(body);
    op->ns = cw_u8(&r);
    op->key = cw_str(&r);
    op->val = cw_blob(&r);
    return verb >= ST_V_KV_PUT && verb <= ST_V_KV_DEL && !r.bad && r.off == body.len &&
           op->ns > 0 && op->key.len > 0 && op->key.len <= ST_KV_MAX_KEY &&
           op->val.len <= ST_KV_MAX_VALUE;
}

/* ns ‖ key into buf (room for ST_KV_MAX_KEY + 1): its length. */
static size_t full_key(uint8_t ns, const void *key, size_t klen, char *buf)
{
    buf[0] = (char)ns;
    memcpy(buf + 1, key, klen);
    return klen + 1;
}

static void note(st_kv *t, const char *k, size_t kl);

static void *create(void)
{
    st_kv *t = calloc(1, sizeof *t);
    if (t && (!(t->rows = st_strmap_new()) || !(t->changed = st_strmap_new()))) {
        st_strmap_free(t->rows);
        free(t);
        return NULL;
    }
    if (t) t->reset = 1; /* a new table (a new cluster, or a restart): mirrors start afresh */
    return t;
}

static void destroy(void *st)
{
    st_kv *t = st;
    if (!t) return;
    size_t it = 0;
    void *v;
    while (st_strmap_next(t->rows, &it, NULL, NULL, &v))
        free(v);
    st_strmap_free(t->rows);
    st_strmap_free(t->changed);
    free(t);
}

static int validate(uint16_t verb, st_bytes body)
{
    kv_op op;
    return decode(verb, body, &op) ? ST_OP_OK : ST_OP_INVALID;
}

static int apply(void *st, uint16_t verb, st_bytes body, const st_fsm_ctx *cx)
{
    st_kv *t = st;
    kv_op op;
    char k[ST_KV_MAX_KEY + 1];
    (void)cx;
    if (!decode(verb, body, &op)) return ST_OP_INVALID;
    size_t kl = full_key(op.ns, op.key.p, op.key.len, k);
    kv_row *old = st_strmap_get(t->rows, k, kl);
    if (verb == ST_V_KV_DEL) {
        if (!old) return ST_OP_NOTFOUND;
        free(st_strmap_del(t->rows, k, kl));
    } else {
        if (old && verb == ST_V_KV_ADD) return ST_OP_CONFLICT;
        kv_row *row = malloc(sizeof *row + op.val.len);
        if (!row) return ST_OP_FULL; /* deterministic enough: every node would be as short */
        row->len = op.val.len;
        memcpy(row->val, op.val.p, op.val.len);
        if (st_strmap_put(t->rows, k, kl, row) < 0) {
            free(row);
            return ST_OP_FULL;
        }
        free(old);
    }
    note(t, k, kl);
    return ST_OP_OK;
}

static void snapshot(void *st, st_buf *out)
{
    const st_kv *t = st;
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    st_buf_be(out, st_strmap_count(t->rows), 4);
    while (st_strmap_next(t->rows, &it, &k, &kl, &v)) {
        const kv_row *row = v;
        st_buf_be(out, kl, 2);
        st_buf_put(out, k, kl);
        st_buf_be(out, row->len, 4);
        st_buf_put(out, row->val, row->len);
    }
}

static int restore(void *st, st_bytes in)
{
    st_kv *t = st;
    cw_rd r = cw_rd_of(in);
    uint32_t n = cw_u32(&r);
    for (uint32_t i = 0; i < n && !r.bad; i++) {
        st_bytes k = cw_str(&r), v = cw_blob(&r);
        kv_row *row = r.bad || k.len < 2 ? NULL : malloc(sizeof *row + v.len);
        if (!row) return ST_EMALFORMED;
        row->len = v.len;
        memcpy(row->val, v.p, v.len);
        free(st_strmap_get(t->rows, (const char *)k.p, k.len));
        if (st_strmap_put(t->rows, (const char *)k.p, k.len, row) < 0) {
            free(row);
            return ST_EMALFORMED;
        }
    }
    if (r.bad || r.off != in.len) return ST_EMALFORMED;
    t->reset = 1; /* a fresh state: whoever mirrors it reads it all */
    return 0;
}

const st_rtable_ops st_table_kv = {ST_T_KV,  "kv",  1,        create, destroy,
                                   validate, apply, snapshot, restore};

int st_kv_get(const st_kv *t, uint8_t ns, const void *key, size_t klen, const uint8_t **val,
              size_t *vlen)
{
    char k[ST_KV_MAX_KEY + 1];
    if (klen > ST_KV_MAX_KEY) return 0;
    const kv_row *row = st_strmap_get(t->rows, k, full_key(ns, key, klen, k));
    if (!row) return 0;
    *val = row->val;
    *vlen = row->len;
    return 1;
}

void st_kv_changes(st_kv *t, st_kv_visit visit, void *ctx)
{
    if (t->reset) visit(ctx, 0, NULL, 0, NULL, 0);
    st_strmap *which = t->reset ? t->rows : t->changed;
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    while (which && st_strmap_next(which, &it, &k, &kl, &v)) {
        const kv_row *row = t->reset ? v : st_strmap_get(t->rows, k, kl);
        visit(ctx, (uint8_t)k[0], (const uint8_t *)k + 1, kl - 1, row ? row->val : NULL,
              row ? row->len : 0);
    }
    t->reset = 0;
    st_strmap_free(t->changed);
    t->changed = st_strmap_new();
}

static void note(st_kv *t, const char *k, size_t kl)
{
    if (!t->changed) t->changed = st_strmap_new();
    if (t->changed) st_strmap_put(t->changed, k, kl, (void *)1);
}

void st_op_kv(st_buf *b, uint8_t ns, const void *key, size_t klen, const void *val, size_t vlen)
{
    st_buf_be(b, ns, 1);
    st_buf_be(b, klen, 2);
    st_buf_put(b, key, klen);
    st_buf_be(b, vlen, 4);
    st_buf_put(b, val, vlen);
}

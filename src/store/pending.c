/* pending.c — coalesced writes (pending.h): a map from cf ‖ key to the last write of it. */
#include "store/pending.h"
#include "core/err.h"
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

#define MAX_KEY 1024

typedef struct wr {
    uint8_t op;
    size_t vlen;
    uint8_t val[];
} wr;

struct st_pending {
    st_strmap *m;
    size_t bytes;
    uint64_t cancelled;
};

st_pending *st_pending_new(void)
{
    st_pending *p = calloc(1, sizeof *p);
    if (p && !(p->m = st_strmap_new())) {
        free(p);
        return NULL;
    }
    return p;
}

static void drop_all(st_pending *p)
{
    size_t it = 0;
    void *v;
    while (st_strmap_next(p->m, &it, NULL, NULL, &v))
        free(v);
    st_strmap_free(p->m);
    p->m = NULL;
}

void st_pending_free(st_pending *p)
{
    if (!p) return;
    drop_all(p);
    free(p);
}

static size_t full_key(uint8_t cf, const void *key, size_t klen, char *out)
{
    out[0] = (char)cf;
    memcpy(out + 1, key, klen);
    return klen + 1;
}

int st_pending_add(st_pending *p, uint8_t cf, const void *key, size_t klen, int op, const void *val,
                   size_t vlen)
{
    char k[MAX_KEY + 1];
    if (klen > MAX_KEY) return ST_EINVAL;
    size_t kl = full_key(cf, key, klen, k);
    wr *old = st_strmap_get(p->m, k, kl);
    if (op == ST_W_DEL && old && old->op == ST_W_NEW) { /* never written: nothing to do */
        p->bytes -= kl + old->vlen;
        free(st_strmap_del(p->m, k, kl));
        p->cancelled++;
        return 0;
    }
    if (op == ST_W_DEL) vlen = 0;
    if (op == ST_W_PUT && old && old->op == ST_W_NEW) op = ST_W_NEW; /* still never written */
    wr *w = malloc(sizeof *w + vlen);
    if (!w) return ST_ENOMEM;
    w->op = (uint8_t)op;
    w->vlen = vlen;
    if (vlen) memcpy(w->val, val, vlen);
    if (st_strmap_put(p->m, k, kl, w) < 0) {
        free(w);
        return ST_ENOMEM;
    }
    if (old) p->bytes -= kl + old->vlen;
    free(old);
    p->bytes += kl + vlen;
    return 0;
}

size_t st_pending_count(const st_pending *p)
{
    return st_strmap_count(p->m);
}

size_t st_pending_bytes(const st_pending *p)
{
    return p->bytes;
}

uint64_t st_pending_cancelled(const st_pending *p)
{
    return p->cancelled;
}

void st_pending_each(const st_pending *p, st_pending_fn fn, void *ctx)
{
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    while (st_strmap_next(p->m, &it, &k, &kl, &v)) {
        const wr *w = v;
        fn(ctx, (uint8_t)k[0], (const uint8_t *)k + 1, kl - 1, w->op == ST_W_DEL ? NULL : w->val,
           w->vlen);
    }
}

/* A set this large is made anew when cleared: its table would keep the size of the
 * largest round for ever. */
#define FRESH_AFTER 65536

void st_pending_clear(st_pending *p)
{
    st_strmap *fresh = st_strmap_count(p->m) >= FRESH_AFTER ? st_strmap_new() : NULL;
    if (fresh) {
        drop_all(p);
        p->m = fresh;
        p->bytes = 0;
        return;
    }
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    while (st_strmap_next(p->m, &it, &k, &kl, &v))
        free(st_strmap_del(p->m, k, kl));
    p->bytes = 0;
}

/* repl.c — what the store gives a replicator and takes from one (store.h, "replication";
 * docs/durability.md §6): each committed round's writes, snapshots of the whole store at a
 * round boundary, the gate that holds a round's tickets until the replicas have it, and the
 * receiver's side (reading rounds, replacing a store by a snapshot). */
#include "core/err.h"
#include "store/internal.h"

#include <string.h>

/* ---- the owner's side (any thread) -------------------------------------------------------- */

void st_store_on_round(st_store *s, st_store_round_fn fn, void *ctx)
{
    s->round_fn = fn;
    s->round_ctx = ctx;
}

void st_store_want_snapshot(st_store *s)
{
    atomic_store(&s->want_snap, 1);
    st_store_wake(s);
}

void st_store_gate(st_store *s, int on)
{
    atomic_store(&s->gate, on);
    st_store_wake(s);
}

void st_store_replicated(st_store *s, uint64_t round)
{
    uint64_t was = atomic_load(&s->acked_round);
    while (round > was && !atomic_compare_exchange_weak(&s->acked_round, &was, round)) {
    }
    st_store_wake(s);
}

/* ---- the owner's side (the store thread) -------------------------------------------------- */

static void to_scratch(void *ctx, uint8_t cf, const uint8_t *k, size_t kl, const uint8_t *v,
                       size_t vl)
{
    st_store_record(ctx, cf, v ? ST_W_PUT : ST_W_DEL, k, kl, v, vl);
}

static void reset(st_store_batch *b)
{
    b->len = 0;
    b->oom = 0;
}

void st_repl_round(st_store *s)
{
    if (!s->round_fn) return;
    if (s->replace) { /* replaced whole: the receivers get the whole store */
        atomic_store(&s->want_snap, 1);
        st_store_wake(s);
        return;
    }
    if (st_pending_count(s->pend) == 0) return;
    s->round++;
    reset(s->scratch);
    st_pending_each(s->pend, to_scratch, s->scratch);
    if (s->scratch->oom) { /* the receivers cannot follow: they get a snapshot instead */
        LOG_ERROR(s->log, "durable store: out of memory for a round's copy: a snapshot follows");
        atomic_store(&s->want_snap, 1);
        return;
    }
    s->round_fn(s->round_ctx, s->round, 0, s->scratch->p, s->scratch->len);
}

void st_repl_publish(st_store *s, uint64_t upto)
{
    if (!atomic_load(&s->gate) && s->ngated == 0) {
        atomic_store(&s->durable, upto);
        return;
    }
    if (s->ngated == ST_STORE_GATED) { /* the newest entry waits for this round too */
        s->gated[s->ngated - 1] = (st_gated){s->round, upto};
    } else {
        s->gated[s->ngated++] = (st_gated){s->round, upto};
    }
    st_repl_release(s);
}

int st_repl_release(st_store *s)
{
    uint64_t acked = atomic_load(&s->acked_round);
    int off = !atomic_load(&s->gate), n = 0;
    while (n < s->ngated && (off || s->gated[n].round <= acked))
        n++;
    if (n == 0) return 0;
    atomic_store(&s->durable, s->gated[n - 1].upto);
    memmove(s->gated, s->gated + n, (size_t)(s->ngated - n) * sizeof *s->gated);
    s->ngated -= n;
    return 1;
}

typedef struct snap_ctx {
    st_store_batch *b;
    int cf;
} snap_ctx;

static int is_own_meta(const uint8_t *k, size_t kl)
{
    return (kl == 6 && memcmp(k, "format", 6) == 0) || (kl == 4 && memcmp(k, "node", 4) == 0) ||
           (kl == 2 && memcmp(k, "id", 2) == 0) || (kl == 5 && memcmp(k, "fresh", 5) == 0);
}

static int to_snap(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    snap_ctx *c = ctx;
    if (c->cf == ST_CF_META && is_own_meta(k, kl)) return 0;
    return st_store_record(c->b, c->cf, ST_W_PUT, k, kl, v, vl) < 0 ? ST_ENOMEM : 0;
}

void st_repl_snapshot(st_store *s)
{
    atomic_store(&s->want_snap, 0);
    if (!s->round_fn) return;
    reset(s->scratch);
    snap_ctx c = {s->scratch, 0};
    int rc = 0;
    for (c.cf = 0; rc == 0 && c.cf < ST_CF_N; c.cf++)
        rc = st_engine_scan(s->eng, c.cf, to_snap, &c);
    if (rc < 0) { /* tried again at the next round */
        LOG_ERROR(s->log, "durable store: a snapshot for the replicas failed: %s", st_strerror(rc));
        atomic_store(&s->want_snap, 1);
        return;
    }
    s->round_fn(s->round_ctx, s->round, 1, s->scratch->p, s->scratch->len);
}

int st_store_dump(st_store *s, st_store_batch *b)
{
    snap_ctx c = {b, 0};
    int rc = 0;
    for (c.cf = 0; rc == 0 && c.cf < ST_CF_N; c.cf++)
        rc = st_engine_scan(s->eng, c.cf, to_snap, &c);
    return rc < 0 ? rc : b->oom ? ST_ENOMEM : 0;
}

const uint8_t *st_store_batch_bytes(const st_store_batch *b, size_t *len)
{
    *len = b->len;
    return b->p;
}

/* ---- the receiver's side ------------------------------------------------------------------ */

int st_store_records(const uint8_t *w, size_t len, st_store_record_fn fn, void *ctx)
{
    size_t off = 0;
    while (off < len) {
        if (len - off < 8) return ST_EMALFORMED;
        const uint8_t *r = w + off;
        size_t kl = (size_t)r[2] << 8 | r[3];
        size_t vl = (size_t)r[4] << 24 | (size_t)r[5] << 16 | (size_t)r[6] << 8 | r[7];
        if (r[0] >= ST_CF_N || r[1] < ST_W_PUT || r[1] > ST_W_DEL || kl > len - off - 8 ||
            vl > len - off - 8 - kl || (r[1] == ST_W_DEL && vl))
            return ST_EMALFORMED;
        int rc = fn(ctx, r[0], r[1] == ST_W_DEL, r + 8, kl, r + 8 + kl, vl);
        if (rc) return rc;
        off += 8 + kl + vl;
    }
    return 0;
}

static int check(void *ctx, int cf, int del, const uint8_t *k, size_t kl, const uint8_t *v,
                 size_t vl)
{
    (void)ctx, (void)cf, (void)del, (void)k, (void)kl, (void)v, (void)vl;
    return 0;
}

static int append(void *ctx, int cf, int del, const uint8_t *k, size_t kl, const uint8_t *v,
                  size_t vl)
{
    return st_store_record(ctx, cf, del ? ST_W_DEL : ST_W_PUT, k, kl, v, vl);
}

int st_store_put_records(st_store_batch *b, const uint8_t *w, size_t len)
{
    int rc = st_store_records(w, len, check, NULL); /* all or nothing */
    return rc < 0 ? rc : st_store_records(w, len, append, b);
}

typedef struct apply_ctx {
    st_store *s;
    char *err;
    size_t errlen;
} apply_ctx;

static int apply(void *ctx, int cf, int del, const uint8_t *k, size_t kl, const uint8_t *v,
                 size_t vl)
{
    apply_ctx *a = ctx;
    if (cf == ST_CF_META && is_own_meta(k, kl)) return 0; /* never another store's */
    return del ? st_engine_del(a->s->eng, cf, k, kl, a->err, a->errlen)
               : st_engine_put(a->s->eng, cf, k, kl, v, vl, a->err, a->errlen);
}

int st_repl_replace(st_store *s, char *err, size_t errlen)
{
    int rc = 0;
    for (int cf = 0; rc == 0 && cf < ST_CF_N; cf++)
        rc = st_engine_clear(s->eng, cf, err, errlen);
    if (rc == 0) rc = st_store_put_meta(s, 1, err, errlen);
    apply_ctx a = {s, err, errlen};
    const st_store_batch *b = s->replace;
    return rc < 0 ? rc : st_store_records(b->p, b->len, apply, &a);
}

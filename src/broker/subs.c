/* subs.c — subscription table over the route trie. Each trie node's value is an fnode:
 * the plain subscribers of that filter and the shared groups on it. Matching walks the
 * trie once under the read lock and copies out small target records, so delivery work
 * happens after the lock is released. */
#include "broker/subs.h"
#include "broker/settings.h"
#include "core/err.h"
#include "core/strmap.h"
#include "route/trie.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rmember { /* a remote node's members of a group */
    uint16_t slot;
    uint32_t count;
} rmember;

typedef struct group {
    st_sharekey *key;
    const char *name; /* inside key->s */
    size_t nlen;
    st_target *m;
    uint32_t n, cap;
    rmember *r; /* other nodes with members, and how many */
    uint32_t nr, capr;
    uint64_t rtotal; /* Σ r[].count */
    atomic_uint cursor;
    atomic_uint cursor_in;   /* round robin over our members for copies from other nodes */
    _Atomic uint64_t sticky; /* a local sid, or STICKY_NODE | slot */
} group;

#define STICKY_NODE (1ull << 63)

typedef struct fnode { /* 40 bytes: a 48-byte malloc chunk, one per subscribed filter */
    st_target *m;
    group **g;
    uint16_t *rn; /* remote node slots that have subscribers to this filter */
    uint32_t n, cap;
    uint32_t ng;
    uint16_t nrn, caprn; /* ST_MAX_NODES (256) at most */
} fnode;

struct st_subs {
    pthread_rwlock_t lock;
    st_trie *trie;
    int strategy;
    size_t count;
    size_t remote_count;
    st_subs_route_fn route;
    void *route_cx;
};

uint64_t st_rand(uint64_t *st)
{
    uint64_t x = *st ? *st : 0x9E3779B97F4A7C15ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *st = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void st_sharekey_unref(st_sharekey *k)
{
    if (k && atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1) free(k);
}

st_sharekey *st_sharekey_new(const char *s, size_t len)
{
    st_sharekey *k = malloc(sizeof *k + len + 1);
    if (!k) return NULL;
    atomic_init(&k->refs, 1);
    k->len = (uint32_t)len;
    memcpy(k->s, s, len);
    k->s[len] = 0;
    return k;
}

int st_tvec_push(st_tvec *t, const st_target *x)
{
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        st_target *v = realloc(t->v, nc * sizeof *v);
        if (!v) return ST_ENOMEM;
        t->v = v;
        t->cap = nc;
    }
    t->v[t->n++] = *x;
    return 0;
}

void st_tvec_free(st_tvec *t)
{
    free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

st_subs *st_subs_new(int strategy)
{
    st_subs *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->trie = st_trie_new();
    if (!s->trie) {
        free(s);
        return NULL;
    }
    pthread_rwlock_init(&s->lock, NULL);
    s->strategy = strategy;
    return s;
}

static void group_free(group *g)
{
    st_sharekey_unref(g->key);
    free(g->m);
    free(g->r);
    free(g);
}

/* Drop g from f if nobody, here or elsewhere, is a member any more. */
static void group_gc(fnode *f, group *g)
{
    if (g->n || g->nr) return;
    for (uint32_t i = 0; i < f->ng; i++)
        if (f->g[i] == g) f->g[i] = f->g[--f->ng];
    group_free(g);
}

static void fnode_free(void *val, void *ctx)
{
    fnode *f = val;
    for (uint32_t i = 0; i < f->ng; i++)
        group_free(f->g[i]);
    free(f->g);
    free(f->m);
    free(f->rn);
    free(f);
}

void st_subs_free(st_subs *s)
{
    if (!s) return;
    st_trie_free(s->trie, fnode_free, NULL);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

/* Free the filter's node once nobody, here or on another node, subscribes to it. */
static void fnode_gc(st_subs *s, void **slot, const char *filter, size_t len)
{
    fnode *f = *slot;
    if (f->n || f->ng || f->nrn) return;
    fnode_free(f, NULL);
    *slot = NULL;
    st_trie_prune(s->trie, filter, len);
}

/* add or replace entry e in the member array; returns 1 new, 0 replaced, <0 error */
static int members_put(st_target **m, uint32_t *n, uint32_t *cap, const st_target *e)
{
    for (uint32_t i = 0; i < *n; i++) {
        if ((*m)[i].sid == e->sid) {
            st_sharekey *keep = (*m)[i].share;
            (*m)[i] = *e;
            (*m)[i].share = keep;
            return 0;
        }
    }
    if (*n == *cap) {
        uint32_t nc = *cap ? *cap * 2 : 2;
        st_target *v = realloc(*m, nc * sizeof *v);
        if (!v) return ST_ENOMEM;
        *m = v;
        *cap = nc;
    }
    (*m)[(*n)++] = *e;
    return 1;
}

static int members_del(st_target *m, uint32_t *n, uint64_t sid)
{
    for (uint32_t i = 0; i < *n; i++) {
        if (m[i].sid == sid) {
            m[i] = m[--*n];
            return 1;
        }
    }
    return 0;
}

static group *find_group(fnode *f, const char *name, size_t nlen)
{
    for (uint32_t i = 0; i < f->ng; i++)
        if (f->g[i]->nlen == nlen && memcmp(f->g[i]->name, name, nlen) == 0) return f->g[i];
    return NULL;
}

static group *add_group(fnode *f, const char *full, size_t flen, const char *name, size_t nlen)
{
    group **gv = realloc(f->g, (f->ng + 1) * sizeof *gv);
    if (!gv) return NULL;
    f->g = gv;
    group *g = calloc(1, sizeof *g);
    if (!g) return NULL;
    g->key = st_sharekey_new(full, flen);
    if (!g->key) {
        free(g);
        return NULL;
    }
    g->name = g->key->s + (name - full);
    g->nlen = nlen;
    f->g[f->ng++] = g;
    return g;
}

static int add_locked(st_subs *s, const char *filter, size_t len, const st_target *entry)
{
    const char *gname = NULL, *real = filter;
    size_t glen = 0, rlen = len;
    int shared = st_share_parse(filter, len, &gname, &glen, &real, &rlen);
    if (shared < 0) return shared;
    void **slot = st_trie_slot(s->trie, real, rlen);
    if (!slot) return ST_ENOMEM;
    fnode *f = *slot;
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f) return ST_ENOMEM;
        *slot = f;
    }
    st_target e = *entry;
    e.share = NULL;
    if (!shared) {
        int rc = members_put(&f->m, &f->n, &f->cap, &e);
        if (rc == 1 && f->n == 1 && s->route) s->route(s->route_cx, real, rlen, NULL, 0, 1);
        return rc;
    }
    group *g = find_group(f, gname, glen);
    if (!g && !(g = add_group(f, filter, len, gname, glen))) return ST_ENOMEM;
    int rc = members_put(&g->m, &g->n, &g->cap, &e);
    if (rc == 1 && s->route) s->route(s->route_cx, real, rlen, gname, glen, g->n);
    return rc;
}

int st_subs_add(st_subs *s, const char *filter, size_t len, const st_target *entry)
{
    pthread_rwlock_wrlock(&s->lock);
    int rc = add_locked(s, filter, len, entry);
    if (rc == 1) s->count++;
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

static int del_locked(st_subs *s, const char *filter, size_t len, uint64_t sid)
{
    const char *gname = NULL, *real = filter;
    size_t glen = 0, rlen = len;
    int shared = st_share_parse(filter, len, &gname, &glen, &real, &rlen);
    if (shared < 0) return 0;
    void **slot = st_trie_find(s->trie, real, rlen);
    if (!slot || !*slot) return 0;
    fnode *f = *slot;
    int rc;
    if (!shared) {
        rc = members_del(f->m, &f->n, sid);
        if (rc == 1 && f->n == 0 && s->route) s->route(s->route_cx, real, rlen, NULL, 0, 0);
    } else {
        group *g = find_group(f, gname, glen);
        rc = g ? members_del(g->m, &g->n, sid) : 0;
        if (rc == 1 && s->route) s->route(s->route_cx, real, rlen, gname, glen, g->n);
        if (g) group_gc(f, g);
    }
    fnode_gc(s, slot, real, rlen);
    return rc;
}

int st_subs_del(st_subs *s, const char *filter, size_t len, uint64_t sid)
{
    pthread_rwlock_wrlock(&s->lock);
    int rc = del_locked(s, filter, len, sid);
    if (rc == 1) s->count--;
    pthread_rwlock_unlock(&s->lock);
    return rc;
}

size_t st_subs_count(st_subs *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->count;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

typedef struct match_ctx {
    st_subs *s;
    st_nodeset *dest;
    int plain_only;
    const st_msg *msg;
    const char *pub_key;
    size_t pub_key_len;
    uint16_t worker;
    uint64_t *rng;
    st_tvec *out;
    size_t added;
} match_ctx;

static int member_alive(const group *g, uint64_t sid)
{
    for (uint32_t i = 0; i < g->n; i++)
        if (g->m[i].sid == sid) return (int)i;
    return -1;
}

static int remote_index(const group *g, uint16_t slot)
{
    for (uint32_t i = 0; i < g->nr; i++)
        if (g->r[i].slot == slot) return (int)i;
    return -1;
}

/* The member behind index k of local + remote (each remote node weighs its member count):
 * a local index < g->n, or g->n + the remote entry's index. */
static uint64_t weighted(const group *g, uint64_t k)
{
    if (k < g->n) return k;
    k -= g->n;
    for (uint32_t i = 0; i < g->nr; i++) {
        if (k < g->r[i].count) return g->n + i;
        k -= g->r[i].count;
    }
    return 0;
}

static uint64_t pick_sticky(group *g, uint64_t total, uint64_t *rng, int remote)
{
    uint64_t st = atomic_load(&g->sticky);
    int i = !(st & STICKY_NODE) ? member_alive(g, st) : remote ? remote_index(g, (uint16_t)st) : -1;
    if (i >= 0) return st & STICKY_NODE ? g->n + (uint64_t)i : (uint64_t)i;
    uint64_t k = weighted(g, st_rand(rng) % total);
    atomic_store(&g->sticky, k < g->n ? g->m[k].sid : STICKY_NODE | g->r[k - g->n].slot);
    return k;
}

/* Choose one member of g for this message by the strategy, among the local members and
 * the other nodes' (remote ones only when `remote`): a local index < g->n, or g->n + i for
 * remote entry i. */
static uint64_t pick_index(group *g, int strategy, const st_msg *msg, const char *pub_key,
                           size_t pub_key_len, uint16_t worker, uint64_t *rng, int remote)
{
    uint64_t total = g->n + (remote ? g->rtotal : 0);
    switch (strategy) {
    case ST_SHARE_STICKY:
        return pick_sticky(g, total, rng, remote);
    case ST_SHARE_LOCAL: /* prefer members on the publisher's worker, then on this node */
        for (uint32_t k = 0, start = g->n ? (uint32_t)(st_rand(rng) % g->n) : 0; k < g->n; k++) {
            uint32_t i = (start + k) % g->n;
            if (g->m[i].worker == worker) return i;
        }
        return g->n ? st_rand(rng) % g->n : weighted(g, st_rand(rng) % total);
    case ST_SHARE_HASH_TOPIC:
        return weighted(g, st_hash(msg->topic, msg->topic_len) % total);
    case ST_SHARE_HASH_CLIENTID:
        return weighted(g, st_hash(pub_key, pub_key_len) % total);
    case ST_SHARE_RANDOM:
        return weighted(g, st_rand(rng) % total);
    default: /* round robin (per group) */
        return weighted(g, atomic_fetch_add_explicit(&g->cursor, 1, memory_order_relaxed) % total);
    }
}

static void match_cb(void *val, void *ctx)
{
    match_ctx *c = ctx;
    fnode *f = val;
    if (c->dest)
        for (uint32_t i = 0; i < f->nrn; i++)
            st_nodeset_add(c->dest, f->rn[i]);
    for (uint32_t i = 0; i < f->n; i++) {
        const st_target *t = &f->m[i];
        if ((t->flags & ST_SUB_NL) && t->sid == c->msg->from_sid) continue;
        if (st_tvec_push(c->out, t) == 0) c->added++;
    }
    for (uint32_t i = 0; i < f->ng && !c->plain_only; i++) {
        group *g = f->g[i];
        int remote = c->dest && g->rtotal && c->dest->npicks < ST_MAX_PICKS;
        if (!g->n && !remote) continue;
        uint64_t k = pick_index(g, c->s->strategy, c->msg, c->pub_key, c->pub_key_len, c->worker,
                                c->rng, remote);
        if (k >= g->n) { /* another node's member: one SHARED copy goes there */
            st_remote_pick *p = &c->dest->picks[c->dest->npicks++];
            p->slot = g->r[k - g->n].slot;
            atomic_fetch_add_explicit(&g->key->refs, 1, memory_order_relaxed);
            p->key = g->key;
            continue;
        }
        st_target t = g->m[k];
        atomic_fetch_add_explicit(&g->key->refs, 1, memory_order_relaxed);
        t.share = g->key;
        if (st_tvec_push(c->out, &t) == 0)
            c->added++;
        else
            st_sharekey_unref(g->key);
    }
}

size_t st_subs_match(st_subs *s, const st_msg *msg, const char *pub_key, size_t pub_key_len,
                     uint16_t worker, uint64_t *rng, st_tvec *out, st_nodeset *dest)
{
    match_ctx c = {s, dest, 0, msg, pub_key, pub_key_len, worker, rng, out, 0};
    pthread_rwlock_rdlock(&s->lock);
    st_trie_match(s->trie, msg->topic, msg->topic_len, match_cb, &c);
    pthread_rwlock_unlock(&s->lock);
    return c.added;
}

size_t st_subs_match_plain(st_subs *s, const st_msg *msg, uint64_t *rng, st_tvec *out)
{
    match_ctx c = {s, NULL, 1, msg, "", 0, 0, rng, out, 0};
    pthread_rwlock_rdlock(&s->lock);
    st_trie_match(s->trie, msg->topic, msg->topic_len, match_cb, &c);
    pthread_rwlock_unlock(&s->lock);
    return c.added;
}

int st_subs_repick(st_subs *s, const st_sharekey *key, uint16_t exclude, uint64_t *rng,
                   uint16_t *slot)
{
    const char *gname, *real;
    size_t glen, rlen;
    int where = 0;
    if (st_share_parse(key->s, key->len, &gname, &glen, &real, &rlen) != 1) return 0;
    pthread_rwlock_rdlock(&s->lock);
    void **node = st_trie_find(s->trie, real, rlen);
    group *g = node && *node ? find_group(*node, gname, glen) : NULL;
    uint64_t total = 0;
    for (uint32_t i = 0; g && i < g->nr; i++)
        total += g->r[i].slot == exclude ? 0 : g->r[i].count;
    if (g && (total += g->n)) {
        uint64_t k = st_rand(rng) % total;
        where = k < g->n;
        k -= where ? 0 : g->n;
        for (uint32_t i = 0; !where && i < g->nr; i++) {
            if (g->r[i].slot == exclude) continue;
            if (k < g->r[i].count) {
                *slot = g->r[i].slot;
                where = 2;
            }
            k -= g->r[i].count;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return where;
}

int st_subs_pick(st_subs *s, const st_sharekey *key, const st_msg *msg, uint64_t exclude_sid,
                 uint64_t *rng, st_target *out)
{
    return st_subs_pick_name(s, key->s, key->len, msg, exclude_sid, rng, out);
}

int st_subs_pick_name(st_subs *s, const char *share, size_t len, const st_msg *msg,
                      uint64_t exclude_sid, uint64_t *rng, st_target *out)
{
    const char *gname, *real;
    size_t glen, rlen;
    int found = 0;
    if (st_share_parse(share, len, &gname, &glen, &real, &rlen) != 1) return 0;
    pthread_rwlock_rdlock(&s->lock);
    void **slot = st_trie_find(s->trie, real, rlen);
    group *g = slot && *slot ? find_group(*slot, gname, glen) : NULL;
    if (g && g->n) {
        /* a copy from another node: the strategy among our members; a redispatch: any
         * other member */
        uint32_t start;
        if (exclude_sid)
            start = (uint32_t)(st_rand(rng) % g->n);
        else if (s->strategy == ST_SHARE_ROUND_ROBIN ||
                 s->strategy == ST_SHARE_ROUND_ROBIN_PER_GROUP)
            start = atomic_fetch_add_explicit(&g->cursor_in, 1, memory_order_relaxed) % g->n;
        else
            start = (uint32_t)pick_index(g, s->strategy, msg, "", 0, UINT16_MAX, rng, 0);
        for (uint32_t k = 0; k < g->n && !found; k++) {
            const st_target *t = &g->m[(start + k) % g->n];
            if (t->sid == exclude_sid) continue;
            *out = *t;
            atomic_fetch_add_explicit(&g->key->refs, 1, memory_order_relaxed);
            out->share = g->key;
            found = 1;
        }
    }
    pthread_rwlock_unlock(&s->lock);
    return found;
}

void st_subs_set_route_hook(st_subs *s, st_subs_route_fn fn, void *cx)
{
    pthread_rwlock_wrlock(&s->lock);
    s->route = fn;
    s->route_cx = cx;
    pthread_rwlock_unlock(&s->lock);
}

static int remote_add(st_subs *s, const char *filter, size_t len, uint16_t node)
{
    void **slot = st_trie_slot(s->trie, filter, len);
    if (!slot) return ST_ENOMEM;
    fnode *f = *slot;
    if (!f) {
        if (!(f = calloc(1, sizeof *f))) return ST_ENOMEM;
        *slot = f;
    }
    for (uint32_t i = 0; i < f->nrn; i++)
        if (f->rn[i] == node) return 0;
    if (f->nrn == f->caprn) {
        uint16_t nc = (uint16_t)(f->caprn ? f->caprn * 2 : 2);
        uint16_t *v = realloc(f->rn, nc * sizeof *v);
        if (!v) return ST_ENOMEM;
        f->rn = v;
        f->caprn = nc;
    }
    f->rn[f->nrn++] = node;
    s->remote_count++;
    return 1;
}

static int remote_del(st_subs *s, const char *filter, size_t len, uint16_t node)
{
    void **slot = st_trie_find(s->trie, filter, len);
    if (!slot || !*slot) return 0;
    fnode *f = *slot;
    int rc = 0;
    for (uint32_t i = 0; i < f->nrn; i++)
        if (f->rn[i] == node) {
            f->rn[i] = f->rn[--f->nrn];
            s->remote_count--;
            rc = 1;
            break;
        }
    fnode_gc(s, slot, filter, len);
    return rc;
}

/* Node `node` has `count` members of group gname on filter (0: none any more). */
static int remote_share(st_subs *s, const st_route_op *op, uint16_t node)
{
    void **slot = op->members ? st_trie_slot(s->trie, op->filter, op->len)
                              : st_trie_find(s->trie, op->filter, op->len);
    if (!slot) return op->members ? ST_ENOMEM : 0;
    fnode *f = *slot;
    if (!f && !op->members) return 0;
    if (!f && !(f = *slot = calloc(1, sizeof *f))) return ST_ENOMEM;
    group *g = find_group(f, op->group, op->glen);
    if (!g && op->members) {
        size_t kl = 8 + op->glen + op->len; /* "$share/" group "/" filter */
        char *key = malloc(kl + 1);
        if (!key) return ST_ENOMEM;
        snprintf(key, kl + 1, "$share/%.*s/%.*s", (int)op->glen, op->group, (int)op->len,
                 op->filter);
        g = add_group(f, key, kl, key + 7, op->glen);
        free(key);
        if (!g) return ST_ENOMEM;
    }
    if (g) {
        int i = remote_index(g, node);
        if (i >= 0) {
            g->rtotal -= g->r[i].count;
            s->remote_count--;
            g->r[i] = g->r[--g->nr];
        }
        if (op->members) {
            if (g->nr == g->capr) {
                uint32_t nc = g->capr ? g->capr * 2 : 2;
                rmember *v = realloc(g->r, nc * sizeof *v);
                if (!v) return ST_ENOMEM;
                g->r = v;
                g->capr = nc;
            }
            g->r[g->nr++] = (rmember){node, op->members};
            g->rtotal += op->members;
            s->remote_count++;
        }
        group_gc(f, g);
    }
    fnode_gc(s, slot, op->filter, op->len);
    return 0;
}

typedef struct local_ctx {
    void (*cb)(void *ctx, const char *key, size_t len, uint32_t count);
    void *ctx;
} local_ctx;

static int local_cb(const char *key, size_t len, void *val, void *ctx)
{
    local_ctx *c = ctx;
    const fnode *f = val;
    if (f->n) c->cb(c->ctx, key, len, 1);
    for (uint32_t i = 0; i < f->ng; i++)
        if (f->g[i]->n) c->cb(c->ctx, f->g[i]->key->s, f->g[i]->key->len, f->g[i]->n);
    return 0;
}

void st_subs_local_each(st_subs *s,
                        void (*cb)(void *ctx, const char *key, size_t len, uint32_t count),
                        void *ctx)
{
    local_ctx c = {cb, ctx};
    pthread_rwlock_rdlock(&s->lock);
    st_trie_each_key(s->trie, local_cb, &c);
    pthread_rwlock_unlock(&s->lock);
}

int st_subs_remote_apply(st_subs *s, const st_route_op *ops, size_t n, uint16_t node)
{
    int rc = 0;
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < n && rc >= 0; i++) {
        if (ops[i].group)
            rc = remote_share(s, &ops[i], node);
        else if (ops[i].present)
            rc = remote_add(s, ops[i].filter, ops[i].len, node);
        else
            remote_del(s, ops[i].filter, ops[i].len, node);
    }
    pthread_rwlock_unlock(&s->lock);
    return rc < 0 ? rc : 0;
}

size_t st_subs_remote_count(st_subs *s)
{
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->remote_count;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

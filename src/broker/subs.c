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
#include <stdlib.h>
#include <string.h>

typedef struct group {
    st_sharekey *key;
    const char *name; /* inside key->s */
    size_t nlen;
    st_target *m;
    uint32_t n, cap;
    atomic_uint cursor;
    _Atomic uint64_t sticky;
} group;

typedef struct fnode {
    st_target *m;
    uint32_t n, cap;
    group **g;
    uint32_t ng;
    uint16_t *rn; /* remote node slots that have subscribers to this filter */
    uint32_t nrn, caprn;
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

static st_sharekey *sharekey_new(const char *s, size_t len)
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
    free(g);
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
    g->key = sharekey_new(full, flen);
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
        if (rc == 1 && f->n == 1 && s->route) s->route(s->route_cx, real, rlen, 1);
        return rc;
    }
    group *g = find_group(f, gname, glen);
    if (!g && !(g = add_group(f, filter, len, gname, glen))) return ST_ENOMEM;
    return members_put(&g->m, &g->n, &g->cap, &e);
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
        if (rc == 1 && f->n == 0 && s->route) s->route(s->route_cx, real, rlen, 0);
    } else {
        group *g = find_group(f, gname, glen);
        rc = g ? members_del(g->m, &g->n, sid) : 0;
        if (g && g->n == 0) {
            for (uint32_t i = 0; i < f->ng; i++)
                if (f->g[i] == g) f->g[i] = f->g[--f->ng];
            group_free(g);
        }
    }
    if (f->n == 0 && f->ng == 0 && f->nrn == 0) {
        fnode_free(f, NULL);
        *slot = NULL;
        st_trie_prune(s->trie, real, rlen);
    }
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

/* choose a member index of g for this message according to the strategy */
static uint32_t pick_index(group *g, int strategy, const st_msg *msg, const char *pub_key,
                           size_t pub_key_len, uint16_t worker, uint64_t *rng)
{
    switch (strategy) {
    case ST_SHARE_STICKY: {
        int i = member_alive(g, atomic_load(&g->sticky));
        if (i >= 0) return (uint32_t)i;
        uint32_t r = (uint32_t)(st_rand(rng) % g->n);
        atomic_store(&g->sticky, g->m[r].sid);
        return r;
    }
    case ST_SHARE_LOCAL: /* prefer members on the publisher's worker */
        for (uint32_t k = 0, start = (uint32_t)(st_rand(rng) % g->n); k < g->n; k++) {
            uint32_t i = (start + k) % g->n;
            if (g->m[i].worker == worker) return i;
        }
        return (uint32_t)(st_rand(rng) % g->n);
    case ST_SHARE_HASH_TOPIC:
        return (uint32_t)(st_hash(msg->topic, msg->topic_len) % g->n);
    case ST_SHARE_HASH_CLIENTID:
        return (uint32_t)(st_hash(pub_key, pub_key_len) % g->n);
    case ST_SHARE_RANDOM:
        return (uint32_t)(st_rand(rng) % g->n);
    default: /* round robin (per group) */
        return atomic_fetch_add_explicit(&g->cursor, 1, memory_order_relaxed) % g->n;
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
    for (uint32_t i = 0; i < f->ng; i++) {
        group *g = f->g[i];
        if (!g->n) continue;
        uint32_t k =
            pick_index(g, c->s->strategy, c->msg, c->pub_key, c->pub_key_len, c->worker, c->rng);
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
    match_ctx c = {s, dest, msg, pub_key, pub_key_len, worker, rng, out, 0};
    pthread_rwlock_rdlock(&s->lock);
    st_trie_match(s->trie, msg->topic, msg->topic_len, match_cb, &c);
    pthread_rwlock_unlock(&s->lock);
    return c.added;
}

int st_subs_pick(st_subs *s, const st_sharekey *key, const st_msg *msg, uint64_t exclude_sid,
                 uint64_t *rng, st_target *out)
{
    const char *gname, *real;
    size_t glen, rlen;
    int found = 0;
    if (st_share_parse(key->s, key->len, &gname, &glen, &real, &rlen) != 1) return 0;
    pthread_rwlock_rdlock(&s->lock);
    void **slot = st_trie_find(s->trie, real, rlen);
    group *g = slot && *slot ? find_group(*slot, gname, glen) : NULL;
    if (g && g->n) {
        uint32_t start = (uint32_t)(st_rand(rng) % g->n);
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
    (void)msg;
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
        uint32_t nc = f->caprn ? f->caprn * 2 : 2;
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
    if (f->n == 0 && f->ng == 0 && f->nrn == 0) {
        fnode_free(f, NULL);
        *slot = NULL;
        st_trie_prune(s->trie, filter, len);
    }
    return rc;
}

int st_subs_remote_apply(st_subs *s, const st_route_op *ops, size_t n, uint16_t node)
{
    int rc = 0;
    pthread_rwlock_wrlock(&s->lock);
    for (size_t i = 0; i < n && rc >= 0; i++) {
        if (ops[i].present)
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

/* retain.c — retained messages in a topic trie (st_trie used as a set of topic names);
 * a subscription's filter scans it. Expired messages are skipped on read and dropped
 * on the next write to their topic. */
#include "broker/retain.h"
#include "core/err.h"
#include "core/strmap.h"
#include "route/trie.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct msgvec {
    st_msg **v;
    size_t n, cap;
} msgvec;

struct st_retain {
    pthread_mutex_t lock;
    st_trie *trie;
    int64_t max;
    size_t count;
};

st_retain *st_retain_new(int64_t max_messages)
{
    st_retain *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->trie = st_trie_new();
    if (!r->trie) {
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->lock, NULL);
    r->max = max_messages;
    return r;
}

static void free_val(void *val, void *ctx)
{
    st_msg_unref(val);
}

void st_retain_free(st_retain *r)
{
    if (!r) return;
    st_trie_free(r->trie, free_val, NULL);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

static int tomb(const st_msg *m)
{
    return m->payload_len == 0;
}

/* Does version (a, ma) beat (b, mb)? Unversioned writes (0) always win. */
static int newer(uint64_t a, const st_msg *ma, uint64_t b, const st_msg *mb)
{
    if (!a || a != b) return !a || a > b;
    uint64_t ha = st_hash(ma->payload, ma->payload_len), hb = st_hash(mb->payload, mb->payload_len);
    return ha > hb;
}

int st_retain_put(st_retain *r, st_msg *msg)
{
    int rc = 1;
    pthread_mutex_lock(&r->lock);
    void **slot = st_trie_find(r->trie, msg->topic, msg->topic_len);
    st_msg *old = slot ? *slot : NULL;
    int live = old && !tomb(old);
    if (old && !newer(msg->rv, msg, old->rv, old)) {
        rc = 0;
    } else if (tomb(msg) && !msg->rv) { /* a standalone delete: nothing to remember */
        if (old) {
            st_msg_unref(old);
            *slot = NULL;
            r->count -= (size_t)live;
            st_trie_prune(r->trie, msg->topic, msg->topic_len);
        }
    } else if (!tomb(msg) && !live && r->max > 0 && (int64_t)r->count >= r->max) {
        rc = ST_EFULL;
    } else if (!slot && !(slot = st_trie_slot(r->trie, msg->topic, msg->topic_len))) {
        rc = ST_ENOMEM;
    } else {
        if (old) st_msg_unref(old);
        r->count += (size_t)!tomb(msg) - (size_t)live;
        *slot = st_msg_ref(msg);
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

typedef struct dump_ctx {
    msgvec out;
} dump_ctx;

static int push_ref(msgvec *v, st_msg *m)
{
    if (v->n == v->cap) {
        size_t nc = v->cap ? v->cap * 2 : 16;
        st_msg **nv = realloc(v->v, nc * sizeof *nv);
        if (!nv) return 1;
        v->v = nv;
        v->cap = nc;
    }
    v->v[v->n++] = st_msg_ref(m);
    return 0;
}

static int dump_cb(void *val, void *ctx)
{
    return push_ref(&((dump_ctx *)ctx)->out, val);
}

void st_retain_dump(st_retain *r, void (*cb)(st_msg *m, void *ctx), void *ctx)
{
    dump_ctx c = {{0}};
    pthread_mutex_lock(&r->lock);
    st_trie_each(r->trie, dump_cb, &c);
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < c.out.n; i++)
        cb(c.out.v[i], ctx);
    free(c.out.v);
}

typedef struct scan_ctx {
    int64_t now;
    msgvec out;
} scan_ctx;

static int scan_cb(void *val, void *ctx)
{
    scan_ctx *c = ctx;
    st_msg *m = val;
    if (tomb(m) || st_msg_expired(m, c->now)) return 0;
    return push_ref(&c->out, m);
}

void st_retain_match(st_retain *r, const char *filter, size_t len, int64_t now_ms,
                     void (*cb)(st_msg *m, void *ctx), void *ctx)
{
    scan_ctx c = {.now = now_ms};
    pthread_mutex_lock(&r->lock);
    st_trie_scan(r->trie, filter, len, scan_cb, &c);
    pthread_mutex_unlock(&r->lock);
    for (size_t i = 0; i < c.out.n; i++)
        cb(c.out.v[i], ctx);
    free(c.out.v);
}

typedef struct gc_ctx {
    uint64_t before;
    msgvec out;
} gc_ctx;

static int gc_cb(void *val, void *ctx)
{
    gc_ctx *c = ctx;
    st_msg *m = val;
    return tomb(m) && m->rv < c->before ? push_ref(&c->out, m) : 0;
}

size_t st_retain_gc(st_retain *r, uint64_t before)
{
    gc_ctx c = {before, {0}};
    size_t dropped = 0;
    pthread_mutex_lock(&r->lock);
    st_trie_each(r->trie, gc_cb, &c);
    for (size_t i = 0; i < c.out.n; i++) {
        st_msg *m = c.out.v[i];
        void **slot = st_trie_find(r->trie, m->topic, m->topic_len);
        if (slot && *slot == m) {
            st_msg_unref(m);
            *slot = NULL;
            st_trie_prune(r->trie, m->topic, m->topic_len);
            dropped++;
        }
        st_msg_unref(m);
    }
    pthread_mutex_unlock(&r->lock);
    free(c.out.v);
    return dropped;
}

size_t st_retain_count(st_retain *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

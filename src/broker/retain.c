/* retain.c — retained messages in a topic trie (st_trie used as a set of topic names);
 * a subscription's filter scans it. Expired messages are skipped on read and dropped
 * on the next write to their topic. */
#include "broker/retain.h"
#include "core/err.h"
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

int st_retain_put(st_retain *r, st_msg *msg)
{
    int rc = 0;
    pthread_mutex_lock(&r->lock);
    if (msg->payload_len == 0) {
        void **slot = st_trie_find(r->trie, msg->topic, msg->topic_len);
        if (slot && *slot) {
            st_msg_unref(*slot);
            *slot = NULL;
            r->count--;
            st_trie_prune(r->trie, msg->topic, msg->topic_len);
        }
    } else {
        void **slot = st_trie_find(r->trie, msg->topic, msg->topic_len);
        if ((!slot || !*slot) && r->max > 0 && (int64_t)r->count >= r->max) {
            rc = ST_EFULL;
        } else if (!slot && !(slot = st_trie_slot(r->trie, msg->topic, msg->topic_len))) {
            rc = ST_ENOMEM;
        } else {
            if (*slot)
                st_msg_unref(*slot);
            else
                r->count++;
            *slot = st_msg_ref(msg);
        }
    }
    pthread_mutex_unlock(&r->lock);
    return rc;
}

typedef struct scan_ctx {
    int64_t now;
    msgvec out;
} scan_ctx;

static int scan_cb(void *val, void *ctx)
{
    scan_ctx *c = ctx;
    st_msg *m = val;
    if (st_msg_expired(m, c->now)) return 0;
    if (c->out.n == c->out.cap) {
        size_t nc = c->out.cap ? c->out.cap * 2 : 16;
        st_msg **v = realloc(c->out.v, nc * sizeof *v);
        if (!v) return 1;
        c->out.v = v;
        c->out.cap = nc;
    }
    c->out.v[c->out.n++] = st_msg_ref(m);
    return 0;
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

size_t st_retain_count(st_retain *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->count;
    pthread_mutex_unlock(&r->lock);
    return n;
}

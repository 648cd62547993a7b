/* routes.c — route sync between nodes (docs/cluster.md §7), on the cluster thread.
 * Each node owns its routes: the filters it has local subscribers to. Changes arrive from
 * the workers through the inbox in table order (the subscription table posts them under
 * its write lock); they update the local index and go out as ROUTE_BATCH frames on every
 * live CONTROL link. A new link starts with a full sync (BEGIN, the whole index, END); the
 * receiver marks what the sync re-announced and, at END, sweeps the rest (no window in
 * which routes vanish). Routes of a peer are kept while its links are down and dropped
 * when it says GOODBYE. */
#include "broker/subs.h"
#include "broker/worker.h"
#include "cluster/forward.h"
#include "cluster/internal.h"
#include "cluster/routes.h"
#include "route/trie.h"

#include <stdlib.h>
#include <string.h>

#define BATCH_OPS 512
#define BATCH_BYTES (60 * 1024)

typedef struct batch {
    cw_route_op ops[BATCH_OPS];
    uint16_t n;
    size_t bytes;
} batch;

static void batch_send(st_cluster *c, st_peer *p, batch *b)
{
    if (!b->n) return;
    st_cl_dpeer *d = &c->dp[p->slot];
    size_t sz = cw_encode_route_batch(++d->route_seq, b->ops, b->n, NULL, 0);
    uint8_t *buf = malloc(sz);
    if (buf) {
        cw_encode_route_batch(d->route_seq, b->ops, b->n, buf, sz);
        st_link_send(p->link, buf, sz);
        free(buf);
    }
    b->n = 0;
    b->bytes = 0;
}

/* One op for index key k (a filter, or "$share/<group>/<filter>") with count (plain: 1/0,
 * shared: members here). The key must stay valid until the batch is sent. */
static void batch_add(st_cluster *c, st_peer *p, batch *b, const char *k, size_t len,
                      uint32_t count)
{
    if (b->n == BATCH_OPS || b->bytes + len + 16 > BATCH_BYTES) batch_send(c, p, b);
    cw_route_op *op = &b->ops[b->n++];
    memset(op, 0, sizeof *op);
    const char *g, *f;
    size_t gl, fl;
    if (st_share_parse(k, len, &g, &gl, &f, &fl) == 1) {
        op->kind = CW_ROUTE_SHARE;
        op->filter = (st_bytes){(const uint8_t *)f, (uint32_t)fl};
        op->group = (st_bytes){(const uint8_t *)g, (uint32_t)gl};
        op->members = count;
    } else {
        op->kind = count ? CW_ROUTE_ADD : CW_ROUTE_DEL;
        op->filter = (st_bytes){(const uint8_t *)k, (uint32_t)len};
    }
    b->bytes += len + 16;
}

/* The last frame sent to d's peer carried route items up to item: wait for its ACK. */
static void expect_ack(st_cl_dpeer *d, uint64_t item)
{
    if (d->npend == 32) { /* a peer this far behind: keep the newest (acks are cumulative) */
        memmove(d->route_pend, d->route_pend + 1, 31 * sizeof d->route_pend[0]);
        d->npend--;
    }
    d->route_pend[d->npend].frame = d->route_seq;
    d->route_pend[d->npend].item = item;
    d->npend++;
}

/* The peer confirmed route frames up to seq (ACK). */
static void routes_acked(st_cluster *c, st_peer *p, uint64_t seq)
{
    st_cl_dpeer *d = &c->dp[p->slot];
    uint32_t k = 0;
    while (k < d->npend && d->route_pend[k].frame <= seq)
        d->route_acked = d->route_pend[k++].item;
    memmove(d->route_pend, d->route_pend + k, (d->npend - k) * sizeof d->route_pend[0]);
    d->npend -= k;
    st_cl_routes_publish_ack(c);
}

void st_cl_routes_publish_ack(st_cluster *c)
{
    if (!c->broker) return;
    uint64_t acked = c->route_done;
    for (int i = 0; i < st_links_npeers(c->links); i++)
        if (st_peer_link(st_links_peer_at(c->links, i)) && c->dp[i].route_acked < acked)
            acked = c->dp[i].route_acked;
    st_broker *b = c->broker;
    uint64_t old = atomic_exchange_explicit(&b->route_acked, acked, memory_order_acq_rel);
    if (acked <= old) return;
    for (int k = 0; k < b->nw; k++)
        if (atomic_load(&b->w[k].nheld)) st_fwd_routes_acked(c->fwd, (uint16_t)k);
}

static void send_sync(st_cluster *c, st_peer *p, uint8_t type, uint32_t count)
{
    uint8_t buf[64];
    cw_route_sync s = {++c->dp[p->slot].route_seq, c->boot, count};
    st_link_send(p->link, buf, cw_encode_route_sync(type, &s, buf, sizeof buf));
}

static void index_add(void *ctx, const char *key, size_t len, uint32_t count)
{
    st_cluster *c = ctx;
    st_strmap_put(c->routes, key, len, (void *)(uintptr_t)count);
}

/* A node that has never had a peer keeps no index of its routes (a row per subscribed
 * filter, for nobody): the first link builds it from the subscription table. Route items
 * still queued then were posted before; applied after, they leave the index as the table
 * is at the end, since every change after the walk is also an item. */
static void index_build(st_cluster *c)
{
    if (c->routes_on || !c->broker) return;
    st_subs_local_each(c->broker->subs, index_add, c);
    c->routes_on = 1;
    pthread_mutex_lock(&c->view_lock);
    c->nroutes = st_strmap_count(c->routes);
    pthread_mutex_unlock(&c->view_lock);
}

void st_cl_routes_link_up(st_cluster *c, st_peer *p)
{
    st_cl_dpeer *d = &c->dp[p->slot];
    d->route_seq = d->route_acked = 0; /* a new link: its frames count from 1 */
    d->npend = 0;
    index_build(c);
    batch *b = calloc(1, sizeof *b);
    if (!b) return;
    send_sync(c, p, CW_ROUTE_SYNC_BEGIN, 0);
    size_t it = 0, len;
    const char *k;
    void *v;
    while (st_strmap_next(c->routes, &it, &k, &len, &v))
        batch_add(c, p, b, k, len, (uint32_t)(uintptr_t)v);
    batch_send(c, p, b);
    send_sync(c, p, CW_ROUTE_SYNC_END, (uint32_t)st_strmap_count(c->routes));
    expect_ack(d, c->route_done);
    pthread_mutex_lock(&c->view_lock);
    c->routes_tx += st_strmap_count(c->routes);
    pthread_mutex_unlock(&c->view_lock);
    free(b);
}

/* Drained route items: update the index, then one pass of batches per live link. */
void st_cl_routes_changed(st_cluster *c, st_cl_item **items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_cl_item *it = items[i];
        if (!c->routes_on) /* no index yet: nobody to tell (st_cl_routes_link_up builds it) */
            ;
        else if (it->count)
            st_strmap_put(c->routes, it->s, it->len, (void *)(uintptr_t)it->count);
        else
            st_strmap_del(c->routes, it->s, it->len);
        if (it->seq > c->route_done) c->route_done = it->seq;
    }
    pthread_mutex_lock(&c->view_lock);
    c->routes_tx += n;
    c->nroutes = st_strmap_count(c->routes);
    pthread_mutex_unlock(&c->view_lock);
    batch *b = calloc(1, sizeof *b);
    if (!b) return;
    for (int s = 0; s < st_links_npeers(c->links); s++) {
        st_peer *p = st_links_peer_at(c->links, s);
        if (!st_peer_link(p)) continue;
        for (size_t i = 0; i < n; i++)
            batch_add(c, p, b, items[i]->s, items[i]->len, items[i]->count);
        batch_send(c, p, b);
        expect_ack(&c->dp[s], c->route_done);
    }
    free(b);
    st_cl_routes_publish_ack(c);
}

static void ack_frame(st_link *l, uint64_t seq)
{
    uint8_t buf[32];
    st_link_send(l, buf, cw_encode_ack(seq, NULL, 0, buf, sizeof buf));
}

/* Apply ops to the subscription table in chunks (one write-lock hold each). */
typedef struct applier {
    st_subs *subs;
    uint16_t slot;
    st_route_op ops[256];
    size_t n;
} applier;

static void apply_flush(applier *a)
{
    if (a->n) st_subs_remote_apply(a->subs, a->ops, a->n, a->slot);
    a->n = 0;
}

/* The pointers must stay valid until the next flush. */
static void apply_add(applier *a, const char *f, size_t len, const char *g, size_t gl,
                      uint32_t count)
{
    if (a->n == 256) apply_flush(a);
    a->ops[a->n++] = (st_route_op){f, len, count != 0, g, gl, count};
}

/* Index key k ("$share/g/f" or a filter) with count: an op for the table. */
static void apply_key(applier *a, const char *k, size_t len, uint32_t count)
{
    const char *g, *f;
    size_t gl, fl;
    if (st_share_parse(k, len, &g, &gl, &f, &fl) == 1)
        apply_add(a, f, fl, g, gl, count);
    else
        apply_add(a, k, len, NULL, 0, count);
}

static int valid_filter(st_bytes f)
{
    const char *g, *real;
    size_t gl, rl;
    return st_filter_check((const char *)f.p, f.len) == 0 &&
           st_share_parse((const char *)f.p, f.len, &g, &gl, &real, &rl) == 0;
}

static int valid_group(st_bytes g)
{
    return g.len && !memchr(g.p, '/', g.len) && !memchr(g.p, '+', g.len) &&
           !memchr(g.p, '#', g.len) && !memchr(g.p, 0, g.len);
}

static void sync_begin(st_cluster *c, st_peer *p)
{
    st_cl_dpeer *d = &c->dp[p->slot];
    if (!d->routes) d->routes = st_strmap_new();
    d->route_gen++;
}

static void routes_batch(st_cluster *c, st_peer *p, const cw_route_batch *rb)
{
    if (!c->broker) return;
    st_cl_dpeer *d = &c->dp[p->slot];
    if (!d->routes && !(d->routes = st_strmap_new())) return;
    if (!d->route_gen) d->route_gen = 1;
    applier a = {c->broker->subs, p->slot, {{0}}, 0};
    uint32_t off = 0;
    uint64_t nops = 0;
    cw_route_op op;
    while (cw_route_next(rb, &off, &op)) {
        if (!valid_filter(op.filter)) continue;
        const char *f = (const char *)op.filter.p;
        nops++;
        if (op.kind == CW_ROUTE_SHARE) {
            if (!valid_group(op.group)) continue;
            size_t kl = 8 + op.group.len + op.filter.len; /* the index key, "$share/g/f" */
            char *k = malloc(kl + 1);
            if (!k) continue;
            snprintf(k, kl + 1, "$share/%.*s/%.*s", (int)op.group.len, (const char *)op.group.p,
                     (int)op.filter.len, f);
            int known = st_strmap_del(d->routes, k, kl) != NULL;
            if (op.members) st_strmap_put(d->routes, k, kl, (void *)d->route_gen);
            free(k);
            if (!op.members && !known) continue;
            apply_add(&a, f, op.filter.len, (const char *)op.group.p, op.group.len, op.members);
        } else if (op.kind == CW_ROUTE_ADD) {
            st_strmap_put(d->routes, f, op.filter.len, (void *)d->route_gen);
            apply_add(&a, f, op.filter.len, NULL, 0, 1);
        } else if (st_strmap_del(d->routes, f, op.filter.len)) {
            apply_add(&a, f, op.filter.len, NULL, 0, 0);
        }
    }
    apply_flush(&a); /* the filters point into the frame, valid until we return */
    if (p->link) ack_frame(p->link, rb->seq); /* applied: publishes here will match */
    pthread_mutex_lock(&c->view_lock);
    d->nroutes = st_strmap_count(d->routes);
    d->routes_rx += nops;
    pthread_mutex_unlock(&c->view_lock);
}

/* Remove p's routes whose generation is older than keep (keep 0: all of them): first from
 * the subscription table (the keys stay valid meanwhile), then from the index. */
static void sweep(st_cluster *c, st_peer *p, uintptr_t keep)
{
    st_cl_dpeer *d = &c->dp[p->slot];
    if (!d->routes || !c->broker) return;
    applier a = {c->broker->subs, p->slot, {{0}}, 0};
    size_t it = 0, len;
    const char *k;
    void *v;
    while (st_strmap_next(d->routes, &it, &k, &len, &v))
        if (!keep || (uintptr_t)v < keep) apply_key(&a, k, len, 0);
    apply_flush(&a);
    for (it = 0; st_strmap_next(d->routes, &it, &k, &len, &v);)
        if (!keep || (uintptr_t)v < keep) st_strmap_del(d->routes, k, len);
    pthread_mutex_lock(&c->view_lock);
    d->nroutes = st_strmap_count(d->routes);
    pthread_mutex_unlock(&c->view_lock);
}

static void sync_end(st_cluster *c, st_peer *p, uint64_t seq)
{
    if (c->dp[p->slot].route_gen) sweep(c, p, c->dp[p->slot].route_gen);
    if (p->link) ack_frame(p->link, seq);
}

void st_cl_routes_purge(st_cluster *c, st_peer *p)
{
    sweep(c, p, 0);
    LOG_INFO(c->log, "cluster: routes of %s removed", p->name);
}

/* ROUTE_SYNC_BEGIN / END, ROUTE_BATCH and ACK on a CONTROL link. */
static void on_frame(void *owner, st_link *l, const cw_frame *f)
{
    st_cluster *c = owner;
    st_peer *p = st_link_peer(l);
    cw_route_sync rs;
    cw_route_batch rb;
    cw_ack a;
    if (!p) return;
    if ((f->type == CW_ROUTE_SYNC_BEGIN || f->type == CW_ROUTE_SYNC_END) &&
        cw_decode_route_sync(f->type, f->body, &rs) == 0) {
        if (f->type == CW_ROUTE_SYNC_BEGIN)
            sync_begin(c, p);
        else
            sync_end(c, p, rs.seq);
    } else if (f->type == CW_ROUTE_BATCH && cw_decode_route_batch(f->body, &rb) == 0) {
        routes_batch(c, p, &rb);
    } else if (f->type == CW_ACK && cw_decode_ack(f->body, &a) == 0) {
        routes_acked(c, p, a.seq);
    }
}

void st_cl_routes_register(st_cluster *c)
{
    static const uint8_t types[] = {CW_ROUTE_SYNC_BEGIN, CW_ROUTE_SYNC_END, CW_ROUTE_BATCH, CW_ACK};
    for (size_t i = 0; i < sizeof types; i++)
        st_links_on_frame(c->links, types[i], on_frame, c);
}

void st_cl_routes_free(st_cluster *c)
{
    for (int i = 0; i < ST_LINKS_MAX_PEERS; i++)
        st_strmap_free(c->dp[i].routes);
}

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
#include "cluster/data/forward.h"
#include "cluster/data/internal.h"
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

static void batch_send(st_data *d, st_peer *p, batch *b)
{
    if (!b->n) return;
    st_data_peer *dp = &d->dp[p->slot];
    size_t sz = cw_encode_route_batch(++dp->route_seq, b->ops, b->n, NULL, 0);
    uint8_t *buf = malloc(sz);
    if (buf) {
        cw_encode_route_batch(dp->route_seq, b->ops, b->n, buf, sz);
        st_link_send(p->link, buf, sz);
        free(buf);
    }
    b->n = 0;
    b->bytes = 0;
}

/* One op for index key k (a filter, or "$share/<group>/<filter>") with count (plain: 1/0,
 * shared: members here). The key must stay valid until the batch is sent. */
static void batch_add(st_data *d, st_peer *p, batch *b, const char *k, size_t len, uint32_t count)
{
    if (b->n == BATCH_OPS || b->bytes + len + 16 > BATCH_BYTES) batch_send(d, p, b);
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
static void expect_ack(st_data_peer *dp, uint64_t item)
{
    if (dp->npend == 32) { /* a peer this far behind: keep the newest (acks are cumulative) */
        memmove(dp->route_pend, dp->route_pend + 1, 31 * sizeof dp->route_pend[0]);
        dp->npend--;
    }
    dp->route_pend[dp->npend].frame = dp->route_seq;
    dp->route_pend[dp->npend].item = item;
    dp->npend++;
}

/* The peer confirmed route frames up to seq (ACK). */
static void routes_acked(st_data *d, st_peer *p, uint64_t seq)
{
    st_data_peer *dp = &d->dp[p->slot];
    uint32_t k = 0;
    while (k < dp->npend && dp->route_pend[k].frame <= seq)
        dp->route_acked = dp->route_pend[k++].item;
    memmove(dp->route_pend, dp->route_pend + k, (dp->npend - k) * sizeof dp->route_pend[0]);
    dp->npend -= k;
    st_data_routes_publish_ack(d);
}

void st_data_routes_publish_ack(st_data *d)
{
    if (!d->broker) return;
    uint64_t acked = d->route_done;
    for (int i = 0; i < st_links_npeers(d->env.links); i++)
        if (st_peer_link(st_links_peer_at(d->env.links, i)) && d->dp[i].route_acked < acked)
            acked = d->dp[i].route_acked;
    st_broker *b = d->broker;
    uint64_t old = atomic_exchange_explicit(&b->route_acked, acked, memory_order_acq_rel);
    if (acked <= old) return;
    for (int k = 0; k < b->nw; k++)
        if (atomic_load(&b->w[k].nheld)) st_fwd_routes_acked(d->fwd, (uint16_t)k);
}

static void send_sync(st_data *d, st_peer *p, uint8_t type, uint32_t count)
{
    uint8_t buf[64];
    cw_route_sync s = {++d->dp[p->slot].route_seq, d->env.boot, count};
    st_link_send(p->link, buf, cw_encode_route_sync(type, &s, buf, sizeof buf));
}

static void index_add(void *ctx, const char *key, size_t len, uint32_t count)
{
    st_data *d = ctx;
    st_strmap_put(d->routes, key, len, (void *)(uintptr_t)count);
}

/* A node that has never had a peer keeps no index of its routes (a row per subscribed
 * filter, for nobody): the first link builds it from the subscription table. Route items
 * still queued then were posted before; applied after, they leave the index as the table
 * is at the end, since every change after the walk is also an item. */
static void index_build(st_data *d)
{
    if (d->routes_on || !d->broker) return;
    st_subs_local_each(d->broker->subs, index_add, d);
    d->routes_on = 1;
    pthread_mutex_lock(d->env.view_lock);
    d->nroutes = st_strmap_count(d->routes);
    pthread_mutex_unlock(d->env.view_lock);
}

void st_data_routes_link_up(st_data *d, st_peer *p)
{
    st_data_peer *dp = &d->dp[p->slot];
    dp->route_seq = dp->route_acked = 0; /* a new link: its frames count from 1 */
    dp->npend = 0;
    index_build(d);
    batch *b = calloc(1, sizeof *b);
    if (!b) return;
    send_sync(d, p, CW_ROUTE_SYNC_BEGIN, 0);
    size_t it = 0, len;
    const char *k;
    void *v;
    while (st_strmap_next(d->routes, &it, &k, &len, &v))
        batch_add(d, p, b, k, len, (uint32_t)(uintptr_t)v);
    batch_send(d, p, b);
    send_sync(d, p, CW_ROUTE_SYNC_END, (uint32_t)st_strmap_count(d->routes));
    expect_ack(dp, d->route_done);
    pthread_mutex_lock(d->env.view_lock);
    d->routes_tx += st_strmap_count(d->routes);
    pthread_mutex_unlock(d->env.view_lock);
    free(b);
}

/* Drained route items: update the index, then one pass of batches per live link. */
void st_data_routes_changed(st_data *d, st_data_item **items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_data_item *it = items[i];
        if (!d->routes_on) /* no index yet: nobody to tell (st_data_routes_link_up builds it) */
            ;
        else if (it->count)
            st_strmap_put(d->routes, it->s, it->len, (void *)(uintptr_t)it->count);
        else
            st_strmap_del(d->routes, it->s, it->len);
        if (it->seq > d->route_done) d->route_done = it->seq;
    }
    pthread_mutex_lock(d->env.view_lock);
    d->routes_tx += n;
    d->nroutes = st_strmap_count(d->routes);
    pthread_mutex_unlock(d->env.view_lock);
    batch *b = calloc(1, sizeof *b);
    if (!b) return;
    for (int s = 0; s < st_links_npeers(d->env.links); s++) {
        st_peer *p = st_links_peer_at(d->env.links, s);
        if (!st_peer_link(p) || d->held) continue; /* held: the sync at the end has them */
        for (size_t i = 0; i < n; i++)
            batch_add(d, p, b, items[i]->s, items[i]->len, items[i]->count);
        batch_send(d, p, b);
        expect_ack(&d->dp[s], d->route_done);
    }
    free(b);
    st_data_routes_publish_ack(d);
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

static void sync_begin(st_data *d, st_peer *p)
{
    st_data_peer *dp = &d->dp[p->slot];
    if (!dp->routes) dp->routes = st_strmap_new();
    dp->route_gen++;
}

static void routes_batch(st_data *d, st_peer *p, const cw_route_batch *rb)
{
    if (!d->broker) return;
    st_data_peer *dp = &d->dp[p->slot];
    if (!dp->routes && !(dp->routes = st_strmap_new())) return;
    if (!dp->route_gen) dp->route_gen = 1;
    applier a = {d->broker->subs, p->slot, {{0}}, 0};
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
            int known = st_strmap_del(dp->routes, k, kl) != NULL;
            if (op.members) st_strmap_put(dp->routes, k, kl, (void *)dp->route_gen);
            free(k);
            if (!op.members && !known) continue;
            apply_add(&a, f, op.filter.len, (const char *)op.group.p, op.group.len, op.members);
        } else if (op.kind == CW_ROUTE_ADD) {
            st_strmap_put(dp->routes, f, op.filter.len, (void *)dp->route_gen);
            apply_add(&a, f, op.filter.len, NULL, 0, 1);
        } else if (st_strmap_del(dp->routes, f, op.filter.len)) {
            apply_add(&a, f, op.filter.len, NULL, 0, 0);
        }
    }
    apply_flush(&a); /* the filters point into the frame, valid until we return */
    if (p->link) ack_frame(p->link, rb->seq); /* applied: publishes here will match */
    pthread_mutex_lock(d->env.view_lock);
    dp->nroutes = st_strmap_count(dp->routes);
    dp->routes_rx += nops;
    pthread_mutex_unlock(d->env.view_lock);
}

/* Remove p's routes whose generation is older than keep (keep 0: all of them): first from
 * the subscription table (the keys stay valid meanwhile), then from the index. */
/* Whether a route of generation v (its key k) goes: older than keep (0: every one); with
 * shared_only, only a shared group's. */
static int swept(const char *k, size_t len, uintptr_t v, uintptr_t keep, int shared_only)
{
    const char *g, *f;
    size_t gl, fl;
    if (shared_only && st_share_parse(k, len, &g, &gl, &f, &fl) != 1) return 0;
    return !keep || v < keep;
}

static void sweep(st_data *d, st_peer *p, uintptr_t keep, int shared_only)
{
    st_data_peer *dp = &d->dp[p->slot];
    if (!dp->routes || !d->broker) return;
    applier a = {d->broker->subs, p->slot, {{0}}, 0};
    size_t it = 0, len;
    const char *k;
    void *v;
    while (st_strmap_next(dp->routes, &it, &k, &len, &v))
        if (swept(k, len, (uintptr_t)v, keep, shared_only)) apply_key(&a, k, len, 0);
    apply_flush(&a);
    for (it = 0; st_strmap_next(dp->routes, &it, &k, &len, &v);)
        if (swept(k, len, (uintptr_t)v, keep, shared_only)) st_strmap_del(dp->routes, k, len);
    pthread_mutex_lock(d->env.view_lock);
    dp->nroutes = st_strmap_count(dp->routes);
    pthread_mutex_unlock(d->env.view_lock);
}

static void sync_end(st_data *d, st_peer *p, uint64_t seq)
{
    if (d->dp[p->slot].route_gen) sweep(d, p, d->dp[p->slot].route_gen, 0);
    d->dp[p->slot].synced_boot = p->boot;
    if (p->link) ack_frame(p->link, seq);
}

int st_data_routes_synced(st_data *d, const char *name)
{
    st_peer *p = st_links_peer(d->env.links, name, 0);
    return p && p->link && p->boot && d->dp[p->slot].synced_boot == p->boot;
}

void st_data_routes_purge(st_data *d, st_peer *p, int shared_only)
{
    sweep(d, p, 0, shared_only);
    LOG_INFO(d->log,
             shared_only ? "cluster: shared-subscription routes of %s removed"
                         : "cluster: routes of %s removed",
             p->name);
}

/* ROUTE_SYNC_BEGIN / END, ROUTE_BATCH and ACK on a CONTROL link. */
static void on_frame(void *owner, st_link *l, const cw_frame *f)
{
    st_data *d = owner;
    st_peer *p = st_link_peer(l);
    cw_route_sync rs;
    cw_route_batch rb;
    cw_ack a;
    if (!p) return;
    if ((f->type == CW_ROUTE_SYNC_BEGIN || f->type == CW_ROUTE_SYNC_END) &&
        cw_decode_route_sync(f->type, f->body, &rs) == 0) {
        if (f->type == CW_ROUTE_SYNC_BEGIN)
            sync_begin(d, p);
        else
            sync_end(d, p, rs.seq);
    } else if (f->type == CW_ROUTE_BATCH && cw_decode_route_batch(f->body, &rb) == 0) {
        routes_batch(d, p, &rb);
    } else if (f->type == CW_ACK && cw_decode_ack(f->body, &a) == 0) {
        routes_acked(d, p, a.seq);
    }
}

void st_data_routes_register(st_data *d)
{
    static const uint8_t types[] = {CW_ROUTE_SYNC_BEGIN, CW_ROUTE_SYNC_END, CW_ROUTE_BATCH, CW_ACK};
    for (size_t i = 0; i < sizeof types; i++)
        st_links_on_frame(d->env.links, types[i], on_frame, d);
}

void st_data_routes_free(st_data *d)
{
    for (int i = 0; i < ST_LINKS_MAX_PEERS; i++)
        st_strmap_free(d->dp[i].routes);
}

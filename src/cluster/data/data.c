/* data.c — the data lanes' face (data.h): their state, the inbox of items the workers post
 * to the cluster thread, dialling our lanes to every linked peer and handing theirs to the
 * workers, the links' and the registry's events, the retained-tombstone sweep, and the
 * figures for the API. */
#include "broker/retain.h"
#include "broker/subs.h"
#include "cluster/data/adopt.h"
#include "cluster/data/forward.h"
#include "cluster/data/internal.h"
#include "cluster/data/leftover.h"
#include "cluster/data/move.h"
#include "core/clock.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOMBSTONE_GC_MS 60000

st_data *st_data_new(const st_data_cfg *cfg, const st_data_env *env)
{
    st_data *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->cfg = *cfg;
    d->env = *env;
    d->log = env->log;
    st_mpsc_init(&d->inbox);
    d->routes = st_strmap_new();
    d->leftovers = cfg->leftovers ? st_leftovers_new() : NULL;
    if (!d->routes || (cfg->leftovers && !d->leftovers)) {
        st_strmap_free(d->routes);
        free(d);
        return NULL;
    }
    return d;
}

int64_t st_data_now(const st_data *d)
{
    return (int64_t)uv_now(d->loop);
}

void st_data_post(st_data *d, st_data_item *it)
{
    st_mpsc_push(&d->inbox, &it->node);
    if (atomic_load_explicit(&d->accepting, memory_order_acquire)) uv_async_send(&d->wake);
}

void st_data_registry_post(st_data *d, const char *cid, size_t len, uint64_t hlc, int up)
{
    st_data_item *it = malloc(sizeof *it + len + 1);
    if (!it) return; /* not registered: an older connection elsewhere is not kicked */
    memset(it, 0, sizeof *it);
    it->kind = ST_DI_REGISTER;
    it->seq = hlc;
    it->count = (uint32_t)up;
    it->len = (uint32_t)len;
    memcpy(it->s, cid, len);
    it->s[len] = 0;
    st_data_post(d, it);
}

/* Under the subscription table's write lock, on any thread. */
static void route_hook(void *cx, const char *filter, size_t len, const char *group, size_t glen,
                       uint32_t count)
{
    st_data *d = cx;
    size_t klen = group ? 8 + glen + len : len;
    st_data_item *it = malloc(sizeof *it + klen + 1);
    if (!it) return; /* out of memory: the next full sync repairs it */
    memset(it, 0, sizeof *it);
    it->kind = ST_DI_ROUTE;
    it->count = count;
    it->glen = (uint32_t)glen;
    if (group)
        snprintf(it->s, klen + 1, "$share/%.*s/%.*s", (int)glen, group, (int)len, filter);
    else
        memcpy(it->s, filter, len);
    it->s[klen] = 0;
    it->len = (uint32_t)klen;
    it->seq = atomic_fetch_add(&d->broker->route_posted, 1) + 1; /* under the table's lock */
    st_data_post(d, it);
}

int st_data_attach(st_data *d, st_broker *b)
{
    st_fwd_cfg fc = {d->cfg.forward_ack, d->cfg.forward_ack_timeout_ms, d->cfg.forward_buffer_high};
    d->fwd = st_fwd_new(b, d, &fc);
    if (!d->fwd) return ST_ENOMEM;
    d->broker = b;
    b->remote = &st_fwd_ops;
    b->remote_cx = d->fwd;
    b->msg_origin = d->env.boot; /* messages taken from clients here carry it (move.h) */
    st_subs_set_route_hook(b->subs, route_hook, d);
    return 0;
}

int st_data_attached(const st_data *d)
{
    return d->broker != NULL;
}

static void routes_out(st_data *d, st_data_item **items, size_t *n)
{
    if (*n) st_data_routes_changed(d, items, *n);
    while (*n)
        free(items[--*n]);
}

static void one_item(st_data *d, st_data_item *it)
{
    if (it->kind == ST_DI_REGISTER)
        d->env.registered(d->env.ctx, it->s, it->len, it->seq, (int)it->count);
    if (it->kind == ST_DI_LANE_DOWN && it->slot < ST_LINKS_MAX_PEERS &&
        it->lane < ST_LINKS_MAX_LANES)
        d->dp[it->slot].lanes[it->lane] = ST_LANE_IDLE;
    if (it->kind == ST_DI_EVACUATE) st_data_evacuate_start(d);
    if (it->kind == ST_DI_MOVE && it->slot == ST_MOVE_ASK_SLOT)
        st_data_move_ask(d, it->lane, it->s, it->len, it->seq, (uint8_t)it->count, it->hint);
    else if (it->kind == ST_DI_MOVE)
        st_data_move_send(d, it->slot, (const uint8_t *)it->s, it->len);
    size_t cut = it->kind == ST_DI_LEFTOVER
                     ? st_leftovers_add(d->leftovers, it->slot, (const uint8_t *)it->s, it->len)
                     : 0;
    if (cut)
        LOG_WARN(d->log,
                 "cluster: %zu QoS 1/2 message(s) queued here for a member that left are past "
                 "what can be handed to its adopter (%u MiB): dropped",
                 cut, (unsigned)(CW_MAX_FRAME >> 20) - 1);
}

static void on_wake(uv_async_t *a)
{
    st_data *d = a->data;
    st_data_item *items[1024];
    size_t n = 0;
    int regs = 0;
    st_mpsc_node *node;
    while ((node = st_mpsc_pop(&d->inbox))) {
        st_data_item *it = (st_data_item *)node;
        if (it->kind == ST_DI_ROUTE) { /* batched; their order is kept */
            items[n++] = it;
            if (n == 1024) routes_out(d, items, &n);
            continue;
        }
        regs |= it->kind == ST_DI_REGISTER; /* batched into one proposal */
        one_item(d, it);
        free(it);
    }
    routes_out(d, items, &n);
    if (regs) d->env.registered_flush(d->env.ctx);
}

/* A DATA stream finished its handshake: to its worker, ours as an outbound lane, the
 * peer's as inbound. */
static void data_ready(void *owner, const st_stream *s)
{
    st_data *d = owner;
    st_data_peer *dp = &d->dp[s->peer->slot];
    if (!d->fwd || d->stopping) {
        st_tls_free(s->tls);
        close(s->fd);
        if (s->outbound) dp->lanes[s->lane] = ST_LANE_IDLE;
        return;
    }
    if (d->held && !s->outbound) { /* the peer dials again; its records wait */
        st_tls_free(s->tls);
        close(s->fd);
        return;
    }
    if (s->outbound) dp->lanes[s->lane] = ST_LANE_HANDED;
    st_fwd_adopt(d->fwd, s->fd, s->tls, s->outbound, s->peer->slot, s->lane, s->peer_id,
                 s->peer_boot, s->pre, s->npre);
}

/* One of our lanes did not get there: dialled again after a pause. */
static void data_failed(void *owner, const st_stream *s)
{
    st_data *d = owner;
    if (!s->peer || s->lane >= ST_LINKS_MAX_LANES) return;
    d->dp[s->peer->slot].lanes[s->lane] = ST_LANE_IDLE;
    d->dp[s->peer->slot].lane_retry = st_data_now(d) + ST_LINKS_DIAL_MIN_MS;
}

/* Our data lanes to every peer with a live CONTROL link (one per worker). */
static void dial_lanes(st_data *d, int64_t now)
{
    if (!d->fwd || d->stopping) return;
    for (int i = 0; i < st_links_npeers(d->env.links); i++) {
        st_peer *p = st_links_peer_at(d->env.links, i);
        st_data_peer *dp = &d->dp[i];
        if (!st_peer_link(p) || now < dp->lane_retry) continue;
        for (int k = 0; k < d->broker->nw; k++) {
            if (dp->lanes[k] != ST_LANE_IDLE) continue;
            if (st_links_dial_stream(d->env.links, CW_S_DATA, p, NULL, 0, (uint16_t)k, NULL) == 0)
                dp->lanes[k] = ST_LANE_DIALING;
            else
                dp->lane_retry = now + ST_LINKS_DIAL_MIN_MS;
        }
    }
}

int st_data_start(st_data *d, uv_loop_t *loop)
{
    d->loop = loop;
    d->wake.data = d;
    if (uv_async_init(loop, &d->wake, on_wake) < 0) return ST_ESYS;
    d->started = 1;
    atomic_store(&d->accepting, 1);
    uv_async_send(&d->wake); /* route changes posted before the thread ran */
    if (!d->fwd) return 0;
    st_data_routes_register(d);
    st_data_move_register(d);
    st_links_on_stream(d->env.links, CW_S_DATA, data_ready, data_failed, d, 1);
    return 0;
}

static void leftovers_dropped(void *ctx, const char *name, size_t n)
{
    st_data *d = ctx;
    LOG_WARN(d->log,
             "cluster: %zu QoS 1/2 message(s) queued here for %s, which left, were not taken by "
             "a member adopting its sessions: dropped",
             n, name);
}

void st_data_tick(st_data *d, int64_t now)
{
    dial_lanes(d, now);
    st_leftovers_tick(d->leftovers, now, leftovers_dropped, d);
    if (!d->broker || now < d->next_gc) return;
    int64_t every = d->cfg.tombstone_ttl_ms / 2; /* retained tombstones (cluster.md §9.2) */
    d->next_gc = now + (every < TOMBSTONE_GC_MS ? every : TOMBSTONE_GC_MS);
    uint64_t before = (uint64_t)(st_wall_ms() - d->cfg.tombstone_ttl_ms) << 16;
    size_t n = st_retain_gc(d->broker->retain, before);
    if (n) LOG_INFO(d->log, "cluster: %zu retained tombstone(s) forgotten", n);
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

void st_data_stop(st_data *d)
{
    d->stopping = 1;
    atomic_store(&d->accepting, 0);
    if (d->started) uv_close((uv_handle_t *)&d->wake, closed);
    d->started = 0;
}

void st_data_free(st_data *d)
{
    if (!d) return;
    st_mpsc_node *node;
    while ((node = st_mpsc_pop(&d->inbox)))
        free(node);
    st_data_routes_free(d);
    st_data_adopt_free(d);
    st_leftovers_free(d->leftovers);
    st_strmap_free(d->routes);
    st_fwd_free(d->fwd);
    free(d);
}

/* ---- events ---------------------------------------------------------------------------- */

void st_data_hold(st_data *d, int on)
{
    if (d->held == on) return;
    d->held = on;
    for (int i = 0; !on && d->broker && i < st_links_npeers(d->env.links); i++) {
        st_peer *p = st_links_peer_at(d->env.links, i);
        if (st_peer_link(p)) st_data_routes_link_up(d, p);
    }
}

void st_data_peer_up(st_data *d, st_peer *p, uint64_t prev_boot)
{
    if (!d->broker) return;
    if (prev_boot && prev_boot != p->boot) /* a new process: before its routes */
        st_fwd_new_boot(d->fwd, p->slot);
    if (!d->held) st_data_routes_link_up(d, p);
    st_fwd_set_live(d->fwd, p->slot, 1);
}

void st_data_peer_down(st_data *d, st_peer *p)
{
    if (d->fwd) st_fwd_set_live(d->fwd, p->slot, 0);
    if (d->fwd && !d->stopping) st_fwd_peer_down(d->fwd, p->slot, ST_FWD_LINK_DOWN);
    st_data_routes_publish_ack(d); /* SUBACKs stop waiting for it */
}

void st_data_gone(st_data *d, st_peer *p, int how)
{
    if (!d->broker) return;
    /* with the copies (leftovers on), a node declared down keeps its plain routes: what is
     * published for its durable sessions stays queued on the lanes (up to
     * forward_buffer_high) for its return, or for the member that takes them over */
    st_data_routes_purge(d, p, how == ST_GONE_DOWN && d->leftovers);
    int left = how == ST_GONE_LEFT && d->leftovers;
    if (left) /* before the workers can post theirs */
        st_leftovers_expect(d->leftovers, p->name, p->slot, d->broker->nw, st_data_now(d));
    st_fwd_peer_down(d->fwd, p->slot,
                     how == ST_GONE_DOWN ? ST_FWD_DOWN
                     : left              ? ST_FWD_LEFT_KEEP
                                         : ST_FWD_GONE);
}

int st_data_leftovers_ready(st_data *d, const char *name)
{
    return st_leftovers_ready(d->leftovers, name);
}

char *st_data_leftovers(st_data *d, const char *name, size_t *len)
{
    return st_leftovers_answer(d->leftovers, name, d->env.node_id, d->env.boot, len);
}

long st_data_leftovers_drop(st_data *d, const char *name)
{
    return st_leftovers_drop(d->leftovers, name);
}

void st_data_registry_on(st_data *d)
{
    atomic_store(&d->moves_on, 1);
    if (d->fwd) st_fwd_register_all(d->fwd);
}

void st_data_kick(st_data *d, const char *cid, size_t len, uint64_t hlc)
{
    if (d->fwd) st_fwd_kick(d->fwd, cid, len, hlc);
}

void st_data_quorum(st_data *d, int quorum)
{
    if (!d->broker || atomic_exchange(&d->broker->no_quorum, !quorum) != quorum) return;
    LOG_WARN(d->log, quorum ? "cluster: the leader is reachable again: the registry works"
                            : "cluster: no leader reachable (a minority side?): new "
                              "connections follow cluster.registry_mode");
}

int st_data_leave_evacuate(st_data *d, int64_t now)
{
    if (d->cfg.evacuation_timeout_ms <= 0 || !atomic_load(&d->moves_on)) return 0;
    d->leave_evac = 1;
    d->evac_until = now + d->cfg.evacuation_timeout_ms;
    d->evac_moved_at = now;
    d->evac_best = -1;
    st_data_evacuate_start(d);
    return 1;
}

/* ---- figures --------------------------------------------------------------------------- */

void st_data_stats_get(st_data *d, st_data_stats *s)
{
    memset(s, 0, sizeof *s);
    st_fwd_stats fs = {0};
    if (d->fwd) st_fwd_stats_get(d->fwd, &fs);
    s->fwd_sent = fs.sent;
    s->fwd_received = fs.received;
    s->fwd_dropped = fs.dropped;
    s->fwd_resent = fs.resent;
    s->fwd_redispatched = fs.redispatched;
    s->remote = d->broker ? st_subs_remote_count(d->broker->subs) : 0;
    pthread_mutex_lock(d->env.view_lock);
    s->local = d->nroutes;
    s->ops_tx = d->routes_tx;
    pthread_mutex_unlock(d->env.view_lock);
    if (d->broker) {
        uint64_t acked = atomic_load(&d->broker->route_acked); /* (read first: it trails) */
        uint64_t posted = atomic_load(&d->broker->route_posted);
        s->pending = posted > acked ? posted - acked : 0;
    }
}

void st_data_peer_routes(st_data *d, int slot, size_t *routes, uint64_t *ops_rx)
{
    *routes = d->dp[slot].nroutes;
    *ops_rx = d->dp[slot].routes_rx;
}

int st_data_lanes_over(st_data *d)
{
    return d ? st_fwd_lanes_over(d->fwd) : 0;
}

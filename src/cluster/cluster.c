/* cluster.c — the wiring of the cluster's parts (docs/cluster.md, "Parts"): the cluster
 * thread and its loop, the tick, start and an orderly stop (GOODBYE on every link); the
 * links' peer events fanned out to the control plane and the data lanes; discovery's names
 * made peers; what the data lanes need of the control plane. */
#include "cluster/internal.h"
#include "cluster/links/auth.h"
#include "cluster/registry.h"
#include "cluster/tables.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *resolve(void *ctx, const char *host)
{
    st_cluster *c = ctx;
    return c->disco ? st_discovery_addr(c->disco, host) : host;
}

static int is_member(void *ctx)
{
    return st_cl_is_member(ctx);
}

/* Discovery answered: the names are the candidates of the bootstrap decision (control.c),
 * and every one we do not know yet becomes a peer to dial. */
static void on_found(void *ctx, const char (*names)[256], int n, const char *how)
{
    st_cluster *c = ctx;
    c->ndisc = 0;
    for (int i = 0; i < n && i < ST_DISC_MAX_NAMES; i++) {
        memcpy(c->disc[c->ndisc++], names[i], sizeof c->disc[0]);
        if (strcmp(names[i], c->cfg.node_name) != 0 && !st_links_peer(c->links, names[i], 0)) {
            LOG_INFO(c->log, "cluster: discovered %s (%s)", names[i], how);
            st_links_peer(c->links, names[i], 1);
        }
    }
    c->disc_answered = 1;
}

void st_cl_drop_peer(st_cluster *c, st_peer *p, uint8_t bye, int keep, const char *why)
{
    st_links_drop(c->links, p, bye, why);
    st_data_gone(c->data, p, keep);
}

/* The links' events, to the data lanes and the control plane. */
static void on_peer(void *ctx, const st_peer_ev *ev)
{
    st_cluster *c = ctx;
    st_peer *p = ev->peer;
    switch (ev->type) {
    case ST_PEER_UP:
        c->pp[p->slot].tail_next = 0;
        c->pp[p->slot].tail_snap = 0;
        st_data_peer_up(c->data, p, ev->prev_boot);
        st_cl_on_link_up(c, ev->link);
        break;
    case ST_PEER_DOWN:
        c->pp[p->slot].tail_next = 0;
        st_data_peer_down(c->data, p);
        break;
    case ST_PEER_CLOSED:
        st_tail_link_down(c, ev->link);
        break;
    case ST_PEER_GOODBYE: /* it withdrew its routes itself; its sessions end with it */
        st_data_gone(c->data, p, 0);
        if (ev->reason == CW_BYE_REMOVED) st_cl_removed(c, p->name);
        break;
    }
}

/* ---- what the data lanes need of the control plane ------------------------------------- */

static uint64_t locate(void *ctx, const char *cid, size_t len)
{
    st_cluster *c = ctx;
    pthread_mutex_lock(&c->view_lock);
    const st_reg_row *row =
        c->fsm ? st_registry_get(st_fsm_table(c->fsm, ST_T_REGISTRY), cid, len) : NULL;
    uint64_t node = row ? row->node_id : 0;
    pthread_mutex_unlock(&c->view_lock);
    return node;
}

static void registered(void *ctx, const char *cid, size_t len, uint64_t hlc, int up)
{
    st_cl_registry_add(ctx, cid, len, hlc, up);
}

static void registered_flush(void *ctx)
{
    st_cl_registry_flush(ctx);
}

int64_t st_cl_now(st_cluster *c)
{
    return (int64_t)uv_now(&c->loop);
}

static st_links *new_links(st_cluster *c)
{
    const st_cluster_cfg *cfg = &c->cfg;
    st_links_cfg lc = {.role = cfg->role, .link_timeout_ms = cfg->link_timeout_ms};
    memcpy(lc.node_name, cfg->node_name, sizeof lc.node_name);
    memcpy(lc.cookie, cfg->cookie, sizeof lc.cookie);
    memcpy(lc.cluster_name, cfg->cluster_name, sizeof lc.cluster_name);
    memcpy(lc.listen, cfg->listen, sizeof lc.listen);
    st_links_env le = {c->log, &c->view_lock, c->boot, c->node_id, c, on_peer, is_member, resolve};
    return st_links_new(&lc, &le);
}

static st_data *new_data(st_cluster *c)
{
    const st_cluster_cfg *cfg = &c->cfg;
    st_data_cfg dc = {cfg->forward_ack, cfg->forward_ack_timeout_ms, cfg->forward_buffer_high,
                      cfg->evacuation_timeout_ms, cfg->tombstone_ttl_ms};
    st_data_env de = {c->log, &c->view_lock, c->links,   c->boot,         c->node_id,
                      c,      locate,        registered, registered_flush};
    return st_data_new(&dc, &de);
}

st_cluster *st_cluster_new(const st_cluster_cfg *cfg, const st_log *log)
{
    st_cluster *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = *cfg;
    c->log = log;
    pthread_mutex_init(&c->view_lock, NULL);
    c->node_id = st_auth_node_id(cfg->node_name);
    st_mpsc_init(&c->inbox);
    if (st_auth_random((uint8_t *)&c->boot, sizeof c->boot) < 0) c->boot = (uint64_t)getpid();
    c->links = new_links(c);
    c->data = c->links ? new_data(c) : NULL;
    if (!c->data) {
        st_links_free(c->links);
        pthread_mutex_destroy(&c->view_lock);
        free(c);
        return NULL;
    }
    return c;
}

int st_cluster_attach(st_cluster *c, struct st_broker *b)
{
    return st_data_attach(c->data, b);
}

void st_cl_post(st_cluster *c, st_cl_item *it)
{
    st_mpsc_push(&c->inbox, &it->node);
    if (atomic_load_explicit(&c->accepting, memory_order_acquire)) uv_async_send(&c->wake);
}

static void on_wake(uv_async_t *a)
{
    st_cluster *c = a->data;
    st_mpsc_node *node;
    while ((node = st_mpsc_pop(&c->inbox))) {
        st_cl_item *it = (st_cl_item *)node;
        if (it->kind == ST_CLI_FORCE_LEAVE) st_cl_force_leave(c, it->s);
        if (it->kind == ST_CLI_JOIN) st_cl_join(c, it->s);
        if (it->kind == ST_CLI_LEAVE) st_cl_leave(c);
        free(it);
    }
}

static void on_tick(uv_timer_t *t)
{
    st_cluster *c = t->data;
    int64_t now = st_cl_now(c);
    st_discovery_tick(c->disco, now, c->deciding);
    st_data_tick(c->data, now);
    st_links_tick(c->links, now);
    st_cl_control_tick(c);
}

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void close_handles(void *arg)
{
    st_cluster *c = arg;
    uv_timer_stop(&c->tick);
    uv_close((uv_handle_t *)&c->tick, close_cb);
    uv_close((uv_handle_t *)&c->stop, close_cb);
    uv_close((uv_handle_t *)&c->wake, close_cb);
}

static void on_stop(uv_async_t *a)
{
    st_cluster *c = a->data;
    c->stopping = 1;
    atomic_store(&c->accepting, 0);
    st_discovery_close(c->disco);
    st_data_stop(c->data);
    st_links_stop(c->links);
    if (c->craft)
        st_craft_close(c->craft, close_handles, c); /* then the loop's own handles */
    else
        close_handles(c);
}

static void *thread_main(void *arg)
{
    st_cluster *c = arg;
    uv_run(&c->loop, UV_RUN_DEFAULT);
    return NULL;
}

int st_cluster_start(st_cluster *c, char *err, size_t errlen)
{
    int rc = st_links_listen(c->links, err, errlen);
    if (rc < 0) return rc;
    c->port = st_links_port(c->links);
    if (uv_loop_init(&c->loop) < 0) {
        snprintf(err, errlen, "cluster: cannot create its event loop");
        return ST_ESYS;
    }
    c->loop_on = 1;
    c->disco = st_discovery_new(&c->loop, c->log, &c->cfg.disc, c->boot, on_found, c);
    if (!c->disco || st_data_start(c->data, &c->loop) < 0) {
        snprintf(err, errlen, "cluster: out of memory");
        return ST_ENOMEM;
    }
    c->stop.data = c->tick.data = c->wake.data = c;
    uv_async_init(&c->loop, &c->stop, on_stop);
    uv_async_init(&c->loop, &c->wake, on_wake);
    atomic_store(&c->accepting, 1);
    uv_timer_init(&c->loop, &c->tick);
    uv_timer_start(&c->tick, on_tick, ST_CL_TICK_MS, ST_CL_TICK_MS);
    st_links_start(c->links, &c->loop);
    st_cl_control_register(c);
    st_cl_propose_register(c);
    st_tail_register(c);
    for (size_t i = 0; i < c->cfg.nseeds; i++)
        if (strcmp(c->cfg.seeds[i], c->cfg.node_name) != 0)
            st_links_peer(c->links, c->cfg.seeds[i], 1);
    rc = st_cl_control_start(c, err, errlen);
    if (rc == 0) rc = st_discovery_start(c->disco, err, errlen);
    if (rc < 0) return rc;
    if (pthread_create(&c->th, NULL, thread_main, c) != 0) {
        snprintf(err, errlen, "cluster: cannot start its thread");
        return ST_ESYS;
    }
    c->running = 1;
    LOG_INFO(c->log, "cluster: %s listening on %s (port %d), %d seed(s)", c->cfg.node_name,
             c->cfg.listen, c->port, st_links_npeers(c->links));
    return 0;
}

void st_cluster_stop(st_cluster *c)
{
    if (!c || !c->running) return;
    uv_async_send(&c->stop);
    pthread_join(c->th, NULL);
    c->running = 0;
}

void st_cluster_free(st_cluster *c)
{
    if (!c) return;
    st_cluster_stop(c);
    if (c->loop_on) {
        uv_run(&c->loop, UV_RUN_NOWAIT); /* let close callbacks finish */
        uv_loop_close(&c->loop);
    }
    st_mpsc_node *node;
    while ((node = st_mpsc_pop(&c->inbox)))
        free(node);
    st_data_free(c->data);
    st_links_free(c->links);
    st_cl_control_free(c);
    st_discovery_free(c->disco);
    pthread_mutex_destroy(&c->view_lock);
    free(c);
}

long st_cluster_evacuate(st_cluster *c)
{
    return c ? st_data_evacuate(c->data) : -1;
}

static void view_node(st_cluster_node *o, const char *name, int self, const st_peer *p)
{
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->self = self;
    o->running = self || (p && p->link);
    o->rtt_us = p && p->link ? st_link_rtt_us(p->link) : 0;
}

/* Members (the replicated table) once this node is in a cluster: running = self, or up and
 * linked; a node still joining is not a member yet. Before that, only itself. Then every
 * other peer it knows, as a non-member (running = linked). */
size_t st_cluster_view(st_cluster *c, st_cluster_node *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&c->view_lock);
    const st_nodes *t = c->fsm ? st_fsm_table(c->fsm, ST_T_NODES) : NULL;
    if (t && !st_cl_formed(c)) t = NULL; /* rows, but not (yet) a member of a formed cluster */
    for (uint32_t i = 0; t && i < t->n; i++) {
        const st_node_row *r = &t->rows[i];
        if (r->state == ST_NS_LEFT) continue;
        if (n < max) {
            int self = strcmp(r->name, c->cfg.node_name) == 0;
            view_node(&out[n], r->name, self, st_links_peer(c->links, r->name, 0));
            out[n].member = self || r->state != ST_NS_JOINING;
            if (!self && r->state != ST_NS_UP && out[n].member) out[n].running = 0;
        }
        n++;
    }
    if (!t) {
        if (max) view_node(&out[0], c->cfg.node_name, 1, NULL);
        if (max) out[0].member = 1;
        n = 1;
    }
    for (int i = 0; i < st_links_npeers(c->links); i++) {
        const st_peer *p = st_links_peer_at(c->links, i);
        const st_node_row *r = t ? st_nodes_find(t, p->name) : NULL;
        if (p->forgotten || (r && r->state != ST_NS_LEFT)) continue;
        if (n < max) view_node(&out[n], p->name, 0, p);
        n++;
    }
    pthread_mutex_unlock(&c->view_lock);
    return n;
}

const char *st_cluster_name(const st_cluster *c)
{
    return c->cfg.cluster_name;
}

const char *st_cluster_node_name(const st_cluster *c)
{
    return c->cfg.node_name;
}

/* An item carrying a node name for the cluster thread. */
static int post_named(st_cluster *c, int kind, const char *node, char *err, size_t errlen)
{
    size_t len = strlen(node);
    st_cl_item *it = calloc(1, sizeof *it + len + 1);
    if (!it) {
        snprintf(err, errlen, "out of memory");
        return ST_ENOMEM;
    }
    it->kind = kind;
    memcpy(it->s, node, len + 1);
    st_cl_post(c, it);
    return 0;
}

int st_cluster_force_leave(st_cluster *c, const char *node, char *err, size_t errlen)
{
    if (strcmp(node, c->cfg.node_name) == 0) {
        snprintf(err, errlen,
                 "a node cannot force itself out (stop it, or force-leave it from another node)");
        return ST_EINVAL;
    }
    pthread_mutex_lock(&c->view_lock);
    const st_nodes *t = c->fsm ? st_fsm_table(c->fsm, ST_T_NODES) : NULL;
    const st_node_row *r = t ? st_nodes_find(t, node) : NULL;
    int ok = r && r->state != ST_NS_LEFT;
    pthread_mutex_unlock(&c->view_lock);
    if (!ok) {
        snprintf(err, errlen, "%s is not a member of this cluster", node);
        return ST_ENOENT;
    }
    return post_named(c, ST_CLI_FORCE_LEAVE, node, err, errlen);
}

/* Members of our cluster other than us (LEFT rows aside); -1 without a control plane, -2
 * while this node is not in its own table (joining, or restarting its control plane). */
static int other_members(st_cluster *c, const char *name, int *has_name)
{
    pthread_mutex_lock(&c->view_lock);
    const st_nodes *t = c->fsm ? st_fsm_table(c->fsm, ST_T_NODES) : NULL;
    const st_node_row *me = t ? st_nodes_find(t, c->cfg.node_name) : NULL;
    int n = !t ? -1 : !me || me->state == ST_NS_LEFT ? -2 : 0;
    *has_name = 0;
    for (uint32_t i = 0; n >= 0 && i < t->n; i++) {
        const st_node_row *r = &t->rows[i];
        if (r->state == ST_NS_LEFT || strcmp(r->name, c->cfg.node_name) == 0) continue;
        n++;
        if (name && strcmp(r->name, name) == 0) *has_name = 1;
    }
    pthread_mutex_unlock(&c->view_lock);
    return n;
}

int st_cluster_join(st_cluster *c, const char *node, char *err, size_t errlen)
{
    int has = 0;
    int n = other_members(c, node, &has);
    if (strcmp(node, c->cfg.node_name) == 0 || !st_cluster_valid_name(node)) {
        snprintf(err, errlen, "%s: give another node's name, as name@host", node);
        return ST_EINVAL;
    }
    if (has) {
        snprintf(err, errlen, "already in a cluster with %s", node);
        return ST_EEXIST;
    }
    if (n == -2) {
        snprintf(err, errlen, "this node is joining a cluster already (restart it to start over)");
        return ST_EEXIST;
    }
    if (n > 0) {
        snprintf(err, errlen,
                 "this node is in a cluster with %d other node%s: leave it first "
                 "(starling ctl cluster leave)",
                 n, n == 1 ? "" : "s");
        return ST_EEXIST;
    }
    return post_named(c, ST_CLI_JOIN, node, err, errlen);
}

int st_cluster_leave(st_cluster *c, char *err, size_t errlen)
{
    int has = 0;
    int n = other_members(c, NULL, &has);
    if (n == -2) {
        snprintf(err, errlen, "this node is joining a cluster: wait until it is a member");
        return ST_EEXIST;
    }
    if (n == 0 || (n < 0 && c->cfg.role != CW_ROLE_REPLICANT)) {
        snprintf(err, errlen, "this node is not in a cluster with other nodes");
        return ST_ENOENT;
    }
    return post_named(c, ST_CLI_LEAVE, "", err, errlen);
}

void st_cluster_routes_get(st_cluster *c, st_cluster_routes *r, st_cluster_peer_routes *p,
                           size_t max)
{
    memset(r, 0, sizeof *r);
    st_data_stats s;
    st_data_stats_get(c->data, &s);
    r->local = s.local;
    r->remote = s.remote;
    r->ops_tx = s.ops_tx;
    r->fwd_sent = s.fwd_sent;
    r->fwd_received = s.fwd_received;
    r->fwd_dropped = s.fwd_dropped;
    r->fwd_resent = s.fwd_resent;
    r->fwd_redispatched = s.fwd_redispatched;
    pthread_mutex_lock(&c->view_lock);
    for (int i = 0; i < st_links_npeers(c->links); i++, r->npeers++) {
        if (r->npeers >= max) continue;
        st_cluster_peer_routes *o = &p[r->npeers];
        snprintf(o->name, sizeof o->name, "%s", st_links_peer_at(c->links, i)->name);
        st_data_peer_routes(c->data, i, &o->routes, &o->ops_rx);
    }
    pthread_mutex_unlock(&c->view_lock);
}

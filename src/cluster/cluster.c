/* cluster.c — the wiring of the cluster's four parts (docs/cluster.md §2.1): links,
 * the control plane, the data lanes and discovery. It is the only file that knows all four:
 * it runs the cluster thread (its loop, the tick, start and an orderly stop), fans the links'
 * events out to the plane and the data lanes, makes discovery's names peers and candidates,
 * hands each part what it needs of another as functions, and answers the API (cluster.h). */
#include "auth/bans.h"
#include "auth/users.h"
#include "cluster/cluster.h"
#include "cluster/mirror.h"
#include "cluster/data/data.h"
#include "cluster/discovery/discovery.h"
#include "cluster/gone.h"
#include "cluster/health.h"
#include "cluster/links/auth.h"
#include "cluster/links/links.h"
#include "cluster/plane/plane.h"
#include "cluster/ready.h"
#include "cluster/replica/replica.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/mpsc.h"
#include "cwire/cwire.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define TICK_MS 200

/* Commands the API posts to the cluster thread. */
enum { CMD_FORCE_LEAVE, CMD_JOIN, CMD_LEAVE, CMD_ASK, CMD_KV };
typedef struct kv_req kv_req;
typedef struct cmd {
    st_mpsc_node node;
    int kind;
    st_ask *ask; /* CMD_ASK */
    kv_req *kv;  /* CMD_KV */
    char s[];    /* the node's name ("" for LEAVE) */
} cmd;

struct st_cluster {
    st_cluster_cfg cfg;
    const st_log *log;
    uint64_t boot, node_id;
    int port; /* the bound cluster.listen port */
    uv_loop_t loop;
    int loop_on; /* initialised (closed at free) */
    uv_async_t stop, wake;
    uv_timer_t tick;
    pthread_t th;
    int running;
    atomic_int accepting;      /* posts wake the loop (cleared at stop) */
    atomic_int restored;       /* the store was restored from a copy: start again */
    st_mpsc inbox;             /* commands */
    pthread_mutex_t view_lock; /* the peers, the tables and the figures the API reads */
    st_links *links;
    st_plane *plane;
    st_data *data;
    st_discovery *disco;
    st_asks *asks;
    st_auth *auth;            /* the built-in databases mirror the table's users (NULL: none) */
    int users_proposed;       /* the bootstrap files' users went to the table (once a member) */
    st_mirrors *mirrors;      /* the table's rows to the state that mirrors them */
    struct seed *seeds;       /* rows to write once a member */
    st_ready ready;           /* a restarted member's MQTT listeners wait for routes (ready.h) */
    st_gone gone;             /* a member that left: its sessions taken over (gone.h) */
    st_health health;         /* the resource alarms' state (health.h) */
    st_replica *replica;      /* mirrors of the durable stores (NULL: shared_client_session off) */
    struct st_alarms *alarms; /* node_down/<name> on the leader (health.h), or NULL */
    int64_t next_health;
};

/* Rows to write once this node is a member (st_cluster_seed). */
struct seed {
    struct seed *next;
    uint8_t ns;
    uint16_t verb;
    size_t n;
    st_kv_item items[];
};

/* A write to the replicated key-value table the API waits for. */
struct kv_req {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs, done, status;
    uint16_t verb;
    uint8_t ns;
    st_kv_item item;
    uint8_t bytes[]; /* key, then value */
};

/* ---- for the links ---------------------------------------------------------------------- */

static const char *resolve(void *ctx, const char *host)
{
    st_cluster *c = ctx;
    return c->disco ? st_discovery_addr(c->disco, host) : host;
}

static int is_member(void *ctx)
{
    st_cluster *c = ctx;
    return st_plane_is_member(c->plane);
}

/* The links' events, to the data lanes and the control plane. */
static void on_peer(void *ctx, const st_peer_ev *ev)
{
    st_cluster *c = ctx;
    st_peer *p = ev->peer;
    switch (ev->type) {
    case ST_PEER_UP:
        st_data_peer_up(c->data, p, ev->prev_boot);
        st_plane_peer_up(c->plane, p, ev->link);
        if (c->replica) st_replica_peer_up(c->replica, p);
        break;
    case ST_PEER_DOWN:
        st_plane_peer_down(c->plane, p);
        st_data_peer_down(c->data, p);
        if (c->replica) st_replica_peer_down(c->replica, p);
        break;
    case ST_PEER_CLOSED:
        st_plane_link_closed(c->plane, ev->link);
        break;
    case ST_PEER_GOODBYE: /* it withdrew its routes itself; its sessions end with it */
        st_data_gone(c->data, p, ST_GONE_US);
        if (ev->reason == CW_BYE_REMOVED) st_plane_removed(c->plane, p->name);
        break;
    }
}

/* ---- for the control plane: what the data lanes do about members and the registry ------- */

static void gone(void *ctx, st_peer *p, int how)
{
    st_cluster *c = ctx;
    st_data_gone(c->data, p, how);
}

static void registry_on(void *ctx)
{
    st_cluster *c = ctx;
    st_data_registry_on(c->data);
}

static void kick(void *ctx, const char *cid, size_t len, uint64_t hlc)
{
    st_cluster *c = ctx;
    st_data_kick(c->data, cid, len, hlc);
}

static void quorum(void *ctx, int q)
{
    st_cluster *c = ctx;
    st_data_quorum(c->data, q);
}

static int attached(void *ctx)
{
    st_cluster *c = ctx;
    return st_data_attached(c->data);
}

static int leave_evacuate(void *ctx, int64_t now)
{
    st_cluster *c = ctx;
    return st_data_leave_evacuate(c->data, now);
}

static int evacuating(void *ctx, int64_t now)
{
    st_cluster *c = ctx;
    return st_data_evacuating(c->data, now);
}

static void evacuate_end(void *ctx)
{
    st_cluster *c = ctx;
    st_data_evacuate_end(c->data);
}

/* ---- for the data lanes: the registry ------------------------------------------------- */

static uint64_t locate(void *ctx, const char *cid, size_t len)
{
    st_cluster *c = ctx;
    return st_plane_locate(c->plane, cid, len);
}

static void registered(void *ctx, const char *cid, size_t len, uint64_t hlc, int up)
{
    st_cluster *c = ctx;
    st_plane_register(c->plane, cid, len, hlc, up);
}

static void registered_flush(void *ctx)
{
    st_cluster *c = ctx;
    st_plane_register_flush(c->plane);
}

/* ---- for discovery ------------------------------------------------------------------- */

/* Discovery answered: the names are the candidates of the bootstrap decision, and every one
 * we do not know yet becomes a peer to dial. */
static void on_found(void *ctx, const char (*names)[256], int n, const char *how)
{
    st_cluster *c = ctx;
    st_plane_candidates(c->plane, names, n);
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], c->cfg.node_name) != 0 && !st_links_peer(c->links, names[i], 0)) {
            LOG_INFO(c->log, "cluster: discovered %s (%s)", names[i], how);
            st_links_peer(c->links, names[i], 1);
        }
}

/* ---- the parts --------------------------------------------------------------------------- */

static void kv_applied(void *ctx);

/* The API's questions go to members only. */
static int asked_member(void *ctx, const char *node)
{
    st_cluster *c = ctx;
    return st_plane_has_member(c->plane, node);
}

static st_links *new_links(st_cluster *c)
{
    const st_cluster_cfg *cfg = &c->cfg;
    st_links_cfg lc = {.role = cfg->role, .link_timeout_ms = cfg->link_timeout_ms};
    memcpy(lc.node_name, cfg->node_name, sizeof lc.node_name);
    memcpy(lc.cookie, cfg->cookie, sizeof lc.cookie);
    memcpy(lc.cluster_name, cfg->cluster_name, sizeof lc.cluster_name);
    memcpy(lc.listen, cfg->listen, sizeof lc.listen);
    lc.tls = cfg->tls;
    lc.tls_opts = cfg->tls_opts;
    st_links_env le = {c->log, &c->view_lock, c->boot, c->node_id, c, on_peer, is_member, resolve};
    return st_links_new(&lc, &le);
}

static st_plane *new_plane(st_cluster *c)
{
    const st_cluster_cfg *cfg = &c->cfg;
    st_plane_cfg *pc = calloc(1, sizeof *pc); /* 17 KiB of seeds: not on the stack */
    if (!pc) return NULL;
    memcpy(pc->node_name, cfg->node_name, sizeof pc->node_name);
    memcpy(pc->cluster_name, cfg->cluster_name, sizeof pc->cluster_name);
    memcpy(pc->data_dir, cfg->data_dir, sizeof pc->data_dir);
    pc->role = cfg->role;
    pc->bootstrap = cfg->strategy == ST_DISC_MANUAL   ? ST_BOOT_MANUAL
                    : cfg->strategy == ST_DISC_STATIC ? ST_BOOT_SEEDS
                                                      : ST_BOOT_DISCOVERY;
    pc->raft = cfg->raft;
    pc->node_down_timeout_ms = cfg->node_down_timeout_ms;
    pc->link_timeout_ms = cfg->link_timeout_ms;
    pc->nseeds = cfg->nseeds;
    memcpy(pc->seeds, cfg->seeds, sizeof pc->seeds);
    st_plane_env pe = {c->log,   &c->view_lock,  c->links,    c->boot,      c->node_id,
                       c,        gone,           registry_on, kick,         quorum,
                       attached, leave_evacuate, evacuating,  evacuate_end, kv_applied};
    st_plane *p = st_plane_new(pc, &pe);
    free(pc);
    return p;
}

/* The cluster's own questions (gone.h): answered on this thread. */
static char *own_answer(void *ctx, uint8_t what, const char *arg, size_t arglen, size_t *len)
{
    st_cluster *c = ctx;
    return st_gone_answer(c->data, what, arg, arglen, len);
}

static st_data *new_data(st_cluster *c)
{
    const st_cluster_cfg *cfg = &c->cfg;
    st_data_cfg dc = {cfg->forward_ack,         cfg->forward_ack_timeout_ms,
                      cfg->forward_buffer_high, cfg->evacuation_timeout_ms,
                      cfg->tombstone_ttl_ms,    cfg->shared_session};
    st_data_env de = {c->log, &c->view_lock, c->links,   c->boot,         c->node_id,
                      c,      locate,        registered, registered_flush};
    return st_data_new(&dc, &de);
}

static size_t up_members(void *ctx, char (*names)[256], size_t max)
{
    st_cluster *c = ctx;
    return st_plane_up_members(c->plane, names, max);
}

static int formed(void *ctx)
{
    st_cluster *c = ctx;
    if (st_plane_deciding(c->plane)) return 0;
    st_cluster_info info;
    char why[256];
    st_plane_info(c->plane, &info, NULL, 0);
    return info.voters == 1 || st_plane_formed(c->plane, why, sizeof why);
}

static void restored(void *ctx)
{
    st_cluster *c = ctx;
    atomic_store(&c->restored, 1);
    kill(getpid(), SIGUSR2);
}

void st_cluster_attach_alarms(st_cluster *c, struct st_alarms *al)
{
    c->alarms = al;
}

int st_cluster_restored(st_cluster *c)
{
    return c && atomic_load(&c->restored);
}

static st_replica *new_replica(st_cluster *c)
{
    const st_cluster_cfg *cfg = &c->cfg;
    st_replica_env re = {.log = c->log,
                         .links = c->links,
                         .boot = c->boot,
                         .max_bytes = cfg->store_max_bytes,
                         .copies = cfg->replicas,
                         .ctx = c,
                         .members = up_members,
                         .formed = formed,
                         .restored = restored};
    memcpy(re.self, cfg->node_name, sizeof re.self);
    memcpy(re.data_dir, cfg->data_dir, sizeof re.data_dir);
    return st_replica_new(&re);
}

st_cluster *st_cluster_new(const st_cluster_cfg *cfg, const st_log *log)
{
    st_cluster *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = *cfg;
    c->log = log;
    pthread_mutex_init(&c->view_lock, NULL);
    c->node_id = st_auth_node_id(cfg->node_name);
    c->health.cfg = cfg->health;
    c->health.log = log;
    st_mpsc_init(&c->inbox);
    if (st_auth_random((uint8_t *)&c->boot, sizeof c->boot) < 0) c->boot = (uint64_t)getpid();
    c->mirrors = st_mirrors_new(); /* before the plane: it may replay its log at once */
    c->links = c->mirrors ? new_links(c) : NULL;
    c->plane = c->links ? new_plane(c) : NULL;
    c->data = c->plane ? new_data(c) : NULL;
    st_asks_env ae = {log, c->links, c, asked_member};
    c->asks = c->data ? st_asks_new(&ae) : NULL;
    if (c->asks) st_asks_own(c->asks, own_answer, c);
    /* every node keeps the mirrors others send it; its own store is mirrored when attached */
    c->replica = c->asks ? new_replica(c) : NULL;
    if (!c->replica) {
        st_asks_free(c->asks);
        st_data_free(c->data);
        st_plane_free(c->plane);
        st_mirrors_free(c->mirrors);
        st_links_free(c->links);
        pthread_mutex_destroy(&c->view_lock);
        free(c);
        return NULL;
    }
    return c;
}

void st_cluster_attach_store(st_cluster *c, struct st_store *s, int gate)
{
    if (!c->cfg.shared_session) {
        st_store_settle_fresh(s); /* nothing of it is copied: nothing to take back */
        return;
    }
    st_replica_attach(c->replica, s, gate);
    if (!st_replica_restoring(c->replica)) return;
    st_ready_hold_restore(&c->ready);
    st_data_hold(c->data, 1);
}

void st_cluster_detach_store(st_cluster *c)
{
    if (c) st_replica_detach(c->replica);
}

void st_cluster_replicas(st_cluster *c, st_replica_info *info, st_replica_holder *h, size_t maxh,
                         st_replica_mirror *m, size_t maxm)
{
    st_replica_info_get(c->replica, info, h, maxh, m, maxm);
}

int st_cluster_attach(st_cluster *c, struct st_broker *b)
{
    int rc = st_data_attach(c->data, b);
    if (rc == 0)
        st_ready_hold(&c->ready, b, c->cfg.data_dir, c->cfg.role != CW_ROLE_REPLICANT,
                      c->cfg.strategy != ST_DISC_MANUAL);
    return rc;
}

/* ---- the cluster thread ------------------------------------------------------------------- */

static void post(st_cluster *c, cmd *it)
{
    st_mpsc_push(&c->inbox, &it->node);
    if (atomic_load_explicit(&c->accepting, memory_order_acquire)) uv_async_send(&c->wake);
}

static void kv_unref(kv_req *r)
{
    pthread_mutex_lock(&r->mu);
    int last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (!last) return;
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}

/* A write's request, with refs references (the API's waiter, the cluster thread). */
static kv_req *kv_req_new(uint16_t verb, uint8_t ns, const void *key, size_t klen, const void *val,
                          size_t vlen, int refs)
{
    kv_req *r = calloc(1, sizeof *r + klen + vlen);
    if (!r) return NULL;
    pthread_mutex_init(&r->mu, NULL);
    st_cond_init_mono(&r->cv);
    r->refs = refs;
    r->verb = verb;
    r->ns = ns;
    memcpy(r->bytes, key, klen);
    if (vlen) memcpy(r->bytes + klen, val, vlen);
    r->item = (st_kv_item){r->bytes, r->bytes + klen, klen, vlen};
    return r;
}

static void kv_done(void *arg, int status)
{
    kv_req *r = arg;
    pthread_mutex_lock(&r->mu);
    r->done = 1;
    r->status = status;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    kv_unref(r);
}

static void kv_send(st_cluster *c, kv_req *r)
{
    int rc = st_plane_kv_write(c->plane, r->verb, r->ns, &r->item, 1, kv_done, r);
    if (rc < 0) kv_done(r, rc);
}

static void kv_applied(void *ctx)
{
    st_cluster *c = ctx;
    st_mirrors_sync(c->mirrors, c->plane);
}

/* The bootstrap files' users, proposed once this node is a member: ADD leaves a user that
 * the cluster has already as it is. */
typedef struct boot_users {
    st_cluster *c;
    const char *authn;
    st_kv_item items[256];
    uint8_t keys[256][ST_USER_KEY_MAX], vals[256][ST_USER_VAL_MAX];
    uint32_t n;
} boot_users;

static void boot_flush(boot_users *b)
{
    if (b->n &&
        st_plane_kv_write(b->c->plane, ST_V_KV_ADD, ST_KV_USERS, b->items, b->n, NULL, NULL) < 0)
        LOG_WARN(b->c->log, "cluster: could not propose %u bootstrap users", b->n);
    b->n = 0;
}

static void boot_user(void *ctx, const char *id, size_t len, const st_user *u)
{
    boot_users *b = ctx;
    uint32_t i = b->n++;
    b->items[i] = (st_kv_item){b->keys[i], b->vals[i], st_user_key(b->authn, id, len, b->keys[i]),
                               st_user_value(u, b->vals[i])};
    if (b->n == 256) boot_flush(b);
}

static void propose_seeds(st_cluster *c)
{
    while (c->seeds) {
        struct seed *s = c->seeds;
        c->seeds = s->next;
        for (size_t i = 0; i < s->n; i += 256) {
            uint32_t n = (uint32_t)(s->n - i < 256 ? s->n - i : 256);
            if (st_plane_kv_write(c->plane, s->verb, s->ns, s->items + i, n, NULL, NULL) < 0)
                LOG_WARN(c->log, "cluster: could not propose %u rows of table namespace %u", n,
                         s->ns);
        }
        free(s);
    }
}

/* banned.bootstrap_file's bans (ADD: one the cluster has already stays as it is). */
static void propose_bans(st_cluster *c)
{
    size_t n = 0;
    const st_ban *bans = st_auth_boot_bans(c->auth, &n);
    uint8_t(*keys)[300] = calloc(n ? n : 1, sizeof *keys);
    uint8_t(*vals)[420] = calloc(n ? n : 1, sizeof *vals);
    st_kv_item *items = calloc(n ? n : 1, sizeof *items);
    for (size_t i = 0; keys && vals && items && i < n; i++)
        items[i] = (st_kv_item){keys[i], vals[i], st_ban_key(&bans[i], keys[i]),
                                st_ban_value(&bans[i], vals[i])};
    for (size_t i = 0; keys && vals && items && i < n; i += 256)
        st_plane_kv_write(c->plane, ST_V_KV_ADD, ST_KV_BANS, items + i,
                          (uint32_t)(n - i < 256 ? n - i : 256), NULL, NULL);
    free(keys);
    free(vals);
    free(items);
}

static void propose_bootstrap(st_cluster *c)
{
    if (c->users_proposed || !st_plane_is_member(c->plane)) return;
    c->users_proposed = 1;
    propose_seeds(c);
    if (!c->auth) return;
    propose_bans(c);
    boot_users *b = calloc(1, sizeof *b);
    const st_auth_cfg *cfg = st_auth_config(c->auth);
    for (int i = 0; b && i < cfg->n; i++) {
        if (!cfg->chain[i].bootstrap_file[0]) continue;
        *b = (boot_users){.c = c, .authn = cfg->chain[i].key};
        st_auth_users_each(c->auth, i, boot_user, b);
        boot_flush(b);
    }
    free(b);
}

static void on_wake(uv_async_t *a)
{
    st_cluster *c = a->data;
    st_mpsc_node *node;
    while ((node = st_mpsc_pop(&c->inbox))) {
        cmd *it = (cmd *)node;
        if (it->kind == CMD_FORCE_LEAVE) st_plane_force_leave(c->plane, it->s);
        if (it->kind == CMD_JOIN) st_plane_join(c->plane, it->s);
        if (it->kind == CMD_LEAVE) st_plane_leave(c->plane);
        if (it->kind == CMD_ASK) st_asks_send(c->asks, it->ask, (int64_t)uv_now(&c->loop));
        if (it->kind == CMD_KV) kv_send(c, it->kv);
        free(it);
    }
}

/* Commands nobody will carry out (stopping): a question's asker stops waiting for us. */
static void drain(st_cluster *c)
{
    st_mpsc_node *node;
    while ((node = st_mpsc_pop(&c->inbox))) {
        cmd *it = (cmd *)node;
        if (it->kind == CMD_ASK) st_ask_unsent(it->ask);
        if (it->kind == CMD_KV) kv_done(it->kv, ST_ECLOSED);
        free(it);
    }
}

static void on_tick(uv_timer_t *t)
{
    st_cluster *c = t->data;
    int64_t now = (int64_t)uv_now(&c->loop);
    st_discovery_tick(c->disco, now, st_plane_deciding(c->plane));
    st_data_tick(c->data, now);
    st_links_tick(c->links, now);
    st_plane_tick(c->plane);
    st_asks_tick(c->asks, now);
    st_mirrors_sync(c->mirrors, c->plane);
    st_replica_tick(c->replica, now);
    int restoring = st_replica_restoring(c->replica);
    st_data_hold(c->data, restoring);
    propose_bootstrap(c);
    st_ready_tick(&c->ready, c->plane, c->data, restoring, now, c->log);
    if (now >= c->next_health) {
        c->next_health = now + ST_HEALTH_EVERY_MS;
        st_health_tick(c->alarms, c->plane);
        st_health_resources(&c->health, c->alarms, st_data_lanes_over(c->data), now);
    }
    if (!restoring)
        st_gone_tick(&c->gone, c->plane, c->replica, c->data, c->asks, c->cfg.node_name, now);
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
    atomic_store(&c->accepting, 0);
    drain(c);
    st_gone_stop(&c->gone);
    st_asks_stop(c->asks);
    st_discovery_close(c->disco);
    st_data_stop(c->data);
    st_replica_stop(c->replica);
    st_links_stop(c->links);
    st_plane_stop(c->plane, close_handles, c); /* then the loop's own handles */
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
    uv_timer_start(&c->tick, on_tick, TICK_MS, TICK_MS);
    st_links_start(c->links, &c->loop);
    st_replica_start(c->replica, &c->loop);
    for (size_t i = 0; i < c->cfg.nseeds; i++)
        if (strcmp(c->cfg.seeds[i], c->cfg.node_name) != 0)
            st_links_peer(c->links, c->cfg.seeds[i], 1);
    rc = st_plane_start(c->plane, &c->loop, c->port, err, errlen);
    if (rc == 0) rc = st_discovery_start(c->disco, err, errlen);
    if (rc < 0) return rc;
    int64_t now = (int64_t)uv_now(&c->loop);
    st_ready_start(&c->ready, now, 2 * c->cfg.link_timeout_ms, ST_PLANE_DISCOVERY_WINDOW_MS,
                   c->log);
    st_ready_tick(&c->ready, c->plane, c->data, st_replica_restoring(c->replica), now,
                  c->log); /* a cluster of one: open now */
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
    drain(c);
    while (c->seeds) {
        struct seed *s = c->seeds;
        c->seeds = s->next;
        free(s);
    }
    st_replica_free(c->replica);
    st_asks_free(c->asks);
    st_data_free(c->data);
    st_plane_free(c->plane);
    st_mirrors_free(c->mirrors);
    st_links_free(c->links);
    st_discovery_free(c->disco);
    pthread_mutex_destroy(&c->view_lock);
    free(c);
}

/* ---- the API (any thread) ------------------------------------------------------------------ */

int st_cluster_mirror(st_cluster *c, uint8_t ns, st_cluster_rows_fn fn, void *ctx)
{
    return st_mirrors_add(c->mirrors, ns, fn, ctx);
}

int st_cluster_seed(st_cluster *c, uint8_t ns, uint16_t verb, const st_kv_item *items, size_t n)
{
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += items[i].klen + items[i].vlen;
    struct seed *s = calloc(1, sizeof *s + n * sizeof(st_kv_item) + bytes);
    if (!s) return ST_ENOMEM;
    uint8_t *p = (uint8_t *)(s->items + n);
    for (size_t i = 0; i < n; i++) {
        s->items[i] = (st_kv_item){p, p + items[i].klen, items[i].klen, items[i].vlen};
        memcpy(p, items[i].key, items[i].klen);
        if (items[i].vlen) memcpy(p + items[i].klen, items[i].val, items[i].vlen);
        p += items[i].klen + items[i].vlen;
    }
    s->ns = ns;
    s->verb = verb;
    s->n = n;
    s->next = c->seeds;
    c->seeds = s;
    return 0;
}

void st_cluster_attach_auth(st_cluster *c, st_auth *a)
{
    c->auth = a;
    st_mirrors_auth(c->mirrors, a, c->data);
}

/* A write nobody waits for (a worker's: flapping detection). */
void st_cluster_kv_post(st_cluster *c, uint16_t verb, uint8_t ns, const void *key, size_t klen,
                        const void *val, size_t vlen)
{
    kv_req *r = kv_req_new(verb, ns, key, klen, val, vlen, 1); /* the cluster thread's only */
    cmd *it = r ? calloc(1, sizeof *it) : NULL;
    if (!it || !atomic_load_explicit(&c->accepting, memory_order_acquire)) {
        if (r) kv_unref(r);
        free(it);
        return;
    }
    it->kind = CMD_KV;
    it->kv = r;
    post(c, it);
}

void st_cluster_ban(void *cluster, const struct st_ban *ban)
{
    uint8_t key[300], val[420];
    st_cluster_kv_post(cluster, ST_V_KV_PUT, ST_KV_BANS, key, st_ban_key(ban, key), val,
                       st_ban_value(ban, val));
}

int st_cluster_kv_write(st_cluster *c, uint16_t verb, uint8_t ns, const void *key, size_t klen,
                        const void *val, size_t vlen, int64_t timeout_ms)
{
    kv_req *r = kv_req_new(verb, ns, key, klen, val, vlen, 2);
    cmd *it = r ? calloc(1, sizeof *it) : NULL;
    if (!it) {
        if (r) { /* both references */
            kv_unref(r);
            kv_unref(r);
        }
        return ST_ENOMEM;
    }
    it->kind = CMD_KV;
    it->kv = r;
    if (atomic_load_explicit(&c->accepting, memory_order_acquire)) {
        post(c, it);
    } else {
        free(it);
        kv_done(r, ST_ECLOSED);
    }
    struct timespec until = st_clock_deadline(timeout_ms);
    pthread_mutex_lock(&r->mu);
    while (!r->done)
        if (pthread_cond_timedwait(&r->cv, &r->mu, &until) != 0) break;
    int rc = r->done ? r->status : ST_EIO;
    pthread_mutex_unlock(&r->mu);
    kv_unref(r);
    return rc;
}

void st_cluster_answerer(st_cluster *c, st_answer_fn fn, void *ctx)
{
    st_asks_answerer(c->asks, fn, ctx);
}

size_t st_cluster_ask(st_cluster *c, uint8_t what, const char *arg, size_t arglen, st_answer *out,
                      size_t max, int64_t timeout_ms)
{
    st_ask *q = st_ask_new(c->asks, what, arg, arglen, out, max, timeout_ms);
    if (!q) return 0;
    cmd *it = calloc(1, sizeof *it);
    if (it && atomic_load_explicit(&c->accepting, memory_order_acquire)) {
        it->kind = CMD_ASK;
        it->ask = q;
        post(c, it);
    } else { /* no cluster thread: this node answers alone */
        free(it);
        st_ask_unsent(q);
    }
    return st_ask_wait(c->asks, q, c->cfg.node_name);
}

long st_cluster_evacuate(st_cluster *c)
{
    return c ? st_data_evacuate(c->data) : -1;
}

size_t st_cluster_view(st_cluster *c, st_cluster_node *out, size_t max)
{
    return st_plane_view(c->plane, out, max);
}

int st_cluster_formed(st_cluster *c, char *why, size_t cap)
{
    return st_plane_formed(c->plane, why, cap);
}

void st_cluster_info_get(st_cluster *c, st_cluster_info *info, st_cluster_member *m, size_t max)
{
    st_plane_info(c->plane, info, m, max);
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
    cmd *it = calloc(1, sizeof *it + len + 1);
    if (!it) {
        snprintf(err, errlen, "out of memory");
        return ST_ENOMEM;
    }
    it->kind = kind;
    memcpy(it->s, node, len + 1);
    post(c, it);
    return 0;
}

int st_cluster_force_leave(st_cluster *c, const char *node, char *err, size_t errlen)
{
    if (strcmp(node, c->cfg.node_name) == 0) {
        snprintf(err, errlen,
                 "a node cannot force itself out (stop it, or force-leave it from another node)");
        return ST_EINVAL;
    }
    if (!st_plane_has_member(c->plane, node)) {
        snprintf(err, errlen, "%s is not a member of this cluster", node);
        return ST_ENOENT;
    }
    return post_named(c, CMD_FORCE_LEAVE, node, err, errlen);
}

/* Members of our cluster other than us (LEFT rows aside); -1 without a control plane, -2
 * while this node is not in its own table (joining, or restarting its control plane). */
int st_cluster_join(st_cluster *c, const char *node, char *err, size_t errlen)
{
    int has = 0;
    int n = st_plane_other_members(c->plane, node, &has);
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
    return post_named(c, CMD_JOIN, node, err, errlen);
}

int st_cluster_leave(st_cluster *c, char *err, size_t errlen)
{
    int has = 0;
    int n = st_plane_other_members(c->plane, NULL, &has);
    if (n == -2) {
        snprintf(err, errlen, "this node is joining a cluster: wait until it is a member");
        return ST_EEXIST;
    }
    if (n == 0 || (n < 0 && c->cfg.role != CW_ROLE_REPLICANT)) {
        snprintf(err, errlen, "this node is not in a cluster with other nodes");
        return ST_ENOENT;
    }
    return post_named(c, CMD_LEAVE, "", err, errlen);
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
    r->pending = s.pending;
    r->fwd_sent = s.fwd_sent;
    r->fwd_received = s.fwd_received;
    r->fwd_dropped = s.fwd_dropped;
    r->fwd_resent = s.fwd_resent;
    r->fwd_redispatched = s.fwd_redispatched;
    r->lanes_over = st_data_lanes_over(c->data);
    pthread_mutex_lock(&c->view_lock);
    for (int i = 0; i < st_links_npeers(c->links); i++, r->npeers++) {
        if (r->npeers >= max) continue;
        st_cluster_peer_routes *o = &p[r->npeers];
        snprintf(o->name, sizeof o->name, "%s", st_links_peer_at(c->links, i)->name);
        st_data_peer_routes(c->data, i, &o->routes, &o->ops_rx);
    }
    pthread_mutex_unlock(&c->view_lock);
}

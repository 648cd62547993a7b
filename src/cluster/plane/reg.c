/* reg.c — this node's side of the client-id registry (registry.h, docs/cluster.md §10.2):
 * CONNECTs and session ends posted by the workers become REG / UNREG ops, batched per wake
 * of the cluster thread and submitted to the leader (propose.c); kicks the applied entries
 * note for this node go to the worker that owns the client id; the leader purges the rows
 * of a node declared down or gone. Registration is asynchronous: CONNACK does not wait.
 * A node alone in its cluster keeps no registry at all (nothing to be unique against; it
 * would cost every connection a row and a Raft op): when a first other member appears, the
 * workers register every session they hold, and from then on each CONNECT. */
#include "cluster/plane/internal.h"
#include "cluster/plane/registry.h"
#include "cluster/plane/tables.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 256

/* A registration waiting for its batch. */
typedef struct reg_req {
    uint64_t hlc;
    uint32_t len;
    int up;
    char cid[];
} reg_req;

typedef struct batch {
    st_plane *c;
    ce_op ops[BATCH];
    st_buf body[BATCH];
    uint32_t n;
} batch;

static void pump(st_plane *c);
static void add_op(st_plane *c, batch *b, const st_node_row *self, const reg_req *r);

static void batch_free(batch *b)
{
    for (uint32_t i = 0; i < b->n; i++)
        st_buf_free(&b->body[i]);
    free(b);
}

/* One batch at a time: a session's REG and UNREG must apply in the order they happened (a
 * retried batch overtaken by the next one left a row for a session long gone). */
static void done(void *arg, int status)
{
    batch *b = arg;
    st_plane *c = b->c;
    (void)status; /* refused: the registrations are lost, as at a crash */
    batch_free(b);
    c->reg_busy = 0;
    if (status != ST_ECLOSED) pump(c); /* closed: the cluster is going away */
}

static const st_node_row *me(st_plane *c)
{
    if (!c->fsm) return NULL;
    const st_node_row *r = st_nodes_find(st_fsm_table(c->fsm, ST_T_NODES), c->cfg.node_name);
    return r && r->state != ST_NS_LEFT ? r : NULL;
}

/* The next batch from the queue's head, if none is in flight. */
static void pump(st_plane *c)
{
    while (!c->reg_busy && c->reg_len && !c->stopping) {
        const st_node_row *self = me(c);
        batch *b = self ? calloc(1, sizeof *b) : NULL;
        if (!b) return; /* not in the member table yet (joining), or ENOMEM: on a tick */
        b->c = c;
        while (b->n < BATCH && c->reg_len) {
            reg_req *it = c->reg_q[c->reg_head];
            c->reg_head = (c->reg_head + 1) % c->reg_cap;
            c->reg_len--;
            add_op(c, b, self, it);
            free(it);
        }
        c->reg_busy = 1;
        /* patient: on a minority side it waits for the heal (cluster.registry_mode available) */
        if (st_cl_submit(c, b->ops, b->n, 1, done, b) < 0) {
            batch_free(b); /* refused at once: lost, as at a crash; go on with the next */
            c->reg_busy = 0;
        }
    }
}

void st_cl_registry_add(st_plane *c, const char *cid, size_t len, uint64_t hlc, int up)
{
    if (!c->registry_on) return; /* alone: nothing to register */
    if (c->reg_len == c->reg_cap) {
        size_t nc = c->reg_cap ? c->reg_cap * 2 : 256;
        struct reg_req **q = malloc(nc * sizeof *q);
        if (!q) return; /* not registered: an older connection elsewhere stays */
        for (size_t k = 0; k < c->reg_len; k++)
            q[k] = c->reg_q[(c->reg_head + k) % c->reg_cap];
        free(c->reg_q);
        c->reg_q = q;
        c->reg_head = 0;
        c->reg_cap = nc;
    }
    reg_req *r = malloc(sizeof *r + len);
    if (!r) return;
    *r = (reg_req){hlc, (uint32_t)len, up};
    memcpy(r->cid, cid, len);
    c->reg_q[(c->reg_head + c->reg_len++) % c->reg_cap] = r;
}

void st_cl_registry_flush(st_plane *c)
{
    pump(c);
}

void st_cl_registry_free(st_plane *c)
{
    while (c->reg_len) {
        free(c->reg_q[c->reg_head]);
        c->reg_head = (c->reg_head + 1) % c->reg_cap;
        c->reg_len--;
    }
    free(c->reg_q);
    c->reg_q = NULL;
    c->reg_cap = 0;
}

static void add_op(st_plane *c, batch *b, const st_node_row *self, const reg_req *r)
{
    st_buf *body = &b->body[b->n];
    if (r->up)
        st_op_reg(body, r->cid, r->len, c->node_id, self->incarnation, r->hlc);
    else
        st_op_unreg(body, r->cid, r->len, c->node_id, r->hlc);
    b->ops[b->n] = (ce_op){c->node_id,
                           c->op_seq++,
                           ST_T_REGISTRY,
                           r->up ? ST_V_REG : ST_V_UNREG,
                           {body->p, (uint32_t)body->len}};
    b->n++;
}

/* Another member (not left) in the table? */
static int has_others(st_plane *c)
{
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    for (uint32_t i = 0; i < t->n; i++)
        if (t->rows[i].state != ST_NS_LEFT && t->rows[i].node_id != c->node_id) return 1;
    return 0;
}

/* Can this node's registrations be ordered now? A lone node always; a core when it leads
 * or is linked to the leader; a replicant when it is linked to a core. */
static int quorum(st_plane *c)
{
    if (!c->registry_on) return 1;
    if (c->cfg.role == CW_ROLE_REPLICANT) {
        for (int i = 0; i < st_links_npeers(c->links); i++)
            if (st_links_peer_at(c->links, i)->link &&
                st_link_peer_role(st_links_peer_at(c->links, i)->link) == CW_ROLE_CORE)
                return 1;
        return 0;
    }
    if (c->craft && st_craft_ready(c->craft)) return 1;
    const char *leader = st_cl_leader_name(c);
    st_peer *p = leader ? st_links_peer(c->links, leader, 0) : NULL;
    return p && st_peer_link(p);
}

/* The registry starts when the cluster has a second member; the kicks noted for this node
 * go to the workers owning those client ids; the broker learns whether it has a quorum. */
void st_cl_registry_tick(st_plane *c)
{
    if (!c->fsm) return;
    c->env.quorum(c->env.ctx, quorum(c));
    const st_node_row *self = me(c);
    pump(c); /* a batch that could not start (not a member yet) */
    int attached = c->env.attached(c->env.ctx);
    if (!c->registry_on && attached && self && has_others(c)) {
        c->registry_on = 1;
        c->reg_inc = self->incarnation;
        LOG_INFO(c->log, "cluster: other members: registering this node's sessions");
        c->env.registry_on(c->env.ctx);
    } else if (c->registry_on && self && self->incarnation != c->reg_inc && attached) {
        /* declared down (our rows purged) and back, or restarted: register again */
        c->reg_inc = self->incarnation;
        LOG_INFO(c->log, "cluster: new incarnation %llu: registering this node's sessions again",
                 (unsigned long long)self->incarnation);
        c->env.registry_on(c->env.ctx);
    }
    size_t n = 0;
    pthread_mutex_lock(c->view_lock);
    st_reg_kick *k = st_registry_kicks(st_fsm_table(c->fsm, ST_T_REGISTRY), &n);
    pthread_mutex_unlock(c->view_lock);
    for (size_t i = 0; i < n; i++) {
        if (k[i].node_id == c->node_id) c->env.kick(c->env.ctx, k[i].cid, k[i].len, k[i].hlc);
        free(k[i].cid);
    }
    free(k);
}

static void purge_done(void *arg, int status)
{
    (void)status;
    st_buf_free(arg);
    free(arg);
}

/* The leader: the rows of a node declared down (or gone) at incarnation go. */
void st_cl_registry_purge(st_plane *c, uint64_t node_id, uint64_t incarnation)
{
    if (!c->craft || !st_craft_ready(c->craft)) return;
    st_buf *body = calloc(1, sizeof *body);
    if (!body) return;
    st_op_purge(body, node_id, incarnation);
    ce_op op = {c->node_id, c->op_seq++, ST_T_REGISTRY, ST_V_PURGE, {body->p, (uint32_t)body->len}};
    if (st_cl_submit(c, &op, 1, 0, purge_done, body) < 0) purge_done(body, -1);
}

/* reg.c — this node's side of the client-id registry (registry.h, docs/cluster.md §10.2):
 * CONNECTs and session ends posted by the workers become REG / UNREG ops, batched per wake
 * of the cluster thread and submitted to the leader (propose.c); kicks the applied entries
 * note for this node go to the worker that owns the client id; the leader purges the rows
 * of a node declared down or gone. Registration is asynchronous: CONNACK does not wait.
 * A node alone in its cluster keeps no registry at all (nothing to be unique against; it
 * would cost every connection a row and a Raft op): when a first other member appears, the
 * workers register every session they hold, and from then on each CONNECT. */
#include "broker/worker.h"
#include "cluster/forward.h"
#include "cluster/internal.h"
#include "cluster/registry.h"
#include "cluster/tables.h"

#include <stdlib.h>
#include <string.h>

#define BATCH 256

void st_cl_registry_post(st_cluster *c, const char *cid, size_t len, uint64_t hlc, int up)
{
    st_cl_item *it = malloc(sizeof *it + len + 1);
    if (!it) return; /* not registered: an older connection elsewhere is not kicked */
    memset(it, 0, sizeof *it);
    it->kind = ST_CLI_REGISTER;
    it->seq = hlc;
    it->count = (uint32_t)up;
    it->len = (uint32_t)len;
    memcpy(it->s, cid, len);
    it->s[len] = 0;
    st_cl_post(c, it);
}

typedef struct batch {
    ce_op ops[BATCH];
    st_buf body[BATCH];
    uint32_t n;
} batch;

static void done(void *arg, int status)
{
    batch *b = arg;
    (void)status; /* refused or no quorum: the registrations are lost, as at a crash */
    for (uint32_t i = 0; i < b->n; i++)
        st_buf_free(&b->body[i]);
    free(b);
}

static const st_node_row *me(st_cluster *c)
{
    if (!c->fsm) return NULL;
    const st_node_row *r = st_nodes_find(st_fsm_table(c->fsm, ST_T_NODES), c->cfg.node_name);
    return r && r->state != ST_NS_LEFT ? r : NULL;
}

void st_cl_registry_batch(st_cluster *c, st_cl_item **items, size_t n)
{
    const st_node_row *self = c->registry_on ? me(c) : NULL;
    batch *b = self ? calloc(1, sizeof *b) : NULL;
    for (size_t i = 0; b && i < n && b->n < BATCH; i++) {
        st_cl_item *it = items[i];
        st_buf *body = &b->body[b->n];
        if (it->count)
            st_op_reg(body, it->s, it->len, c->node_id, self->incarnation, it->seq);
        else
            st_op_unreg(body, it->s, it->len, c->node_id, it->seq);
        b->ops[b->n] = (ce_op){c->node_id,
                               c->op_seq++,
                               ST_T_REGISTRY,
                               it->count ? ST_V_REG : ST_V_UNREG,
                               {body->p, (uint32_t)body->len}};
        b->n++;
    }
    /* patient: on a minority side they wait for the heal (cluster.registry_mode available) */
    if (b && (!b->n || st_cl_submit(c, b->ops, b->n, 1, done, b) < 0)) done(b, -1);
}

/* Another member (not left) in the table? */
static int has_others(st_cluster *c)
{
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    for (uint32_t i = 0; i < t->n; i++)
        if (t->rows[i].state != ST_NS_LEFT && t->rows[i].node_id != c->node_id) return 1;
    return 0;
}

/* Can this node's registrations be ordered now? A lone node always; a core when it leads
 * or is linked to the leader; a replicant when it is linked to a core. */
static int quorum(st_cluster *c)
{
    if (!c->registry_on) return 1;
    if (c->cfg.role == CW_ROLE_REPLICANT) {
        for (int i = 0; i < c->npeers; i++)
            if (c->peers[i]->link && c->peers[i]->link->peer_role == CW_ROLE_CORE) return 1;
        return 0;
    }
    if (c->craft && st_craft_ready(c->craft)) return 1;
    const char *leader = st_cl_leader_name(c);
    st_peer *p = leader ? st_peer_get(c, leader, 0) : NULL;
    return p && p->link && p->link->state == ST_L_READY;
}

/* The registry starts when the cluster has a second member; the kicks noted for this node
 * go to the workers owning those client ids; the broker learns whether it has a quorum. */
void st_cl_registry_tick(st_cluster *c)
{
    if (!c->fsm) return;
    if (c->broker) {
        int q = quorum(c);
        if (atomic_exchange(&c->broker->no_quorum, !q) == q)
            LOG_WARN(c->log, q ? "cluster: the leader is reachable again: the registry works"
                               : "cluster: no leader reachable (a minority side?): new "
                                 "connections follow cluster.registry_mode");
    }
    const st_node_row *self = me(c);
    if (!c->registry_on && c->fwd && self && has_others(c)) {
        c->registry_on = 1;
        atomic_store(&c->moves_on, 1);
        c->reg_inc = self->incarnation;
        LOG_INFO(c->log, "cluster: other members: registering this node's sessions");
        st_fwd_register_all(c->fwd);
    } else if (c->registry_on && self && self->incarnation != c->reg_inc && c->fwd) {
        /* declared down (our rows purged) and back, or restarted: register again */
        c->reg_inc = self->incarnation;
        LOG_INFO(c->log, "cluster: new incarnation %llu: registering this node's sessions again",
                 (unsigned long long)self->incarnation);
        st_fwd_register_all(c->fwd);
    }
    size_t n = 0;
    pthread_mutex_lock(&c->view_lock);
    st_reg_kick *k = st_registry_kicks(st_fsm_table(c->fsm, ST_T_REGISTRY), &n);
    pthread_mutex_unlock(&c->view_lock);
    for (size_t i = 0; i < n; i++) {
        if (k[i].node_id == c->node_id && c->fwd) st_fwd_kick(c->fwd, k[i].cid, k[i].len, k[i].hlc);
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
void st_cl_registry_purge(st_cluster *c, uint64_t node_id, uint64_t incarnation)
{
    if (!c->craft || !st_craft_ready(c->craft)) return;
    st_buf *body = calloc(1, sizeof *body);
    if (!body) return;
    st_op_purge(body, node_id, incarnation);
    ce_op op = {c->node_id, c->op_seq++, ST_T_REGISTRY, ST_V_PURGE, {body->p, (uint32_t)body->len}};
    if (st_cl_submit(c, &op, 1, 0, purge_done, body) < 0) purge_done(body, -1);
}

/* control.c — the control plane on this node (docs/cluster.md §5): the state machine and
 * libraft (craft.h), and the ops a node proposes about itself. A fresh node forms a
 * cluster of one (INIT, JOIN and BOOT of itself); a node that restarts on its Raft state
 * proposes BOOT, which bumps its incarnation. Joining other nodes is the next step. */
#include "cluster/internal.h"
#include "cluster/tables.h"
#include "core/clock.h"
#include "core/err.h"
#include "cluster/auth.h"

#include <stdio.h>
#include <string.h>

static const st_rtable_ops *const TABLES[] = {&st_table_cluster, &st_table_nodes};

static void add_self_op(st_cluster *c, uint16_t table, uint16_t verb)
{
    uint32_t i = c->nself++;
    c->self_ops[i] = (ce_op){c->node_id, c->op_seq++, table, verb, {NULL, 0}};
}

static void self_done(void *arg, int status)
{
    st_cluster *c = arg;
    if (status == 0) {
        c->self_state = 2;
        int st = st_fsm_op_status(c->fsm, c->node_id, c->self_ops[c->nself - 1].seq);
        LOG_NOTICE(c->log, "cluster: %s is up in the control plane%s", c->cfg.node_name,
                   st == ST_OP_OK ? "" : " (with a refusal: see the member table)");
        return;
    }
    c->self_state = 0; /* unknown outcome: resent, same op ids, when we lead again */
    LOG_WARN(c->log, "cluster: proposal about ourselves failed (status %d), will retry", status);
}

/* Leader and barrier committed: say what we are, once per process. */
static void on_ready(void *arg)
{
    st_cluster *c = arg;
    st_cl_control_tick(c); /* publish "leader" now, not at the next tick */
    if (c->self_state != 0) return;
    if (c->nself == 0) {
        const st_cluster_row *row = st_fsm_table(c->fsm, ST_T_CLUSTER);
        const st_nodes *nodes = st_fsm_table(c->fsm, ST_T_NODES);
        const st_node_row *me = st_nodes_find(nodes, c->cfg.node_name);
        char addr[300];
        snprintf(addr, sizeof addr, "%s:%d", strchr(c->cfg.node_name, '@') + 1, c->port);
        if (!row->init) {
            uint8_t uuid[16];
            st_auth_random(uuid, sizeof uuid);
            add_self_op(c, ST_T_CLUSTER, ST_V_INIT);
            st_op_init(&c->self_bodies[0], uuid, c->cfg.cluster_name, 1);
        }
        if (!me || me->state == ST_NS_LEFT) {
            add_self_op(c, ST_T_NODES, ST_V_JOIN);
            st_op_join(&c->self_bodies[c->nself - 1], c->cfg.node_name, (uint8_t)c->cfg.role,
                       c->node_id, addr, c->boot);
        }
        add_self_op(c, ST_T_NODES, ST_V_BOOT);
        st_op_boot(&c->self_bodies[c->nself - 1], c->cfg.node_name, c->boot);
        for (uint32_t i = 0; i < c->nself; i++)
            c->self_ops[i].body = (st_bytes){c->self_bodies[i].p, (uint32_t)c->self_bodies[i].len};
    }
    uint64_t hlc = st_hlc_now(&c->hlc, st_wall_ms());
    if (st_craft_propose(c->craft, hlc, c->self_ops, c->nself, self_done, c) == 0)
        c->self_state = 1;
}

static void on_lost(void *arg)
{
    st_cluster *c = arg;
    st_cl_control_tick(c);
    if (c->self_state == 1) c->self_state = 0; /* its outcome comes via self_done */
}

int st_cl_control_start(st_cluster *c, char *err, size_t errlen)
{
    if (c->cfg.role == CW_ROLE_REPLICANT) { /* never a Raft member; tails a core (next steps) */
        LOG_NOTICE(c->log, "cluster: replicant: no control plane until a core is reached");
        return 0;
    }
    uint32_t r;
    st_auth_random((uint8_t *)&r, sizeof r);
    c->op_seq = (uint64_t)(r & 0xFFFFFF) << 40;
    c->fsm = st_fsm_new(TABLES, sizeof TABLES / sizeof TABLES[0]);
    c->craft =
        c->fsm ? st_craft_new(&c->loop, c->log, c->fsm, &c->view_lock, on_ready, on_lost, c) : NULL;
    if (!c->craft) {
        snprintf(err, errlen, "cluster: out of memory");
        return ST_ENOMEM;
    }
    char dir[600], addr[300];
    snprintf(dir, sizeof dir, "%s/raft", c->cfg.data_dir);
    snprintf(addr, sizeof addr, "%s:%d", strchr(c->cfg.node_name, '@') + 1, c->port);
    int rc = st_craft_start(c->craft, dir, c->node_id, addr, 1, err, errlen);
    if (rc == 0) st_cl_control_tick(c);
    return rc;
}

void st_cl_control_tick(st_cluster *c)
{
    if (!c->craft) return;
    pthread_mutex_lock(&c->view_lock);
    snprintf(c->raft_state, sizeof c->raft_state, "%s", st_craft_state(c->craft));
    c->raft_term = st_craft_term(c->craft);
    pthread_mutex_unlock(&c->view_lock);
}

void st_cl_control_free(st_cluster *c)
{
    for (uint32_t i = 0; i < 3; i++)
        st_buf_free(&c->self_bodies[i]);
    if (c->craft) st_craft_free(c->craft);
    st_fsm_free(c->fsm);
}

void st_cluster_info_get(st_cluster *c, st_cluster_info *info, st_cluster_member *m, size_t max)
{
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(&c->view_lock);
    snprintf(info->raft_state, sizeof info->raft_state, "%s",
             c->raft_state[0]                   ? c->raft_state
             : c->cfg.role == CW_ROLE_REPLICANT ? "replicant"
                                                : "stopped");
    info->term = c->raft_term;
    if (c->fsm) {
        info->applied = st_fsm_applied(c->fsm);
        const st_cluster_row *row = st_fsm_table(c->fsm, ST_T_CLUSTER);
        if (row->init)
            for (int i = 0; i < 16; i++)
                snprintf(info->uuid + 2 * i, 3, "%02x", row->uuid[i]);
        const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
        info->nmembers = t->n;
        for (uint32_t i = 0; i < t->n && i < max; i++) {
            const st_node_row *r = &t->rows[i];
            snprintf(m[i].name, sizeof m[i].name, "%s", r->name);
            m[i].state = st_node_state_name(r->state);
            m[i].incarnation = r->incarnation;
            m[i].slot = r->slot == ST_NO_SLOT ? -1 : r->slot;
            m[i].replicant = r->role == CW_ROLE_REPLICANT;
        }
    }
    pthread_mutex_unlock(&c->view_lock);
}

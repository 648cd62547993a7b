/* view.c — what the API reads of the control plane (plane.h), from any thread, under the
 * view lock: the nodes as this node sees them, whether it is in a formed cluster and why
 * not, Raft's state and the member table, and the checks of the cluster commands. */
#include "cluster/plane/internal.h"
#include "cluster/plane/registry.h"
#include "cluster/plane/tables.h"

#include <stdio.h>
#include <string.h>

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
size_t st_plane_view(st_plane *c, st_cluster_node *out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(c->view_lock);
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
    pthread_mutex_unlock(c->view_lock);
    return n;
}

/* Why this node is not in a cluster yet (under view_lock). */
static void not_formed(st_plane *c, char *why, size_t cap)
{
    if (c->cfg.role == CW_ROLE_REPLICANT)
        snprintf(why, cap, "a replicant waiting for a core to take it in");
    else if (c->deciding && c->forming[0])
        snprintf(why, cap, "%s", c->forming);
    else if (st_cl_is_member(c))
        snprintf(why, cap, "joining: the leader is making it a voter");
    else
        snprintf(why, cap, "joining: waiting for a leader to take it in");
}

int st_plane_formed(st_plane *c, char *why, size_t cap)
{
    pthread_mutex_lock(c->view_lock);
    int formed = st_cl_formed(c);
    if (!formed) not_formed(c, why, cap);
    pthread_mutex_unlock(c->view_lock);
    return formed;
}

void st_plane_info(st_plane *c, st_cluster_info *info, st_cluster_member *m, size_t max)
{
    memset(info, 0, sizeof *info);
    pthread_mutex_lock(c->view_lock);
    snprintf(info->raft_state, sizeof info->raft_state, "%s",
             c->raft_state[0]                   ? c->raft_state
             : c->cfg.role == CW_ROLE_REPLICANT ? "replicant"
                                                : "stopped");
    info->term = c->raft_term;
    info->voters = c->raft_voters;
    if (c->fsm) {
        info->applied = st_fsm_applied(c->fsm);
        info->registry = st_registry_count(st_fsm_table(c->fsm, ST_T_REGISTRY));
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
    pthread_mutex_unlock(c->view_lock);
}

size_t st_plane_up_members(st_plane *c, char (*out)[256], size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(c->view_lock);
    const st_nodes *t = c->fsm && st_cl_formed(c) ? st_fsm_table(c->fsm, ST_T_NODES) : NULL;
    for (uint32_t i = 0; t && i < t->n; i++) {
        const st_node_row *r = &t->rows[i];
        if (r->state != ST_NS_UP || strcmp(r->name, c->cfg.node_name) == 0) continue;
        if (n < max) snprintf(out[n], sizeof out[n], "%s", r->name);
        n++;
    }
    pthread_mutex_unlock(c->view_lock);
    return n;
}

int st_plane_has_member(st_plane *c, const char *node)
{
    pthread_mutex_lock(c->view_lock);
    const st_nodes *t = c->fsm ? st_fsm_table(c->fsm, ST_T_NODES) : NULL;
    const st_node_row *r = t ? st_nodes_find(t, node) : NULL;
    int ok = r && r->state != ST_NS_LEFT;
    pthread_mutex_unlock(c->view_lock);
    return ok;
}

int st_plane_other_members(st_plane *c, const char *name, int *has_name)
{
    pthread_mutex_lock(c->view_lock);
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
    pthread_mutex_unlock(c->view_lock);
    return n;
}

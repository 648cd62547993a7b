/* plane.c — the control plane's face (plane.h): its state, start and stop, the links'
 * events, discovery's candidates, the registry's entry points and the commands. */
#include "cluster/plane/internal.h"
#include "cluster/plane/registry.h"

#include <stdlib.h>
#include <string.h>

st_plane *st_plane_new(const st_plane_cfg *cfg, const st_plane_env *env)
{
    st_plane *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = *cfg;
    c->env = *env;
    c->log = env->log;
    c->view_lock = env->view_lock;
    c->links = env->links;
    c->boot = env->boot;
    c->node_id = env->node_id;
    return c;
}

int64_t st_cl_now(const st_plane *c)
{
    return (int64_t)uv_now(c->loop);
}

int st_plane_start(st_plane *c, uv_loop_t *loop, int port, char *err, size_t errlen)
{
    c->loop = loop;
    c->port = port;
    st_cl_control_register(c);
    st_cl_propose_register(c);
    st_tail_register(c);
    return st_cl_control_start(c, err, errlen);
}

void st_plane_tick(st_plane *c)
{
    st_cl_control_tick(c);
}

void st_plane_stop(st_plane *c, void (*closed)(void *arg), void *arg)
{
    c->stopping = 1;
    if (c->craft)
        st_craft_close(c->craft, closed, arg);
    else
        closed(arg);
}

void st_plane_free(st_plane *c)
{
    if (!c) return;
    st_cl_control_free(c);
    free(c);
}

void st_plane_candidates(st_plane *c, const char (*names)[256], int n)
{
    c->ndisc = 0;
    for (int i = 0; i < n && i < ST_PLANE_MAX_CANDIDATES; i++)
        memcpy(c->disc[c->ndisc++], names[i], sizeof c->disc[0]);
    c->disc_answered = 1;
}

int st_plane_deciding(const st_plane *c)
{
    return c->deciding;
}

int st_plane_is_member(st_plane *c)
{
    return st_cl_is_member(c);
}

void st_cl_drop_peer(st_plane *c, st_peer *p, uint8_t bye, int how, const char *why)
{
    st_links_drop(c->links, p, bye, why);
    c->env.gone(c->env.ctx, p, how);
}

/* ---- the links' events ----------------------------------------------------------------- */

void st_plane_peer_up(st_plane *c, st_peer *p, st_link *l)
{
    c->pp[p->slot].tail_next = 0; /* a replicant on the new link asks again */
    c->pp[p->slot].tail_snap = 0;
    st_cl_on_link_up(c, l);
}

void st_plane_peer_down(st_plane *c, st_peer *p)
{
    c->pp[p->slot].tail_next = 0;
}

void st_plane_link_closed(st_plane *c, st_link *l)
{
    st_tail_link_down(c, l);
}

void st_plane_removed(st_plane *c, const char *by)
{
    st_cl_removed(c, by);
}

/* ---- the registry ---------------------------------------------------------------------- */

void st_plane_register(st_plane *c, const char *cid, size_t len, uint64_t hlc, int up)
{
    st_cl_registry_add(c, cid, len, hlc, up);
}

void st_plane_register_flush(st_plane *c)
{
    st_cl_registry_flush(c);
}

uint64_t st_plane_locate(st_plane *c, const char *cid, size_t len)
{
    pthread_mutex_lock(c->view_lock);
    const st_reg_row *row =
        c->fsm ? st_registry_get(st_fsm_table(c->fsm, ST_T_REGISTRY), cid, len) : NULL;
    uint64_t node = row ? row->node_id : 0;
    pthread_mutex_unlock(c->view_lock);
    return node;
}

/* ---- commands -------------------------------------------------------------------------- */

void st_plane_force_leave(st_plane *c, const char *name)
{
    st_cl_force_leave(c, name);
}

void st_plane_join(st_plane *c, const char *target)
{
    st_cl_join(c, target);
}

void st_plane_leave(st_plane *c)
{
    st_cl_leave(c);
}

/* peers.c — the nodes this one knows (static seeds, and whoever linked to us), dialling
 * with backoff, and which link a pair of nodes keeps: both may dial at once, and the link
 * dialled by the node with the smaller name wins (docs/cluster.md §3.1). */
#include "cluster/forward.h"
#include "cluster/internal.h"
#include "cluster/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

st_peer *st_peer_get(st_cluster *c, const char *name, int create)
{
    for (int i = 0; i < c->npeers; i++)
        if (strcmp(c->peers[i]->name, name) == 0) return c->peers[i];
    const char *at = strchr(name, '@');
    if (!create || !at || !at[1] || c->npeers == ST_CL_MAX_PEERS || strlen(name) >= 256)
        return NULL;
    st_peer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->host, sizeof p->host, "%s", at + 1);
    p->port = c->port; /* EMQX's model: every node listens on the same cluster port */
    p->backoff = ST_CL_DIAL_MIN_MS;
    p->down_at = st_cl_now(c);
    pthread_mutex_lock(&c->view_lock);
    p->slot = (uint16_t)c->npeers;
    c->peers[c->npeers++] = p;
    pthread_mutex_unlock(&c->view_lock);
    return p;
}

void st_peer_gone(st_cluster *c, st_peer *p, uint8_t bye, int keep, const char *why)
{
    if (p->link) {
        if (bye) st_link_send_goodbye(p->link, bye);
        st_link_close(p->link, why);
    }
    if (c->broker) {
        st_cl_routes_purge(c, p);
        st_fwd_peer_down(c->fwd, p->slot, keep ? 2 : 1);
    }
}

void st_peer_dial_failed(st_cluster *c, st_peer *p)
{
    p->next_dial = st_cl_now(c) + p->backoff;
    p->backoff = p->backoff * 2 > ST_CL_DIAL_MAX_MS ? ST_CL_DIAL_MAX_MS : p->backoff * 2;
}

void st_peers_tick(st_cluster *c, int64_t now)
{
    for (int i = 0; i < c->npeers && !c->stopping; i++) {
        st_peer *p = c->peers[i];
        if (p->link || p->dialing || p->left || p->forgotten || now < p->next_dial) continue;
        p->dialing = st_link_dial(c, p);
        if (!p->dialing) st_peer_dial_failed(c, p);
    }
}

static void set_link(st_cluster *c, st_peer *p, st_link *l)
{
    pthread_mutex_lock(&c->view_lock); /* st_cluster_view reads p->link from other threads */
    p->link = l;
    pthread_mutex_unlock(&c->view_lock);
}

/* Of two READY links between the same pair, keep the one the smaller name dialled. */
static int keeps_new(st_cluster *c, const st_link *old, const st_link *nw)
{
    int we_are_smaller = strcmp(c->cfg.node_name, nw->peer_name) < 0;
    if (old->dialer == nw->dialer) return 1; /* a reconnect of the same side: newest wins */
    return nw->dialer == we_are_smaller;
}

int st_peer_link_up(st_cluster *c, st_link *l)
{
    st_peer *p = st_peer_get(c, l->peer_name, 1);
    if (!p) {
        st_link_close(l, "too many peers");
        return 0;
    }
    if (l->peer && l->peer != p && l->peer->dialing == l) {
        l->peer->dialing = NULL; /* the seed answered under another name */
        st_peer_dial_failed(c, l->peer);
    }
    l->peer = p;
    if (p->dialing == l) p->dialing = NULL;
    if (p->link && p->link != l) {
        if (!keeps_new(c, p->link, l)) {
            st_link_close(l, "duplicate link");
            return 0;
        }
        st_link *old = p->link;
        set_link(c, p, NULL); /* not a link-down: the pair stays linked */
        old->peer = NULL;
        st_link_close(old, "replaced by a newer link");
    }
    set_link(c, p, l);
    p->backoff = ST_CL_DIAL_MIN_MS;
    if (c->fwd && p->boot && p->boot != l->peer_boot) /* a new process: before its routes */
        st_fwd_new_boot(c->fwd, p->slot);
    p->boot = l->peer_boot;
    LOG_NOTICE(c->log, "cluster: link to %s up (%s, dialled by %s)", p->name, l->addr,
               l->dialer ? "us" : "them");
    if (c->broker) {
        st_cl_routes_link_up(c, l);
        st_fwd_set_live(c->fwd, p->slot, 1);
    }
    st_cl_on_link_up(c, l);
    return 1;
}

void st_peer_link_down(st_cluster *c, st_link *l, const char *why)
{
    st_peer *p = l->peer;
    if (!p) return;
    if (p->dialing == l) {
        p->dialing = NULL;
        st_peer_dial_failed(c, p);
        LOG_DEBUG(c->log, "cluster: dial %s (%s) failed: %s", p->name, l->addr, why);
    }
    if (p->link == l) {
        set_link(c, p, NULL);
        p->next_dial = st_cl_now(c) + ST_CL_DIAL_MIN_MS;
        p->down_at = st_cl_now(c);
        LOG_NOTICE(c->log, "cluster: link to %s down: %s", p->name, why);
        if (c->fwd) st_fwd_set_live(c->fwd, p->slot, 0);
        if (c->fwd && !c->stopping) st_fwd_peer_down(c->fwd, p->slot, 0);
        st_cl_routes_publish_ack(c); /* SUBACKs stop waiting for it */
    }
}

/* peers.c — the nodes this one knows (static seeds, and whoever linked to us), dialling
 * with backoff, and which link a pair of nodes keeps: both may dial at once, and the link
 * dialled by the node with the smaller name wins (docs/cluster.md §3.1). */
#include "cluster/links/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

st_peer *st_links_peer(st_links *ls, const char *name, int create)
{
    for (int i = 0; i < ls->npeers; i++)
        if (strcmp(ls->peers[i]->name, name) == 0) return ls->peers[i];
    const char *at = strchr(name, '@');
    if (!create || !at || !at[1] || ls->npeers == ST_LINKS_MAX_PEERS || strlen(name) >= 256)
        return NULL;
    st_peer *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->host, sizeof p->host, "%s", at + 1);
    p->port = ls->port; /* EMQX's model: every node listens on the same cluster port */
    p->backoff = ST_LINKS_DIAL_MIN_MS;
    p->down_at = st_links_now(ls);
    pthread_mutex_lock(ls->env.view_lock);
    p->slot = (uint16_t)ls->npeers;
    ls->peers[ls->npeers++] = p;
    pthread_mutex_unlock(ls->env.view_lock);
    return p;
}

int st_links_npeers(const st_links *ls)
{
    return ls->npeers;
}

st_peer *st_links_peer_at(const st_links *ls, int slot)
{
    return slot >= 0 && slot < ls->npeers ? ls->peers[slot] : NULL;
}

st_link *st_peer_link(const st_peer *p)
{
    return p->link && st_link_ready(p->link) ? p->link : NULL;
}

void st_peer_redial(st_peer *p)
{
    p->forgotten = 0;
    p->next_dial = 0;
}

void st_links_drop(st_links *ls, st_peer *p, uint8_t bye, const char *why)
{
    (void)ls;
    if (!p->link) return;
    if (bye) st_link_send_goodbye(p->link, bye);
    st_link_close(p->link, why);
}

void st_peer_dial_failed(st_links *ls, st_peer *p)
{
    p->next_dial = st_links_now(ls) + p->backoff;
    p->backoff = p->backoff * 2 > ST_CL_DIAL_MAX_MS ? ST_CL_DIAL_MAX_MS : p->backoff * 2;
}

void st_peers_tick(st_links *ls, int64_t now)
{
    for (int i = 0; i < ls->npeers && !ls->stopping; i++) {
        st_peer *p = ls->peers[i];
        if (p->link || p->dialing || p->left || p->forgotten || now < p->next_dial) continue;
        p->dialing = st_link_dial(ls, p);
        if (!p->dialing) st_peer_dial_failed(ls, p);
    }
}

static void set_link(st_links *ls, st_peer *p, st_link *l)
{
    pthread_mutex_lock(ls->env.view_lock); /* st_cluster_view reads p->link from other threads */
    p->link = l;
    pthread_mutex_unlock(ls->env.view_lock);
}

/* Of two READY links between the same pair, keep the one the smaller name dialled. */
static int keeps_new(const st_links *ls, const st_link *old, const st_link *nw)
{
    int we_are_smaller = strcmp(ls->cfg.node_name, nw->peer_name) < 0;
    if (old->dialer == nw->dialer) return 1; /* a reconnect of the same side: newest wins */
    return nw->dialer == we_are_smaller;
}

int st_peer_link_up(st_links *ls, st_link *l)
{
    st_peer *p = st_links_peer(ls, l->peer_name, 1);
    if (!p) {
        st_link_close(l, "too many peers");
        return 0;
    }
    if (l->peer && l->peer != p && l->peer->dialing == l) {
        l->peer->dialing = NULL; /* the seed answered under another name */
        st_peer_dial_failed(ls, l->peer);
    }
    l->peer = p;
    if (p->dialing == l) p->dialing = NULL;
    if (p->link && p->link != l) {
        if (!keeps_new(ls, p->link, l)) {
            st_link_close(l, "duplicate link");
            return 0;
        }
        st_link *old = p->link;
        set_link(ls, p, NULL); /* not a link-down: the pair stays linked */
        old->peer = NULL;
        st_link_close(old, "replaced by a newer link");
    }
    set_link(ls, p, l);
    p->backoff = ST_LINKS_DIAL_MIN_MS;
    uint64_t prev = p->boot;
    p->boot = l->peer_boot;
    LOG_NOTICE(ls->env.log, "cluster: link to %s up (%s, dialled by %s)", p->name, l->addr,
               l->dialer ? "us" : "them");
    st_links_event(ls, ST_PEER_UP, p, l, prev, 0);
    return 1;
}

void st_peer_link_down(st_links *ls, st_link *l, const char *why)
{
    st_peer *p = l->peer;
    if (!p) return;
    if (p->dialing == l) {
        p->dialing = NULL;
        st_peer_dial_failed(ls, p);
        LOG_DEBUG(ls->env.log, "cluster: dial %s (%s) failed: %s", p->name, l->addr, why);
    }
    if (p->link == l) {
        set_link(ls, p, NULL);
        p->next_dial = st_links_now(ls) + ST_LINKS_DIAL_MIN_MS;
        p->down_at = st_links_now(ls);
        LOG_NOTICE(ls->env.log, "cluster: link to %s down: %s", p->name, why);
        st_links_event(ls, ST_PEER_DOWN, p, l, 0, 0);
    }
}

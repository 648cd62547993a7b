/* member.c — a node joins another cluster or leaves its own on command (`starling ctl
 * cluster join <node>` / `leave`, docs/cluster.md §5.6), and runs alone once the others
 * say it is out.
 *
 * Both end the same way: the Raft instance closes, its state on disk is archived, and a new
 * one starts — as a cluster of one (leave), or without a configuration, asking the
 * target's leader to take it in (join; the same path as a fresh node with seeds). The
 * peers of the old cluster are forgotten: not dialled again unless the new member table
 * lists them. */
#include "cluster/plane/internal.h"
#include "cluster/plane/tables.h"

#include "core/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LEAVE_ASK_MS 1000

/* The old Raft state goes aside as raft.old-<unix time> (never deleted by us: an operator
 * can look at it, or put it back); libraft starts on an empty directory. */
static void archive_dir(st_plane *c)
{
    char old[700];
    long long t = (long long)(st_wall_ms() / 1000);
    for (int i = 0; i < 100; i++) { /* a second join in the same second: .old-<t>-1, ... */
        if (i)
            snprintf(old, sizeof old, "%s.old-%lld-%d", c->raft_dir, t, i);
        else
            snprintf(old, sizeof old, "%s.old-%lld", c->raft_dir, t);
        if (access(old, F_OK) == 0) continue;
        if (rename(c->raft_dir, old) == 0)
            LOG_NOTICE(c->log, "cluster: Raft state archived as %s", old);
        else if (errno != ENOENT)
            LOG_ERROR(c->log, "cluster: cannot archive %s: %s", c->raft_dir, strerror(errno));
        return;
    }
}

/* Say goodbye to every peer and stop dialling them; what we hold for them goes. */
static void forget_peers(st_plane *c)
{
    for (int i = 0; i < st_links_npeers(c->links); i++) {
        st_peer *p = st_links_peer_at(c->links, i);
        p->forgotten = 1;
        p->member = 0;
        st_cl_drop_peer(c, p, CW_BYE_LEAVE, ST_GONE_US, "this node left the cluster");
    }
}

/* The leave is over (done, or nothing to leave): this node serves clients again at once,
 * before the status can show it alone (`ctl cluster leave` returns on that). */
static void leave_over(st_plane *c)
{
    c->leaving = 0;
    c->env.evacuate_end(c->env.ctx);
}

static void start_again(st_plane *c)
{
    char addr[300], err[256];
    int join = c->reset_join;
    snprintf(addr, sizeof addr, "%s:%d", strchr(c->cfg.node_name, '@') + 1, c->port);
    c->joining = join;
    c->deciding = join; /* control.c's decide(): a member peer, or the leader's answer */
    c->manual_join = join;
    c->decide_after = st_cl_now(c);
    if (join) {
        st_peer *p = st_links_peer(c->links, c->join_target, 1);
        if (p) st_peer_redial(p);
        LOG_NOTICE(c->log, "cluster: joining the cluster of %s", c->join_target);
        return;
    }
    LOG_NOTICE(c->log, "cluster: running alone (a new cluster of one)");
    if (st_craft_start(c->craft, c->raft_dir, c->node_id, addr, 1, err, sizeof err) < 0)
        LOG_ERROR(c->log, "%s", err);
}

static void raft_closed(void *arg)
{
    st_plane *c = arg;
    archive_dir(c);
    if (c->retired) st_craft_free(c->retired); /* closed a reset ago: nothing refers to it */
    c->retired = c->craft;
    c->craft = NULL;
    if (st_cl_plane_new(c) < 0) {
        LOG_ERROR(c->log, "cluster: out of memory restarting the control plane");
        return; /* stays resetting: the node serves its clients alone */
    }
    leave_over(c);
    st_cl_self_reset(c);
    forget_peers(c);
    c->resetting = 0;
    start_again(c);
}

/* Close Raft (our pending RAFT dials first, as at stop), then start over. */
static void reset(st_plane *c, int join)
{
    c->resetting = 1;
    c->reset_join = join;
    st_links_close_streams(c->links, CW_S_RAFT, "Raft restarting");
    st_craft_close(c->craft, raft_closed, c);
}

/* A replicant has no Raft: it only changes whom it talks to. */
static void replicant_reset(st_plane *c, int join)
{
    leave_over(c);
    forget_peers(c);
    st_cl_replicant_fsm(c);
    c->rep_up = 0;
    if (!join) return;
    st_peer *p = st_links_peer(c->links, c->join_target, 1);
    if (p) p->forgotten = 0;
}

void st_cl_join(st_plane *c, const char *target)
{
    if (c->resetting || c->stopping) return;
    snprintf(c->join_target, sizeof c->join_target, "%s", target);
    LOG_NOTICE(c->log, "cluster: asked to join the cluster of %s", target);
    if (c->cfg.role == CW_ROLE_REPLICANT)
        replicant_reset(c, 1);
    else
        reset(c, 1);
}

void st_cl_leave(st_plane *c)
{
    if (c->resetting || c->stopping || c->leaving) return;
    LOG_NOTICE(c->log, "cluster: asked to leave the cluster");
    c->leaving = 1;
    c->leave_next = 0;
    c->env.leave_evacuate(c->env.ctx, st_cl_now(c)); /* the sessions go first */
}

void st_cl_removed(st_plane *c, const char *by)
{
    if (c->resetting || c->stopping) return;
    LOG_NOTICE(c->log, "cluster: %s says this node is no longer a member", by);
    if (c->cfg.role == CW_ROLE_REPLICANT)
        replicant_reset(c, 0);
    else if (c->craft)
        reset(c, 0);
}

/* Other members that are not leaving: 0 means a leave has nothing to leave. */
static int others(st_plane *c)
{
    int n = 0;
    const st_nodes *t = c->fsm ? st_fsm_table(c->fsm, ST_T_NODES) : NULL;
    for (uint32_t i = 0; t && i < t->n; i++)
        n += t->rows[i].state != ST_NS_LEFT && strcmp(t->rows[i].name, c->cfg.node_name) != 0;
    return n;
}

/* Leaving: a leader hands over first (a leader cannot remove itself and go on leading);
 * then whoever leads commits LEAVE, removes us from Raft, and tells us (st_cl_removed). */
void st_cl_member_tick(st_plane *c)
{
    int64_t now = st_cl_now(c);
    if (!c->leaving || now < c->leave_next || c->env.evacuating(c->env.ctx, now)) return;
    c->leave_next = now + LEAVE_ASK_MS;
    if (c->cfg.role != CW_ROLE_REPLICANT && (!c->craft || !others(c))) {
        leave_over(c); /* alone already (the API says so before asking) */
        return;
    }
    if (c->craft && st_craft_ready(c->craft)) {
        if (st_craft_transfer(c->craft) == 0)
            LOG_NOTICE(c->log, "cluster: handing leadership over before leaving");
        return;
    }
    cw_leave_req r = {{(const uint8_t *)c->cfg.node_name, (uint32_t)strlen(c->cfg.node_name)}, 0};
    uint8_t buf[300];
    size_t n = cw_encode_leave_req(&r, buf, sizeof buf);
    for (int i = 0; i < st_links_npeers(c->links) && n <= sizeof buf;
         i++) /* the leader acts on it */
        if (st_peer_link(st_links_peer_at(c->links, i)))
            st_link_send(st_links_peer_at(c->links, i)->link, buf, n);
}

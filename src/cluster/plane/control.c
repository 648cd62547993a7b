/* control.c — the control plane on this node (docs/cluster.md §5): the state machine and
 * libraft (craft.h), and the ops a node proposes about itself. A fresh node forms a
 * cluster of one (INIT, JOIN and BOOT of itself); a node that restarts on its Raft state
 * proposes BOOT, which bumps its incarnation. Joining other nodes is the next step. */
#include "cluster/plane/internal.h"
#include "cluster/plane/kv.h"
#include "cluster/plane/registry.h"
#include "cluster/plane/tables.h"
#include <raft.h>
#include "core/clock.h"
#include "core/err.h"
#include "cluster/links/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const st_rtable_ops *const TABLES[] = {&st_table_cluster, &st_table_nodes,
                                              &st_table_registry, &st_table_kv};

static void add_self_op(st_plane *c, uint16_t table, uint16_t verb)
{
    uint32_t i = c->nself++;
    c->self_ops[i] = (ce_op){c->node_id, c->op_seq++, table, verb, {NULL, 0}};
}

static void self_done(void *arg, int status)
{
    st_plane *c = arg;
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
    st_plane *c = arg;
    c->leader_since = st_cl_now(c);
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
        if (me && me->state != ST_NS_LEFT && me->boot == c->boot && me->state == ST_NS_UP) {
            c->self_state = 2; /* joined in this process: nothing to say */
            return;
        }
        if (!me || me->state == ST_NS_LEFT) { /* forming: JOIN then JOINED, incarnation 1 */
            add_self_op(c, ST_T_NODES, ST_V_JOINED);
            st_op_name(&c->self_bodies[c->nself - 1], c->cfg.node_name);
        } else { /* a restart: BOOT bumps the incarnation */
            add_self_op(c, ST_T_NODES, ST_V_BOOT);
            st_op_boot(&c->self_bodies[c->nself - 1], c->cfg.node_name, c->boot);
        }
        for (uint32_t i = 0; i < c->nself; i++)
            c->self_ops[i].body = (st_bytes){c->self_bodies[i].p, (uint32_t)c->self_bodies[i].len};
    }
    uint64_t hlc = st_hlc_now(&c->hlc, st_wall_ms());
    if (st_craft_propose(c->craft, hlc, c->self_ops, c->nself, self_done, c) == 0)
        c->self_state = 1;
}

static void on_lost(void *arg)
{
    st_plane *c = arg;
    st_cl_control_tick(c);
    if (c->self_state == 1) c->self_state = 0; /* its outcome comes via self_done */
}

static int raft_dial(void *arg, const char *address, void *token)
{
    st_plane *c = arg;
    char host[256];
    const char *colon = strrchr(address, ':');
    if (!colon || colon == address || (size_t)(colon - address) >= sizeof host) return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - address), address);
    return st_links_dial_stream(c->links, CW_S_RAFT, NULL, host, atoi(colon + 1), 0, token);
}

/* A RAFT stream finished its handshake: libraft's from now on. */
static void raft_ready(void *owner, const st_stream *s)
{
    st_plane *c = owner;
    if (!c->craft || st_craft_adopt(c->craft, s->fd, s->peer_id, s->addr, s->token) < 0)
        close(s->fd);
}

static void raft_failed(void *owner, const st_stream *s)
{
    st_plane *c = owner;
    if (s->token && c->craft) st_craft_dial_failed(c->craft, s->token);
}

/* Propose one op of the nodes table, built in body (which op points into: both live until
 * done runs), with a fresh op id. 0, or <0 if it could not be proposed. */
static int propose_node_op(st_plane *c, ce_op *op, const st_buf *body, uint16_t verb,
                           st_craft_done_cb done, void *arg)
{
    *op = (ce_op){c->node_id, c->op_seq++, ST_T_NODES, verb, {body->p, (uint32_t)body->len}};
    return st_craft_propose(c->craft, st_hlc_now(&c->hlc, st_wall_ms()), op, 1, done, arg);
}

/* ---- joining ------------------------------------------------------------------------------ */

static int is_member(st_plane *c)
{
    if (!c->fsm) return 0;
    const st_cluster_row *row = st_fsm_table(c->fsm, ST_T_CLUSTER);
    const st_node_row *me = st_nodes_find(st_fsm_table(c->fsm, ST_T_NODES), c->cfg.node_name);
    return row->init && me && me->state != ST_NS_LEFT;
}

/* Something about this process must be committed by the leader: joining (a node that
 * started with seeds) or BOOT (a member that restarted, or that finds itself declared
 * down), while we are not the leader ourselves. */
static int needs_leader(st_plane *c)
{
    if (c->cfg.role == CW_ROLE_REPLICANT) return !c->rep_up; /* no Raft state of its own */
    if (c->deciding) return 1; /* whoever already leads a cluster takes us in */
    if (!c->craft || st_craft_ready(c->craft) || c->self_state == 1) return 0;
    if (!is_member(c)) return c->joining;
    const st_node_row *me = st_nodes_find(st_fsm_table(c->fsm, ST_T_NODES), c->cfg.node_name);
    return me->boot != c->boot || me->state == ST_NS_DOWN;
}

void st_cl_ask_leader(st_plane *c, st_link *l)
{
    cw_join_req j = {++c->join_req, (uint8_t)c->cfg.role};
    uint8_t buf[64];
    size_t n = cw_encode_join_req(&j, buf, sizeof buf);
    st_link_send(l, buf, n);
    LOG_INFO(c->log, "cluster: asking %s to %s", st_link_peer_name(l),
             c->fsm && is_member(c) ? "commit our restart" : "join its cluster");
}

const char *st_cl_leader_name(st_plane *c)
{
    uint64_t id = 0;
    if (!c->craft || !c->fsm || !st_craft_leader(c->craft, &id)) return NULL;
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    for (uint32_t i = 0; i < t->n; i++)
        if (t->rows[i].node_id == id) return t->rows[i].name;
    return NULL;
}

int st_cl_is_member(st_plane *c)
{
    return is_member(c);
}

int st_cl_formed(st_plane *c)
{
    if (!is_member(c)) return 0;
    const st_node_row *me = st_nodes_find(st_fsm_table(c->fsm, ST_T_NODES), c->cfg.node_name);
    return me->state != ST_NS_JOINING;
}

void st_cl_on_link_up(st_plane *c, st_link *l)
{
    /* a replicant asks on every new link: after being declared down, its links are closed
     * by the others, and the one it asks again may be the leader */
    if (c->cfg.role == CW_ROLE_REPLICANT) c->rep_up = 0;
    if (needs_leader(c)) st_cl_ask_leader(c, l);
}

/* Until the leader has committed what we asked: ask every linked peer again now and then
 * (the first ones asked may not have been the leader, or had no leader yet). */
static void ask_again(st_plane *c)
{
    int64_t now = st_cl_now(c);
    if (!needs_leader(c) || now - c->last_join_req < 2000) return;
    c->last_join_req = now;
    for (int i = 0; i < st_links_npeers(c->links); i++)
        if (st_peer_link(st_links_peer_at(c->links, i)))
            st_cl_ask_leader(c, st_links_peer_at(c->links, i)->link);
}

typedef struct join_wait {
    st_plane *c;
    char name[256];
    uint64_t req_id;
    st_buf body;
    ce_op op;
} join_wait;

static void reply_join(st_plane *c, const char *name, uint64_t req_id, uint16_t status,
                       const char *text)
{
    st_peer *p = st_links_peer(c->links, name, 0);
    if (!p || !p->link) return;
    const char *lname = st_cl_leader_name(c); /* so that a joiner can go there */
    if (!lname) lname = "";
    cw_join_result r = {req_id,
                        status,
                        {(const uint8_t *)lname, (uint32_t)strlen(lname)},
                        {(const uint8_t *)text, (uint32_t)strlen(text)}};
    uint8_t buf[600];
    size_t n = cw_encode_join_result(&r, buf, sizeof buf);
    if (n <= sizeof buf) st_link_send(p->link, buf, n);
}

static void join_done(void *arg, int status)
{
    join_wait *jw = arg;
    st_plane *c = jw->c;
    int st = status == 0 ? st_fsm_op_status(c->fsm, jw->op.origin, jw->op.seq) : -1;
    if (!c->stopping) /* else its links are closing: it asks again elsewhere */
        reply_join(c, jw->name, jw->req_id, st == ST_OP_OK ? CW_JOIN_OK : CW_JOIN_FAILED,
                   st == ST_OP_OK ? "joined" : "refused");
    if (st == ST_OP_OK)
        LOG_NOTICE(c->log, "cluster: %s %s", jw->name,
                   jw->op.verb == ST_V_BOOT ? "is back (new incarnation)" : "joins");
    st_buf_free(&jw->body);
    free(jw);
}

/* Where l's peer listens for cluster streams: its HELLO says so when it dialled us; when we
 * dialled it, its name's host on the cluster port (EMQX's model: one port everywhere). */
static const char *peer_addr(st_plane *c, const st_link *l, char *buf, size_t cap)
{
    if (st_link_hello_addr(l)[0]) return st_link_hello_addr(l);
    const char *at = strchr(st_link_peer_name(l), '@');
    snprintf(buf, cap, "%s:%d", at ? at + 1 : st_link_peer_name(l), c->port);
    return buf;
}

static void join_request(st_plane *c, st_link *l, const cw_join_req *j)
{
    char addr[300];
    if (!c->craft || !st_craft_ready(c->craft)) {
        reply_join(c, st_link_peer_name(l), j->req_id, CW_JOIN_NOTLEADER, "not the leader");
        return;
    }
    const st_node_row *row = st_nodes_find(st_fsm_table(c->fsm, ST_T_NODES), st_link_peer_name(l));
    int boot = row && row->state != ST_NS_LEFT; /* a member that restarted (or was declared down) */
    if (boot && row->boot == st_link_peer_boot(l) &&
        (row->state == ST_NS_UP || row->state == ST_NS_JOINING)) { /* asked again */
        reply_join(c, st_link_peer_name(l), j->req_id, CW_JOIN_OK,
                   row->state == ST_NS_UP ? "up" : "joining");
        return;
    }
    join_wait *jw = calloc(1, sizeof *jw);
    if (!jw) return;
    jw->c = c;
    jw->req_id = j->req_id;
    snprintf(jw->name, sizeof jw->name, "%s", st_link_peer_name(l));
    if (boot)
        st_op_boot(&jw->body, st_link_peer_name(l), st_link_peer_boot(l));
    else
        st_op_join(&jw->body, st_link_peer_name(l), j->role, st_auth_node_id(st_link_peer_name(l)),
                   peer_addr(c, l, addr, sizeof addr), st_link_peer_boot(l));
    if (propose_node_op(c, &jw->op, &jw->body, boot ? ST_V_BOOT : ST_V_JOIN, join_done, jw) < 0) {
        reply_join(c, st_link_peer_name(l), j->req_id, CW_JOIN_FAILED, "could not propose");
        st_buf_free(&jw->body);
        free(jw);
    }
}

/* dns discovery decided (decide() below): start Raft, forming a cluster or to join one */
static void start_decided(st_plane *c, int form)
{
    c->deciding = 0;
    c->joining = !form;
    LOG_NOTICE(c->log, "cluster: %s",
               form ? "no cluster found: forming one (smallest name)"
                    : "a discovered node is in a cluster: joining it");
    char addr[300], err[256];
    snprintf(addr, sizeof addr, "%s:%d", strchr(c->cfg.node_name, '@') + 1, c->port);
    if (st_craft_start(c->craft, c->raft_dir, c->node_id, addr, form, err, sizeof err) < 0)
        LOG_ERROR(c->log, "%s", err);
}

static void join_result(st_plane *c, st_link *l, const cw_join_result *r)
{
    if (r->status == CW_JOIN_OK && c->deciding) { /* a leader took us in: follow it */
        LOG_NOTICE(c->log, "cluster: joined the cluster of %s", st_link_peer_name(l));
        start_decided(c, 0);
        return;
    }
    if (c->cfg.role == CW_ROLE_REPLICANT) {
        if (r->status == CW_JOIN_OK && !c->rep_up)
            LOG_NOTICE(c->log, "cluster: %s has us in its member table (replicant)",
                       st_link_peer_name(l));
        if (r->status == CW_JOIN_OK) c->rep_up = 1;
        return;
    }
    if (r->status == CW_JOIN_OK && is_member(c))
        LOG_NOTICE(c->log, "cluster: %s committed our restart", st_link_peer_name(l));
    else if (r->status == CW_JOIN_OK)
        LOG_NOTICE(c->log, "cluster: joined the cluster of %s", st_link_peer_name(l));
    else
        LOG_INFO(c->log, "cluster: %s cannot take us in yet: %.*s", st_link_peer_name(l),
                 (int)r->text.len, r->text.p);
    char leader[256];
    if (r->status == CW_JOIN_NOTLEADER && r->leader_name.len &&
        r->leader_name.len < sizeof leader) {
        snprintf(leader, sizeof leader, "%.*s", (int)r->leader_name.len, r->leader_name.p);
        st_peer *p = strcmp(leader, c->cfg.node_name) ? st_links_peer(c->links, leader, 1) : NULL;
        if (p) p->forgotten = 0; /* ask the leader itself */
    }
}

/* ---- the leader's reconciler: Raft's configuration follows the nodes table ------------- */

static void joined_done(void *arg, int status)
{
    st_plane *c = arg;
    (void)status;
    c->joined_pending = 0;
}

static void propose_joined(st_plane *c, const char *name)
{
    st_buf_free(&c->joined_body);
    st_op_name(&c->joined_body, name);
    if (propose_node_op(c, &c->joined_op, &c->joined_body, ST_V_JOINED, joined_done, c) == 0)
        c->joined_pending = 1;
}

static void reconcile(st_plane *c)
{
    if (!c->craft || !st_craft_ready(c->craft) || st_craft_changing(c->craft) || c->joined_pending)
        return;
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    for (uint32_t i = 0; i < t->n; i++) {
        const st_node_row *r = &t->rows[i];
        if (r->node_id == c->node_id) continue;
        if (r->state == ST_NS_LEFT) { /* Raft's configuration follows: out it goes */
            if (r->role == CW_ROLE_CORE && st_craft_member_role(c->craft, r->node_id) >= 0) {
                st_craft_remove(c->craft, r->node_id);
                return;
            }
            continue;
        }
        if (r->role == CW_ROLE_REPLICANT) { /* not in Raft: joined at once */
            if (r->state == ST_NS_JOINING) {
                propose_joined(c, r->name);
                return;
            }
            continue;
        }
        int role = st_craft_member_role(c->craft, r->node_id);
        if (role < 0) {
            st_craft_add(c->craft, r->node_id, r->addr);
            return;
        }
        if (role != RAFT_VOTER) {
            st_craft_assign_voter(c->craft, r->node_id);
            return;
        }
        if (r->state == ST_NS_JOINING) {
            propose_joined(c, r->name);
            return;
        }
    }
}

/* ---- node-down decisions (docs/cluster.md §9.4; REACH reports from the other nodes come
 * later: today the leader's own links decide) ------------------------------------------ */

static void down_done(void *arg, int status)
{
    st_plane *c = arg;
    (void)status;
    c->down_pending = 0;
}

/* The indirect probe (§9.4): the other linked members are asked whether they reach x.
 * Returns 1 while the answers are awaited or when one says yes (x is not declared down;
 * its timer starts again), 0 when nobody could be asked or nobody reaches it. */
static int probe_reaches(st_plane *c, st_peer *x, int64_t now)
{
    if (!x) return 0;
    if (!c->pp[x->slot].probe_at) {
        cw_probe q = {++c->probe_seq, {(const uint8_t *)x->name, (uint32_t)strlen(x->name)}, 0, 0};
        uint8_t buf[300];
        size_t n = cw_encode_probe(CW_PROBE_REQ, &q, buf, sizeof buf);
        int asked = 0;
        for (int i = 0; i < st_links_npeers(c->links) && n <= sizeof buf; i++) {
            st_link *l = st_links_peer_at(c->links, i)->link;
            if (st_links_peer_at(c->links, i) == x || !l || !st_link_ready(l)) continue;
            st_link_send(l, buf, n);
            asked++;
        }
        if (!asked) return 0;
        c->pp[x->slot].probe_id = q.id;
        c->pp[x->slot].probe_at = now;
        c->pp[x->slot].probe_ok[0] = 0;
        return 1;
    }
    if (!c->pp[x->slot].probe_ok[0] && now - c->pp[x->slot].probe_at < c->cfg.link_timeout_ms)
        return 1; /* waiting */
    c->pp[x->slot].probe_at = 0;
    if (!c->pp[x->slot].probe_ok[0]) return 0;
    LOG_WARN(c->log, "cluster: no link to %s from here, but %s reaches it: not declaring it down",
             x->name, c->pp[x->slot].probe_ok);
    x->down_at = now;
    return 1;
}

static void probe_request(st_plane *c, st_link *l, const cw_probe *q)
{
    char name[256];
    if (q->node.len >= sizeof name) return;
    snprintf(name, sizeof name, "%.*s", (int)q->node.len, q->node.p);
    st_peer *p = st_links_peer(c->links, name, 0);
    int64_t since = p && p->link ? st_cl_now(c) - st_link_last_rx(p->link) : -1;
    cw_probe a = {q->id, q->node, since >= 0 && since < c->cfg.link_timeout_ms,
                  since < 0 ? UINT32_MAX : (uint32_t)since};
    uint8_t buf[300];
    size_t n = cw_encode_probe(CW_PROBE_RESP, &a, buf, sizeof buf);
    if (n <= sizeof buf) st_link_send(l, buf, n);
}

static void probe_response(st_plane *c, st_link *l, const cw_probe *a)
{
    char name[256];
    if (a->node.len >= sizeof name || !a->reachable) return;
    snprintf(name, sizeof name, "%.*s", (int)a->node.len, a->node.p);
    st_peer *x = st_links_peer(c->links, name, 0);
    if (x && c->pp[x->slot].probe_at && a->id == c->pp[x->slot].probe_id)
        snprintf(c->pp[x->slot].probe_ok, sizeof c->pp[x->slot].probe_ok, "%s",
                 st_link_peer_name(l));
}

static void decide_down(st_plane *c)
{
    if (!st_craft_ready(c->craft) || c->down_pending) return;
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    int64_t now = st_cl_now(c);
    for (uint32_t i = 0; i < t->n; i++) {
        const st_node_row *r = &t->rows[i];
        if (r->state != ST_NS_UP || r->node_id == c->node_id) continue;
        st_peer *p = st_links_peer(c->links, r->name, 0);
        if (p && p->link) {
            c->pp[p->slot].probe_at = 0;
            continue;
        }
        int64_t since = p && p->down_at > c->leader_since ? p->down_at : c->leader_since;
        if (now - since < c->cfg.node_down_timeout_ms) continue;
        if (probe_reaches(c, p, now)) continue;
        st_buf_free(&c->down_body);
        st_op_down(&c->down_body, r->name, r->incarnation);
        if (propose_node_op(c, &c->down_op, &c->down_body, ST_V_DOWN, down_done, c) == 0) {
            c->down_pending = 1;
            LOG_WARN(c->log, "cluster: no link to %s for %lld ms: declaring it down", r->name,
                     (long long)(now - since));
        }
        return;
    }
}

/* ---- force-leave --------------------------------------------------------------------- */

typedef struct leave_wait {
    st_plane *c;
    st_buf body;
    ce_op op;
} leave_wait;

static void leave_done(void *arg, int status)
{
    leave_wait *lw = arg;
    if (status != 0) LOG_WARN(lw->c->log, "cluster: force-leave not committed (%d)", status);
    st_buf_free(&lw->body);
    free(lw);
}

static void propose_leave(st_plane *c, const char *name, int forced)
{
    leave_wait *lw = calloc(1, sizeof *lw);
    if (!lw) return;
    lw->c = c;
    st_op_leave(&lw->body, name, (uint8_t)forced);
    if (propose_node_op(c, &lw->op, &lw->body, ST_V_LEAVE, leave_done, lw) < 0) {
        st_buf_free(&lw->body);
        free(lw);
        return;
    }
    LOG_NOTICE(c->log,
               forced ? "cluster: forcing %s out of the cluster"
                      : "cluster: %s asks to leave the cluster",
               name);
}

void st_cl_force_leave(st_plane *c, const char *name)
{
    if (c->craft && st_craft_ready(c->craft)) {
        propose_leave(c, name, 1);
        return;
    }
    cw_leave_req r = {{(const uint8_t *)name, (uint32_t)strlen(name)}, 1};
    uint8_t buf[300];
    size_t n = cw_encode_leave_req(&r, buf, sizeof buf);
    if (n > sizeof buf) return;
    for (int i = 0; i < st_links_npeers(c->links); i++) /* the leader acts, the others ignore it */
        if (st_peer_link(st_links_peer_at(c->links, i)))
            st_link_send(st_links_peer_at(c->links, i)->link, buf, n);
}

static void leave_request(st_plane *c, const cw_leave_req *r)
{
    char name[256];
    if (!c->craft || !st_craft_ready(c->craft) || r->name.len >= sizeof name) return;
    snprintf(name, sizeof name, "%.*s", (int)r->name.len, r->name.p);
    if (strcmp(name, c->cfg.node_name) == 0) return; /* a leader that leaves hands over first */
    const st_node_row *row = st_nodes_find(st_fsm_table(c->fsm, ST_T_NODES), name);
    if (row && row->state != ST_NS_LEFT) propose_leave(c, name, r->forced);
}

/* Every node: a member that left loses its routes here, what is queued for it, its link,
 * and is not dialled any more (if it is still alive and dials us, it is linked again). */
static void apply_left(st_plane *c)
{
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    for (int i = 0; i < st_links_npeers(c->links); i++) {
        st_peer *p = st_links_peer_at(c->links, i);
        const st_node_row *r = st_nodes_find(t, p->name);
        int left = r && r->state == ST_NS_LEFT;
        if (left == p->left) continue;
        p->left = left;
        if (!left) continue;
        LOG_NOTICE(c->log, "cluster: %s has left the cluster", p->name);
        st_cl_registry_purge(c, r->node_id, r->incarnation);
        /* if it is alive, it learns that it is out and runs alone */
        st_cl_drop_peer(c, p, CW_BYE_REMOVED, ST_GONE_LEFT, "left the cluster");
    }
}

/* Every node: a member declared down loses its routes here, and what is queued for it. */
static void apply_down(st_plane *c)
{
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    for (int i = 0; i < st_links_npeers(c->links); i++) {
        st_peer *p = st_links_peer_at(c->links, i);
        const st_node_row *r = st_nodes_find(t, p->name);
        if (!r || r->state != ST_NS_DOWN || c->pp[p->slot].purged_inc == r->incarnation) continue;
        c->pp[p->slot].purged_inc = r->incarnation;
        LOG_NOTICE(c->log, "cluster: %s is down (incarnation %llu)", p->name,
                   (unsigned long long)r->incarnation);
        st_cl_registry_purge(c, r->node_id, r->incarnation);
        /* it re-syncs when it is back; what is queued for it stays for that (the same
         * process resumes its lanes; a restarted one drops it), bounded by forward_buffer_high */
        st_cl_drop_peer(c, p, 0, ST_GONE_DOWN, "declared down");
    }
}

int st_cl_plane_new(st_plane *c)
{
    st_fsm *fsm = st_fsm_new(TABLES, sizeof TABLES / sizeof TABLES[0]);
    st_craft *craft =
        fsm ? st_craft_new(c->loop, c->log, fsm, c->view_lock, on_ready, on_lost, c) : NULL;
    if (!craft) {
        st_fsm_free(fsm);
        return ST_ENOMEM;
    }
    st_craft_set_dialer(craft, raft_dial, c);
    st_craft_set_tail(craft, st_tail_applied, st_tail_restored, c);
    const st_raft_timing *rt = &c->cfg.raft;
    st_craft_set_timing(craft, rt->election_ms, rt->heartbeat_ms, rt->snapshot_threshold,
                        rt->snapshot_trailing);
    st_tail_restored(c, 0);           /* a new state machine: the ring starts over */
    pthread_mutex_lock(c->view_lock); /* the API reads the table under it */
    st_fsm_free(c->fsm);
    c->fsm = fsm;
    c->craft = craft;
    c->raft_state[0] = 0;
    pthread_mutex_unlock(c->view_lock);
    return 0;
}

/* A replicant's state machine, empty: filled from a core's log (tail.c). */
int st_cl_replicant_fsm(st_plane *c)
{
    st_fsm *fsm = st_fsm_new(TABLES, sizeof TABLES / sizeof TABLES[0]);
    if (!fsm) return ST_ENOMEM;
    pthread_mutex_lock(c->view_lock);
    st_fsm_free(c->fsm);
    c->fsm = fsm;
    pthread_mutex_unlock(c->view_lock);
    c->tail_link = NULL;
    return 0;
}

/* What this process proposed about itself is forgotten: a new Raft state starts over. */
void st_cl_self_reset(st_plane *c)
{
    for (uint32_t i = 0; i < 3; i++)
        st_buf_free(&c->self_bodies[i]);
    c->nself = 0;
    c->self_state = 0;
    c->joined_pending = 0;
    c->down_pending = 0;
}

/* Static seeds as discovery's answer (the seeds and this node): the seeds other than this
 * node, counted (a node that names itself ignores that entry). */
static int static_candidates(st_plane *c)
{
    int others = 0;
    c->ndisc = 0;
    for (size_t i = 0; i <= c->cfg.nseeds && c->ndisc < 64; i++) {
        const char *name = i < c->cfg.nseeds ? c->cfg.seeds[i] : c->cfg.node_name;
        size_t n = strnlen(name, sizeof c->disc[0] - 1);
        memcpy(c->disc[c->ndisc], name, n);
        c->disc[c->ndisc++][n] = 0;
        others += i < c->cfg.nseeds && strcmp(name, c->cfg.node_name) != 0;
    }
    return others;
}

int st_cl_control_start(st_plane *c, char *err, size_t errlen)
{
    if (c->cfg.role == CW_ROLE_REPLICANT) { /* never a Raft member: tails a core (tail.c) */
        LOG_NOTICE(c->log, "cluster: replicant: the control plane comes from a core's log");
        if (st_cl_replicant_fsm(c) < 0) {
            snprintf(err, errlen, "cluster: out of memory");
            return ST_ENOMEM;
        }
        return 0;
    }
    uint32_t r;
    st_auth_random((uint8_t *)&r, sizeof r);
    c->op_seq = (uint64_t)(r & 0xFFFFFF) << 40;
    if (st_cl_plane_new(c) < 0) {
        snprintf(err, errlen, "cluster: out of memory");
        return ST_ENOMEM;
    }
    char dir[600], addr[300];
    snprintf(dir, sizeof dir, "%s/raft", c->cfg.data_dir);
    snprintf(c->raft_dir, sizeof c->raft_dir, "%s", dir);
    snprintf(addr, sizeof addr, "%s:%d", strchr(c->cfg.node_name, '@') + 1, c->port);
    /* Static seeds (other than this node), dns, etcd and k8s discovery follow one rule: a
     * node with Raft state restarts on it, a fresh one decides after the discovery window
     * (decide() below). A node with no seed but itself forms its own cluster at once. */
    c->joining = 0;
    if (c->cfg.bootstrap == ST_BOOT_SEEDS && static_candidates(c) > 0) c->disc_answered = 1;
    if (c->disc_answered || c->cfg.bootstrap == ST_BOOT_DISCOVERY) {
        char meta[700];
        snprintf(meta, sizeof meta, "%s/metadata1", dir);
        c->joining = 1;
        if (access(meta, F_OK) != 0) {
            c->deciding = 1;
            c->decide_after = st_cl_now(c) + ST_PLANE_DISCOVERY_WINDOW_MS;
            return 0;
        }
    }
    int rc = st_craft_start(c->craft, dir, c->node_id, addr, !c->joining, err, errlen);
    if (rc == 0) st_cl_control_tick(c);
    return rc;
}

/* A linked core: one that can answer us now and could form a cluster (a replicant never
 * does). */
static int reachable(st_plane *c, const char *name)
{
    st_peer *p = st_links_peer(c->links, name, 0);
    return p && !p->forgotten && st_peer_link(p) && st_link_peer_role(p->link) != CW_ROLE_REPLICANT;
}

/* The bootstrap rule for every discovery strategy but manual (docs/cluster.md §5.6): join as
 * soon as a node we reach says it is in a cluster; else, once the discovery window has
 * passed and discovery has answered, the node with the smallest name among itself and the
 * candidates it reaches forms the cluster and the others wait for it (a candidate that
 * never starts does not hold the others up). */
static void decide(st_plane *c)
{
    if (!c->deciding) return;
    int member = 0;
    for (int i = 0; i < st_links_npeers(c->links); i++)
        member |=
            st_links_peer_at(c->links, i)->member && !st_links_peer_at(c->links, i)->forgotten;
    const char *smallest = c->cfg.node_name;
    for (int i = 0; i < c->ndisc; i++)
        if (strcmp(c->disc[i], smallest) < 0 && reachable(c, c->disc[i])) smallest = c->disc[i];
    int form = !member && !c->manual_join && c->disc_answered && st_cl_now(c) >= c->decide_after &&
               strcmp(smallest, c->cfg.node_name) == 0;
    if (!member && !form) {
        int window = !c->disc_answered || c->manual_join || st_cl_now(c) < c->decide_after;
        pthread_mutex_lock(c->view_lock);
        if (window)
            snprintf(c->forming, sizeof c->forming, "discovering the other nodes");
        else
            snprintf(c->forming, sizeof c->forming, "waiting for %s", smallest);
        pthread_mutex_unlock(c->view_lock);
        if (c->disc_answered && !c->manual_join && st_cl_now(c) >= c->decide_after &&
            !c->wait_logged) {
            LOG_INFO(c->log, "cluster: waiting for %s to form the cluster", smallest);
            c->wait_logged = 1;
        }
        return;
    }
    start_decided(c, form);
    for (int i = 0; i < st_links_npeers(c->links) && c->joining;
         i++) /* ask the linked ones right away */
        if (st_peer_link(st_links_peer_at(c->links, i)))
            st_cl_ask_leader(c, st_links_peer_at(c->links, i)->link);
}

/* Every member is a peer: dial the ones we have not met (a member learned from the
 * table, not from seeds or an incoming link). */
static void meet_members(st_plane *c)
{
    const st_nodes *t = st_fsm_table(c->fsm, ST_T_NODES);
    for (uint32_t i = 0; i < t->n; i++) {
        if (t->rows[i].state == ST_NS_LEFT || strcmp(t->rows[i].name, c->cfg.node_name) == 0)
            continue;
        st_peer *p = st_links_peer(c->links, t->rows[i].name, 1);
        if (p) p->forgotten = 0;
    }
}

void st_cl_control_tick(st_plane *c)
{
    if (c->resetting) return;
    st_cl_member_tick(c);
    ask_again(c);
    if (c->resetting) return;
    st_tail_tick(c);
    st_cl_propose_tick(c);
    st_cl_registry_tick(c);
    if (!c->fsm) return;
    if (c->craft) {
        decide(c);
        reconcile(c);
        decide_down(c);
    }
    apply_down(c);
    apply_left(c);
    meet_members(c);
    if (!c->craft) return;
    pthread_mutex_lock(c->view_lock);
    snprintf(c->raft_state, sizeof c->raft_state, "%s", st_craft_state(c->craft));
    c->raft_term = st_craft_term(c->craft);
    c->raft_voters = st_craft_voters(c->craft);
    pthread_mutex_unlock(c->view_lock);
}

void st_cl_control_free(st_plane *c)
{
    st_buf_free(&c->joined_body);
    st_buf_free(&c->down_body);
    for (uint32_t i = 0; i < 3; i++)
        st_buf_free(&c->self_bodies[i]);
    if (c->craft) st_craft_free(c->craft);
    if (c->retired) st_craft_free(c->retired);
    st_tail_free(c);
    st_cl_propose_free(c);
    st_cl_registry_free(c);
    st_fsm_free(c->fsm);
}

/* JOIN_REQ, JOIN_RESULT, PROBE_REQ, PROBE_RESP and LEAVE_REQ on a CONTROL link. */
static void on_frame(void *owner, st_link *l, const cw_frame *f)
{
    st_plane *c = owner;
    cw_join_req j;
    cw_join_result jr;
    cw_probe pb;
    cw_leave_req lr;
    if (f->type == CW_LEAVE_REQ && cw_decode_leave_req(f->body, &lr) == 0)
        leave_request(c, &lr);
    else if (f->type == CW_JOIN_REQ && cw_decode_join_req(f->body, &j) == 0)
        join_request(c, l, &j);
    else if (f->type == CW_JOIN_RESULT && cw_decode_join_result(f->body, &jr) == 0)
        join_result(c, l, &jr);
    else if (f->type == CW_PROBE_REQ && cw_decode_probe(f->type, f->body, &pb) == 0)
        probe_request(c, l, &pb);
    else if (f->type == CW_PROBE_RESP && cw_decode_probe(f->type, f->body, &pb) == 0)
        probe_response(c, l, &pb);
}

void st_cl_control_register(st_plane *c)
{
    static const uint8_t types[] = {CW_JOIN_REQ, CW_JOIN_RESULT, CW_PROBE_REQ, CW_PROBE_RESP,
                                    CW_LEAVE_REQ};
    for (size_t i = 0; i < sizeof types; i++)
        st_links_on_frame(c->links, types[i], on_frame, c);
    if (c->cfg.role != CW_ROLE_REPLICANT)
        st_links_on_stream(c->links, CW_S_RAFT, raft_ready, raft_failed, c, 0);
}

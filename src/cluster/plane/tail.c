/* tail.c — replicants tail a core's applied log (docs/cluster.md §5.5). A core keeps a ring
 * of the entries it applied (every one after tail_base) and streams them to each replicant
 * that sent TAIL_REQ on its CONTROL link, from the index the replicant asked for; a
 * replicant too far behind, or with state from another cluster, first gets the state
 * machine's image (TAIL_SNAPSHOT). The ring (at most ST_TAIL_RING entries and TAIL_RING_BYTES)
 * is kept only once a replicant has asked: until then a node keeps no copies, and the first
 * replicant gets an image. The replicant applies both with the same FSM code as a core, so it has
 * the member table (and the tables to come) without being in Raft. When its core goes away it asks
 * another one from its applied index + 1: the Raft index is one sequence on every core. */
#include "cluster/plane/internal.h"
#include "cluster/plane/tables.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define TAIL_BATCH 64
#define TAIL_BYTES (1u << 20)
#define TAIL_ASK_MS 1000
#define TAIL_RING_BYTES (8u << 20)

static st_tail_ent *ring_at(st_plane *c, size_t i)
{
    return &c->tail_ring[(c->tail_head + i) % ST_TAIL_RING];
}

static void ring_clear(st_plane *c, uint64_t index)
{
    for (size_t i = 0; i < c->tail_n; i++)
        free(ring_at(c, i)->p);
    c->tail_n = c->tail_head = 0;
    c->tail_bytes = 0;
    c->tail_base = index;
}

void st_tail_restored(void *arg, uint64_t index)
{
    st_plane *c = arg;
    if (c->env.applied) c->env.applied(c->env.ctx);
    ring_clear(c, index);
}

void st_tail_applied(void *arg, uint64_t index, const void *p, size_t n)
{
    st_plane *c = arg;
    if (c->env.applied) c->env.applied(c->env.ctx);
    if (!c->tail_served) { /* no replicant has asked: keep nothing (the first gets an image) */
        c->tail_base = index;
        return;
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) { /* not kept: whoever needs it gets an image instead */
        st_tail_restored(c, index);
        return;
    }
    memcpy(copy, p, n);
    while (c->tail_n && (c->tail_n == ST_TAIL_RING || c->tail_bytes + n > TAIL_RING_BYTES)) {
        st_tail_ent *old = ring_at(c, 0);
        c->tail_base = old->index;
        c->tail_bytes -= old->n;
        free(old->p);
        c->tail_head = (c->tail_head + 1) % ST_TAIL_RING;
        c->tail_n--;
    }
    *ring_at(c, c->tail_n++) = (st_tail_ent){index, copy, (uint32_t)n};
    c->tail_bytes += n;
}

void st_tail_free(st_plane *c)
{
    ring_clear(c, 0); /* nobody is told: the node is going */
}

static const uint8_t *cluster_uuid(st_plane *c)
{
    const st_cluster_row *row = st_fsm_table(c->fsm, ST_T_CLUSTER);
    static const uint8_t none[CW_UUID];
    return row->init ? row->uuid : none;
}

/* ---- a core --------------------------------------------------------------------------- */

static void tail_request(st_plane *c, st_link *l, const cw_tail_req *t)
{
    st_peer *p = st_link_peer(l);
    if (!c->craft || !c->fsm || !p) return; /* only cores serve the log */
    st_cl_ppeer *pp = &c->pp[p->slot];
    pp->tail_next = t->from;
    c->tail_served = 1;
    pp->tail_snap = memcmp(cluster_uuid(c), t->uuid, CW_UUID) != 0 || t->from <= c->tail_base;
    LOG_INFO(c->log, "cluster: %s tails our log from %llu%s", st_link_peer_name(l),
             (unsigned long long)t->from, pp->tail_snap ? " (image first)" : "");
}

static void send_image(st_plane *c, st_peer *p)
{
    st_cl_ppeer *pp = &c->pp[p->slot];
    st_buf b = {0};
    st_fsm_snapshot(c->fsm, &b);
    cw_tail_snapshot s = {st_fsm_applied(c->fsm), {0}, {b.p, (uint32_t)b.len}};
    memcpy(s.uuid, cluster_uuid(c), CW_UUID);
    size_t cap = b.len + 64;
    uint8_t *buf = b.oom ? NULL : malloc(cap);
    if (buf) {
        st_link_send(p->link, buf, cw_encode_tail_snapshot(&s, buf, cap));
        pp->tail_next = s.index + 1;
        pp->tail_snap = 0;
    }
    free(buf);
    st_buf_free(&b);
}

static void send_entries(st_plane *c, st_peer *p, const cw_log_entry *e, uint16_t n, size_t bytes)
{
    size_t cap = bytes + 64;
    uint8_t *buf = malloc(cap);
    if (!buf) return;
    st_link_send(p->link, buf, cw_encode_log_entries(e, n, buf, cap));
    c->pp[p->slot].tail_next = e[n - 1].index + 1;
    free(buf);
}

/* What replicant p has not had yet: an image if it is behind the ring, then entries. */
static void push(st_plane *c, st_peer *p)
{
    st_cl_ppeer *pp = &c->pp[p->slot];
    if (pp->tail_next <= c->tail_base) pp->tail_snap = 1;
    if (pp->tail_snap) send_image(c, p);
    if (pp->tail_snap) return;
    cw_log_entry e[TAIL_BATCH];
    uint16_t k = 0;
    size_t bytes = 0;
    for (size_t i = 0; i < c->tail_n; i++) {
        st_tail_ent *t = ring_at(c, i);
        if (t->index < pp->tail_next) continue;
        e[k++] = (cw_log_entry){t->index, {t->p, t->n}};
        bytes += t->n + 16;
        if (k == TAIL_BATCH || bytes >= TAIL_BYTES) {
            send_entries(c, p, e, k, bytes);
            k = 0;
            bytes = 0;
        }
    }
    if (k) send_entries(c, p, e, k, bytes);
}

/* ---- a replicant ---------------------------------------------------------------------- */

static void ask(st_plane *c)
{
    int64_t now = st_cl_now(c);
    if (c->tail_link || now - c->tail_asked < TAIL_ASK_MS) return;
    for (int i = 0; i < st_links_npeers(c->links); i++) {
        st_link *l = st_links_peer_at(c->links, i)->link;
        if (!l || !st_link_ready(l) || st_link_peer_role(l) != CW_ROLE_CORE) continue;
        cw_tail_req t = {st_fsm_applied(c->fsm) + 1, {0}};
        memcpy(t.uuid, cluster_uuid(c), CW_UUID);
        uint8_t buf[64];
        st_link_send(l, buf, cw_encode_tail_req(&t, buf, sizeof buf));
        c->tail_link = l;
        c->tail_asked = now;
        LOG_INFO(c->log, "cluster: tailing the log of %s from %llu", st_link_peer_name(l),
                 (unsigned long long)t.from);
        return;
    }
}

static void tail_entries(st_plane *c, st_link *l, const cw_log_entries *e)
{
    if (l != c->tail_link || !c->fsm) return;
    uint32_t off = 0;
    cw_log_entry le;
    while (cw_log_next(e, &off, &le)) {
        if (le.index <= st_fsm_applied(c->fsm)) continue;
        pthread_mutex_lock(c->view_lock);
        int rc = st_fsm_apply(c->fsm, le.index, le.entry);
        pthread_mutex_unlock(c->view_lock);
        if (rc < 0) {
            LOG_ERROR(c->log, "cluster: cannot apply entry %llu from %s: %s",
                      (unsigned long long)le.index, st_link_peer_name(l), st_strerror(rc));
            return;
        }
    }
    if (c->env.applied) c->env.applied(c->env.ctx);
}

static void tail_snapshot(st_plane *c, st_link *l, const cw_tail_snapshot *s)
{
    if (l != c->tail_link || !c->fsm) return;
    pthread_mutex_lock(c->view_lock);
    int rc = st_fsm_restore(c->fsm, s->image);
    pthread_mutex_unlock(c->view_lock);
    if (rc < 0)
        LOG_ERROR(c->log, "cluster: the state image from %s does not load: %s",
                  st_link_peer_name(l), st_strerror(rc));
    else
        LOG_INFO(c->log, "cluster: state from %s at index %llu", st_link_peer_name(l),
                 (unsigned long long)s->index);
}

void st_tail_link_down(st_plane *c, st_link *l)
{
    if (c->tail_link == l) c->tail_link = NULL;
}

void st_tail_tick(st_plane *c)
{
    if (!c->fsm) return;
    if (!c->craft) {
        if (c->cfg.role == CW_ROLE_REPLICANT) ask(c);
        return;
    }
    for (int i = 0; i < st_links_npeers(c->links); i++) {
        st_peer *p = st_links_peer_at(c->links, i);
        if (st_peer_link(p) && c->pp[i].tail_next) push(c, p);
    }
}

static void on_frame(void *owner, st_link *l, const cw_frame *f)
{
    cw_tail_req t;
    cw_log_entries e;
    cw_tail_snapshot s;
    if (f->type == CW_TAIL_REQ && cw_decode_tail_req(f->body, &t) == 0)
        tail_request(owner, l, &t);
    else if (f->type == CW_LOG_ENTRIES && cw_decode_log_entries(f->body, &e) == 0)
        tail_entries(owner, l, &e);
    else if (f->type == CW_TAIL_SNAPSHOT && cw_decode_tail_snapshot(f->body, &s) == 0)
        tail_snapshot(owner, l, &s);
}

void st_tail_register(st_plane *c)
{
    st_links_on_frame(c->links, CW_TAIL_REQ, on_frame, c);
    st_links_on_frame(c->links, CW_LOG_ENTRIES, on_frame, c);
    st_links_on_frame(c->links, CW_TAIL_SNAPSHOT, on_frame, c);
}

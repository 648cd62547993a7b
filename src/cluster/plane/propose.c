/* propose.c — writes to the replicated tables from any node (docs/cluster.md §5.4). On the
 * leader ops go straight into Raft; elsewhere they go in a PROPOSE to the leader (a core
 * that does not lead answers NOTLEADER with the leader's name), which proposes them and
 * answers PROPOSE_RESULT. An unknown outcome (leadership lost, no answer within
 * RESEND_MS) sends the same ops again: their op ids make the second apply a no-op. After
 * GIVE_UP_MS without a leader the submitter is told (no quorum), unless it is patient. */
#include "cluster/plane/internal.h"
#include "core/clock.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define RESEND_MS 3000
#define GIVE_UP_MS 30000
#define MAX_OPS 256

struct st_submit {
    struct st_submit *next;
    st_plane *c;
    uint64_t req_id;
    uint8_t *entry; /* the ops, encoded as an entry (centry.h) */
    size_t len;
    st_cl_done done;
    void *arg;
    int64_t created, sent_at; /* sent_at 0: to send */
    int local;                /* proposed through our own Raft, its outcome pending */
    int patient;              /* never given up (a minority side waits for the heal) */
    char hint[256];           /* the leader as the last NOTLEADER named it */
};

static void finish(st_plane *c, struct st_submit *s, int status)
{
    for (struct st_submit **pp = &c->submits; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    if (s->done) s->done(s->arg, status);
    free(s->entry);
    free(s);
}

static struct st_submit *find(st_plane *c, uint64_t req_id)
{
    for (struct st_submit *s = c->submits; s; s = s->next)
        if (s->req_id == req_id) return s;
    return NULL;
}

/* Decode an entry's ops into ops[] (they point into the entry). n, or <0. */
static int ops_of(const uint8_t *entry, size_t len, ce_op *ops)
{
    ce_entry e;
    if (ce_decode_entry((st_bytes){entry, (uint32_t)len}, &e) != 0 || e.n == 0 || e.n > MAX_OPS)
        return -1;
    uint32_t off = 0, n = 0;
    while (n < e.n && ce_op_next(&e, &off, &ops[n]))
        n++;
    return (int)n;
}

static void local_done(void *arg, int status)
{
    struct st_submit *s = arg;
    s->local = 0;
    if (status == 0)
        finish(s->c, s, 0);
    else
        s->sent_at = 0; /* unknown outcome: again, same op ids */
}

/* The READY CONTROL link to send s to: the leader's, else the last hint's, else any core. */
static st_link *target(st_plane *c, struct st_submit *s)
{
    const char *names[2] = {st_cl_leader_name(c), s->hint[0] ? s->hint : NULL};
    for (int i = 0; i < 2; i++) {
        st_peer *p = names[i] ? st_links_peer(c->links, names[i], 0) : NULL;
        if (p && st_peer_link(p)) return p->link;
    }
    for (int i = 0; i < st_links_npeers(c->links); i++) {
        st_link *l = st_links_peer_at(c->links, i)->link;
        if (l && st_link_ready(l) && st_link_peer_role(l) == CW_ROLE_CORE) return l;
    }
    return NULL;
}

static void send_one(st_plane *c, struct st_submit *s, int64_t now)
{
    if (c->craft && st_craft_ready(c->craft)) {
        ce_op ops[MAX_OPS];
        int n = ops_of(s->entry, s->len, ops);
        uint64_t hlc = st_hlc_now(&c->hlc, st_wall_ms());
        if (n > 0 && st_craft_propose(c->craft, hlc, ops, (uint32_t)n, local_done, s) == 0) {
            s->local = 1;
            s->sent_at = now;
        }
        return;
    }
    st_link *l = target(c, s);
    if (!l) return;
    cw_propose p = {s->req_id, {s->entry, (uint32_t)s->len}};
    size_t cap = s->len + 64;
    uint8_t *buf = malloc(cap);
    if (!buf) return;
    st_link_send(l, buf, cw_encode_propose(&p, buf, cap));
    free(buf);
    s->sent_at = now;
}

int st_cl_submit(st_plane *c, const ce_op *ops, uint32_t n, int patient, st_cl_done done, void *arg)
{
    if (n == 0 || n > MAX_OPS) return ST_EINVAL;
    struct st_submit *s = calloc(1, sizeof *s);
    size_t len = ce_encode_entry(0, ops, n, NULL, 0);
    uint8_t *entry = s ? malloc(len) : NULL;
    if (!entry) {
        free(s);
        return ST_ENOMEM;
    }
    ce_encode_entry(0, ops, n, entry, len);
    *s = (struct st_submit){.next = c->submits,
                            .c = c,
                            .req_id = ++c->submit_seq,
                            .entry = entry,
                            .len = len,
                            .done = done,
                            .arg = arg,
                            .created = st_cl_now(c),
                            .patient = patient};
    c->submits = s;
    send_one(c, s, st_cl_now(c));
    return 0;
}

void st_cl_propose_tick(st_plane *c)
{
    int64_t now = st_cl_now(c);
    for (struct st_submit *s = c->submits, *next; s; s = next) {
        next = s->next;
        if (s->local) continue;
        if (!s->patient && now - s->created > GIVE_UP_MS) {
            finish(c, s, ST_EIO); /* no leader all this time: no quorum */
            continue;
        }
        if (!s->sent_at || now - s->sent_at > RESEND_MS) send_one(c, s, now);
    }
}

void st_cl_propose_free(st_plane *c)
{
    while (c->submits)
        finish(c, c->submits, ST_ECLOSED);
}

/* ---- the leader's side ---------------------------------------------------------------- */

typedef struct remote_wait {
    st_plane *c;
    char name[256];
    uint64_t req_id;
} remote_wait;

static void reply(st_plane *c, const char *name, uint64_t req_id, uint16_t status)
{
    st_peer *p = st_links_peer(c->links, name, 0);
    if (!p || !p->link) return; /* it asks again */
    const char *leader = status == CW_PROP_NOTLEADER ? st_cl_leader_name(c) : NULL;
    cw_propose_result r = {
        req_id,
        status,
        {(const uint8_t *)(leader ? leader : ""), (uint32_t)strlen(leader ? leader : "")}};
    uint8_t buf[400];
    size_t n = cw_encode_propose_result(&r, buf, sizeof buf);
    if (n <= sizeof buf) st_link_send(p->link, buf, n);
}

static void remote_done(void *arg, int status)
{
    remote_wait *w = arg;
    if (!w->c->stopping) /* else the node is closing its links: the proposer asks again */
        reply(w->c, w->name, w->req_id, status == 0 ? CW_PROP_OK : CW_PROP_FAILED);
    free(w);
}

static void propose_request(st_plane *c, st_link *l, const cw_propose *p)
{
    if (!c->craft || !st_craft_ready(c->craft)) {
        reply(c, st_link_peer_name(l), p->req_id, CW_PROP_NOTLEADER);
        return;
    }
    ce_op ops[MAX_OPS];
    int n = ops_of(p->entry.p, p->entry.len, ops);
    for (int i = 0; i < n; i++)
        if (st_fsm_validate(c->fsm, ops[i].table, ops[i].verb, ops[i].body) != ST_OP_OK) n = -1;
    if (n <= 0) {
        reply(c, st_link_peer_name(l), p->req_id, CW_PROP_INVALID);
        return;
    }
    remote_wait *w = calloc(1, sizeof *w);
    if (!w) return; /* it asks again */
    *w = (remote_wait){c, "", p->req_id};
    snprintf(w->name, sizeof w->name, "%s", st_link_peer_name(l));
    uint64_t hlc = st_hlc_now(&c->hlc, st_wall_ms());
    if (st_craft_propose(c->craft, hlc, ops, (uint32_t)n, remote_done, w) < 0) {
        reply(c, st_link_peer_name(l), p->req_id, CW_PROP_FAILED);
        free(w);
    }
}

static void propose_result(st_plane *c, st_link *l, const cw_propose_result *r)
{
    (void)l;
    struct st_submit *s = find(c, r->req_id);
    if (!s || s->local) return;
    if (r->status == CW_PROP_OK) {
        finish(c, s, 0);
        return;
    }
    if (r->status == CW_PROP_INVALID) {
        finish(c, s, ST_EINVAL);
        return;
    }
    if (r->leader_name.len && r->leader_name.len < sizeof s->hint)
        snprintf(s->hint, sizeof s->hint, "%.*s", (int)r->leader_name.len, r->leader_name.p);
    s->sent_at = 0; /* to the leader named, at the next tick */
}

static void on_frame(void *owner, st_link *l, const cw_frame *f)
{
    cw_propose p;
    cw_propose_result r;
    if (f->type == CW_PROPOSE && cw_decode_propose(f->body, &p) == 0)
        propose_request(owner, l, &p);
    else if (f->type == CW_PROPOSE_RESULT && cw_decode_propose_result(f->body, &r) == 0)
        propose_result(owner, l, &r);
}

void st_cl_propose_register(st_plane *c)
{
    st_links_on_frame(c->links, CW_PROPOSE, on_frame, c);
    st_links_on_frame(c->links, CW_PROPOSE_RESULT, on_frame, c);
}

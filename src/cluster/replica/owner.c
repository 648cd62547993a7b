/* owner.c — this node's store to its holders (replica.h): the holders chosen by rendezvous
 * hashing, a snapshot for each holder that links up, then every round, in pieces; their
 * acknowledgements open the store's gate. The cluster thread, but for on_round (the store
 * thread). */
#include "cluster/replica/internal.h"
#include "core/strmap.h"

#include <stdlib.h>
#include <string.h>

/* ---- from the store thread ---------------------------------------------------------------- */

static void on_round(void *ctx, uint64_t round, int snapshot, const uint8_t *w, size_t len)
{
    st_replica *r = ctx;
    if (!snapshot && !atomic_load(&r->has_holders))
        return; /* nobody to send it to: a new
                 * holder gets a snapshot */
    rp_item *it = malloc(sizeof *it + len);
    if (!it) { /* the holders cannot follow without it */
        LOG_ERROR(r->env.log, "replicas: out of memory for round %llu: a snapshot follows",
                  (unsigned long long)round);
        st_store_want_snapshot(r->own); /* its own thread: the store is there */
        return;
    }
    it->round = round;
    it->snapshot = snapshot;
    it->len = len;
    if (len) memcpy(it->w, w, len);
    st_mpsc_push(&r->inbox, &it->node);
    if (atomic_load(&r->started)) uv_async_send(&r->async);
}

void st_replica_attach(st_replica *r, st_store *s, int gate)
{
    r->own = s;
    r->gate = gate;
    memcpy(r->store_id, st_store_id(s), CW_STORE_ID);
    st_store_on_round(s, on_round, r);
    if (st_store_fresh(s) && rp_count_sessions(s) == 0)
        rp_restore_begin(r); /* copied to holders once that is decided */
    else
        r->store = s;
}

/* ---- holders ------------------------------------------------------------------------------ */

static st_link *link_of(st_replica *r, const char *name)
{
    st_peer *p = st_links_peer(r->env.links, name, 0);
    return p ? st_peer_link(p) : NULL;
}

static rp_holder *holder(st_replica *r, const char *name)
{
    for (int i = 0; i < r->nholders; i++)
        if (strcmp(r->holders[i].name, name) == 0) return &r->holders[i];
    return NULL;
}

/* h needs the whole store: a snapshot is asked for (one serves every holder waiting). The
 * store is used under r->mu: it may be detached (and closed) at stop. */
static void wait_snapshot(st_replica *r, rp_holder *h)
{
    h->state = ST_RH_WAITING;
    h->since = 0;
    pthread_mutex_lock(&r->mu);
    if (r->store && !atomic_exchange(&r->snap_due, 1)) st_store_want_snapshot(r->store);
    pthread_mutex_unlock(&r->mu);
}

/* The gate is on while a holder is in step; a round is durable once every holder in step
 * has it. */
static void gate(st_replica *r)
{
    if (!r->gate) return;
    uint64_t least = UINT64_MAX;
    for (int i = 0; i < r->nholders; i++)
        if (r->holders[i].state == ST_RH_IN_STEP && r->holders[i].acked < least)
            least = r->holders[i].acked;
    int on = least != UINT64_MAX;
    pthread_mutex_lock(&r->mu);
    if (r->store && on) st_store_replicated(r->store, least);
    if (r->store && on != r->gated) st_store_gate(r->store, on);
    pthread_mutex_unlock(&r->mu);
    r->gated = on;
}

void st_replica_detach(st_replica *r)
{
    pthread_mutex_lock(&r->mu);
    r->store = NULL;
    pthread_mutex_unlock(&r->mu);
}

/* Rendezvous hashing: each candidate's score for this owner (core's hash, seeded by the
 * owner's name). */
static uint64_t score(const char *owner, const char *node)
{
    return st_hash_seed(node, strlen(node), st_hash(owner, strlen(owner)));
}

/* The holders: the env.copies members with the highest score for this node's name. */
static int choose(st_replica *r, char (*pick)[256], size_t *candidates)
{
    char(*names)[256] = r->names;
    size_t n = r->env.members(r->env.ctx, names, ST_LINKS_MAX_PEERS);
    n = n < ST_LINKS_MAX_PEERS ? n : ST_LINKS_MAX_PEERS;
    *candidates = n;
    int k = 0;
    for (; k < r->env.copies && (size_t)k < n; k++) {
        size_t best = k;
        for (size_t i = k + 1; i < n; i++)
            if (score(r->env.self, names[i]) > score(r->env.self, names[best])) best = i;
        memcpy(pick[k], names[best], sizeof names[0]);
        if (best != (size_t)k) memcpy(names[best], names[k], sizeof names[0]);
    }
    return k;
}

int st_replica_adopter(st_replica *r, const char *owner)
{
    char(*names)[256] = r->names;
    size_t n = r->env.members(r->env.ctx, names, ST_LINKS_MAX_PEERS);
    n = n < ST_LINKS_MAX_PEERS ? n : ST_LINKS_MAX_PEERS;
    uint64_t mine = score(owner, r->env.self);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], owner) != 0 && score(owner, names[i]) > mine) return 0;
    return 1;
}

void rp_owner_tick(st_replica *r)
{
    if (!r->store) return;
    char pick[ST_REPLICA_MAX][256];
    size_t candidates = 0;
    int n = choose(r, pick, &candidates);
    rp_holder next[ST_REPLICA_MAX];
    for (int i = 0; i < n; i++) {
        rp_holder *h = holder(r, pick[i]);
        next[i] = h ? *h : (rp_holder){.state = ST_RH_UNLINKED};
        if (!h) {
            memcpy(next[i].name, pick[i], sizeof next[i].name);
            LOG_INFO(r->env.log, "replicas: %s keeps a copy of this node's durable store", pick[i]);
        }
    }
    pthread_mutex_lock(&r->mu);
    memcpy(r->holders, next, (size_t)n * sizeof *next);
    r->nholders = n;
    r->candidates = candidates; /* with the holders chosen from them */
    pthread_mutex_unlock(&r->mu);
    atomic_store(&r->has_holders, n > 0);
    for (int i = 0; i < n; i++) {
        rp_holder *h = &r->holders[i];
        int linked = link_of(r, h->name) != NULL;
        if (!linked) h->state = ST_RH_UNLINKED;
        if (linked && h->state == ST_RH_UNLINKED) wait_snapshot(r, h);
        if (h->state == ST_RH_IN_STEP && h->since && r->now - h->since > ST_REPLICA_LAG_MS) {
            LOG_WARN(r->env.log,
                     "replicas: %s has not acknowledged this node's round %llu for %d s: not "
                     "waited for until it catches up",
                     h->name, (unsigned long long)h->sent, ST_REPLICA_LAG_MS / 1000);
            h->state = ST_RH_LAGGING;
        }
    }
    gate(r);
}

void rp_owner_link(st_replica *r, const char *node, int up)
{
    rp_holder *h = r->store ? holder(r, node) : NULL;
    if (!h) return;
    if (up)
        wait_snapshot(r, h);
    else
        h->state = ST_RH_UNLINKED;
    gate(r);
}

/* ---- sending ------------------------------------------------------------------------------- */

int rp_send_pieces(const cw_repl *head, const uint8_t *w, size_t len, rp_out_fn out, void *ctx)
{
    size_t off = 0;
    do {
        size_t n = len - off < ST_REPLICA_PIECE ? len - off : ST_REPLICA_PIECE;
        cw_repl p = *head;
        p.flags = off + n == len ? CW_REPL_END : 0;
        p.body = (st_bytes){w + off, (uint32_t)n};
        size_t flen = cw_encode_repl(&p, NULL, 0);
        uint8_t *frame = malloc(flen);
        if (!frame) return -1;
        cw_encode_repl(&p, frame, flen);
        out(ctx, frame, flen);
        free(frame);
        off += n;
    } while (off < len);
    return 0;
}

typedef struct to_holders {
    st_replica *r;
    int state;
} to_holders;

static void out_holders(void *ctx, const uint8_t *frame, size_t n)
{
    to_holders *t = ctx;
    for (int i = 0; i < t->r->nholders; i++) {
        st_link *l =
            t->r->holders[i].state == t->state ? link_of(t->r, t->r->holders[i].name) : NULL;
        if (l) st_link_send(l, frame, n);
    }
}

/* The item in pieces to every holder in state `to`; they are in step after it (without
 * memory for a piece, their acks stop: they lag and get a snapshot). */
static void send_item(st_replica *r, const rp_item *it, int to)
{
    cw_repl head = {.kind = it->snapshot ? CW_REPL_SNAP : CW_REPL_ROUND,
                    .boot = r->env.boot,
                    .round = it->round};
    memcpy(head.store, r->store_id, CW_STORE_ID);
    to_holders t = {r, to};
    if (rp_send_pieces(&head, it->w, it->len, out_holders, &t) < 0) return;
    for (int i = 0; i < r->nholders; i++) {
        rp_holder *h = &r->holders[i];
        if (h->state != to) continue;
        h->state = ST_RH_IN_STEP;
        h->sent = it->round;
        if (!h->since) h->since = r->now;
    }
}

void rp_owner_drain(st_replica *r)
{
    st_mpsc_node *n;
    while ((n = st_mpsc_pop(&r->inbox))) {
        rp_item *it = (rp_item *)n;
        if (it->snapshot) atomic_store(&r->snap_due, 0);
        send_item(r, it, it->snapshot ? ST_RH_WAITING : ST_RH_IN_STEP);
        r->round = it->round;
        free(it);
    }
    gate(r);
}

void rp_owner_ack(st_replica *r, const char *from, const cw_repl_ack *a)
{
    rp_holder *h = r->store && a->boot == r->env.boot ? holder(r, from) : NULL;
    if (!h) return;
    if (a->status) { /* it cannot follow */
        wait_snapshot(r, h);
    } else {
        h->acked = a->round > h->acked ? a->round : h->acked;
        if (h->acked >= h->sent) h->since = 0;
        if (h->state == ST_RH_LAGGING && h->acked >= h->sent) wait_snapshot(r, h);
    }
    gate(r);
}

void rp_owner_free(st_replica *r)
{
    st_mpsc_node *n;
    while ((n = st_mpsc_pop(&r->inbox)))
        free(n);
}

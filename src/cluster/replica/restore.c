/* restore.c — a node whose durable store is new takes back a copy of its earlier one
 * (replica.h; docs/durability.md §6). The owner's side asks every member up, takes the newest
 * copy offered, replaces its store by it and has the process start again; the holder's side
 * offers and sends the copies it keeps (its mirror of the owner, and the copies it put aside
 * when the owner came back with a new store). The cluster thread. */
#include "cluster/replica/internal.h"
#include "core/clock.h"
#include "core/err.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FORM_MS 60000   /* no cluster with the members linked by then: start empty */
#define ANSWER_MS 10000 /* a member that has not answered the ASK by then has no copy */
#define PIECE_MS 10000  /* a copy whose next piece has not come by then is asked for again */
#define TRIES 3         /* fetches that fail before the node starts empty */

static st_link *link_to(st_replica *r, const char *name)
{
    st_peer *p = st_links_peer(r->env.links, name, 0);
    return p ? st_peer_link(p) : NULL;
}

static void send_msg(st_replica *r, const char *to, const cw_restore *m)
{
    uint8_t frame[64];
    size_t n = cw_encode_restore(m, frame, sizeof frame);
    st_link *l = link_to(r, to);
    if (l && n && n <= sizeof frame) st_link_send(l, frame, n);
}

/* ---- the owner's side --------------------------------------------------------------------- */

void rp_restore_begin(st_replica *r)
{
    atomic_store(&r->restore, RS_WAIT);
}

static void end_offers(st_replica *r)
{
    free(r->offers);
    r->offers = NULL;
    r->noffers = 0;
    st_store_batch_free(r->fetch);
    r->fetch = NULL;
}

/* No copy to take: the store is this node's from now on, and its holders get it. */
static void start_empty(st_replica *r, const char *why)
{
    LOG_NOTICE(r->env.log, "replicas: %s: this node starts with an empty durable store", why);
    end_offers(r);
    if (st_store_settle_fresh(r->own) < 0)
        LOG_ERROR(r->env.log, "replicas: cannot write the durable store's meta (it is asked "
                              "again at the next start)");
    pthread_mutex_lock(&r->mu);
    r->store = r->own;
    pthread_mutex_unlock(&r->mu);
    atomic_store(&r->restore, RS_NONE);
}

/* Every member up is asked once it is linked (or once FORM_MS have gone by: those linked). */
static void ask(st_replica *r)
{
    size_t n = r->env.members(r->env.ctx, r->names, ST_LINKS_MAX_PEERS), linked = 0;
    n = n < ST_LINKS_MAX_PEERS ? n : ST_LINKS_MAX_PEERS;
    for (size_t i = 0; i < n; i++)
        linked += link_to(r, r->names[i]) != NULL;
    if (linked < n && r->now - r->rs_since < FORM_MS) return;
    if (linked == 0) {
        start_empty(r, n ? "no other member is linked" : "no other member is up");
        return;
    }
    end_offers(r);
    if (!(r->offers = calloc(linked, sizeof *r->offers))) return; /* tried again */
    cw_restore m = {.op = CW_RESTORE_ASK};
    memcpy(m.store, st_store_id(r->own), CW_STORE_ID);
    for (size_t i = 0; i < n; i++) {
        if (!link_to(r, r->names[i])) continue;
        memcpy(r->offers[r->noffers++].name, r->names[i], sizeof r->names[i]);
        send_msg(r, r->names[i], &m);
    }
    LOG_INFO(r->env.log,
             "replicas: this node's durable store is new: asking %zu member(s) for a copy of an "
             "earlier one",
             r->noffers);
    r->rs_at = r->now;
    atomic_store(&r->restore, RS_ASKED);
}

static void choose(st_replica *r)
{
    const rp_offer *best = NULL;
    for (size_t i = 0; i < r->noffers; i++) {
        const rp_offer *o = &r->offers[i];
        if (o->has && (!best || o->o.written_ms > best->o.written_ms ||
                       (o->o.written_ms == best->o.written_ms && o->o.sessions > best->o.sessions)))
            best = o;
    }
    if (!best) {
        start_empty(r, "no member keeps a copy of an earlier durable store of this node");
        return;
    }
    r->from = *best;
    end_offers(r);
    if (!(r->fetch = st_store_batch_new())) return; /* RS_ASKED again: asked anew at the tick */
    cw_restore get = {.op = CW_RESTORE_GET};
    memcpy(get.store, r->from.o.store, CW_STORE_ID);
    send_msg(r, r->from.name, &get);
    LOG_NOTICE(r->env.log,
               "replicas: %s keeps a copy of this node's earlier durable store (%llu session(s), "
               "written %lld s ago): restoring it",
               r->from.name, (unsigned long long)r->from.o.sessions,
               (long long)((st_wall_ms() - r->from.o.written_ms) / 1000));
    r->rs_at = r->now;
    atomic_store(&r->restore, RS_FETCH);
}

static void fetch_failed(st_replica *r, const char *why)
{
    end_offers(r);
    if (++r->rs_tries >= TRIES) {
        LOG_ERROR(r->env.log,
                  "replicas: the copy of this node's earlier durable store from %s could not be "
                  "had (%s) in %d tries; it stays on %s",
                  r->from.name, why, TRIES, r->from.name);
        start_empty(r, "no copy could be fetched");
        return;
    }
    LOG_WARN(r->env.log, "replicas: the copy from %s did not come (%s): asking again", r->from.name,
             why);
    atomic_store(&r->restore, RS_WAIT);
}

void rp_restore_tick(st_replica *r)
{
    int st = atomic_load(&r->restore);
    if (st == RS_NONE || st == RS_DONE) return;
    if (!r->rs_since) r->rs_since = r->now;
    if (st == RS_WAIT && r->env.formed(r->env.ctx)) {
        ask(r);
    } else if (st == RS_WAIT && r->now - r->rs_since >= FORM_MS) {
        start_empty(r, "no cluster formed in time to look for a copy of an earlier store");
    } else if (st == RS_ASKED) {
        size_t answered = 0;
        for (size_t i = 0; i < r->noffers; i++)
            answered += r->offers[i].answered;
        if (answered == r->noffers || r->now - r->rs_at >= ANSWER_MS) choose(r);
    } else if (st == RS_FETCH && (r->now - r->rs_at >= PIECE_MS || !link_to(r, r->from.name))) {
        fetch_failed(r, "its link went down or it stopped sending");
    } else if (st == RS_APPLY && r->rs_ticket <= st_store_durable(r->own)) {
        LOG_NOTICE(r->env.log,
                   "replicas: this node's durable store is restored from %s's copy (%llu "
                   "session(s)): the node starts again to recover it",
                   r->from.name, (unsigned long long)r->from.o.sessions);
        atomic_store(&r->restore, RS_DONE);
        r->env.restored(r->env.ctx);
    } else if (st == RS_APPLY && r->rs_ticket <= st_store_failed(r->own)) {
        fetch_failed(r, "this node could not write it");
    }
}

static int take(void *ctx, int cf, int del, const uint8_t *k, size_t kl, const uint8_t *v,
                size_t vl)
{
    if (cf == ST_CF_META && kl == 8 && memcmp(k, "owner_id", 8) == 0) return 0; /* the holder's */
    return del ? st_store_del(ctx, cf, k, kl) : st_store_put(ctx, cf, k, kl, v, vl, 0);
}

void rp_restore_piece(st_replica *r, const char *from, const cw_repl *p)
{
    if (atomic_load(&r->restore) != RS_FETCH || strcmp(from, r->from.name) != 0 ||
        memcmp(p->store, r->from.o.store, CW_STORE_ID) != 0 || !r->fetch)
        return;
    r->rs_at = r->now;
    if (st_store_records(p->body.p, p->body.len, take, r->fetch) != 0) {
        fetch_failed(r, "a piece could not be read");
        return;
    }
    if (!(p->flags & CW_REPL_END)) return;
    r->rs_ticket = st_store_submit_replace(r->own, &r->fetch);
    atomic_store(&r->restore, RS_APPLY);
}

static void answered(st_replica *r, const char *from, const cw_restore *m)
{
    int st = atomic_load(&r->restore);
    if (st == RS_FETCH && m->op == CW_RESTORE_NONE && strcmp(from, r->from.name) == 0) {
        fetch_failed(r, "it no longer has it");
        return;
    }
    for (size_t i = 0; st == RS_ASKED && i < r->noffers; i++) {
        rp_offer *o = &r->offers[i];
        if (strcmp(o->name, from) != 0) continue;
        o->answered = 1;
        o->has = m->op == CW_RESTORE_OFFER;
        o->o = *m;
    }
}

int st_replica_restoring(st_replica *r)
{
    return r && atomic_load(&r->restore) != RS_NONE;
}

void rp_restore_free(st_replica *r)
{
    end_offers(r);
}

/* ---- the holder's side -------------------------------------------------------------------- */

typedef struct rp_copy {
    st_store *s;
    uint8_t id[CW_STORE_ID]; /* the owner's store it copies */
    int has_id;
    int64_t written_ms;
    long sessions;
} rp_copy;

/* <owner>, or <owner>.<a store id in hex>: a copy of owner's (mirror.c keep_aside). */
static int names_copy(const char *entry, const char *owner)
{
    size_t ol = strlen(owner);
    if (strncmp(entry, owner, ol) != 0) return 0;
    if (entry[ol] == 0) return 1;
    if (entry[ol] != '.' || strlen(entry + ol + 1) != 2 * CW_STORE_ID) return 0;
    for (const char *c = entry + ol + 1; *c; c++)
        if (!isxdigit((unsigned char)*c)) return 0;
    return 1;
}

typedef int (*copy_fn)(void *ctx, const rp_copy *c);

/* fn for each copy of owner's stores kept here with sessions in it, until it returns 1. */
static void each_copy(st_replica *r, const char *owner, copy_fn fn, void *ctx)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/replicas", r->env.data_dir);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!names_copy(e->d_name, owner)) continue;
        rp_mirror *m = strcmp(e->d_name, owner) == 0 ? rp_mirror_find(r, owner) : NULL;
        rp_copy c = {.s = m ? m->store : NULL};
        st_store_cfg cfg = {0};
        char err[1200];
        if (!m) {
            int n = snprintf(cfg.dir, sizeof cfg.dir, "%s/%s", dir, e->d_name);
            snprintf(cfg.node, sizeof cfg.node, "%s", owner);
            cfg.max_bytes = r->env.max_bytes;
            c.s = n > 0 && (size_t)n < sizeof cfg.dir
                      ? st_store_open(&cfg, r->env.log, err, sizeof err)
                      : NULL;
            if (!c.s) LOG_WARN(r->env.log, "replicas: cannot read %s/%s", dir, e->d_name);
        }
        if (!c.s) continue;
        c.has_id = rp_owner_id(c.s, c.id);
        c.written_ms = st_store_written_ms(c.s);
        c.sessions = rp_count_sessions(c.s);
        int stop = c.has_id && c.sessions > 0 ? fn(ctx, &c) : 0;
        if (!m) st_store_close(c.s);
        if (stop) break;
    }
    if (d) closedir(d);
}

typedef struct offer_ctx {
    const uint8_t * not ; /* the asker's store now */
    cw_restore best;
} offer_ctx;

static int newest(void *ctx, const rp_copy *c)
{
    offer_ctx *o = ctx;
    if (memcmp(c->id, o->not, CW_STORE_ID) == 0) return 0;
    if (o->best.op == CW_RESTORE_OFFER && c->written_ms <= o->best.written_ms) return 0;
    o->best.op = CW_RESTORE_OFFER;
    memcpy(o->best.store, c->id, CW_STORE_ID);
    o->best.written_ms = c->written_ms;
    o->best.sessions = (uint64_t)c->sessions;
    return 0;
}

typedef struct give_ctx {
    st_replica *r;
    const char *to;
    const uint8_t *want;
    int sent;
} give_ctx;

static void to_link(void *ctx, const uint8_t *frame, size_t n)
{
    st_link *l = ctx;
    st_link_send(l, frame, n);
}

static int give_one(void *ctx, const rp_copy *c)
{
    give_ctx *g = ctx;
    if (memcmp(c->id, g->want, CW_STORE_ID) != 0) return 0;
    st_store_batch *b = st_store_batch_new();
    st_link *l = link_to(g->r, g->to);
    size_t len = 0;
    if (b && l && st_store_dump(c->s, b) == 0) {
        cw_repl head = {.kind = CW_REPL_RESTORE, .boot = g->r->env.boot};
        memcpy(head.store, c->id, CW_STORE_ID);
        const uint8_t *w = st_store_batch_bytes(b, &len);
        g->sent = rp_send_pieces(&head, w, len, to_link, l) == 0;
    }
    if (g->sent)
        LOG_NOTICE(g->r->env.log,
                   "replicas: sent %s the copy of its earlier durable store (%ld session(s), %zu "
                   "bytes)",
                   g->to, c->sessions, len);
    st_store_batch_free(b);
    return 1;
}

void rp_restore_frame(st_replica *r, const char *from, const cw_restore *m)
{
    if (m->op == CW_RESTORE_ASK) {
        offer_ctx o = {m->store, {.op = CW_RESTORE_NONE}};
        each_copy(r, from, newest, &o);
        send_msg(r, from, &o.best);
    } else if (m->op == CW_RESTORE_GET) {
        give_ctx g = {r, from, m->store, 0};
        each_copy(r, from, give_one, &g);
        cw_restore none = {.op = CW_RESTORE_NONE};
        memcpy(none.store, m->store, CW_STORE_ID);
        if (!g.sent) send_msg(r, from, &none);
    } else {
        answered(r, from, m);
    }
}

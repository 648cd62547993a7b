/* adopt.c — a gone member's sessions from the copy of its store (adopt.h). */
#include "cluster/data/adopt.h"
#include "broker/durable_rec.h"
#include "cluster/data/forward.h"
#include "cluster/data/internal.h"
#include "cluster/data/leftover.h"
#include "cluster/data/move.h"
#include "cluster/data/msgrec.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/u64map.h"
#include "route/trie.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STALL_MS 30000 /* an adoption that installs nothing for this long gives up */

/* ---- images from a store dump ----------------------------------------------------------- */

typedef struct ad_img {
    st_buf head;     /* HEAD, subscriptions, PUBREL waits, will */
    st_buf items;    /* inflight and queued messages, in key (arrival) order */
    st_subrec *subs; /* filters pointing into the dump */
    size_t nsubs;
    size_t len;
    char cid[];
} ad_img;

/* The copy's lane positions (meta "lane" ‖ node ‖ lane): how far the member had taken each
 * sender process's records. */
typedef struct ad_lane {
    uint64_t node, boot, last;
    uint16_t lane;
} ad_lane;

typedef struct ad_msg {
    const uint8_t *p;
    size_t n;
} ad_msg;

typedef struct build {
    st_strmap *by_cid; /* cid → ad_img */
    st_u64map *by_sid; /* sid → ad_img */
    st_u64map *by_mid; /* message id → index + 1 in msgs */
    ad_msg *msgs;
    size_t nmsgs, capmsgs;
    ad_lane *lanes;
    size_t nlanes;
    int64_t written, wall, mono;
    int err;
} build;

static void img_free(ad_img *a)
{
    if (!a) return;
    st_buf_free(&a->head);
    st_buf_free(&a->items);
    free(a->subs);
    free(a);
}

/* The time left of a session's expiry at b->wall (ms; <= 0: expired; INT64_MAX: never). */
static int64_t left_of(const build *b, const st_drec_session *ds)
{
    if (ds->expiry_ms == INT64_MAX) return INT64_MAX;
    int64_t since = ds->offline_since ? ds->offline_since : b->written;
    return ds->expiry_ms - (b->wall - since);
}

/* Its will: due when it was scheduled, or (connected when its node went) its delay after the
 * copy was last written; not scheduled: it goes when the session ends. */
static void put_will(build *b, ad_img *a, const st_drec_session *ds)
{
    int err;
    st_msg *m = st_drec_msg_get(ds->will, ds->will_len, b->mono, b->wall, &err);
    if (!m) return; /* unreadable: the session goes without it */
    int64_t due = ds->will_at              ? ds->will_at
                  : ds->offline_since == 0 ? b->written + (int64_t)ds->will_delay_s * 1000
                                           : 0;
    int64_t in = due ? due - b->wall : 0;
    cw_sess_ent e = {.tag = CW_SE_WILL,
                     .delay_s = ds->will_delay_s,
                     .in_ms = !due              ? 0
                              : in < 1          ? 1
                              : in > UINT32_MAX ? UINT32_MAX
                                                : (uint32_t)in};
    st_msgrec_put_msg(&a->head, &e, m, NULL, b->mono);
    st_msg_unref(m);
}

static void on_session(build *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    st_drec_session ds;
    if (kl == 0 || st_drec_session_get(v, vl, &ds) < 0) return;
    int64_t left = left_of(b, &ds);
    if (left <= 0 || st_u64map_get(b->by_sid, ds.sid)) return; /* expired, or not ours to guess */
    ad_img *a = calloc(1, sizeof *a + kl + 1);
    if (!a || st_strmap_put(b->by_cid, (const char *)k, kl, a) < 0) {
        free(a);
        b->err = ST_ENOMEM;
        return;
    }
    memcpy(a->cid, k, kl);
    a->len = kl;
    if (st_u64map_put(b->by_sid, ds.sid, a) < 0) b->err = ST_ENOMEM;
    cw_sess_ent e = {.tag = CW_SE_HEAD,
                     .expiry_ms = ds.expiry_ms == INT64_MAX ? UINT64_MAX : (uint64_t)ds.expiry_ms,
                     .next_pid = ds.next_pid,
                     .in_ms = left == INT64_MAX   ? 0
                              : left > UINT32_MAX ? UINT32_MAX
                                                  : (uint32_t)left};
    st_msgrec_put_ent(&a->head, &e);
    size_t off = 0;
    st_subrec sr;
    while (st_drec_sub_next(&ds, &off, &sr) == 1) {
        st_subrec *subs = realloc(a->subs, (a->nsubs + 1) * sizeof *subs);
        if (subs) {
            a->subs = subs;
            subs[a->nsubs++] = sr;
        } else {
            b->err = ST_ENOMEM;
        }
        e = (cw_sess_ent){.tag = CW_SE_SUB,
                          .filter = {(const uint8_t *)sr.filter, (uint32_t)sr.len},
                          .qos = sr.qos,
                          .flags = sr.flags,
                          .sub_id = sr.sub_id};
        st_msgrec_put_ent(&a->head, &e);
    }
    if (ds.will) put_will(b, a, &ds);
}

/* A QoS 2 id awaiting PUBREL: client id ‖ NUL ‖ u16 (after its session's record). */
static void on_rel(build *b, const uint8_t *k, size_t kl)
{
    const uint8_t *nul = memchr(k, 0, kl);
    size_t cl = (size_t)(nul - k);
    ad_img *a = kl == cl + 3 ? st_strmap_get(b->by_cid, (const char *)k, cl) : NULL;
    uint16_t pid = (uint16_t)(k[cl + 1] << 8 | k[cl + 2]);
    cw_sess_ent e = {.tag = CW_SE_REL, .pid = pid};
    if (a && pid) st_msgrec_put_ent(&a->head, &e);
}

static void on_msg(build *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (kl != 8) return;
    if (b->nmsgs == b->capmsgs) {
        size_t cap = b->capmsgs ? 2 * b->capmsgs : 64;
        ad_msg *m = realloc(b->msgs, cap * sizeof *m);
        if (!m) {
            b->err = ST_ENOMEM;
            return;
        }
        b->msgs = m;
        b->capmsgs = cap;
    }
    b->msgs[b->nmsgs++] = (ad_msg){v, vl};
    if (st_u64map_put(b->by_mid, st_drec_get_u64(k), (void *)(uintptr_t)b->nmsgs) < 0)
        b->err = ST_ENOMEM;
}

/* A queue entry: inflight (its packet id and state) or queued. */
static void on_entry(build *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    st_drec_entry de;
    ad_img *a = kl == ST_DREC_QKEY ? st_u64map_get(b->by_sid, st_drec_get_u64(k)) : NULL;
    if (!a || st_drec_entry_get(v, vl, &de) < 0) return;
    cw_sess_ent e = {.tag = de.state ? CW_SE_INFLIGHT : CW_SE_QUEUE,
                     .pid = de.pid,
                     .state = de.state == ST_INF_WAIT_COMP ? 2 : 1,
                     .qos = de.qos,
                     .retain = de.retain,
                     .sub_id = de.sub_id};
    if (de.state == ST_INF_WAIT_COMP) { /* only its PUBREL is owed */
        st_msgrec_put_ent(&a->items, &e);
        return;
    }
    uintptr_t i = (uintptr_t)st_u64map_get(b->by_mid, st_drec_get_u64(k + 8));
    int err;
    st_msg *m =
        i ? st_drec_msg_get(b->msgs[i - 1].p, b->msgs[i - 1].n, b->mono, b->wall, &err) : NULL;
    if (m && !st_msg_expired(m, b->mono)) st_msgrec_put_msg(&a->items, &e, m, NULL, b->mono);
    if (m) st_msg_unref(m);
}

static void on_lane(build *b, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    if (kl != ST_DREC_LANE_KEY || vl != 16 || memcmp(k, "lane", 4) != 0) return;
    ad_lane *l = realloc(b->lanes, (b->nlanes + 1) * sizeof *l);
    if (!l) {
        b->err = ST_ENOMEM;
        return;
    }
    b->lanes = l;
    l[b->nlanes++] = (ad_lane){st_drec_get_u64(k + 4), st_drec_get_u64(v), st_drec_get_u64(v + 8),
                               (uint16_t)(k[12] << 8 | k[13])};
}

static int on_record(void *ctx, int cf, int del, const uint8_t *k, size_t kl, const uint8_t *v,
                     size_t vl)
{
    build *b = ctx;
    if (del) return 0;
    if (cf == ST_CF_META)
        on_lane(b, k, kl, v, vl);
    else if (cf == ST_CF_SESSIONS && memchr(k, 0, kl))
        on_rel(b, k, kl);
    else if (cf == ST_CF_SESSIONS)
        on_session(b, k, kl, v, vl);
    else if (cf == ST_CF_MSGS)
        on_msg(b, k, kl, v, vl);
    else if (cf == ST_CF_QUEUE)
        on_entry(b, k, kl, v, vl);
    return b->err;
}

/* The member had taken seq of that sender process's lane (the copy says so). */
static int had(const build *b, uint64_t node, uint64_t boot, const st_leftover *e)
{
    for (size_t i = 0; i < b->nlanes; i++)
        if (b->lanes[i].node == node && b->lanes[i].lane == e->lane && b->lanes[i].boot == boot)
            return e->seq <= b->lanes[i].last;
    return 0;
}

/* A message a lane held for the member, queued to a session whose subscriptions match it
 * (once, at the highest QoS they grant; shared ones are not the session's). */
static int queue_leftover(ad_img *a, const st_leftover *e)
{
    const st_subrec *best = NULL;
    for (size_t i = 0; i < a->nsubs; i++) {
        const st_subrec *r = &a->subs[i];
        const char *g, *f;
        size_t gl, fl;
        if (st_share_parse(r->filter, r->len, &g, &gl, &f, &fl) != 0) continue;
        if (!st_topic_match(r->filter, r->len, (const char *)e->e.rec.topic.p, e->e.rec.topic.len))
            continue;
        if (!best || r->qos > best->qos) best = r;
    }
    if (!best) return 0;
    cw_sess_ent q = e->e;
    q.qos = q.qos < best->qos ? q.qos : best->qos;
    q.retain = best->flags & ST_SUB_RAP ? q.retain : 0;
    q.sub_id = best->sub_id;
    q.pid = 0;
    st_msgrec_put_ent(&a->items, &q);
    return 1;
}

/* The lanes' leftovers (answers of leftover.h), after each session's own queue. */
static void add_leftovers(build *b, const st_bytes *extra, size_t nextra, size_t *queued)
{
    for (size_t i = 0; i < nextra; i++) {
        int ready;
        uint64_t node, boot;
        size_t off;
        if (st_leftover_head(extra[i].p, extra[i].len, &ready, &node, &boot, &off) < 0) continue;
        st_leftover e;
        while (st_leftover_next(extra[i].p, extra[i].len, &off, &e) == 1) {
            if (had(b, node, boot, &e)) continue;
            size_t it = 0;
            void *v;
            while (st_strmap_next(b->by_cid, &it, NULL, NULL, &v))
                *queued += (size_t)queue_leftover(v, &e);
        }
    }
}

int st_adopt_images(const uint8_t *w, size_t len, int64_t written, int64_t wall, int64_t mono,
                    const st_bytes *extra, size_t nextra, size_t *queued, st_adopt_image_fn fn,
                    void *ctx)
{
    build b = {.by_cid = st_strmap_new(),
               .by_sid = st_u64map_new(),
               .by_mid = st_u64map_new(),
               .written = written,
               .wall = wall,
               .mono = mono};
    int rc = b.by_cid && b.by_sid && b.by_mid ? st_store_records(w, len, on_record, &b) : ST_ENOMEM;
    if (rc == 0) add_leftovers(&b, extra, nextra, queued);
    size_t it = 0;
    void *v;
    while (b.by_cid && st_strmap_next(b.by_cid, &it, NULL, NULL, &v)) {
        ad_img *a = v;
        if (rc == 0 && (a->head.oom || a->items.oom)) rc = ST_ENOMEM;
        if (rc == 0 && a->items.len) st_buf_put(&a->head, a->items.p, a->items.len);
        if (rc == 0 && a->head.oom) rc = ST_ENOMEM;
        if (rc == 0) rc = fn(ctx, a->cid, a->len, a->head.p, a->head.len);
        img_free(a);
    }
    st_strmap_free(b.by_cid);
    st_u64map_free(b.by_sid);
    st_u64map_free(b.by_mid);
    free(b.msgs);
    free(b.lanes);
    return rc;
}

/* ---- the adoption: this thread in the old node's place ---------------------------------- */

typedef struct ad_sess {
    size_t len;
    uint8_t *img;
    size_t ilen;
    char cid[];
} ad_sess;

struct st_adopt {
    char owner[256];
    st_strmap *left; /* cid → ad_sess: offered, not installed yet */
    size_t offered, installed, skipped;
    int64_t deadline;
};

static void adopt_free(st_adopt *a)
{
    if (!a) return;
    size_t it = 0;
    void *v;
    while (st_strmap_next(a->left, &it, NULL, NULL, &v))
        free(v);
    st_strmap_free(a->left);
    free(a);
}

void st_data_adopt_free(st_data *c)
{
    adopt_free(c->adopt);
    c->adopt = NULL;
}

/* A frame from "the old node" to the worker that owns cid. */
static void to_worker(st_data *c, uint8_t type, st_bytes cid, uint64_t hlc, uint8_t status,
                      st_bytes img)
{
    cw_move m = {cid, hlc, status, img};
    size_t n = cw_encode_move(type, &m, NULL, 0);
    uint8_t *f = malloc(n);
    if (!f) return; /* the worker times out: a new session */
    cw_encode_move(type, &m, f, n);
    uint16_t w = st_worker_for(c->broker, (const char *)cid.p, cid.len);
    st_fwd_move(c->fwd, w, ST_MOVE_ADOPT_SLOT, 0, type, f + CW_HDR, n - CW_HDR);
    free(f);
}

typedef struct offer_ctx {
    st_data *c;
    st_adopt *a;
} offer_ctx;

/* A client id the registry places on this node or a node that is linked came back: its
 * client connected again since its node went, and that session is the newer one. */
static int taken_since(st_data *c, const char *cid, size_t len)
{
    uint64_t at = c->env.locate(c->env.ctx, cid, len);
    if (!at) return 0;
    return at == c->env.node_id || st_data_link_of(c, at) != NULL;
}

static int offer(void *ctx, const char *cid, size_t len, const uint8_t *img, size_t ilen)
{
    offer_ctx *o = ctx;
    if (taken_since(o->c, cid, len)) {
        o->a->skipped++;
        return 0;
    }
    ad_sess *s = malloc(sizeof *s + len + ilen);
    if (!s) return ST_ENOMEM;
    s->len = len;
    memcpy(s->cid, cid, len);
    s->img = (uint8_t *)s->cid + len;
    s->ilen = ilen;
    memcpy(s->img, img, ilen);
    if (st_strmap_put(o->a->left, s->cid, len, s) < 0) {
        free(s);
        return ST_ENOMEM;
    }
    o->a->offered++;
    to_worker(o->c, CW_MOVE_OFFER, (st_bytes){(const uint8_t *)cid, (uint32_t)len}, 0,
              CW_MOVE_F_EVACUATE, (st_bytes){NULL, 0});
    return 0;
}

long st_data_adopt(st_data *c, const char *owner, const uint8_t *w, size_t len, int64_t written,
                   const st_bytes *extra, size_t nextra)
{
    if (c->adopt) return ST_EAGAIN;
    if (!c->broker || !c->fwd) return ST_EINVAL;
    st_adopt *a = calloc(1, sizeof *a);
    if (!a || !(a->left = st_strmap_new())) {
        free(a);
        return ST_ENOMEM;
    }
    snprintf(a->owner, sizeof a->owner, "%s", owner);
    a->deadline = st_data_now(c) + STALL_MS;
    c->adopt = a;
    offer_ctx o = {c, a};
    size_t queued = 0;
    int rc = st_adopt_images(w, len, written, st_wall_ms(), st_now_ms(), extra, nextra, &queued,
                             offer, &o);
    if (rc < 0)
        LOG_ERROR(c->log, "cluster: adopting %s's sessions: %s (%zu offered)", owner,
                  st_strerror(rc), a->offered);
    LOG_NOTICE(c->log,
               "cluster: %s has left the cluster: this node takes over the %zu durable "
               "session(s) of its copy (%zu whose client connected again elsewhere stay there; "
               "%zu message(s) the members' lanes still held for them queued)",
               owner, a->offered, a->skipped, queued);
    return (long)a->offered;
}

int st_data_adopting(st_data *c, int64_t now)
{
    st_adopt *a = c->adopt;
    if (!a) return 0;
    size_t left = st_strmap_count(a->left);
    if (left && now < a->deadline) return 1;
    if (left)
        LOG_WARN(c->log,
                 "cluster: %zu of %s's session(s) could not be taken over (a session of that "
                 "client id is here already, or a worker did not answer)",
                 left, a->owner);
    LOG_NOTICE(c->log, "cluster: %zu of %s's session(s) taken over", a->installed, a->owner);
    st_data_adopt_free(c);
    return 0;
}

void st_data_adopt_frame(st_data *c, const uint8_t *frame, size_t n)
{
    cw_move m;
    st_adopt *a = c->adopt;
    if (n < CW_HDR || cw_decode_move((st_bytes){frame + CW_HDR, (uint32_t)(n - CW_HDR)}, &m) < 0)
        return;
    ad_sess *s = a ? st_strmap_get(a->left, (const char *)m.cid.p, m.cid.len) : NULL;
    uint8_t type = frame[4];
    if (type == CW_MOVE_BEGIN) {
        to_worker(c, CW_MOVE_STATE, m.cid, m.hlc, s ? CW_MOVE_OK : CW_MOVE_NONE,
                  s ? (st_bytes){s->img, (uint32_t)s->ilen} : (st_bytes){NULL, 0});
    } else if (type == CW_MOVE_END) {
        to_worker(c, CW_MOVE_PENDING, m.cid, m.hlc, s ? CW_MOVE_OK : CW_MOVE_NONE,
                  (st_bytes){NULL, 0});
        if (!s) return;
        st_strmap_del(a->left, s->cid, s->len);
        free(s);
        a->installed++;
        a->deadline = st_data_now(c) + STALL_MS;
    }
}

/* move.c — sessions moving between nodes (move.h, docs/cluster.md §10.3). The worker side
 * runs on the worker owning the client id; the cluster-thread side relays frames. */
#include "cluster/data/move.h"
#include "cluster/data/adopt.h"
#include "broker/client.h"
#include "broker/dedup.h"
#include "broker/flow.h"
#include "cluster/data/forward.h"
#include "cluster/data/internal.h"
#include "cluster/data/msgrec.h"
#include "core/buf.h"
#include "core/clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ASK_MS 10000    /* an arrival's old node answers (STATE) within this, or a new session */
#define ROUTES_MS 10000 /* its routes are acked within this, or END goes anyway */
#define PENDING_MS 5000 /* PENDING comes within this, or the session goes on without it */
#define RETRY_MS 200    /* BUSY: ask again after this */
#define UNREACHABLE_MS 3000 /* the node the registry names has no link: ask again this long */
#define DEPART_MS 15000     /* the new node sends END within this, or the frozen session ends */
#define MOVED_MS 30000      /* where a session went is remembered this long (the registry lags) */
#define MAX_HOPS 4          /* MOVED answers followed per ask */
#define EVAC_STALL_MS 5000  /* an evacuation that moves nothing for this long gives up */
#define DEDUP_MS 10000      /* late direct copies of what a session brought are dropped this long */
#define IMAGE_MAX (8u << 20) /* queued messages past this stay behind (dropped, logged) */

enum { ARR_RETRY, ARR_STATE, ARR_ROUTES, ARR_PENDING };

typedef struct arrival {
    struct arrival *next;
    uint64_t sid, hlc;
    uint16_t slot; /* the old node (once known) */
    uint8_t by_client, flags, hops;
    uint64_t hint; /* ask this node (a MOVED answer), not the registry's */
    int phase;
    int64_t born, deadline, retry_at;
    uint64_t route_seq;
    uint32_t expire_in; /* pushed here offline: its expiry was already running (ms left) */
    uint32_t nimg;      /* queue entries the image put at the queue's head */
    uint64_t dropped;   /* s->dropped then */
    st_mid *seen;       /* identities of the messages the image and PENDING brought */
    size_t nseen, capseen;
    size_t len;
    char cid[];
} arrival;

typedef struct departure {
    struct departure *next;
    uint64_t sid, hlc;
    uint16_t slot; /* the new node */
    uint64_t to;   /* its node id */
    int gone;      /* the session has left: the record only says where it went */
    int64_t deadline;
    size_t len;
    char cid[];
} departure;

struct st_moves {
    arrival *arr;
    departure *dep;
    uint16_t *slots; /* evacuating: the members that take our sessions */
    size_t nslots;
    int64_t next_offer;
};

st_moves *st_moves_new(void)
{
    return calloc(1, sizeof(st_moves));
}

static void arrival_free(arrival *a)
{
    free(a->seen);
    free(a);
}

void st_moves_free(st_moves *mv)
{
    if (!mv) return;
    while (mv->arr) {
        arrival *a = mv->arr;
        mv->arr = a->next;
        arrival_free(a);
    }
    while (mv->dep) {
        departure *d = mv->dep;
        mv->dep = d->next;
        free(d);
    }
    free(mv->slots);
    free(mv);
}

size_t st_moves_count(const st_moves *mv)
{
    size_t n = 0;
    for (const arrival *a = mv->arr; a; a = a->next)
        n++;
    for (const departure *d = mv->dep; d; d = d->next)
        n += !d->gone;
    return n;
}

static arrival *arrival_find(st_moves *mv, st_bytes cid)
{
    for (arrival *a = mv->arr; a; a = a->next)
        if (a->len == cid.len && memcmp(a->cid, cid.p, cid.len) == 0) return a;
    return NULL;
}

static void arrival_drop(st_moves *mv, st_worker *w, arrival *a)
{
    if (a->phase == ARR_ROUTES) atomic_fetch_sub(&w->nheld, 1); /* no longer waits for acks */
    for (arrival **p = &mv->arr; *p; p = &(*p)->next)
        if (*p == a) {
            *p = a->next;
            break;
        }
    arrival_free(a);
}

static departure *departure_find(st_moves *mv, st_bytes cid)
{
    for (departure *d = mv->dep; d; d = d->next)
        if (d->len == cid.len && memcmp(d->cid, cid.p, cid.len) == 0) return d;
    return NULL;
}

static void departure_drop(st_moves *mv, departure *d)
{
    for (departure **p = &mv->dep; *p; p = &(*p)->next)
        if (*p == d) {
            *p = d->next;
            free(d);
            return;
        }
}

/* ---- to the cluster thread ------------------------------------------------------------ */

static void post_frame(st_data *cl, uint16_t slot, uint8_t type, const cw_move *m)
{
    size_t n = cw_encode_move(type, m, NULL, 0);
    st_data_item *it = malloc(sizeof *it + n);
    if (!it) return; /* the other side times out */
    memset(it, 0, sizeof *it);
    it->kind = ST_DI_MOVE;
    it->slot = slot;
    it->len = (uint32_t)n;
    cw_encode_move(type, m, (uint8_t *)it->s, n);
    st_data_post(cl, it);
}

static void post_ask(st_data *cl, st_worker *w, const arrival *a)
{
    st_data_item *it = malloc(sizeof *it + a->len + 1);
    if (!it) return;
    memset(it, 0, sizeof *it);
    it->kind = ST_DI_MOVE;
    it->slot = ST_MOVE_ASK_SLOT;
    it->lane = w->id;
    it->seq = a->hlc;
    it->count = a->flags;
    it->hint = a->hint;
    it->len = (uint32_t)a->len;
    memcpy(it->s, a->cid, a->len);
    it->s[a->len] = 0;
    st_data_post(cl, it);
}

static void reply(st_data *cl, uint16_t slot, uint8_t type, const cw_move *m, uint8_t status,
                  const st_buf *img)
{
    cw_move r = {m->cid, m->hlc, status, {NULL, 0}};
    if (img && !img->oom) r.image = (st_bytes){img->p, (uint32_t)img->len};
    post_frame(cl, slot, type, &r);
}

/* ---- session images ------------------------------------------------------------------- */

static void put_item(st_buf *img, uint8_t tag, const st_qitem *it, int64_t now)
{
    cw_sess_ent e = {.tag = tag, .qos = it->qos, .retain = it->retain, .sub_id = it->sub_id};
    st_msgrec_put_msg(img, &e, it->msg, it->share, now);
}

/* The queue's messages as QUEUE entries (the queue is emptied). */
static size_t put_queue(st_buf *img, st_session *s, int64_t now)
{
    size_t lost = 0;
    st_qitem it;
    while (st_session_dequeue(s, &it)) {
        if (!st_msg_expired(it.msg, now) && img->len < IMAGE_MAX)
            put_item(img, CW_SE_QUEUE, &it, now);
        else if (!st_msg_expired(it.msg, now))
            lost++;
        st_qitem_release(&it);
    }
    return lost;
}

/* Everything the session holds; its inflight window and queue move into the image. */
static size_t image_of(st_buf *img, st_session *s, int with_will, int64_t now)
{
    /* an offline session's expiry keeps running where it goes (0: starts there) */
    int64_t left = !s->client && s->expire_at ? s->expire_at - now : 0;
    cw_sess_ent e = {.tag = CW_SE_HEAD,
                     .expiry_ms =
                         s->expiry_ms == ST_UNLIMITED ? UINT64_MAX : (uint64_t)s->expiry_ms,
                     .next_pid = s->next_pid,
                     .in_ms = left <= 0           ? (s->expire_at ? 1 : 0)
                              : left > UINT32_MAX ? UINT32_MAX
                                                  : (uint32_t)left};
    st_msgrec_put_ent(img, &e);
    for (uint32_t i = 0; i < s->nsubs; i++) {
        const st_subrec *r = &s->subs[i];
        e = (cw_sess_ent){.tag = CW_SE_SUB,
                          .filter = {(const uint8_t *)r->filter, r->len},
                          .qos = r->qos,
                          .flags = r->flags,
                          .sub_id = r->sub_id};
        st_msgrec_put_ent(img, &e);
    }
    for (uint32_t i = 0; i < s->nrel; i++) {
        e = (cw_sess_ent){.tag = CW_SE_REL, .pid = s->rel[i].pid};
        st_msgrec_put_ent(img, &e);
    }
    for (uint32_t i = 0; i < s->ninf; i++) {
        st_inflight *f = &s->inf[i];
        if (f->state == ST_INF_WAIT_COMP) {
            e = (cw_sess_ent){.tag = CW_SE_INFLIGHT, .pid = f->pid, .state = 2};
            st_msgrec_put_ent(img, &e);
        } else {
            e = (cw_sess_ent){.tag = CW_SE_INFLIGHT,
                              .pid = f->pid,
                              .state = 1,
                              .qos = f->it.qos,
                              .retain = f->it.retain,
                              .sub_id = f->it.sub_id};
            st_msgrec_put_msg(img, &e, f->it.msg, f->it.share, now);
        }
        st_qitem_release(&f->it);
    }
    free(s->inf);
    s->inf = NULL;
    s->ninf = s->capinf = 0;
    size_t lost = put_queue(img, s, now);
    if (with_will && s->will) {
        e = (cw_sess_ent){.tag = CW_SE_WILL,
                          .delay_s = s->will_delay_s,
                          .in_ms =
                              s->will_at ? (uint32_t)(s->will_at > now ? s->will_at - now : 1) : 0};
        st_msgrec_put_msg(img, &e, s->will, NULL, now);
    }
    st_session_clear_will(s);
    return lost;
}

static void seen_add(arrival *a, const cw_record *r)
{
    if (!r->origin) return;
    if (a->nseen == a->capseen) {
        size_t nc = a->capseen ? a->capseen * 2 : 16;
        st_mid *v = realloc(a->seen, nc * sizeof *v);
        if (!v) return;
        a->seen = v;
        a->capseen = nc;
    }
    a->seen[a->nseen++] = (st_mid){r->origin, r->mid};
}

static int seen_has(const arrival *a, const st_msg *m)
{
    st_mid k = {m->origin, m->oid};
    return m->origin && a->nseen && bsearch(&k, a->seen, a->nseen, sizeof k, st_mid_cmp) != NULL;
}

static int item_of(const cw_sess_ent *e, int64_t now, st_qitem *it)
{
    memset(it, 0, sizeof *it);
    if (mqtt_topic_name_check(e->rec.topic.p, e->rec.topic.len) != 0) return 0;
    it->msg = st_msgrec_msg(&e->rec, now);
    if (!it->msg) return 0;
    if (e->rec.kind & CW_REC_SHARED)
        it->share = st_sharekey_new((const char *)e->rec.share.p, e->rec.share.len);
    it->qos = e->qos;
    it->retain = e->retain;
    it->sub_id = e->sub_id;
    return 1;
}

static void enqueue(st_worker *w, st_session *s, st_qitem *it)
{
    st_qitem dropped;
    if (st_session_enqueue(s, it, w->cfg->max_mqueue_len, &dropped) < 0) st_qitem_release(it);
    if (dropped.msg) st_qitem_release(&dropped);
}

static void add_sub(st_worker *w, st_session *s, const cw_sess_ent *e)
{
    const char *f = (const char *)e->filter.p;
    if (mqtt_topic_filter_check(e->filter.p, e->filter.len) != 0) return;
    int created;
    st_subrec *r = st_session_sub_put(s, f, e->filter.len, &created);
    if (!r) return;
    r->qos = e->qos;
    r->flags = e->flags;
    r->sub_id = e->sub_id;
    st_target t = {
        .sid = s->sid, .worker = w->id, .qos = e->qos, .flags = e->flags, .sub_id = e->sub_id};
    if (st_subs_add(w->b->subs, f, e->filter.len, &t) < 0) st_session_sub_del(s, f, e->filter.len);
}

static void install_ent(st_worker *w, st_session *s, arrival *a, const cw_sess_ent *e, int64_t now)
{
    st_qitem it;
    switch (e->tag) {
    case CW_SE_HEAD:
        if (!a->by_client) { /* a CONNECT's own expiry applies; a pushed session keeps its */
            s->expiry_ms = e->expiry_ms == UINT64_MAX ? ST_UNLIMITED : (int64_t)e->expiry_ms;
            a->expire_in = e->in_ms;
        }
        s->next_pid = e->next_pid ? e->next_pid : 1;
        break;
    case CW_SE_SUB:
        add_sub(w, s, e);
        break;
    case CW_SE_REL:
        if (st_session_rel_find(s, e->pid) < 0) st_session_rel_add(s, e->pid, now);
        break;
    case CW_SE_INFLIGHT: {
        if (st_session_inflight_find(s, e->pid)) break;
        if (e->state == 1 && !item_of(e, now, &it)) break;
        st_inflight *f = st_session_inflight_add(s);
        if (!f) {
            if (e->state == 1) st_qitem_release(&it);
            break;
        }
        if (e->state == 1) f->it = it;
        f->pid = e->pid;
        f->state = e->state;
        f->sent_at = now;
        seen_add(a, &e->rec);
        break;
    }
    case CW_SE_QUEUE:
        if (!item_of(e, now, &it)) break;
        seen_add(a, &e->rec);
        enqueue(w, s, &it);
        break;
    case CW_SE_WILL:
        if (!a->by_client) {
            st_msg *m = st_msgrec_msg(&e->rec, now);
            if (m) st_session_set_will(s, m, e->delay_s);
            if (m && e->in_ms) s->will_at = now + e->in_ms;
        }
        break;
    default:
        break;
    }
}

/* The image goes into s (new and empty but for what reached it directly since). */
static int install(st_worker *w, st_session *s, arrival *a, st_bytes img)
{
    int64_t now = st_loop_now(w->loop);
    uint32_t off = 0;
    cw_sess_ent e;
    int r;
    if (s->client) st_flow_attach(w, s, -1);
    while ((r = cw_sess_next(img, &off, &e)) == 1)
        install_ent(w, s, a, &e, now);
    a->nimg = s->qlen;
    a->dropped = s->dropped;
    if (s->client) st_flow_attach(w, s, +1);
    return r;
}

/* PENDING: the image's queue, then PENDING's entries, then what came directly that is not a
 * copy of a message either brought. */
static void merge(st_worker *w, st_session *s, arrival *a, st_bytes img)
{
    int64_t now = st_loop_now(w->loop);
    size_t nq = s->qlen, k = 0;
    st_qitem *q = nq ? malloc(nq * sizeof *q) : NULL;
    if (nq && !q) return;
    if (s->client) st_flow_attach(w, s, -1);
    for (size_t i = 0; i < nq; i++)
        st_session_dequeue(s, &q[i]);
    uint64_t gone = s->dropped - a->dropped; /* the oldest went first: the image's */
    size_t head = a->nimg > gone ? (size_t)(a->nimg - gone) : 0;
    for (; k < head && k < nq; k++)
        enqueue(w, s, &q[k]);
    uint32_t off = 0;
    cw_sess_ent e;
    st_qitem it;
    while (cw_sess_next(img, &off, &e) == 1)
        if (e.tag == CW_SE_QUEUE && item_of(&e, now, &it)) {
            seen_add(a, &e.rec);
            enqueue(w, s, &it);
        }
    if (a->nseen) qsort(a->seen, a->nseen, sizeof *a->seen, st_mid_cmp);
    size_t dups = 0;
    for (; k < nq; k++) {
        if (seen_has(a, q[k].msg)) {
            st_qitem_release(&q[k]);
            dups++;
        } else {
            enqueue(w, s, &q[k]);
        }
    }
    free(q);
    if (s->client) st_flow_attach(w, s, +1);
    if (dups)
        LOG_DEBUG(w->log, "client %s: %zu message(s) reached both nodes during the move", s->cid,
                  dups);
}

/* ---- the new node ---------------------------------------------------------------------- */

static void finish(st_moves *mv, st_worker *w, arrival *a, int present)
{
    uint64_t sid = a->sid;
    uint32_t expire_in = a->expire_in;
    st_session *s = st_worker_session_by_sid(w, a->sid);
    if (s && a->nseen) { /* late direct copies of what it brought are dropped (dedup.h) */
        qsort(a->seen, a->nseen, sizeof *a->seen, st_mid_cmp);
        st_dedup_put(w, s->sid, a->seen, a->nseen, st_loop_now(w->loop) + DEDUP_MS);
        a->seen = NULL;
        a->nseen = 0;
    }
    arrival_drop(mv, w, a);
    if (!s || !s->arriving) return;
    st_session_arrived(w, s, present);
    s = expire_in ? st_worker_session_by_sid(w, sid) : NULL; /* (it may have ended) */
    if (s && !s->client && s->expire_at) /* offline since before the move: not a new start */
        s->expire_at = st_loop_now(w->loop) + expire_in;
}

static arrival *arrival_new(st_moves *mv, st_worker *w, st_session *s, uint64_t hlc)
{
    int64_t now = st_loop_now(w->loop);
    arrival *old = arrival_find(mv, (st_bytes){(const uint8_t *)s->cid, s->cid_len});
    if (old) arrival_drop(mv, w, old); /* of a session that ended meanwhile */
    arrival *a = calloc(1, sizeof *a + s->cid_len + 1);
    if (!a) return NULL;
    a->sid = s->sid;
    a->hlc = hlc;
    a->len = s->cid_len;
    memcpy(a->cid, s->cid, s->cid_len);
    a->phase = ARR_STATE;
    a->born = now;
    a->deadline = now + ASK_MS;
    a->next = mv->arr;
    mv->arr = a;
    return a;
}

int st_move_takeover(st_moves *mv, st_data *cl, st_worker *w, st_session *s)
{
    if (!atomic_load(&cl->moves_on)) return 0; /* alone: no other node can hold it */
    arrival *a = arrival_new(mv, w, s, s->reg_hlc);
    if (!a) return 0;
    a->by_client = 1;
    post_ask(cl, w, a);
    return 1;
}

static void send_end(st_data *cl, st_worker *w, arrival *a)
{
    if (a->phase == ARR_ROUTES) atomic_fetch_sub(&w->nheld, 1); /* no longer waits for acks */
    cw_move m = {{(const uint8_t *)a->cid, (uint32_t)a->len}, a->hlc, 0, {NULL, 0}};
    post_frame(cl, a->slot, CW_MOVE_END, &m);
    a->phase = ARR_PENDING;
    a->deadline = st_loop_now(w->loop) + PENDING_MS;
}

static void check_routes(st_data *cl, st_worker *w, arrival *a)
{
    if (atomic_load(&w->b->route_acked) >= a->route_seq) send_end(cl, w, a);
}

static void on_state(st_moves *mv, st_data *cl, st_worker *w, uint16_t slot, const cw_move *m)
{
    arrival *a = arrival_find(mv, m->cid);
    if (!a || a->hlc != m->hlc || a->phase != ARR_STATE) {
        /* nobody waits for it (gave up, or the session ended): let the old node free it */
        if (m->status == CW_MOVE_OK) reply(cl, slot, CW_MOVE_END, m, 0, NULL);
        return;
    }
    st_session *s = st_worker_session_by_sid(w, a->sid);
    int64_t now = st_loop_now(w->loop);
    if (m->status == CW_MOVE_BUSY && slot == ST_MOVE_ASK_SLOT && now - a->born > UNREACHABLE_MS) {
        finish(mv, w, a, 0); /* the node the registry names stays out of reach */
        return;
    }
    if (m->status == CW_MOVE_BUSY) {
        a->phase = ARR_RETRY;
        a->retry_at = st_loop_now(w->loop) + RETRY_MS;
        return;
    }
    if (m->status == CW_MOVE_MOVED && m->image.len == 8 && a->by_client && ++a->hops <= MAX_HOPS) {
        uint64_t to = 0;
        for (int i = 0; i < 8; i++)
            to = to << 8 | m->image.p[i];
        a->hint = to; /* it went on to that node: ask it there */
        post_ask(cl, w, a);
        return;
    }
    if (m->status != CW_MOVE_OK) {
        finish(mv, w, a, 0);
        return;
    }
    a->slot = slot;
    if (!s) { /* it ended here meanwhile (clean start, expiry 0): it ends there too */
        send_end(cl, w, a);
        return;
    }
    if (install(w, s, a, m->image) < 0)
        LOG_WARN(w->log, "client %s: the session image from node slot %u is malformed", s->cid,
                 slot);
    LOG_INFO(w->log, "client %s: its session moves here (%u subscription(s), %u queued)", s->cid,
             s->nsubs, s->qlen);
    a->phase = ARR_ROUTES;
    atomic_fetch_add(&w->nheld, 1); /* wakes us when route acks advance */
    a->route_seq = atomic_load(&w->b->route_posted);
    a->deadline = st_loop_now(w->loop) + ROUTES_MS;
    check_routes(cl, w, a);
}

static void on_pending(st_moves *mv, st_worker *w, const cw_move *m)
{
    arrival *a = arrival_find(mv, m->cid);
    if (!a || a->hlc != m->hlc || a->phase != ARR_PENDING) return;
    st_session *s = st_worker_session_by_sid(w, a->sid);
    if (s && m->status == CW_MOVE_OK) merge(w, s, a, m->image);
    finish(mv, w, a, 1);
}

/* A leaving node offers us a session: we ask for it as a connecting client would. */
static void on_offer(st_moves *mv, st_data *cl, st_worker *w, uint16_t slot, const cw_move *m)
{
    if (atomic_load(&w->b->evacuating)) return; /* we are leaving too */
    if (st_strmap_get(w->by_cid, (const char *)m->cid.p, m->cid.len)) return; /* one here */
    st_session *s = st_worker_session_new(w, (const char *)m->cid.p, m->cid.len);
    if (!s) return;
    s->arriving = 1;
    s->reg_hlc = st_hlc_now(&w->b->hlc, st_wall_ms());
    arrival *a = arrival_new(mv, w, s, s->reg_hlc);
    if (!a) {
        st_worker_session_end(w, s);
        return;
    }
    a->slot = slot;
    a->flags = CW_MOVE_F_EVACUATE;
    cw_move b = {m->cid, a->hlc, CW_MOVE_F_EVACUATE, {NULL, 0}};
    post_frame(cl, slot, CW_MOVE_BEGIN, &b);
}

/* ---- the old node ---------------------------------------------------------------------- */

static void on_begin(st_moves *mv, st_data *cl, st_worker *w, uint16_t slot, uint64_t from,
                     const cw_move *m)
{
    int evac = m->status & CW_MOVE_F_EVACUATE;
    st_session *s = st_strmap_get(w->by_cid, (const char *)m->cid.p, m->cid.len);
    departure *gone = s ? NULL : departure_find(mv, m->cid);
    if (gone && gone->gone) { /* it moved on; the registry may not say so yet */
        st_buf to = {0};
        st_buf_be(&to, gone->to, 8);
        reply(cl, slot, CW_MOVE_STATE, m, CW_MOVE_MOVED, &to);
        st_buf_free(&to);
        return;
    }
    uint8_t status = !s                             ? CW_MOVE_NONE
                     : s->arriving || s->leaving    ? CW_MOVE_BUSY
                     : !evac && s->reg_hlc > m->hlc ? CW_MOVE_STALE
                                                    : CW_MOVE_OK;
    if (status != CW_MOVE_OK) {
        reply(cl, slot, CW_MOVE_STATE, m, status, NULL);
        return;
    }
    departure *d = malloc(sizeof *d + m->cid.len + 1);
    if (!d) {
        reply(cl, slot, CW_MOVE_STATE, m, CW_MOVE_BUSY, NULL);
        return;
    }
    int64_t now = st_loop_now(w->loop);
    if (s->client)
        st_session_take_over(w, s, evac ? MQTT_RC_USE_ANOTHER_SERVER : MQTT_RC_SESSION_TAKEN_OVER);
    LOG_NOTICE(w->log, "client %s %s: its session moves there", s->cid,
               evac ? "goes to another node" : "connected to another node");
    st_buf img = {0};
    size_t lost = image_of(&img, s, evac, now);
    if (lost)
        LOG_WARN(w->log, "client %s: %zu queued message(s) past %u MiB stay behind (dropped)",
                 s->cid, lost, IMAGE_MAX >> 20);
    s->leaving = 1;
    *d = (departure){mv->dep, s->sid, m->hlc, slot, from, 0, now + DEPART_MS, m->cid.len};
    memcpy(d->cid, m->cid.p, m->cid.len);
    d->cid[m->cid.len] = 0;
    mv->dep = d;
    reply(cl, slot, CW_MOVE_STATE, m, img.oom ? CW_MOVE_NONE : CW_MOVE_OK, &img);
    st_buf_free(&img);
}

static void on_end(st_moves *mv, st_data *cl, st_worker *w, uint16_t slot, const cw_move *m)
{
    departure *d = departure_find(mv, m->cid);
    st_session *s = d && d->hlc == m->hlc ? st_worker_session_by_sid(w, d->sid) : NULL;
    st_buf img = {0};
    uint8_t status = CW_MOVE_NONE;
    if (s && s->leaving) {
        size_t lost = put_queue(&img, s, st_loop_now(w->loop));
        if (lost) LOG_WARN(w->log, "client %s: %zu queued message(s) dropped", s->cid, lost);
        s->leaving = 0;
        s->reg_hlc = 0; /* its registration is the new node's to replace */
        st_session_clear_will(s);
        st_worker_session_end(w, s);
        status = img.oom ? CW_MOVE_NONE : CW_MOVE_OK;
    }
    if (d && d->hlc == m->hlc && status == CW_MOVE_OK) {
        d->gone = 1; /* kept a while: where it went */
        d->deadline = st_loop_now(w->loop) + MOVED_MS;
    } else if (d && d->hlc == m->hlc) {
        departure_drop(mv, d);
    }
    reply(cl, slot, CW_MOVE_PENDING, m, status, &img);
    st_buf_free(&img);
}

void st_move_frame(st_moves *mv, st_data *cl, st_worker *w, uint16_t slot, uint64_t from,
                   uint8_t type, st_bytes body)
{
    cw_move m;
    if (cw_decode_move(body, &m) < 0) return;
    switch (type) {
    case CW_MOVE_BEGIN:
        on_begin(mv, cl, w, slot, from, &m);
        break;
    case CW_MOVE_STATE:
        on_state(mv, cl, w, slot, &m);
        break;
    case CW_MOVE_END:
        on_end(mv, cl, w, slot, &m);
        break;
    case CW_MOVE_PENDING:
        on_pending(mv, w, &m);
        break;
    case CW_MOVE_OFFER:
        on_offer(mv, cl, w, slot, &m);
        break;
    default:
        break;
    }
}

void st_move_routes_acked(st_moves *mv, st_data *cl, st_worker *w)
{
    for (arrival *a = mv->arr; a; a = a->next)
        if (a->phase == ARR_ROUTES) check_routes(cl, w, a);
}

static void tick_arrival(st_moves *mv, st_data *cl, st_worker *w, arrival *a, int64_t now)
{
    if (a->phase == ARR_RETRY && now >= a->retry_at) {
        a->phase = ARR_STATE;
        if (a->by_client) {
            post_ask(cl, w, a);
        } else {
            cw_move b = {{(const uint8_t *)a->cid, (uint32_t)a->len}, a->hlc, a->flags, {0}};
            post_frame(cl, a->slot, CW_MOVE_BEGIN, &b);
        }
    }
    if (now < a->deadline) return;
    if (a->phase == ARR_ROUTES) { /* a node that never acks must not hold the client forever */
        LOG_WARN(w->log,
                 "client %s: not every node confirmed its routes within %d s: its old node "
                 "lets go of it anyway",
                 a->cid, ROUTES_MS / 1000);
        send_end(cl, w, a);
        return;
    }
    LOG_WARN(w->log, "client %s: %s", a->cid,
             a->phase == ARR_PENDING ? "the end of its session's move did not come"
                                     : "no node answered for its session: a new session");
    finish(mv, w, a, a->phase == ARR_PENDING);
}

void st_move_tick(st_moves *mv, st_data *cl, st_worker *w, int64_t now)
{
    arrival *next;
    for (arrival *a = mv->arr; a; a = next) {
        next = a->next;
        if (a->phase == ARR_ROUTES) check_routes(cl, w, a); /* in case a wake-up was missed */
        tick_arrival(mv, cl, w, a, now);
    }
    departure *dn;
    for (departure *d = mv->dep; d; d = dn) {
        dn = d->next;
        if (now < d->deadline) continue;
        st_session *s = d->gone ? NULL : st_worker_session_by_sid(w, d->sid);
        if (s && s->leaving) {
            LOG_WARN(w->log, "client %s: the node it moved to never took its session: it ends",
                     s->cid);
            s->leaving = 0;
            st_worker_session_end(w, s);
        }
        departure_drop(mv, d);
    }
}

/* ---- evacuation ------------------------------------------------------------------------- */

void st_move_evacuate(st_moves *mv, const uint16_t *slots, size_t n)
{
    uint16_t *v = n ? malloc(n * sizeof *v) : NULL;
    if (n && !v) return;
    if (n) memcpy(v, slots, n * sizeof *v);
    free(mv->slots);
    mv->slots = v;
    mv->nslots = n;
    mv->next_offer = 0;
}

long st_move_evac_tick(st_moves *mv, st_data *cl, st_worker *w, int64_t now)
{
    if (!mv->nslots) return -1;
    size_t it = 0;
    void *v;
    long left = 0;
    int offer = now >= mv->next_offer;
    while (st_strmap_next(w->by_cid, &it, NULL, NULL, &v)) {
        st_session *s = v;
        left++;
        if (!offer || s->leaving || s->arriving) continue;
        if (s->expiry_ms == 0 && s->client) { /* it ends with its connection: nothing moves */
            st_client_disconnect(s->client, MQTT_RC_USE_ANOTHER_SERVER, 1);
            continue;
        }
        uint16_t to = mv->slots[(st_hash(s->cid, s->cid_len) >> 16) % mv->nslots];
        cw_move m = {{(const uint8_t *)s->cid, s->cid_len}, 0, CW_MOVE_F_EVACUATE, {NULL, 0}};
        post_frame(cl, to, CW_MOVE_OFFER, &m);
    }
    if (offer) mv->next_offer = now + 2000;
    for (arrival *a = mv->arr; a; a = a->next)
        left++;
    /* a session that went counts until the registry names its new node: a client that
     * reconnects elsewhere once we are gone is sent by the registry, not by us */
    for (departure *d = mv->dep; d; d = d->next)
        left += d->gone && cl->env.locate(cl->env.ctx, d->cid, d->len) == cl->env.node_id;
    return left;
}

void st_data_evacuate_start(st_data *c)
{
    uint16_t slots[ST_LINKS_MAX_PEERS];
    size_t n = 0;
    for (int i = 0; i < st_links_npeers(c->env.links); i++) {
        st_peer *p = st_links_peer_at(c->env.links, i);
        if (st_peer_link(p) && !p->left && !p->forgotten) slots[n++] = p->slot;
    }
    if (!n || !c->fwd || !c->broker) {
        atomic_store(&c->evac_state, -1);
        return;
    }
    LOG_NOTICE(c->log, "cluster: handing this node's sessions to %zu other member(s)", n);
    atomic_store(&c->broker->evacuating, 1);
    st_fwd_evacuate(c->fwd, slots, n);
    atomic_store(&c->evac_state, 1);
}

/* `ctl cluster leave`: the sessions go first (st_cl_leave), then the leave goes on. 1 while
 * the evacuation still runs. */
int st_data_evacuating(st_data *c, int64_t now)
{
    if (!c->leave_evac) return 0;
    int st = atomic_load(&c->evac_state);
    long left = st == 1 ? st_fwd_evac_left(c->fwd) : 0;
    if (st == 1 && left != 0 && (c->evac_best < 0 || left < c->evac_best)) {
        c->evac_best = left;
        c->evac_moved_at = now;
    }
    if (st == 1 && left != 0 && now < c->evac_until && now - c->evac_moved_at < EVAC_STALL_MS)
        return 1;
    if (left > 0) LOG_WARN(c->log, "cluster: %ld session(s) could not be handed over", left);
    return 0;
}

/* The leave is over (or was refused): this node serves clients again, alone. */
void st_data_evacuate_end(st_data *c)
{
    if (!c->leave_evac) return;
    c->leave_evac = 0;
    atomic_store(&c->evac_state, 0);
    if (c->broker) atomic_store(&c->broker->evacuating, 0);
    if (c->fwd) st_fwd_evacuate(c->fwd, NULL, 0);
}

long st_data_evacuate(st_data *c)
{
    if (!c || !c->broker || !c->fwd || c->cfg.evacuation_timeout_ms <= 0 ||
        !atomic_load(&c->moves_on))
        return -1; /* alone (or told not to): nothing to hand over */
    st_data_item *it = calloc(1, sizeof *it);
    if (!it) return -1;
    atomic_store(&c->evac_state, 0);
    it->kind = ST_DI_EVACUATE;
    st_data_post(c, it);
    int64_t now = st_now_ms(), deadline = now + c->cfg.evacuation_timeout_ms, moved_at = now;
    long left = -1, best = -1;
    while ((now = st_now_ms()) < deadline && now - moved_at < EVAC_STALL_MS) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        int st = atomic_load(&c->evac_state);
        if (st < 0) return -1;
        if (st != 1 || (left = st_fwd_evac_left(c->fwd)) < 0) continue;
        if (left == 0) return 0;
        if (best < 0 || left < best) { /* progress */
            best = left;
            moved_at = now;
        }
    }
    return left;
}

/* ---- the cluster thread ---------------------------------------------------------------- */

st_link *st_data_link_of(st_data *c, uint64_t node_id)
{
    for (int i = 0; i < st_links_npeers(c->env.links); i++) {
        st_link *l = st_peer_link(st_links_peer_at(c->env.links, i));
        if (l && st_link_peer_id(l) == node_id) return l;
    }
    return NULL;
}

void st_data_move_ask(st_data *c, uint16_t worker, const char *cid, size_t len, uint64_t hlc,
                      uint8_t flags, uint64_t hint)
{
    uint64_t named = atomic_load(&c->moves_on) ? c->env.locate(c->env.ctx, cid, len) : 0;
    uint64_t at = hint ? hint : named;
    st_link *l = at && at != c->env.node_id ? st_data_link_of(c, at) : NULL;
    cw_move m = {{(const uint8_t *)cid, (uint32_t)len}, hlc, flags, {NULL, 0}};
    uint8_t buf[512];
    if (l) {
        size_t n = cw_encode_move(CW_MOVE_BEGIN, &m, buf, sizeof buf);
        if (n <= sizeof buf) st_link_send(l, buf, n);
        if (n <= sizeof buf) return;
    }
    /* named but out of reach: ask again (the row may be about to change, e.g. a node that
     * handed its sessions over and stopped); not named: a new session */
    m.status = at && at != c->env.node_id ? CW_MOVE_BUSY : CW_MOVE_NONE;
    size_t n = cw_encode_move(CW_MOVE_STATE, &m, buf, sizeof buf);
    if (n <= sizeof buf && c->fwd)
        st_fwd_move(c->fwd, worker, ST_MOVE_ASK_SLOT, 0, CW_MOVE_STATE, buf + CW_HDR, n - CW_HDR);
}

/* A MOVE frame on a CONTROL link: to the worker owning its client id. */
static void move_recv(void *owner, st_link *l, const cw_frame *f)
{
    st_data *c = owner;
    cw_move m;
    if (!st_link_peer(l) || !c->broker || !c->fwd || cw_decode_move(f->body, &m) < 0) return;
    uint16_t w = st_worker_for(c->broker, (const char *)m.cid.p, m.cid.len);
    st_fwd_move(c->fwd, w, st_link_peer(l)->slot, st_link_peer_id(l), f->type, f->body.p,
                f->body.len);
}

void st_data_move_send(st_data *c, uint16_t slot, const uint8_t *frame, size_t n)
{
    if (slot == ST_MOVE_ADOPT_SLOT) {
        st_data_adopt_frame(c, frame, n);
        return;
    }
    st_peer *p = st_links_peer_at(c->env.links, slot);
    st_link *l = p ? st_peer_link(p) : NULL;
    if (l) st_link_send(l, frame, n);
}

void st_data_move_register(st_data *c)
{
    static const uint8_t types[] = {CW_MOVE_BEGIN, CW_MOVE_STATE, CW_MOVE_END, CW_MOVE_PENDING,
                                    CW_MOVE_OFFER};
    for (size_t i = 0; i < sizeof types; i++)
        st_links_on_frame(c->env.links, types[i], move_recv, c);
}

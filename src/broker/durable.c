/* durable.c — the workers' writes to the durable store and the acknowledgements that wait
 * for them (durable.h). Recovery is in durable_recover.c. */
#include "broker/durable.h"
#include "broker/client.h"
#include "broker/durable_int.h"
#include "broker/durable_rec.h"
#include "broker/worker.h"
#include "core/clock.h"
#include "core/err.h"
#include "route/trie.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

st_store *st_durable_store(st_durable *d)
{
    return d->store;
}

void st_durable_stats_get(st_durable *d, st_durable_stats *out)
{
    out->sessions = atomic_load(&d->sessions);
    out->messages = atomic_load(&d->messages);
    out->sync_interval_ms = d->sync_interval_ms;
    out->ok = st_store_ok(d->store);
    st_store_stats_get(d->store, &out->store);
}

static st_durable_w *dw(struct st_worker *w)
{
    return w->b->durable ? &w->b->durable->w[w->id] : NULL;
}

/* A write to this worker's batch; a batch that cannot take it is marked and every ack
 * waiting on it fails. */
static void put(st_durable_w *x, int cf, const void *k, size_t kl, const void *v, size_t vl,
                int fresh)
{
    x->writes++;
    if (!x->batch || st_store_put(x->batch, cf, k, kl, v, vl, fresh) < 0) x->lost = 1;
}

static void del(st_durable_w *x, int cf, const void *k, size_t kl)
{
    x->writes++;
    if (!x->batch || st_store_del(x->batch, cf, k, kl) < 0) x->lost = 1;
}

/* s is kept in the store: persistence is on, its expiry is not 0, its client id fits. */
static int kept(struct st_worker *w, const st_session *s)
{
    return w->b->durable && s->expiry_ms != 0 && s->cid_len <= ST_DURABLE_MAX_CID;
}

/* Room for one more held entry: 0, or <0 (then nothing waits). */
static int held_room(st_durable_w *x)
{
    if (x->n < x->cap) return 0;
    size_t cap = x->cap ? x->cap * 2 : 64;
    st_durable_held *v = realloc(x->held, cap * sizeof *v);
    if (!v) return ST_ENOMEM;
    x->held = v;
    x->cap = cap;
    return 0;
}

/* The publisher's ack waits for this worker's next batch (refused: it will be refused). */
static void hold(st_durable_w *x, st_ackwait *aw, int refused)
{
    st_pack *p = aw && aw->c ? st_ackwait_hold(aw) : NULL;
    if (!p) return;
    if (held_room(x) < 0) { /* no room to wait: the ack goes now, as with an interval */
        st_pack_done(p);
        return;
    }
    x->held[x->n++] = (st_durable_held){p, 0, refused};
}

/* wal_sync_interval 0: what s's client is sent from now on (a CONNACK or SUBACK, a QoS 2
 * PUBLISH or PUBREL, a PUBREC or PUBCOMP) waits until the writes just made for s are on
 * disk, so that a crash never takes back what the client was told (docs/durability.md §5). */
static void hold_out(struct st_worker *w, st_durable_w *x, const st_session *s)
{
    st_client *c = s->client;
    uint32_t m = c ? st_durable_mark(w) : 0;
    if (!m) return; /* not held: an interval, or no room to wait (as with an interval) */
    if (!c->hold_dur && x->nout == x->out_cap) {
        size_t cap = x->out_cap ? x->out_cap * 2 : 64;
        st_client **v = realloc(x->out, cap * sizeof *v);
        if (!v) return; /* no room to wait: not held (as with an interval) */
        x->out = v;
        x->out_cap = cap;
    }
    if (!c->hold_dur) x->out[x->nout++] = c;
    c->hold_dur = m;
}

/* Mark m is settled. */
static int mark_done(const st_durable_w *x, uint32_t m)
{
    return (int32_t)(m - x->marks_done) <= 0;
}

/* meta: "lane" ‖ u64 node ‖ u16 lane → u64 boot ‖ u64 last (docs/durability.md §4) */
static void lane_key(uint64_t node, uint16_t lane, uint8_t k[ST_DREC_LANE_KEY])
{
    memcpy(k, "lane", 4);
    st_drec_u64(node, k + 4);
    k[12] = (uint8_t)(lane >> 8);
    k[13] = (uint8_t)lane;
}

void st_durable_lane(struct st_worker *w, uint64_t node, uint16_t lane, uint64_t boot,
                     uint64_t last)
{
    st_durable_w *x = dw(w);
    if (!x) return;
    uint8_t k[ST_DREC_LANE_KEY], v[16];
    lane_key(node, lane, k);
    st_drec_u64(boot, v);
    st_drec_u64(last, v + 8);
    if (!x->batch || st_store_put(x->batch, ST_CF_META, k, sizeof k, v, sizeof v, 0) < 0)
        x->lost = 1; /* (not a write of a session: st_durable_writes does not count it) */
}

uint64_t st_durable_lane_last(const st_durable *d, uint64_t node, uint16_t lane, uint64_t boot)
{
    for (size_t i = 0; d && i < d->nlanes; i++)
        if (d->lanes[i].node == node && d->lanes[i].lane == lane && d->lanes[i].boot == boot)
            return d->lanes[i].last;
    return 0;
}

uint64_t st_durable_writes(struct st_worker *w)
{
    st_durable_w *x = dw(w);
    return x ? x->writes : 0;
}

uint32_t st_durable_mark(struct st_worker *w)
{
    st_durable_w *x = dw(w);
    if (!x || !w->b->durable->hold) return 0;
    if (!x->mark_open) {
        if (held_room(x) < 0) return 0;
        x->held[x->n++] = (st_durable_held){NULL, 0, 0};
        x->marks = x->marks + 1 ? x->marks + 1 : 1;
        x->mark_open = 1;
    }
    return x->marks;
}

int st_durable_mark_done(struct st_worker *w, uint32_t m)
{
    st_durable_w *x = dw(w);
    return !x || mark_done(x, m);
}

int st_durable_out_held(struct st_worker *w, struct st_client *c)
{
    st_durable_w *x = dw(w);
    if (x && c->hold_dur && !mark_done(x, c->hold_dur)) return 1;
    st_durable_out_drop(w, c); /* (st_durable_settle lets go of those whose mark settled) */
    return 0;
}

void st_durable_out_drop(struct st_worker *w, struct st_client *c)
{
    st_durable_w *x = dw(w);
    if (!c->hold_dur) return;
    c->hold_dur = 0;
    for (size_t i = 0; x && i < x->nout; i++)
        if (x->out[i] == c) {
            x->out[i] = x->out[--x->nout];
            return;
        }
}

uint8_t st_durable_tflags(struct st_worker *w, const st_session *s, const char *filter, size_t len,
                          uint8_t flags)
{
    const char *g, *real;
    size_t glen, rlen;
    int shared = st_share_parse(filter, len, &g, &glen, &real, &rlen);
    return (uint8_t)(flags & ~ST_T_DURABLE) | (kept(w, s) && !shared ? ST_T_DURABLE : 0);
}

/* The session's subscriptions carry its durability to the publishers' workers. */
static void retarget(struct st_worker *w, st_session *s)
{
    for (uint32_t i = 0; i < s->nsubs; i++) {
        const st_subrec *r = &s->subs[i];
        st_target t = {.sid = s->sid,
                       .worker = w->id,
                       .qos = r->qos,
                       .flags = st_durable_tflags(w, s, r->filter, r->len, r->flags),
                       .sub_id = r->sub_id};
        st_subs_add(w->b->subs, r->filter, r->len, &t);
    }
}

static void msg_unref(struct st_worker *w, st_durable_w *x, st_msg *m, uint64_t mid)
{
    if (!m || atomic_fetch_sub(&m->dur_refs, 1) != 1) return;
    atomic_fetch_sub(&w->b->durable->messages, 1);
    uint8_t k[8];
    st_drec_u64(mid, k);
    del(x, ST_CF_MSGS, k, 8);
}

static void entry_del(st_durable_w *x, uint64_t sid, uint64_t mid)
{
    uint8_t k[ST_DREC_QKEY];
    st_drec_qkey(sid, mid, k);
    del(x, ST_CF_QUEUE, k, sizeof k);
}

/* An entry goes, and its message with the last entry that needs it. */
static void entry_gone(struct st_worker *w, st_durable_w *x, uint64_t sid, uint64_t mid, st_msg *m)
{
    entry_del(x, sid, mid);
    msg_unref(w, x, m, mid);
}

static void entry_put(st_durable_w *x, uint64_t sid, uint64_t mid, const st_drec_entry *e,
                      int fresh)
{
    uint8_t k[ST_DREC_QKEY], v[ST_DREC_ENTRY];
    st_drec_qkey(sid, mid, k);
    st_drec_entry_put(v, e);
    put(x, ST_CF_QUEUE, k, sizeof k, v, sizeof v, fresh);
}

/* A message stored (once) under id mid; its entries follow. */
static void msg_put(struct st_worker *w, st_durable_w *x, uint64_t mid, const st_msg *m)
{
    uint8_t k[8];
    st_drec_u64(mid, k);
    x->scratch.len = 0;
    st_drec_msg_put(&x->scratch, m, st_loop_now(w->loop), st_wall_ms());
    if (x->scratch.oom) x->lost = 1;
    put(x, ST_CF_MSGS, k, 8, x->scratch.p, x->scratch.len, 1);
    atomic_fetch_add(&w->b->durable->messages, 1);
}

/* A QoS 2 id of the client awaiting PUBREL (client id ‖ NUL ‖ u16 key). */
static void rel_put(st_durable_w *x, const st_session *s, uint16_t pid, int add, int fresh)
{
    uint8_t k[ST_DURABLE_MAX_CID + 3];
    size_t kl = st_drec_rel_key(s->cid, s->cid_len, pid, k);
    if (add)
        put(x, ST_CF_SESSIONS, k, kl, "", 0, fresh);
    else
        del(x, ST_CF_SESSIONS, k, kl);
}

static void item_gone(struct st_worker *w, st_durable_w *x, st_session *s, st_qitem *it)
{
    if (!it->dur_mid) return;
    entry_gone(w, x, s->sid, it->dur_mid, it->msg);
    it->dur_mid = 0;
}

void st_durable_session_gone(struct st_worker *w, st_session *s)
{
    st_durable_w *x = dw(w);
    if (!x || !s->stored) return;
    del(x, ST_CF_SESSIONS, s->cid, s->cid_len);
    for (uint32_t i = 0; i < s->ninf; i++)
        item_gone(w, x, s, &s->inf[i].it);
    for (uint32_t i = 0; i < s->qlen; i++)
        item_gone(w, x, s, &s->q[(s->qhead + i) % s->qcap]);
    for (uint32_t i = 0; i < s->nrel; i++)
        rel_put(x, s, s->rel[i].pid, 0, 0);
    s->stored = 0;
    atomic_fetch_sub(&w->b->durable->sessions, 1);
}

void st_durable_session(struct st_worker *w, st_session *s, int offline)
{
    st_durable_w *x = dw(w);
    if (!x) return;
    int want = kept(w, s);
    if (want != s->stored) retarget(w, s);
    if (!want) {
        st_durable_session_gone(w, s);
        return;
    }
    x->scratch.len = 0;
    int64_t wall = st_wall_ms(), mono = st_loop_now(w->loop), since = 0;
    if (offline) /* since it went offline: what its expiry has used so far, if it counts */
        since = s->expire_at ? wall - (s->expiry_ms - (s->expire_at - mono)) : wall;
    st_drec_session_put(&x->scratch, s, since, mono, wall);
    if (x->scratch.oom) {
        x->lost = 1;
        return;
    }
    put(x, ST_CF_SESSIONS, s->cid, s->cid_len, x->scratch.p, x->scratch.len, 0);
    if (!offline) hold_out(w, x, s); /* its CONNACK, SUBACK or UNSUBACK */
    if (!s->stored) {                /* what it held before it became durable is kept from now on */
        atomic_fetch_add(&w->b->durable->sessions, 1);
        for (uint32_t i = 0; i < s->nrel; i++)
            rel_put(x, s, s->rel[i].pid, 1, 0);
    }
    s->stored = 1;
}

/* An item that came with a moved session: its message (once, however many items share it)
 * and its entry. */
static void adopt_item(struct st_worker *w, st_durable_w *x, st_session *s, st_qitem *it,
                       uint8_t state, uint16_t pid)
{
    if (it->dur_mid || it->qos == 0 || (!it->msg && state != ST_INF_WAIT_COMP)) return;
    uint64_t mid = it->msg ? atomic_load(&it->msg->dur_id) : 0;
    if (!mid) {
        mid = st_hlc_now(&w->b->hlc, st_wall_ms());
        if (it->msg) {
            msg_put(w, x, mid, it->msg);
            atomic_store(&it->msg->dur_id, mid);
        }
    }
    if (it->msg) atomic_fetch_add(&it->msg->dur_refs, 1);
    st_drec_entry e = {it->qos, it->retain, state, pid, it->sub_id};
    entry_put(x, s->sid, mid, &e, 1);
    it->dur_mid = mid;
}

void st_durable_adopt(struct st_worker *w, st_session *s)
{
    st_durable_w *x = dw(w);
    if (!x) return;
    st_durable_session(w, s, s->client == NULL);
    retarget(w, s); /* its subscriptions came with the flags of the node it left */
    if (!s->stored) return;
    for (uint32_t i = 0; i < s->nrel; i++)
        rel_put(x, s, s->rel[i].pid, 1, 0);
    for (uint32_t i = 0; i < s->ninf; i++)
        adopt_item(w, x, s, &s->inf[i].it, s->inf[i].state, s->inf[i].pid);
    for (uint32_t i = 0; i < s->qlen; i++)
        adopt_item(w, x, s, &s->q[(s->qhead + i) % s->qcap], 0, 0);
}

static uint8_t delivery_qos(struct st_worker *w, const st_msg *m, const st_target *t)
{
    return w->cfg->upgrade_qos ? t->qos : (m->qos < t->qos ? m->qos : t->qos);
}

static int durable_target(struct st_worker *w, const st_msg *m, const st_target *t)
{
    return (t->flags & ST_T_DURABLE) && !t->share && !(t->flags & ST_T_RETAINED) &&
           delivery_qos(w, m, t) > 0;
}

void st_durable_retained(struct st_worker *w, const st_msg *msg)
{
    st_durable_w *x = dw(w);
    if (!x || msg->topic_len > ST_DURABLE_MAX_CID) return; /* the store's keys are short */
    if (!st_store_ok(w->b->durable->store)) {
        x->lost = 1; /* not kept: a held ack says so */
    } else if (msg->payload_len == 0) {
        del(x, ST_CF_RETAINED, msg->topic, msg->topic_len);
    } else {
        x->scratch.len = 0;
        st_buf_be(&x->scratch, msg->rv, 8);
        st_drec_msg_put(&x->scratch, msg, st_loop_now(w->loop), st_wall_ms());
        if (x->scratch.oom) x->lost = 1;
        put(x, ST_CF_RETAINED, msg->topic, msg->topic_len, x->scratch.p, x->scratch.len, 0);
    }
}

void st_durable_hold_retained(struct st_worker *w, st_ackwait *aw)
{
    st_durable_w *x = dw(w);
    if (x && (w->b->durable->hold || x->lost)) hold(x, aw, 0);
}

typedef struct pick {
    uint64_t sid;
    size_t i;
} pick;

static int by_sid(const void *a, const void *b)
{
    const pick *x = a, *y = b;
    if (x->sid != y->sid) return x->sid < y->sid ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* A session that two of its filters match gets two deliveries, and one stored entry: the
 * first target keeps ST_T_DURABLE, the others lose it (the key is sid ‖ message id). */
static int one_per_session(st_durable_w *x, st_target *t, size_t *idx, size_t k)
{
    if (k < 2) return 0;
    if (k > x->picks_cap) {
        pick *v = realloc(x->picks, k * sizeof *v);
        if (!v) return ST_ENOMEM;
        x->picks = v;
        x->picks_cap = k;
    }
    for (size_t j = 0; j < k; j++)
        x->picks[j] = (pick){t[idx[j]].sid, idx[j]};
    qsort(x->picks, k, sizeof(pick), by_sid);
    for (size_t j = 1; j < k; j++)
        if (x->picks[j].sid == x->picks[j - 1].sid) t[x->picks[j].i].flags &= ~ST_T_DURABLE;
    return 0;
}

void st_durable_dispatch(struct st_worker *w, st_msg *msg, st_target *t, size_t n, st_ackwait *aw)
{
    st_durable_w *x = dw(w);
    if (!x) return;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!durable_target(w, msg, &t[i])) continue;
        if (k == x->idx_cap) {
            size_t cap = x->idx_cap ? x->idx_cap * 2 : 16;
            size_t *v = realloc(x->idx, cap * sizeof *v);
            if (!v) { /* not stored for this one: a held ack is refused (lost) */
                t[i].flags &= ~ST_T_DURABLE;
                x->lost = 1;
                continue;
            }
            x->idx = v;
            x->idx_cap = cap;
        }
        x->idx[k++] = i;
    }
    if (k == 0) return;
    if (!st_store_ok(w->b->durable->store) || one_per_session(x, t, x->idx, k) < 0) {
        hold(x, aw, 1); /* nothing can be stored: the publisher is told (0x97), in any mode */
        for (size_t j = 0; j < k; j++)
            t[x->idx[j]].flags &= ~ST_T_DURABLE;
        return;
    }
    uint64_t mid = st_hlc_now(&w->b->hlc, st_wall_ms());
    msg_put(w, x, mid, msg);
    int refs = 0;
    for (size_t j = 0; j < k; j++) {
        const st_target *d = &t[x->idx[j]];
        if (!(d->flags & ST_T_DURABLE)) continue;
        st_drec_entry e = {delivery_qos(w, msg, d), (d->flags & ST_SUB_RAP) ? msg->retain : 0, 0, 0,
                           d->sub_id};
        entry_put(x, d->sid, mid, &e, 1);
        refs++;
    }
    atomic_store(&msg->dur_refs, refs);
    atomic_store(&msg->dur_id, mid);
    if (w->b->durable->hold) hold(x, aw, 0);
}

uint64_t st_durable_entry_of(struct st_worker *w, st_session *s, st_msg *msg, const st_target *t,
                             uint8_t qos)
{
    st_durable_w *x = dw(w);
    if (!x || !durable_target(w, msg, t) || qos == 0) return 0;
    uint64_t mid = atomic_load(&msg->dur_id);
    if (mid && !s->stored) { /* it stopped being durable meanwhile */
        entry_gone(w, x, s->sid, mid, msg);
        return 0;
    }
    return mid;
}

void st_durable_orphan(struct st_worker *w, uint64_t sid, st_msg *msg, const st_target *t)
{
    st_durable_w *x = dw(w);
    uint64_t mid = x && durable_target(w, msg, t) ? atomic_load(&msg->dur_id) : 0;
    if (mid) entry_gone(w, x, sid, mid, msg);
}

void st_durable_inflight(struct st_worker *w, st_session *s, const st_inflight *f)
{
    st_durable_w *x = dw(w);
    if (!x || !f->it.dur_mid) return;
    st_drec_entry e = {f->it.qos, f->it.retain, f->state, f->pid, f->it.sub_id};
    entry_put(x, s->sid, f->it.dur_mid, &e, 0);
    /* QoS 2: a PUBLISH that came again after a crash with another packet id, or after its
     * PUBREL, would be a second delivery */
    if (f->it.qos == 2) hold_out(w, x, s);
    if (f->state == ST_INF_WAIT_COMP) msg_unref(w, x, f->it.msg, f->it.dur_mid);
}

void st_durable_done(struct st_worker *w, st_session *s, const st_qitem *it)
{
    st_durable_w *x = dw(w);
    if (x && it->dur_mid) entry_gone(w, x, s->sid, it->dur_mid, it->msg);
}

void st_durable_rel(struct st_worker *w, st_session *s, uint16_t pid, int add)
{
    st_durable_w *x = dw(w);
    if (!x || !s->stored) return;
    rel_put(x, s, pid, add, 1);
    /* its PUBREC (an id forgotten would take a resent PUBLISH for new) or PUBCOMP (an id
     * remembered would take the next PUBLISH that reuses it for a resend) */
    hold_out(w, x, s);
}

/* ---- tickets and held acks ---- */

void st_durable_submit(struct st_worker *w)
{
    st_durable_w *x = dw(w);
    if (!x) return;
    uint64_t t = 0;
    if (x->batch && !st_store_batch_empty(x->batch))
        t = st_store_submit(w->b->durable->store, &x->batch);
    for (size_t i = x->n; i > x->first && x->held[i - 1].ticket == 0; i--) {
        x->held[i - 1].ticket = t ? t : 1;
        x->held[i - 1].refused |= x->lost || !t;
    }
    x->lost = 0;
    x->mark_open = 0;
    if (!x->batch) x->batch = st_store_batch_new();
}

/* The held ack's client learns that its message was not stored: 0x97 in MQTT 5; in 3.x
 * (no reason codes) the connection closes without the ack. */
static void refuse(st_pack *p)
{
    if (!p->c) return;
    if (p->c->version == MQTT_V5)
        p->reason = MQTT_RC_QUOTA_EXCEEDED;
    else
        st_client_close(p->c, 1);
}

void st_durable_settle(struct st_worker *w)
{
    st_durable_w *x = dw(w);
    if (!x || x->first == x->n) return;
    st_store *st = w->b->durable->store;
    uint64_t dur = st_store_durable(st), failed = st_store_failed(st);
    uint32_t marks = x->marks_done;
    while (x->first < x->n) {
        st_durable_held *h = &x->held[x->first];
        if (!h->ticket) break;
        int no = h->refused || (h->ticket > dur && h->ticket <= failed);
        if (!no && h->ticket > dur) break;
        if (!h->pack) { /* a mark: output goes even when the writes failed (§8) */
            x->marks_done = x->marks_done + 1 ? x->marks_done + 1 : 1;
        } else {
            if (no) refuse(h->pack);
            st_pack_done(h->pack);
        }
        x->first++;
    }
    if (x->first == x->n) x->first = x->n = 0;
    if (x->marks_done == marks) return;
    for (size_t i = 0; i < x->nout;) { /* settled: their output goes at the next flush */
        st_client *c = x->out[i];
        if (!mark_done(x, c->hold_dur)) {
            i++;
            continue;
        }
        c->hold_dur = 0;
        x->out[i] = x->out[--x->nout];
        st_client_mark_dirty(c);
    }
}

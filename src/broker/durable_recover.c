/* durable_recover.c — opening the durable store and recovering its sessions at start
 * (durable.h; docs/durability.md §7): sessions with their subscriptions and QoS 2 ids, then
 * their messages, in flight again with their packet ids or queued in arrival order. What is
 * left over (a message no entry needs, an entry whose message never made it, a session
 * that expired while the node was down) is deleted. Runs before the workers start. */
#include "broker/durable.h"
#include "broker/durable_int.h"
#include "broker/durable_rec.h"
#include "broker/settings.h"
#include "broker/worker.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/u64map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct rec {
    st_durable *d;
    st_u64map *by_sid; /* sid → session */
    st_u64map *msgs;   /* message id → st_msg (one reference) */
    st_store_batch *gone;
    int64_t mono, wall, down_at; /* down_at: when the store was last written (wall) */
    uint64_t max_sid, max_mid;
    size_t sessions, expired, entries, dropped, retained;
    int err;
} rec;

static void drop(rec *r, int cf, const void *k, size_t kl)
{
    if (st_store_del(r->gone, cf, k, kl) < 0) r->err = ST_ENOMEM;
}

/* Its will again. Due when it was scheduled; for a session that was connected when the node
 * went down (its connection ended abnormally), after its delay counted from then. */
static int will_of(rec *r, st_session *s, const st_drec_session *ds)
{
    int err;
    st_msg *m = st_drec_msg_get(ds->will, ds->will_len, r->mono, r->wall, &err);
    if (!m) { /* unreadable: the session goes without it */
        if (err == ST_ENOMEM) r->err = ST_ENOMEM;
        return r->err;
    }
    st_session_set_will(s, m, ds->will_delay_s);
    int64_t due = ds->will_at ? r->mono + (ds->will_at - r->wall)
                  : ds->offline_since == 0
                      ? r->mono + (int64_t)ds->will_delay_s * 1000 - (r->wall - r->down_at)
                      : 0;
    if (ds->will_at || ds->offline_since == 0) s->will_at = due > r->mono ? due : r->mono;
    if (!s->will_at && s->expire_at == 0) st_session_clear_will(s); /* it could never go */
    return 0;
}

/* A session's record: a session again, offline, on the worker its client id hashes to. */
static int session_of(rec *r, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    st_broker *b = r->d->b;
    st_drec_session ds;
    if (kl == 0 || kl > ST_DURABLE_MAX_CID || st_drec_session_get(v, vl, &ds) < 0) {
        drop(r, ST_CF_SESSIONS, k, kl);
        return 0;
    }
    int64_t since = ds.offline_since ? ds.offline_since : r->down_at;
    int64_t left = ds.expiry_ms == ST_UNLIMITED ? 1 : ds.expiry_ms - (r->wall - since);
    if (left <= 0 && !ds.will) {
        r->expired++;
        drop(r, ST_CF_SESSIONS, k, kl);
        return 0;
    }
    st_worker *w = &b->w[st_worker_for(b, (const char *)k, kl)];
    if (st_u64map_get(r->by_sid, ds.sid)) { /* two records with one sid: not ours to guess */
        drop(r, ST_CF_SESSIONS, k, kl);
        return 0;
    }
    /* its stored sid (its queue entries name it), indexed as st_worker_session_new does */
    st_session *s = st_session_new(ds.sid, (const char *)k, kl);
    if (!s) return r->err = ST_ENOMEM;
    if (st_strmap_put(w->by_cid, s->cid, s->cid_len, s) < 0) {
        st_session_free(s);
        return r->err = ST_ENOMEM;
    }
    if (st_strmap_put(w->by_sid, (const char *)&s->sid, sizeof s->sid, s) < 0 ||
        st_u64map_put(r->by_sid, s->sid, s) < 0)
        return r->err = ST_ENOMEM;
    atomic_store_explicit(&w->nsessions, (long)st_strmap_count(w->by_cid), memory_order_relaxed);
    s->expiry_ms = ds.expiry_ms;
    /* the registration it had: a registry entry that lost to a newer one elsewhere still
     * ends it, and older ones the Raft log replays do not (cluster.md §10.2) */
    s->reg_hlc = ds.reg_hlc;
    /* expired while the node was down, with a will: it ends at the first tick, and its will
     * is published then */
    s->expire_at = ds.expiry_ms == ST_UNLIMITED ? 0 : r->mono + (left > 0 ? left : 0);
    if (left <= 0) r->expired++;
    s->stored = 1;
    if (ds.will && will_of(r, s, &ds) < 0) return r->err;
    size_t off = 0;
    st_subrec sr;
    while (st_drec_sub_next(&ds, &off, &sr) == 1) {
        int created;
        st_subrec *to = st_session_sub_put(s, sr.filter, sr.len, &created);
        if (!to) return r->err = ST_ENOMEM;
        to->qos = sr.qos;
        to->flags = sr.flags;
        to->sub_id = sr.sub_id;
        st_target t = {.sid = s->sid,
                       .worker = w->id,
                       .qos = sr.qos,
                       .flags = st_durable_tflags(w, s, sr.filter, sr.len, sr.flags),
                       .sub_id = sr.sub_id};
        if (st_subs_add(b->subs, sr.filter, sr.len, &t) < 0) return r->err = ST_ENOMEM;
    }
    r->max_sid = ds.sid > r->max_sid ? ds.sid : r->max_sid;
    r->sessions++;
    return 0;
}

/* A QoS 2 id awaiting PUBREL (client id ‖ NUL ‖ u16). */
static int rel_of(rec *r, const uint8_t *k, size_t kl)
{
    const uint8_t *nul = memchr(k, 0, kl);
    size_t cl = (size_t)(nul - k);
    st_broker *b = r->d->b;
    st_worker *w = &b->w[st_worker_for(b, (const char *)k, cl)];
    st_session *s = kl == cl + 3 ? st_strmap_get(w->by_cid, (const char *)k, cl) : NULL;
    if (!s) {
        drop(r, ST_CF_SESSIONS, k, kl);
        return 0;
    }
    if (st_session_rel_add(s, (uint16_t)(k[cl + 1] << 8 | k[cl + 2]), r->mono) < 0)
        r->err = ST_ENOMEM;
    return 0;
}

static int on_session(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    rec *r = ctx;
    int rc = memchr(k, 0, kl) ? rel_of(r, k, kl) : session_of(r, k, kl, v, vl);
    return rc < 0 ? rc : r->err;
}

static int on_msg(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    rec *r = ctx;
    int err;
    st_msg *m = kl == 8 ? st_drec_msg_get(v, vl, r->mono, r->wall, &err) : NULL;
    uint64_t mid = kl == 8 ? st_drec_get_u64(k) : 0;
    if (!m && kl == 8 && err == ST_ENOMEM) return r->err = ST_ENOMEM;
    if (!m) {
        drop(r, ST_CF_MSGS, k, kl);
        return 0;
    }
    atomic_store(&m->dur_id, mid);
    if (st_u64map_put(r->msgs, mid, m) < 0) {
        st_msg_unref(m);
        return r->err = ST_ENOMEM;
    }
    r->max_mid = mid > r->max_mid ? mid : r->max_mid;
    return 0;
}

/* A queue entry: in flight again (same packet id and state) or queued, in key order, which is
 * arrival order per session. */
static int on_entry(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    rec *r = ctx;
    st_drec_entry e;
    st_session *s = kl == ST_DREC_QKEY ? st_u64map_get(r->by_sid, st_drec_get_u64(k)) : NULL;
    uint64_t mid = kl == ST_DREC_QKEY ? st_drec_get_u64(k + 8) : 0;
    st_msg *m = mid ? st_u64map_get(r->msgs, mid) : NULL;
    if (!s || st_drec_entry_get(v, vl, &e) < 0 || (!m && e.state != ST_INF_WAIT_COMP)) {
        drop(r, ST_CF_QUEUE, k, kl); /* its session or message did not make it */
        r->dropped++;
        return 0;
    }
    st_qitem it = {.msg = e.state == ST_INF_WAIT_COMP ? NULL : st_msg_ref(m),
                   .sub_id = e.sub_id,
                   .qos = e.qos,
                   .retain = e.retain,
                   .dur_mid = mid};
    if (it.msg) atomic_fetch_add(&m->dur_refs, 1);
    if (e.state) {
        st_inflight *f = st_session_inflight_add(s);
        if (!f) return r->err = ST_ENOMEM;
        f->it = it;
        f->pid = e.pid;
        f->state = e.state;
        s->next_pid = (uint16_t)(e.pid == 0xffff ? 1 : e.pid + 1);
    } else {
        st_qitem dropped;
        if (st_session_enqueue(s, &it, ST_UNLIMITED, &dropped) < 0) return r->err = ST_ENOMEM;
    }
    r->entries++;
    return 0;
}

/* A retained message ([u64 version][message]) back into the retained store; an expired or
 * unreadable one goes. */
static int on_retained(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    rec *r = ctx;
    int err = ST_EMALFORMED;
    st_msg *m = vl > 8 ? st_drec_msg_get(v + 8, vl - 8, r->mono, r->wall, &err) : NULL;
    if (!m && err == ST_ENOMEM) return r->err = ST_ENOMEM;
    if (!m || st_msg_expired(m, r->mono) || m->topic_len != kl || memcmp(m->topic, k, kl)) {
        drop(r, ST_CF_RETAINED, k, kl);
        if (m) st_msg_unref(m);
        return 0;
    }
    m->rv = st_drec_get_u64(v);
    if (st_retain_put(r->d->b->retain, m) == 1) r->retained++;
    st_msg_unref(m);
    return 0;
}

/* Messages no entry needs any more go. */
static void sweep_msgs(rec *r)
{
    size_t it = 0;
    uint64_t mid;
    void *v;
    while (st_u64map_next(r->msgs, &it, &mid, &v)) {
        st_msg *m = v;
        if (atomic_load(&m->dur_refs) == 0) {
            uint8_t k[8];
            st_drec_u64(mid, k);
            drop(r, ST_CF_MSGS, k, 8);
        } else {
            atomic_fetch_add(&r->d->messages, 1);
        }
        st_msg_unref(m);
    }
}

/* meta: how far each data lane had come (st_durable_lane); other meta records are the
 * store's own. */
static int on_meta(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    rec *r = ctx;
    st_durable *d = r->d;
    if (kl != ST_DREC_LANE_KEY || memcmp(k, "lane", 4) != 0) return 0;
    if (vl != 16) {
        drop(r, ST_CF_META, k, kl);
        return 0;
    }
    st_durable_lanepos *v2 = realloc(d->lanes, (d->nlanes + 1) * sizeof *v2);
    if (!v2) return ST_ENOMEM;
    d->lanes = v2;
    d->lanes[d->nlanes++] =
        (st_durable_lanepos){st_drec_get_u64(k + 4), st_drec_get_u64(v), st_drec_get_u64(v + 8),
                             (uint16_t)(k[12] << 8 | k[13])};
    return 0;
}

static int recover(st_durable *d, char *err, size_t errlen)
{
    st_broker *b = d->b;
    rec r = {.d = d,
             .by_sid = st_u64map_new(),
             .msgs = st_u64map_new(),
             .gone = st_store_batch_new(),
             .mono = st_now_ms(),
             .wall = st_wall_ms(),
             .down_at = st_store_written_ms(d->store)};
    int rc = r.by_sid && r.msgs && r.gone ? 0 : ST_ENOMEM;
    if (rc == 0) rc = st_store_scan(d->store, ST_CF_SESSIONS, on_session, &r);
    if (rc == 0) rc = st_store_scan(d->store, ST_CF_MSGS, on_msg, &r);
    if (rc == 0) rc = st_store_scan(d->store, ST_CF_QUEUE, on_entry, &r);
    if (rc == 0) rc = st_store_scan(d->store, ST_CF_RETAINED, on_retained, &r);
    if (rc == 0) rc = st_store_scan(d->store, ST_CF_META, on_meta, &r);
    if (r.msgs) sweep_msgs(&r);
    if (rc == 0) rc = r.err;
    if (rc == 0 && !st_store_batch_empty(r.gone)) rc = st_store_write_now(d->store, r.gone);
    if (rc == 0) {
        atomic_store(&d->sessions, (long)r.sessions);
        if (r.max_sid >= atomic_load(&b->next_sid)) atomic_store(&b->next_sid, r.max_sid + 1);
        if (r.max_mid) st_hlc_recv(&b->hlc, r.max_mid, r.wall);
        LOG_NOTICE(b->log,
                   "durable store: %zu sessions recovered with %zu messages in %lld ms (%zu "
                   "retained messages; %zu sessions expired while the node was down, %zu "
                   "entries dropped)",
                   r.sessions, r.entries, (long long)(st_now_ms() - r.mono), r.retained, r.expired,
                   r.dropped);
    } else {
        snprintf(err, errlen, "durable store %s: recovery failed: %s", st_store_dir(d->store),
                 st_strerror(rc));
    }
    st_u64map_free(r.by_sid);
    st_u64map_free(r.msgs);
    st_store_batch_free(r.gone);
    return rc;
}

static void on_settled(void *ctx)
{
    st_worker *w = ctx;
    uint64_t one = 1;
    if (write(w->wake.fd, &one, sizeof one) < 0) { /* counter saturated: fine */
    }
}

st_durable *st_durable_open(struct st_broker *b, const st_store_cfg *cfg, char *err, size_t errlen)
{
    st_durable *d = calloc(1, sizeof *d);
    if (!d || !(d->w = calloc((size_t)b->nw, sizeof *d->w))) {
        free(d);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->b = b;
    d->hold = cfg->sync_interval_ms == 0;
    d->sync_interval_ms = cfg->sync_interval_ms;
    d->store = st_store_open(cfg, b->log, err, errlen);
    int rc = d->store ? 0 : ST_EIO;
    for (int i = 0; rc == 0 && i < b->nw; i++) {
        if (!(d->w[i].batch = st_store_batch_new())) rc = ST_ENOMEM;
        if (rc == 0) rc = st_store_on_settled(d->store, on_settled, &b->w[i]);
    }
    b->durable = d; /* the workers' hooks run during recovery too */
    if (rc == 0) rc = recover(d, err, errlen);
    if (rc < 0) {
        if (rc == ST_ENOMEM) snprintf(err, errlen, "out of memory");
        b->durable = NULL;
        st_durable_close(d);
        return NULL;
    }
    return d;
}

int st_durable_start(st_durable *d)
{
    return st_store_start(d->store);
}

void st_durable_close(st_durable *d)
{
    if (!d) return;
    d->b->durable = NULL; /* what the workers still do (their teardown) is not kept */
    for (int i = 0; d->store && i < d->b->nw; i++) /* the workers' last writes (stopped) */
        if (d->w[i].batch && !st_store_batch_empty(d->w[i].batch))
            st_store_submit(d->store, &d->w[i].batch);
    st_store_close(d->store);
    for (int i = 0; i < d->b->nw; i++) {
        st_durable_w *x = &d->w[i];
        for (size_t k = x->first; k < x->n; k++) /* their clients are gone: nothing is sent */
            if (x->held[k].pack && !x->held[k].pack->c) st_pack_done(x->held[k].pack);
        st_store_batch_free(d->w[i].batch);
        st_buf_free(&d->w[i].scratch);
        free(d->w[i].held);
        free(d->w[i].out);
        free(d->w[i].idx);
        free(d->w[i].picks);
    }
    free(d->lanes);
    free(d->w);
    free(d);
}

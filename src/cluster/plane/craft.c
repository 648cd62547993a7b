/* craft.c — libraft on the cluster thread (craft.h). */
#include "cluster/plane/craft.h"
#include "core/err.h"

#include <errno.h>
#include <stddef.h>
#include <raft.h>
#include <raft/uv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define POLL_MS 20 /* libraft 0.15 has no state callback: poll raft_state() */
#define MAX_DONE 64

typedef struct proposal {
    struct raft_apply req;
    st_craft *c;
    st_craft_done_cb done;
    void *arg;
} proposal;

struct st_craft {
    uv_loop_t *loop;
    const st_log *log;
    st_fsm *fsm;
    pthread_mutex_t *fsm_lock;
    st_craft_cb on_ready, on_lost, closed;
    void *arg, *closed_arg;
    struct raft raft;
    struct raft_io io;
    struct raft_fsm rfsm;
    struct raft_uv_transport transport;
    struct raft_barrier barrier;
    uv_timer_t poll, pump;
    int started, io_ready, last_state, barrier_pending, barrier_done, ready_told, closing;
    int handles_open, timers;
    uv_idle_t tr_handle; /* closed to defer the transport's close callback */
    raft_uv_transport_close_cb tr_close_cb;
    raft_uv_accept_cb accept_cb;
    st_craft_dial_fn dial;
    void *dial_arg;
    struct raft_uv_connect *pending[64]; /* our connects in progress */
    int npending;
    struct raft_change change;
    int changing;
    struct raft_transfer transfer;
    int transferring;
    unsigned election_ms, heartbeat_ms, snapshot_threshold, snapshot_trailing;
    void (*tail_applied)(void *arg, uint64_t index, const void *p, size_t n);
    void (*tail_restored)(void *arg, uint64_t index);
    void *tail_arg;
    /* completions recorded in callbacks, delivered from the pump timer */
    struct {
        st_craft_done_cb done;
        void *arg;
        int status;
    } fin[MAX_DONE];
    int nfin;
};

/* libraft writes transport->data and impl for itself: find our struct around it instead */
static st_craft *of_transport(struct raft_uv_transport *t)
{
    return (st_craft *)(void *)((char *)t - offsetof(st_craft, transport));
}

/* ---- transport: ours (the stock one has no authentication and needs its own port) ---- */

static int tr_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    (void)t, (void)id, (void)address;
    return 0;
}

static int tr_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    of_transport(t)->accept_cb = cb; /* streams arrive through our listener and handshake */
    return 0;
}

static int take_pending(st_craft *c, struct raft_uv_connect *req)
{
    for (int i = 0; i < c->npending; i++)
        if (c->pending[i] == req) {
            c->pending[i] = c->pending[--c->npending];
            return 1;
        }
    return 0;
}

static int tr_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb)
{
    st_craft *c = of_transport(t);
    (void)id;
    LOG_DEBUG(c->log, "cluster: Raft wants a stream to %s (%d pending)", address, c->npending);
    if (c->closing || !c->dial || c->npending == 64) return RAFT_NOCONNECTION;
    req->cb = cb;
    c->pending[c->npending++] = req;
    if (c->dial(c->dial_arg, address, req) < 0) {
        take_pending(c, req);
        return RAFT_NOCONNECTION; /* libraft retries later */
    }
    return 0;
}

static void tr_closed(uv_handle_t *h)
{
    struct raft_uv_transport *t = h->data;
    st_craft *c = of_transport(t);
    c->tr_close_cb(t);
}

/* libraft expects the close callback later, from the loop, never from inside close(). */
static void tr_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    st_craft *c = of_transport(t);
    c->accept_cb = NULL;
    while (c->npending) { /* cancel our connects; their links learn it when they end */
        struct raft_uv_connect *req = c->pending[--c->npending];
        req->cb(req, NULL, RAFT_CANCELED);
    }
    c->tr_close_cb = cb;
    c->tr_handle.data = t;
    uv_close((uv_handle_t *)&c->tr_handle, tr_closed);
}

/* ---- the state machine ------------------------------------------------------------------ */

static int fsm_apply(struct raft_fsm *f, const struct raft_buffer *buf, void **result)
{
    st_craft *c = f->data;
    uint64_t index = raft_last_applied(&c->raft) + 1; /* 0.15: the entry being applied */
    *result = NULL;
    pthread_mutex_lock(c->fsm_lock);
    int rc = st_fsm_apply(c->fsm, index, (st_bytes){buf->base, (uint32_t)buf->len});
    pthread_mutex_unlock(c->fsm_lock);
    if (rc == 0 && c->tail_applied) c->tail_applied(c->tail_arg, index, buf->base, buf->len);
    if (rc < 0) /* never fail libraft: a bug or version skew, said loudly */
        LOG_ERROR(c->log, "cluster: cannot apply Raft entry %llu: %s", (unsigned long long)index,
                  st_strerror(rc));
    return 0;
}

static int fsm_snapshot(struct raft_fsm *f, struct raft_buffer *bufs[], unsigned *n)
{
    st_craft *c = f->data;
    st_buf b = {0};
    pthread_mutex_lock(c->fsm_lock);
    st_fsm_snapshot(c->fsm, &b);
    pthread_mutex_unlock(c->fsm_lock);
    *bufs = raft_malloc(sizeof **bufs);
    void *base = b.oom ? NULL : raft_malloc(b.len);
    if (!*bufs || !base) {
        raft_free(*bufs);
        raft_free(base);
        st_buf_free(&b);
        return RAFT_NOMEM;
    }
    memcpy(base, b.p, b.len);
    (*bufs)[0].base = base;
    (*bufs)[0].len = b.len;
    *n = 1;
    st_buf_free(&b);
    return 0;
}

static int fsm_restore(struct raft_fsm *f, struct raft_buffer *buf)
{
    st_craft *c = f->data;
    pthread_mutex_lock(c->fsm_lock);
    int rc = st_fsm_restore(c->fsm, (st_bytes){buf->base, (uint32_t)buf->len});
    uint64_t applied = st_fsm_applied(c->fsm);
    pthread_mutex_unlock(c->fsm_lock);
    if (rc == 0 && c->tail_restored) c->tail_restored(c->tail_arg, applied);
    if (rc < 0) {
        LOG_ERROR(c->log, "cluster: cannot restore a Raft snapshot: %s", st_strerror(rc));
        return RAFT_MALFORMED;
    }
    LOG_INFO(c->log, "cluster: the control plane's tables restored from a snapshot (index %llu)",
             (unsigned long long)applied);
    raft_free(buf->base);
    return 0;
}

/* ---- pump: everything that follows a callback runs here ------------------------------- */

static void pump_cb(uv_timer_t *t);

static void schedule(st_craft *c)
{
    if (!c->closing && !uv_is_active((uv_handle_t *)&c->pump))
        uv_timer_start(&c->pump, pump_cb, 0, 0);
}

/* The proposals' owners learn how they ended, in order. */
static void drain_fin(st_craft *c)
{
    while (c->nfin) {
        int n = c->nfin;
        c->nfin = 0;
        for (int i = 0; i < n; i++)
            c->fin[i].done(c->fin[i].arg, c->fin[i].status);
    }
}

static void pump_cb(uv_timer_t *t)
{
    st_craft *c = t->data;
    drain_fin(c);
    if (c->barrier_done && !c->ready_told && !c->closing) {
        c->ready_told = 1;
        if (c->on_ready) c->on_ready(c->arg);
    }
}

static void barrier_cb(struct raft_barrier *req, int status)
{
    st_craft *c = req->data;
    c->barrier_pending = 0;
    if (status == 0) c->barrier_done = 1;
    schedule(c);
}

static void poll_cb(uv_timer_t *t)
{
    st_craft *c = t->data;
    int st = raft_state(&c->raft);
    if (st != c->last_state) {
        LOG_INFO(c->log, "cluster: Raft %s (term %llu)",
                 st == RAFT_LEADER     ? "leader"
                 : st == RAFT_FOLLOWER ? "follower"
                                       : "candidate",
                 (unsigned long long)c->raft.current_term);
        if (c->last_state == RAFT_LEADER) {
            c->barrier_done = c->ready_told = 0;
            if (c->on_lost) c->on_lost(c->arg);
        }
        c->last_state = st;
    }
    if (st == RAFT_LEADER && !c->barrier_done && !c->barrier_pending && !c->closing) {
        c->barrier.data = c;
        if (raft_barrier(&c->raft, &c->barrier, barrier_cb) == 0) c->barrier_pending = 1;
    }
}

/* ---- API --------------------------------------------------------------------------------- */

st_craft *st_craft_new(uv_loop_t *loop, const st_log *log, st_fsm *fsm, pthread_mutex_t *fsm_lock,
                       st_craft_cb on_ready, st_craft_cb on_lost, void *arg)
{
    st_craft *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->loop = loop;
    c->log = log;
    c->fsm = fsm;
    c->fsm_lock = fsm_lock;
    c->on_ready = on_ready;
    c->on_lost = on_lost;
    c->arg = arg;
    c->last_state = RAFT_UNAVAILABLE;
    st_craft_set_timing(c, 1000, 100, 1024, 128);
    return c;
}

static int mkdirs(const char *dir)
{
    char p[1024];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) < 0 && errno != EEXIST) return -1;
            *s = '/';
        }
    return mkdir(p, 0755) < 0 && errno != EEXIST ? -1 : 0;
}

int st_craft_start(st_craft *c, const char *dir, uint64_t id, const char *addr, int bootstrap,
                   char *err, size_t errlen)
{
    if (mkdirs(dir) < 0) {
        snprintf(err, errlen, "cluster: cannot create %s: %s", dir, strerror(errno));
        return ST_ESYS;
    }
    c->transport = (struct raft_uv_transport){
        .data = c, .init = tr_init, .listen = tr_listen, .connect = tr_connect, .close = tr_close};
    uv_idle_init(c->loop, &c->tr_handle);
    int rv = raft_uv_init(&c->io, c->loop, dir, &c->transport);
    if (rv != 0) {
        snprintf(err, errlen, "cluster: Raft storage in %s: %s", dir, raft_strerror(rv));
        return ST_ESYS;
    }
    c->io_ready = 1;
    c->rfsm = (struct raft_fsm){.version = 2,
                                .data = c,
                                .apply = fsm_apply,
                                .snapshot = fsm_snapshot,
                                .restore = fsm_restore};
    rv = raft_init(&c->raft, &c->io, &c->rfsm, id, addr);
    if (rv != 0) {
        snprintf(err, errlen, "cluster: Raft: %s", raft_errmsg(&c->raft));
        return ST_ESYS;
    }
    c->raft.data = c;
    c->started = 1;
    if (bootstrap) {
        struct raft_configuration conf;
        raft_configuration_init(&conf);
        rv = raft_configuration_add(&conf, id, addr, RAFT_VOTER);
        if (rv == 0) rv = raft_bootstrap(&c->raft, &conf);
        raft_configuration_close(&conf);
        if (rv != 0 && rv != RAFT_CANTBOOTSTRAP) { /* CANTBOOTSTRAP: state exists already */
            snprintf(err, errlen, "cluster: Raft bootstrap: %s", raft_strerror(rv));
            return ST_ESYS;
        }
    }
    raft_set_election_timeout(&c->raft, c->election_ms);
    raft_set_heartbeat_timeout(&c->raft, c->heartbeat_ms);
    raft_set_snapshot_threshold(&c->raft, c->snapshot_threshold);
    raft_set_snapshot_trailing(&c->raft, c->snapshot_trailing);
    raft_set_pre_vote(&c->raft, true);
    rv = raft_start(&c->raft);
    if (rv != 0) {
        snprintf(err, errlen, "cluster: Raft start: %s", raft_errmsg(&c->raft));
        return ST_ESYS;
    }
    uv_timer_init(c->loop, &c->poll);
    uv_timer_init(c->loop, &c->pump);
    c->poll.data = c->pump.data = c;
    c->timers = 1;
    uv_timer_start(&c->poll, poll_cb, POLL_MS, POLL_MS);
    return 0;
}

int st_craft_ready(const st_craft *c)
{
    return c->started && c->barrier_done && raft_state((struct raft *)&c->raft) == RAFT_LEADER &&
           !c->closing;
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    proposal *p = req->data;
    st_craft *c = p->c;
    (void)result;
    if (c->nfin < MAX_DONE) {
        c->fin[c->nfin].done = p->done;
        c->fin[c->nfin].arg = p->arg;
        c->fin[c->nfin].status = status;
        c->nfin++;
    }
    free(p);
    schedule(c);
}

int st_craft_propose(st_craft *c, uint64_t hlc, const ce_op *ops, uint32_t n, st_craft_done_cb done,
                     void *arg)
{
    if (!st_craft_ready(c) || c->nfin >= MAX_DONE) return ST_EINVAL;
    size_t len = ce_encode_entry(hlc, ops, n, NULL, 0);
    size_t padded = (len + 7) & ~(size_t)7; /* libraft's segments need 8-byte multiples */
    struct raft_buffer buf = {raft_malloc(padded), padded};
    proposal *p = calloc(1, sizeof *p);
    if (!buf.base || !p) {
        raft_free(buf.base);
        free(p);
        return ST_ENOMEM;
    }
    memset(buf.base, 0, padded);
    ce_encode_entry(hlc, ops, n, buf.base, len);
    p->req.data = p;
    p->c = c;
    p->done = done;
    p->arg = arg;
    int rv = raft_apply(&c->raft, &p->req, &buf, 1, apply_cb);
    if (rv != 0) { /* the entry's memory stays ours on failure */
        raft_free(buf.base);
        free(p);
        return ST_EINVAL;
    }
    return 0;
}

const char *st_craft_state(const st_craft *c)
{
    if (!c->started) return "stopped";
    switch (raft_state((struct raft *)&c->raft)) {
    case RAFT_LEADER:
        return "leader";
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    default:
        return "unavailable";
    }
}

uint64_t st_craft_term(const st_craft *c)
{
    return c->started ? c->raft.current_term : 0;
}

void st_craft_set_dialer(st_craft *c, st_craft_dial_fn dial, void *arg)
{
    c->dial = dial;
    c->dial_arg = arg;
}

int st_craft_adopt(st_craft *c, int fd, uint64_t id, const char *address, void *token)
{
    struct raft_uv_connect *req = token;
    if (req ? !take_pending(c, req) : !c->accept_cb) return ST_EINVAL; /* cancelled / closing */
    uv_tcp_t *tcp = raft_malloc(sizeof *tcp);
    if (!tcp || uv_tcp_init(c->loop, tcp) != 0) {
        raft_free(tcp);
        if (req) req->cb(req, NULL, RAFT_NOCONNECTION);
        return ST_ENOMEM;
    }
    if (uv_tcp_open(tcp, fd) != 0) { /* nothing owns fd: the caller closes it */
        uv_close((uv_handle_t *)tcp, (uv_close_cb)raft_free);
        if (req) req->cb(req, NULL, RAFT_NOCONNECTION);
        return ST_ESYS;
    }
    LOG_DEBUG(c->log, "cluster: Raft stream %s %s handed to libraft", req ? "to" : "from", address);
    if (req)
        req->cb(req, (struct uv_stream_s *)tcp, 0);
    else
        c->accept_cb(&c->transport, id, address, (struct uv_stream_s *)tcp);
    return 0;
}

void st_craft_dial_failed(st_craft *c, void *token)
{
    struct raft_uv_connect *req = token;
    LOG_DEBUG(c->log, "cluster: Raft stream dial failed");
    if (take_pending(c, req)) req->cb(req, NULL, RAFT_NOCONNECTION);
}

int st_craft_member_role(const st_craft *c, uint64_t id)
{
    const struct raft_configuration *conf = &c->raft.configuration;
    for (unsigned i = 0; i < conf->n; i++)
        if (conf->servers[i].id == id) return conf->servers[i].role;
    return -1;
}

int st_craft_changing(const st_craft *c)
{
    return c->changing;
}

static void change_cb(struct raft_change *req, int status)
{
    st_craft *c = req->data;
    c->changing = 0;
    if (status != 0)
        LOG_WARN(c->log, "cluster: Raft membership change failed: %s", raft_strerror(status));
    schedule(c);
}

int st_craft_add(st_craft *c, uint64_t id, const char *address)
{
    if (c->changing || !st_craft_ready(c)) return ST_EINVAL;
    c->change.data = c;
    if (raft_add(&c->raft, &c->change, id, address, change_cb) != 0) return ST_EINVAL;
    c->changing = 1;
    return 0;
}

int st_craft_assign_voter(st_craft *c, uint64_t id)
{
    if (c->changing || !st_craft_ready(c)) return ST_EINVAL;
    c->change.data = c;
    if (raft_assign(&c->raft, &c->change, id, RAFT_VOTER, change_cb) != 0) return ST_EINVAL;
    c->changing = 1;
    return 0;
}

int st_craft_remove(st_craft *c, uint64_t id)
{
    if (c->changing || !st_craft_ready(c)) return ST_EINVAL;
    c->change.data = c;
    if (raft_remove(&c->raft, &c->change, id, change_cb) != 0) return ST_EINVAL;
    c->changing = 1;
    return 0;
}

void st_craft_set_timing(st_craft *c, unsigned election_ms, unsigned heartbeat_ms,
                         unsigned snapshot_threshold, unsigned snapshot_trailing)
{
    c->election_ms = election_ms;
    c->heartbeat_ms = heartbeat_ms;
    c->snapshot_threshold = snapshot_threshold;
    c->snapshot_trailing = snapshot_trailing;
}

void st_craft_set_tail(st_craft *c, void (*applied)(void *, uint64_t, const void *, size_t),
                       void (*restored)(void *, uint64_t), void *arg)
{
    c->tail_applied = applied;
    c->tail_restored = restored;
    c->tail_arg = arg;
}

static void transfer_cb(struct raft_transfer *req)
{
    st_craft *c = req->data;
    c->transferring = 0;
    schedule(c);
}

int st_craft_transfer(st_craft *c)
{
    if (c->transferring || c->changing || !st_craft_ready(c)) return ST_EINVAL;
    c->transfer.data = c;
    if (raft_transfer(&c->raft, &c->transfer, 0, transfer_cb) != 0) return ST_EINVAL;
    c->transferring = 1;
    return 0;
}

unsigned st_craft_voters(const st_craft *c)
{
    unsigned n = 0;
    if (!c->started) return 0;
    for (unsigned i = 0; i < c->raft.configuration.n; i++)
        n += c->raft.configuration.servers[i].role == RAFT_VOTER;
    return n;
}

const char *st_craft_leader(const st_craft *c, uint64_t *id)
{
    raft_id lid = 0;
    const char *addr = NULL;
    if (c->started) raft_leader((struct raft *)&c->raft, &lid, &addr);
    if (id) *id = lid;
    return addr;
}

static void handle_closed(uv_handle_t *h)
{
    st_craft *c = h->data;
    if (--c->handles_open == 0 && c->closed) c->closed(c->closed_arg);
}

static void raft_closed(struct raft *r)
{
    st_craft *c = r->data;
    drain_fin(c); /* what the close failed: the pump that would tell them has stopped */
    raft_uv_close(&c->io);
    if (!c->timers) {
        if (c->closed) c->closed(c->closed_arg);
        return;
    }
    c->handles_open = 2;
    uv_close((uv_handle_t *)&c->poll, handle_closed);
    uv_close((uv_handle_t *)&c->pump, handle_closed);
}

void st_craft_close(st_craft *c, st_craft_cb closed, void *arg)
{
    c->closing = 1;
    c->closed = closed;
    c->closed_arg = arg;
    if (!c->started) {
        if (c->io_ready) raft_uv_close(&c->io);
        closed(arg);
        return;
    }
    if (c->timers) {
        uv_timer_stop(&c->poll);
        uv_timer_stop(&c->pump);
    }
    raft_close(&c->raft, raft_closed);
}

void st_craft_free(st_craft *c)
{
    free(c);
}

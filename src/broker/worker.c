/* worker.c — a worker thread: accepts on its own SO_REUSEPORT sockets, runs its
 * connections, delivers what other workers post to its inbox, and runs the coarse timers
 * (keep alive, idle CONNECT, will delay, session expiry, QoS 2 await-rel, 3.x retry).
 * Output is flushed once per loop iteration, and the other workers it posted to are
 * woken once per iteration, whatever the number of messages. */
#include "broker/worker.h"
#include "broker/call.h"
#include "broker/sys.h"
#include "auth/pool.h"
#include "broker/client.h"
#include "broker/dedup.h"
#include "broker/durable.h"
#include "broker/flow.h"
#include "broker/rate.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define TICK_MS 200
#define RBUF_SIZE (64 * 1024)

uint16_t st_worker_for(const st_broker *b, const char *cid, size_t len)
{
    return (uint16_t)(st_hash(cid, len) % (uint64_t)b->nw);
}

void st_worker_post(st_worker *from, uint16_t to, st_imsg *m)
{
    atomic_fetch_add_explicit(&from->b->w[to].depth, 1, memory_order_relaxed);
    st_mpsc_push(&from->b->w[to].inbox, &m->node);
    if (from->id == to) {
        uint64_t one = 1;
        if (write(from->wake.fd, &one, sizeof one) < 0) { /* counter saturated: fine */
        }
    } else {
        from->wake_pending[to] = 1;
    }
}

st_session *st_worker_session_by_sid(st_worker *w, uint64_t sid)
{
    return st_strmap_get(w->by_sid, (const char *)&sid, sizeof sid);
}

/* One target, here or through its worker's inbox. */
static void deliver_one(st_worker *w, st_msg *msg, st_target *t)
{
    if (t->worker == w->id) {
        st_worker_deliver_local(w, msg, t, 1);
        return;
    }
    st_imsg *m = malloc(sizeof *m + sizeof *t);
    if (!m) {
        st_sharekey_unref(t->share);
        return;
    }
    memset(m, 0, sizeof *m);
    m->kind = ST_IM_DELIVER;
    m->msg = st_msg_ref(msg);
    m->n = 1;
    m->t[0] = *t;
    st_worker_post(w, t->worker, m);
}

void st_worker_redispatch(st_worker *w, st_msg *msg, st_sharekey *key, uint64_t gone_sid)
{
    st_target t;
    if (st_subs_pick(w->b->subs, key, msg, gone_sid, &w->rng, &t)) deliver_one(w, msg, &t);
}

void st_worker_deliver_local(st_worker *w, st_msg *msg, st_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        st_session *s = st_worker_session_by_sid(w, t[i].sid);
        if (s) {
            st_session_deliver(w, s, msg, &t[i]);
            continue;
        }
        st_durable_orphan(w, t[i].sid, msg, &t[i]);
        if (t[i].share && msg->qos > 0) st_worker_redispatch(w, msg, t[i].share, t[i].sid);
        st_sharekey_unref(t[i].share);
    }
}

static void post_batches(st_worker *w, st_msg *msg, st_target *t, size_t n)
{
    st_broker *b = w->b;
    for (int k = 0; k < b->nw; k++) {
        if (k == w->id) continue;
        uint32_t cnt = 0;
        for (size_t i = 0; i < n; i++)
            cnt += t[i].worker == k;
        if (!cnt) continue;
        st_imsg *m = malloc(sizeof *m + cnt * sizeof(st_target));
        if (!m) continue;
        m->kind = ST_IM_DELIVER;
        m->msg = st_msg_ref(msg);
        m->n = 0;
        for (size_t i = 0; i < n; i++)
            if (t[i].worker == k) m->t[m->n++] = t[i];
        st_worker_post(w, (uint16_t)k, m);
    }
}

/* Local delivery of what the match put in w->tv (n targets). */
static size_t deliver_targets(st_worker *w, st_msg *msg, size_t n, st_ackwait *aw)
{
    st_tvec *tv = &w->tv;
    if (!n) return 0;
    if (w->b->durable) st_durable_dispatch(w, msg, tv->v, tv->n, aw);
    if (w->b->nw > 1) post_batches(w, msg, tv->v, tv->n);
    /* compact our own targets to the front, then deliver them */
    size_t mine = 0;
    for (size_t i = 0; i < tv->n; i++)
        if (tv->v[i].worker == w->id) tv->v[mine++] = tv->v[i];
    tv->n = 0;
    st_worker_deliver_local(w, msg, tv->v, mine);
    return n;
}

size_t st_worker_dispatch(st_worker *w, st_msg *msg, const char *pub_cid, size_t cid_len,
                          st_ackwait *aw)
{
    const st_broker *b = w->b;
    st_nodeset dest;
    st_nodeset *d = NULL;
    if (b->remote) {
        memset(dest.b, 0, sizeof dest.b);
        dest.npicks = 0;
        d = &dest;
    }
    w->tv.n = 0;
    size_t n = deliver_targets(
        w, msg, st_subs_match(b->subs, msg, pub_cid, cid_len, w->id, &w->rng, &w->tv, d), aw);
    if (d && (!st_nodeset_empty(d) || msg->rv)) { /* a stored retained message goes to all */
        st_ackwait none = {0};
        n += b->remote->forward(b->remote_cx, w, msg, d, aw ? aw : &none);
    }
    return n;
}

size_t st_worker_dispatch_local(st_worker *w, st_msg *msg)
{
    w->tv.n = 0;
    return deliver_targets(w, msg, st_subs_match_plain(w->b->subs, msg, &w->rng, &w->tv), NULL);
}

size_t st_worker_deliver_shared(st_worker *w, st_msg *msg, const char *share, size_t len)
{
    st_target t;
    if (!st_subs_pick_name(w->b->subs, share, len, msg, 0, &w->rng, &t)) return 0;
    deliver_one(w, msg, &t);
    return 1;
}

void st_worker_routes_acked(st_worker *w)
{
    if (!atomic_load(&w->nheld)) return;
    uint64_t acked = atomic_load_explicit(&w->b->route_acked, memory_order_acquire);
    for (st_client *c = w->clients; c; c = c->next)
        if (c->hold_out && c->hold_out <= acked) st_client_mark_dirty(c); /* flush releases */
}

void st_worker_post_now(st_worker *to, st_imsg *m)
{
    atomic_fetch_add_explicit(&to->depth, 1, memory_order_relaxed);
    st_mpsc_push(&to->inbox, &m->node);
    uint64_t one = 1;
    if (write(to->wake.fd, &one, sizeof one) < 0) { /* counter saturated: fine */
    }
}

void st_worker_post_remote(st_broker *b, uint16_t to, void *data)
{
    st_imsg *m = calloc(1, sizeof *m);
    if (!m) return;
    m->kind = ST_IM_REMOTE;
    m->data = data;
    st_worker_post_now(&b->w[to], m);
}

static void redispatch_item(st_worker *w, st_session *s, st_qitem *it)
{
    if (it->msg && it->share && it->qos > 0) st_worker_redispatch(w, it->msg, it->share, s->sid);
    st_qitem_release(it);
}

st_session *st_worker_session_new(st_worker *w, const char *cid, size_t len)
{
    uint64_t sid = atomic_fetch_add(&w->b->next_sid, 1);
    st_session *s = st_session_new(sid, cid, len);
    if (!s) return NULL;
    if (st_strmap_put(w->by_cid, cid, len, s) < 0 ||
        st_strmap_put(w->by_sid, (const char *)&s->sid, sizeof s->sid, s) < 0) {
        st_strmap_del(w->by_cid, cid, len);
        st_session_free(s);
        return NULL;
    }
    atomic_store_explicit(&w->nsessions, (long)st_strmap_count(w->by_cid), memory_order_relaxed);
    return s;
}

void st_worker_session_end(st_worker *w, st_session *s)
{
    st_metric_add(&w->metrics, ST_M_SESSION_TERMINATED, 1);
    if (s->client) st_flow_attach(w, s, -1);
    st_durable_session_gone(w, s);
    if (s->reg_hlc && w->b->remote && w->b->remote->registry)
        w->b->remote->registry(w->b->remote_cx, w, s->cid, s->cid_len, s->reg_hlc, 0);
    for (uint32_t i = 0; i < s->nsubs; i++)
        st_subs_del(w->b->subs, s->subs[i].filter, s->subs[i].len, s->sid);
    if (s->will) {
        st_msg *will = s->will;
        s->will = NULL;
        st_worker_publish(w, will);
        st_msg_unref(will);
    }
    for (uint32_t i = 0; i < s->ninf; i++)
        redispatch_item(w, s, &s->inf[i].it);
    s->ninf = 0;
    st_qitem it;
    while (st_session_dequeue(s, &it))
        redispatch_item(w, s, &it);
    st_strmap_del(w->by_cid, s->cid, s->cid_len);
    st_strmap_del(w->by_sid, (const char *)&s->sid, sizeof s->sid);
    atomic_store_explicit(&w->nsessions, (long)st_strmap_count(w->by_cid), memory_order_relaxed);
    st_dedup_drop(w, s->sid);
    LOG_DEBUG(w->log, "session %s ended", s->cid);
    st_session_free(s);
}

static void log_accept_error(st_worker *w, const char *what)
{
    int64_t now = st_loop_now(w->loop);
    int64_t last = atomic_load_explicit(&w->b->last_refuse_log, memory_order_relaxed);
    if (last && now - last < 10000) return;
    if (!atomic_compare_exchange_strong(&w->b->last_refuse_log, &last, now)) return;
    LOG_WARN(w->log, "refusing new connections: %s", what);
}

/* Close a just-accepted connection with a reset (no TIME_WAIT left behind). */
static void refuse(st_worker *w, int fd, const char *why)
{
    struct linger lg = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
    log_accept_error(w, why);
}

/* Out of file descriptors: level-triggered epoll would report the pending connection
 * again and again. Give back the spare descriptor, accept the connection, close it (the
 * client sees a reset), and take the spare again. If another thread took the freed
 * descriptor first, stop watching the listener until the next tick instead of spinning. */
static void shed_connection(st_worker *w, st_io *lio)
{
    if (w->spare_fd >= 0) close(w->spare_fd);
    int victim = accept4(lio->fd, NULL, NULL, SOCK_CLOEXEC);
    if (victim >= 0)
        refuse(w, victim, "open file limit reached");
    else
        log_accept_error(w, "open file limit reached");
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (victim < 0 && (errno == EMFILE || errno == ENFILE) && st_loop_mod(w->loop, lio, 0) == 0)
        w->accept_paused = 1;
}

/* The listeners held at start (st_broker_hold_accept) are watched once the hold ends. */
static void ungate(st_worker *w)
{
    if (!w->gated || atomic_load(&w->b->accept_held)) return;
    w->gated = 0;
    for (int i = 0; i < w->nl; i++)
        if (w->lio[i].fd >= 0) st_loop_mod(w->loop, &w->lio[i], EPOLLIN);
}

/* Tick: watch paused listeners again, and get the spare descriptor back if it was lost. */
static void resume_accept(st_worker *w)
{
    if (w->spare_fd < 0) w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    ungate(w);
    if (!w->accept_paused || w->gated) return;
    w->accept_paused = 0;
    for (int i = 0; i < w->nl; i++)
        if (w->lio[i].fd >= 0) st_loop_mod(w->loop, &w->lio[i], EPOLLIN);
}

/* access_rules: the first rule that covers the address decides; none: let in. */
static int allowed(const st_listener_conf *l, const struct sockaddr *sa)
{
    for (int i = 0; i < l->nrules; i++)
        if (st_cidr_match(&l->rules[i].range, sa)) return l->rules[i].allow;
    return 1;
}

/* max_conn_rate: this worker's share of the listener's rate (at least one a period). */
static int64_t rate_share(const st_worker *w, const st_listener_conf *l)
{
    int64_t n = l->rate_n / w->b->nw;
    return n > 0 ? n : 1;
}

/* May one more connection be taken (a token left, taken once it is accepted)? None left:
 * stop watching the listener until the bucket refills (the tick looks again). */
static int rate_ok(st_worker *w, st_io *io, uint8_t li)
{
    const st_listener_conf *l = &w->cfg->listeners[li];
    if (!l->rate_n) return 1;
    int64_t now = st_loop_now(w->loop), share = rate_share(w, l);
    if (now - w->rate[li].refilled_at >= l->rate_ms) {
        w->rate[li].tokens = share;
        w->rate[li].refilled_at = now;
    }
    if (w->rate[li].tokens > 0) return 1;
    if (st_loop_mod(w->loop, io, 0) == 0) w->rate[li].paused = 1;
    log_accept_error(w, "max_conn_rate reached: accepting again when the rate allows");
    return 0;
}

/* Tick: listeners paused by max_conn_rate whose period has passed are watched again. */
static void rate_resume(st_worker *w)
{
    int64_t now = st_loop_now(w->loop);
    for (int li = 0; li < w->nl; li++)
        if (w->rate[li].paused && w->lio[li].fd >= 0 &&
            now - w->rate[li].refilled_at >= w->cfg->listeners[li].rate_ms &&
            st_loop_mod(w->loop, &w->lio[li], EPOLLIN) == 0)
            w->rate[li].paused = 0;
}

static void on_accept(st_io *io, uint32_t events)
{
    st_worker *w = io->ud;
    uint8_t li = (uint8_t)(io - w->lio);
    for (int i = 0; i < 64 && !w->stopping && rate_ok(w, io, li); i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int fd = accept4(io->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) shed_connection(w, io);
            return;
        }
        w->rate[li].tokens--; /* max_conn_rate (unused when there is none) */
        if (!allowed(&w->cfg->listeners[li], (const struct sockaddr *)&ss)) {
            refuse(w, fd, "denied by the listener's access_rules");
            continue;
        }
        if (fd >= w->fd_ceiling) { /* keep a few descriptors for logs and files */
            refuse(w, fd, "open file limit reached");
            continue;
        }
        long cur = atomic_fetch_add(&w->b->conns[li], 1) + 1;
        if (cur > w->cfg->listeners[li].max_connections) {
            atomic_fetch_sub(&w->b->conns[li], 1);
            refuse(w, fd, "listener max_connections reached");
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (!st_client_new(w, fd, li)) {
            atomic_fetch_sub(&w->b->conns[li], 1);
            close(fd);
        }
    }
}

static void stop_worker(st_worker *w)
{
    w->stopping = 1;
    for (int i = 0; i < w->nl; i++) {
        st_loop_del(w->loop, &w->lio[i]);
        close(w->lio[i].fd);
        w->lio[i].fd = -1;
    }
    while (w->clients) {
        st_client *c = w->clients;
        if (c->state == ST_CS_CONNECTED)
            st_client_disconnect(c, MQTT_RC_SERVER_SHUTTING_DOWN, 1);
        else
            st_client_close(c, 0);
    }
    st_loop_stop(w->loop);
}

static void handle_imsg(st_worker *w, st_imsg *m)
{
    atomic_fetch_sub_explicit(&w->depth, 1, memory_order_relaxed);
    switch (m->kind) {
    case ST_IM_DELIVER:
        st_worker_deliver_local(w, m->msg, m->t, m->n);
        st_msg_unref(m->msg);
        break;
    case ST_IM_HANDOFF:
        if (w->stopping)
            st_client_close(m->client, 0);
        else
            st_client_adopt(w, m->client);
        break;
    case ST_IM_STOP:
        stop_worker(w);
        break;
    case ST_IM_REMOTE:
        w->b->remote->imsg(w->b->remote_cx, w, m);
        return; /* the callee owns m */
    case ST_IM_AUTH:
        if (((st_auth_job *)m->data)->work)
            st_authq_done(w, m->data);
        else
            st_connect_auth_done(w, m->data);
        break;
    case ST_IM_CALL:
        if (st_call_run(w, m->data)) { /* a slice done: the rest after other events */
            st_mpsc_push(&w->later, &m->node);
            w->nlater++;
            return;
        }
        break;
    }
    free(m);
}

static void on_wake(st_io *io, uint32_t events)
{
    st_worker *w = io->ud;
    uint64_t v;
    if (read(io->fd, &v, sizeof v) < 0) { /* EAGAIN: nothing pending */
    }
    st_mpsc_node *n;
    int budget = 4096;
    ungate(w);
    for (long k = w->nlater; k > 0 && (n = st_mpsc_pop(&w->later)); k--) { /* sliced calls */
        w->nlater--;
        handle_imsg(w, (st_imsg *)n); /* may put it back: the next round runs it */
    }
    while (budget-- > 0 && (n = st_mpsc_pop(&w->inbox)))
        handle_imsg(w, (st_imsg *)n);
    if (budget <= 0 || w->nlater) { /* more left: come back after other events */
        uint64_t one = 1;
        if (write(io->fd, &one, sizeof one) < 0) {
        }
    }
}

/* Write queued output and wake the workers we posted to. Closed connections on the
 * dirty list move to the dead list (freed in before_sleep, when no event can refer to
 * them any more). */
static void flush_out(void *ud)
{
    st_worker *w = ud;
    st_client *c;
    st_durable_submit(w); /* before the workers we post to can act on what it stores */
    while ((c = w->dirty)) {
        w->dirty = c->dnext;
        if (c->state == ST_CS_CLOSED) {
            c->dnext = w->dead;
            w->dead = c;
            c->dirty = 2;
            continue;
        }
        c->dirty = 0;
        st_client_flush(c);
    }
    for (int k = 0; k < w->b->nw; k++) {
        if (!w->wake_pending[k]) continue;
        w->wake_pending[k] = 0;
        uint64_t one = 1;
        if (write(w->b->w[k].wake.fd, &one, sizeof one) < 0) {
        }
    }
}

void st_worker_post_job(st_worker *to, st_auth_job *j)
{
    st_imsg *m = calloc(1, sizeof *m);
    if (!m) {
        st_auth_job_unref(j);
        return;
    }
    m->kind = ST_IM_AUTH;
    m->data = j;
    st_worker_post_now(to, m);
}

static void before_sleep(void *ud)
{
    st_worker *w = ud;
    st_client *c;
    st_flow_update(w);
    st_durable_settle(w); /* first: the data lanes' ACKs may wait for what it settles */
    if (w->b->remote) w->b->remote->before_sleep(w->b->remote_cx, w);
    flush_out(w);
    while ((c = w->dead)) {
        w->dead = c->dnext;
        st_client_free(c);
    }
}

static void tick_client(st_worker *w, st_client *c, int64_t now)
{
    const st_settings *cfg = w->cfg;
    if (c->state == ST_CS_NEW) {
        if (c->proxy_wait && now - c->created > cfg->listeners[c->listener].proxy_timeout_ms) {
            LOG_NOTICE(w->log, "connection %s sent no PROXY protocol header in time, closing",
                       c->peer);
            st_client_close(c, 0);
        } else if (c->tls_hs &&
                   now - c->created > cfg->listeners[c->listener].handshake_timeout_ms) {
            LOG_NOTICE(w->log, "connection %s did not finish its TLS handshake in time, closing",
                       c->peer);
            st_client_close(c, 0);
        } else if (now - c->created > cfg->idle_timeout_ms) {
            LOG_DEBUG(w->log, "connection %s sent no CONNECT in time, closing", c->peer);
            st_client_close(c, 0);
        }
        return;
    }
    if (c->state == ST_CS_ARRIVING || c->state == ST_CS_AUTHENTICATING) return; /* not read */
    if (c->rate_held && st_rate_tick(c, now)) return;                           /* closed */
    /* a paused or held client is not silent: we stopped reading it */
    if (c->keepalive_s && !st_client_held(c) &&
        now - c->last_rx > (int64_t)(c->keepalive_s * cfg->keepalive_multiplier * 1000)) {
        LOG_INFO(w->log, "client %s: keep alive timeout", c->sess ? c->sess->cid : c->peer);
        st_client_disconnect(c, MQTT_RC_KEEPALIVE_TIMEOUT, 1);
        return;
    }
    st_session *s = c->sess;
    if (!s) return;
    for (uint32_t i = 0; i < s->nrel;) { /* QoS 2 ids awaiting PUBREL too long */
        if (now - s->rel[i].at > cfg->await_rel_timeout_ms) {
            st_durable_rel(w, s, s->rel[i].pid, 0);
            st_session_rel_del(s, s->rel[i].pid);
        } else
            i++;
    }
    if (c->version == MQTT_V5 || cfg->retry_interval_ms == ST_UNLIMITED) return;
    int resend = 0;
    for (uint32_t i = 0; i < s->ninf; i++)
        if (now - s->inf[i].sent_at >= cfg->retry_interval_ms) resend = 1;
    if (resend) st_session_resume(w, s);
}

static void tick_sessions(st_worker *w, int64_t now)
{
    size_t it = 0;
    const char *k;
    size_t kl;
    void *v;
    while (st_strmap_next(w->by_sid, &it, &k, &kl, &v)) {
        st_session *s = v;
        if (s->client || s->arriving || s->leaving) continue; /* moves time out in the cluster */
        if (s->will && s->will_at && now >= s->will_at) {
            st_msg *will = s->will;
            s->will = NULL;
            s->will_at = 0;
            st_worker_publish(w, will);
            st_msg_unref(will);
            if (!(s->expire_at && now >= s->expire_at)) st_durable_session(w, s, 1);
        }
        if (s->expire_at && now >= s->expire_at) st_worker_session_end(w, s);
    }
}

static void tick(void *ud)
{
    st_worker *w = ud;
    int64_t now = st_loop_now(w->loop);
    st_client *next;
    for (st_client *c = w->clients; c; c = next) {
        next = c->next;
        tick_client(w, c, now);
    }
    tick_sessions(w, now);
    st_dedup_tick(w, now);
    st_flow_tick(w, now);
    st_linger_tick(&w->linger, now);
    if (w->b->remote) w->b->remote->tick(w->b->remote_cx, w, now);
    st_worker_routes_acked(w); /* in case a wake-up was missed */
    st_durable_settle(w);
    if (w->id == 0) st_sys_tick(w, now);
    resume_accept(w);
    rate_resume(w);
}

int st_worker_init(st_worker *w, st_broker *b, uint16_t id)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->b = b;
    w->cfg = &b->cfg;
    w->log = b->log;
    w->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)id << 32) ^ (uint64_t)st_wall_ms();
    st_mpsc_init(&w->inbox);
    st_mpsc_init(&w->later);
    w->loop = st_loop_new();
    w->by_cid = st_strmap_new();
    w->by_sid = st_strmap_new();
    w->rbuf_cap = RBUF_SIZE;
    w->rbuf = malloc(w->rbuf_cap);
    w->wake_pending = calloc((size_t)b->nw, 1);
    w->wake.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct rlimit rl;
    w->fd_ceiling = INT_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)INT_MAX)
        w->fd_ceiling = (int)rl.rlim_cur - ST_FD_RESERVE;
    w->wake.cb = on_wake;
    w->wake.ud = w;
    if (!w->loop || !w->by_cid || !w->by_sid || !w->rbuf || !w->wake_pending || w->wake.fd < 0)
        return ST_ENOMEM;
    if (st_loop_add(w->loop, &w->wake, EPOLLIN) < 0) return ST_ESYS;
    st_loop_set_hooks(w->loop, before_sleep, tick, TICK_MS, w);
    st_linger_init(&w->linger, w->loop);
    st_loop_set_flush(w->loop, flush_out);
    return 0;
}

int st_worker_listen(st_worker *w, int li, int fd)
{
    w->lio[li].fd = fd;
    w->lio[li].cb = on_accept;
    w->lio[li].ud = w;
    if (li >= w->nl) w->nl = li + 1;
    if (atomic_load(&w->b->accept_held)) w->gated = 1;
    return st_loop_add(w->loop, &w->lio[li], w->gated ? 0 : EPOLLIN);
}

void st_worker_destroy(st_worker *w)
{
    st_mpsc_node *n;
    while ((n = st_mpsc_pop(&w->later))) { /* sliced calls not finished */
        st_call_drop(w, ((st_imsg *)n)->data);
        free(n);
    }
    while ((n = st_mpsc_pop(&w->inbox))) {
        st_imsg *m = (st_imsg *)n;
        if (m->kind == ST_IM_DELIVER) {
            for (uint32_t i = 0; i < m->n; i++)
                st_sharekey_unref(m->t[i].share);
            st_msg_unref(m->msg);
        } else if (m->kind == ST_IM_HANDOFF) {
            close(m->client->io.fd);
            st_client_free(m->client);
        } else if (m->kind == ST_IM_REMOTE) {
            w->b->remote->imsg(w->b->remote_cx, NULL, m); /* NULL worker: discard */
            continue;
        } else if (m->kind == ST_IM_AUTH) {
            if (((st_auth_job *)m->data)->work)
                st_authq_done(NULL, m->data);
            else
                st_connect_auth_done(NULL, m->data);
        } else if (m->kind == ST_IM_CALL) {
            st_call_drop(w, m->data); /* not run: its caller sees no answer from w */
        }
        free(m);
    }
    if (w->by_sid) {
        size_t it = 0;
        const char *k;
        size_t kl;
        void *v;
        while (st_strmap_next(w->by_sid, &it, &k, &kl, &v))
            st_session_free(v);
    }
    before_sleep(w);
    st_linger_free(&w->linger);
    st_dedup_free(w);
    st_strmap_free(w->by_cid);
    st_strmap_free(w->by_sid);
    st_tvec_free(&w->tv);
    if (w->wake.fd >= 0) close(w->wake.fd);
    if (w->spare_fd >= 0) close(w->spare_fd);
    st_loop_free(w->loop);
    free(w->rbuf);
    free(w->wake_pending);
}

void *st_worker_main(void *arg)
{
    st_worker *w = arg;
    st_loop_run(w->loop);
    return NULL;
}

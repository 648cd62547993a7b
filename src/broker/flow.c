/* flow.c — pausing publishers while the node is overloaded or congested, and resuming
 * them on the event that clears the condition (flow.h; the model: docs/architecture.md,
 * "Flow control"). */
#include "broker/flow.h"
#include "core/log.h"
#include "broker/settings.h"

#include <sys/epoll.h>

static int progressing(const st_client *c, int64_t now)
{
    return now - c->last_progress <= ST_STUCK_MS;
}

static int64_t mqueue_max(const st_worker *w)
{
    int64_t max = w->cfg->max_mqueue_len;
    return max == ST_UNLIMITED || max <= 0 ? 0 : max;
}

static void heat(st_worker *w, st_session *s)
{
    s->hot = 1;
    atomic_fetch_add_explicit(&w->b->hot, 1, memory_order_relaxed);
}

/* A condition cleared here: the other workers may have paused publishers and be asleep
 * with nothing else to wake them (their own queues empty, their inboxes drained). */
static void wake_others(st_worker *w)
{
    for (int k = 0; k < w->b->nw; k++)
        if (k != w->id) w->wake_pending[k] = 1;
}

/* The last hot session of the node cools: every worker re-evaluates in its before_sleep
 * (this one's comes at the end of this iteration). */
static void cool(st_worker *w, st_session *s)
{
    if (!s->hot) return;
    s->hot = 0;
    if (atomic_fetch_sub_explicit(&w->b->hot, 1, memory_order_relaxed) == 1) wake_others(w);
}

int64_t st_flow_queue_limit(const st_worker *w, const st_session *s, int *reason)
{
    int64_t max = mqueue_max(w);
    if (!s->client) {
        *reason = ST_DROP_QUEUE_OFFLINE;
        return max;
    }
    if (!progressing(s->client, st_loop_now(w->loop))) {
        *reason = ST_DROP_QUEUE_STUCK;
        return max;
    }
    *reason = ST_DROP_QUEUE_CEILING;
    if (!max) return 0;
    return max * ST_QUEUE_CEILING_X > ST_QUEUE_CEILING_MIN ? max * ST_QUEUE_CEILING_X
                                                           : ST_QUEUE_CEILING_MIN;
}

void st_flow_attach(st_worker *w, st_session *s, int sign)
{
    w->lag += sign * (long)s->qlen;
    if (sign < 0) cool(w, s);
}

void st_flow_queued(st_worker *w, st_session *s)
{
    int64_t max = mqueue_max(w);
    if (!progressing(s->client, st_loop_now(w->loop))) return; /* stuck: see st_flow_tick */
    w->lag++;
    if (max && !s->hot && (int64_t)s->qlen * 2 >= max) heat(w, s);
}

void st_flow_dequeued(st_worker *w, st_session *s)
{
    if (!progressing(s->client, st_loop_now(w->loop))) return;
    w->lag--;
    if (s->hot && (int64_t)s->qlen * 4 <= mqueue_max(w)) cool(w, s);
}

void st_flow_tick(st_worker *w, int64_t now)
{
    long lag = 0;
    for (st_client *c = w->clients; c; c = c->next) {
        st_session *s = c->sess;
        if (c->state != ST_CS_CONNECTED || !s || s->client != c) continue;
        if (!progressing(c, now)) {
            cool(w, s); /* a stuck consumer neither lags nor heats: it drops */
            continue;
        }
        lag += (long)s->qlen;
        if (s->hot && (int64_t)s->qlen * 4 <= mqueue_max(w)) cool(w, s);
    }
    w->lag = lag;
}

/* Who may be paused: a connection that has published and has nothing in flight or queued
 * to it. Consumers are always read, whatever the condition: their acks are what drains
 * the queues, and reading them posts nothing to the inboxes. */
static int may_pause(const st_client *c)
{
    const st_session *s = c->sess;
    if (c->state != ST_CS_CONNECTED || !c->publisher) return 0;
    return !(s && (s->ninf || s->qlen));
}

/* Resume paused connections (all, or only those that are consumers now) and parse what
 * st_flow_hold left in their input buffers. That may block the node again at once,
 * holding the connections further down the list after one packet: each one whose input
 * was parsed moves to the end of the list, so the next resume starts with those that got
 * least. */
static void resume(st_worker *w, int all)
{
    int64_t now = st_loop_now(w->loop);
    st_client *next, *last = w->clients_tail;
    for (st_client *c = w->clients; c && w->npaused; c = next) {
        next = c == last ? NULL : c->next;
        if (!c->paused || (!all && may_pause(c))) continue;
        c->paused = 0;
        w->npaused--;
        c->last_rx = now;                /* it was not silent: we did not read it */
        if (st_client_held(c)) continue; /* its rates or its answer read it again */
        st_loop_mod(w->loop, &c->io, EPOLLIN | (c->io.events & EPOLLOUT));
        if (!c->ilen) continue;
        if (st_client_input(c, NULL, 0) == 0) st_client_to_tail(c);
    }
}

/* Hysteresis on a node-wide flag: every worker sees the same state. Returns the new state;
 * *cleared is set when this call turned it off. */
static int hysteresis(atomic_int *flag, long value, long high, long low, int *cleared)
{
    int on = atomic_load_explicit(flag, memory_order_relaxed);
    int now = on ? value >= low : value > high;
    if (now != on && atomic_compare_exchange_strong(flag, &on, now) && !now) *cleared = 1;
    return now;
}

void st_flow_update(st_worker *w)
{
    st_broker *b = w->b;
    atomic_store_explicit(&w->lag_pub, w->lag > 0 ? w->lag : 0, memory_order_relaxed);
    long depth = 0, lag = 0;
    for (int k = 0; k < b->nw; k++) {
        long d = atomic_load_explicit(&b->w[k].depth, memory_order_relaxed);
        depth = d > depth ? d : depth;
        lag += atomic_load_explicit(&b->w[k].lag_pub, memory_order_relaxed);
    }
    int cleared = 0;
    int over = hysteresis(&b->overloaded, depth, ST_INBOX_HIGH, ST_INBOX_LOW, &cleared);
    int lagging = hysteresis(&b->congested, lag, ST_LAG_HIGH, ST_LAG_LOW, &cleared);
    int congested = lagging || atomic_load_explicit(&b->hot, memory_order_relaxed) > 0;
    if (over && !w->overloaded) LOG_DEBUG(w->log, "worker %u: inbox backpressure on", w->id);
    if (congested && !w->congested)
        LOG_DEBUG(w->log, "worker %u: %ld messages queued to subscribers, pausing publishers",
                  w->id, lag);
    w->overloaded = over;
    w->congested = congested;
    if (cleared) wake_others(w);
    if (!w->npaused) {
        w->unpause = 0;
    } else if (!over && !congested && !w->remote_blocked) {
        resume(w, 1);
        w->unpause = 0;
    } else if (w->unpause) {
        w->unpause = 0;
        resume(w, 0);
    }
}

static void pause(st_worker *w, st_client *c)
{
    c->paused = 1; /* leave the bytes in the socket */
    w->npaused++;
    st_loop_mod(w->loop, &c->io, c->io.events & EPOLLOUT);
}

int st_flow_pause(st_worker *w, st_client *c)
{
    if (!w->overloaded && !w->congested && !w->remote_blocked) return 0;
    if (c->paused || !may_pause(c)) return 0;
    pause(w, c);
    return 1;
}

/* The state as this worker sees it right now, between two before_sleep updates: its own
 * counters and the node's hot sessions are current, the other workers' lag as last
 * published, the inboxes' depth live. */
int st_flow_blocked(st_worker *w)
{
    if (w->overloaded || w->congested || w->lag > ST_LAG_HIGH) return 1;
    if (atomic_load_explicit(&w->b->hot, memory_order_relaxed) > 0) return 1;
    /* Other workers write their depth on every post: reading every one of those cache
     * lines for every PUBLISH costs more than it buys; every 64th is close enough. */
    if (++w->depth_checks & 63) return 0;
    for (int k = 0; k < w->b->nw; k++)
        if (atomic_load_explicit(&w->b->w[k].depth, memory_order_relaxed) > ST_INBOX_HIGH) return 1;
    return 0;
}

int st_flow_hold(st_worker *w, st_client *c)
{
    if ((!w->remote_blocked && !st_flow_blocked(w)) || c->paused || !may_pause(c)) return 0;
    pause(w, c);
    return 1;
}

void st_flow_dropped(st_worker *w, st_session *s, int reason)
{
    uint64_t n = atomic_fetch_add_explicit(&w->dropped[reason], 1, memory_order_relaxed) + 1;
    if (n == 1 || !(n & 1023))
        LOG_WARN(w->log, "worker %u: %llu deliveries dropped (%s), the last to client %.*s", w->id,
                 (unsigned long long)n, st_flow_drop_name(reason), (int)s->cid_len, s->cid);
}

const char *st_flow_drop_name(int reason)
{
    static const char *const names[ST_DROP_REASONS] = {
        "queue full, client offline", "queue full, client not reading",
        "queue past its hard ceiling", "QoS 0 to an offline session",
        "larger than the client's maximum packet size"};
    return reason >= 0 && reason < ST_DROP_REASONS ? names[reason] : "?";
}

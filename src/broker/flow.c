/* flow.c — pausing publishers while the node is overloaded or congested (flow.h). */
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

static void cool(st_worker *w, st_session *s)
{
    if (!s->hot) return;
    s->hot = 0;
    w->hot--;
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
    if (max && !s->hot && (int64_t)s->qlen * 2 >= max) {
        s->hot = 1;
        w->hot++;
    }
}

void st_flow_dequeued(st_worker *w, st_session *s)
{
    if (!progressing(s->client, st_loop_now(w->loop))) return;
    w->lag--;
    if (s->hot && (int64_t)s->qlen * 4 <= mqueue_max(w)) cool(w, s);
}

void st_flow_tick(st_worker *w, int64_t now)
{
    long lag = 0, hot = 0;
    for (st_client *c = w->clients; c; c = c->next) {
        st_session *s = c->sess;
        if (c->state != ST_CS_CONNECTED || !s || s->client != c) continue;
        if (!progressing(c, now)) {
            s->hot = 0; /* a stuck consumer neither lags nor heats: it drops */
            continue;
        }
        lag += (long)s->qlen;
        hot += s->hot;
    }
    w->lag = lag;
    w->hot = hot;
}

/* Resume every paused connection and parse what st_flow_hold left in their input
 * buffers. That may congest the node again at once, holding the connections further
 * down the list after one packet: each one whose input was parsed moves to the end of
 * the list, so the next resume starts with those that got least. */
static void resume_all(st_worker *w)
{
    int64_t now = st_loop_now(w->loop);
    st_client *next, *last = w->clients_tail;
    w->npaused = 0;
    for (st_client *c = w->clients; c; c = next) {
        next = c == last ? NULL : c->next;
        if (!c->paused) continue;
        c->paused = 0;
        c->last_rx = now; /* it was not silent: we did not read it */
        st_loop_mod(w->loop, &c->io, EPOLLIN | (c->io.events & EPOLLOUT));
        if (!c->ilen) continue;
        if (st_client_input(c, NULL, 0) == 0) st_client_to_tail(c);
    }
}

/* Hysteresis on a node-wide flag: every worker sees the same state (per-worker states
 * diverged, one worker's publishers filling the lag between the two thresholds while
 * another's stayed paused for good). Concurrent updates from the same inputs agree. */
static int hysteresis(atomic_int *flag, long value, long high, long low)
{
    int on = atomic_load_explicit(flag, memory_order_relaxed);
    int now = on ? value >= low : value > high;
    if (now != on) atomic_store_explicit(flag, now, memory_order_relaxed);
    return now;
}

void st_flow_update(st_worker *w)
{
    st_broker *b = w->b;
    atomic_store_explicit(&w->lag_pub, w->lag > 0 ? w->lag : 0, memory_order_relaxed);
    atomic_store_explicit(&w->hot_pub, w->hot > 0 ? w->hot : 0, memory_order_relaxed);
    long depth = 0, lag = 0, hot = 0;
    for (int k = 0; k < b->nw; k++) {
        long d = atomic_load_explicit(&b->w[k].depth, memory_order_relaxed);
        depth = d > depth ? d : depth;
        lag += atomic_load_explicit(&b->w[k].lag_pub, memory_order_relaxed);
        hot += atomic_load_explicit(&b->w[k].hot_pub, memory_order_relaxed);
    }
    int over = hysteresis(&b->overloaded, depth, ST_INBOX_HIGH, ST_INBOX_LOW);
    /* hot sessions count as a lag past the high mark until they cool */
    int congested = hysteresis(&b->congested, hot ? ST_LAG_HIGH + 1 : lag, ST_LAG_HIGH, ST_LAG_LOW);
    if (over && !w->overloaded) LOG_DEBUG(w->log, "worker %u: inbox backpressure on", w->id);
    if (congested && !w->congested)
        LOG_DEBUG(w->log, "worker %u: %ld messages queued to subscribers, pausing publishers",
                  w->id, lag);
    w->overloaded = over;
    w->congested = congested;
    if (!over && !congested && !w->remote_blocked && w->npaused) resume_all(w);
}

/* Congestion pauses only publishers with nothing in flight or queued to them: the acks
 * of the others are what drains the lag. */
static int may_pause(const st_worker *w, const st_client *c)
{
    const st_session *s = c->sess;
    if (c->paused || c->state != ST_CS_CONNECTED) return 0;
    if (w->overloaded) return 1;
    return c->publisher && !(s && (s->ninf || s->qlen));
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
    if (!may_pause(w, c)) return 0;
    pause(w, c);
    return 1;
}

/* The state as this worker sees it right now, between two before_sleep updates: its own
 * counters are current, the other workers' as last published, the inboxes' depth live. */
int st_flow_blocked(st_worker *w)
{
    if (w->overloaded || w->congested || w->hot > 0 || w->lag > ST_LAG_HIGH) return 1;
    /* Other workers write their depth on every post: reading every one of those cache
     * lines for every PUBLISH costs more than it buys; every 64th is close enough. */
    if (++w->depth_checks & 63) return 0;
    for (int k = 0; k < w->b->nw; k++)
        if (atomic_load_explicit(&w->b->w[k].depth, memory_order_relaxed) > ST_INBOX_HIGH) return 1;
    return 0;
}

int st_flow_hold(st_worker *w, st_client *c)
{
    if ((!w->remote_blocked && !st_flow_blocked(w)) || !may_pause(w, c)) return 0;
    pause(w, c);
    return 1;
}

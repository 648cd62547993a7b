/* flow.c — pausing publishers while the node is overloaded or congested (flow.h). */
#include "broker/flow.h"
#include "core/log.h"

#include <sys/epoll.h>

static int progressing(const st_client *c, int64_t now)
{
    return now - c->last_progress <= ST_STUCK_MS;
}

void st_flow_attach(st_worker *w, const st_session *s, int sign)
{
    w->lag += sign * (long)s->qlen;
}

void st_flow_tick(st_worker *w, int64_t now)
{
    long lag = 0;
    for (st_client *c = w->clients; c; c = c->next) {
        const st_session *s = c->sess;
        if (c->state != ST_CS_CONNECTED || !s || s->client != c || !s->qlen) continue;
        if (progressing(c, now)) lag += (long)s->qlen;
    }
    w->lag = lag;
}

static void resume_all(st_worker *w)
{
    int64_t now = st_loop_now(w->loop);
    for (st_client *c = w->clients; c; c = c->next) {
        if (!c->paused) continue;
        c->paused = 0;
        c->last_rx = now; /* it was not silent: we did not read it */
        st_loop_mod(w->loop, &c->io, EPOLLIN | (c->io.events & EPOLLOUT));
    }
    w->npaused = 0;
}

void st_flow_update(st_worker *w)
{
    st_broker *b = w->b;
    atomic_store_explicit(&w->lag_pub, w->lag > 0 ? w->lag : 0, memory_order_relaxed);
    long depth_limit = w->overloaded ? ST_INBOX_LOW : ST_INBOX_HIGH;
    long lag_limit = w->congested ? ST_LAG_LOW : ST_LAG_HIGH;
    int over = 0;
    long lag = 0;
    for (int k = 0; k < b->nw; k++) {
        over |= atomic_load_explicit(&b->w[k].depth, memory_order_relaxed) > depth_limit;
        lag += atomic_load_explicit(&b->w[k].lag_pub, memory_order_relaxed);
    }
    int congested = lag > lag_limit;
    if (over && !w->overloaded) LOG_DEBUG(w->log, "worker %u: inbox backpressure on", w->id);
    if (congested && !w->congested)
        LOG_DEBUG(w->log, "worker %u: %ld messages queued to subscribers, pausing publishers",
                  w->id, lag);
    w->overloaded = over;
    w->congested = congested;
    if (!over && !congested && w->npaused) resume_all(w);
}

int st_flow_pause(st_worker *w, st_client *c)
{
    if (c->paused || c->state != ST_CS_CONNECTED) return 0;
    if (!w->overloaded) {
        const st_session *s = c->sess;
        if (!w->congested || !c->publisher) return 0;
        if (s && (s->ninf || s->qlen)) return 0; /* its acks drain the lag: keep reading */
    }
    c->paused = 1; /* leave the bytes in the socket */
    w->npaused++;
    st_loop_mod(w->loop, &c->io, c->io.events & EPOLLOUT);
    return 1;
}

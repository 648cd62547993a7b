/* rate.c — messages_rate and bytes_rate per client (rate.h). */
#include "broker/rate.h"
#include "broker/settings.h"
#include "core/log.h"

#include <stdlib.h>
#include <sys/epoll.h>

int st_rate_limited(const st_listener_conf *l)
{
    return l->msgs_n > 0 || l->bytes_n > 0;
}

static double fill(double have, int64_t n, int64_t per_ms, int64_t elapsed)
{
    if (n <= 0) return have;
    double v = have + (double)n * (double)elapsed / (double)per_ms;
    return v > (double)n ? (double)n : v;
}

static void refill(st_rate *r, const st_listener_conf *l, int64_t now)
{
    int64_t elapsed = now - r->at;
    if (elapsed <= 0) return;
    r->msgs = fill(r->msgs, l->msgs_n, l->msgs_ms, elapsed);
    r->bytes = fill(r->bytes, l->bytes_n, l->bytes_ms, elapsed);
    r->at = now;
}

/* Which bucket is out: "messages_rate", "bytes_rate", or NULL (room for a PUBLISH). */
static const char *empty(const st_rate *r, const st_listener_conf *l)
{
    if (l->msgs_n > 0 && r->msgs < 1) return "messages_rate";
    if (l->bytes_n > 0 && r->bytes <= 0) return "bytes_rate";
    return NULL;
}

int st_rate_take(st_client *c, int publish, size_t n)
{
    const st_listener_conf *l = &c->w->cfg->listeners[c->listener];
    int64_t now = st_loop_now(c->w->loop);
    st_rate *r = c->x->rate;
    if (!r) {
        st_client_ext *x = st_client_x(c);
        if (!x || !(r = x->rate = malloc(sizeof *r))) return 0; /* unlimited rather than stuck */
        *r = (st_rate){(double)l->msgs_n, (double)l->bytes_n, now};
    }
    refill(r, l, now);
    if (publish) r->msgs -= 1;
    if (l->bytes_n > 0) r->bytes -= (double)n;
    const char *out = empty(r, l);
    if (!out) return 0;
    c->rate_held = 1;
    st_loop_mod(c->w->loop, &c->io, c->io.events & EPOLLOUT);
    if (!c->rate_logged) { /* once per client: a steady publisher would flood the log */
        c->rate_logged = 1;
        LOG_INFO(c->w->log,
                 "client %s: listener %s's %s reached, not read until the rate allows more",
                 c->sess ? c->sess->cid : c->peer, l->name, out);
    }
    return 1;
}

int st_rate_tick(st_client *c, int64_t now)
{
    const st_listener_conf *l = &c->w->cfg->listeners[c->listener];
    refill(c->x->rate, l, now);
    if (empty(c->x->rate, l)) return 0;
    c->rate_held = 0;
    c->last_rx = now;                /* it was not silent: we did not read it */
    if (st_client_held(c)) return 0; /* flow control or the answer reads it again */
    st_loop_mod(c->w->loop, &c->io, EPOLLIN | (c->io.events & EPOLLOUT));
    return c->ilen ? st_client_input(c, NULL, 0) : 0;
}

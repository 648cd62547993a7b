/* loop.c — epoll loop with a before-sleep hook and a coarse periodic tick.
 * Timers are coarse on purpose: every per-connection deadline (keepalive, idle, expiry)
 * is checked by the owner in the tick, which costs O(connections) a tick but no
 * per-packet timer bookkeeping on the hot path. */
#include "core/loop.h"
#include "core/clock.h"
#include "core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#define ST_LOOP_EVENTS 256

struct st_loop {
    int epfd;
    int stop;
    int tick_ms;
    int64_t now;
    int64_t next_tick;
    st_loop_hook before_sleep, tick, flush;
    void *hook_ud;
};

st_loop *st_loop_new(void)
{
    st_loop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->now = st_now_ms();
    return l;
}

void st_loop_free(st_loop *l)
{
    if (!l) return;
    close(l->epfd);
    free(l);
}

int st_loop_add(st_loop *l, st_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0) return ST_ESYS;
    io->events = events;
    return 0;
}

int st_loop_mod(st_loop *l, st_io *io, uint32_t events)
{
    if (io->events == events) return 0;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0) return ST_ESYS;
    io->events = events;
    return 0;
}

void st_loop_del(st_loop *l, st_io *io)
{
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->events = 0;
}

void st_loop_set_hooks(st_loop *l, st_loop_hook before_sleep, st_loop_hook tick, int tick_ms,
                       void *ud)
{
    l->before_sleep = before_sleep;
    l->tick = tick;
    l->tick_ms = tick_ms;
    l->hook_ud = ud;
    l->next_tick = st_now_ms() + tick_ms;
}

void st_loop_set_flush(st_loop *l, st_loop_hook flush)
{
    l->flush = flush;
}

void st_loop_stop(st_loop *l)
{
    l->stop = 1;
}

int64_t st_loop_now(const st_loop *l)
{
    return l->now;
}

void st_loop_run(st_loop *l)
{
    struct epoll_event evs[ST_LOOP_EVENTS];
    while (!l->stop) {
        if (l->before_sleep) l->before_sleep(l->hook_ud);
        if (l->stop) break;
        int timeout = -1;
        if (l->tick) {
            int64_t d = l->next_tick - st_now_ms();
            timeout = d < 0 ? 0 : (int)d;
        }
        int n = epoll_wait(l->epfd, evs, ST_LOOP_EVENTS, timeout);
        if (n < 0 && errno != EINTR) break;
        l->now = st_now_ms();
        for (int i = 0; i < n; i++) {
            st_io *io = evs[i].data.ptr;
            io->cb(io, evs[i].events);
            if (l->flush && (i + 1) % ST_LOOP_FLUSH_EVERY == 0 && i + 1 < n) l->flush(l->hook_ud);
        }
        if (l->tick && l->now >= l->next_tick) {
            l->next_tick = l->now + l->tick_ms;
            l->tick(l->hook_ud);
        }
    }
}

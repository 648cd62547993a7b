/* loop.h — one epoll event loop per worker thread.
 * An st_io is embedded in the owner's object (listener, connection, eventfd); the loop
 * calls io->cb when the fd is ready. A "before sleep" hook runs once per iteration, right
 * before epoll_wait: that is where queued writes are flushed (redis' beforeSleep). An
 * optional flush hook also runs after every ST_LOOP_FLUSH_EVERY ready events inside one
 * batch, so the first message of a burst does not wait for the whole batch (latency)
 * while a burst's writes to one socket still go out in one writev (throughput). A tick
 * callback runs every tick_ms for coarse timers (keepalive, expiry, will delay). */
#ifndef ST_LOOP_H
#define ST_LOOP_H

#include <stdint.h>

typedef struct st_loop st_loop;
typedef struct st_io st_io;
typedef void (*st_io_cb)(st_io *io, uint32_t events);

struct st_io {
    int fd;
    uint32_t events; /* EPOLLIN / EPOLLOUT currently registered */
    st_io_cb cb;
    void *ud;
};

typedef void (*st_loop_hook)(void *ud);

#define ST_LOOP_FLUSH_EVERY 8

st_loop *st_loop_new(void);
void st_loop_free(st_loop *l);
/* Register fd with events (EPOLLIN|EPOLLOUT...). Returns 0 or ST_ESYS. */
int st_loop_add(st_loop *l, st_io *io, uint32_t events);
int st_loop_mod(st_loop *l, st_io *io, uint32_t events);
void st_loop_del(st_loop *l, st_io *io);
void st_loop_set_hooks(st_loop *l, st_loop_hook before_sleep, st_loop_hook tick, int tick_ms,
                       void *ud);
/* Mid-batch hook (see above); it must not free objects later events may point at. */
void st_loop_set_flush(st_loop *l, st_loop_hook flush);
/* Run until st_loop_stop() is called (from the loop's own thread). */
void st_loop_run(st_loop *l);
void st_loop_stop(st_loop *l);
/* The loop's cached monotonic time in ms, updated after every epoll_wait. */
int64_t st_loop_now(const st_loop *l);

#endif

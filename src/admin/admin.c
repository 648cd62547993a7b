/* admin.c — the HTTP API thread: its own epoll loop (core/loop), one request per
 * connection, a 5 s limit per connection, answers from api.c. */
#include "admin/admin.h"
#include "admin/api.h"
#include "admin/http.h"
#include "core/err.h"
#include "core/loop.h"
#include "net/listen.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX 8192
#define CONN_MS 5000

typedef struct conn conn;

struct st_admin {
    char bind[128];
    const st_log *log;
    st_api api;
    st_loop *loop;
    st_io lio, stop;
    pthread_t th;
    int running;
    conn *conns;
};

struct conn {
    st_admin *a;
    st_io io;
    char in[REQ_MAX];
    size_t ilen;
    char *out;
    size_t olen, ooff;
    int64_t started;
    conn *next;
};

static void conn_close(conn *c)
{
    st_admin *a = c->a;
    for (conn **pp = &a->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    st_loop_del(a->loop, &c->io);
    close(c->io.fd);
    free(c->out);
    free(c);
}

static void respond(conn *c, int status, const char *type, const char *body, size_t len)
{
    char head[256];
    int h = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, st_http_reason(status), type, len);
    c->out = malloc((size_t)h + len);
    if (!c->out) {
        conn_close(c);
        return;
    }
    memcpy(c->out, head, (size_t)h);
    if (len) memcpy(c->out + h, body, len);
    c->olen = (size_t)h + len;
    st_loop_mod(c->a->loop, &c->io, EPOLLOUT);
}

static void on_conn(st_io *io, uint32_t events)
{
    conn *c = io->ud;
    if (c->out) {
        ssize_t n = send(io->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
        if (n > 0) c->ooff += (size_t)n;
        if ((n < 0 && errno != EAGAIN) || c->ooff == c->olen) conn_close(c);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    ssize_t n = recv(io->fd, c->in + c->ilen, sizeof c->in - c->ilen, 0);
    if (n <= 0) {
        if (n == 0 || errno != EAGAIN) conn_close(c);
        return;
    }
    c->ilen += (size_t)n;
    st_http_req req;
    int r = st_http_parse(c->in, c->ilen, &req);
    if (r == 0 && c->ilen < sizeof c->in) return;
    if (r <= 0) {
        const char *msg = r < 0
                              ? "{\"code\":\"BAD_REQUEST\",\"message\":\"malformed request\"}"
                              : "{\"code\":\"TOO_LARGE\",\"message\":\"request head over 8 KiB\"}";
        respond(c, r < 0 ? 400 : 413, "application/json", msg, strlen(msg));
        return;
    }
    st_http_resp resp = {500, "text/plain", NULL, 0};
    st_api_handle(&c->a->api, &req, &resp);
    respond(c, resp.status, resp.type, resp.body ? resp.body : "", resp.len);
    free(resp.body);
}

static void on_accept(st_io *io, uint32_t events)
{
    st_admin *a = io->ud;
    (void)events;
    for (int i = 0; i < 16; i++) {
        int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->a = a;
        c->io.fd = fd;
        c->io.cb = on_conn;
        c->io.ud = c;
        c->started = st_loop_now(a->loop);
        if (st_loop_add(a->loop, &c->io, EPOLLIN) < 0) {
            close(fd);
            free(c);
            continue;
        }
        c->next = a->conns;
        a->conns = c;
    }
}

static void on_tick(void *ud)
{
    st_admin *a = ud;
    int64_t now = st_loop_now(a->loop);
    conn *next;
    for (conn *c = a->conns; c; c = next) {
        next = c->next;
        if (now - c->started > CONN_MS) conn_close(c);
    }
}

static void on_stop(st_io *io, uint32_t events)
{
    st_admin *a = io->ud;
    (void)events;
    st_loop_stop(a->loop);
}

static void *thread_main(void *arg)
{
    st_admin *a = arg;
    st_loop_run(a->loop);
    return NULL;
}

st_admin *st_admin_new(const char *bind, const char *version, const char *role, st_cluster *cl,
                       const st_log *log)
{
    st_admin *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    snprintf(a->bind, sizeof a->bind, "%s", bind);
    a->log = log;
    a->api.cluster = cl;
    a->api.version = version;
    a->api.role = role;
    a->lio.fd = a->stop.fd = -1;
    return a;
}

int st_admin_start(st_admin *a, char *err, size_t errlen)
{
    char lerr[256];
    a->lio.fd = st_listen_tcp(a->bind, 0, 128, lerr, sizeof lerr);
    if (a->lio.fd < 0) {
        snprintf(err, errlen, "dashboard.listeners.http.bind: %s", lerr);
        return ST_ESYS;
    }
    a->loop = st_loop_new();
    a->stop.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!a->loop || a->stop.fd < 0) {
        snprintf(err, errlen, "admin: out of resources");
        return ST_ESYS;
    }
    a->lio.cb = on_accept;
    a->lio.ud = a->stop.ud = a;
    a->stop.cb = on_stop;
    st_loop_add(a->loop, &a->lio, EPOLLIN);
    st_loop_add(a->loop, &a->stop, EPOLLIN);
    st_loop_set_hooks(a->loop, NULL, on_tick, 500, a);
    if (pthread_create(&a->th, NULL, thread_main, a) != 0) {
        snprintf(err, errlen, "admin: cannot start its thread");
        return ST_ESYS;
    }
    a->running = 1;
    LOG_INFO(a->log, "HTTP API on %s", a->bind);
    return 0;
}

void st_admin_free(st_admin *a)
{
    if (!a) return;
    if (a->running) {
        uint64_t one = 1;
        if (write(a->stop.fd, &one, sizeof one) < 0) {
        }
        pthread_join(a->th, NULL);
    }
    while (a->conns)
        conn_close(a->conns);
    if (a->lio.fd >= 0) close(a->lio.fd);
    if (a->stop.fd >= 0) close(a->stop.fd);
    if (a->loop) st_loop_free(a->loop);
    free(a);
}

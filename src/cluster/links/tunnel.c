/* tunnel.c — a TLS stream for an owner that can only take a plain socket (libraft's RAFT
 * streams, with cluster.proto_dist = inet_tls): the owner gets one end of a socketpair and
 * the cluster thread carries the bytes between the other end and the TLS connection, up to
 * one buffer each way (a full side stops reading the other). Raft's traffic is small; the
 * data lanes, which are not, take their TLS connection to their worker instead. */
#include "cluster/links/internal.h"
#include "core/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TUNNEL_BUF 65536

struct st_tunnel {
    st_links *ls;
    int fd; /* the TLS connection's socket */
    st_tls *tls;
    int lfd; /* our end of the socketpair */
    uv_poll_t tpoll, lpoll;
    int tevents, levents;     /* what each poll watches now */
    int rwants, wwants;       /* the socket events the last TLS read / write waits for */
    uint8_t up[TUNNEL_BUF];   /* from the owner, to be written over TLS */
    uint8_t down[TUNNEL_BUF]; /* read over TLS, to be written to the owner */
    size_t uplen, upoff, downlen, downoff;
    int closing, handles;
    st_tunnel *next;
};

static void pump(st_tunnel *t);

static void on_handle_closed(uv_handle_t *h)
{
    st_tunnel *t = h->data;
    if (--t->handles) return;
    st_tls_free(t->tls);
    close(t->fd);
    close(t->lfd);
    free(t);
}

static void tunnel_close(st_tunnel *t, const char *why)
{
    if (t->closing) return;
    t->closing = 1;
    LOG_DEBUG(t->ls->env.log, "cluster: TLS tunnel of a Raft stream closed: %s", why);
    for (st_tunnel **pp = &t->ls->tunnels; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    uv_poll_stop(&t->tpoll);
    uv_poll_stop(&t->lpoll);
    uv_close((uv_handle_t *)&t->tpoll, on_handle_closed);
    uv_close((uv_handle_t *)&t->lpoll, on_handle_closed);
}

static void on_io(uv_poll_t *h, int status, int events)
{
    st_tunnel *t = h->data;
    (void)events;
    if (status < 0) {
        tunnel_close(t, uv_strerror(status));
        return;
    }
    pump(t);
}

static int uv_events(int wants)
{
    return (wants & 1 ? UV_READABLE : 0) | (wants & 2 ? UV_WRITABLE : 0);
}

static void watch(st_tunnel *t)
{
    int tev = (t->downlen == 0 ? uv_events(t->rwants) : 0) |
              (t->upoff < t->uplen ? uv_events(t->wwants) : 0);
    int lev = (t->uplen == 0 ? UV_READABLE : 0) | (t->downoff < t->downlen ? UV_WRITABLE : 0);
    if (tev != t->tevents) {
        t->tevents = tev;
        if (tev)
            uv_poll_start(&t->tpoll, tev, on_io);
        else
            uv_poll_stop(&t->tpoll);
    }
    if (lev != t->levents) {
        t->levents = lev;
        if (lev)
            uv_poll_start(&t->lpoll, lev, on_io);
        else
            uv_poll_stop(&t->lpoll);
    }
}

/* TLS to the owner. 1 progress, 0 none, -1 closed. */
static int pump_down(st_tunnel *t)
{
    int moved = 0;
    if (t->downlen == 0) {
        ssize_t n = st_tls_read(t->tls, t->down, sizeof t->down);
        if (n == 0 || (n < 0 && n != ST_EAGAIN)) return -1;
        t->rwants = n == ST_EAGAIN ? st_tls_wants(t->tls) : 1;
        if (n > 0) {
            t->downlen = (size_t)n;
            t->downoff = 0;
            moved = 1;
        }
    }
    if (t->downoff < t->downlen) {
        ssize_t n = send(t->lfd, t->down + t->downoff, t->downlen - t->downoff, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
        if (n > 0) {
            t->downoff += (size_t)n;
            moved = 1;
            if (t->downoff == t->downlen) t->downlen = t->downoff = 0;
        }
    }
    return moved;
}

/* The owner to TLS. 1 progress, 0 none, -1 closed. */
static int pump_up(st_tunnel *t)
{
    int moved = 0;
    if (t->uplen == 0) {
        ssize_t n = recv(t->lfd, t->up, sizeof t->up, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return -1;
        if (n > 0) {
            t->uplen = (size_t)n;
            t->upoff = 0;
            moved = 1;
        }
    }
    if (t->upoff < t->uplen) {
        ssize_t n = st_tls_write(t->tls, t->up + t->upoff, t->uplen - t->upoff);
        if (n < 0 && n != ST_EAGAIN) return -1;
        t->wwants = n == ST_EAGAIN ? st_tls_wants(t->tls) : 2;
        if (n > 0) {
            t->upoff += (size_t)n;
            moved = 1;
            if (t->upoff == t->uplen) t->uplen = t->upoff = 0;
        }
    }
    return moved;
}

static void pump(st_tunnel *t)
{
    for (int round = 0; round < 64; round++) {
        int d = pump_down(t), u = d < 0 ? -1 : pump_up(t);
        if (d < 0 || u < 0) {
            tunnel_close(t, d < 0 ? "the peer closed" : "libraft closed");
            return;
        }
        if (!d && !u) break;
    }
    watch(t);
}

int st_tunnel_open(st_links *ls, int fd, st_tls *tls, const uint8_t *pre, size_t npre)
{
    int sp[2];
    st_tunnel *t = npre <= TUNNEL_BUF ? calloc(1, sizeof *t) : NULL;
    if (!t || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp) < 0) {
        free(t);
        st_tls_free(tls);
        close(fd);
        return -1;
    }
    t->ls = ls;
    t->fd = fd;
    t->tls = tls;
    t->lfd = sp[0];
    t->rwants = 1;
    t->wwants = 2;
    memcpy(t->down, pre, npre);
    t->downlen = npre;
    uv_poll_init_socket(ls->loop, &t->tpoll, fd);
    uv_poll_init_socket(ls->loop, &t->lpoll, sp[0]);
    t->tpoll.data = t->lpoll.data = t;
    t->handles = 2;
    t->next = ls->tunnels;
    ls->tunnels = t;
    pump(t);
    return sp[1];
}

void st_tunnels_stop(st_links *ls)
{
    while (ls->tunnels)
        tunnel_close(ls->tunnels, "shutting down");
}

/* links.c — the links part's face (links.h): its state, the cluster.listen socket and
 * accepting on it, the owners' frame and stream handlers, the tick, and stop. */
#include "cluster/links/internal.h"
#include "core/err.h"
#include "net/listen.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

st_links *st_links_new(const st_links_cfg *cfg, const st_links_env *env)
{
    st_links *ls = calloc(1, sizeof *ls);
    if (!ls) return NULL;
    ls->cfg = *cfg;
    ls->env = *env;
    ls->lfd = -1;
    return ls;
}

int64_t st_links_now(const st_links *ls)
{
    return (int64_t)uv_now(ls->loop);
}

static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

int st_links_listen(st_links *ls, char *err, size_t errlen)
{
    char lerr[256];
    if (ls->cfg.tls && !ls->tls_srv) {
        ls->tls_srv = st_tls_node_ctx_new(&ls->cfg.tls_opts, 1, lerr, sizeof lerr);
        ls->tls_cli =
            ls->tls_srv ? st_tls_node_ctx_new(&ls->cfg.tls_opts, 0, lerr, sizeof lerr) : NULL;
        if (!ls->tls_cli) {
            snprintf(err, errlen, "cluster.%s", lerr);
            return ST_ECONFIG;
        }
    }
    ls->lfd = st_listen_tcp(ls->cfg.listen, 0, 1024, lerr, sizeof lerr);
    if (ls->lfd < 0) {
        snprintf(err, errlen, "cluster.listen: %s", lerr);
        return ls->lfd;
    }
    ls->port = bound_port(ls->lfd);
    return 0;
}

int st_links_port(const st_links *ls)
{
    return ls->port;
}

static void on_accept(uv_poll_t *h, int status, int events)
{
    st_links *ls = h->data;
    (void)events;
    if (status < 0 || ls->stopping) return;
    for (int i = 0; i < 64; i++) {
        int fd = accept4(ls->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; /* EAGAIN, or out of descriptors: the next event retries */
        st_link_accept(ls, fd);
    }
}

void st_links_start(st_links *ls, uv_loop_t *loop)
{
    ls->loop = loop;
    ls->lpoll.data = ls;
    uv_poll_init_socket(loop, &ls->lpoll, ls->lfd);
    uv_poll_start(&ls->lpoll, UV_READABLE, on_accept);
    ls->listening = 1;
}

void st_links_on_frame(st_links *ls, uint8_t type, st_frame_fn fn, void *owner)
{
    ls->frames[type] = (st_frame_handler){fn, owner};
}

void st_links_on_stream(st_links *ls, uint8_t stream, st_stream_fn ready, st_stream_fn failed,
                        void *owner, int takes_tls)
{
    ls->streams[stream & 3] = (st_stream_handler){ready, failed, owner, takes_tls};
}

void st_links_event(st_links *ls, int type, st_peer *p, st_link *l, uint64_t prev_boot,
                    uint8_t reason)
{
    st_peer_ev ev = {type, p, l, prev_boot, reason};
    if (ls->env.on_peer) ls->env.on_peer(ls->env.ctx, &ev);
}

void st_links_tick(st_links *ls, int64_t now)
{
    st_link *next;
    for (st_link *l = ls->list; l; l = next) {
        next = l->next;
        st_link_tick(l, now);
    }
    st_peers_tick(ls, now);
}

void st_links_broadcast(st_links *ls, const uint8_t *frame, size_t n)
{
    for (int i = 0; i < ls->npeers; i++) {
        st_link *l = st_peer_link(ls->peers[i]);
        if (l) st_link_send(l, frame, n);
    }
}

void st_links_close_streams(st_links *ls, uint8_t stream, const char *why)
{
    for (st_link *l = ls->list, *next; l; l = next) {
        next = l->next;
        if (l->stream == stream && l->dialer) st_link_close(l, why);
    }
}

static void closed(uv_handle_t *h)
{
    (void)h;
}

void st_links_stop(st_links *ls)
{
    ls->stopping = 1;
    while (ls->list) {
        st_link *l = ls->list;
        st_link_send_goodbye(l, CW_BYE_SHUTDOWN);
        st_link_close(l, "shutting down");
    }
    st_tunnels_stop(ls);
    if (ls->listening) {
        uv_poll_stop(&ls->lpoll);
        uv_close((uv_handle_t *)&ls->lpoll, closed);
        ls->listening = 0;
    }
}

void st_links_free(st_links *ls)
{
    if (!ls) return;
    if (ls->lfd >= 0) close(ls->lfd);
    st_tls_ctx_free(ls->tls_srv);
    st_tls_ctx_free(ls->tls_cli);
    for (int i = 0; i < ls->npeers; i++)
        free(ls->peers[i]);
    free(ls);
}

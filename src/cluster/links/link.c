/* link.c — one cluster connection on the cluster thread: non-blocking socket watched by a
 * uv_poll, frames in and out (cwire), the handshake of docs/cluster.md §3.2 on both sides,
 * heartbeats, and closing. READY CONTROL links hand each frame to the handler registered for
 * its type; READY RAFT and DATA streams are handed over whole to their owner. */
#include "cluster/links/auth.h"
#include "cluster/links/internal.h"
#include "core/err.h"
#include "net/listen.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static st_bytes B(const char *s)
{
    st_bytes b = {(const uint8_t *)s, (uint32_t)strlen(s)};
    return b;
}

static void on_io(uv_poll_t *h, int status, int events);

static void on_closed(uv_handle_t *h)
{
    st_link *l = h->data;
    st_tls_free(l->tls);
    close(l->fd);
    free(l->in);
    free(l->out);
    free(l);
}

/* A stream we dialled did not get to READY: its owner hears of it. */
static void stream_failed(st_link *l)
{
    const st_stream_handler *h = &l->ls->streams[l->stream & 3];
    st_stream s = {.fd = -1, .outbound = 1, .peer = l->peer, .lane = l->lane, .token = l->token};
    if (h->failed) h->failed(h->owner, &s);
}

static void unlist(st_link *l)
{
    for (st_link **pp = &l->ls->list; *pp; pp = &(*pp)->next)
        if (*pp == l) {
            *pp = l->next;
            return;
        }
}

void st_link_close(st_link *l, const char *why)
{
    if (l->state == ST_L_CLOSED) return;
    int was_ready = l->state == ST_L_READY;
    l->state = ST_L_CLOSED;
    if (l->stream != CW_S_CONTROL) {
        if (l->dialer) stream_failed(l);
    } else {
        if (was_ready && l->peer) st_links_event(l->ls, ST_PEER_CLOSED, l->peer, l, 0, 0);
        if (was_ready || l->dialer) st_peer_link_down(l->ls, l, why);
    }
    unlist(l);
    uv_poll_stop(&l->poll);
    uv_close((uv_handle_t *)&l->poll, on_closed);
}

static void want_out(st_link *l, int on)
{
    if (l->polling_out == on || l->state == ST_L_CLOSED) return;
    l->polling_out = on;
    uv_poll_start(&l->poll, UV_READABLE | (on ? UV_WRITABLE : 0), on_io);
}

static int flush(st_link *l)
{
    while (l->ooff < l->olen) {
        ssize_t n;
        if (l->tls) {
            n = st_tls_write(l->tls, l->out + l->ooff, l->olen - l->ooff);
            if (n == ST_EAGAIN) {
                want_out(l, 1);
                return 0;
            }
            if (n < 0) {
                st_link_close(l, "TLS write failed");
                return -1;
            }
        } else {
            n = send(l->fd, l->out + l->ooff, l->olen - l->ooff, MSG_NOSIGNAL);
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                want_out(l, 1);
                return 0;
            }
            st_link_close(l, strerror(errno));
            return -1;
        }
        l->ooff += (size_t)n;
    }
    l->ooff = l->olen = 0;
    want_out(l, 0);
    return 0;
}

/* Reserve room for a frame of up to n bytes at the end of the output buffer. */
static uint8_t *out_room(st_link *l, size_t n)
{
    if (l->olen + n > l->ocap) {
        size_t cap = l->ocap ? l->ocap : 1024;
        while (cap < l->olen + n)
            cap *= 2;
        uint8_t *p = realloc(l->out, cap);
        if (!p) return NULL;
        l->out = p;
        l->ocap = cap;
    }
    return l->out + l->olen;
}

/* Queue a frame produced by enc (which returns its size, writing only if it fits). */
#define SEND(l, call_with_dst_cap)                                                                 \
    do {                                                                                           \
        uint8_t *dst_ = out_room(l, 512);                                                          \
        size_t cap_ = 512;                                                                         \
        size_t n_ = dst_ ? (call_with_dst_cap) : 0;                                                \
        if (dst_ && n_ > cap_ && (dst_ = out_room(l, n_)) != NULL) {                               \
            cap_ = n_;                                                                             \
            n_ = (call_with_dst_cap);                                                              \
        }                                                                                          \
        if (dst_) {                                                                                \
            l->olen += n_;                                                                         \
            l->last_tx = st_links_now(l->ls);                                                      \
        }                                                                                          \
    } while (0)

void st_link_send(st_link *l, const uint8_t *frame, size_t n)
{
    uint8_t *dst = out_room(l, n);
    if (!dst || l->state == ST_L_CLOSED) return;
    memcpy(dst, frame, n);
    l->olen += n;
    l->last_tx = st_links_now(l->ls);
    flush(l);
}

static void refuse(st_link *l, uint16_t code)
{
    cw_refuse r = {code, B(cw_refuse_text(code))};
    SEND(l, cw_encode_refuse(&r, dst_, cap_));
    flush(l);
}

/* Refusals, either way, are logged once a minute per peer: the dialer retries. */
static int refusal_log_due(st_link *l)
{
    st_links *ls = l->ls;
    int64_t now = st_links_now(ls);
    st_peer *p = l->peer ? l->peer : st_links_peer(ls, l->peer_name, 0);
    int64_t *last = p ? &p->last_refuse_log : &ls->last_refuse_log;
    if (!p && strcmp(ls->last_refused, l->peer_name) != 0) *last = 0;
    if (*last && now - *last < ST_CL_REFUSE_LOG_MS) return 0;
    if (!p) snprintf(ls->last_refused, sizeof ls->last_refused, "%s", l->peer_name);
    *last = now;
    return 1;
}

static void log_refused(st_link *l, const char *why)
{
    if (refusal_log_due(l))
        LOG_WARN(l->ls->env.log, "cluster: refused %s (%s): %s", l->peer_name, l->addr, why);
}

/* A READY RAFT or DATA stream goes to its owner (libraft, a worker). */
static void on_handed(uv_handle_t *h)
{
    st_link *l = h->data;
    st_links *ls = l->ls;
    const st_stream_handler *sh = &ls->streams[l->stream & 3];
    st_peer *p = l->stream != CW_S_DATA ? NULL
                 : l->dialer            ? l->peer
                                        : st_links_peer(ls, l->peer_name, 1);
    int fd = l->fd;
    st_tls *tls = l->tls;
    const uint8_t *pre = l->in;
    size_t npre = l->ilen;
    if (!sh->ready || ls->stopping || (l->stream == CW_S_DATA && !p)) {
        st_tls_free(tls);
        close(fd);
        fd = -1;
    } else if (tls && !sh->takes_tls) {
        fd = st_tunnel_open(ls, fd, tls, pre, npre);
        tls = NULL;
        npre = 0;
    }
    if (fd < 0) {
        if (l->dialer) stream_failed(l);
    } else {
        /* the peer may have sent its first frame (RESUME) right behind READY */
        st_stream s = {.fd = fd,
                       .tls = tls,
                       .outbound = l->dialer,
                       .peer = p,
                       .lane = l->lane,
                       .peer_boot = l->peer_boot,
                       .peer_id = l->peer_id,
                       .addr = l->hello_addr[0] ? l->hello_addr : l->addr,
                       .token = l->token,
                       .pre = pre,
                       .npre = npre};
        sh->ready(sh->owner, &s);
    }
    free(l->in);
    free(l->out);
    free(l);
}

/* A RAFT or DATA stream is READY: the fd goes to libraft or a worker, once our poll handle
 * is closed (libuv allows one handle per fd). Bytes read behind READY go with a DATA
 * stream; on a RAFT stream there are none (libraft's side sends nothing first). */
static void hand_off(st_link *l)
{
    if (flush(l) < 0) return;
    if (l->olen) {
        st_link_close(l, "could not hand the stream over");
        return;
    }
    l->state = ST_L_CLOSED;
    l->handed = 1;
    unlist(l);
    uv_poll_stop(&l->poll);
    uv_close((uv_handle_t *)&l->poll, on_handed);
}

/* addr: the caller's buffer for our host:port (h points into it until encoded). */
static void fill_hello(st_link *l, cw_hello *h, char *addr, size_t cap)
{
    st_links *ls = l->ls;
    snprintf(addr, cap, "%s:%d", strchr(ls->cfg.node_name, '@') + 1, ls->port);
    memset(h, 0, sizeof *h);
    h->ver_min = h->ver_max = CW_VERSION;
    h->stream = l->stream;
    h->lane = l->lane;
    h->flags = ls->env.is_member(ls->env.ctx) ? CW_HELLO_MEMBER : 0; /* the bootstrap rule */
    h->role = (uint8_t)ls->cfg.role;
    h->boot = ls->env.boot;
    h->node_id = ls->env.node_id;
    memcpy(h->nonce, l->nonce_d, CW_NONCE);
    h->cluster_name = B(ls->cfg.cluster_name);
    h->node_name = B(ls->cfg.node_name);
    h->addr = B(addr);
}

/* A node that says it is in a cluster (for the bootstrap decision of dns discovery). The
 * handshake is not complete yet, but a liar only makes a fresh node wait to join. */
static void mark_member(st_links *ls, const char *name)
{
    st_peer *p = st_links_peer(ls, name, 0);
    if (p) p->member = 1;
}

static void on_hello(st_link *l, st_bytes body)
{
    st_links *ls = l->ls;
    cw_hello h;
    if (cw_decode_hello(body, &h) < 0) {
        st_link_close(l, "malformed HELLO");
        return;
    }
    snprintf(l->peer_name, sizeof l->peer_name, "%.*s", (int)h.node_name.len, h.node_name.p);
    if (h.ver_min > CW_VERSION || h.ver_max < CW_VERSION) {
        log_refused(l, cw_refuse_text(CW_REFUSE_VERSION));
        refuse(l, CW_REFUSE_VERSION);
        st_link_close(l, "version");
        return;
    }
    if (h.cluster_name.len != strlen(ls->cfg.cluster_name) ||
        memcmp(h.cluster_name.p, ls->cfg.cluster_name, h.cluster_name.len) != 0) {
        log_refused(l, cw_refuse_text(CW_REFUSE_CLUSTER_NAME));
        refuse(l, CW_REFUSE_CLUSTER_NAME);
        st_link_close(l, "cluster name");
        return;
    }
    int raft_ok = h.stream == CW_S_RAFT && ls->streams[CW_S_RAFT].ready;
    int data_ok =
        h.stream == CW_S_DATA && ls->streams[CW_S_DATA].ready && h.lane < ST_LINKS_MAX_LANES;
    if ((h.stream != CW_S_CONTROL && !raft_ok && !data_ok) ||
        strcmp(l->peer_name, ls->cfg.node_name) == 0) {
        refuse(l, CW_REFUSE_PROTOCOL); /* a stream this node does not run */
        st_link_close(l, "unsupported stream");
        return;
    }
    l->stream = h.stream;
    l->lane = h.lane;
    if (h.flags & CW_HELLO_MEMBER) mark_member(ls, l->peer_name);
    l->peer_boot = h.boot;
    l->peer_role = h.role;
    l->peer_id = h.node_id;
    snprintf(l->hello_addr, sizeof l->hello_addr, "%.*s", (int)h.addr.len, h.addr.p);
    memcpy(l->nonce_d, h.nonce, CW_NONCE);
    st_auth_random(l->nonce_a, CW_NONCE);
    cw_welcome w = {.ver = CW_VERSION,
                    .flags = ls->env.is_member(ls->env.ctx) ? CW_WELCOME_MEMBER : 0,
                    .role = (uint8_t)ls->cfg.role,
                    .boot = ls->env.boot,
                    .node_id = ls->env.node_id,
                    .cluster_name = B(ls->cfg.cluster_name),
                    .node_name = B(ls->cfg.node_name),
                    .addr = h.addr};
    memcpy(w.nonce, l->nonce_a, CW_NONCE);
    st_auth_proof(ls->cfg.cookie, 1, l->nonce_d, l->nonce_a, w.node_name, h.node_name, l->stream,
                  w.proof);
    SEND(l, cw_encode_welcome(&w, dst_, cap_));
    l->state = ST_L_WAIT_PROOF;
}

static void on_welcome(st_link *l, st_bytes body)
{
    st_links *ls = l->ls;
    cw_welcome w;
    if (cw_decode_welcome(body, &w) < 0) {
        st_link_close(l, "malformed WELCOME");
        return;
    }
    uint8_t want[CW_PROOF], mine[CW_PROOF];
    st_auth_proof(ls->cfg.cookie, 1, l->nonce_d, w.nonce, w.node_name, B(ls->cfg.node_name),
                  l->stream, want);
    if (!st_auth_equal(want, w.proof)) {
        log_refused(l, cw_refuse_text(CW_REFUSE_COOKIE));
        refuse(l, CW_REFUSE_COOKIE);
        st_link_close(l, "cookie mismatch");
        return;
    }
    if (l->peer_name[0] && (w.node_name.len != strlen(l->peer_name) ||
                            memcmp(w.node_name.p, l->peer_name, w.node_name.len) != 0)) {
        LOG_WARN(ls->env.log, "cluster: %s (%s) answers as %.*s", l->peer_name, l->addr,
                 (int)w.node_name.len, w.node_name.p);
        snprintf(l->peer_name, sizeof l->peer_name, "%.*s", (int)w.node_name.len, w.node_name.p);
    }
    if (!l->peer_name[0])
        snprintf(l->peer_name, sizeof l->peer_name, "%.*s", (int)w.node_name.len, w.node_name.p);
    memcpy(l->nonce_a, w.nonce, CW_NONCE);
    if (w.flags & CW_WELCOME_MEMBER) mark_member(ls, l->peer_name);
    l->peer_boot = w.boot;
    l->peer_role = w.role;
    l->peer_id = w.node_id;
    st_auth_proof(ls->cfg.cookie, 0, l->nonce_d, l->nonce_a, w.node_name, B(ls->cfg.node_name),
                  l->stream, mine);
    SEND(l, cw_encode_proof(mine, dst_, cap_));
    l->state = ST_L_WAIT_READY;
}

static void on_proof(st_link *l, st_bytes body)
{
    st_links *ls = l->ls;
    uint8_t got[CW_PROOF], want[CW_PROOF];
    if (cw_decode_proof(body, got) < 0) {
        st_link_close(l, "malformed PROOF");
        return;
    }
    st_auth_proof(ls->cfg.cookie, 0, l->nonce_d, l->nonce_a, B(ls->cfg.node_name), B(l->peer_name),
                  l->stream, want);
    if (!st_auth_equal(want, got)) {
        log_refused(l, cw_refuse_text(CW_REFUSE_COOKIE));
        refuse(l, CW_REFUSE_COOKIE);
        st_link_close(l, "cookie mismatch");
        return;
    }
    SEND(l, cw_encode_ready((st_bytes){NULL, 0}, dst_, cap_));
    l->state = ST_L_READY;
    if (l->stream == CW_S_RAFT || l->stream == CW_S_DATA)
        hand_off(l);
    else
        st_peer_link_up(ls, l);
}

static void on_refuse(st_link *l, st_bytes body)
{
    st_links *ls = l->ls;
    cw_refuse r = {0, {NULL, 0}};
    cw_decode_refuse(body, &r);
    if (refusal_log_due(l))
        LOG_WARN(ls->env.log, "cluster: %s refused us: %s",
                 l->peer_name[0] ? l->peer_name : l->addr, cw_refuse_text(r.code));
    st_link_close(l, "refused");
}

static void on_goodbye(st_link *l, const cw_frame *f)
{
    cw_goodbye g = {0};
    if (cw_decode_goodbye(f->body, &g) == 0)
        LOG_NOTICE(l->ls->env.log, "cluster: %s says goodbye (%s)", l->peer_name,
                   g.reason == CW_BYE_SHUTDOWN  ? "shutting down"
                   : g.reason == CW_BYE_REMOVED ? "this node is out of the cluster"
                                                : "leaving");
    st_peer *p = l->peer; /* it withdrew its routes itself; its sessions end with it */
    st_link_close(l, "goodbye");
    if (p) st_links_event(l->ls, ST_PEER_GOODBYE, p, NULL, 0, g.reason);
}

static void on_ready_frame(st_link *l, const cw_frame *f)
{
    uint64_t v;
    const st_frame_handler *h = &l->ls->frames[f->type];
    switch (f->type) {
    case CW_PING:
        if (cw_decode_u64(f->body, &v) == 0) SEND(l, cw_encode_u64(CW_PONG, v, dst_, cap_));
        break;
    case CW_PONG:
        if (cw_decode_u64(f->body, &v) == 0) l->rtt_us = (int64_t)(uv_hrtime() / 1000 - v);
        break;
    case CW_GOODBYE:
        on_goodbye(l, f);
        break;
    default:
        if (h->fn)
            h->fn(h->owner, l, f);
        else if (!cw_type_known(f->type) && !(f->flags & CW_F_IGNORABLE))
            st_link_close(l, "unknown frame");
    }
}

static void on_frame(st_link *l, const cw_frame *f)
{
    int ok = 1;
    switch (l->state) {
    case ST_L_WAIT_HELLO:
        if ((ok = f->type == CW_HELLO)) on_hello(l, f->body);
        break;
    case ST_L_WAIT_WELCOME:
        if (f->type == CW_REFUSE)
            on_refuse(l, f->body);
        else if ((ok = f->type == CW_WELCOME))
            on_welcome(l, f->body);
        break;
    case ST_L_WAIT_PROOF:
        if (f->type == CW_REFUSE)
            on_refuse(l, f->body);
        else if ((ok = f->type == CW_PROOF_MSG))
            on_proof(l, f->body);
        break;
    case ST_L_WAIT_READY:
        if (f->type == CW_REFUSE)
            on_refuse(l, f->body);
        else if ((ok = f->type == CW_READY)) {
            l->state = ST_L_READY;
            if (l->stream == CW_S_RAFT || l->stream == CW_S_DATA)
                hand_off(l);
            else
                st_peer_link_up(l->ls, l);
        }
        break;
    case ST_L_READY:
        on_ready_frame(l, f);
        break;
    }
    if (!ok) st_link_close(l, "unexpected frame in handshake");
}

static void read_input(st_link *l)
{
    for (;;) {
        if (l->icap - l->ilen < 4096) {
            size_t cap = l->icap ? l->icap * 2 : 8192;
            uint8_t *p = realloc(l->in, cap);
            if (!p) {
                st_link_close(l, "out of memory");
                return;
            }
            l->in = p;
            l->icap = cap;
        }
        ssize_t n = l->tls ? st_tls_read(l->tls, l->in + l->ilen, l->icap - l->ilen)
                           : recv(l->fd, l->in + l->ilen, l->icap - l->ilen, 0);
        if (n == 0) {
            st_link_close(l, "closed by peer");
            return;
        }
        if (n < 0 && l->tls) {
            if (n != ST_EAGAIN) st_link_close(l, "TLS read failed");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) st_link_close(l, strerror(errno));
            return;
        }
        if (l->state == ST_L_WAIT_HELLO && !l->tls && l->ilen == 0 && l->in[0] == 0x16) {
            log_refused(l, "it speaks TLS (cluster.proto_dist = inet_tls there, not here)");
            st_link_close(l, "TLS on a plain link");
            return;
        }
        l->ilen += (size_t)n;
        l->last_rx = st_links_now(l->ls);
        size_t off = 0;
        uint32_t limit = l->state == ST_L_READY ? CW_MAX_FRAME : CW_MAX_PREAUTH;
        while (l->state != ST_L_CLOSED) {
            cw_frame f;
            long r = cw_frame_decode(l->in + off, l->ilen - off, limit, &f);
            if (r == 0) break;
            if (r < 0) {
                st_link_close(l, st_strerror((int)r));
                return;
            }
            off += (size_t)r;
            on_frame(l, &f);
        }
        if (l->state == ST_L_CLOSED && !l->handed) return;
        memmove(l->in, l->in + off, l->ilen - off); /* a handed stream keeps what follows */
        l->ilen -= off;
        if (l->state == ST_L_CLOSED) return;
        if (l->olen) flush(l);
    }
}

static void send_hello(st_link *l)
{
    cw_hello h;
    char addr[300];
    fill_hello(l, &h, addr, sizeof addr);
    SEND(l, cw_encode_hello(&h, dst_, cap_));
    l->state = ST_L_WAIT_WELCOME;
    flush(l);
}

/* ---- TLS (cluster.proto_dist = inet_tls): the handshake comes before HELLO ---- */

static void tls_step(st_link *l)
{
    char why[256];
    int rc = st_tls_handshake(l->tls, why, sizeof why);
    if (rc == 0) {
        int out = st_tls_wants(l->tls) & 2;
        uv_poll_start(&l->poll, UV_READABLE | (out ? UV_WRITABLE : 0), on_io);
        l->polling_out = out != 0;
        return;
    }
    if (rc < 0) {
        if (rc != ST_ECLOSED && refusal_log_due(l))
            LOG_WARN(l->ls->env.log,
                     "cluster: TLS handshake with %s (%s) failed: %s (cluster.proto_dist = "
                     "inet_tls on both nodes, certificates of one CA?)",
                     l->peer_name[0] ? l->peer_name : "a node", l->addr, why);
        st_link_close(l, why);
        return;
    }
    want_out(l, 0);
    if (l->dialer) {
        send_hello(l);
    } else {
        l->state = ST_L_WAIT_HELLO;
        read_input(l); /* HELLO may have come with the handshake's last flight */
    }
}

static void tls_begin(st_link *l, st_tls *t)
{
    if (!t) {
        st_link_close(l, "out of memory");
        return;
    }
    l->tls = t;
    l->state = ST_L_TLS;
    tls_step(l);
}

static void connected(st_link *l)
{
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        st_link_close(l, strerror(err));
        return;
    }
    st_peer_name(l->fd, l->addr, sizeof l->addr);
    if (l->ls->tls_cli) {
        tls_begin(l, st_tls_client(l->ls->tls_cli, l->fd));
        return;
    }
    send_hello(l);
}

static void on_io(uv_poll_t *h, int status, int events)
{
    st_link *l = h->data;
    if (status < 0 && l->state == ST_L_CONNECTING) { /* the socket's error says why */
        connected(l);
        if (l->state == ST_L_CONNECTING) st_link_close(l, uv_strerror(status));
        return;
    }
    if (status < 0) {
        st_link_close(l, uv_strerror(status));
        return;
    }
    if (l->state == ST_L_CONNECTING) {
        if (events & (UV_WRITABLE | UV_READABLE)) connected(l);
        return;
    }
    if (l->state == ST_L_TLS) {
        tls_step(l);
        return;
    }
    if (events & UV_WRITABLE && flush(l) < 0) return;
    if (events & UV_READABLE) read_input(l);
}

static st_link *link_new(st_links *ls, int fd, int dialer)
{
    st_link *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->ls = ls;
    l->fd = fd;
    l->dialer = dialer;
    l->stream = CW_S_CONTROL;
    l->started = l->last_rx = l->last_tx = st_links_now(ls);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (uv_poll_init_socket(ls->loop, &l->poll, fd) < 0) {
        free(l);
        return NULL;
    }
    l->poll.data = l;
    l->next = ls->list;
    ls->list = l;
    return l;
}

st_link *st_link_accept(st_links *ls, int fd)
{
    st_link *l = link_new(ls, fd, 0);
    if (!l) {
        close(fd);
        return NULL;
    }
    st_peer_name(fd, l->addr, sizeof l->addr);
    l->state = ST_L_WAIT_HELLO;
    uv_poll_start(&l->poll, UV_READABLE, on_io);
    if (ls->tls_srv) {
        l->tls = st_tls_new(ls->tls_srv, fd);
        l->state = ST_L_TLS;
        if (!l->tls) st_link_close(l, "out of memory");
    }
    return l;
}

/* Dial from our own cluster address when it is a specific one, so that peers (and
 * firewall rules between node addresses) see the node's address, not the kernel's pick. */
static void bind_source(const st_links *ls, int fd, int family)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (st_parse_bind(ls->cfg.listen, &ss, &sl) < 0 || ss.ss_family != family) return;
    if (family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        if (s4->sin_addr.s_addr == htonl(INADDR_ANY)) return;
        s4->sin_port = 0;
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr)) return;
        s6->sin6_port = 0;
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) { /* the kernel picks, as without it */
    }
}

int st_links_dial_stream(st_links *ls, uint8_t stream, st_peer *p, const char *host, int port,
                         uint16_t lane, void *token)
{
    st_peer tmp = {0};
    if (!p) {
        snprintf(tmp.host, sizeof tmp.host, "%s", host);
        tmp.port = port;
    }
    st_link *l = st_link_dial(ls, p ? p : &tmp);
    if (!l) return -1;
    if (!p) { /* not a peer's: libraft dials by address */
        l->peer = NULL;
        l->peer_name[0] = 0;
    }
    l->stream = stream;
    l->lane = lane;
    l->token = token;
    return 0;
}

st_link *st_link_dial(st_links *ls, st_peer *p)
{
    char port[16];
    snprintf(port, sizeof port, "%d", p->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(ls->env.resolve(ls->env.ctx, p->host), port, &hints, &ai) != 0 || !ai)
        return NULL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return NULL;
    }
    bind_source(ls, fd, ai->ai_family);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        return NULL;
    }
    st_link *l = link_new(ls, fd, 1);
    if (!l) {
        close(fd);
        return NULL;
    }
    l->peer = p;
    snprintf(l->peer_name, sizeof l->peer_name, "%s", p->name);
    snprintf(l->addr, sizeof l->addr, "%s:%d", p->host, p->port);
    st_auth_random(l->nonce_d, CW_NONCE);
    l->state = ST_L_CONNECTING;
    uv_poll_start(&l->poll, UV_WRITABLE, on_io);
    l->polling_out = 1;
    return l;
}

void st_link_send_goodbye(st_link *l, uint8_t reason)
{
    if (l->state != ST_L_READY) return;
    cw_goodbye g = {reason, B("")};
    SEND(l, cw_encode_goodbye(&g, dst_, cap_));
    flush(l);
}

void st_link_tick(st_link *l, int64_t now)
{
    int64_t timeout = l->ls->cfg.link_timeout_ms;
    if (l->state != ST_L_READY) {
        if (now - l->started > ST_CL_HANDSHAKE_MS) st_link_close(l, "handshake timeout");
        return;
    }
    if (now - l->last_rx > timeout) {
        st_link_close(l, "timeout");
        return;
    }
    if (now - l->last_tx >= timeout / 5) {
        SEND(l, cw_encode_u64(CW_PING, uv_hrtime() / 1000, dst_, cap_));
        flush(l);
    }
}

int st_link_ready(const st_link *l)
{
    return l && l->state == ST_L_READY;
}

st_peer *st_link_peer(const st_link *l)
{
    return l->peer;
}

const char *st_link_peer_name(const st_link *l)
{
    return l->peer_name;
}

uint64_t st_link_peer_boot(const st_link *l)
{
    return l->peer_boot;
}

uint64_t st_link_peer_id(const st_link *l)
{
    return l->peer_id;
}

uint8_t st_link_peer_role(const st_link *l)
{
    return l->peer_role;
}

const char *st_link_hello_addr(const st_link *l)
{
    return l->hello_addr;
}

int64_t st_link_last_rx(const st_link *l)
{
    return l->last_rx;
}

int64_t st_link_rtt_us(const st_link *l)
{
    return l->rtt_us;
}

/* link.c — one cluster connection on the cluster thread: non-blocking socket watched by a
 * uv_poll, frames in and out (cwire), the handshake of docs/cluster.md §3.2 on both sides,
 * heartbeats, and closing. */
#include "cluster/auth.h"
#include "cluster/forward.h"
#include "cluster/internal.h"
#include "cluster/move.h"
#include "cluster/routes.h"
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
    close(l->fd);
    free(l->in);
    free(l->out);
    free(l);
}

static void unlist(st_link *l)
{
    for (st_link **pp = &l->cl->links; *pp; pp = &(*pp)->next)
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
    st_tail_link_down(l->cl, l);
    if (l->raft_token) st_craft_dial_failed(l->cl->craft, l->raft_token);
    if (l->stream == CW_S_DATA) {
        if (l->dialer && l->peer && l->lane < ST_CL_MAX_LANES) {
            l->peer->lanes[l->lane] = ST_LANE_IDLE;
            l->peer->lane_retry = st_cl_now(l->cl) + ST_CL_DIAL_MIN_MS;
        }
    } else if (was_ready || l->dialer) {
        st_peer_link_down(l->cl, l, why);
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
        ssize_t n = send(l->fd, l->out + l->ooff, l->olen - l->ooff, MSG_NOSIGNAL);
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
            l->last_tx = st_cl_now(l->cl);                                                         \
        }                                                                                          \
    } while (0)

void st_link_send(st_link *l, const uint8_t *frame, size_t n)
{
    uint8_t *dst = out_room(l, n);
    if (!dst || l->state == ST_L_CLOSED) return;
    memcpy(dst, frame, n);
    l->olen += n;
    l->last_tx = st_cl_now(l->cl);
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
    st_cluster *c = l->cl;
    int64_t now = st_cl_now(c);
    st_peer *p = l->peer ? l->peer : st_peer_get(c, l->peer_name, 0);
    int64_t *last = p ? &p->last_refuse_log : &c->last_refuse_log;
    if (!p && strcmp(c->last_refused, l->peer_name) != 0) *last = 0;
    if (*last && now - *last < ST_CL_REFUSE_LOG_MS) return 0;
    if (!p) snprintf(c->last_refused, sizeof c->last_refused, "%s", l->peer_name);
    *last = now;
    return 1;
}

static void log_refused(st_link *l, const char *why)
{
    if (refusal_log_due(l))
        LOG_WARN(l->cl->log, "cluster: refused %s (%s): %s", l->peer_name, l->addr, why);
}

/* A DATA stream goes to its worker: ours as an outbound lane, the peer's as inbound. */
static void hand_data(st_link *l)
{
    st_cluster *c = l->cl;
    st_peer *p = l->dialer ? l->peer : st_peer_get(c, l->peer_name, 1);
    if (!p || !c->fwd || c->stopping) {
        close(l->fd);
        if (p && l->dialer) p->lanes[l->lane] = ST_LANE_IDLE;
        return;
    }
    if (l->dialer) p->lanes[l->lane] = ST_LANE_HANDED;
    /* the peer may have sent its first frame (RESUME) right behind READY */
    st_fwd_adopt(c->fwd, l->fd, l->dialer, p->slot, l->lane, l->peer_boot, l->in, l->ilen);
}

static void on_handed(uv_handle_t *h)
{
    st_link *l = h->data;
    const char *addr = l->hello_addr[0] ? l->hello_addr : l->addr;
    if (l->stream == CW_S_DATA)
        hand_data(l);
    else if (st_craft_adopt(l->cl->craft, l->fd, l->peer_id, addr, l->raft_token) < 0)
        close(l->fd);
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
    st_cluster *c = l->cl;
    snprintf(addr, cap, "%s:%d", strchr(c->cfg.node_name, '@') + 1, c->port);
    memset(h, 0, sizeof *h);
    h->ver_min = h->ver_max = CW_VERSION;
    h->stream = l->stream;
    h->lane = l->lane;
    h->flags = st_cl_is_member(c) ? CW_HELLO_MEMBER : 0; /* dns discovery's bootstrap rule */
    h->role = (uint8_t)c->cfg.role;
    h->boot = c->boot;
    h->node_id = c->node_id;
    memcpy(h->nonce, l->nonce_d, CW_NONCE);
    h->cluster_name = B(c->cfg.cluster_name);
    h->node_name = B(c->cfg.node_name);
    h->addr = B(addr);
}

/* A node that says it is in a cluster (for the bootstrap decision of dns discovery). The
 * handshake is not complete yet, but a liar only makes a fresh node wait to join. */
static void mark_member(st_cluster *c, const char *name)
{
    st_peer *p = st_peer_get(c, name, 0);
    if (p) p->member = 1;
}

static void on_hello(st_link *l, st_bytes body)
{
    st_cluster *c = l->cl;
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
    if (h.cluster_name.len != strlen(c->cfg.cluster_name) ||
        memcmp(h.cluster_name.p, c->cfg.cluster_name, h.cluster_name.len) != 0) {
        log_refused(l, cw_refuse_text(CW_REFUSE_CLUSTER_NAME));
        refuse(l, CW_REFUSE_CLUSTER_NAME);
        st_link_close(l, "cluster name");
        return;
    }
    int raft_ok = h.stream == CW_S_RAFT && c->craft;
    int data_ok = h.stream == CW_S_DATA && c->fwd && h.lane < ST_CL_MAX_LANES;
    if ((h.stream != CW_S_CONTROL && !raft_ok && !data_ok) ||
        strcmp(l->peer_name, c->cfg.node_name) == 0) {
        refuse(l, CW_REFUSE_PROTOCOL); /* other streams come with later steps */
        st_link_close(l, "unsupported stream");
        return;
    }
    l->stream = h.stream;
    l->lane = h.lane;
    if (h.flags & CW_HELLO_MEMBER) mark_member(c, l->peer_name);
    l->peer_boot = h.boot;
    l->peer_role = h.role;
    l->peer_id = h.node_id;
    snprintf(l->hello_addr, sizeof l->hello_addr, "%.*s", (int)h.addr.len, h.addr.p);
    memcpy(l->nonce_d, h.nonce, CW_NONCE);
    st_auth_random(l->nonce_a, CW_NONCE);
    cw_welcome w = {.ver = CW_VERSION,
                    .flags = st_cl_is_member(c) ? CW_WELCOME_MEMBER : 0,
                    .role = (uint8_t)c->cfg.role,
                    .boot = c->boot,
                    .node_id = c->node_id,
                    .cluster_name = B(c->cfg.cluster_name),
                    .node_name = B(c->cfg.node_name),
                    .addr = h.addr};
    memcpy(w.nonce, l->nonce_a, CW_NONCE);
    st_auth_proof(c->cfg.cookie, 1, l->nonce_d, l->nonce_a, w.node_name, h.node_name, l->stream,
                  w.proof);
    SEND(l, cw_encode_welcome(&w, dst_, cap_));
    l->state = ST_L_WAIT_PROOF;
}

static void on_welcome(st_link *l, st_bytes body)
{
    st_cluster *c = l->cl;
    cw_welcome w;
    if (cw_decode_welcome(body, &w) < 0) {
        st_link_close(l, "malformed WELCOME");
        return;
    }
    uint8_t want[CW_PROOF], mine[CW_PROOF];
    st_auth_proof(c->cfg.cookie, 1, l->nonce_d, w.nonce, w.node_name, B(c->cfg.node_name),
                  l->stream, want);
    if (!st_auth_equal(want, w.proof)) {
        log_refused(l, cw_refuse_text(CW_REFUSE_COOKIE));
        refuse(l, CW_REFUSE_COOKIE);
        st_link_close(l, "cookie mismatch");
        return;
    }
    if (l->peer_name[0] && (w.node_name.len != strlen(l->peer_name) ||
                            memcmp(w.node_name.p, l->peer_name, w.node_name.len) != 0)) {
        LOG_WARN(c->log, "cluster: %s (%s) answers as %.*s", l->peer_name, l->addr,
                 (int)w.node_name.len, w.node_name.p);
        snprintf(l->peer_name, sizeof l->peer_name, "%.*s", (int)w.node_name.len, w.node_name.p);
    }
    if (!l->peer_name[0])
        snprintf(l->peer_name, sizeof l->peer_name, "%.*s", (int)w.node_name.len, w.node_name.p);
    memcpy(l->nonce_a, w.nonce, CW_NONCE);
    if (w.flags & CW_WELCOME_MEMBER) mark_member(c, l->peer_name);
    l->peer_boot = w.boot;
    l->peer_role = w.role;
    l->peer_id = w.node_id;
    st_auth_proof(c->cfg.cookie, 0, l->nonce_d, l->nonce_a, w.node_name, B(c->cfg.node_name),
                  l->stream, mine);
    SEND(l, cw_encode_proof(mine, dst_, cap_));
    l->state = ST_L_WAIT_READY;
}

static void on_proof(st_link *l, st_bytes body)
{
    st_cluster *c = l->cl;
    uint8_t got[CW_PROOF], want[CW_PROOF];
    if (cw_decode_proof(body, got) < 0) {
        st_link_close(l, "malformed PROOF");
        return;
    }
    st_auth_proof(c->cfg.cookie, 0, l->nonce_d, l->nonce_a, B(c->cfg.node_name), B(l->peer_name),
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
        st_peer_link_up(c, l);
}

static void on_refuse(st_link *l, st_bytes body)
{
    st_cluster *c = l->cl;
    cw_refuse r = {0, {NULL, 0}};
    cw_decode_refuse(body, &r);
    if (refusal_log_due(l))
        LOG_WARN(c->log, "cluster: %s refused us: %s", l->peer_name[0] ? l->peer_name : l->addr,
                 cw_refuse_text(r.code));
    st_link_close(l, "refused");
}

static void on_ready_frame(st_link *l, const cw_frame *f)
{
    uint64_t v;
    cw_goodbye g = {0};
    switch (f->type) {
    case CW_PING:
        if (cw_decode_u64(f->body, &v) == 0) SEND(l, cw_encode_u64(CW_PONG, v, dst_, cap_));
        break;
    case CW_PONG:
        if (cw_decode_u64(f->body, &v) == 0) l->rtt_us = (int64_t)(uv_hrtime() / 1000 - v);
        break;
    case CW_JOIN_REQ: {
        cw_join_req j;
        if (cw_decode_join_req(f->body, &j) == 0) st_cl_join_request(l->cl, l, &j);
        break;
    }
    case CW_LEAVE_REQ: {
        cw_leave_req lr;
        if (cw_decode_leave_req(f->body, &lr) == 0) st_cl_leave_request(l->cl, &lr);
        break;
    }
    case CW_PROBE_REQ:
    case CW_PROBE_RESP: {
        cw_probe pb;
        if (cw_decode_probe(f->type, f->body, &pb) != 0) break;
        if (f->type == CW_PROBE_REQ)
            st_cl_probe_request(l->cl, l, &pb);
        else
            st_cl_probe_response(l->cl, l, &pb);
        break;
    }
    case CW_PROPOSE: {
        cw_propose pp;
        if (cw_decode_propose(f->body, &pp) == 0) st_cl_propose_request(l->cl, l, &pp);
        break;
    }
    case CW_PROPOSE_RESULT: {
        cw_propose_result pr;
        if (cw_decode_propose_result(f->body, &pr) == 0) st_cl_propose_result(l->cl, l, &pr);
        break;
    }
    case CW_TAIL_REQ: {
        cw_tail_req tq;
        if (cw_decode_tail_req(f->body, &tq) == 0) st_tail_request(l->cl, l, &tq);
        break;
    }
    case CW_LOG_ENTRIES: {
        cw_log_entries le;
        if (cw_decode_log_entries(f->body, &le) == 0) st_tail_entries(l->cl, l, &le);
        break;
    }
    case CW_TAIL_SNAPSHOT: {
        cw_tail_snapshot ts;
        if (cw_decode_tail_snapshot(f->body, &ts) == 0) st_tail_snapshot(l->cl, l, &ts);
        break;
    }
    case CW_JOIN_RESULT: {
        cw_join_result j;
        if (cw_decode_join_result(f->body, &j) == 0) st_cl_join_result(l->cl, l, &j);
        break;
    }
    case CW_ROUTE_SYNC_BEGIN:
    case CW_ROUTE_SYNC_END: {
        cw_route_sync rs;
        if (!l->peer || cw_decode_route_sync(f->type, f->body, &rs) < 0) break;
        if (f->type == CW_ROUTE_SYNC_BEGIN)
            st_cl_routes_sync_begin(l->cl, l->peer);
        else
            st_cl_routes_sync_end(l->cl, l->peer, rs.seq);
        break;
    }
    case CW_ACK: {
        cw_ack a;
        if (cw_decode_ack(f->body, &a) == 0) st_cl_routes_acked(l->cl, l, a.seq);
        break;
    }
    case CW_ROUTE_BATCH: {
        cw_route_batch rb;
        if (l->peer && cw_decode_route_batch(f->body, &rb) == 0)
            st_cl_routes_batch(l->cl, l->peer, &rb);
        break;
    }
    case CW_MOVE_BEGIN:
    case CW_MOVE_STATE:
    case CW_MOVE_END:
    case CW_MOVE_PENDING:
    case CW_MOVE_OFFER:
        st_cl_move_recv(l->cl, l, f);
        break;
    case CW_GOODBYE:
        if (cw_decode_goodbye(f->body, &g) == 0)
            LOG_NOTICE(l->cl->log, "cluster: %s says goodbye (%s)", l->peer_name,
                       g.reason == CW_BYE_SHUTDOWN  ? "shutting down"
                       : g.reason == CW_BYE_REMOVED ? "this node is out of the cluster"
                                                    : "leaving");
        if (l->peer) { /* it withdrew its routes itself; its sessions end with it */
            st_peer *p = l->peer;
            st_link_close(l, "goodbye");
            st_peer_gone(l->cl, p, 0, 0, "goodbye");
            if (g.reason == CW_BYE_REMOVED) st_cl_removed(l->cl, p->name);
            break;
        }
        st_link_close(l, "goodbye");
        break;
    default:
        if (!cw_type_known(f->type) && (f->flags & CW_F_IGNORABLE)) break;
        if (cw_type_known(f->type)) break; /* route frames etc.: later steps */
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
                st_peer_link_up(l->cl, l);
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
        ssize_t n = recv(l->fd, l->in + l->ilen, l->icap - l->ilen, 0);
        if (n == 0) {
            st_link_close(l, "closed by peer");
            return;
        }
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) st_link_close(l, strerror(errno));
            return;
        }
        l->ilen += (size_t)n;
        l->last_rx = st_cl_now(l->cl);
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
    cw_hello h;
    char addr[300];
    fill_hello(l, &h, addr, sizeof addr);
    SEND(l, cw_encode_hello(&h, dst_, cap_));
    l->state = ST_L_WAIT_WELCOME;
    flush(l);
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
    if (events & UV_WRITABLE && flush(l) < 0) return;
    if (events & UV_READABLE) read_input(l);
}

static st_link *link_new(st_cluster *c, int fd, int dialer)
{
    st_link *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->cl = c;
    l->fd = fd;
    l->dialer = dialer;
    l->stream = CW_S_CONTROL;
    l->started = l->last_rx = l->last_tx = st_cl_now(c);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (uv_poll_init_socket(&c->loop, &l->poll, fd) < 0) {
        free(l);
        return NULL;
    }
    l->poll.data = l;
    l->next = c->links;
    c->links = l;
    return l;
}

st_link *st_link_accept(st_cluster *c, int fd)
{
    st_link *l = link_new(c, fd, 0);
    if (!l) {
        close(fd);
        return NULL;
    }
    st_peer_name(fd, l->addr, sizeof l->addr);
    l->state = ST_L_WAIT_HELLO;
    uv_poll_start(&l->poll, UV_READABLE, on_io);
    return l;
}

/* Dial from our own cluster address when it is a specific one, so that peers (and
 * firewall rules between node addresses) see the node's address, not the kernel's pick. */
static void bind_source(st_cluster *c, int fd, int family)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (st_parse_bind(c->cfg.listen, &ss, &sl) < 0 || ss.ss_family != family) return;
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

st_link *st_link_dial_raft(st_cluster *c, const char *host, int port, void *token)
{
    st_peer tmp = {0};
    snprintf(tmp.host, sizeof tmp.host, "%s", host);
    tmp.port = port;
    st_link *l = st_link_dial(c, &tmp);
    if (!l) return NULL;
    l->peer = NULL; /* not a CONTROL peer */
    l->peer_name[0] = 0;
    l->stream = CW_S_RAFT;
    l->raft_token = token;
    return l;
}

st_link *st_link_dial_data(st_cluster *c, st_peer *p, uint16_t lane)
{
    st_link *l = st_link_dial(c, p);
    if (!l) return NULL;
    l->stream = CW_S_DATA;
    l->lane = lane;
    return l;
}

st_link *st_link_dial(st_cluster *c, st_peer *p)
{
    char port[16];
    snprintf(port, sizeof port, "%d", p->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(st_cl_resolve(c, p->host), port, &hints, &ai) != 0 || !ai) return NULL;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        freeaddrinfo(ai);
        return NULL;
    }
    bind_source(c, fd, ai->ai_family);
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (rc < 0 && errno != EINPROGRESS) {
        close(fd);
        return NULL;
    }
    st_link *l = link_new(c, fd, 1);
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
    int64_t timeout = l->cl->cfg.link_timeout_ms;
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

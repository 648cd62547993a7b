/* client.c — a connection's life on its worker: reading and parsing packets, queueing
 * output, closing. Input is read into the worker's shared scratch buffer and parsed in
 * place; only the tail of a partial packet is copied into a per-connection buffer, so an
 * idle connection owns no read buffer at all. Output goes to the st_outq and is flushed
 * once per loop iteration (worker.c). */
#include "broker/client.h"
#include "broker/trace.h"
#include "broker/sys.h"
#include "broker/durable.h"
#include "auth/auth.h"
#include "auth/authz.h"
#include "broker/flow.h"
#include "broker/rate.h"
#include "core/clock.h"
#include "core/err.h"
#include "net/listen.h"
#include "net/proxy.h"
#include "net/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static int ws_input(st_client *c, const uint8_t *p, size_t n);

st_client *st_client_new(st_worker *w, int fd, uint8_t listener)
{
    st_client *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    c->io.fd = fd;
    c->io.cb = st_client_on_io;
    c->io.ud = c;
    c->listener = listener;
    c->created = c->last_rx = st_loop_now(w->loop);
    st_peer_name(fd, c->peer, sizeof c->peer);
    c->proxy_wait = !!w->cfg->listeners[listener].proxy_protocol;
    const st_listener_conf *l = &w->cfg->listeners[listener];
    c->x = (st_client_ext *)&st_client_none;
    st_client_ext *x = l->tls || l->ws ? st_client_x(c) : NULL;
    if (x && l->tls) {
        x->tls = st_tls_new(__atomic_load_n(&w->b->tls[listener], __ATOMIC_ACQUIRE), fd);
        c->tls_hs = 1;
    }
    if (x && l->ws) x->ws = calloc(1, sizeof *x->ws);
    c->xport = l->tls || l->ws;
    c->limited = !!st_rate_limited(l);
    if ((l->tls && !c->x->tls) || (l->ws && !c->x->ws)) {
        st_tls_free(c->x->tls);
        free(c->x->ws);
        if (x) free(x);
        free(c); /* the caller closes fd */
        return NULL;
    }
    st_client_adopt(w, c);
    return c;
}

/* Write what is queued: to the socket, or through TLS. 1 all written, 0 the socket is full,
 * <0 an error. */
int st_client_write_out(st_client *c)
{
    if (!c->xport) return st_outq_flush(&c->outq, c->io.fd, st_msg_unref_void);
    if (c->x->ws) {
        int rc = c->x->tls
                     ? st_ws_flush(c->x->ws, &c->outq, st_tls_writev, c->x->tls, st_msg_unref_void)
                     : st_ws_flush(c->x->ws, &c->outq, st_fd_writev, &c->io.fd, st_msg_unref_void);
        return rc == 1 && c->x->ws->closing ? ST_ECLOSED : rc; /* a close frame is out */
    }
    if (c->x->tls) return st_tls_flush(c->x->tls, &c->outq, st_msg_unref_void);
    return st_outq_flush(&c->outq, c->io.fd, st_msg_unref_void);
}

void st_client_adopt(st_worker *w, st_client *c)
{
    c->w = w;
    c->next = w->clients;
    c->prev = NULL;
    if (w->clients) w->clients->prev = c;
    w->clients = c;
    if (!w->clients_tail) w->clients_tail = c;
    c->in_list = 1;
    if (st_loop_add(w->loop, &c->io, EPOLLIN) < 0) {
        st_client_close(c, 0);
        return;
    }
    if (c->ilen && st_client_input(c, NULL, 0)) return;
    if (c->xport && c->x->ws && c->x->ws->ilen) ws_input(c, NULL, 0);
}

static void list_remove(st_client *c)
{
    st_worker *w = c->w;
    if (!c->in_list) return;
    if (c->prev)
        c->prev->next = c->next;
    else
        w->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        w->clients_tail = c->prev;
    c->prev = c->next = NULL;
    c->in_list = 0;
}

/* The connection leaves its worker (closed, or handed over): flow.c counts the paused
 * ones on the list. */
static void list_leave(st_client *c)
{
    list_remove(c);
    if (c->paused) {
        c->paused = 0;
        c->w->npaused--;
    }
}

void st_client_to_tail(st_client *c)
{
    st_worker *w = c->w;
    if (!c->in_list || w->clients_tail == c) return;
    list_remove(c);
    c->prev = w->clients_tail;
    c->next = NULL;
    if (w->clients_tail)
        w->clients_tail->next = c;
    else
        w->clients = c;
    w->clients_tail = c;
    c->in_list = 1;
}

int st_client_writable(const st_client *c)
{
    return c->state == ST_CS_CONNECTED && c->outq.bytes < ST_OUTQ_HIGH;
}

void st_client_mark_dirty(st_client *c)
{
    if (c->dirty || c->state == ST_CS_CLOSED) return;
    c->dirty = 1;
    c->dnext = c->w->dirty;
    c->w->dirty = c;
}

int st_client_send(st_client *c, const mqtt_packet *pkt)
{
    uint8_t tmp[512];
    if (c->state == ST_CS_CLOSED) return ST_ECLOSED;
    long n = mqtt_encode(pkt, tmp, sizeof tmp);
    if (n < 0) return (int)n;
    if (st_tracing(c->w)) st_trace_packet(c, pkt, 1);
    st_metric_add(&c->w->metrics, ST_M_TX + pkt->type, 1);
    st_metric_add(&c->w->metrics, ST_M_BYTES_SENT, (uint64_t)n);
    if ((size_t)n <= sizeof tmp) {
        if (st_outq_append(&c->outq, tmp, (uint32_t)n) < 0) return ST_ENOMEM;
    } else {
        uint8_t *dst = st_outq_reserve(&c->outq, (uint32_t)n);
        if (!dst) return ST_ENOMEM;
        mqtt_encode(pkt, dst, (size_t)n);
    }
    st_client_mark_dirty(c);
    return 0;
}

/* The input events c wants: none while paused or waiting for its session. */
static uint32_t reading(const st_client *c)
{
    return st_client_held(c) || c->state == ST_CS_ARRIVING || c->state == ST_CS_AUTHENTICATING
               ? 0
               : EPOLLIN;
}

int st_client_flush(st_client *c)
{
    if (c->state == ST_CS_CLOSED) return ST_ECLOSED;
    if (c->hold_out) { /* released by st_worker_routes_acked */
        if (c->hold_out > atomic_load_explicit(&c->w->b->route_acked, memory_order_acquire)) {
            if (c->io.events & EPOLLOUT) st_loop_mod(c->w->loop, &c->io, reading(c));
            return 0;
        }
        c->hold_out = 0;
        atomic_fetch_sub(&c->w->nheld, 1);
    }
    if (c->hold_dur && st_durable_out_held(c->w, c)) { /* released by st_durable_settle */
        if (c->io.events & EPOLLOUT) st_loop_mod(c->w->loop, &c->io, reading(c));
        return 0;
    }
    size_t before = c->outq.bytes;
    int rc = st_client_write_out(c);
    if (rc < 0) {
        st_client_close(c, 1);
        return rc;
    }
    if (c->outq.bytes < before) c->last_progress = st_loop_now(c->w->loop);
    if (rc == 0) {
        st_loop_mod(c->w->loop, &c->io, (reading(c)) | EPOLLOUT);
        return 0;
    }
    if (c->io.events & EPOLLOUT) st_loop_mod(c->w->loop, &c->io, reading(c));
    /* Drained: deliveries that waited in the session queue while the output was past
     * ST_OUTQ_HIGH go out now (they are flushed on the next pass of the dirty list). */
    if (c->sess && c->sess->client == c && c->sess->qlen) st_session_pump(c->w, c->sess);
    return 0;
}

/* Reason strings for the DISCONNECTs the server sends (MQTT 5 allows them there even when
 * the client asked for no problem information). */
static const char *reason_text(uint8_t reason)
{
    switch (reason) {
    case MQTT_RC_MALFORMED:
        return "malformed packet";
    case MQTT_RC_PROTOCOL_ERROR:
        return "protocol error";
    case MQTT_RC_SERVER_SHUTTING_DOWN:
        return "server shutting down";
    case MQTT_RC_KEEPALIVE_TIMEOUT:
        return "keep alive timeout";
    case MQTT_RC_SESSION_TAKEN_OVER:
        return "session taken over";
    case MQTT_RC_USE_ANOTHER_SERVER:
        return "this node is leaving the cluster: use another server";
    case MQTT_RC_TOPIC_NAME_INVALID:
        return "topic name invalid";
    case MQTT_RC_RECEIVE_MAX_EXCEEDED:
        return "receive maximum exceeded";
    case MQTT_RC_TOPIC_ALIAS_INVALID:
        return "topic alias invalid";
    case MQTT_RC_PACKET_TOO_LARGE:
        return "packet too large";
    case MQTT_RC_PAYLOAD_FORMAT_INVALID:
        return "payload is not valid UTF-8";
    case MQTT_RC_RETAIN_NOT_SUPPORTED:
        return "retain not supported";
    case MQTT_RC_QOS_NOT_SUPPORTED:
        return "QoS not supported";
    default:
        return NULL;
    }
}

void st_client_disconnect(st_client *c, uint8_t reason, int abnormal)
{
    if (c->state == ST_CS_CLOSED) return;
    if (c->version == MQTT_V5 && c->state == ST_CS_CONNECTED) {
        mqtt_packet p = {.type = MQTT_DISCONNECT, .version = MQTT_V5, .reason = reason};
        const char *text = reason_text(reason);
        if (text) {
            p.props.present |= MQTT_HAS(MQTT_PROP_REASON_STRING);
            p.props.reason_string = (st_bytes){(const uint8_t *)text, (uint32_t)strlen(text)};
        }
        st_client_send(c, &p);
        st_client_write_out(c);
    }
    c->linger = 1; /* the client may be writing still: let it read why, not a reset */
    st_client_close(c, abnormal);
}

static void session_detach(st_worker *w, st_session *s, int abnormal)
{
    int64_t now = st_loop_now(w->loop);
    st_flow_attach(w, s, -1);
    s->client = NULL;
    if (s->will && abnormal && s->will_delay_s > 0 && s->expiry_ms != 0) {
        s->will_at = now + (int64_t)s->will_delay_s * 1000;
    } else if (s->will && abnormal) {
        st_msg *will = s->will;
        s->will = NULL;
        st_worker_publish(w, will);
        st_msg_unref(will);
    } else {
        st_session_clear_will(s);
    }
    if (s->expiry_ms == 0 && !s->arriving) { /* an arriving one ends when it has arrived */
        st_worker_session_end(w, s);
        return;
    }
    s->expire_at = s->expiry_ms == ST_UNLIMITED ? 0 : now + s->expiry_ms;
    st_durable_session(w, s, 1);
}

void st_client_close(st_client *c, int abnormal)
{
    st_worker *w = c->w;
    if (c->state == ST_CS_CLOSED) return;
    int was_connected = c->state == ST_CS_CONNECTED || c->state == ST_CS_ARRIVING;
    if (c->state == ST_CS_CONNECTED) {
        st_metric_add(&w->metrics, ST_M_CLIENT_DISCONNECTED, 1);
        st_sys_disconnected(w, c, abnormal ? "tcp_closed" : "normal");
    }
    if (c->state == ST_CS_ARRIVING) abnormal = 0; /* never accepted: no will */
    if (c->xport && c->x->ws && c->x->ws->open && !c->x->ws->closing) {
        /* WebSocket: a close frame (1000) first, and a lingering close, so that a client
         * that answers with its own close frame is not reset */
        st_ws_close(c->x->ws, 1000);
        st_client_write_out(c);
        c->linger = 1;
    }
    st_connect_auth_cancel(c);
    c->state = ST_CS_CLOSED;
    st_loop_del(w->loop, &c->io);
    if (c->x->tls) {
        st_tls_free(c->x->tls);
        c->x->tls = NULL;
    }
    if (c->x->ws && !c->ws_feeding) { /* else ws_input frees it once st_ws_input is done */
        st_ws_free(c->x->ws);
        free(c->x->ws);
        c->x->ws = NULL;
    }
    if (c->linger)
        st_linger_close(&w->linger, c->io.fd, st_loop_now(w->loop));
    else
        close(c->io.fd);
    c->io.fd = -1;
    list_leave(c);
    atomic_fetch_sub(&w->b->conns[c->listener], 1);
    LOG_DEBUG(w->log, "client %s (%s) closed%s", c->sess ? c->sess->cid : "-", c->peer,
              abnormal ? " abnormally" : "");
    st_session *s = c->sess;
    c->sess = NULL;
    if (s && was_connected && w->b->auth) st_auth_disconnected(w->b->auth, s->cid, s->cid_len);
    if (s && s->client == c && was_connected) session_detach(w, s, abnormal); /* may free s */
    st_outq_clear(&c->outq, st_msg_unref_void);
    st_client_packs_orphan(c);
    if (c->hold_out) {
        c->hold_out = 0;
        atomic_fetch_sub(&w->nheld, 1);
    }
    st_durable_out_drop(w, c);
    free(c->ibuf);
    c->ibuf = NULL;
    c->ilen = c->icap = 0;
    if (!c->dirty) { /* the dirty list still points at it otherwise; freed after flush */
        c->dnext = w->dead;
        w->dead = c;
        c->dirty = 2;
    }
}

void st_client_free(st_client *c)
{
    st_authz_client_free(c->x->authz);
    if (c->x->auth_own) st_acl_free(c->x->auth_own->acl);
    free(c->x->auth_own);
    free(c->x->rate);
    free(c->x->username);
    st_enh_free(c);
    st_strmap_free(c->alias_out);
    for (uint16_t i = 0; i < c->nalias_in; i++)
        free(c->alias_in[i]);
    free(c->alias_in);
    free(c->ibuf);
    if (c->x != &st_client_none) free(c->x);
    free(c);
}

const st_client_ext st_client_none;

void st_client_peer_split(const char *peer, char *ip, size_t cap, int *port)
{
    const char *colon = strrchr(peer, ':');
    size_t n = colon ? (size_t)(colon - peer) : strlen(peer);
    if (port) *port = colon ? atoi(colon + 1) : 0;
    if (n >= 2 && peer[0] == '[' && peer[n - 1] == ']') {
        peer++;
        n -= 2;
    }
    snprintf(ip, cap, "%.*s", (int)(n < cap ? n : cap - 1), peer);
}

st_client_ext *st_client_x(st_client *c)
{
    if (c->x != &st_client_none) return c->x;
    st_client_ext *x = calloc(1, sizeof *x);
    if (x) c->x = x;
    return x;
}

static void protocol_error(st_client *c, int err)
{
    st_worker *w = c->w;
    uint8_t reason = mqtt_err_reason(err);
    LOG_NOTICE(w->log, "client %s (%s): %s, closing", c->sess ? c->sess->cid : "-", c->peer,
               st_strerror(err));
    st_client_disconnect(c, reason, 1);
}

static void reject_version(st_client *c, uint8_t level)
{
    mqtt_packet p = {.type = MQTT_CONNACK, .version = level >= MQTT_V5 ? MQTT_V5 : MQTT_V311};
    p.reason = level >= MQTT_V5 ? MQTT_RC_UNSUPPORTED_VERSION : MQTT_V3_BAD_VERSION;
    st_client_send(c, &p);
    st_client_write_out(c);
    LOG_NOTICE(c->w->log, "client %s: unsupported protocol level %u", c->peer, level);
    st_client_close(c, 0);
}

const char *st_client_listener_id(const st_client *c, char *buf, size_t cap)
{
    const st_listener_conf *l = &c->w->cfg->listeners[c->listener];
    snprintf(buf, cap, "%s:%s", st_listener_type(l), l->name);
    return buf;
}

int st_client_authorized(st_client *c, int action, const char *topic, size_t len, int qos,
                         int retain)
{
    if (!c->x->authz) return 1;
    st_worker *w = c->w;
    /* the http source has answered already (authq.c): this never waits */
    if (st_authz_allow_now(st_auth_authz(w->b->auth), c->x->authz, action, topic, len, qos, retain,
                           st_loop_now(w->loop))) {
        st_metric_add(&w->metrics, ST_M_AUTHORIZATION_ALLOW, 1);
        return 1;
    }
    st_metric_add(&w->metrics, ST_M_AUTHORIZATION_DENY, 1);
    LOG_INFO(w->log, "client %s: %s '%.*s' denied by authorization",
             c->sess ? c->sess->cid : c->peer,
             action == ST_ACL_PUBLISH ? "PUBLISH to" : "SUBSCRIBE", (int)len, topic);
    return 0;
}

/* A certificate's text (peer_cert_as_*) into buf, as bytes; {NULL, 0} when there is none. */
static st_bytes from_cert(st_client *c, int what, char *buf, size_t cap)
{
    long n = what && c->x->tls ? st_tls_peer_cert(c->x->tls, what, buf, cap) : -1;
    return n < 0 ? (st_bytes){NULL, 0} : (st_bytes){(const uint8_t *)buf, (uint32_t)n};
}

st_bytes st_client_id_of(st_client *c, const mqtt_connect *cn, char *buf, size_t cap)
{
    const st_listener_conf *l = &c->w->cfg->listeners[c->listener];
    st_bytes id = from_cert(c, l->cert_as_clientid, buf, cap);
    if (id.p) return id;
    if (!c->w->cfg->use_username_as_clientid) return cn->client_id;
    st_bytes user = from_cert(c, l->cert_as_username, buf, cap);
    if (user.p) return user;
    return cn->has_username ? cn->username : cn->client_id;
}

st_bytes st_client_username_of(st_client *c, const mqtt_connect *cn, char *buf, size_t cap,
                               int *has)
{
    const st_listener_conf *l = &c->w->cfg->listeners[c->listener];
    st_bytes user = from_cert(c, l->cert_as_username, buf, cap);
    *has = user.p || cn->has_username;
    return user.p ? user : cn->has_username ? cn->username : (st_bytes){NULL, 0};
}

/* Hand the connection to the worker that owns its client id; bytes stay in ibuf. */
static int maybe_handoff(st_client *c, const mqtt_packet *p)
{
    st_worker *w = c->w;
    char buf[ST_CERT_ID_MAX];
    st_bytes id = st_client_id_of(c, &p->u.connect, buf, sizeof buf);
    if (id.len == 0 || w->b->nw == 1) return 0;
    uint16_t owner = st_worker_for(w->b, (const char *)id.p, id.len);
    return owner != w->id ? owner + 1 : 0;
}

static void dispatch_packet(st_client *c, const mqtt_packet *p, const uint8_t *raw, size_t n)
{
    st_metrics *m = &c->w->metrics;
    if (st_tracing(c->w)) st_trace_packet(c, p, 0);
    /* a PUBLISH is counted by its QoS alone (packets.publish.received is their sum) */
    st_metric_add(m,
                  p->type == MQTT_PUBLISH ? ST_M_MESSAGES_QOS0_RECEIVED + p->u.publish.qos
                                          : ST_M_RX + p->type,
                  1);
    switch (p->type) {
    case MQTT_CONNECT:
        if (c->state != ST_CS_NEW) {
            protocol_error(c, ST_EPROTO);
            return;
        }
        st_handle_connect(c, p, raw, n);
        return;
    case MQTT_PUBLISH:
        st_handle_publish(c, p);
        return;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        st_handle_ack(c, p);
        return;
    case MQTT_SUBSCRIBE:
        st_handle_subscribe(c, p);
        return;
    case MQTT_UNSUBSCRIBE:
        st_handle_unsubscribe(c, p);
        return;
    case MQTT_PINGREQ: {
        mqtt_packet r = {.type = MQTT_PINGRESP, .version = c->version};
        st_client_send(c, &r);
        return;
    }
    case MQTT_DISCONNECT: {
        st_session *s = c->sess;
        if (s && c->version == MQTT_V5 && (p->props.present & MQTT_HAS(MQTT_PROP_SESSION_EXPIRY))) {
            if (s->expiry_ms == 0 && p->props.session_expiry != 0) {
                protocol_error(c, ST_EPROTO);
                return;
            }
            s->expiry_ms = p->props.session_expiry == 0xFFFFFFFFu
                               ? ST_UNLIMITED
                               : (int64_t)p->props.session_expiry * 1000;
        }
        st_client_close(c, p->reason == MQTT_RC_DISCONNECT_WITH_WILL);
        return;
    }
    case MQTT_AUTH:
        st_handle_auth(c, p);
        return;
    default:
        protocol_error(c, ST_EPROTO);
    }
}

/* The load balancer's PROXY protocol header: the client's address is its. Returns its
 * length, 0 for more, or closes the connection (ST_EPROTO). */
static long proxy_header(st_client *c, const uint8_t *buf, size_t len)
{
    st_proxy_hdr h;
    long r = st_proxy_parse(buf, len, &h);
    if (r < 0) {
        LOG_NOTICE(c->w->log, "connection %s: no valid PROXY protocol header, closing", c->peer);
        st_client_close(c, 0);
        return r;
    }
    if (r == 0) return 0;
    c->proxy_wait = 0;
    if (h.src[0]) {
        LOG_DEBUG(c->w->log, "connection %s: PROXY v%d header: client %s", c->peer, h.version,
                  h.src);
        snprintf(c->peer, sizeof c->peer, "%s", h.src);
    }
    return r;
}

/* Parse and handle complete packets in buf; returns bytes consumed. *handoff is set to
 * owner+1 when the connection must move to another worker before its CONNECT. */
static size_t parse(st_client *c, const uint8_t *buf, size_t len, int *handoff)
{
    size_t off = 0;
    if (c->proxy_wait) {
        long r = proxy_header(c, buf, len);
        if (r <= 0) return 0;
        off = (size_t)r;
    }
    while (off < len && !st_client_held(c) && c->state != ST_CS_CLOSED &&
           c->state != ST_CS_ARRIVING && c->state != ST_CS_AUTHENTICATING) {
        mqtt_packet pkt;
        mqtt_dec_opts o = {.version = c->state == ST_CS_NEW && !c->x->enh ? 0 : c->version,
                           .max_packet_size = c->w->cfg->max_packet_size,
                           .is_server = 1};
        long r = mqtt_decode(buf + off, len - off, &o, &pkt);
        if (r == 0) break;
        if (r < 0) {
            if (r == ST_EVERSION && c->state == ST_CS_NEW)
                reject_version(c, pkt.u.connect.level);
            else
                protocol_error(c, (int)r);
            break;
        }
        if (pkt.type == MQTT_CONNECT && c->state == ST_CS_NEW &&
            (*handoff = maybe_handoff(c, &pkt)))
            break;
        if (c->asks && (pkt.type == MQTT_PUBLISH || pkt.type == MQTT_SUBSCRIBE) &&
            c->state == ST_CS_CONNECTED && st_authq_before(c, &pkt))
            break; /* handled once the answer is in */
        dispatch_packet(c, &pkt, buf + off, (size_t)r);
        if (c->asks && c->x->authz) st_authz_answers_clear(c->x->authz);
        off += (size_t)r;
        if (c->state != ST_CS_CONNECTED) continue;
        if (c->limited && st_rate_take(c, pkt.type == MQTT_PUBLISH, (size_t)r)) break;
        if (pkt.type == MQTT_PUBLISH && st_flow_hold(c->w, c)) break;
    }
    return off;
}

static int keep_tail(st_client *c, const uint8_t *buf, size_t len, size_t off)
{
    size_t left = len - off;
    if (left == 0) {
        free(c->ibuf);
        c->ibuf = NULL;
        c->ilen = c->icap = 0;
        return 0;
    }
    if (buf == c->ibuf) {
        memmove(c->ibuf, c->ibuf + off, left);
    } else {
        if (c->icap < left) {
            uint8_t *nb = realloc(c->ibuf, left);
            if (!nb) return ST_ENOMEM;
            c->ibuf = nb;
            c->icap = (uint32_t)left;
        }
        memcpy(c->ibuf, buf + off, left);
    }
    c->ilen = (uint32_t)left;
    return 0;
}

static void handoff(st_client *c, uint16_t owner)
{
    st_worker *w = c->w;
    st_loop_del(w->loop, &c->io);
    list_leave(c);
    st_imsg *m = calloc(1, sizeof *m);
    if (!m) {
        st_client_close(c, 0);
        return;
    }
    m->kind = ST_IM_HANDOFF;
    m->client = c;
    st_worker_post(w, owner, m);
}

int st_client_input(st_client *c, const uint8_t *p, size_t n)
{
    const uint8_t *buf = p;
    size_t len = n;
    if (c->ilen) {
        if (n) {
            if (c->ilen + n > c->icap) {
                uint8_t *nb = realloc(c->ibuf, c->ilen + n);
                if (!nb) {
                    st_client_close(c, 1);
                    return 1;
                }
                c->ibuf = nb;
                c->icap = c->ilen + (uint32_t)n;
            }
            memcpy(c->ibuf + c->ilen, p, n);
            c->ilen += (uint32_t)n;
        }
        buf = c->ibuf;
        len = c->ilen;
    }
    int owner = 0;
    size_t off = parse(c, buf, len, &owner);
    if (c->state == ST_CS_CLOSED) return 1;
    if (keep_tail(c, buf, len, off) < 0) {
        st_client_close(c, 1);
        return 1;
    }
    if (owner && c->ws_feeding) { /* after st_ws_input is done with c->x->ws */
        c->handoff_to = (uint16_t)owner;
        return 1;
    }
    if (owner) {
        handoff(c, (uint16_t)(owner - 1)); /* c belongs to another thread now */
        return 1;
    }
    return 0;
}

static int ws_feed(void *ctx, const uint8_t *p, size_t n)
{
    return st_client_input(ctx, p, n);
}

/* Bytes of a WebSocket connection (n may be 0: frames kept from before). 1 when the caller
 * must not touch c any more (closed, or handed over). */
static int ws_input(st_client *c, const uint8_t *p, size_t n)
{
    const st_listener_conf *l = &c->w->cfg->listeners[c->listener];
    st_ws_opts o = {l->ws_path, l->ws_max_frame, l->ws_addr_header, l->ws_port_header};
    int was_open = c->x->ws->open;
    c->ws_feeding = 1;
    int rc = st_ws_input(c->x->ws, p, n, &o, ws_feed, c);
    c->ws_feeding = 0;
    if (!was_open && c->x->ws->open &&
        c->x->ws->fwd[0]) { /* behind a proxy: the client's address */
        LOG_DEBUG(c->w->log, "connection %s: WebSocket upgrade for %s", c->peer, c->x->ws->fwd);
        snprintf(c->peer, sizeof c->peer, "%s", c->x->ws->fwd);
    }
    if (c->handoff_to) {
        uint16_t owner = (uint16_t)(c->handoff_to - 1);
        c->handoff_to = 0;
        handoff(c, owner); /* c belongs to another thread now */
        return 1;
    }
    if (c->state == ST_CS_CLOSED) { /* closed while a frame was fed (a protocol error) */
        st_ws_free(c->x->ws);
        free(c->x->ws);
        c->x->ws = NULL;
        return 1;
    }
    if (rc == ST_ECLOSED) { /* a refusal or a close frame: written, then closed */
        LOG_DEBUG(c->w->log, "connection %s: WebSocket closed (%u)", c->peer, c->x->ws->close_code);
        st_client_write_out(c);
        c->linger = 1;
        st_client_close(c, 1);
        return 1;
    }
    if (rc < 0) {
        st_client_close(c, 1);
        return 1;
    }
    if (c->x->ws->olen) st_client_mark_dirty(c); /* the handshake's answer, a pong */
    return 0;
}

/* TLS and WebSocket: a PROXY header comes in clear before the handshake. It is peeked at,
 * and only its own bytes are taken from the socket. 1 done, 0 wait for more, -1 closed. */
static int proxy_first(st_client *c)
{
    uint8_t buf[1024];
    ssize_t n = recv(c->io.fd, buf, sizeof buf, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) {
        st_client_close(c, 0);
        return -1;
    }
    long r = proxy_header(c, buf, (size_t)n); /* closes c when it is not one */
    if (r < 0) return -1;
    if (r == 0 && n == (ssize_t)sizeof buf) {
        LOG_NOTICE(c->w->log, "connection %s: PROXY protocol header too long, closing", c->peer);
        st_client_close(c, 0);
        return -1;
    }
    if (r == 0) return 0;
    if (recv(c->io.fd, buf, (size_t)r, 0) != r) { /* peeked: it is there */
        st_client_close(c, 0);
        return -1;
    }
    return 1;
}

/* TLS: the next step of the handshake. 1 done, 0 wait (the socket as OpenSSL wants it),
 * -1 failed and closed. */
static int tls_handshake(st_client *c)
{
    char why[256];
    int rc = st_tls_handshake(c->x->tls, why, sizeof why);
    if (rc == 1) {
        c->tls_hs = 0;
        LOG_DEBUG(c->w->log, "connection %s: %s", c->peer, st_tls_version(c->x->tls));
        st_loop_mod(c->w->loop, &c->io, reading(c));
        return 1;
    }
    if (rc == 0) {
        st_loop_mod(c->w->loop, &c->io, st_tls_wants(c->x->tls) == 2 ? EPOLLOUT : EPOLLIN);
        return 0;
    }
    if (rc == ST_ECLOSED)
        LOG_DEBUG(c->w->log, "connection %s: %s", c->peer, why);
    else
        LOG_NOTICE(c->w->log, "connection %s: TLS handshake failed: %s", c->peer, why);
    st_client_close(c, 0);
    return -1;
}

/* One read of the connection: plain, or decrypted. > 0 bytes, 0 closed by the peer,
 * ST_EAGAIN nothing now, another < 0 an error. */
static ssize_t read_some(st_client *c, uint8_t *buf, size_t cap)
{
    if (c->xport && c->x->tls) return st_tls_read(c->x->tls, buf, cap);
    ssize_t r = read(c->io.fd, buf, cap);
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return ST_EAGAIN;
    return r < 0 ? ST_EIO : r;
}

void st_client_on_io(st_io *io, uint32_t events)
{
    st_client *c = io->ud;
    st_worker *w = c->w;
    if (c->state == ST_CS_CLOSED) return;
    if (c->xport && (c->proxy_wait || c->tls_hs)) { /* before any MQTT byte */
        if (c->proxy_wait && proxy_first(c) <= 0) return;
        if (c->tls_hs && tls_handshake(c) <= 0) return;
    }
    if (events & EPOLLOUT && st_client_flush(c) < 0) return;
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP))) return;
    if (c->state == ST_CS_ARRIVING || c->state == ST_CS_AUTHENTICATING) { /* not read now */
        if (events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
            st_client_close(c, 0);
        else
            st_loop_mod(w->loop, &c->io, c->io.events & EPOLLOUT);
        return;
    }
    if (st_flow_pause(w, c)) return;
    size_t cap = w->rbuf_cap;
    for (int i = 0; i < 4; i++) {
        ssize_t r = read_some(c, w->rbuf, cap);
        if (r > 0) {
            c->last_rx = st_loop_now(w->loop);
            st_metric_add(&w->metrics, ST_M_BYTES_RECEIVED, (uint64_t)r); /* a read, not a packet */
            if (c->xport && c->x->ws ? ws_input(c, w->rbuf, (size_t)r)
                                     : st_client_input(c, w->rbuf, (size_t)r))
                return;                    /* closed or handed off */
            if (st_client_held(c)) return; /* held by flow control, rates, a question */
            if ((size_t)r < cap && !(c->xport && c->x->tls)) break; /* TLS: a record at a time */
            continue;
        }
        if (r == ST_EAGAIN) break;
        st_client_close(c, 1); /* EOF or error without DISCONNECT: abnormal */
        break;
    }
}

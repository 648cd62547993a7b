/* client.c — one benchmark connection speaking MQTT through the codec (mqtt.h, client
 * side: is_server = 0). Reads land in the worker's scratch buffer and are decoded in place
 * (zero-copy); only the tail of an incomplete packet is kept per connection, so an idle
 * connection holds no buffers. Output is appended to a per-connection buffer that the worker
 * flushes once per loop iteration. Publishers run the QoS 1 (PUBACK) and QoS 2
 * (PUBREC -> PUBREL -> PUBCOMP) handshakes with a window of packet ids 1..window;
 * subscribers ack what they receive and check every message's sequence number against
 * its (subscriber, publisher) stream. */
#include "bench/client.h"
#include "core/err.h"
#include "mqtt/mqtt.h"
#include "net/tls.h"
#include "net/ws.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define OUT_HIGH (64u << 10) /* a publisher stops queueing above this many unsent bytes */
#define READ_ROUNDS 4

enum drop_kind { DROP_TIMEOUT, DROP_CLOSED, DROP_PROTO, DROP_IO };

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static void drop(bench_worker *w, bench_conn *c, int kind)
{
    if (kind == DROP_TIMEOUT) BENCH_ADD(w->slot, conn_timeout, 1);
    if (c->resolved && w->phase < BENCH_PH_STOP) {
        if (kind == DROP_PROTO)
            BENCH_ADD(w->slot, err_proto, 1);
        else if (kind == DROP_IO)
            BENCH_ADD(w->slot, err_io, 1);
        else
            BENCH_ADD(w->slot, err_closed, 1);
    }
    bench_conn_close(w, c, 0);
}

static int set_events(bench_worker *w, bench_conn *c, int want_out)
{
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    c->wait_out = (uint8_t)want_out;
    return epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static uint8_t *out_reserve(bench_worker *w, bench_conn *c, uint32_t n)
{
    if (c->out_off == c->out_len) c->out_off = c->out_len = 0;
    if (c->out_len + n > c->out_cap && c->out_off) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + n > c->out_cap) {
        uint32_t cap = c->out_cap ? c->out_cap : 1024;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *p = realloc(c->out, cap);
        if (!p) return NULL;
        c->out = p;
        c->out_cap = cap;
    }
    bench_worker_dirty(w, c);
    return c->out + c->out_len;
}

static int queue_packet(bench_worker *w, bench_conn *c, mqtt_packet *p)
{
    p->version = (uint8_t)w->cfg->version;
    long n = mqtt_encode(p, NULL, 0);
    if (n < 0) return (int)n;
    uint8_t *dst = out_reserve(w, c, (uint32_t)n);
    if (!dst) return ST_ENOMEM;
    n = mqtt_encode(p, dst, (size_t)n);
    if (n < 0) return (int)n;
    c->out_len += (uint32_t)n;
    return 0;
}

static int queue_ack(bench_worker *w, bench_conn *c, uint8_t type, uint16_t id)
{
    mqtt_packet p = {.type = type, .packet_id = id};
    return queue_packet(w, c, &p);
}

static void send_connect(bench_worker *w, bench_conn *c)
{
    const bench_cfg *cfg = w->cfg;
    char id[96];
    int n = bench_client_id(cfg, c->role, c->idx, id, sizeof id);
    mqtt_packet p = {.type = MQTT_CONNECT};
    mqtt_connect *k = &p.u.connect;
    k->clean_start = !cfg->persistent;
    if (cfg->persistent && cfg->version == MQTT_V5) {
        p.props.present |= MQTT_HAS(MQTT_PROP_SESSION_EXPIRY);
        p.props.session_expiry = 86400;
    }
    k->keepalive = (uint16_t)cfg->keepalive;
    k->client_id = (st_bytes){(const uint8_t *)id, (uint32_t)n};
    if (cfg->username) {
        k->has_username = 1;
        k->username = (st_bytes){(const uint8_t *)cfg->username, (uint32_t)strlen(cfg->username)};
    }
    if (cfg->password) {
        k->has_password = 1;
        k->password = (st_bytes){(const uint8_t *)cfg->password, (uint32_t)strlen(cfg->password)};
    }
    if (queue_packet(w, c, &p) < 0) return drop(w, c, DROP_IO);
    c->state = BC_CONNACK;
}

/* ---- the transport: plain, TLS, WebSocket (--tls, --ws) ---- */

/* Bytes read: > 0, 0 closed, ST_EAGAIN, another < 0 an error. */
static ssize_t raw_read(bench_conn *c, uint8_t *buf, size_t cap)
{
    if (c->tls) return st_tls_read(c->tls, buf, cap);
    ssize_t n = recv(c->fd, buf, cap, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return ST_EAGAIN;
    return n < 0 ? ST_EIO : n;
}

/* Bytes written: > 0, ST_EAGAIN, another < 0 an error. */
static ssize_t raw_write(bench_conn *c, const uint8_t *p, size_t n)
{
    ssize_t k;
    if (c->tls) {
        struct iovec v = {(void *)p, n};
        k = st_tls_writev(c->tls, &v, 1);
    } else {
        k = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return ST_EAGAIN;
    return k < 0 ? ST_EIO : k;
}

static int grow(uint8_t **buf, uint32_t *cap, uint32_t need)
{
    if (need <= *cap) return 0;
    uint32_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    uint8_t *p = realloc(*buf, n);
    if (!p) return ST_ENOMEM;
    *buf = p;
    *cap = n;
    return 0;
}

/* Queue framed (or raw: the upgrade request) bytes, written before anything else. */
static int ws_queue(bench_conn *c, const uint8_t *p, uint32_t n)
{
    if (grow(&c->ws_out, &c->ws_out_cap, c->ws_out_len + n) < 0) return ST_ENOMEM;
    memcpy(c->ws_out + c->ws_out_len, p, n);
    c->ws_out_len += n;
    return 0;
}

/* A client frame: masked, with the key 0 (any 32-bit key is allowed; this one leaves the
 * payload as it is). */
static int ws_queue_frame(bench_conn *c, uint8_t op, const uint8_t *p, uint32_t n)
{
    uint8_t h[ST_WS_MAX_HEADER];
    size_t hl = st_ws_frame_header(h, op, n);
    h[1] |= 0x80;
    memset(h + hl, 0, 4);
    if (ws_queue(c, h, (uint32_t)hl + 4) < 0) return ST_ENOMEM;
    return ws_queue(c, p, n);
}

static void send_upgrade(bench_worker *w, bench_conn *c)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n",
                     w->cfg->ws_path ? w->cfg->ws_path : "/mqtt", w->cfg->host);
    if (n < 0 || (size_t)n >= sizeof req || ws_queue(c, (const uint8_t *)req, (uint32_t)n) < 0)
        return drop(w, c, DROP_IO);
    c->state = BC_WS;
    bench_worker_dirty(w, c);
}

/* The transport is up (TCP, and TLS when asked): the upgrade, or CONNECT. */
static void transport_up(bench_worker *w, bench_conn *c)
{
    if (set_events(w, c, 0) < 0) return bench_conn_close(w, c, 0);
    if (w->cfg->ws)
        send_upgrade(w, c);
    else
        send_connect(w, c);
    if (c->state != BC_CLOSED) bench_conn_flush(w, c);
}

static void tls_step(bench_worker *w, bench_conn *c)
{
    char why[256];
    int rc = st_tls_handshake(c->tls, why, sizeof why);
    if (rc < 0) return drop(w, c, DROP_IO);
    if (rc == 0) {
        if (set_events(w, c, st_tls_wants(c->tls) == 2) < 0) bench_conn_close(w, c, 0);
        return;
    }
    if (st_tls_resumed(c->tls)) BENCH_ADD(w->slot, tls_resumed, 1);
    transport_up(w, c);
}

static void on_tcp_connected(bench_worker *w, bench_conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
        return bench_conn_close(w, c, 0);
    if (!w->cfg->tls) return transport_up(w, c);
    c->tls = st_tls_client(w->tls, c->fd);
    if (!c->tls) return bench_conn_close(w, c, 0);
    c->state = BC_TLS;
    tls_step(w, c);
}

int bench_conn_open(bench_worker *w, bench_conn *c)
{
    const bench_cfg *cfg = w->cfg;
    c->t_start = bench_now_ns();
    if (!BENCH_GET(w->slot->first_conn_ns)) BENCH_SET(w->slot->first_conn_ns, c->t_start);
    c->state = BC_TCP;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) goto fail;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (cfg->n_ifaddrs) {
        uint32_t k = c->idx + (c->role == BENCH_ROLE_PUB ? cfg->subs : 0);
        struct sockaddr_in src = {.sin_family = AF_INET,
                                  .sin_addr = cfg->ifaddrs[k % cfg->n_ifaddrs]};
        setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) goto fail;
    c->wait_out = 1;
    struct sockaddr_in dst = cfg->dst;
    if (c->role == BENCH_ROLE_SUB && cfg->n_sub_hosts)
        dst.sin_addr = cfg->sub_hosts[c->idx % cfg->n_sub_hosts];
    if (connect(c->fd, (const struct sockaddr *)&dst, sizeof dst) == 0)
        on_tcp_connected(w, c);
    else if (errno != EINPROGRESS)
        goto fail;
    return 0;
fail:
    bench_conn_close(w, c, 0);
    return ST_ESYS;
}

static int send_subscribe(bench_worker *w, bench_conn *c)
{
    char filter[4096];
    uint8_t raw[sizeof filter + 3];
    int n = bench_topic(w->cfg, c->role, c->idx, filter, sizeof filter);
    if (n < 0) return ST_EINVAL;
    raw[0] = (uint8_t)(n >> 8);
    raw[1] = (uint8_t)n;
    memcpy(raw + 2, filter, (size_t)n);
    raw[2 + n] = (uint8_t)w->cfg->sub_qos;
    mqtt_packet p = {.type = MQTT_SUBSCRIBE, .packet_id = 1};
    p.u.subscribe = (mqtt_list){{raw, (uint32_t)n + 3}, 1};
    return queue_packet(w, c, &p);
}

static int setup_publisher(bench_worker *w, bench_conn *c, const mqtt_packet *p)
{
    char topic[4096];
    int n = bench_topic(w->cfg, BENCH_ROLE_PUB, c->idx, topic, sizeof topic);
    uint32_t win = w->cfg->inflight;
    if (w->cfg->version == MQTT_V5 && (p->props.present & MQTT_HAS(MQTT_PROP_RECEIVE_MAX)) &&
        p->props.receive_max < win)
        win = p->props.receive_max;
    if (n < 0) return ST_EINVAL;
    c->topic = malloc((size_t)n + 1);
    c->free_ids = malloc(sizeof(uint16_t) * win);
    c->id_state = calloc(win + 1, 1);
    c->id_sent_ns = calloc(win + 1, sizeof(int64_t));
    if (!c->topic || !c->free_ids || !c->id_state || !c->id_sent_ns) return ST_ENOMEM;
    memcpy(c->topic, topic, (size_t)n + 1);
    c->topic_len = (uint32_t)n;
    c->window = win;
    for (uint32_t i = 0; i < win; i++)
        c->free_ids[i] = (uint16_t)(win - i); /* pops 1, 2, 3 ... */
    c->n_free = win;
    return 0;
}

static void on_connack(bench_worker *w, bench_conn *c, const mqtt_packet *p)
{
    if (c->state != BC_CONNACK) return drop(w, c, DROP_PROTO);
    if (p->reason != 0) {
        BENCH_ADD(w->slot, conn_refused, 1);
        return bench_conn_close(w, c, 0);
    }
    int64_t now = bench_now_ns();
    bench_hist_add(w->connh, (uint64_t)(now - c->t_start));
    BENCH_ADD(w->slot, conn_ok, 1);
    BENCH_SET(w->slot->last_connack_ns, now);
    if (c->role == BENCH_ROLE_PUB && setup_publisher(w, c, p) < 0) return drop(w, c, DROP_IO);
    if (c->role == BENCH_ROLE_SUB && w->cfg->sub_topic) {
        if (send_subscribe(w, c) < 0) return drop(w, c, DROP_IO);
        c->state = BC_SUBACK;
        return;
    }
    c->state = BC_READY;
    bench_worker_resolved(w, c, 1);
}

static void on_suback(bench_worker *w, bench_conn *c, const mqtt_packet *p)
{
    if (c->state != BC_SUBACK) return drop(w, c, DROP_PROTO);
    if (!p->u.acks.raw.len || p->u.acks.raw.p[0] >= 0x80) BENCH_ADD(w->slot, err_suback, 1);
    c->state = BC_READY;
    bench_worker_resolved(w, c, 1);
}

static bench_pair *find_pair(bench_worker *w, const bench_conn *c, uint32_t pub)
{
    bench_pair *a = w->sh->pairs + c->pair_first;
    uint32_t lo = 0, hi = c->pair_count;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (a[mid].pub == pub) return &a[mid];
        if (a[mid].pub < pub)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static void on_message(bench_worker *w, bench_conn *c, const mqtt_publish *m, int64_t t)
{
    BENCH_ADD(w->slot, received, 1);
    BENCH_SET(w->slot->last_rx_ns, t);
    if (m->payload.len < BENCH_MIN_PAYLOAD) {
        BENCH_ADD(w->slot, foreign, 1);
        return;
    }
    const uint8_t *pl = m->payload.p;
    int64_t ts = (int64_t)get_le(pl, 8);
    uint32_t seq = (uint32_t)get_le(pl + 8, 4), id = (uint32_t)get_le(pl + 12, 4);
    if (w->cfg->scenario == BENCH_PUBSUB && id >> 20 != w->cfg->run_tag) { /* other run */
        BENCH_ADD(w->slot, foreign, 1);
        return;
    }
    bench_hist_add(w->lat, t > ts ? (uint64_t)(t - ts) : 0);
    if (!w->plan->tracked) return;
    bench_pair *pair = find_pair(w, c, id & 0xfffff);
    if (pair)
        bench_pair_seen(pair, seq);
    else
        BENCH_ADD(w->slot, unexpected, 1);
}

static void complete_id(bench_worker *w, bench_conn *c, uint16_t id)
{
    bench_hist_add(w->ackh, (uint64_t)(bench_now_ns() - c->id_sent_ns[id]));
    c->id_state[id] = 0;
    c->free_ids[c->n_free++] = id;
    c->inflight--;
    bench_worker_kick(w, c);
    bench_worker_check_done(w, c);
}

static void count_acked(bench_worker *w, bench_conn *c, uint8_t reason)
{
    if (reason >= 0x80) {
        BENCH_ADD(w->slot, err_rejected, 1);
        return;
    }
    c->acked++;
    BENCH_ADD(w->slot, acked, 1);
    BENCH_SET(w->sh->pub_acked[c->idx], c->acked);
}

static void on_pub_ack(bench_worker *w, bench_conn *c, const mqtt_packet *p)
{
    uint16_t id = p->packet_id;
    uint8_t want = p->type == MQTT_PUBCOMP ? 2 : 1;
    int qos_ok = p->type == MQTT_PUBACK ? w->cfg->qos == 1 : w->cfg->qos == 2;
    if (c->role != BENCH_ROLE_PUB || !qos_ok || id > c->window || c->id_state[id] != want) {
        BENCH_ADD(w->slot, err_proto, 1);
        return;
    }
    if (p->type != MQTT_PUBCOMP) count_acked(w, c, p->reason);
    if (p->type == MQTT_PUBREC && p->reason < 0x80) {
        c->id_state[id] = 2;
        if (queue_ack(w, c, MQTT_PUBREL, id) < 0) drop(w, c, DROP_IO);
        return;
    }
    complete_id(w, c, id);
}

static void handle(bench_worker *w, bench_conn *c, const mqtt_packet *p, int64_t t)
{
    switch (p->type) {
    case MQTT_CONNACK:
        return on_connack(w, c, p);
    case MQTT_SUBACK:
        return on_suback(w, c, p);
    case MQTT_PUBLISH:
        if (c->state != BC_READY && c->state != BC_SUBACK) return drop(w, c, DROP_PROTO);
        on_message(w, c, &p->u.publish, t);
        if (p->u.publish.qos == 1 && queue_ack(w, c, MQTT_PUBACK, p->packet_id) < 0)
            drop(w, c, DROP_IO);
        if (p->u.publish.qos == 2 && queue_ack(w, c, MQTT_PUBREC, p->packet_id) < 0)
            drop(w, c, DROP_IO);
        return;
    case MQTT_PUBREL:
        if (queue_ack(w, c, MQTT_PUBCOMP, p->packet_id) < 0) drop(w, c, DROP_IO);
        return;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBCOMP:
        return on_pub_ack(w, c, p);
    case MQTT_PINGRESP:
        return;
    case MQTT_DISCONNECT:
        return drop(w, c, DROP_CLOSED);
    default:
        return drop(w, c, DROP_PROTO);
    }
}

/* Keep the tail of an incomplete packet; make sure the scratch buffer can hold it whole. */
static int keep_tail(bench_worker *w, bench_conn *c, const uint8_t *p, uint32_t n)
{
    uint8_t tf;
    uint32_t rem;
    int h = mqtt_fixed_header(p, n, &tf, &rem);
    if (h < 0) return h;
    uint64_t need = h > 0 ? (uint64_t)h + rem : 8;
    if (need + 4096 > w->scratch_cap) {
        uint8_t *s = malloc(need + 4096);
        if (!s) return ST_ENOMEM;
        memcpy(s, p, n); /* p points into the old scratch */
        free(w->scratch);
        w->scratch = s;
        w->scratch_cap = (uint32_t)need + 4096;
        p = s;
    }
    if (n > c->in_cap) {
        uint8_t *b = realloc(c->in, n);
        if (!b) return ST_ENOMEM;
        c->in = b;
        c->in_cap = n;
    }
    memmove(c->in, p, n);
    c->in_len = n;
    return 0;
}

/* Decode and handle every complete packet in scratch[0..len). -1 once the conn is closed. */
static int parse(bench_worker *w, bench_conn *c, uint32_t len, int64_t t)
{
    mqtt_dec_opts o = {.version = (uint8_t)w->cfg->version, .is_server = 0};
    uint32_t off = 0;
    while (off < len) {
        mqtt_packet p;
        long r = mqtt_decode(w->scratch + off, len - off, &o, &p);
        if (r == 0) break;
        if (r < 0) {
            drop(w, c, DROP_PROTO);
            return -1;
        }
        handle(w, c, &p, t);
        if (c->state == BC_CLOSED) return -1;
        off += (uint32_t)r;
    }
    c->in_len = 0;
    if (off < len && keep_tail(w, c, w->scratch + off, len - off) < 0) {
        drop(w, c, DROP_PROTO);
        return -1;
    }
    return 0;
}

/* The server's answer to the upgrade: 1 done (what follows stays in ws_in), 0 more, -1. */
static int ws_answer(bench_conn *c)
{
    uint8_t *end = memmem(c->ws_in, c->ws_in_len, "\r\n\r\n", 4);
    if (!end) return c->ws_in_len > 8192 ? -1 : 0;
    if (c->ws_in_len < 12 || memcmp(c->ws_in, "HTTP/1.1 101", 12) != 0) return -1;
    uint32_t head = (uint32_t)(end + 4 - c->ws_in);
    memmove(c->ws_in, c->ws_in + head, c->ws_in_len - head);
    c->ws_in_len -= head;
    return 1;
}

/* Server frames out of ws_in: binary payloads appended to the scratch buffer after *have
 * (while they fit), pings answered. 0, or -1 (a protocol error, or a close). */
static int ws_unframe(bench_worker *w, bench_conn *c, uint32_t *have)
{
    uint32_t off = 0;
    while (off + 2 <= c->ws_in_len) {
        const uint8_t *f = c->ws_in + off;
        uint64_t len = f[1] & 0x7F;
        uint32_t hl = 2;
        if (f[1] & 0x80) return -1; /* a server's frames are not masked */
        if (len == 126) {
            if (off + 4 > c->ws_in_len) break;
            len = (uint64_t)f[2] << 8 | f[3];
            hl = 4;
        } else if (len == 127) {
            if (off + 10 > c->ws_in_len) break;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | f[2 + i];
            hl = 10;
        }
        if (off + hl + len > c->ws_in_len) break;
        uint8_t op = f[0] & 0x0F;
        if (op == ST_WS_CLOSE) return -1;
        if (op == ST_WS_PING && ws_queue_frame(c, ST_WS_PONG, f + hl, (uint32_t)len) < 0) return -1;
        if (op == ST_WS_BINARY || op == ST_WS_CONT) {
            if (*have + len > w->scratch_cap) break; /* the next round */
            memcpy(w->scratch + *have, f + hl, len);
            *have += (uint32_t)len;
        }
        off += hl + (uint32_t)len;
    }
    memmove(c->ws_in, c->ws_in + off, c->ws_in_len - off);
    c->ws_in_len -= off;
    return 0;
}

static void on_readable_ws(bench_worker *w, bench_conn *c)
{
    for (int round = 0; round < READ_ROUNDS; round++) {
        if (grow(&c->ws_in, &c->ws_in_cap, c->ws_in_len + 65536) < 0) return drop(w, c, DROP_IO);
        ssize_t n = raw_read(c, c->ws_in + c->ws_in_len, c->ws_in_cap - c->ws_in_len);
        if (n == 0) return drop(w, c, DROP_CLOSED);
        if (n == ST_EAGAIN) return;
        if (n < 0) return drop(w, c, DROP_IO);
        c->ws_in_len += (uint32_t)n;
        if (c->state == BC_WS) {
            int rc = ws_answer(c);
            if (rc < 0) return drop(w, c, DROP_PROTO);
            if (rc == 0) continue;
            send_connect(w, c);
            if (c->state == BC_CLOSED) return;
        }
        for (;;) { /* until ws_in holds no whole frame */
            uint32_t have = c->in_len, before = c->ws_in_len;
            if (have) memcpy(w->scratch, c->in, have);
            if (ws_unframe(w, c, &have) < 0) return drop(w, c, DROP_PROTO);
            if (have != c->in_len && parse(w, c, have, bench_now_ns()) < 0) return;
            if (c->ws_in_len == before) break;
        }
        if (c->ws_out_len > c->ws_out_off) bench_worker_dirty(w, c);
    }
}

static void on_readable(bench_worker *w, bench_conn *c)
{
    if (w->cfg->ws) return on_readable_ws(w, c);
    for (int round = 0; round < READ_ROUNDS; round++) {
        uint32_t have = c->in_len;
        if (have) memcpy(w->scratch, c->in, have);
        ssize_t n = raw_read(c, w->scratch + have, w->scratch_cap - have);
        if (n == 0) return drop(w, c, DROP_CLOSED);
        if (n == ST_EAGAIN) return;
        if (n < 0) return drop(w, c, DROP_IO);
        uint32_t room = w->scratch_cap - have;
        if (parse(w, c, have + (uint32_t)n, bench_now_ns()) < 0) return;
        if ((uint32_t)n < room && !c->tls) return; /* TLS: a record at a time */
    }
}

void bench_conn_event(bench_worker *w, bench_conn *c, uint32_t events)
{
    if (c->state == BC_CLOSED) return;
    if (c->state == BC_TCP) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_tcp_connected(w, c);
        return;
    }
    if (c->state == BC_TLS) return tls_step(w, c);
    if ((events & EPOLLOUT) && bench_conn_flush(w, c) < 0) return;
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(w, c);
}

int bench_conn_can_publish(const bench_worker *w, const bench_conn *c)
{
    const bench_cfg *cfg = w->cfg;
    if (w->phase != BENCH_PH_RUN || c->state != BC_READY) return 0;
    if (cfg->count && c->seq >= cfg->count) return 0;
    if (c->out_len - c->out_off >= OUT_HIGH) return 0;
    return cfg->qos == 0 || c->n_free > 0;
}

int bench_conn_publish(bench_worker *w, bench_conn *c)
{
    const bench_cfg *cfg = w->cfg;
    uint16_t id = 0;
    uint32_t need = c->topic_len + 16 + cfg->payload;
    uint8_t *dst = out_reserve(w, c, need);
    if (!dst) return ST_ENOMEM;
    mqtt_publish pub = {.topic = {(const uint8_t *)c->topic, c->topic_len},
                        .qos = (uint8_t)cfg->qos};
    if (cfg->qos) id = c->free_ids[c->n_free - 1];
    long h = mqtt_encode_publish_head((uint8_t)cfg->version, &pub, id, NULL, cfg->payload, dst,
                                      need - cfg->payload);
    if (h < 0 || (uint32_t)h > need - cfg->payload) return h < 0 ? (int)h : ST_EINVAL;
    uint8_t *pl = dst + h;
    int64_t now = bench_now_ns();
    put_le(pl, (uint64_t)now, 8);
    put_le(pl + 8, c->seq, 4);
    put_le(pl + 12, (uint64_t)cfg->run_tag << 20 | (c->idx & 0xfffff), 4);
    memcpy(pl + 16, w->payload + 16, cfg->payload - 16);
    c->out_len += (uint32_t)h + cfg->payload;
    if (cfg->qos) {
        c->n_free--;
        c->id_state[id] = 1;
        c->id_sent_ns[id] = now;
        c->inflight++;
    }
    c->seq++;
    BENCH_ADD(w->slot, sent, 1);
    BENCH_SET(w->sh->pub_sent[c->idx], c->seq);
    if (!cfg->qos) {
        c->acked = c->seq;
        BENCH_SET(w->sh->pub_acked[c->idx], c->acked);
    }
    return 0;
}

/* Write ws_out (framed bytes); 1 all written, 0 the socket is full, -1 dropped. */
static int write_framed(bench_worker *w, bench_conn *c)
{
    while (c->ws_out_off < c->ws_out_len) {
        ssize_t n = raw_write(c, c->ws_out + c->ws_out_off, c->ws_out_len - c->ws_out_off);
        if (n == ST_EAGAIN) {
            if (!c->wait_out) set_events(w, c, 1);
            return 0;
        }
        if (n < 0) {
            drop(w, c, DROP_IO);
            return -1;
        }
        c->ws_out_off += (uint32_t)n;
    }
    c->ws_out_off = c->ws_out_len = 0;
    return 1;
}

int bench_conn_flush(bench_worker *w, bench_conn *c)
{
    if (w->cfg->ws) { /* what is queued goes out as one binary frame */
        int rc = write_framed(w, c);
        if (rc <= 0) return rc < 0 ? ST_EIO : 0;
        if (c->state == BC_WS) return 0; /* the upgrade's answer first */
        if (c->out_len > c->out_off &&
            ws_queue_frame(c, ST_WS_BINARY, c->out + c->out_off, c->out_len - c->out_off) < 0) {
            drop(w, c, DROP_IO);
            return ST_ENOMEM;
        }
        c->out_off = c->out_len;
        rc = write_framed(w, c);
        if (rc <= 0) return rc < 0 ? ST_EIO : 0;
    }
    while (c->out_off < c->out_len) {
        ssize_t n = raw_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (n > 0) {
            c->out_off += (uint32_t)n;
        } else if (n == ST_EAGAIN) {
            if (!c->wait_out) set_events(w, c, 1);
            return 0;
        } else {
            drop(w, c, DROP_IO);
            return ST_EIO;
        }
    }
    c->out_off = c->out_len = 0;
    c->last_tx_ns = w->now;
    if (c->wait_out) set_events(w, c, 0);
    if (c->role == BENCH_ROLE_PUB) {
        bench_worker_kick(w, c);
        bench_worker_check_done(w, c);
    } else if (w->cfg->scenario == BENCH_CONN) {
        free(c->out); /* idle connections keep no buffer */
        c->out = NULL;
        c->out_cap = 0;
    }
    return 0;
}

void bench_conn_close(bench_worker *w, bench_conn *c, int graceful)
{
    if (c->fd >= 0) {
        if (graceful && c->state == BC_READY) {
            mqtt_packet p = {.type = MQTT_DISCONNECT};
            if (queue_packet(w, c, &p) == 0 && !w->cfg->ws)
                (void)!raw_write(c, c->out + c->out_off, c->out_len - c->out_off);
        }
        st_tls_free(c->tls);
        c->tls = NULL;
        close(c->fd); /* also leaves the epoll set */
    }
    c->fd = -1;
    c->state = BC_CLOSED;
    c->out_off = c->out_len = c->in_len = 0;
    c->ws_in_len = c->ws_out_off = c->ws_out_len = 0;
    if (!c->resolved) bench_worker_resolved(w, c, 0);
    if (c->role == BENCH_ROLE_PUB) bench_worker_check_done(w, c);
}

void bench_conn_tick(bench_worker *w, bench_conn *c)
{
    if (c->state == BC_TCP || c->state == BC_TLS || c->state == BC_WS || c->state == BC_CONNACK ||
        c->state == BC_SUBACK) {
        if (w->now - c->t_start > (int64_t)(w->cfg->connect_timeout_s * 1e9))
            drop(w, c, DROP_TIMEOUT);
        return;
    }
    int64_t ka = (int64_t)w->cfg->keepalive * 500000000; /* half the keepalive, in ns */
    if (c->state == BC_READY && ka && w->now - c->last_tx_ns > ka) {
        mqtt_packet p = {.type = MQTT_PINGREQ};
        if (queue_packet(w, c, &p) < 0) drop(w, c, DROP_IO);
        c->last_tx_ns = w->now;
    }
}

void bench_conn_release(bench_conn *c)
{
    st_tls_free(c->tls);
    free(c->ws_in);
    free(c->ws_out);
    free(c->in);
    free(c->out);
    free(c->topic);
    free(c->free_ids);
    free(c->id_state);
    free(c->id_sent_ns);
}

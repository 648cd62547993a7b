/* admin.c — the HTTP API thread: its own epoll loop (core/loop), one request per
 * connection, a 5 s limit per connection, answers from api.c. */
#include "admin/admin.h"
#include "admin/alarms.h"
#include "admin/assets.h"
#include "admin/client_msgs.h"
#include "admin/clients.h"
#include "admin/metrics.h"
#include "admin/openapi.h"
#include "admin/routes.h"
#include "admin/trace.h"
#include "admin/subscriptions.h"
#include "admin/authz.h"
#include "admin/api.h"
#include "admin/apiauth.h"
#include "admin/http.h"
#include "admin/listeners.h"
#include "core/err.h"
#include "core/loop.h"
#include "net/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define REQ_MAX 8192
#define BODY_MAX (1u << 20)
#define CONN_MS 5000

typedef struct conn conn;

struct st_admin {
    char bind[128];
    char tls_bind[128]; /* dashboard.listeners.https ("" : none) */
    st_tls_ctx *tls;
    st_tls_opts *tls_opts; /* what tls was built from, for a reload */
    st_apiauth *apiauth;   /* credentials (NULL: none asked) */
    const st_log *log;
    st_api api;
    st_loop *loop;
    st_io lio, tlio, stop;
    pthread_t th;
    int running;
    conn *conns;
};

struct conn {
    st_admin *a;
    st_io io;
    st_tls *tls; /* HTTPS: its TLS; hs until the handshake is done */
    int hs;
    char *in; /* the request: its head (up to REQ_MAX), then its body (up to BODY_MAX) */
    size_t ilen, icap;
    char *out;
    size_t olen, ooff;
    int64_t started;
    char peer[64]; /* the client's address */
    int loopback;
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
    st_tls_free(c->tls);
    close(c->io.fd);
    free(c->out);
    free(c->in);
    free(c);
}

/* The bytes of a request, plain or decrypted: > 0, 0 closed, ST_EAGAIN, < 0 an error. */
static ssize_t conn_read(conn *c, void *buf, size_t cap)
{
    if (c->tls) return st_tls_read(c->tls, buf, cap);
    ssize_t n = recv(c->io.fd, buf, cap, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return ST_EAGAIN;
    return n;
}

static ssize_t conn_write(conn *c, const void *p, size_t n)
{
    struct iovec v = {(void *)p, n};
    if (c->tls) return st_tls_writev(c->tls, &v, 1);
    return send(c->io.fd, p, n, MSG_NOSIGNAL);
}

/* HTTPS: the next step of the handshake. 1 done, 0 wait, -1 closed. */
static int conn_handshake(conn *c)
{
    char why[256];
    int rc = st_tls_handshake(c->tls, why, sizeof why);
    if (rc == 1) c->hs = 0;
    if (rc == 0) st_loop_mod(c->a->loop, &c->io, st_tls_wants(c->tls) == 2 ? EPOLLOUT : EPOLLIN);
    if (rc == 1) st_loop_mod(c->a->loop, &c->io, EPOLLIN);
    if (rc < 0) {
        LOG_INFO(c->a->log, "HTTPS: handshake failed: %s", why);
        conn_close(c);
        return -1;
    }
    return rc;
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

/* The dashboard's files (assets.h): anyone may load them; what they show comes from the
 * API, with the credential its login gets. */
static int dashboard(const st_http_req *req, st_http_resp *resp)
{
    if (strncmp(req->path, "/api/", 5) == 0 || strcmp(req->path, "/status") == 0 ||
        strcmp(req->path, "/api-docs/swagger.json") == 0)
        return 0;
    int docs = strcmp(req->path, "/api-docs") == 0 || strcmp(req->path, "/api-docs/") == 0 ||
               strcmp(req->path, "/api-docs/index.html") == 0;
    const st_asset *f = st_asset_find(docs ? "/api-docs.html" : req->path);
    if (!f || strcmp(req->method, "GET") != 0) {
        st_api_error(resp, f ? 405 : 404, f ? "METHOD_NOT_ALLOWED" : "NOT_FOUND",
                     f ? "only GET is served here" : "no such page");
        return 1;
    }
    sb b = {0};
    sb_printf(&b, "%.*s", (int)f->len, (const char *)f->data);
    st_api_reply(resp, 200, f->type, &b);
    return 1;
}

/* The paths anyone may ask (a load balancer's health check, the dashboard's files) and
 * login; the rest needs a credential (apiauth.h). */
static void handle(conn *c, const st_http_req *req, st_http_resp *resp)
{
    st_admin *a = c->a;
    int post = strcmp(req->method, "POST") == 0;
    if (dashboard(req, resp)) return;
    char allow[64], msg[160];
    int gate = st_route_gate(req->method, req->path, allow, sizeof allow);
    if (gate) { /* the route table (routes.h) has every endpoint there is */
        snprintf(msg, sizeof msg, "%s is served here", allow);
        st_api_error(resp, gate, gate == 404 ? "NOT_FOUND" : "METHOD_NOT_ALLOWED",
                     gate == 404 ? "no such endpoint (GET /api-docs lists them)" : msg);
        return;
    }
    if (strcmp(req->path, "/api-docs/swagger.json") == 0) {
        sb b = {0};
        st_openapi_write(&b, a->api.version);
        st_api_reply(resp, 200, "application/json", &b);
        return;
    }
    if (strcmp(req->path, "/status") == 0 || strcmp(req->path, "/api/v5/status") == 0 ||
        !a->apiauth ||
        (atomic_load(&a->api.prometheus_open) &&
         strcmp(req->path, "/api/v5/prometheus/stats") == 0))
        st_api_handle(&a->api, req, resp);
    else if (post && strcmp(req->path, "/api/v5/login") == 0)
        st_apiauth_login(a->apiauth, req, c->peer, a->api.version, resp);
    else if (st_apiauth_check(a->apiauth, req, c->peer, c->loopback, resp) < 0)
        return;
    else if (post && strcmp(req->path, "/api/v5/logout") == 0)
        st_apiauth_logout(a->apiauth, req, resp);
    else if (st_apiauth_users(a->apiauth, req, resp) || st_apiauth_keys(a->apiauth, req, resp))
        return;
    else
        st_api_handle(&a->api, req, resp);
}

/* Read what is there of the request: 1 whole (req filled, its body too), 0 more to come,
 * -1 malformed, -2 head too large, -3 body too large, -4 closed (c is gone). */
static int read_request(conn *c, st_http_req *req)
{
    for (;;) {
        if (c->ilen == c->icap) {
            size_t cap = c->icap ? c->icap * 2 : REQ_MAX;
            if (cap > REQ_MAX + BODY_MAX) cap = REQ_MAX + BODY_MAX;
            char *p = cap > c->icap ? realloc(c->in, cap) : NULL;
            if (!p) return -3;
            c->in = p;
            c->icap = cap;
        }
        ssize_t n = conn_read(c, c->in + c->ilen, c->icap - c->ilen);
        if (n == ST_EAGAIN) break;
        if (n <= 0) {
            conn_close(c);
            return -4;
        }
        c->ilen += (size_t)n;
    }
    int r = st_http_parse(c->in, c->ilen, req);
    if (r == 0) return c->ilen >= REQ_MAX ? -2 : 0;
    if (r < 0) return -1;
    size_t body = req->content_length > 0 ? (size_t)req->content_length : 0;
    if (body > BODY_MAX) return -3;
    if (c->ilen < req->head_len + body) return 0;
    req->body = c->in + req->head_len;
    req->body_len = body;
    return 1;
}

static void on_conn(st_io *io, uint32_t events)
{
    conn *c = io->ud;
    if (c->hs && conn_handshake(c) <= 0) return;
    if (c->out) {
        ssize_t n = conn_write(c, c->out + c->ooff, c->olen - c->ooff);
        if (n > 0) c->ooff += (size_t)n;
        if ((n < 0 && errno != EAGAIN) || c->ooff == c->olen) conn_close(c);
        return;
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->tls) return;
    st_http_req req;
    int r = read_request(c, &req);
    if (r == 0) return;
    if (r < 0) {
        const char *msg = r == -1 ? "{\"code\":\"BAD_REQUEST\",\"message\":\"malformed request\"}"
                          : r == -2
                              ? "{\"code\":\"TOO_LARGE\",\"message\":\"request head over 8 KiB\"}"
                              : "{\"code\":\"TOO_LARGE\",\"message\":\"request body over 1 MiB\"}";
        if (r == -4) return; /* closed */
        respond(c, r == -1 ? 400 : 413, "application/json", msg, strlen(msg));
        return;
    }
    st_http_resp resp = {500, "text/plain", NULL, 0};
    handle(c, &req, &resp);
    respond(c, resp.status, resp.type, resp.body ? resp.body : "", resp.len);
    free(resp.body);
}

static void peer_of(int fd, conn *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    snprintf(c->peer, sizeof c->peer, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0) return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, c->peer, sizeof c->peer);
        c->loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, c->peer, sizeof c->peer);
        c->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
    }
}

static void on_accept(st_io *io, uint32_t events)
{
    st_admin *a = io->ud;
    int https = io == &a->tlio;
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
        peer_of(fd, c);
        if (https && !(c->tls = st_tls_new(a->tls, fd))) {
            close(fd);
            free(c);
            continue;
        }
        c->hs = https;
        if (st_loop_add(a->loop, &c->io, EPOLLIN) < 0) {
            st_tls_free(c->tls);
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
    a->api.rates = st_api_rates_new();
    a->api.admin = a;
    a->lio.fd = a->tlio.fd = a->stop.fd = -1;
    return a;
}

/* The cluster's questions to this node (cluster/ask.h). */
static char *answer(void *ctx, uint8_t what, const char *arg, size_t arglen, size_t *len)
{
    const st_api *api = ctx;
    if (what == ST_ASK_LISTENERS) return st_api_listeners_answer(api->broker, len);
    if (what == ST_ASK_AUTHZ_CACHE || what == ST_ASK_AUTHZ_RELOAD)
        return st_api_authz_answer(api, what, len);
    if (what == ST_ASK_METRICS) return st_api_metrics_answer(api, what, len);
    if (what == ST_ASK_LISTENER_OP) return st_api_listener_op_answer(api, arg, arglen, len);
    if (what == ST_ASK_CLIENT_MSGS) return st_api_client_msgs_answer(api, arg, arglen, len);
    if (what == ST_ASK_TRACE_SIZES || what == ST_ASK_TRACE_LOG)
        return st_api_trace_answer(api, what, arg, arglen, len);
    if (what == ST_ASK_SUBS || what == ST_ASK_CLIENT_SUBS)
        return st_api_subscriptions_answer(api, what, arg, arglen, len);
    if (what == ST_ASK_CLIENTS || what == ST_ASK_CLIENT_KICK)
        return st_api_clients_answer(api, what, arg, arglen, len);
    return st_api_alarms_answer(api, what, arg, arglen, len);
}

void st_admin_apiauth(st_admin *a, st_apiauth *aa)
{
    a->apiauth = aa;
}

void st_admin_auth(st_admin *a, struct st_auth *auth)
{
    a->api.auth = auth;
}

void st_admin_durable(st_admin *a, struct st_durable *d)
{
    a->api.durable = d;
}

void st_admin_log(st_admin *a, st_log *log)
{
    a->api.log = log;
}

void st_admin_prometheus(st_admin *a, int open)
{
    atomic_store(&a->api.prometheus_open, open);
}

void st_admin_conf(st_admin *a, struct st_conf *cf)
{
    a->api.conf = cf;
}

void st_admin_traces(st_admin *a, struct st_traces *t)
{
    a->api.traces = t;
}

void st_admin_alarms(st_admin *a, struct st_alarms *al)
{
    a->api.alarms = al;
}

void st_admin_broker(st_admin *a, struct st_broker *b)
{
    a->api.broker = b;
    st_cluster_answerer(a->api.cluster, answer, &a->api);
}

int st_admin_https(st_admin *a, const char *bind, const st_tls_opts *o, char *err, size_t errlen)
{
    char why[512];
    a->tls = st_tls_ctx_new(o, why, sizeof why);
    if (!a->tls) {
        snprintf(err, errlen, "dashboard.listeners.https.%s", why);
        return ST_ECONFIG;
    }
    snprintf(a->tls_bind, sizeof a->tls_bind, "%s", bind);
    a->tls_opts = malloc(sizeof *a->tls_opts);
    if (a->tls_opts) *a->tls_opts = *o;
    return 0;
}

int st_admin_https_fresh(st_admin *a, st_tls_ctx **fresh, char *err, size_t errlen)
{
    char why[512];
    *fresh = NULL;
    if (!a->tls || !a->tls_opts) return 0;
    *fresh = st_tls_ctx_new(a->tls_opts, why, sizeof why);
    if (!*fresh) {
        snprintf(err, errlen, "dashboard.listeners.https.%s", why);
        return ST_ECONFIG;
    }
    return 0;
}

void st_admin_https_swap(st_admin *a, st_tls_ctx *fresh)
{
    st_tls_ctx_free(a->tls); /* open connections keep a reference to its SSL_CTX */
    a->tls = fresh;
    LOG_INFO(a->log, "HTTPS API: certificates reloaded");
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
    if (a->tls_bind[0]) {
        a->tlio.fd = st_listen_tcp(a->tls_bind, 0, 128, lerr, sizeof lerr);
        if (a->tlio.fd < 0) {
            snprintf(err, errlen, "dashboard.listeners.https.bind: %s", lerr);
            return ST_ESYS;
        }
        a->tlio.cb = on_accept;
        a->tlio.ud = a;
    }
    a->lio.cb = on_accept;
    a->lio.ud = a->stop.ud = a;
    a->stop.cb = on_stop;
    st_loop_add(a->loop, &a->lio, EPOLLIN);
    if (a->tlio.fd >= 0) st_loop_add(a->loop, &a->tlio, EPOLLIN);
    st_loop_add(a->loop, &a->stop, EPOLLIN);
    st_loop_set_hooks(a->loop, NULL, on_tick, 500, a);
    if (pthread_create(&a->th, NULL, thread_main, a) != 0) {
        snprintf(err, errlen, "admin: cannot start its thread");
        return ST_ESYS;
    }
    a->running = 1;
    LOG_INFO(a->log, "HTTP API on %s%s%s", a->bind, a->tls_bind[0] ? ", HTTPS on " : "",
             a->tls_bind);
    return 0;
}

void st_admin_free(st_admin *a)
{
    if (!a) return;
    if (a->api.broker) st_cluster_answerer(a->api.cluster, NULL, NULL);
    if (a->running) {
        uint64_t one = 1;
        if (write(a->stop.fd, &one, sizeof one) < 0) {
        }
        pthread_join(a->th, NULL);
    }
    while (a->conns)
        conn_close(a->conns);
    if (a->lio.fd >= 0) close(a->lio.fd);
    if (a->tlio.fd >= 0) close(a->tlio.fd);
    st_tls_ctx_free(a->tls);
    free(a->tls_opts);
    st_api_rates_free(a->api.rates);
    if (a->stop.fd >= 0) close(a->stop.fd);
    if (a->loop) st_loop_free(a->loop);
    free(a);
}

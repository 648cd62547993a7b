/* connect.c — CONNECT: client id rules, session open (new, resumed, taken over),
 * will, CONNACK with the server's limits as MQTT 5 properties. The connection already
 * runs on the worker that owns its client id (client.c hands it over before this). */
#include "auth/auth.h"
#include "auth/bans.h"
#include "auth/pool.h"
#include "broker/client.h"
#include "broker/sys.h"
#include "broker/durable.h"
#include "broker/flow.h"
#include "broker/remote.h"
#include "core/clock.h"
#include "core/err.h"
#include "net/tls.h"
#include "route/trie.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

static void connack_fail(st_client *c, uint8_t reason5);

void st_connect_refuse(st_client *c, uint8_t reason5)
{
    connack_fail(c, reason5);
}

static void connack_fail(st_client *c, uint8_t reason5)
{
    mqtt_packet p = {.type = MQTT_CONNACK, .version = c->version};
    p.reason = c->version == MQTT_V5 ? reason5 : mqtt_connack_v3_code(reason5);
    st_metric_add(&c->w->metrics, ST_M_PACKETS_CONNACK_ERROR, 1);
    if (reason5 == MQTT_RC_BAD_USER_OR_PASS || reason5 == MQTT_RC_NOT_AUTHORIZED)
        st_metric_add(&c->w->metrics, ST_M_PACKETS_CONNACK_AUTH_ERROR, 1);
    st_client_send(c, &p);
    st_client_write_out(c);
    LOG_NOTICE(c->w->log, "client %s: CONNECT refused, reason 0x%02x", c->peer, reason5);
    c->linger = 1;
    st_client_close(c, 0);
}

/* An id the client did not choose, owned by this worker (so no handoff is needed). */
static size_t assign_id(st_client *c, char *out, size_t cap)
{
    st_worker *w = c->w;
    for (;;) {
        size_t n =
            (size_t)snprintf(out, cap, "starling-%016llx", (unsigned long long)st_rand(&w->rng));
        if (st_worker_for(w->b, out, n) == w->id && !st_strmap_get(w->by_cid, out, n)) return n;
    }
}

static int check_will(st_client *c, const mqtt_connect *cn)
{
    const st_settings *cfg = c->w->cfg;
    if (!cn->will_flag) return 0;
    if (cn->will_qos > cfg->max_qos_allowed) return MQTT_RC_QOS_NOT_SUPPORTED;
    if (cn->will_retain && !cfg->retain_available) return MQTT_RC_RETAIN_NOT_SUPPORTED;
    if (st_topic_levels((const char *)cn->will_topic.p, cn->will_topic.len) > cfg->max_topic_levels)
        return MQTT_RC_TOPIC_NAME_INVALID;
    return 0;
}

static st_msg *make_will(st_client *c, const mqtt_connect *cn, uint64_t sid)
{
    const st_settings *cfg = c->w->cfg;
    int64_t now = st_loop_now(c->w->loop);
    st_msg *m = st_msg_new((const char *)cn->will_topic.p, cn->will_topic.len, cn->will_payload.p,
                           cn->will_payload.len, c->version == MQTT_V5 ? &cn->will_props : NULL,
                           cn->will_qos, cn->will_retain, now,
                           cfg->message_expiry_ms == ST_UNLIMITED ? 0 : cfg->message_expiry_ms);
    if (m) {
        m->from_sid = sid;
        st_worker_stamp(c->w, m);
    }
    return m;
}

void st_session_take_over(st_worker *w, st_session *s, uint8_t reason)
{
    st_client *old = s->client;
    if (reason == MQTT_RC_SESSION_TAKEN_OVER) st_metric_add(&w->metrics, ST_M_SESSION_TAKENOVER, 1);
    if (old->state == ST_CS_CONNECTED)
        st_sys_disconnected(w, old,
                            reason == MQTT_RC_ADMIN_ACTION         ? "kicked"
                            : reason == MQTT_RC_SESSION_TAKEN_OVER ? "takenover"
                                                                   : "discarded");
    st_flow_attach(w, s, -1);
    s->client = NULL;
    old->sess = NULL;
    if (old->state == ST_CS_ARRIVING) { /* never accepted: its will is not one */
        st_session_clear_will(s);
    } else if (s->will && s->will_delay_s == 0) {
        st_msg *will = s->will;
        s->will = NULL;
        st_worker_publish(w, will);
        st_msg_unref(will);
    } else if (s->will) {
        s->will_at = st_loop_now(w->loop) + (int64_t)s->will_delay_s * 1000;
    }
    LOG_INFO(w->log, "client %s: %s", s->cid,
             reason == MQTT_RC_USE_ANOTHER_SERVER ? "this node is leaving: use another server"
             : reason == MQTT_RC_ADMIN_ACTION     ? "disconnected by an operator"
                                                  : "session taken over by a new connection");
    st_client_disconnect(old, reason, 0);
}

static void take_over(st_worker *w, st_session *s)
{
    st_session_take_over(w, s, MQTT_RC_SESSION_TAKEN_OVER);
}

void st_worker_kick(st_worker *w, const char *cid, size_t len, uint64_t hlc, const char *where)
{
    st_session *s = st_strmap_get(w->by_cid, cid, len);
    if (!s || s->reg_hlc > hlc) return; /* gone already, or connected again since */
    if (s->client)
        st_session_take_over(
            w, s, hlc == ST_KICK_ADMIN ? MQTT_RC_ADMIN_ACTION : MQTT_RC_SESSION_TAKEN_OVER);
    LOG_NOTICE(w->log, "client %s connected to %s: its session here ends", s->cid, where);
    s->reg_hlc = 0; /* its registration is not ours to end any more */
    st_worker_session_end(w, s);
}

void st_worker_register_all(st_worker *w)
{
    size_t it = 0;
    void *v;
    while (w->b->remote && w->b->remote->registry &&
           st_strmap_next(w->by_cid, &it, NULL, NULL, &v)) {
        st_session *s = v;
        if (s->reg_hlc && !s->arriving && !s->leaving) /* a moving one registers on arrival */
            w->b->remote->registry(w->b->remote_cx, w, s->cid, s->cid_len, s->reg_hlc, 1);
    }
}

static st_session *open_session(st_client *c, const char *cid, size_t len, int clean, int *present)
{
    st_worker *w = c->w;
    st_session *s = st_strmap_get(w->by_cid, cid, len);
    *present = 0;
    if (s && s->client) take_over(w, s);
    if (s && (clean || s->leaving)) { /* a leaving one is on its way to another node */
        st_metric_add(&w->metrics, ST_M_SESSION_DISCARDED, 1);
        st_worker_session_end(w, s);
        s = NULL;
    }
    if (s) {
        *present = 1;
        st_session_clear_will(s); /* reconnected in time: a delayed will is cancelled */
        return s;
    }
    return st_worker_session_new(w, cid, len);
}

static void apply_client_limits(st_client *c, st_session *s, const mqtt_packet *p)
{
    const st_settings *cfg = c->w->cfg;
    const mqtt_connect *cn = &p->u.connect;
    const mqtt_props *pr = &p->props;
    c->keepalive_s = cn->keepalive;
    c->recv_max = 65535;
    c->problem_info = 1;
    if (c->version == MQTT_V5) {
        if (cfg->server_keepalive) c->keepalive_s = cfg->server_keepalive;
        if (pr->present & MQTT_HAS(MQTT_PROP_RECEIVE_MAX)) c->recv_max = pr->receive_max;
        if (pr->present & MQTT_HAS(MQTT_PROP_MAX_PACKET_SIZE)) c->max_packet = pr->max_packet_size;
        if (pr->present & MQTT_HAS(MQTT_PROP_TOPIC_ALIAS_MAX))
            c->alias_out_max =
                pr->topic_alias_max < ST_ALIAS_OUT_CAP ? pr->topic_alias_max : ST_ALIAS_OUT_CAP;
        if (pr->present & MQTT_HAS(MQTT_PROP_REQUEST_PROBLEM_INFO))
            c->problem_info = !!pr->request_problem_info;
        uint32_t e = pr->present & MQTT_HAS(MQTT_PROP_SESSION_EXPIRY) ? pr->session_expiry : 0;
        s->expiry_ms = e == 0xFFFFFFFFu ? ST_UNLIMITED : (int64_t)e * 1000;
    } else {
        s->expiry_ms = cn->clean_start ? 0 : cfg->session_expiry_ms;
    }
    if (c->recv_max > cfg->max_inflight) c->recv_max = cfg->max_inflight;
}

static void send_connack(st_client *c, int present, const char *assigned, size_t alen,
                         const mqtt_props *req)
{
    const st_settings *cfg = c->w->cfg;
    mqtt_packet p = {.type = MQTT_CONNACK, .version = c->version, .session_present = present};
    if (c->version == MQTT_V5) {
        mqtt_props *pr = &p.props;
        if (alen) {
            pr->present |= MQTT_HAS(MQTT_PROP_ASSIGNED_CLIENT_ID);
            pr->assigned_client_id = (st_bytes){(const uint8_t *)assigned, (uint32_t)alen};
        }
        if (cfg->server_keepalive) {
            pr->present |= MQTT_HAS(MQTT_PROP_SERVER_KEEPALIVE);
            pr->server_keepalive = cfg->server_keepalive;
        }
        pr->present |= MQTT_HAS(MQTT_PROP_RECEIVE_MAX) | MQTT_HAS(MQTT_PROP_MAX_PACKET_SIZE) |
                       MQTT_HAS(MQTT_PROP_TOPIC_ALIAS_MAX);
        pr->receive_max = cfg->max_inflight;
        pr->max_packet_size = cfg->max_packet_size;
        pr->topic_alias_max = cfg->max_topic_alias;
        if (cfg->max_qos_allowed < 2) {
            pr->present |= MQTT_HAS(MQTT_PROP_MAX_QOS);
            pr->max_qos = cfg->max_qos_allowed;
        }
        if (!cfg->retain_available) pr->present |= MQTT_HAS(MQTT_PROP_RETAIN_AVAILABLE);
        if (!cfg->wildcard_subscription) pr->present |= MQTT_HAS(MQTT_PROP_WILDCARD_SUB_AVAILABLE);
        if (!cfg->shared_subscription) pr->present |= MQTT_HAS(MQTT_PROP_SHARED_SUB_AVAILABLE);
        st_enh_connack(c, pr); /* SCRAM's server-final (enhauth.c) */
        if (req && (req->present & MQTT_HAS(MQTT_PROP_REQUEST_RESPONSE_INFO)) &&
            req->request_response_info && cfg->response_information[0]) {
            pr->present |= MQTT_HAS(MQTT_PROP_RESPONSE_INFO);
            pr->response_info = (st_bytes){(const uint8_t *)cfg->response_information,
                                           (uint32_t)strlen(cfg->response_information)};
        }
    }
    st_client_send(c, &p);
    st_enh_connack_sent(c);
}

/* Returns 0 when the id is acceptable, else the v5 reason code to refuse with. */
static int check_client_id(st_client *c, const mqtt_connect *cn, st_bytes id)
{
    if (id.len > c->w->cfg->max_clientid_len) return MQTT_RC_CLIENT_ID_INVALID;
    if (id.len == 0 && c->version == MQTT_V31) return MQTT_RC_CLIENT_ID_INVALID;
    if (id.len == 0 && c->version == MQTT_V311 && !cn->clean_start)
        return MQTT_RC_CLIENT_ID_INVALID;
    return 0;
}

#define AUTH_PENDING (-1)

/* What goes with a CONNECT to the auth threads and comes back. */
typedef struct auth_wait {
    st_broker *b;
    st_client *c; /* valid unless the job was cancelled (the client closed) */
    uint16_t worker;
    size_t rawlen;
    uint8_t raw[]; /* the CONNECT, decoded again when the answer is here */
} auth_wait;

/* The auth thread's side: back to the client's worker. */
static void auth_done(st_auth_job *j)
{
    auth_wait *aw = j->ud;
    st_worker_post_job(&aw->b->w[aw->worker], j);
}

/* A chain with a slow hash: the CONNECT waits (not read further) while the auth threads
 * run it. AUTH_PENDING, or the reason code to refuse with at once. */
static int auth_submit(st_client *c, const st_credentials *cr, const uint8_t *raw, size_t rawlen)
{
    st_worker *w = c->w;
    st_auth_job *j = st_auth_job_new(cr, sizeof(auth_wait) + rawlen);
    if (!j) return MQTT_RC_SERVER_UNAVAILABLE;
    auth_wait *aw = j->ud;
    *aw = (auth_wait){w->b, c, w->id, rawlen};
    memcpy(aw->raw, raw, rawlen);
    j->done = auth_done;
    st_client_ext *x = st_client_x(c);
    if (!x || st_auth_submit(w->b->auth, j) < 0) {
        st_auth_job_unref(j);
        st_auth_job_unref(j);
        LOG_WARN(w->log, "client %s: too many logins waiting for their password check", c->peer);
        return MQTT_RC_SERVER_BUSY;
    }
    x->auth_job = j;
    c->state = ST_CS_AUTHENTICATING;
    /* not read meanwhile, but a client that gives up and closes is noticed (its FIN), so
     * that its check is dropped rather than run for nobody */
    st_loop_mod(w->loop, &c->io, EPOLLRDHUP | (c->io.events & EPOLLOUT));
    return AUTH_PENDING;
}

/* The authenticator's acl, kept until the client's authorization state is made. */
static void keep_own(st_client *c, st_auth_result *r)
{
    if (!r->own.acl) return;
    st_client_ext *x = st_client_x(c);
    if (x && !x->auth_own)
        x->auth_own = malloc(sizeof *x->auth_own);
    else if (x)
        st_acl_free(x->auth_own->acl);
    if (x && x->auth_own)
        *x->auth_own = r->own;
    else
        st_acl_free(r->own.acl);
    r->own.acl = NULL;
}

void st_connect_auth_done(st_worker *w, void *job)
{
    st_auth_job *j = job;
    auth_wait *aw = j->ud;
    st_client *c = aw->c;
    if (w && !atomic_load(&j->cancelled) && c->x->auth_job == j) {
        c->x->auth_job = NULL;
        st_auth_job_unref(j); /* the client's */
        c->auth_checked = 1;
        st_metric_add(&w->metrics,
                      j->res.ok ? ST_M_AUTHENTICATION_SUCCESS : ST_M_AUTHENTICATION_FAILURE, 1);
        c->auth_reason = j->res.ok ? 0 : j->res.reason;
        c->superuser = j->res.ok && j->res.superuser;
        keep_own(c, &j->res);
        c->state = ST_CS_NEW;
        mqtt_packet p;
        mqtt_dec_opts o = {.max_packet_size = w->cfg->max_packet_size, .is_server = 1};
        if (mqtt_decode(aw->raw, aw->rawlen, &o, &p) > 0)
            st_handle_connect(c, &p, aw->raw, aw->rawlen);
        if (c->state == ST_CS_CONNECTED) {
            st_loop_mod(w->loop, &c->io, EPOLLIN | (c->io.events & EPOLLOUT));
            if (c->ilen) st_client_input(c, NULL, 0); /* what it sent after its CONNECT */
        }
    }
    st_auth_job_unref(j); /* the pool's */
}

void st_connect_auth_cancel(st_client *c)
{
    if (!c->x->auth_job) return;
    LOG_DEBUG(c->w->log, "connection %s: gone while its login was checked; the check is dropped",
              c->peer);
    atomic_store(&c->x->auth_job->cancelled, 1);
    st_auth_job_unref(c->x->auth_job);
    c->x->auth_job = NULL;
}

/* Banned (EMQX's table, before any authenticator): 0, or MQTT_RC_BANNED. */
static int banned(st_client *c, const mqtt_connect *cn, st_bytes id)
{
    st_worker *w = c->w;
    if (!w->b->auth) return 0;
    char ubuf[ST_CERT_ID_MAX], host[64];
    int has_user = 0;
    st_bytes user = st_client_username_of(c, cn, ubuf, sizeof ubuf, &has_user);
    st_client_peer_split(c->peer, host, sizeof host, NULL);
    st_ban ban;
    if (!st_bans_match(st_auth_bans(w->b->auth), (const char *)id.p, id.len,
                       has_user ? (const char *)user.p : NULL, user.len, host, &ban))
        return 0;
    LOG_INFO(w->log, "client %.*s (%s) refused: banned (%s %s%s%s)", (int)id.len,
             (const char *)id.p, c->peer, st_ban_as_name(ban.as), ban.who,
             ban.reason[0] ? ": " : "", ban.reason);
    return MQTT_RC_BANNED;
}

/* The client certificate's common name, in buf (NULL: no TLS, no certificate). */
static const char *cert_cn(st_client *c, char *buf, size_t cap)
{
    long n = c->x->tls ? st_tls_peer_cert(c->x->tls, ST_CERT_CN, buf, cap - 1) : -1;
    if (n < 0) return NULL;
    buf[n] = 0;
    return buf;
}

/* The authenticator chain (docs/security.md §2): 0 let in, AUTH_PENDING (the auth threads
 * decide), else the v5 reason code. */
static int authenticate(st_client *c, const mqtt_connect *cn, st_bytes id, const uint8_t *raw,
                        size_t rawlen)
{
    st_worker *w = c->w;
    if (!w->b->auth) return 0;
    if (c->auth_checked) return c->auth_reason;
    char ubuf[ST_CERT_ID_MAX];
    int has_user = 0;
    st_bytes user = st_client_username_of(c, cn, ubuf, sizeof ubuf, &has_user);
    char host[64], lid[100], cnbuf[ST_CERT_ID_MAX];
    st_client_peer_split(c->peer, host, sizeof host, NULL);
    st_credentials cr = {(const char *)id.p,
                         id.len,
                         has_user ? (const char *)(user.p ? user.p : (const uint8_t *)"") : NULL,
                         user.len,
                         cn->has_password
                             ? (const char *)(cn->password.p ? cn->password.p : (const uint8_t *)"")
                             : NULL,
                         cn->password.len,
                         host,
                         w->cfg->listeners[c->listener].authn_mode,
                         st_client_listener_id(c, lid, sizeof lid),
                         cert_cn(c, cnbuf, sizeof cnbuf)};
    st_auth_result r;
    if (!st_auth_slow(w->b->auth))
        st_auth_check(w->b->auth, &cr, &r);
    else if (!st_auth_try(w->b->auth, &cr, &r))
        return auth_submit(c, &cr, raw, rawlen);
    st_metric_add(&w->metrics, r.ok ? ST_M_AUTHENTICATION_SUCCESS : ST_M_AUTHENTICATION_FAILURE, 1);
    if (r.ok) {
        c->superuser = (uint8_t)r.superuser;
        keep_own(c, &r);
        return 0;
    }
    LOG_INFO(w->log, "client %.*s (%s) refused: %s%s%s", (int)id.len, (const char *)id.p, c->peer,
             r.reason == ST_RC_BAD_CREDENTIALS ? "bad username or password" : "not authorized",
             *r.by ? " by " : "", r.by);
    return r.reason;
}

/* The client's share of the authorization rules (auth/authz.h); none when nothing can be
 * denied (no source, no_match = allow). -1: out of memory. */
static int authz_attach(st_client *c, const mqtt_connect *cn, const char *cid, size_t cidlen)
{
    st_worker *w = c->w;
    st_authz *z = w->b->auth ? st_auth_authz(w->b->auth) : NULL;
    const st_authz_cfg *zc = z ? st_authz_config(z) : NULL;
    if (!zc || (!zc->file[0] && !zc->db && !zc->http && !zc->no_match_deny && !c->x->auth_own))
        return 0;
    c->asks = !!zc->http && !c->superuser;
    char ubuf[ST_CERT_ID_MAX], cnbuf[ST_CERT_ID_MAX], host[64], *id = strndup(cid, cidlen);
    int has_user = 0;
    st_bytes u = st_client_username_of(c, cn, ubuf, sizeof ubuf, &has_user);
    char *user = has_user ? strndup(u.p ? (const char *)u.p : "", u.len) : NULL;
    st_client_peer_split(c->peer, host, sizeof host, NULL);
    st_acl_who who = {id, user, host, cert_cn(c, cnbuf, sizeof cnbuf)};
    st_client_ext *x = st_client_x(c);
    if (x) {
        st_authz_client_free(x->authz);
        x->authz = id && (user || !has_user)
                       ? st_authz_client_new(z, &who, c->superuser, x->auth_own)
                       : NULL;
        if (!x->authz && x->auth_own && (!id || (!user && has_user))) st_acl_free(x->auth_own->acl);
        free(x->auth_own);
        x->auth_own = NULL;
    }
    free(id);
    free(user);
    return x && x->authz ? 0 : -1;
}

/* The will's topic may be published to (checked at CONNECT: a will that may not be is
 * never stored). */
static int will_allowed(st_client *c, const mqtt_connect *cn, const char *cid, size_t cidlen)
{
    st_worker *w = c->w;
    if (!c->x->authz || st_authz_allow_now(st_auth_authz(w->b->auth), c->x->authz, ST_ACL_PUBLISH,
                                           (const char *)cn->will_topic.p, cn->will_topic.len,
                                           cn->will_qos, cn->will_retain, st_loop_now(w->loop)))
        return 1;
    LOG_INFO(w->log, "client %.*s: will to '%.*s' denied by authorization: it is dropped",
             (int)cidlen, cid, (int)cn->will_topic.len, (const char *)cn->will_topic.p);
    return 0;
}

static void connected(st_worker *w, st_client *c, int present)
{
    st_sys_connected(w, c);
    st_metric_add(&w->metrics, ST_M_CLIENT_CONNECTED, 1);
    st_metric_add(&w->metrics, present ? ST_M_SESSION_RESUMED : ST_M_SESSION_CREATED, 1);
}

/* Its username, for the API (GET /api/v5/clients): kept only when it has one. */
static void keep_username(st_client *c, const mqtt_connect *cn)
{
    char ubuf[ST_CERT_ID_MAX];
    int has_user = 0;
    st_bytes u = st_client_username_of(c, cn, ubuf, sizeof ubuf, &has_user);
    st_client_ext *x = has_user && u.len ? st_client_x(c) : NULL;
    if (!x) return;
    free(x->username);
    x->username = strndup((const char *)u.p, u.len);
}

void st_handle_connect(st_client *c, const mqtt_packet *p, const uint8_t *raw, size_t rawlen)
{
    st_worker *w = c->w;
    const mqtt_connect *cn = &p->u.connect;
    c->version = cn->level;
    char certbuf[ST_CERT_ID_MAX];
    st_bytes id = st_client_id_of(c, cn, certbuf, sizeof certbuf);
    int rc = check_client_id(c, cn, id);
    if (!rc) rc = check_will(c, cn);
    if (!rc && !c->auth_checked) rc = banned(c, cn, id);
    int enhanced = c->version == MQTT_V5 && (p->props.present & MQTT_HAS(MQTT_PROP_AUTH_METHOD));
    if (!rc && enhanced && !c->auth_checked)
        rc = st_enh_connect(c, p, raw, rawlen); /* AUTH_PENDING: its AUTH is awaited */
    else if (!rc)
        rc = authenticate(c, cn, id, raw, rawlen);
    if (rc == AUTH_PENDING) return;
    if (!rc && atomic_load(&w->b->evacuating)) /* this node is leaving: another one serves */
        rc = MQTT_RC_USE_ANOTHER_SERVER;
    if (!rc && w->cfg->registry_strict && atomic_load(&w->b->no_quorum))
        rc = MQTT_RC_SERVER_UNAVAILABLE; /* a minority side: the registry cannot order it */
    if (rc) {
        connack_fail(c, (uint8_t)rc);
        return;
    }
    char idbuf[64];
    const char *cid = (const char *)id.p;
    size_t cidlen = id.len, assigned = 0;
    if (cidlen == 0) {
        cidlen = assigned = assign_id(c, idbuf, sizeof idbuf);
        cid = idbuf;
    }
    if (authz_attach(c, cn, cid, cidlen) < 0) {
        connack_fail(c, MQTT_RC_SERVER_UNAVAILABLE);
        return;
    }
    int present;
    st_session *s = open_session(c, cid, cidlen, cn->clean_start, &present);
    if (!s) {
        connack_fail(c, MQTT_RC_SERVER_UNAVAILABLE);
        return;
    }
    apply_client_limits(c, s, p);
    keep_username(c, cn);
    c->clean_start = cn->clean_start;
    s->reg_hlc = st_hlc_now(&w->b->hlc, st_wall_ms()); /* the newest connection wins */
    if (cn->will_flag && will_allowed(c, cn, cid, cidlen))
        st_session_set_will(s, make_will(c, cn, s->sid),
                            c->version == MQTT_V5 ? cn->will_props.will_delay : 0);
    s->client = c;
    st_flow_attach(w, s, +1);
    c->last_progress = st_loop_now(w->loop);
    s->expire_at = 0;
    c->sess = s;
    st_durable_session(w, s, 0);
    const st_remote_ops *ro = w->b->remote;
    if (s->arriving || (!present && !cn->clean_start && !assigned && ro && ro->takeover &&
                        ro->takeover(w->b->remote_cx, w, s))) {
        /* its session may be on another node: CONNACK when it is here (or is not) */
        s->arriving = 1;
        c->state = ST_CS_ARRIVING;
        c->resp_info = (p->props.present & MQTT_HAS(MQTT_PROP_REQUEST_RESPONSE_INFO)) &&
                       p->props.request_response_info;
        st_loop_mod(w->loop, &c->io, c->io.events & EPOLLOUT);
        LOG_DEBUG(w->log, "client %s (%s): asking the cluster for its session", s->cid, c->peer);
        return;
    }
    if (ro && ro->registry) ro->registry(w->b->remote_cx, w, s->cid, s->cid_len, s->reg_hlc, 1);
    c->state = ST_CS_CONNECTED;
    connected(w, c, present);
    send_connack(c, present, assigned ? cid : NULL, assigned ? cidlen : 0, &p->props);
    LOG_DEBUG(w->log, "client %s (%s) connected, v%u, keepalive %u, session %s", s->cid, c->peer,
              c->version, c->keepalive_s, present ? "resumed" : "new");
    if (present) st_session_resume(w, s);
    (void)raw;
    (void)rawlen;
}

void st_session_arrived(st_worker *w, st_session *s, int present)
{
    const st_remote_ops *ro = w->b->remote;
    int64_t now = st_loop_now(w->loop);
    st_client *c = s->client;
    s->arriving = 0;
    if (ro && ro->registry) ro->registry(w->b->remote_cx, w, s->cid, s->cid_len, s->reg_hlc, 1);
    if (!c) { /* moved here with no connection (its node left), or its client went away */
        if (s->expiry_ms == 0) {
            st_worker_session_end(w, s);
            return;
        }
        s->expire_at = s->expiry_ms == ST_UNLIMITED ? 0 : now + s->expiry_ms;
        st_durable_adopt(w, s);
        return;
    }
    st_durable_adopt(w, s);
    mqtt_props req = {0};
    if (c->resp_info) {
        req.present = MQTT_HAS(MQTT_PROP_REQUEST_RESPONSE_INFO);
        req.request_response_info = 1;
    }
    c->state = ST_CS_CONNECTED;
    c->last_rx = now;
    connected(w, c, present);
    send_connack(c, present, NULL, 0, &req);
    LOG_DEBUG(w->log, "client %s (%s) connected, v%u, keepalive %u, session %s", s->cid, c->peer,
              c->version, c->keepalive_s, present ? "moved here" : "new");
    if (present) st_session_resume(w, s);
    st_loop_mod(w->loop, &c->io, EPOLLIN | (c->io.events & EPOLLOUT));
    if (c->ilen) st_client_input(c, NULL, 0); /* what it sent after its CONNECT */
}

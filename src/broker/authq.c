/* authq.c — the http authorization source's questions (client.h; docs/security.md §9).
 *
 * Before a PUBLISH or SUBSCRIBE is handled, each of its topics is put to the sources. When
 * the http source is reached and has not answered that question, the client stops being
 * read, the packet stays unhandled in its input buffer, and an auth thread asks the
 * service. The answer comes back to the worker, is kept by the client's authorization
 * state, and the buffer is parsed again: this time every source has its say, and the
 * handlers decide as they always do. A SUBSCRIBE asks about its filters one at a time,
 * before any of them is subscribed. The client's other packets wait behind the question,
 * in order; other clients never wait for it. */
#include "auth/auth.h"
#include "auth/authz.h"
#include "auth/pool.h"
#include "broker/client.h"
#include "route/trie.h"
#include "core/log.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

typedef struct authq {
    st_broker *b;
    st_client *c; /* valid unless the job was cancelled (the client closed) */
    uint16_t worker;
    uint8_t action, qos, retain;
    int result; /* ST_ACL_*: the service's answer */
    size_t tlen;
    char topic[];
} authq;

/* On an auth thread. */
static void work(st_auth *a, st_auth_job *j)
{
    authq *q = j->ud;
    st_http_who who = {.username = j->cr.username,
                       .clientid = j->cr.clientid,
                       .peerhost = j->cr.peerhost,
                       .cn = j->cr.cn,
                       .ulen = j->cr.ulen,
                       .cidlen = j->cr.cidlen,
                       .topic = q->topic,
                       .tlen = q->tlen,
                       .action = q->action == ST_ACL_PUBLISH ? "publish" : "subscribe",
                       .qos = q->qos,
                       .retain = q->retain};
    q->result = st_authz_ask(st_auth_authz(a), st_auth_http(a), &who);
}

static void done(st_auth_job *j)
{
    authq *q = j->ud;
    st_worker_post_job(&q->b->w[q->worker], j);
}

/* Put the question to the auth threads: 1 asked (c waits), 0 it could not be (then the
 * service counts as having no rule for it). */
static int ask(st_client *c, int action, const char *t, size_t n, int qos, int retain)
{
    st_worker *w = c->w;
    st_http_who who;
    st_authz_client_who(c->x->authz, &who);
    st_credentials cr = {.clientid = who.clientid,
                         .cidlen = who.cidlen,
                         .username = who.username,
                         .ulen = who.ulen,
                         .peerhost = who.peerhost,
                         .cn = who.cn};
    st_auth_job *j = st_auth_job_new(&cr, sizeof(authq) + n + 1);
    if (!j) return 0;
    authq *q = j->ud;
    *q = (authq){w->b, c, w->id, (uint8_t)action, (uint8_t)qos, (uint8_t) !!retain, 0, n};
    memcpy(q->topic, t, n);
    q->topic[n] = 0;
    j->work = work;
    j->done = done;
    if (st_auth_submit(w->b->auth, j) < 0) {
        st_auth_job_unref(j);
        st_auth_job_unref(j);
        LOG_WARN(w->log, "client %s: too many questions waiting for the authorization service",
                 c->sess ? c->sess->cid : c->peer);
        return 0;
    }
    c->x->auth_job = j;
    c->authz_wait = 1;
    st_loop_mod(w->loop, &c->io, c->io.events & EPOLLOUT);
    return 1;
}

/* 1 when the service must be asked about this one first (it has been). */
static int question(st_client *c, int action, const char *t, size_t n, int qos, int retain)
{
    st_worker *w = c->w;
    int r = st_authz_allow(st_auth_authz(w->b->auth), c->x->authz, action, t, n, qos, retain,
                           st_loop_now(w->loop));
    if (r != ST_AUTHZ_ASK) return 0;
    if (ask(c, action, t, n, qos, retain)) return 1;
    st_authz_answer(c->x->authz, action, t, n, qos, retain, ST_ACL_NOMATCH);
    return 0;
}

int st_authq_before(st_client *c, const mqtt_packet *p)
{
    if (!c->x->authz) return 0;
    if (p->type == MQTT_PUBLISH) {
        const mqtt_publish *pub = &p->u.publish;
        const char *t = (const char *)pub->topic.p;
        size_t n = pub->topic.len;
        uint16_t a = p->props.present & MQTT_HAS(MQTT_PROP_TOPIC_ALIAS) ? p->props.topic_alias : 0;
        if (!n && a && a <= c->nalias_in && c->alias_in[a - 1]) { /* an alias already set */
            t = c->alias_in[a - 1];
            n = strlen(t);
        }
        if (!n) return 0; /* the handler says what is wrong with it */
        return question(c, ST_ACL_PUBLISH, t, n, pub->qos, pub->retain);
    }
    const mqtt_list *l = &p->u.subscribe;
    uint32_t off = 0;
    st_bytes fb;
    mqtt_subopts o;
    while (mqtt_sub_next(l, &off, &fb, &o)) {
        const char *g, *real = (const char *)fb.p;
        size_t glen, rlen = fb.len;
        if (st_share_parse((const char *)fb.p, fb.len, &g, &glen, &real, &rlen) < 0) continue;
        if (question(c, ST_ACL_SUBSCRIBE, real, rlen, o.qos, 0)) return 1;
    }
    return 0;
}

void st_authq_done(st_worker *w, void *job)
{
    st_auth_job *j = job;
    authq *q = j->ud;
    st_client *c = q->c;
    if (w && !atomic_load(&j->cancelled) && c->x->auth_job == j) {
        c->x->auth_job = NULL;
        st_auth_job_unref(j); /* the client's */
        c->authz_wait = 0;
        if (c->x->authz)
            st_authz_answer(c->x->authz, q->action, q->topic, q->tlen, q->qos, q->retain,
                            q->result);
        if (!st_client_held(c)) {
            c->last_rx = st_loop_now(w->loop); /* it was not silent: we did not read it */
            st_loop_mod(w->loop, &c->io, EPOLLIN | (c->io.events & EPOLLOUT));
            if (c->ilen) st_client_input(c, NULL, 0);
        }
    }
    st_auth_job_unref(j); /* the pool's */
}

/* subscribe.c — SUBSCRIBE and UNSUBSCRIBE: per-filter checks with the MQTT 5 reason code
 * each failure earns, the session's record and the node table kept in step, and retained
 * messages (Retain Handling 0/1/2) sent right after the SUBACK. */
#include "auth/auth.h"
#include "broker/durable.h"
#include "broker/sys.h"
#include "broker/client.h"
#include "core/err.h"
#include "route/trie.h"

#include <stdlib.h>
#include <string.h>

static int has_wildcard(const char *f, size_t n)
{
    return memchr(f, '+', n) || memchr(f, '#', n);
}

/* 0 when acceptable, else the SUBACK reason code; *fatal for a protocol error. */
static int check_filter(st_client *c, st_bytes fb, const mqtt_subopts *o, int *fatal)
{
    const st_settings *cfg = c->w->cfg;
    const char *f = (const char *)fb.p, *g, *real = f;
    size_t glen, rlen = fb.len;
    *fatal = 0;
    if (mqtt_topic_filter_check(fb.p, fb.len) < 0) return MQTT_RC_TOPIC_FILTER_INVALID;
    int shared = st_share_parse(f, fb.len, &g, &glen, &real, &rlen);
    if (shared < 0) return MQTT_RC_TOPIC_FILTER_INVALID;
    if (shared && !cfg->shared_subscription) return MQTT_RC_SHARED_SUB_NOT_SUPPORTED;
    if (shared && o->no_local && c->version == MQTT_V5) {
        *fatal = 1;
        return MQTT_RC_PROTOCOL_ERROR;
    }
    if (has_wildcard(real, rlen) && !cfg->wildcard_subscription)
        return MQTT_RC_WILDCARD_SUB_NOT_SUPPORTED;
    if (st_topic_levels(real, rlen) > cfg->max_topic_levels) return MQTT_RC_TOPIC_FILTER_INVALID;
    return 0;
}

/* 0, or MQTT_RC_NOT_AUTHORIZED (*fatal with deny_action = disconnect). A shared
 * subscription is authorized by its real filter, as EMQX does. */
static int authorize_filter(st_client *c, st_bytes fb, const mqtt_subopts *o, int *fatal)
{
    const char *g, *real = (const char *)fb.p;
    size_t glen, rlen = fb.len;
    if (!c->x->authz) return 0;
    st_share_parse((const char *)fb.p, fb.len, &g, &glen, &real, &rlen);
    if (st_client_authorized(c, ST_ACL_SUBSCRIBE, real, rlen, o->qos, 0)) return 0;
    st_metric_add(&c->w->metrics, ST_M_PACKETS_SUBSCRIBE_AUTH_ERROR, 1);
    *fatal = st_authz_config(st_auth_authz(c->w->b->auth))->deny_disconnect;
    return MQTT_RC_NOT_AUTHORIZED;
}

int st_session_subscribe(st_worker *w, st_session *s, const char *f, size_t len,
                         const mqtt_subopts *o, uint32_t sub_id, int *created)
{
    st_client *c = s->client;
    if (!st_session_sub_find(s, f, len) && w->cfg->max_subscriptions != ST_UNLIMITED &&
        s->nsubs >= w->cfg->max_subscriptions)
        return MQTT_RC_QUOTA_EXCEEDED;
    uint8_t granted = o->qos < w->cfg->max_qos_allowed ? o->qos : w->cfg->max_qos_allowed;
    st_subrec *r = st_session_sub_put(s, f, len, created);
    if (!r) return MQTT_RC_UNSPECIFIED;
    r->qos = granted;
    r->flags = (uint8_t)((o->no_local ? ST_SUB_NL : 0) | (o->retain_as_published ? ST_SUB_RAP : 0));
    if (c && c->version != MQTT_V5 && w->cfg->ignore_loop_deliver) r->flags |= ST_SUB_NL;
    r->sub_id = sub_id;
    st_target t = {.sid = s->sid,
                   .worker = w->id,
                   .qos = granted,
                   .flags = st_durable_tflags(w, s, f, len, r->flags),
                   .sub_id = sub_id};
    if (st_subs_add(w->b->subs, f, len, &t) < 0) {
        st_session_sub_del(s, f, len);
        return MQTT_RC_UNSPECIFIED;
    }
    if (c) st_sys_subscribed(w, c, f, len, granted, 0);
    return granted;
}

int st_session_unsubscribe(st_worker *w, st_session *s, const char *f, size_t len)
{
    int removed = st_session_sub_del(s, f, len);
    if (removed) st_subs_del(w->b->subs, f, len, s->sid);
    if (removed && s->client) st_sys_subscribed(w, s->client, f, len, 0, 1);
    return removed;
}

typedef struct retained_ctx {
    st_worker *w;
    st_session *s;
    st_target t;
} retained_ctx;

static void retained_cb(st_msg *m, void *ctx)
{
    retained_ctx *r = ctx;
    if (r->s->client) st_session_deliver(r->w, r->s, m, &r->t);
    st_msg_unref(m);
}

void st_session_send_retained(st_worker *w, st_session *s, const char *f, size_t len,
                              uint8_t granted, uint32_t sub_id)
{
    const char *g, *real = f;
    size_t glen, rlen = len;
    if (!s->client || !w->cfg->retainer_enable) return;
    if (st_share_parse(f, len, &g, &glen, &real, &rlen) != 0) return;
    retained_ctx r = {
        w,
        s,
        {.sid = s->sid, .worker = w->id, .qos = granted, .flags = ST_T_RETAINED, .sub_id = sub_id}};
    st_retain_match(w->b->retain, real, rlen, st_loop_now(w->loop), retained_cb, &r);
}

void st_handle_subscribe(st_client *c, const mqtt_packet *p)
{
    if (c->state != ST_CS_CONNECTED) return;
    const mqtt_list *l = &p->u.subscribe;
    uint8_t stack_codes[64], stack_new[64];
    uint8_t *codes = l->count <= 64 ? stack_codes : malloc(l->count);
    uint8_t *isnew = l->count <= 64 ? stack_new : malloc(l->count);
    uint32_t sub_id =
        (p->props.present & MQTT_HAS(MQTT_PROP_SUBSCRIPTION_ID)) ? p->props.sub_ids[0] : 0;
    uint32_t off = 0;
    st_bytes fb;
    mqtt_subopts o;
    if (!codes || !isnew) goto out;
    st_broker *b = c->w->b;
    uint64_t posted = atomic_load(&b->route_posted);
    for (uint16_t i = 0; mqtt_sub_next(l, &off, &fb, &o); i++) {
        int fatal, created = 0;
        int rc = check_filter(c, fb, &o, &fatal);
        if (!rc) rc = authorize_filter(c, fb, &o, &fatal);
        if (fatal) {
            st_client_disconnect(c, (uint8_t)rc, 1);
            goto out;
        }
        if (!rc)
            rc = st_session_subscribe(c->w, c->sess, (const char *)fb.p, fb.len, &o, sub_id,
                                      &created);
        codes[i] = (uint8_t)rc;
        isnew[i] = (uint8_t)created;
        if (rc >= 0x80)
            LOG_INFO(c->w->log, "client %s: SUBSCRIBE '%.*s' refused (0x%02x)", c->sess->cid,
                     (int)fb.len, (const char *)fb.p, rc);
        if (rc >= 0x80 && c->version != MQTT_V5) codes[i] = 0x80;
    }
    st_durable_session(c->w, c->sess, 0);
    uint64_t now_posted = atomic_load(&b->route_posted);
    if (now_posted != posted && !c->hold_out && now_posted > atomic_load(&b->route_acked)) {
        c->hold_out = now_posted; /* new routes: SUBACK once the other nodes have them */
        atomic_fetch_add(&c->w->nheld, 1);
    }
    mqtt_packet ack = {.type = MQTT_SUBACK, .version = c->version, .packet_id = p->packet_id};
    ack.u.acks.raw = (st_bytes){codes, l->count};
    ack.u.acks.count = l->count;
    st_client_send(c, &ack);
    if (!c->w->cfg->retainer_enable) goto out;
    off = 0;
    for (uint16_t i = 0; mqtt_sub_next(l, &off, &fb, &o); i++) {
        if (codes[i] >= 0x80) continue;
        if (o.retain_handling == 2 || (o.retain_handling == 1 && !isnew[i])) continue;
        st_session_send_retained(c->w, c->sess, (const char *)fb.p, fb.len, codes[i], sub_id);
    }
out:
    if (codes != stack_codes) free(codes);
    if (isnew != stack_new) free(isnew);
}

void st_handle_unsubscribe(st_client *c, const mqtt_packet *p)
{
    if (c->state != ST_CS_CONNECTED) return;
    const mqtt_list *l = &p->u.unsubscribe;
    uint8_t stack_codes[64];
    uint8_t *codes = l->count <= 64 ? stack_codes : malloc(l->count);
    if (!codes) return;
    uint32_t off = 0;
    st_bytes fb;
    for (uint16_t i = 0; mqtt_unsub_next(l, &off, &fb); i++) {
        const char *f = (const char *)fb.p;
        if (mqtt_topic_filter_check(fb.p, fb.len) < 0) {
            codes[i] = MQTT_RC_TOPIC_FILTER_INVALID;
            continue;
        }
        int removed = st_session_unsubscribe(c->w, c->sess, f, fb.len);
        codes[i] = removed ? MQTT_RC_SUCCESS : MQTT_RC_NO_SUBSCRIPTION_EXISTED;
    }
    st_durable_session(c->w, c->sess, 0);
    mqtt_packet ack = {.type = MQTT_UNSUBACK, .version = c->version, .packet_id = p->packet_id};
    ack.u.acks.raw = (st_bytes){codes, l->count};
    ack.u.acks.count = l->count;
    st_client_send(c, &ack);
    if (codes != stack_codes) free(codes);
}

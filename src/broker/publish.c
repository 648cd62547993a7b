/* publish.c — PUBLISH in both directions and the QoS 1/2 acknowledgement flows.
 * Inbound: validate, build one st_msg, store if retained, dispatch, acknowledge.
 * Outbound: each delivery encodes only the packet head per subscriber; payloads above a
 * small size go out by reference from the shared message (writev), never copied. */
#include "auth/auth.h"
#include "broker/client.h"
#include "broker/trace.h"
#include "broker/dedup.h"
#include "broker/durable.h"
#include "broker/flow.h"
#include "core/clock.h"
#include "core/err.h"
#include "route/trie.h"

#include <stdlib.h>
#include <string.h>

#define INLINE_PAYLOAD 256 /* smaller payloads are copied next to their header */

static void send_ack(st_client *c, uint8_t type, uint16_t pid, uint8_t reason)
{
    mqtt_packet p = {.type = type, .version = c->version, .packet_id = pid, .reason = reason};
    if (type == MQTT_PUBREL) p.flags = 2;
    st_client_send(c, &p);
}

static const char *alias_topic(st_client *c, const mqtt_packet *p, uint32_t *len, int *err)
{
    const mqtt_publish *pub = &p->u.publish;
    *err = 0;
    *len = pub->topic.len;
    if (!(p->props.present & MQTT_HAS(MQTT_PROP_TOPIC_ALIAS))) return (const char *)pub->topic.p;
    uint16_t a = p->props.topic_alias;
    if (a == 0 || a > c->w->cfg->max_topic_alias) {
        *err = MQTT_RC_TOPIC_ALIAS_INVALID;
        return NULL;
    }
    if (a > c->nalias_in) {
        char **v = realloc(c->alias_in, a * sizeof *v);
        if (!v) {
            *err = MQTT_RC_UNSPECIFIED;
            return NULL;
        }
        memset(v + c->nalias_in, 0, (a - c->nalias_in) * sizeof *v);
        c->alias_in = v;
        c->nalias_in = a;
    }
    char **slot = &c->alias_in[a - 1];
    if (pub->topic.len) {
        char *t = realloc(*slot, pub->topic.len + 1);
        if (!t) {
            *err = MQTT_RC_UNSPECIFIED;
            return NULL;
        }
        memcpy(t, pub->topic.p, pub->topic.len);
        t[pub->topic.len] = 0;
        *slot = t;
        return t;
    }
    if (!*slot) {
        *err = MQTT_RC_PROTOCOL_ERROR;
        return NULL;
    }
    *len = (uint32_t)strlen(*slot);
    return *slot;
}

/* Reason code that refuses this PUBLISH (disconnect-worthy ones are >= 0x80 and flagged
 * through *fatal), or 0. */
static int check_publish(st_client *c, const mqtt_packet *p, const char *topic, uint32_t tlen,
                         int *fatal)
{
    const st_settings *cfg = c->w->cfg;
    const mqtt_publish *pub = &p->u.publish;
    *fatal = 1;
    if (pub->qos > cfg->max_qos_allowed) return MQTT_RC_QOS_NOT_SUPPORTED;
    if (pub->retain && !cfg->retain_available) return MQTT_RC_RETAIN_NOT_SUPPORTED;
    if (st_topic_levels(topic, tlen) > cfg->max_topic_levels) return MQTT_RC_TOPIC_NAME_INVALID;
    *fatal = 0;
    if ((p->props.present & MQTT_HAS(MQTT_PROP_PAYLOAD_FORMAT)) && p->props.payload_format == 1 &&
        mqtt_utf8_check(pub->payload.p, pub->payload.len) < 0)
        return MQTT_RC_PAYLOAD_FORMAT_INVALID;
    return 0;
}

int st_worker_store_retained(st_worker *w, st_msg *msg)
{
    const st_settings *cfg = w->cfg;
    if (!cfg->retainer_enable || msg->payload_len > cfg->retained_max_payload) return 0;
    if (!msg->rv) msg->rv = st_hlc_now(&w->b->hlc, st_wall_ms()); /* written here, now */
    st_msg *r = msg;
    if (cfg->retained_expiry_ms > 0 && !msg->has_expiry) {
        r = st_msg_clone(msg, msg->qos, 1);
        if (!r) return 0;
        r->has_expiry = 1;
        r->expire_at = st_loop_now(w->loop) + cfg->retained_expiry_ms;
        r->rv = msg->rv;
    }
    int rc = st_retain_put(w->b->retain, r);
    if (rc == ST_EFULL)
        LOG_WARN(w->log, "retained message store full; '%s' not retained", msg->topic);
    if (rc == 1) st_durable_retained(w, r);
    if (r != msg) st_msg_unref(r);
    return rc == 1;
}

void st_worker_publish(st_worker *w, st_msg *msg)
{
    if (msg->retain) st_worker_store_retained(w, msg);
    st_worker_dispatch(w, msg, "", 0, NULL);
}

/* ---- acks that wait for other nodes (remote.h) ---------------------------------------- */

static st_pack *pack_new(st_client *c)
{
    st_pack *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->c = c;
    if (c->packs_tail)
        c->packs_tail->next = p;
    else
        c->packs = p;
    c->packs_tail = p;
    return p;
}

/* Send the acks at the head of the FIFO that wait for nothing any more. */
static void packs_flush(st_client *c)
{
    st_pack *p;
    while ((p = c->packs) && p->waits == 0 && p->type) {
        c->packs = p->next;
        if (!c->packs) c->packs_tail = NULL;
        send_ack(c, p->type, p->pid, p->reason);
        free(p);
    }
}

st_pack *st_ackwait_hold(st_ackwait *aw)
{
    if (!aw->c) return NULL;
    if (!aw->pack && !(aw->pack = pack_new(aw->c))) return NULL;
    aw->pack->waits++;
    return aw->pack;
}

void st_pack_done(st_pack *p)
{
    if (p->waits && --p->waits) return;
    if (p->c)
        packs_flush(p->c);
    else
        free(p);
}

void st_client_packs_orphan(st_client *c)
{
    st_pack *p = c->packs, *next;
    for (; p; p = next) {
        next = p->next;
        p->next = NULL;
        p->c = NULL;
        if (p->waits == 0) free(p);
    }
    c->packs = c->packs_tail = NULL;
}

/* PUBACK / PUBREC for a PUBLISH: now, or in order behind acks still waiting. */
static void ack_publish(st_client *c, uint8_t type, uint16_t pid, uint8_t reason, st_pack *p)
{
    if (!p && !c->packs) {
        send_ack(c, type, pid, reason);
        return;
    }
    if (!p && !(p = pack_new(c))) {
        send_ack(c, type, pid, reason);
        return;
    }
    p->type = type;
    p->pid = pid;
    p->reason = reason;
    packs_flush(c);
}

/* Authorization (auth/authz.h): 1 to go on. A denied PUBLISH disconnects (deny_action =
 * disconnect), or is answered 0x87 (MQTT 5), or is dropped and acknowledged as usual (3.x, as
 * EMQX does). */
static int authorize(st_client *c, const mqtt_packet *p, const char *topic, uint32_t tlen)
{
    const mqtt_publish *pub = &p->u.publish;
    if (st_client_authorized(c, ST_ACL_PUBLISH, topic, tlen, pub->qos, pub->retain)) return 1;
    st_metric_add(&c->w->metrics, ST_M_PACKETS_PUBLISH_AUTH_ERROR, 1);
    if (st_authz_config(st_auth_authz(c->w->b->auth))->deny_disconnect) {
        st_client_disconnect(c, MQTT_RC_NOT_AUTHORIZED, 1);
        return 0;
    }
    uint8_t type = pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC;
    if (c->version == MQTT_V5) {
        if (pub->qos) ack_publish(c, type, p->packet_id, MQTT_RC_NOT_AUTHORIZED, NULL);
        return 0;
    }
    if (pub->qos == 2 && st_session_rel_add(c->sess, p->packet_id, st_loop_now(c->w->loop)) == 0)
        st_durable_rel(c->w, c->sess, p->packet_id, 1);
    if (pub->qos) ack_publish(c, type, p->packet_id, 0, NULL);
    return 0;
}

void st_handle_publish(st_client *c, const mqtt_packet *p)
{
    st_worker *w = c->w;
    st_session *s = c->sess;
    const mqtt_publish *pub = &p->u.publish;
    int err, fatal;
    uint32_t tlen;
    c->publisher = 1;
    if (c->state != ST_CS_CONNECTED) return;
    const char *topic = alias_topic(c, p, &tlen, &err);
    if (!topic) {
        st_client_disconnect(c, (uint8_t)err, 1);
        return;
    }
    int rc = check_publish(c, p, topic, tlen, &fatal);
    if (rc && (fatal || c->version != MQTT_V5)) {
        LOG_NOTICE(w->log, "client %s: PUBLISH to '%.*s' refused (0x%02x)", s->cid, (int)tlen,
                   topic, rc);
        st_client_disconnect(c, (uint8_t)rc, 1);
        return;
    }
    if (pub->qos == 2 && st_session_rel_find(s, p->packet_id) >= 0) {
        ack_publish(c, MQTT_PUBREC, p->packet_id, 0, NULL); /* duplicate: not delivered again */
        return;
    }
    /* more QoS 2 messages awaiting PUBREL than our Receive Maximum (max_inflight) or
     * mqtt.max_awaiting_rel allow: EMQX disconnects with 0x93, and so do we */
    if (pub->qos == 2 &&
        (s->nrel >= w->cfg->max_inflight ||
         (w->cfg->max_awaiting_rel != ST_UNLIMITED && s->nrel >= w->cfg->max_awaiting_rel))) {
        LOG_NOTICE(w->log, "client %s: too many QoS 2 messages awaiting PUBREL", s->cid);
        st_client_disconnect(c, MQTT_RC_RECEIVE_MAX_EXCEEDED, 1);
        return;
    }
    if (!rc && !authorize(c, p, topic, tlen)) return;
    if (rc) {
        if (pub->qos)
            ack_publish(c, pub->qos == 1 ? MQTT_PUBACK : MQTT_PUBREC, p->packet_id, (uint8_t)rc,
                        NULL);
        return;
    }
    int64_t dexp = w->cfg->message_expiry_ms == ST_UNLIMITED ? 0 : w->cfg->message_expiry_ms;
    st_msg *msg = st_msg_new(topic, tlen, pub->payload.p, pub->payload.len,
                             c->version == MQTT_V5 ? &p->props : NULL, pub->qos, pub->retain,
                             st_loop_now(w->loop), dexp);
    if (!msg) {
        st_client_disconnect(c, MQTT_RC_SERVER_BUSY, 1);
        return;
    }
    msg->from_sid = s->sid;
    st_worker_stamp(w, msg);
    int kept = pub->retain && st_worker_store_retained(w, msg);
    st_ackwait aw = {pub->qos ? c : NULL, NULL};
    size_t n = st_worker_dispatch(w, msg, s->cid, s->cid_len, &aw);
    if (kept) st_durable_hold_retained(w, &aw);
    if (kept) st_metric_add(&w->metrics, ST_M_MESSAGES_RETAINED, 1);
    if (!n) st_metric_add(&w->metrics, ST_M_MESSAGES_DROPPED_NO_SUBSCRIBERS, 1);
    st_msg_unref(msg);
    uint8_t reason = n || c->version != MQTT_V5 ? 0 : MQTT_RC_NO_MATCHING_SUBSCRIBERS;
    if (pub->qos == 1) ack_publish(c, MQTT_PUBACK, p->packet_id, reason, aw.pack);
    if (pub->qos == 2) {
        if (st_session_rel_add(s, p->packet_id, st_loop_now(w->loop)) == 0)
            st_durable_rel(w, s, p->packet_id, 1);
        ack_publish(c, MQTT_PUBREC, p->packet_id, reason, aw.pack);
    }
}

/* Server-side topic alias for this topic (0: none). The first PUBLISH with a new alias
 * carries the topic; later ones send an empty topic and the alias only. */
static uint16_t out_alias(st_client *c, const st_msg *m, int *known)
{
    *known = 0;
    if (!c->alias_out_max) return 0;
    if (!c->alias_out && !(c->alias_out = st_strmap_new())) return 0;
    uintptr_t a = (uintptr_t)st_strmap_get(c->alias_out, m->topic, m->topic_len);
    if (a) {
        *known = 1;
        return (uint16_t)a;
    }
    if (c->nalias_out >= c->alias_out_max) return 0;
    a = ++c->nalias_out;
    if (st_strmap_put(c->alias_out, m->topic, m->topic_len, (void *)a) < 0) {
        c->nalias_out--;
        return 0;
    }
    return (uint16_t)a;
}

/* Encode and queue one PUBLISH to c. Returns 0, or ST_ETOOLARGE when it exceeds the
 * client's Maximum Packet Size (the message is then dropped for this client). */
static int send_publish(st_client *c, const st_qitem *it, uint16_t pid, int dup)
{
    st_msg *m = it->msg;
    mqtt_publish pub = {.topic = {(const uint8_t *)m->topic, m->topic_len},
                        .qos = it->qos,
                        .retain = it->retain,
                        .dup = (uint8_t)dup};
    mqtt_props pr = m->props;
    if (c->version == MQTT_V5) {
        if (m->props.present & MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY))
            pr.message_expiry = st_msg_remaining_s(m, st_loop_now(c->w->loop));
        if (it->sub_id) {
            pr.present |= MQTT_HAS(MQTT_PROP_SUBSCRIPTION_ID);
            pr.sub_ids[0] = it->sub_id;
            pr.n_sub_ids = 1;
        }
        int known;
        uint16_t alias = out_alias(c, m, &known);
        if (alias) {
            pr.present |= MQTT_HAS(MQTT_PROP_TOPIC_ALIAS);
            pr.topic_alias = alias;
            if (known) pub.topic.len = 0;
        }
    }
    uint8_t head[1024];
    long n =
        mqtt_encode_publish_head(c->version, &pub, pid, &pr, m->payload_len, head, sizeof head);
    if (n < 0) return (int)n;
    if (c->max_packet && (uint64_t)n + m->payload_len > c->max_packet) {
        if (pr.present & MQTT_HAS(MQTT_PROP_TOPIC_ALIAS) && pub.topic.len) { /* never used */
            st_strmap_del(c->alias_out, m->topic, m->topic_len);
            c->nalias_out--;
        }
        return ST_ETOOLARGE;
    }
    if ((size_t)n > sizeof head) {
        uint8_t *dst = st_outq_reserve(&c->outq, (uint32_t)n);
        if (!dst) return ST_ENOMEM;
        mqtt_encode_publish_head(c->version, &pub, pid, &pr, m->payload_len, dst, (size_t)n);
    } else if (st_outq_append(&c->outq, head, (uint32_t)n) < 0) {
        return ST_ENOMEM;
    }
    st_metrics *mt = &c->w->metrics;
    st_metric_add(mt, ST_M_MESSAGES_QOS0_SENT + it->qos, 1); /* packets.publish.sent: sum */
    st_metric_add(mt, ST_M_BYTES_SENT, (uint64_t)n + m->payload_len);
    if (m->payload_len <= INLINE_PAYLOAD) {
        if (m->payload_len) st_outq_append(&c->outq, m->payload, m->payload_len);
    } else {
        st_outq_push_ref(&c->outq, m->payload, m->payload_len, st_msg_ref(m));
    }
    if (st_tracing(c->w)) st_trace_delivery(c, m, it->qos, it->retain, (uint8_t)dup, pid);
    st_client_mark_dirty(c);
    return 0;
}

/* Send it now if the window allows; returns 1 if consumed (sent or dropped), 0 if the
 * item must wait in the queue. */
static int try_send(st_worker *w, st_session *s, st_qitem *it)
{
    st_client *c = s->client;
    if (!c || s->arriving || !st_client_writable(c)) return 0;
    if (st_msg_expired(it->msg, st_loop_now(w->loop))) {
        st_durable_done(w, s, it);
        st_qitem_release(it);
        return 1;
    }
    if (it->qos == 0) {
        send_publish(c, it, 0, 0);
        st_qitem_release(it);
        return 1;
    }
    if (s->ninf >= c->recv_max) return 0;
    uint16_t pid = st_session_next_pid(s);
    if (send_publish(c, it, pid, 0) < 0) {
        st_flow_dropped(w, s, ST_DROP_TOO_LARGE);
        st_durable_done(w, s, it);
        st_qitem_release(it);
        return 1;
    }
    st_inflight *f = st_session_inflight_add(s);
    if (!f) {
        st_durable_done(w, s, it);
        st_qitem_release(it);
        return 1;
    }
    f->it = *it;
    f->pid = pid;
    f->state = ST_INF_WAIT_ACK;
    f->sent_at = st_loop_now(w->loop);
    st_durable_inflight(w, s, f);
    return 1;
}

static void enqueue(st_worker *w, st_session *s, st_qitem *it)
{
    st_qitem dropped;
    if (it->qos == 0 && !s->client && !w->cfg->mqueue_store_qos0) {
        st_flow_dropped(w, s, ST_DROP_QOS0_OFFLINE);
        st_qitem_release(it);
        return;
    }
    int reason;
    int64_t limit = st_flow_queue_limit(w, s, &reason);
    /* a queue that grew while its client was reading is cut to the limit at once */
    while (limit && s->qlen > (uint64_t)limit) {
        st_session_drop_oldest(s, &dropped);
        st_flow_dropped(w, s, reason);
        st_durable_done(w, s, &dropped);
        st_qitem_release(&dropped);
    }
    if (st_session_enqueue(s, it, limit ? limit : ST_UNLIMITED, &dropped) < 0) {
        st_durable_done(w, s, it);
        st_qitem_release(it);
        return;
    }
    if (s->client && !dropped.msg) st_flow_queued(w, s);
    /* A message pushed out of a full queue is dropped, as EMQX does, even when it came
     * through a shared group: handing it to another member whose queue is full too
     * would bounce it between members forever. Redispatch is for sessions that end. */
    if (dropped.msg) {
        st_flow_dropped(w, s, reason);
        st_durable_done(w, s, &dropped);
        st_qitem_release(&dropped);
    }
}

void st_session_deliver(st_worker *w, st_session *s, st_msg *msg, const st_target *t)
{
    uint8_t qos = w->cfg->upgrade_qos ? t->qos : (msg->qos < t->qos ? msg->qos : t->qos);
    st_qitem it = {.msg = st_msg_ref(msg),
                   .share = t->share,
                   .sub_id = t->sub_id,
                   .qos = qos,
                   .retain = (t->flags & ST_SUB_RAP) ? msg->retain : 0};
    if (t->flags & ST_T_RETAINED) it.retain = 1;
    it.dur_mid = st_durable_entry_of(w, s, msg, t, qos);
    if (w->dedup && st_dedup_seen(w, s->sid, msg)) { /* it came with the session (dedup.h) */
        st_durable_done(w, s, &it);
        st_qitem_release(&it);
        return;
    }
    st_client *c = s->client;
    if (c && !s->qlen && !s->ninf && !c->outq.bytes) /* idle until now: the clock starts */
        c->last_progress = st_loop_now(w->loop);
    if (c) st_flow_consumer(w, c);
    if (s->qlen == 0 && try_send(w, s, &it)) return;
    enqueue(w, s, &it);
}

void st_session_pump(st_worker *w, st_session *s)
{
    while (s->qlen && s->client && !s->arriving && st_client_writable(s->client)) {
        st_qitem *head = &s->q[s->qhead];
        if (head->qos > 0 && s->ninf >= s->client->recv_max) break;
        st_qitem it;
        st_session_dequeue(s, &it);
        st_flow_dequeued(w, s);
        if (!try_send(w, s, &it)) { /* cannot happen after the checks above */
            st_qitem_release(&it);
            break;
        }
    }
}

void st_session_resume(st_worker *w, st_session *s)
{
    st_client *c = s->client;
    if (!c || s->arriving) return;
    for (uint32_t i = 0; i < s->ninf; i++) {
        st_inflight *f = &s->inf[i];
        f->sent_at = st_loop_now(w->loop);
        if (f->state == ST_INF_WAIT_COMP)
            send_ack(c, MQTT_PUBREL, f->pid, 0);
        else
            send_publish(c, &f->it, f->pid, 1);
    }
    st_session_pump(w, s);
}

static void ack_inflight(st_client *c, const mqtt_packet *p)
{
    st_worker *w = c->w;
    st_session *s = c->sess;
    st_inflight *f = st_session_inflight_find(s, p->packet_id);
    c->last_progress = st_loop_now(w->loop);
    if (p->type == MQTT_PUBREC) {
        if (!f || f->state != ST_INF_WAIT_ACK) {
            if (!f)
                send_ack(c, MQTT_PUBREL, p->packet_id,
                         c->version == MQTT_V5 ? MQTT_RC_PACKET_ID_NOT_FOUND : 0);
            return;
        }
        if (p->reason >= 0x80) { /* the receiver refused it: the flow ends here */
            st_durable_done(w, s, &f->it);
            st_qitem_release(&f->it);
            st_session_inflight_del(s, f);
        } else {
            f->state = ST_INF_WAIT_COMP;
            st_durable_inflight(w, s, f);
            st_qitem_release(&f->it);
            send_ack(c, MQTT_PUBREL, p->packet_id, 0);
            return;
        }
    } else {
        uint8_t want = p->type == MQTT_PUBACK ? ST_INF_WAIT_ACK : ST_INF_WAIT_COMP;
        if (!f || f->state != want) return;
        st_durable_done(w, s, &f->it);
        st_qitem_release(&f->it);
        st_session_inflight_del(s, f);
    }
    st_session_pump(w, s);
}

void st_handle_ack(st_client *c, const mqtt_packet *p)
{
    if (c->state != ST_CS_CONNECTED) return;
    if (p->type != MQTT_PUBREL) {
        ack_inflight(c, p);
        return;
    }
    int found = st_session_rel_del(c->sess, p->packet_id);
    if (found) st_durable_rel(c->w, c->sess, p->packet_id, 0);
    send_ack(c, MQTT_PUBCOMP, p->packet_id,
             found || c->version != MQTT_V5 ? 0 : MQTT_RC_PACKET_ID_NOT_FOUND);
}

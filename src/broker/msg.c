/* msg.c — one allocation per message: header, topic, payload, property bytes. */
#include "broker/msg.h"

#include <stdlib.h>
#include <string.h>

static uint32_t pass_size(const mqtt_props *p)
{
    if (!p) return 0;
    return p->content_type.len + p->response_topic.len + p->correlation_data.len + p->user.len;
}

static st_bytes copy_bytes(uint8_t **cur, st_bytes b)
{
    st_bytes out = {*cur, b.len};
    if (b.len) memcpy(*cur, b.p, b.len);
    *cur += b.len;
    return out;
}

static const uint64_t PASS_MASK =
    MQTT_HAS(MQTT_PROP_PAYLOAD_FORMAT) | MQTT_HAS(MQTT_PROP_CONTENT_TYPE) |
    MQTT_HAS(MQTT_PROP_RESPONSE_TOPIC) | MQTT_HAS(MQTT_PROP_CORRELATION_DATA);

st_msg *st_msg_new(const char *topic, uint32_t tlen, const uint8_t *payload, uint32_t plen,
                   const mqtt_props *props, uint8_t qos, uint8_t retain, int64_t now_ms,
                   int64_t default_expiry_ms)
{
    size_t sz = sizeof(st_msg) + tlen + 1 + plen + pass_size(props);
    st_msg *m = malloc(sz);
    if (!m) return NULL;
    memset(m, 0, sizeof *m);
    atomic_init(&m->refs, 1);
    m->qos = qos;
    m->retain = retain;
    uint8_t *cur = (uint8_t *)(m + 1);
    memcpy(cur, topic, tlen);
    cur[tlen] = 0;
    m->topic = (const char *)cur;
    m->topic_len = tlen;
    cur += tlen + 1;
    if (plen) memcpy(cur, payload, plen);
    m->payload = cur;
    m->payload_len = plen;
    cur += plen;
    if (props) {
        m->props.present = props->present & PASS_MASK;
        m->props.payload_format = props->payload_format;
        m->props.content_type = copy_bytes(&cur, props->content_type);
        m->props.response_topic = copy_bytes(&cur, props->response_topic);
        m->props.correlation_data = copy_bytes(&cur, props->correlation_data);
        m->props.user = copy_bytes(&cur, props->user);
        if (props->present & MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY)) {
            m->has_expiry = 1;
            m->expire_at = now_ms + (int64_t)props->message_expiry * 1000;
            m->props.present |= MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY);
        }
    }
    if (!m->has_expiry && default_expiry_ms > 0) {
        m->has_expiry = 1;
        m->expire_at = now_ms + default_expiry_ms;
    }
    return m;
}

st_msg *st_msg_clone(const st_msg *m, uint8_t qos, uint8_t retain)
{
    st_msg *c = st_msg_new(m->topic, m->topic_len, m->payload, m->payload_len, &m->props, qos,
                           retain, 0, 0);
    if (!c) return NULL;
    c->has_expiry = m->has_expiry;
    c->expire_at = m->expire_at;
    c->props.present = m->props.present;
    c->from_sid = m->from_sid;
    return c;
}

void st_msg_unref(st_msg *m)
{
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) free(m);
}

void st_msg_unref_void(void *m)
{
    st_msg_unref(m);
}

uint32_t st_msg_remaining_s(const st_msg *m, int64_t now_ms)
{
    if (now_ms >= m->expire_at) return 0;
    return (uint32_t)((m->expire_at - now_ms + 999) / 1000);
}

/* encode.c — mqtt_packet to bytes, for 3.1, 3.1.1 and 5.0.
 *
 * Each packet body is written by one function against an mq_wr (wire.h) that runs twice:
 * first counting, to learn the remaining length and refuse a too-small buffer without
 * writing anything, then for real. The encoder trusts the caller for semantics (it is the
 * broker's own data) and refuses only what cannot be put on the wire: a bad version, QoS 3,
 * AUTH before v5, a string over 65535 bytes, a packet over the 256 MB limit. */
#include "mqtt/mqtt.h"
#include "mqtt/wire.h"

int mqtt_varint_size(uint32_t v)
{
    return v < 128u ? 1 : v < 16384u ? 2 : v < 2097152u ? 3 : 4;
}

int mqtt_varint_put(uint8_t *buf, uint32_t v)
{
    int n = 0;
    do {
        uint8_t b = v & 0x7F;
        v >>= 7;
        if (v && n < 3) b |= 0x80;
        buf[n++] = b;
    } while (v && n < 4);
    return n;
}

static void put_props(mq_wr *w, const mqtt_props *props)
{
    long n = mqtt_props_encode(props, NULL, 0); /* cap 0: only sizes */
    if (n < 0) {
        w->err = ST_EINVAL;
        return;
    }
    if (w->p) mqtt_props_encode(props, w->p + w->n, (size_t)n);
    w->n += (size_t)n;
}

static void enc_connect(mq_wr *w, const mqtt_packet *pkt)
{
    const mqtt_connect *c = &pkt->u.connect;
    int v5 = pkt->version == MQTT_V5;
    static const uint8_t mqisdp[] = "MQIsdp", mqtt[] = "MQTT";
    st_bytes name = pkt->version == MQTT_V31 ? (st_bytes){mqisdp, 6} : (st_bytes){mqtt, 4};

    if (c->will_qos > 2) w->err = ST_EINVAL;
    mq_putbin(w, name);
    mq_put8(w, pkt->version);
    mq_put8(w, (uint8_t)((c->clean_start ? 0x02 : 0) | (c->will_flag ? 0x04 : 0) |
                         (c->will_flag ? (c->will_qos & 3) << 3 : 0) |
                         (c->will_flag && c->will_retain ? 0x20 : 0) |
                         (c->has_password ? 0x40 : 0) | (c->has_username ? 0x80 : 0)));
    mq_put16(w, c->keepalive);
    if (v5) put_props(w, &pkt->props);
    mq_putbin(w, c->client_id);
    if (c->will_flag) {
        if (v5) put_props(w, &c->will_props);
        mq_putbin(w, c->will_topic);
        mq_putbin(w, c->will_payload);
    }
    if (c->has_username) mq_putbin(w, c->username);
    if (c->has_password) mq_putbin(w, c->password);
}

static void enc_publish_head(mq_wr *w, uint8_t version, const mqtt_publish *pub, uint16_t packet_id,
                             const mqtt_props *props)
{
    mq_putbin(w, pub->topic);
    if (pub->qos) mq_put16(w, packet_id);
    if (version == MQTT_V5) put_props(w, props);
}

/* PUBACK..PUBCOMP, DISCONNECT, AUTH in v5: drop what the spec lets us omit. */
static void enc_reason_props(mq_wr *w, const mqtt_packet *pkt)
{
    uint32_t ps = mqtt_props_size(&pkt->props);
    if (pkt->reason == 0 && ps == 0) return;
    mq_put8(w, pkt->reason);
    if (ps || pkt->type == MQTT_AUTH) put_props(w, &pkt->props);
}

static void enc_body(mq_wr *w, const mqtt_packet *pkt)
{
    int v5 = pkt->version == MQTT_V5;
    switch (pkt->type) {
    case MQTT_CONNECT:
        enc_connect(w, pkt);
        break;
    case MQTT_CONNACK:
        mq_put8(w, pkt->session_present ? 1 : 0);
        mq_put8(w, pkt->reason);
        if (v5) put_props(w, &pkt->props);
        break;
    case MQTT_PUBLISH:
        enc_publish_head(w, pkt->version, &pkt->u.publish, pkt->packet_id, &pkt->props);
        mq_putraw(w, pkt->u.publish.payload.p, pkt->u.publish.payload.len);
        break;
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        mq_put16(w, pkt->packet_id);
        if (v5) enc_reason_props(w, pkt);
        break;
    case MQTT_SUBSCRIBE:
    case MQTT_UNSUBSCRIBE:
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        mq_put16(w, pkt->packet_id);
        if (v5) put_props(w, &pkt->props);
        if (v5 || pkt->type != MQTT_UNSUBACK) /* all four lists share mqtt_list's layout */
            mq_putraw(w, pkt->u.subscribe.raw.p, pkt->u.subscribe.raw.len);
        break;
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
        break;
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        if (v5) enc_reason_props(w, pkt);
        break;
    default:
        w->err = ST_EINVAL;
    }
}

static uint8_t first_byte(const mqtt_packet *pkt)
{
    uint8_t flags = 0;
    if (pkt->type == MQTT_PUBLISH) {
        const mqtt_publish *pub = &pkt->u.publish;
        flags = (uint8_t)((pub->dup ? 8 : 0) | (pub->qos & 3) << 1 | (pub->retain ? 1 : 0));
    } else if (pkt->type == MQTT_PUBREL || pkt->type == MQTT_SUBSCRIBE ||
               pkt->type == MQTT_UNSUBSCRIBE) {
        flags = 2;
    }
    return (uint8_t)(pkt->type << 4 | flags);
}

/* Fixed header + two-pass body. body(w, ctx) writes the variable header and payload;
 * extra counts bytes the caller sends itself after the returned head (PUBLISH payload). */
static long frame(uint8_t b0, void (*body)(mq_wr *, const void *), const void *ctx, uint32_t extra,
                  uint8_t *buf, size_t cap)
{
    mq_wr w = {NULL, 0, 0};
    body(&w, ctx);
    if (w.err) return w.err;
    if (w.n + extra > MQ_MAX_VARINT) return ST_EINVAL;
    uint32_t rem = (uint32_t)(w.n + extra);
    size_t head = 1 + (size_t)mqtt_varint_size(rem);
    size_t total = head + w.n;
    if (total > cap) return (long)total;
    buf[0] = b0;
    mqtt_varint_put(buf + 1, rem);
    mq_wr out = {buf + head, 0, 0};
    body(&out, ctx);
    return (long)total;
}

static void body_packet(mq_wr *w, const void *ctx)
{
    enc_body(w, ctx);
}

long mqtt_encode(const mqtt_packet *pkt, uint8_t *buf, size_t cap)
{
    if (pkt->version != MQTT_V31 && pkt->version != MQTT_V311 && pkt->version != MQTT_V5)
        return ST_EINVAL;
    if (pkt->type == MQTT_AUTH && pkt->version != MQTT_V5) return ST_EINVAL;
    if (pkt->type == MQTT_PUBLISH && pkt->u.publish.qos > 2) return ST_EINVAL;
    return frame(first_byte(pkt), body_packet, pkt, 0, buf, cap);
}

struct pub_head {
    uint8_t version;
    const mqtt_publish *pub;
    uint16_t packet_id;
    const mqtt_props *props;
};

static void body_publish_head(mq_wr *w, const void *ctx)
{
    const struct pub_head *h = ctx;
    enc_publish_head(w, h->version, h->pub, h->packet_id, h->props);
}

long mqtt_encode_publish_head(uint8_t version, const mqtt_publish *pub, uint16_t packet_id,
                              const mqtt_props *props, uint32_t payload_len, uint8_t *buf,
                              size_t cap)
{
    static const mqtt_props no_props;
    if (version != MQTT_V31 && version != MQTT_V311 && version != MQTT_V5) return ST_EINVAL;
    if (pub->qos > 2) return ST_EINVAL;
    struct pub_head h = {version, pub, packet_id, props ? props : &no_props};
    mqtt_packet tmp;
    tmp.type = MQTT_PUBLISH;
    tmp.u.publish = *pub;
    return frame(first_byte(&tmp), body_publish_head, &h, payload_len, buf, cap);
}

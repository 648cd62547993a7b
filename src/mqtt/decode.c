/* decode.c — bytes to mqtt_packet: fixed header, one decoder per packet type, list walkers.
 *
 * Everything a packet can get wrong that the spec makes a MUST is rejected here, so the
 * broker sees only well-formed packets. Decoding is zero-copy (all st_bytes point into the
 * caller's buffer) and resumable in the simplest way: nothing is consumed until the whole
 * packet is present, so "need more" is just 0. The first byte is checked before waiting for
 * the rest, and the size limit as soon as the remaining length is known. */
#include "mqtt/mqtt.h"
#include "mqtt/wire.h"

int mqtt_fixed_header(const uint8_t *buf, size_t len, uint8_t *type_flags, uint32_t *remaining)
{
    if (len < 2) return 0;
    mq_rd r = {buf + 1, buf + (len < 5 ? len : 5)};
    uint32_t v;
    for (const uint8_t *q = buf + 1; q < r.end; q++) {
        if (!(*q & 0x80)) {
            if (mq_varint(&r, &v) < 0) return ST_EMALFORMED;
            *type_flags = buf[0];
            *remaining = v;
            return (int)(r.p - buf);
        }
    }
    return len < 5 ? 0 : ST_EMALFORMED; /* a 4th continuation bit is malformed */
}

/* Fixed-header flag rules (§2.1.3). */
static int check_flags(uint8_t type, uint8_t flags)
{
    if (type == MQTT_PUBLISH) {
        uint8_t qos = (flags >> 1) & 3;
        if (qos == 3 || ((flags & 8) && qos == 0)) return ST_EMALFORMED;
        return 0;
    }
    if (type == MQTT_PUBREL || type == MQTT_SUBSCRIBE || type == MQTT_UNSUBSCRIBE)
        return flags == 2 ? 0 : ST_EMALFORMED;
    return flags == 0 ? 0 : ST_EMALFORMED;
}

/* Which packets each side may send: bit t set = type t is legal in that direction. */
#define FROM_BOTH                                                                                  \
    ((1u << MQTT_PUBLISH) | (1u << MQTT_PUBACK) | (1u << MQTT_PUBREC) | (1u << MQTT_PUBREL) |      \
     (1u << MQTT_PUBCOMP) | (1u << MQTT_DISCONNECT) | (1u << MQTT_AUTH))
#define FROM_CLIENT                                                                                \
    (FROM_BOTH | (1u << MQTT_CONNECT) | (1u << MQTT_SUBSCRIBE) | (1u << MQTT_UNSUBSCRIBE) |        \
     (1u << MQTT_PINGREQ))
#define FROM_SERVER                                                                                \
    (FROM_BOTH | (1u << MQTT_CONNACK) | (1u << MQTT_SUBACK) | (1u << MQTT_UNSUBACK) |              \
     (1u << MQTT_PINGRESP))

static int is_v5(const mqtt_packet *out)
{
    return out->version == MQTT_V5;
}

/* Properties at the cursor, for v5 only. */
static int dec_props(mq_rd *r, uint8_t type, uint8_t is_server, mqtt_props *props)
{
    long n = mqtt_props_decode(r->p, mq_left(r), type, is_server, props);
    if (n < 0) return (int)n;
    r->p += n;
    return 0;
}

static int dec_packet_id(mq_rd *r, uint16_t *id)
{
    if (mq_u16(r, id) < 0) return ST_EMALFORMED;
    return *id ? 0 : ST_EPROTO;
}

/* Protocol name + level. Sets out->version, or fails with ST_EPROTO / ST_EVERSION. */
static int dec_connect_version(mq_rd *r, mqtt_connect *c)
{
    st_bytes name;
    if (mq_bin(r, &name) < 0 || mq_u8(r, &c->level) < 0) return ST_EMALFORMED;
    c->protocol_name = name;
    int mqisdp = name.len == 6 && memcmp(name.p, "MQIsdp", 6) == 0;
    int mqtt = name.len == 4 && memcmp(name.p, "MQTT", 4) == 0;
    if (!mqisdp && !mqtt) return ST_EPROTO;
    if (mqisdp ? c->level != MQTT_V31 : (c->level != MQTT_V311 && c->level != MQTT_V5))
        return ST_EVERSION;
    return 0;
}

static int dec_connect(mq_rd *r, uint8_t is_server, mqtt_packet *out)
{
    mqtt_connect *c = &out->u.connect;
    uint8_t f;
    int rc;

    if ((rc = dec_connect_version(r, c)) < 0) return rc;
    out->version = c->level;
    if (mq_u8(r, &f) < 0 || mq_u16(r, &c->keepalive) < 0) return ST_EMALFORMED;
    c->clean_start = (f >> 1) & 1;
    c->will_flag = (f >> 2) & 1;
    c->will_qos = (f >> 3) & 3;
    c->will_retain = (f >> 5) & 1;
    c->has_password = (f >> 6) & 1;
    c->has_username = (f >> 7) & 1;
    if ((f & 1) || c->will_qos == 3 || (!c->will_flag && (c->will_qos || c->will_retain)))
        return ST_EMALFORMED;
    if (!is_v5(out) && c->has_password && !c->has_username)
        return ST_EMALFORMED; /* [MQTT-3.1.2-22]; v5 allows it */
    if (is_v5(out) && (rc = dec_props(r, MQTT_CONNECT, is_server, &out->props)) < 0) return rc;
    if ((rc = mq_str(r, &c->client_id)) < 0) return rc;
    if (c->will_flag) {
        if (is_v5(out) && (rc = dec_props(r, 0, is_server, &c->will_props)) < 0) return rc;
        if (mq_bin(r, &c->will_topic) < 0) return ST_EMALFORMED;
        if ((rc = mqtt_topic_name_check(c->will_topic.p, c->will_topic.len)) < 0) return rc;
        if (mq_bin(r, &c->will_payload) < 0) return ST_EMALFORMED;
    }
    if (c->has_username && (rc = mq_str(r, &c->username)) < 0) return rc;
    if (c->has_password && mq_bin(r, &c->password) < 0) return ST_EMALFORMED;
    return 0;
}

static int dec_connack(mq_rd *r, mqtt_packet *out)
{
    uint8_t ack;
    if (mq_u8(r, &ack) < 0 || mq_u8(r, &out->reason) < 0) return ST_EMALFORMED;
    if (ack & 0xFE) return ST_EMALFORMED; /* reserved bits [MQTT-3.2.2-1] */
    out->session_present = ack & 1;
    return is_v5(out) ? dec_props(r, MQTT_CONNACK, 0, &out->props) : 0;
}

static int dec_publish(mq_rd *r, uint8_t is_server, mqtt_packet *out)
{
    mqtt_publish *pub = &out->u.publish;
    int rc;

    pub->retain = out->flags & 1;
    pub->qos = (out->flags >> 1) & 3;
    pub->dup = (out->flags >> 3) & 1;
    if (mq_bin(r, &pub->topic) < 0) return ST_EMALFORMED;
    if (pub->qos && (rc = dec_packet_id(r, &out->packet_id)) < 0) return rc;
    if (is_v5(out) && (rc = dec_props(r, MQTT_PUBLISH, is_server, &out->props)) < 0) return rc;
    if (pub->topic.len == 0) {
        if (!(out->props.present & MQTT_HAS(MQTT_PROP_TOPIC_ALIAS))) return ST_EPROTO;
    } else if ((rc = mqtt_topic_name_check(pub->topic.p, pub->topic.len)) < 0) {
        return rc;
    }
    pub->payload.p = r->p;
    pub->payload.len = mq_left(r);
    r->p = r->end;
    return 0;
}

/* PUBACK, PUBREC, PUBREL, PUBCOMP: v5 may omit reason (=0) and properties. */
static int dec_ack(mq_rd *r, mqtt_packet *out)
{
    int rc = dec_packet_id(r, &out->packet_id);
    if (rc < 0 || !is_v5(out) || mq_left(r) == 0) return rc;
    mq_u8(r, &out->reason);
    return mq_left(r) ? dec_props(r, out->type, 0, &out->props) : 0;
}

/* SUBSCRIBE entries: framing, UTF-8 and the options byte. Filter syntax is the broker's
 * (v5 answers a bad filter with SUBACK 0x8F instead of disconnecting). */
static int dec_subscribe(mq_rd *r, uint8_t is_server, mqtt_packet *out)
{
    int rc;
    uint32_t count = 0;
    if ((rc = dec_packet_id(r, &out->packet_id)) < 0) return rc;
    if (is_v5(out) && (rc = dec_props(r, MQTT_SUBSCRIBE, is_server, &out->props)) < 0) return rc;
    out->u.subscribe.raw.p = r->p;
    out->u.subscribe.raw.len = mq_left(r);
    while (mq_left(r)) {
        st_bytes f;
        uint8_t o;
        if ((rc = mq_str(r, &f)) < 0) return rc;
        if (mq_u8(r, &o) < 0) return ST_EMALFORMED;
        if ((o & 0xC0) || (!is_v5(out) && (o & 0xFC)) || (o & 3) == 3 || ((o >> 4) & 3) == 3)
            return ST_EMALFORMED;
        count++;
    }
    if (count == 0) return ST_EPROTO;
    if (count > 0xFFFF) return ST_EFULL;
    out->u.subscribe.count = (uint16_t)count;
    return 0;
}

static int dec_unsubscribe(mq_rd *r, uint8_t is_server, mqtt_packet *out)
{
    int rc;
    uint32_t count = 0;
    if ((rc = dec_packet_id(r, &out->packet_id)) < 0) return rc;
    if (is_v5(out) && (rc = dec_props(r, MQTT_UNSUBSCRIBE, is_server, &out->props)) < 0) return rc;
    out->u.unsubscribe.raw.p = r->p;
    out->u.unsubscribe.raw.len = mq_left(r);
    while (mq_left(r)) {
        st_bytes f;
        if ((rc = mq_str(r, &f)) < 0) return rc;
        count++;
    }
    if (count == 0) return ST_EPROTO;
    if (count > 0xFFFF) return ST_EFULL;
    out->u.unsubscribe.count = (uint16_t)count;
    return 0;
}

/* SUBACK, and UNSUBACK in v5: packet id, properties, one reason byte per filter. */
static int dec_suback(mq_rd *r, mqtt_packet *out)
{
    int rc;
    if ((rc = dec_packet_id(r, &out->packet_id)) < 0) return rc;
    if (out->type == MQTT_UNSUBACK && !is_v5(out)) return 0; /* 3.x UNSUBACK has no payload */
    if (is_v5(out) && (rc = dec_props(r, out->type, 0, &out->props)) < 0) return rc;
    if (mq_left(r) == 0) return ST_EPROTO;
    if (mq_left(r) > 0xFFFF) return ST_EFULL;
    out->u.acks.raw.p = r->p;
    out->u.acks.raw.len = mq_left(r);
    out->u.acks.count = (uint16_t)mq_left(r);
    r->p = r->end;
    return 0;
}

/* DISCONNECT and AUTH: empty in 3.x. In v5 both may be empty (reason 0, no properties);
 * DISCONNECT may also stop after the reason, AUTH may not (§3.15.2.2). */
static int dec_disconnect_auth(mq_rd *r, uint8_t is_server, mqtt_packet *out)
{
    if (!is_v5(out) || mq_left(r) == 0) return 0;
    if (out->type == MQTT_AUTH && mq_left(r) == 1) return ST_EMALFORMED;
    mq_u8(r, &out->reason);
    return mq_left(r) ? dec_props(r, out->type, is_server, &out->props) : 0;
}

static int dec_body(mq_rd *r, const mqtt_dec_opts *opts, mqtt_packet *out)
{
    switch (out->type) {
    case MQTT_CONNECT:
        return dec_connect(r, opts->is_server, out);
    case MQTT_CONNACK:
        return dec_connack(r, out);
    case MQTT_PUBLISH:
        return dec_publish(r, opts->is_server, out);
    case MQTT_PUBACK:
    case MQTT_PUBREC:
    case MQTT_PUBREL:
    case MQTT_PUBCOMP:
        return dec_ack(r, out);
    case MQTT_SUBSCRIBE:
        return dec_subscribe(r, opts->is_server, out);
    case MQTT_UNSUBSCRIBE:
        return dec_unsubscribe(r, opts->is_server, out);
    case MQTT_SUBACK:
    case MQTT_UNSUBACK:
        return dec_suback(r, out);
    case MQTT_PINGREQ:
    case MQTT_PINGRESP:
        return 0;
    case MQTT_DISCONNECT:
    case MQTT_AUTH:
        return dec_disconnect_auth(r, opts->is_server, out);
    default:
        return ST_EMALFORMED;
    }
}

/* Checks that need only the first byte; lets a bad stream fail before it is complete. */
static int check_first_byte(uint8_t b0, const mqtt_dec_opts *opts)
{
    uint8_t type = b0 >> 4;
    if (type == 0) return ST_EMALFORMED; /* reserved */
    if (opts->version == 0 && type != MQTT_CONNECT) return ST_EPROTO;
    if (!((opts->is_server ? FROM_CLIENT : FROM_SERVER) & (1u << type))) return ST_EPROTO;
    if (type == MQTT_AUTH && opts->version != MQTT_V5) return ST_EPROTO;
    if (type != MQTT_CONNECT && opts->version != MQTT_V31 && opts->version != MQTT_V311 &&
        opts->version != MQTT_V5)
        return ST_EINVAL;
    return check_flags(type, b0 & 0x0F);
}

long mqtt_decode(const uint8_t *buf, size_t len, const mqtt_dec_opts *opts, mqtt_packet *out)
{
    uint8_t tf;
    uint32_t rem;
    int rc;

    if (len == 0) return 0;
    if ((rc = check_first_byte(buf[0], opts)) < 0) return rc;
    int hl = mqtt_fixed_header(buf, len, &tf, &rem);
    if (hl <= 0) return hl;
    uint64_t total = (uint64_t)hl + rem;
    if (opts->max_packet_size && total > opts->max_packet_size) return ST_ETOOLARGE;
    if (len < total) return 0;

    memset(out, 0, sizeof *out);
    out->type = tf >> 4;
    out->flags = tf & 0x0F;
    out->version = opts->version;
    mq_rd r = {buf + hl, buf + total};
    if ((rc = dec_body(&r, opts, out)) < 0) return rc;
    if (r.p != r.end) return ST_EMALFORMED; /* trailing bytes */
    return (long)total;
}

int mqtt_sub_next(const mqtt_list *l, uint32_t *off, st_bytes *filter, mqtt_subopts *opts)
{
    if (*off >= l->raw.len || !l->raw.p) return 0;
    mq_rd r = {l->raw.p + *off, l->raw.p + l->raw.len};
    uint8_t o;
    if (mq_bin(&r, filter) < 0 || mq_u8(&r, &o) < 0) return 0;
    opts->qos = o & 3;
    opts->no_local = (o >> 2) & 1;
    opts->retain_as_published = (o >> 3) & 1;
    opts->retain_handling = (o >> 4) & 3;
    *off = (uint32_t)(r.p - l->raw.p);
    return 1;
}

int mqtt_unsub_next(const mqtt_list *l, uint32_t *off, st_bytes *filter)
{
    if (*off >= l->raw.len || !l->raw.p) return 0;
    mq_rd r = {l->raw.p + *off, l->raw.p + l->raw.len};
    if (mq_bin(&r, filter) < 0) return 0;
    *off = (uint32_t)(r.p - l->raw.p);
    return 1;
}

/* props.c — MQTT 5 properties: decode, validate, size, encode, and user-property walking.
 *
 * One static table (§2.2.2.2) says, for each property id, its wire type and in which packets
 * it may appear; decoding, skipping and encoding are all driven by it, so adding a property
 * means adding one row. Decoding is zero-copy: strings point into the packet. User
 * properties are not copied either: mqtt_props.user is the byte range from the first to the
 * last User Property entry, and the walker skips any other property interleaved there. */
#include "mqtt/mqtt.h"
#include "mqtt/wire.h"

enum ptype { PT_NONE, PT_BYTE, PT_U16, PT_U32, PT_VAR, PT_STR, PT_BIN, PT_PAIR };

/* Context bits: bit t for packet type t; bit 0 for the will properties of a CONNECT. */
#define C_WILL (1u << 0)
#define C(t) (1u << (t))
#define C_ACKS (C(MQTT_PUBACK) | C(MQTT_PUBREC) | C(MQTT_PUBREL) | C(MQTT_PUBCOMP))
#define C_ALL 0xFFFFu

#define PROP_ID_END 0x2B

static const struct prop_def {
    uint8_t type;
    uint16_t ctx;
} prop_tab[PROP_ID_END] = {
    [MQTT_PROP_PAYLOAD_FORMAT] = {PT_BYTE, C(MQTT_PUBLISH) | C_WILL},
    [MQTT_PROP_MESSAGE_EXPIRY] = {PT_U32, C(MQTT_PUBLISH) | C_WILL},
    [MQTT_PROP_CONTENT_TYPE] = {PT_STR, C(MQTT_PUBLISH) | C_WILL},
    [MQTT_PROP_RESPONSE_TOPIC] = {PT_STR, C(MQTT_PUBLISH) | C_WILL},
    [MQTT_PROP_CORRELATION_DATA] = {PT_BIN, C(MQTT_PUBLISH) | C_WILL},
    [MQTT_PROP_SUBSCRIPTION_ID] = {PT_VAR, C(MQTT_PUBLISH) | C(MQTT_SUBSCRIBE)},
    [MQTT_PROP_SESSION_EXPIRY] = {PT_U32, C(MQTT_CONNECT) | C(MQTT_CONNACK) | C(MQTT_DISCONNECT)},
    [MQTT_PROP_ASSIGNED_CLIENT_ID] = {PT_STR, C(MQTT_CONNACK)},
    [MQTT_PROP_SERVER_KEEPALIVE] = {PT_U16, C(MQTT_CONNACK)},
    [MQTT_PROP_AUTH_METHOD] = {PT_STR, C(MQTT_CONNECT) | C(MQTT_CONNACK) | C(MQTT_AUTH)},
    [MQTT_PROP_AUTH_DATA] = {PT_BIN, C(MQTT_CONNECT) | C(MQTT_CONNACK) | C(MQTT_AUTH)},
    [MQTT_PROP_REQUEST_PROBLEM_INFO] = {PT_BYTE, C(MQTT_CONNECT)},
    [MQTT_PROP_WILL_DELAY] = {PT_U32, C_WILL},
    [MQTT_PROP_REQUEST_RESPONSE_INFO] = {PT_BYTE, C(MQTT_CONNECT)},
    [MQTT_PROP_RESPONSE_INFO] = {PT_STR, C(MQTT_CONNACK)},
    [MQTT_PROP_SERVER_REFERENCE] = {PT_STR, C(MQTT_CONNACK) | C(MQTT_DISCONNECT)},
    [MQTT_PROP_REASON_STRING] = {PT_STR, C(MQTT_CONNACK) | C_ACKS | C(MQTT_SUBACK) |
                                             C(MQTT_UNSUBACK) | C(MQTT_DISCONNECT) | C(MQTT_AUTH)},
    [MQTT_PROP_RECEIVE_MAX] = {PT_U16, C(MQTT_CONNECT) | C(MQTT_CONNACK)},
    [MQTT_PROP_TOPIC_ALIAS_MAX] = {PT_U16, C(MQTT_CONNECT) | C(MQTT_CONNACK)},
    [MQTT_PROP_TOPIC_ALIAS] = {PT_U16, C(MQTT_PUBLISH)},
    [MQTT_PROP_MAX_QOS] = {PT_BYTE, C(MQTT_CONNACK)},
    [MQTT_PROP_RETAIN_AVAILABLE] = {PT_BYTE, C(MQTT_CONNACK)},
    [MQTT_PROP_USER] = {PT_PAIR, C_ALL & ~(C(MQTT_PINGREQ) | C(MQTT_PINGRESP))},
    [MQTT_PROP_MAX_PACKET_SIZE] = {PT_U32, C(MQTT_CONNECT) | C(MQTT_CONNACK)},
    [MQTT_PROP_WILDCARD_SUB_AVAILABLE] = {PT_BYTE, C(MQTT_CONNACK)},
    [MQTT_PROP_SUB_ID_AVAILABLE] = {PT_BYTE, C(MQTT_CONNACK)},
    [MQTT_PROP_SHARED_SUB_AVAILABLE] = {PT_BYTE, C(MQTT_CONNACK)},
};

static int prop_type(uint8_t id)
{
    return id < PROP_ID_END ? prop_tab[id].type : PT_NONE;
}

/* Read one value of wire type t into *v (integers) or *b (strings, binary). */
static int read_value(mq_rd *r, int t, uint32_t *v, st_bytes *b)
{
    uint8_t u8;
    uint16_t u16;
    switch (t) {
    case PT_BYTE:
        if (mq_u8(r, &u8) < 0) return ST_EMALFORMED;
        *v = u8;
        return 0;
    case PT_U16:
        if (mq_u16(r, &u16) < 0) return ST_EMALFORMED;
        *v = u16;
        return 0;
    case PT_U32:
        return mq_u32(r, v);
    case PT_VAR:
        return mq_varint(r, v);
    case PT_STR:
        return mq_str(r, b);
    case PT_BIN:
        return mq_bin(r, b);
    default:
        return ST_EMALFORMED;
    }
}

/* Store a decoded integer property, checking the values the spec restricts. */
static int store_int(mqtt_props *o, uint8_t id, uint32_t v)
{
    switch (id) {
    case MQTT_PROP_PAYLOAD_FORMAT:
    case MQTT_PROP_REQUEST_PROBLEM_INFO:
    case MQTT_PROP_REQUEST_RESPONSE_INFO:
    case MQTT_PROP_MAX_QOS:
    case MQTT_PROP_RETAIN_AVAILABLE:
    case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
    case MQTT_PROP_SUB_ID_AVAILABLE:
    case MQTT_PROP_SHARED_SUB_AVAILABLE:
        if (v > 1) return ST_EPROTO;
        break;
    case MQTT_PROP_RECEIVE_MAX:
    case MQTT_PROP_MAX_PACKET_SIZE:
    case MQTT_PROP_TOPIC_ALIAS:
    case MQTT_PROP_SUBSCRIPTION_ID:
        if (v == 0) return ST_EPROTO;
        break;
    }
    switch (id) {
    case MQTT_PROP_PAYLOAD_FORMAT:
        o->payload_format = (uint8_t)v;
        break;
    case MQTT_PROP_MESSAGE_EXPIRY:
        o->message_expiry = v;
        break;
    case MQTT_PROP_SESSION_EXPIRY:
        o->session_expiry = v;
        break;
    case MQTT_PROP_SERVER_KEEPALIVE:
        o->server_keepalive = (uint16_t)v;
        break;
    case MQTT_PROP_REQUEST_PROBLEM_INFO:
        o->request_problem_info = (uint8_t)v;
        break;
    case MQTT_PROP_WILL_DELAY:
        o->will_delay = v;
        break;
    case MQTT_PROP_REQUEST_RESPONSE_INFO:
        o->request_response_info = (uint8_t)v;
        break;
    case MQTT_PROP_RECEIVE_MAX:
        o->receive_max = (uint16_t)v;
        break;
    case MQTT_PROP_TOPIC_ALIAS_MAX:
        o->topic_alias_max = (uint16_t)v;
        break;
    case MQTT_PROP_TOPIC_ALIAS:
        o->topic_alias = (uint16_t)v;
        break;
    case MQTT_PROP_MAX_QOS:
        o->max_qos = (uint8_t)v;
        break;
    case MQTT_PROP_RETAIN_AVAILABLE:
        o->retain_available = (uint8_t)v;
        break;
    case MQTT_PROP_MAX_PACKET_SIZE:
        o->max_packet_size = v;
        break;
    case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
        o->wildcard_sub_available = (uint8_t)v;
        break;
    case MQTT_PROP_SUB_ID_AVAILABLE:
        o->sub_id_available = (uint8_t)v;
        break;
    case MQTT_PROP_SHARED_SUB_AVAILABLE:
        o->shared_sub_available = (uint8_t)v;
        break;
    }
    return 0;
}

/* Pointer to the st_bytes field of a string/binary property, NULL for other ids. */
static st_bytes *bytes_field(mqtt_props *o, uint8_t id)
{
    switch (id) {
    case MQTT_PROP_CONTENT_TYPE:
        return &o->content_type;
    case MQTT_PROP_RESPONSE_TOPIC:
        return &o->response_topic;
    case MQTT_PROP_CORRELATION_DATA:
        return &o->correlation_data;
    case MQTT_PROP_ASSIGNED_CLIENT_ID:
        return &o->assigned_client_id;
    case MQTT_PROP_AUTH_METHOD:
        return &o->auth_method;
    case MQTT_PROP_AUTH_DATA:
        return &o->auth_data;
    case MQTT_PROP_RESPONSE_INFO:
        return &o->response_info;
    case MQTT_PROP_SERVER_REFERENCE:
        return &o->server_reference;
    case MQTT_PROP_REASON_STRING:
        return &o->reason_string;
    default:
        return NULL;
    }
}

/* Decode one property whose id byte has been consumed and checked against the table. */
static int decode_one(mq_rd *r, uint8_t id, uint8_t type, uint8_t is_server, mqtt_props *o)
{
    uint32_t v = 0;
    st_bytes b = {0}, val;
    int t = prop_tab[id].type, rc;

    if (t == PT_PAIR) {
        if ((rc = mq_str(r, &b)) < 0 || (rc = mq_str(r, &val)) < 0) return rc;
        return 0;
    }
    if ((rc = read_value(r, t, &v, &b)) < 0) return rc;
    if (id == MQTT_PROP_SUBSCRIPTION_ID) {
        if (type == MQTT_PUBLISH && is_server)
            return ST_EPROTO; /* a client MUST NOT send it [MQTT-3.3.4-6] */
        if (type != MQTT_PUBLISH && o->n_sub_ids) return ST_EPROTO;
        if (v == 0) return ST_EPROTO;
        if (o->n_sub_ids >= MQTT_MAX_SUB_IDS) return ST_EFULL;
        o->sub_ids[o->n_sub_ids++] = v;
        return 0;
    }
    st_bytes *f = bytes_field(o, id);
    if (f) {
        *f = b;
        return 0;
    }
    return store_int(o, id, v);
}

long mqtt_props_decode(const uint8_t *buf, size_t len, uint8_t type, uint8_t is_server,
                       mqtt_props *out)
{
    mq_rd r = {buf, buf + len};
    const uint8_t *ufirst = NULL, *ulast = NULL;
    uint32_t plen;
    int rc;

    memset(out, 0, sizeof *out);
    if (mq_varint(&r, &plen) < 0 || plen > mq_left(&r)) return ST_EMALFORMED;
    mq_rd pr = {r.p, r.p + plen};
    while (pr.p < pr.end) {
        const uint8_t *start = pr.p;
        uint8_t id = *pr.p++;
        if (prop_type(id) == PT_NONE)
            return ST_EMALFORMED; /* also catches multi-byte ids: none is defined */
        if (type > 15 || !(prop_tab[id].ctx & (1u << type)))
            return ST_EMALFORMED; /* an id not valid for its packet type: §2.2.2.2 */
        if (id != MQTT_PROP_USER && id != MQTT_PROP_SUBSCRIPTION_ID &&
            (out->present & MQTT_HAS(id)))
            return ST_EPROTO;
        if ((rc = decode_one(&pr, id, type, is_server, out)) < 0) return rc;
        if (id == MQTT_PROP_USER) {
            ufirst = ufirst ? ufirst : start;
            ulast = pr.p;
        }
        out->present |= MQTT_HAS(id);
    }
    if ((out->present & MQTT_HAS(MQTT_PROP_AUTH_DATA)) &&
        !(out->present & MQTT_HAS(MQTT_PROP_AUTH_METHOD)))
        return ST_EPROTO;
    if (ufirst) {
        out->user.p = ufirst;
        out->user.len = (uint32_t)(ulast - ufirst);
    }
    return (long)(pr.end - buf);
}

/* Skip one property of any known id (the id byte already consumed). Bounds only. */
static int skip_one(mq_rd *r, uint8_t id)
{
    uint32_t v;
    st_bytes b;
    int t = prop_type(id);
    if (t == PT_NONE) return ST_EMALFORMED;
    if (t == PT_PAIR) return mq_bin(r, &b) < 0 ? ST_EMALFORMED : mq_bin(r, &b);
    if (t == PT_STR) t = PT_BIN; /* no UTF-8 check when merely walking */
    return read_value(r, t, &v, &b);
}

int mqtt_user_prop_next(st_bytes user, uint32_t *off, st_bytes *key, st_bytes *val)
{
    while (*off < user.len && user.p) {
        mq_rd r = {user.p + *off, user.p + user.len};
        uint8_t id = *r.p++;
        if (id == MQTT_PROP_USER) {
            if (mq_bin(&r, key) < 0 || mq_bin(&r, val) < 0) return 0;
            *off = (uint32_t)(r.p - user.p);
            return 1;
        }
        if (skip_one(&r, id) < 0) return 0;
        *off = (uint32_t)(r.p - user.p);
    }
    return 0;
}

/* The integer value of a present non-string property. */
static uint32_t load_int(const mqtt_props *o, uint8_t id)
{
    switch (id) {
    case MQTT_PROP_PAYLOAD_FORMAT:
        return o->payload_format;
    case MQTT_PROP_MESSAGE_EXPIRY:
        return o->message_expiry;
    case MQTT_PROP_SESSION_EXPIRY:
        return o->session_expiry;
    case MQTT_PROP_SERVER_KEEPALIVE:
        return o->server_keepalive;
    case MQTT_PROP_REQUEST_PROBLEM_INFO:
        return o->request_problem_info;
    case MQTT_PROP_WILL_DELAY:
        return o->will_delay;
    case MQTT_PROP_REQUEST_RESPONSE_INFO:
        return o->request_response_info;
    case MQTT_PROP_RECEIVE_MAX:
        return o->receive_max;
    case MQTT_PROP_TOPIC_ALIAS_MAX:
        return o->topic_alias_max;
    case MQTT_PROP_TOPIC_ALIAS:
        return o->topic_alias;
    case MQTT_PROP_MAX_QOS:
        return o->max_qos;
    case MQTT_PROP_RETAIN_AVAILABLE:
        return o->retain_available;
    case MQTT_PROP_MAX_PACKET_SIZE:
        return o->max_packet_size;
    case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
        return o->wildcard_sub_available;
    case MQTT_PROP_SUB_ID_AVAILABLE:
        return o->sub_id_available;
    case MQTT_PROP_SHARED_SUB_AVAILABLE:
        return o->shared_sub_available;
    default:
        return 0;
    }
}

/* Write (or count) the property block body: fixed properties in id order, subscription
 * ids at their id, user properties last and in their original order. */
static void put_body(mq_wr *w, const mqtt_props *o)
{
    for (uint8_t id = 1; id < PROP_ID_END; id++) {
        int t = prop_tab[id].type;
        if (t == PT_NONE || id == MQTT_PROP_USER) continue;
        if (id == MQTT_PROP_SUBSCRIPTION_ID) {
            for (unsigned i = 0; i < o->n_sub_ids && i < MQTT_MAX_SUB_IDS; i++) {
                mq_put8(w, id);
                mq_putvar(w, o->sub_ids[i]);
            }
            continue;
        }
        if (!(o->present & MQTT_HAS(id))) continue;
        mq_put8(w, id);
        uint32_t v = load_int(o, id);
        switch (t) {
        case PT_BYTE:
            mq_put8(w, (uint8_t)v);
            break;
        case PT_U16:
            mq_put16(w, (uint16_t)v);
            break;
        case PT_U32:
            mq_put32(w, v);
            break;
        default:
            mq_putbin(w, *bytes_field((mqtt_props *)o, id));
            break;
        }
    }
    uint32_t off = 0;
    st_bytes k, v;
    while (mqtt_user_prop_next(o->user, &off, &k, &v)) {
        mq_put8(w, MQTT_PROP_USER);
        mq_putbin(w, k);
        mq_putbin(w, v);
    }
}

uint32_t mqtt_props_size(const mqtt_props *props)
{
    if (!props->present && !props->n_sub_ids && !props->user.len) return 0;
    mq_wr w = {NULL, 0, 0};
    put_body(&w, props);
    return (uint32_t)w.n;
}

long mqtt_props_encode(const mqtt_props *props, uint8_t *buf, size_t cap)
{
    mq_wr w = {NULL, 0, 0};
    put_body(&w, props);
    if (w.err || w.n > MQ_MAX_VARINT) return ST_EINVAL;
    size_t total = (size_t)mqtt_varint_size((uint32_t)w.n) + w.n;
    if (total > cap) return (long)total;
    int hl = mqtt_varint_put(buf, (uint32_t)w.n);
    mq_wr out = {buf + hl, 0, 0};
    put_body(&out, props);
    return (long)total;
}

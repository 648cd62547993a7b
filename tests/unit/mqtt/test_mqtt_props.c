/* test_mqtt_props.c — MQTT 5 properties: every id round trips in a packet that allows it, user
 * properties keep their order (also when interleaved), and every property rule of §2.2.2
 * (unknown id, wrong packet, duplicates, forbidden values) gives the documented error. */
#include "mqtt_test_util.h"

/* Where each property may travel (spec table §2.2.2.2); 0 = will properties. */
static const struct {
    uint8_t id, type;
} where[] = {
    {MQTT_PROP_PAYLOAD_FORMAT, MQTT_PUBLISH},
    {MQTT_PROP_MESSAGE_EXPIRY, 0},
    {MQTT_PROP_CONTENT_TYPE, MQTT_PUBLISH},
    {MQTT_PROP_RESPONSE_TOPIC, 0},
    {MQTT_PROP_CORRELATION_DATA, MQTT_PUBLISH},
    {MQTT_PROP_SUBSCRIPTION_ID, MQTT_SUBSCRIBE},
    {MQTT_PROP_SESSION_EXPIRY, MQTT_DISCONNECT},
    {MQTT_PROP_ASSIGNED_CLIENT_ID, MQTT_CONNACK},
    {MQTT_PROP_SERVER_KEEPALIVE, MQTT_CONNACK},
    {MQTT_PROP_AUTH_METHOD, MQTT_AUTH},
    {MQTT_PROP_AUTH_DATA, MQTT_CONNECT},
    {MQTT_PROP_REQUEST_PROBLEM_INFO, MQTT_CONNECT},
    {MQTT_PROP_WILL_DELAY, 0},
    {MQTT_PROP_REQUEST_RESPONSE_INFO, MQTT_CONNECT},
    {MQTT_PROP_RESPONSE_INFO, MQTT_CONNACK},
    {MQTT_PROP_SERVER_REFERENCE, MQTT_DISCONNECT},
    {MQTT_PROP_REASON_STRING, MQTT_PUBACK},
    {MQTT_PROP_RECEIVE_MAX, MQTT_CONNECT},
    {MQTT_PROP_TOPIC_ALIAS_MAX, MQTT_CONNACK},
    {MQTT_PROP_TOPIC_ALIAS, MQTT_PUBLISH},
    {MQTT_PROP_MAX_QOS, MQTT_CONNACK},
    {MQTT_PROP_RETAIN_AVAILABLE, MQTT_CONNACK},
    {MQTT_PROP_USER, MQTT_UNSUBACK},
    {MQTT_PROP_MAX_PACKET_SIZE, MQTT_CONNECT},
    {MQTT_PROP_WILDCARD_SUB_AVAILABLE, MQTT_CONNACK},
    {MQTT_PROP_SUB_ID_AVAILABLE, MQTT_CONNACK},
    {MQTT_PROP_SHARED_SUB_AVAILABLE, MQTT_CONNACK},
};

static const uint8_t user_run[] = {0x26, 0, 1, 'k', 0, 2, 'v', '1'};

/* Set property `id` to a distinctive value. */
static void set_prop(mqtt_props *p, uint8_t id)
{
    p->present |= MQTT_HAS(id);
    switch (id) {
    case MQTT_PROP_PAYLOAD_FORMAT:
        p->payload_format = 1;
        break;
    case MQTT_PROP_MESSAGE_EXPIRY:
        p->message_expiry = 0xA1B2C3D4;
        break;
    case MQTT_PROP_CONTENT_TYPE:
        p->content_type = B("application/json");
        break;
    case MQTT_PROP_RESPONSE_TOPIC:
        p->response_topic = B("resp/x");
        break;
    case MQTT_PROP_CORRELATION_DATA:
        p->correlation_data = BN("\x00\xff\x00", 3);
        break;
    case MQTT_PROP_SUBSCRIPTION_ID:
        p->n_sub_ids = 1;
        p->sub_ids[0] = 16384;
        break;
    case MQTT_PROP_SESSION_EXPIRY:
        p->session_expiry = 0xFFFFFFFF;
        break;
    case MQTT_PROP_ASSIGNED_CLIENT_ID:
        p->assigned_client_id = B("gen-42");
        break;
    case MQTT_PROP_SERVER_KEEPALIVE:
        p->server_keepalive = 0xABCD;
        break;
    case MQTT_PROP_AUTH_METHOD:
        p->auth_method = B("PLAIN");
        break;
    case MQTT_PROP_AUTH_DATA:
        p->auth_data = BN("\x01\x00\x02", 3);
        p->present |= MQTT_HAS(MQTT_PROP_AUTH_METHOD); /* data requires a method */
        p->auth_method = B("M");
        break;
    case MQTT_PROP_REQUEST_PROBLEM_INFO:
        p->request_problem_info = 1;
        break;
    case MQTT_PROP_WILL_DELAY:
        p->will_delay = 123456;
        break;
    case MQTT_PROP_REQUEST_RESPONSE_INFO:
        p->request_response_info = 1;
        break;
    case MQTT_PROP_RESPONSE_INFO:
        p->response_info = B("info");
        break;
    case MQTT_PROP_SERVER_REFERENCE:
        p->server_reference = B("srv2");
        break;
    case MQTT_PROP_REASON_STRING:
        p->reason_string = B("because");
        break;
    case MQTT_PROP_RECEIVE_MAX:
        p->receive_max = 65535;
        break;
    case MQTT_PROP_TOPIC_ALIAS_MAX:
        p->topic_alias_max = 0x0102;
        break;
    case MQTT_PROP_TOPIC_ALIAS:
        p->topic_alias = 0x0304;
        break;
    case MQTT_PROP_MAX_QOS:
        p->max_qos = 1;
        break;
    case MQTT_PROP_RETAIN_AVAILABLE:
        p->retain_available = 1;
        break;
    case MQTT_PROP_USER:
        p->user = BN(user_run, sizeof user_run);
        break;
    case MQTT_PROP_MAX_PACKET_SIZE:
        p->max_packet_size = 0x10000000;
        break;
    case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
        p->wildcard_sub_available = 1;
        break;
    case MQTT_PROP_SUB_ID_AVAILABLE:
        p->sub_id_available = 1;
        break;
    case MQTT_PROP_SHARED_SUB_AVAILABLE:
        p->shared_sub_available = 1;
        break;
    }
}

/* Compare the property `id` between what was set and what was decoded. */
static int same_prop(const mqtt_props *a, const mqtt_props *b, uint8_t id)
{
#define SAMEB(f) (a->f.len == b->f.len && memcmp(a->f.p, b->f.p, a->f.len) == 0)
    if (!(b->present & MQTT_HAS(id))) return 0;
    switch (id) {
    case MQTT_PROP_PAYLOAD_FORMAT:
        return a->payload_format == b->payload_format;
    case MQTT_PROP_MESSAGE_EXPIRY:
        return a->message_expiry == b->message_expiry;
    case MQTT_PROP_CONTENT_TYPE:
        return SAMEB(content_type);
    case MQTT_PROP_RESPONSE_TOPIC:
        return SAMEB(response_topic);
    case MQTT_PROP_CORRELATION_DATA:
        return SAMEB(correlation_data);
    case MQTT_PROP_SUBSCRIPTION_ID:
        return b->n_sub_ids == 1 && b->sub_ids[0] == a->sub_ids[0];
    case MQTT_PROP_SESSION_EXPIRY:
        return a->session_expiry == b->session_expiry;
    case MQTT_PROP_ASSIGNED_CLIENT_ID:
        return SAMEB(assigned_client_id);
    case MQTT_PROP_SERVER_KEEPALIVE:
        return a->server_keepalive == b->server_keepalive;
    case MQTT_PROP_AUTH_METHOD:
        return SAMEB(auth_method);
    case MQTT_PROP_AUTH_DATA:
        return SAMEB(auth_data) && SAMEB(auth_method);
    case MQTT_PROP_REQUEST_PROBLEM_INFO:
        return a->request_problem_info == b->request_problem_info;
    case MQTT_PROP_WILL_DELAY:
        return a->will_delay == b->will_delay;
    case MQTT_PROP_REQUEST_RESPONSE_INFO:
        return a->request_response_info == b->request_response_info;
    case MQTT_PROP_RESPONSE_INFO:
        return SAMEB(response_info);
    case MQTT_PROP_SERVER_REFERENCE:
        return SAMEB(server_reference);
    case MQTT_PROP_REASON_STRING:
        return SAMEB(reason_string);
    case MQTT_PROP_RECEIVE_MAX:
        return a->receive_max == b->receive_max;
    case MQTT_PROP_TOPIC_ALIAS_MAX:
        return a->topic_alias_max == b->topic_alias_max;
    case MQTT_PROP_TOPIC_ALIAS:
        return a->topic_alias == b->topic_alias;
    case MQTT_PROP_MAX_QOS:
        return a->max_qos == b->max_qos;
    case MQTT_PROP_RETAIN_AVAILABLE:
        return a->retain_available == b->retain_available;
    case MQTT_PROP_USER:
        return SAMEB(user);
    case MQTT_PROP_MAX_PACKET_SIZE:
        return a->max_packet_size == b->max_packet_size;
    case MQTT_PROP_WILDCARD_SUB_AVAILABLE:
        return a->wildcard_sub_available == b->wildcard_sub_available;
    case MQTT_PROP_SUB_ID_AVAILABLE:
        return a->sub_id_available == b->sub_id_available;
    case MQTT_PROP_SHARED_SUB_AVAILABLE:
        return a->shared_sub_available == b->shared_sub_available;
    }
    return 0;
#undef SAMEB
}

/* A valid v5 packet of `type` (0 = CONNECT with a will) carrying props p. */
static void make_packet(mqtt_packet *pkt, uint8_t type, const mqtt_props *p)
{
    static const uint8_t sub[] = {0, 1, 'x', 0};
    static const uint8_t unsub[] = {0, 1, 'x'};
    static const uint8_t codes[] = {0};
    memset(pkt, 0, sizeof *pkt);
    pkt->type = type ? type : MQTT_CONNECT;
    pkt->version = MQTT_V5;
    pkt->packet_id = 1;
    if (type == 0) {
        pkt->u.connect.will_flag = 1;
        pkt->u.connect.will_topic = B("w");
        pkt->u.connect.will_props = *p;
    } else {
        pkt->props = *p;
    }
    if (type == MQTT_PUBLISH) pkt->u.publish.topic = B("t");
    if (type == MQTT_SUBSCRIBE) pkt->u.subscribe.raw = BN(sub, sizeof sub);
    if (type == MQTT_UNSUBSCRIBE) pkt->u.unsubscribe.raw = BN(unsub, sizeof unsub);
    if (type == MQTT_SUBACK || type == MQTT_UNSUBACK) pkt->u.acks.raw = BN(codes, 1);
}

static void test_each_property_roundtrip(void)
{
    for (unsigned i = 0; i < sizeof where / sizeof where[0]; i++) {
        uint8_t id = where[i].id, type = where[i].type, buf[BUFSZ];
        mqtt_props p;
        mqtt_packet in, out;
        memset(&p, 0, sizeof p);
        set_prop(&p, id);
        make_packet(&in, type, &p);
        if (round_trip(&in, &out, buf) <= 0) {
            fprintf(stderr, "  property 0x%02x failed to round trip\n", id);
            continue;
        }
        const mqtt_props *got = type == 0 ? &out.u.connect.will_props : &out.props;
        if (!same_prop(&p, got, id)) {
            CHECK(0);
            fprintf(stderr, "  property 0x%02x differs after round trip\n", id);
        }
        CHECK_EQ(got->present, p.present);
        CHECK_EQ(mqtt_props_size(got), mqtt_props_size(&p));
    }
}

static void test_props_encode_exact(void)
{
    mqtt_props p;
    uint8_t buf[64];
    memset(&p, 0, sizeof p);
    p.present = MQTT_HAS(MQTT_PROP_RECEIVE_MAX) | MQTT_HAS(MQTT_PROP_SESSION_EXPIRY);
    p.receive_max = 20;
    p.session_expiry = 10;
    p.user = BN(user_run, sizeof user_run);
    static const uint8_t want[] = {16,   0x11, 0, 0,   0, 10, 0x21, 0,  20,
                                   0x26, 0,    1, 'k', 0, 2,  'v',  '1'};
    CHECK_EQ(mqtt_props_size(&p), 16);
    CHECK_EQ(mqtt_props_encode(&p, buf, sizeof buf), sizeof want);
    CHECK(memcmp(buf, want, sizeof want) == 0);
    memset(buf, 0xEE, sizeof buf);
    CHECK_EQ(mqtt_props_encode(&p, buf, 5), sizeof want);
    CHECK_EQ(buf[0], 0xEE);
    memset(&p, 0, sizeof p);
    CHECK_EQ(mqtt_props_size(&p), 0);
    CHECK_EQ(mqtt_props_encode(&p, buf, sizeof buf), 1);
    CHECK_EQ(buf[0], 0);
}

/* User properties keep their order, duplicates included, across interleaved properties. */
static void test_user_props_order(void)
{
    static const uint8_t block[] = {
        28,                                     /* property length */
        0x26, 0, 1, 'b', 0,   1, '1',           /* b=1 */
        0x1F, 0, 2, 'r', 's',                   /* reason string in between */
        0x26, 0, 1, 'a', 0,   1, '2',           /* a=2 */
        0x26, 0, 1, 'b', 0,   3, '3', '3', '3', /* b=333 (duplicate key) */
    };
    mqtt_props p;
    CHECK_EQ(sizeof block, 29);
    if (mqtt_props_decode(block, sizeof block, MQTT_PUBACK, 1, &p) != 29) {
        CHECK(0);
        return;
    }
    CHECK(bytes_is(p.reason_string, "rs"));
    CHECK(p.present & MQTT_HAS(MQTT_PROP_USER));
    const char *keys[] = {"b", "a", "b"}, *vals[] = {"1", "2", "333"};
    uint32_t off = 0;
    st_bytes k, v;
    for (int i = 0; i < 3; i++) {
        int more = mqtt_user_prop_next(p.user, &off, &k, &v);
        CHECK(more);
        CHECK(more && bytes_is(k, keys[i]) && bytes_is(v, vals[i]));
    }
    CHECK(!mqtt_user_prop_next(p.user, &off, &k, &v));

    /* re-encoding drops the interleaved reason string from the user run, keeps order */
    uint8_t buf[64];
    long n = mqtt_props_encode(&p, buf, sizeof buf);
    static const uint8_t want[] = {28,   0x1F, 0,   2,    'r', 's', 0x26, 0,   1,  'b',
                                   0,    1,    '1', 0x26, 0,   1,   'a',  0,   1,  '2',
                                   0x26, 0,    1,   'b',  0,   3,   '3',  '3', '3'};
    CHECK_EQ(n, sizeof want);
    CHECK(memcmp(buf, want, sizeof want) == 0);
    mqtt_props again;
    CHECK_EQ(mqtt_props_decode(buf, (size_t)n, MQTT_PUBACK, 1, &again), n);
    CHECK_EQ(again.user.len, 23); /* now contiguous: 7 + 7 + 9 bytes */
    off = 0;
    for (int i = 0; i < 3; i++) {
        int more = mqtt_user_prop_next(again.user, &off, &k, &v);
        CHECK(more && bytes_is(k, keys[i]) && bytes_is(v, vals[i]));
    }
}

/* Decode a property block of `body` (length varint prepended) in packet `type`. */
static long props_of(const uint8_t *body, uint8_t n, uint8_t type, uint8_t is_server)
{
    uint8_t buf[300];
    mqtt_props p;
    buf[0] = n;
    memcpy(buf + 1, body, n);
    return mqtt_props_decode(buf, (size_t)n + 1, type, is_server, &p);
}

static void test_property_errors(void)
{
    /* sanity: the helper accepts a valid block */
    CHECK_EQ(props_of((const uint8_t *)"\x21\x00\x05", 3, MQTT_CONNECT, 1), 4);
    /* unknown ids: malformed */
    CHECK_EQ(props_of((const uint8_t *)"\x04\x00", 2, MQTT_PUBLISH, 1), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x2B\x00", 2, MQTT_CONNACK, 0), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x81\x00\x00", 3, MQTT_PUBLISH, 1), ST_EMALFORMED);
    /* known id, wrong packet: malformed (MQTT 5 §2.2.2.2) */
    CHECK_EQ(props_of((const uint8_t *)"\x23\x00\x01", 3, MQTT_CONNECT, 1), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x24\x01", 2, MQTT_CONNECT, 1), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x18\x00\x00\x00\x01", 5, MQTT_CONNECT, 1), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x18\x00\x00\x00\x01", 5, 0, 1), 6); /* will: ok */
    CHECK_EQ(props_of((const uint8_t *)"\x01\x01", 2, MQTT_SUBSCRIBE, 1), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x26\x00\x00\x00\x00", 5, MQTT_PINGREQ, 1), ST_EMALFORMED);
    /* duplicates */
    CHECK_EQ(props_of((const uint8_t *)"\x21\x00\x05\x21\x00\x06", 6, MQTT_CONNECT, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x1F\x00\x00\x1F\x00\x00", 6, MQTT_PUBACK, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x0B\x01\x0B\x02", 4, MQTT_SUBSCRIBE, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x0B\x01\x0B\x02", 4, MQTT_PUBLISH, 0), 5);
    CHECK_EQ(
        props_of((const uint8_t *)"\x26\x00\x00\x00\x00\x26\x00\x00\x00\x00", 10, MQTT_PUBLISH, 1),
        11);
    /* subscription id: never from a client in PUBLISH, never 0, at most 8 kept */
    CHECK_EQ(props_of((const uint8_t *)"\x0B\x01", 2, MQTT_PUBLISH, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x0B\x00", 2, MQTT_SUBSCRIBE, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x0B\x01\x0B\x02\x0B\x03\x0B\x04\x0B\x05\x0B\x06\x0B"
                                       "\x07\x0B\x08\x0B\x09",
                      18, MQTT_PUBLISH, 0),
             ST_EFULL);
    /* forbidden values */
    CHECK_EQ(props_of((const uint8_t *)"\x21\x00\x00", 3, MQTT_CONNECT, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x27\x00\x00\x00\x00", 5, MQTT_CONNECT, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x23\x00\x00", 3, MQTT_PUBLISH, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x01\x02", 2, MQTT_PUBLISH, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x17\x02", 2, MQTT_CONNECT, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x19\x02", 2, MQTT_CONNECT, 1), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x24\x02", 2, MQTT_CONNACK, 0), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x25\x02", 2, MQTT_CONNACK, 0), ST_EPROTO);
    CHECK_EQ(props_of((const uint8_t *)"\x16\x00\x00", 3, MQTT_AUTH, 1), ST_EPROTO);
    /* framing: truncated value, length past the end, bad UTF-8 string, non-minimal varint */
    CHECK_EQ(props_of((const uint8_t *)"\x21\x00", 2, MQTT_CONNECT, 1), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x03\x00\x05\x61", 4, MQTT_PUBLISH, 1), ST_EMALFORMED);
    CHECK_EQ(props_of((const uint8_t *)"\x03\x00\x02\xC0\x80", 5, MQTT_PUBLISH, 1), ST_EUTF8);
    CHECK_EQ(props_of((const uint8_t *)"\x26\x00\x01\x00\x00\x00", 6, MQTT_PUBLISH, 1), ST_EUTF8);
    CHECK_EQ(props_of((const uint8_t *)"\x0B\x81\x00", 3, MQTT_SUBSCRIBE, 1), ST_EMALFORMED);
    /* correlation data is binary: a NUL byte is fine */
    CHECK_EQ(props_of((const uint8_t *)"\x09\x00\x01\x00", 4, MQTT_PUBLISH, 1), 5);
    uint8_t shortblk[] = {5, 0x21, 0, 1};
    mqtt_props p;
    CHECK_EQ(mqtt_props_decode(shortblk, sizeof shortblk, MQTT_CONNECT, 1, &p), ST_EMALFORMED);
}

/* Property errors surface through mqtt_decode too, in the right packets. */
static void test_property_errors_in_packets(void)
{
    mqtt_packet out;
    /* v5 PUBACK id 1, reason 0, props: topic alias (not allowed in PUBACK) */
    static const uint8_t puback[] = {0x40, 0x07, 0, 1, 0, 3, 0x23, 0, 1};
    CHECK_EQ(dec(puback, sizeof puback, srv(5), &out), ST_EMALFORMED);
    /* will properties are checked in the will context: will delay ok, topic alias not */
    static const uint8_t conn_ok[] = {0x10, 25,  0, 4,    'M', 'Q', 'T', 'T', 5, 0x04, 0,   0, 0, 0,
                                      1,    'c', 5, 0x18, 0,   0,   0,   9,   0, 1,    'w', 0, 0};
    CHECK_EQ(dec(conn_ok, sizeof conn_ok, srv(0), &out), sizeof conn_ok);
    CHECK_EQ(out.u.connect.will_props.will_delay, 9);
    CHECK_EQ(out.props.present, 0);
    static const uint8_t conn_bad[] = {0x10, 23, 0,   4, 'M',  'Q', 'T', 'T', 5, 0x04, 0, 0, 0,
                                       0,    1,  'c', 3, 0x23, 0,   1,   0,   1, 'w',  0, 0};
    CHECK_EQ(dec(conn_bad, sizeof conn_bad, srv(0), &out), ST_EMALFORMED);
    /* will delay in the CONNECT's own properties is not allowed */
    static const uint8_t conn_bad2[] = {0x10, 19, 0,    4, 'M', 'Q', 'T', 'T', 5, 0x00, 0,
                                        0,    5,  0x18, 0, 0,   0,   9,   0,   1, 'c'};
    CHECK_EQ(dec(conn_bad2, sizeof conn_bad2, srv(0), &out), ST_EMALFORMED);
}

int main(void)
{
    RUN(test_each_property_roundtrip);
    RUN(test_props_encode_exact);
    RUN(test_user_props_order);
    RUN(test_property_errors);
    RUN(test_property_errors_in_packets);
    return TEST_END();
}

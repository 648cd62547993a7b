/* test_mqtt_codec.c — round trips of every packet type (3.1 CONNECT, 3.1.1, 5.0), byte-exact
 * encodings checked against hand-assembled bytes from the spec, and the PUBLISH head path. */
#include "mqtt_test_util.h"

static const uint8_t V[] = {MQTT_V311, MQTT_V5};

static void test_connect_roundtrip(void)
{
    const uint8_t versions[] = {MQTT_V31, MQTT_V311, MQTT_V5};
    for (unsigned i = 0; i < sizeof versions; i++) {
        uint8_t buf[BUFSZ];
        mqtt_packet in, out;
        memset(&in, 0, sizeof in);
        in.type = MQTT_CONNECT;
        in.version = versions[i];
        mqtt_connect *c = &in.u.connect;
        c->clean_start = 1;
        c->will_flag = 1;
        c->will_qos = 2;
        c->will_retain = 1;
        c->has_username = c->has_password = 1;
        c->keepalive = 0x1234;
        c->client_id = B("client-\xc3\xa9");
        c->will_topic = B("will/t");
        c->will_payload = BN("\x00\x01\xff", 3);
        c->username = B("user");
        c->password = BN("p\x00w", 3);
        if (in.version == MQTT_V5) {
            in.props.present = MQTT_HAS(MQTT_PROP_SESSION_EXPIRY);
            in.props.session_expiry = 3600;
            c->will_props.present = MQTT_HAS(MQTT_PROP_WILL_DELAY);
            c->will_props.will_delay = 7;
        }
        if (round_trip(&in, &out, buf) <= 0) continue;
        const mqtt_connect *d = &out.u.connect;
        CHECK_EQ(d->level, in.version);
        CHECK(bytes_is(d->protocol_name, in.version == MQTT_V31 ? "MQIsdp" : "MQTT"));
        CHECK_EQ(d->clean_start, 1);
        CHECK_EQ(d->will_flag, 1);
        CHECK_EQ(d->will_qos, 2);
        CHECK_EQ(d->will_retain, 1);
        CHECK_EQ(d->has_username, 1);
        CHECK_EQ(d->has_password, 1);
        CHECK_EQ(d->keepalive, 0x1234);
        CHECK(bytes_is(d->client_id, "client-\xc3\xa9"));
        CHECK(bytes_is(d->will_topic, "will/t"));
        CHECK(d->will_payload.len == 3 && memcmp(d->will_payload.p, "\x00\x01\xff", 3) == 0);
        CHECK(bytes_is(d->username, "user"));
        CHECK(d->password.len == 3 && memcmp(d->password.p, "p\x00w", 3) == 0);
        if (in.version == MQTT_V5) {
            CHECK_EQ(out.props.present, MQTT_HAS(MQTT_PROP_SESSION_EXPIRY));
            CHECK_EQ(out.props.session_expiry, 3600);
            CHECK_EQ(d->will_props.present, MQTT_HAS(MQTT_PROP_WILL_DELAY));
            CHECK_EQ(d->will_props.will_delay, 7);
        } else {
            CHECK_EQ(out.props.present, 0);
        }
    }
}

static void test_connect_minimal(void)
{
    for (unsigned i = 0; i < sizeof V; i++) {
        uint8_t buf[BUFSZ];
        mqtt_packet in, out;
        memset(&in, 0, sizeof in);
        in.type = MQTT_CONNECT;
        in.version = V[i];
        in.u.connect.client_id = B("");
        if (round_trip(&in, &out, buf) <= 0) continue;
        CHECK_EQ(out.u.connect.client_id.len, 0);
        CHECK_EQ(out.u.connect.will_flag, 0);
        CHECK_EQ(out.u.connect.has_username, 0);
        CHECK_EQ(out.u.connect.clean_start, 0);
    }
    /* v5 allows a password without a user name */
    uint8_t buf[BUFSZ];
    mqtt_packet in, out;
    memset(&in, 0, sizeof in);
    in.type = MQTT_CONNECT;
    in.version = MQTT_V5;
    in.u.connect.client_id = B("c");
    in.u.connect.has_password = 1;
    in.u.connect.password = B("secret");
    if (round_trip(&in, &out, buf) > 0) {
        CHECK_EQ(out.u.connect.has_username, 0);
        CHECK(bytes_is(out.u.connect.password, "secret"));
    }
}

static void test_connack_roundtrip(void)
{
    for (unsigned i = 0; i < sizeof V; i++) {
        uint8_t buf[BUFSZ];
        mqtt_packet in, out;
        memset(&in, 0, sizeof in);
        in.type = MQTT_CONNACK;
        in.version = V[i];
        in.session_present = 1;
        in.reason =
            V[i] == MQTT_V5 ? MQTT_RC_NOT_AUTHORIZED : mqtt_connack_v3_code(MQTT_RC_NOT_AUTHORIZED);
        if (V[i] == MQTT_V5) {
            in.props.present =
                MQTT_HAS(MQTT_PROP_ASSIGNED_CLIENT_ID) | MQTT_HAS(MQTT_PROP_TOPIC_ALIAS_MAX);
            in.props.assigned_client_id = B("auto-1");
            in.props.topic_alias_max = 10;
        }
        long n = round_trip(&in, &out, buf);
        if (n <= 0) continue;
        CHECK_EQ(out.session_present, 1);
        CHECK_EQ(out.reason, in.reason);
        if (V[i] == MQTT_V5) {
            CHECK(bytes_is(out.props.assigned_client_id, "auto-1"));
            CHECK_EQ(out.props.topic_alias_max, 10);
        } else {
            CHECK_EQ(n, 4);
            CHECK_EQ(out.reason, MQTT_V3_NOT_AUTHORIZED);
        }
    }
}

static void test_publish_roundtrip(void)
{
    for (unsigned i = 0; i < sizeof V; i++) {
        for (uint8_t qos = 0; qos <= 2; qos++) {
            uint8_t buf[BUFSZ];
            mqtt_packet in, out;
            memset(&in, 0, sizeof in);
            in.type = MQTT_PUBLISH;
            in.version = V[i];
            in.packet_id = qos ? 0xBEEF : 0;
            in.u.publish.topic = B("a/b/c");
            in.u.publish.payload = BN("\x00hello", 6);
            in.u.publish.qos = qos;
            in.u.publish.retain = 1;
            in.u.publish.dup = qos > 0;
            if (V[i] == MQTT_V5) {
                in.props.present = MQTT_HAS(MQTT_PROP_MESSAGE_EXPIRY);
                in.props.message_expiry = 60;
            }
            if (round_trip(&in, &out, buf) <= 0) continue;
            CHECK(bytes_is(out.u.publish.topic, "a/b/c"));
            CHECK(out.u.publish.payload.len == 6 &&
                  memcmp(out.u.publish.payload.p, "\x00hello", 6) == 0);
            CHECK_EQ(out.u.publish.qos, qos);
            CHECK_EQ(out.u.publish.retain, 1);
            CHECK_EQ(out.u.publish.dup, qos > 0);
            CHECK_EQ(out.packet_id, qos ? 0xBEEF : 0);
            CHECK_EQ(out.flags, (qos > 0 ? 8 : 0) | qos << 1 | 1);
            if (V[i] == MQTT_V5) CHECK_EQ(out.props.message_expiry, 60);
        }
    }
    /* v5: empty topic with a topic alias, empty payload */
    uint8_t buf[BUFSZ];
    mqtt_packet in, out;
    memset(&in, 0, sizeof in);
    in.type = MQTT_PUBLISH;
    in.version = MQTT_V5;
    in.props.present = MQTT_HAS(MQTT_PROP_TOPIC_ALIAS);
    in.props.topic_alias = 3;
    if (round_trip(&in, &out, buf) > 0) {
        CHECK_EQ(out.u.publish.topic.len, 0);
        CHECK_EQ(out.u.publish.payload.len, 0);
        CHECK_EQ(out.props.topic_alias, 3);
    }
}

static void test_acks_roundtrip(void)
{
    const uint8_t types[] = {MQTT_PUBACK, MQTT_PUBREC, MQTT_PUBREL, MQTT_PUBCOMP};
    for (unsigned i = 0; i < sizeof V; i++) {
        for (unsigned t = 0; t < sizeof types; t++) {
            for (int variant = 0; variant < 3; variant++) {
                uint8_t buf[BUFSZ];
                mqtt_packet in, out;
                memset(&in, 0, sizeof in);
                in.type = types[t];
                in.version = V[i];
                in.packet_id = (uint16_t)(100 + t);
                if (V[i] == MQTT_V5 && variant >= 1) in.reason = MQTT_RC_NO_MATCHING_SUBSCRIBERS;
                if (V[i] == MQTT_V5 && variant == 2) {
                    in.props.present = MQTT_HAS(MQTT_PROP_REASON_STRING);
                    in.props.reason_string = B("why");
                }
                long n = round_trip(&in, &out, buf);
                if (n <= 0) continue;
                CHECK_EQ(out.packet_id, 100 + t);
                CHECK_EQ(out.reason, in.reason);
                CHECK_EQ(out.flags, types[t] == MQTT_PUBREL ? 2 : 0);
                if (V[i] != MQTT_V5 || variant == 0)
                    CHECK_EQ(n, 4); /* minimal form */
                else if (variant == 1)
                    CHECK_EQ(n, 5); /* reason only */
                else
                    CHECK(bytes_is(out.props.reason_string, "why"));
            }
        }
    }
}

static void test_subscribe_roundtrip(void)
{
    /* entries: "a/+" opts 0x01, "$share/g/x/#" opts 0x2E (v5 only bits) */
    static const uint8_t v3list[] = {0, 3, 'a', '/', '+', 0x01, 0, 3, 'x', '/', '#', 0x02};
    static const uint8_t v5list[] = {0,   3,   'a', '/', '+', 0x01, 0,   12,  '$', 's', 'h',
                                     'a', 'r', 'e', '/', 'g', '/',  'x', '/', '#', 0x2E};
    for (unsigned i = 0; i < sizeof V; i++) {
        uint8_t buf[BUFSZ];
        mqtt_packet in, out;
        memset(&in, 0, sizeof in);
        in.type = MQTT_SUBSCRIBE;
        in.version = V[i];
        in.packet_id = 7;
        in.u.subscribe.raw =
            V[i] == MQTT_V5 ? BN(v5list, sizeof v5list) : BN(v3list, sizeof v3list);
        in.u.subscribe.count = 2;
        if (V[i] == MQTT_V5) {
            in.props.n_sub_ids = 1;
            in.props.sub_ids[0] = 268435455;
        }
        if (round_trip(&in, &out, buf) <= 0) continue;
        CHECK_EQ(out.packet_id, 7);
        CHECK_EQ(out.flags, 2);
        CHECK_EQ(out.u.subscribe.count, 2);
        uint32_t off = 0;
        st_bytes f;
        mqtt_subopts so;
        CHECK(mqtt_sub_next(&out.u.subscribe, &off, &f, &so));
        CHECK(bytes_is(f, "a/+"));
        CHECK_EQ(so.qos, 1);
        CHECK_EQ(so.no_local + so.retain_as_published + so.retain_handling, 0);
        CHECK(mqtt_sub_next(&out.u.subscribe, &off, &f, &so));
        if (V[i] == MQTT_V5) {
            CHECK(bytes_is(f, "$share/g/x/#"));
            CHECK_EQ(so.qos, 2);
            CHECK_EQ(so.no_local, 1);
            CHECK_EQ(so.retain_as_published, 1);
            CHECK_EQ(so.retain_handling, 2);
            CHECK_EQ(out.props.n_sub_ids, 1);
            CHECK_EQ(out.props.sub_ids[0], 268435455);
        } else {
            CHECK(bytes_is(f, "x/#"));
            CHECK_EQ(so.qos, 2);
        }
        CHECK(!mqtt_sub_next(&out.u.subscribe, &off, &f, &so));
    }
}

static void test_unsubscribe_roundtrip(void)
{
    static const uint8_t list[] = {0, 3, 'a', '/', 'b', 0, 1, '#', 0, 0};
    for (unsigned i = 0; i < sizeof V; i++) {
        uint8_t buf[BUFSZ];
        mqtt_packet in, out;
        memset(&in, 0, sizeof in);
        in.type = MQTT_UNSUBSCRIBE;
        in.version = V[i];
        in.packet_id = 65535;
        in.u.unsubscribe.raw = BN(list, sizeof list);
        in.u.unsubscribe.count = 3;
        if (round_trip(&in, &out, buf) <= 0) continue;
        CHECK_EQ(out.packet_id, 65535);
        CHECK_EQ(out.u.unsubscribe.count, 3);
        uint32_t off = 0;
        st_bytes f;
        CHECK(mqtt_unsub_next(&out.u.unsubscribe, &off, &f) && bytes_is(f, "a/b"));
        CHECK(mqtt_unsub_next(&out.u.unsubscribe, &off, &f) && bytes_is(f, "#"));
        /* an empty filter is framing-valid; the broker rejects it per filter */
        CHECK(mqtt_unsub_next(&out.u.unsubscribe, &off, &f) && f.len == 0);
        CHECK(!mqtt_unsub_next(&out.u.unsubscribe, &off, &f));
        CHECK_EQ(mqtt_topic_filter_check(f.p, f.len), ST_ETOPIC);
    }
}

static void test_suback_unsuback_roundtrip(void)
{
    static const uint8_t codes[] = {0x00, 0x01, 0x02, 0x80};
    for (unsigned i = 0; i < sizeof V; i++) {
        const uint8_t types[] = {MQTT_SUBACK, MQTT_UNSUBACK};
        for (unsigned t = 0; t < 2; t++) {
            uint8_t buf[BUFSZ];
            mqtt_packet in, out;
            memset(&in, 0, sizeof in);
            in.type = types[t];
            in.version = V[i];
            in.packet_id = 9;
            in.u.acks.raw = BN(codes, sizeof codes);
            in.u.acks.count = sizeof codes;
            if (V[i] == MQTT_V5) {
                in.props.present = MQTT_HAS(MQTT_PROP_REASON_STRING);
                in.props.reason_string = B("r");
            }
            long n = round_trip(&in, &out, buf);
            if (n <= 0) continue;
            CHECK_EQ(out.packet_id, 9);
            if (types[t] == MQTT_UNSUBACK && V[i] != MQTT_V5) {
                CHECK_EQ(n, 4); /* 3.1.1 UNSUBACK: packet id only */
                CHECK_EQ(out.u.acks.count, 0);
                continue;
            }
            CHECK_EQ(out.u.acks.count, 4);
            CHECK(out.u.acks.raw.len == 4 && memcmp(out.u.acks.raw.p, codes, 4) == 0);
        }
    }
}

static void test_ping_disconnect_auth_roundtrip(void)
{
    const uint8_t types[] = {MQTT_PINGREQ, MQTT_PINGRESP, MQTT_DISCONNECT};
    for (unsigned i = 0; i < sizeof V; i++) {
        for (unsigned t = 0; t < sizeof types; t++) {
            uint8_t buf[BUFSZ];
            mqtt_packet in, out;
            memset(&in, 0, sizeof in);
            in.type = types[t];
            in.version = V[i];
            CHECK_EQ(round_trip(&in, &out, buf), 2);
            CHECK_EQ(buf[0], types[t] << 4);
            CHECK_EQ(buf[1], 0);
        }
    }
    uint8_t buf[BUFSZ];
    mqtt_packet in, out;
    memset(&in, 0, sizeof in);
    in.type = MQTT_DISCONNECT;
    in.version = MQTT_V5;
    in.reason = MQTT_RC_DISCONNECT_WITH_WILL;
    CHECK_EQ(round_trip(&in, &out, buf), 3);
    CHECK_EQ(out.reason, MQTT_RC_DISCONNECT_WITH_WILL);
    in.reason = MQTT_RC_SERVER_MOVED;
    in.props.present = MQTT_HAS(MQTT_PROP_SERVER_REFERENCE) | MQTT_HAS(MQTT_PROP_SESSION_EXPIRY);
    in.props.server_reference = B("other:1883");
    in.props.session_expiry = 5;
    if (round_trip(&in, &out, buf) > 0) {
        CHECK_EQ(out.reason, MQTT_RC_SERVER_MOVED);
        CHECK(bytes_is(out.props.server_reference, "other:1883"));
        CHECK_EQ(out.props.session_expiry, 5);
    }

    memset(&in, 0, sizeof in);
    in.type = MQTT_AUTH;
    in.version = MQTT_V5;
    CHECK_EQ(round_trip(&in, &out, buf), 2); /* success, no properties: empty body */
    in.reason = MQTT_RC_CONTINUE_AUTH;
    in.props.present = MQTT_HAS(MQTT_PROP_AUTH_METHOD) | MQTT_HAS(MQTT_PROP_AUTH_DATA);
    in.props.auth_method = B("SCRAM-SHA-1");
    in.props.auth_data = BN("\x01\x02", 2);
    if (round_trip(&in, &out, buf) > 0) {
        CHECK_EQ(out.reason, MQTT_RC_CONTINUE_AUTH);
        CHECK(bytes_is(out.props.auth_method, "SCRAM-SHA-1"));
        CHECK(out.props.auth_data.len == 2 && out.props.auth_data.p[1] == 2);
    }
    in.version = MQTT_V311;
    CHECK_EQ(mqtt_encode(&in, buf, sizeof buf), ST_EINVAL);
}

/* Byte-exact encodings, hand-assembled from the spec's field layouts. */
static void test_exact_bytes(void)
{
    uint8_t buf[BUFSZ];
    mqtt_packet p;

    /* 3.1.1 CONNECT, clean session, keepalive 60, client id "a" (§3.1 example layout) */
    static const uint8_t conn311[] = {0x10, 13,   0x00, 0x04, 'M',  'Q',  'T', 'T',
                                      0x04, 0x02, 0x00, 0x3C, 0x00, 0x01, 'a'};
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNECT;
    p.version = MQTT_V311;
    p.u.connect.clean_start = 1;
    p.u.connect.keepalive = 60;
    p.u.connect.client_id = B("a");
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), sizeof conn311);
    CHECK(memcmp(buf, conn311, sizeof conn311) == 0);

    /* 3.1 CONNECT uses "MQIsdp" level 3 */
    static const uint8_t conn31[] = {0x10, 15,   0x00, 0x06, 'M',  'Q',  'I',  's', 'd',
                                     'p',  0x03, 0x02, 0x00, 0x3C, 0x00, 0x01, 'a'};
    p.version = MQTT_V31;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), sizeof conn31);
    CHECK(memcmp(buf, conn31, sizeof conn31) == 0);

    /* v5 CONNECT with an empty property block */
    static const uint8_t conn5[] = {0x10, 14,   0x00, 0x04, 'M',  'Q',  'T',  'T',
                                    0x05, 0x02, 0x00, 0x3C, 0x00, 0x00, 0x01, 'a'};
    p.version = MQTT_V5;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), sizeof conn5);
    CHECK(memcmp(buf, conn5, sizeof conn5) == 0);

    /* 3.1.1 PUBLISH qos1 topic "a/b" id 10 payload "hi" */
    static const uint8_t pub[] = {0x32, 9, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'};
    memset(&p, 0, sizeof p);
    p.type = MQTT_PUBLISH;
    p.version = MQTT_V311;
    p.packet_id = 10;
    p.u.publish.qos = 1;
    p.u.publish.topic = B("a/b");
    p.u.publish.payload = B("hi");
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), sizeof pub);
    CHECK(memcmp(buf, pub, sizeof pub) == 0);

    /* v5 PUBLISH qos0 retain, topic alias 1, payload format 1 (ids in ascending order) */
    static const uint8_t pub5[] = {0x31, 11,   0x00, 0x01, 't', 0x05, 0x01,
                                   0x01, 0x23, 0x00, 0x01, 'x', 'y'};
    memset(&p, 0, sizeof p);
    p.type = MQTT_PUBLISH;
    p.version = MQTT_V5;
    p.u.publish.retain = 1;
    p.u.publish.topic = B("t");
    p.u.publish.payload = B("xy");
    p.props.present = MQTT_HAS(MQTT_PROP_TOPIC_ALIAS) | MQTT_HAS(MQTT_PROP_PAYLOAD_FORMAT);
    p.props.topic_alias = 1;
    p.props.payload_format = 1;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), sizeof pub5);
    CHECK(memcmp(buf, pub5, sizeof pub5) == 0);

    /* CONNACK 3.1.1 session present, accepted; v5 success with no properties */
    static const uint8_t ca3[] = {0x20, 0x02, 0x01, 0x00};
    static const uint8_t ca5[] = {0x20, 0x03, 0x00, 0x00, 0x00};
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNACK;
    p.version = MQTT_V311;
    p.session_present = 1;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), 4);
    CHECK(memcmp(buf, ca3, 4) == 0);
    p.version = MQTT_V5;
    p.session_present = 0;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), 5);
    CHECK(memcmp(buf, ca5, 5) == 0);

    /* PUBREL: fixed header flags 0x2; v5 with reason 0x92 */
    static const uint8_t rel[] = {0x62, 0x03, 0x00, 0x05, 0x92};
    memset(&p, 0, sizeof p);
    p.type = MQTT_PUBREL;
    p.version = MQTT_V5;
    p.packet_id = 5;
    p.reason = MQTT_RC_PACKET_ID_NOT_FOUND;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), 5);
    CHECK(memcmp(buf, rel, 5) == 0);

    /* SUBACK 3.1.1 id 1, codes 0x01 0x80 */
    static const uint8_t codes[] = {0x01, 0x80};
    static const uint8_t sa[] = {0x90, 0x04, 0x00, 0x01, 0x01, 0x80};
    memset(&p, 0, sizeof p);
    p.type = MQTT_SUBACK;
    p.version = MQTT_V311;
    p.packet_id = 1;
    p.u.acks.raw = BN(codes, 2);
    p.u.acks.count = 2;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), 6);
    CHECK(memcmp(buf, sa, 6) == 0);

    /* PINGREQ / v5 DISCONNECT normal: 2 bytes */
    memset(&p, 0, sizeof p);
    p.type = MQTT_PINGREQ;
    p.version = MQTT_V5;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), 2);
    CHECK(buf[0] == 0xC0 && buf[1] == 0x00);
}

static void test_publish_head(void)
{
    uint8_t buf[BUFSZ], whole[BUFSZ];
    mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_PUBLISH;
    p.version = MQTT_V5;
    p.packet_id = 77;
    p.u.publish.qos = 2;
    p.u.publish.topic = B("sensors/1");
    p.u.publish.payload = B("payload-bytes");
    p.props.present = MQTT_HAS(MQTT_PROP_CONTENT_TYPE);
    p.props.content_type = B("text/plain");
    p.props.n_sub_ids = 2;
    p.props.sub_ids[0] = 1;
    p.props.sub_ids[1] = 300;
    long n = mqtt_encode(&p, whole, sizeof whole);
    long h = mqtt_encode_publish_head(MQTT_V5, &p.u.publish, 77, &p.props, 13, buf, sizeof buf);
    CHECK(h > 0 && n == h + 13);
    CHECK(memcmp(buf, whole, (size_t)h) == 0);
    CHECK_EQ(mqtt_encode_publish_head(MQTT_V5, &p.u.publish, 77, &p.props, 13, buf, 3), h);
    /* v3.1.1 head with NULL props */
    p.version = MQTT_V311;
    n = mqtt_encode(&p, whole, sizeof whole);
    h = mqtt_encode_publish_head(MQTT_V311, &p.u.publish, 77, NULL, 13, buf, sizeof buf);
    CHECK(h > 0 && n == h + 13 && memcmp(buf, whole, (size_t)h) == 0);
    /* client mode decode of a PUBLISH with several subscription ids */
    p.version = MQTT_V5;
    n = mqtt_encode(&p, whole, sizeof whole);
    mqtt_packet out;
    CHECK_EQ(dec(whole, (size_t)n, cli(MQTT_V5), &out), n);
    CHECK_EQ(out.props.n_sub_ids, 2);
    CHECK_EQ(out.props.sub_ids[1], 300);
    /* ...which a client must not send */
    CHECK_EQ(dec(whole, (size_t)n, srv(MQTT_V5), &out), ST_EPROTO);
}

static void test_encode_invalid(void)
{
    uint8_t buf[64];
    mqtt_packet p;
    memset(&p, 0, sizeof p);
    p.type = MQTT_PUBLISH;
    p.version = MQTT_V311;
    p.u.publish.topic = B("t");
    p.u.publish.qos = 3;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), ST_EINVAL);
    p.u.publish.qos = 0;
    p.version = 6;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), ST_EINVAL);
    p.version = MQTT_V311;
    p.type = 0;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), ST_EINVAL);
    p.type = MQTT_PUBLISH;
    p.u.publish.topic.len = 70000; /* longer than a string can be */
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), ST_EINVAL);
    memset(&p, 0, sizeof p);
    p.type = MQTT_CONNECT;
    p.version = MQTT_V311;
    p.u.connect.will_flag = 1;
    p.u.connect.will_qos = 3;
    CHECK_EQ(mqtt_encode(&p, buf, sizeof buf), ST_EINVAL);
}

static void test_varint(void)
{
    const uint32_t vals[] = {0, 127, 128, 16383, 16384, 2097151, 2097152, 268435455};
    const int sizes[] = {1, 1, 2, 2, 3, 3, 4, 4};
    for (unsigned i = 0; i < 8; i++) {
        uint8_t b[8] = {0x10};
        CHECK_EQ(mqtt_varint_size(vals[i]), sizes[i]);
        CHECK_EQ(mqtt_varint_put(b + 1, vals[i]), sizes[i]);
        uint8_t tf;
        uint32_t rem;
        CHECK_EQ(mqtt_fixed_header(b, (size_t)sizes[i] + 1, &tf, &rem), sizes[i] + 1);
        CHECK_EQ(rem, vals[i]);
        CHECK_EQ(tf, 0x10);
        /* one byte short of the varint: need more */
        if (sizes[i] > 1) CHECK_EQ(mqtt_fixed_header(b, (size_t)sizes[i], &tf, &rem), 0);
    }
    static const uint8_t spec321[] = {0x30, 0xC1, 0x02}; /* 321 = 0xC1 0x02 */
    uint8_t tf;
    uint32_t rem;
    CHECK_EQ(mqtt_fixed_header(spec321, 3, &tf, &rem), 3);
    CHECK_EQ(rem, 321);
}

int main(void)
{
    RUN(test_connect_roundtrip);
    RUN(test_connect_minimal);
    RUN(test_connack_roundtrip);
    RUN(test_publish_roundtrip);
    RUN(test_acks_roundtrip);
    RUN(test_subscribe_roundtrip);
    RUN(test_unsubscribe_roundtrip);
    RUN(test_suback_unsuback_roundtrip);
    RUN(test_ping_disconnect_auth_roundtrip);
    RUN(test_exact_bytes);
    RUN(test_publish_head);
    RUN(test_encode_invalid);
    RUN(test_varint);
    return TEST_END();
}

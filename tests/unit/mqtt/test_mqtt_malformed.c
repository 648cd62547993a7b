/* test_mqtt_malformed.c — the decoder's rejections, one hand-written packet per rule: versions,
 * CONNECT flags, fixed-header flags, varints, packet ids, topics, SUBSCRIBE options, empty
 * lists, short forms, size limits, direction, trailing bytes. Each expects an exact code. */
#include "mqtt_test_util.h"

/* Decode the bytes with opts and expect result r. */
#define EXPECT(opts, r, ...)                                                                       \
    do {                                                                                           \
        static const uint8_t in_[] = {__VA_ARGS__};                                                \
        mqtt_packet o_;                                                                            \
        CHECK_EQ(dec(in_, sizeof in_, opts, &o_), r);                                              \
    } while (0)

#define OK_LEN(n) (n) /* readability: a successful decode returns the packet length */

static void test_connect_versions(void)
{
    mqtt_packet out;
    /* valid minimal CONNECTs: 3.1, 3.1.1, 5 */
    EXPECT(srv(0), OK_LEN(19), 0x10, 17, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0x02, 0, 60, 0, 3,
           'a', 'b', 'c');
    EXPECT(srv(0), OK_LEN(15), 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'a');
    EXPECT(srv(0), OK_LEN(16), 0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 1, 'a');
    /* wrong protocol name */
    EXPECT(srv(0), ST_EPROTO, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'X', 4, 0x02, 0, 60, 0, 1, 'a');
    EXPECT(srv(0), ST_EPROTO, 0x10, 13, 0, 4, 'm', 'q', 't', 't', 4, 0x02, 0, 60, 0, 1, 'a');
    /* unknown level: ST_EVERSION with the level reported */
    static const uint8_t lvl6[] = {0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 6, 0x02, 0, 60, 0, 1, 'a'};
    CHECK_EQ(dec(lvl6, sizeof lvl6, srv(0), &out), ST_EVERSION);
    CHECK_EQ(out.u.connect.level, 6);
    CHECK_EQ(out.type, MQTT_CONNECT);
    /* name/level mismatch */
    EXPECT(srv(0), ST_EVERSION, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 3, 0x02, 0, 60, 0, 1, 'a');
    EXPECT(srv(0), ST_EVERSION, 0x10, 17, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 4, 0x02, 0, 60, 0, 3,
           'a', 'b', 'c');
    /* a CONNECT is decoded with its own level even when the connection has one */
    static const uint8_t c5[] = {0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 60, 0, 0, 1, 'a'};
    CHECK_EQ(dec(c5, sizeof c5, srv(4), &out), sizeof c5);
    CHECK_EQ(out.version, 5);
}

static void test_connect_flags(void)
{
    /* reserved bit 0 */
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x03, 0, 60, 0, 1, 'a');
    /* will QoS 3 (with will flag, will topic and payload present) */
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 18, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x1E, 0, 60, 0, 1, 'a', 0,
           1, 't', 0, 0);
    /* will QoS / will retain without will flag */
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x0A, 0, 60, 0, 1, 'a');
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x22, 0, 60, 0, 1, 'a');
    /* will with QoS 2 + retain is fine */
    EXPECT(srv(0), OK_LEN(20), 0x10, 18, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x36, 0, 60, 0, 1, 'a', 0, 1,
           't', 0, 0);
    /* will topic with a wildcard */
    EXPECT(srv(0), ST_ETOPIC, 0x10, 18, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x06, 0, 60, 0, 1, 'a', 0, 1,
           '#', 0, 0);
    /* password without user name: malformed in 3.1 and 3.1.1, fine in 5 */
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x40, 0, 60, 0, 1, 'a', 0,
           1, 'p');
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 18, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 0x40, 0, 60, 0,
           1, 'a', 0, 1, 'p');
    EXPECT(srv(0), OK_LEN(19), 0x10, 17, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x40, 0, 60, 0, 0, 1, 'a', 0,
           1, 'p');
    /* user name flag set but user name missing; bad UTF-8 client id; trailing byte */
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x80, 0, 60, 0, 1, 'a');
    EXPECT(srv(0), ST_EUTF8, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 0xFF);
    EXPECT(srv(0), ST_EUTF8, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 0x00);
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 14, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'a',
           'z');
    /* client id length runs past the packet */
    EXPECT(srv(0), ST_EMALFORMED, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 2, 'a');
}

static void test_before_connect_and_direction(void)
{
    /* version 0: only CONNECT, rejected on the first byte already */
    EXPECT(srv(0), ST_EPROTO, 0x30);
    EXPECT(srv(0), ST_EPROTO, 0xC0, 0x00);
    EXPECT(srv(0), ST_EPROTO, 0x30, 0x03, 0, 1, 'a');
    EXPECT(srv(0), 0, 0x10); /* CONNECT, incomplete: need more */
    /* a client never sends CONNACK/SUBACK/UNSUBACK/PINGRESP; a server never CONNECT etc. */
    EXPECT(srv(4), ST_EPROTO, 0x20, 0x02, 0x00, 0x00);
    EXPECT(srv(4), ST_EPROTO, 0xD0, 0x00);
    EXPECT(srv(5), ST_EPROTO, 0x90, 0x03, 0x00, 0x01, 0x00);
    EXPECT(cli(4), ST_EPROTO, 0xC0, 0x00);
    EXPECT(cli(4), ST_EPROTO, 0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00);
    EXPECT(cli(4), ST_EPROTO, 0x10, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'a');
    EXPECT(cli(4), OK_LEN(2), 0xD0, 0x00);
    EXPECT(srv(4), OK_LEN(2), 0xC0, 0x00);
    /* AUTH exists only in v5 */
    EXPECT(srv(4), ST_EPROTO, 0xF0, 0x00);
    EXPECT(srv(5), OK_LEN(2), 0xF0, 0x00);
    EXPECT(srv(5), ST_EMALFORMED, 0xF0, 0x01, 0x18); /* AUTH: reason needs a property length */
    EXPECT(cli(5), OK_LEN(4), 0xF0, 0x02, 0x18, 0x00);
    /* reserved type 0 */
    EXPECT(srv(4), ST_EMALFORMED, 0x00, 0x00);
}

static void test_fixed_header_flags(void)
{
    EXPECT(srv(4), ST_EMALFORMED, 0x60, 0x02, 0x00, 0x01); /* PUBREL must be 0x2 */
    EXPECT(srv(4), OK_LEN(4), 0x62, 0x02, 0x00, 0x01);
    EXPECT(srv(4), ST_EMALFORMED, 0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00);
    EXPECT(srv(4), ST_EMALFORMED, 0x83, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00);
    EXPECT(srv(4), ST_EMALFORMED, 0xA0, 0x05, 0x00, 0x01, 0x00, 0x01, 'a');
    EXPECT(srv(4), ST_EMALFORMED, 0x42, 0x02, 0x00, 0x01); /* PUBACK must be 0x0 */
    EXPECT(srv(4), ST_EMALFORMED, 0xC1, 0x00);
    EXPECT(srv(4), ST_EMALFORMED, 0xE8, 0x00);
    EXPECT(srv(0), ST_EMALFORMED, 0x12, 13, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, 1, 'a');
    EXPECT(srv(4), ST_EMALFORMED, 0x36, 0x05, 0, 1, 'a', 0, 1); /* PUBLISH QoS 3 */
    EXPECT(srv(4), ST_EMALFORMED, 0x38, 0x03, 0, 1, 'a');       /* DUP with QoS 0 */
    EXPECT(srv(5), ST_EMALFORMED, 0x39, 0x04, 0, 1, 'a', 0);
    EXPECT(srv(4), ST_EMALFORMED, 0x36);                    /* rejected from the first byte alone */
    EXPECT(srv(4), OK_LEN(7), 0x3B, 0x05, 0, 1, 'a', 0, 1); /* DUP + QoS 1 + retain */
}

static void test_remaining_length(void)
{
    EXPECT(srv(4), ST_EMALFORMED, 0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F); /* 5 bytes */
    EXPECT(srv(4), ST_EMALFORMED, 0x30, 0xFF, 0xFF, 0xFF, 0xFF);
    EXPECT(srv(4), ST_EMALFORMED, 0xC0, 0x80, 0x00);       /* non-minimal 0 */
    EXPECT(srv(4), ST_EMALFORMED, 0x30, 0x83, 0x80, 0x00); /* non-minimal 3 */
    EXPECT(srv(4), 0, 0x30, 0xFF, 0xFF, 0xFF);             /* need more header */
    EXPECT(srv(4), 0, 0x30, 0xC1, 0x02, 0x00);             /* 321 bytes announced */
    uint8_t tf;
    uint32_t rem;
    static const uint8_t five[] = {0x30, 0x80, 0x80, 0x80, 0x80, 0x01};
    CHECK_EQ(mqtt_fixed_header(five, sizeof five, &tf, &rem), ST_EMALFORMED);
    CHECK_EQ(mqtt_fixed_header(five, 1, &tf, &rem), 0);
}

static void test_packet_id_zero(void)
{
    EXPECT(srv(4), ST_EPROTO, 0x32, 0x05, 0, 1, 'a', 0, 0);
    EXPECT(srv(5), ST_EPROTO, 0x34, 0x06, 0, 1, 'a', 0, 0, 0);
    EXPECT(srv(4), OK_LEN(5), 0x30, 0x03, 0, 1, 'a'); /* QoS 0 has no id */
    EXPECT(srv(4), ST_EPROTO, 0x82, 0x06, 0, 0, 0, 1, 'a', 0);
    EXPECT(srv(4), ST_EPROTO, 0xA2, 0x05, 0, 0, 0, 1, 'a');
    EXPECT(srv(4), ST_EPROTO, 0x40, 0x02, 0, 0);
    EXPECT(srv(4), ST_EPROTO, 0x50, 0x02, 0, 0);
    EXPECT(srv(4), ST_EPROTO, 0x62, 0x02, 0, 0);
    EXPECT(srv(5), ST_EPROTO, 0x70, 0x02, 0, 0);
    EXPECT(cli(4), ST_EPROTO, 0x90, 0x03, 0, 0, 0);
    EXPECT(cli(5), ST_EPROTO, 0xB0, 0x04, 0, 0, 0, 0);
}

static void test_publish_topic(void)
{
    mqtt_packet out;
    EXPECT(srv(4), ST_ETOPIC, 0x30, 0x05, 0, 3, 'a', '/', '+');
    EXPECT(srv(4), ST_ETOPIC, 0x30, 0x03, 0, 1, '#');
    EXPECT(srv(5), ST_ETOPIC, 0x30, 0x06, 0, 3, 'a', '#', 'b', 0);
    EXPECT(srv(4), ST_EUTF8, 0x30, 0x04, 0, 2, 0xC0, 0xAF); /* overlong '/' */
    EXPECT(srv(4), ST_EUTF8, 0x30, 0x04, 0, 2, 'a', 0x00);
    EXPECT(srv(4), ST_EUTF8, 0x30, 0x05, 0, 3, 0xED, 0xA0, 0x80); /* surrogate */
    EXPECT(srv(4), ST_EPROTO, 0x30, 0x04, 0, 0, 'x', 'y');        /* empty topic, 3.1.1 */
    EXPECT(srv(5), ST_EPROTO, 0x30, 0x03, 0, 0, 0);               /* v5, no alias */
    EXPECT(srv(5), OK_LEN(9), 0x30, 0x07, 0, 0, 3, 0x23, 0, 5, 'p');
    EXPECT(srv(5), ST_EMALFORMED, 0x30, 0x04, 0, 3, 'a', 'b'); /* topic past the end */
    EXPECT(srv(5), ST_EMALFORMED, 0x30, 0x03, 0, 1, 'a');      /* v5: no property length */
    /* payload is everything after the header, any bytes */
    static const uint8_t p[] = {0x30, 0x06, 0, 1, 'a', 0x00, 0xFF, 0xFE};
    CHECK_EQ(dec(p, sizeof p, srv(4), &out), sizeof p);
    CHECK(out.u.publish.payload.len == 3 && out.u.publish.payload.p == p + 5);
    /* payload format 1 with invalid UTF-8 payload: left to the broker */
    EXPECT(srv(5), OK_LEN(9), 0x30, 0x07, 0, 1, 'a', 2, 0x01, 0x01, 0xFF);
}

static void test_subscribe_rules(void)
{
    mqtt_packet out;
    EXPECT(srv(4), ST_EPROTO, 0x82, 0x02, 0, 1);    /* no entries */
    EXPECT(srv(5), ST_EPROTO, 0x82, 0x03, 0, 1, 0); /* no entries after properties */
    EXPECT(srv(5), ST_EMALFORMED, 0x82, 0x07, 0, 1, 0, 0, 1, 'a', 0x40); /* reserved bit 6 */
    EXPECT(srv(5), ST_EMALFORMED, 0x82, 0x07, 0, 1, 0, 0, 1, 'a', 0x80); /* reserved bit 7 */
    EXPECT(srv(5), ST_EMALFORMED, 0x82, 0x07, 0, 1, 0, 0, 1, 'a', 0x03); /* QoS 3 */
    EXPECT(srv(5), ST_EMALFORMED, 0x82, 0x07, 0, 1, 0, 0, 1, 'a', 0x30); /* retain handling 3 */
    EXPECT(srv(5), OK_LEN(9), 0x82, 0x07, 0, 1, 0, 0, 1, 'a', 0x2E);
    EXPECT(srv(4), ST_EMALFORMED, 0x82, 0x06, 0, 1, 0, 1, 'a', 0x04); /* v3: no No Local */
    EXPECT(srv(4), ST_EMALFORMED, 0x82, 0x06, 0, 1, 0, 1, 'a', 0x20);
    EXPECT(srv(4), ST_EMALFORMED, 0x82, 0x06, 0, 1, 0, 1, 'a', 0x03);
    EXPECT(srv(4), ST_EMALFORMED, 0x82, 0x05, 0, 1, 0, 1, 'a'); /* options byte missing */
    EXPECT(srv(4), ST_EUTF8, 0x82, 0x06, 0, 1, 0, 1, 0xFF, 0x00);
    /* semantically invalid filters decode; the broker answers per filter */
    static const uint8_t bad5[] = {0x82, 0x0D, 0,   1,   0,   0,   7,   '$',
                                   's',  'h',  'a', 'r', 'e', '/', 0x01};
    CHECK_EQ(dec(bad5, sizeof bad5, srv(5), &out), sizeof bad5);
    uint32_t off = 0;
    st_bytes f;
    mqtt_subopts so;
    CHECK(mqtt_sub_next(&out.u.subscribe, &off, &f, &so));
    CHECK_EQ(mqtt_topic_filter_check(f.p, f.len), ST_ETOPIC);
    static const uint8_t bad4[] = {0x82, 0x0F, 0,    1, 0, 5,   'a', '/', '#',
                                   '/',  'b',  0x01, 0, 2, 'x', '+', 0x00};
    CHECK_EQ(dec(bad4, sizeof bad4, srv(4), &out), sizeof bad4);
    CHECK_EQ(out.u.subscribe.count, 2);
}

static void test_unsubscribe_rules(void)
{
    EXPECT(srv(4), ST_EPROTO, 0xA2, 0x02, 0, 1);
    EXPECT(srv(5), ST_EPROTO, 0xA2, 0x03, 0, 1, 0);
    EXPECT(srv(4), OK_LEN(9), 0xA2, 0x07, 0, 1, 0, 3, 'a', '#', 'b'); /* syntax: broker's */
    EXPECT(srv(4), ST_EUTF8, 0xA2, 0x05, 0, 1, 0, 1, 0x80);
    EXPECT(srv(4), ST_EMALFORMED, 0xA2, 0x06, 0, 1, 0, 3, 'a', 'b');
}

static void test_short_forms(void)
{
    mqtt_packet out;
    /* v5 acks: 2 bytes = success, 3 = reason only, 4+ = reason + properties */
    static const uint8_t a2[] = {0x40, 0x02, 0, 9};
    CHECK_EQ(dec(a2, sizeof a2, srv(5), &out), 4);
    CHECK_EQ(out.reason, 0);
    static const uint8_t a3[] = {0x50, 0x03, 0, 9, 0x10};
    CHECK_EQ(dec(a3, sizeof a3, srv(5), &out), 5);
    CHECK_EQ(out.reason, 0x10);
    EXPECT(srv(5), ST_EMALFORMED, 0x40, 0x05, 0, 9, 0x10, 0x02, 0x1F); /* props cut */
    EXPECT(srv(4), ST_EMALFORMED, 0x40, 0x03, 0, 9, 0x10);             /* v3: exactly 2 */
    /* DISCONNECT: v3 empty only; v5 0, 1 or more bytes */
    EXPECT(srv(4), ST_EMALFORMED, 0xE0, 0x01, 0x00);
    static const uint8_t d1[] = {0xE0, 0x01, 0x04};
    CHECK_EQ(dec(d1, sizeof d1, srv(5), &out), 3);
    CHECK_EQ(out.reason, 0x04);
    static const uint8_t d0[] = {0xE0, 0x00};
    CHECK_EQ(dec(d0, sizeof d0, srv(5), &out), 2);
    CHECK_EQ(out.reason, 0);
    EXPECT(srv(5), ST_EMALFORMED, 0xE0, 0x06, 0x00, 0x04, 0x11, 0, 0, 0); /* value cut */
    EXPECT(srv(5), OK_LEN(9), 0xE0, 0x07, 0x00, 0x05, 0x11, 0, 0, 0, 1);
    /* PING with a body */
    EXPECT(srv(4), ST_EMALFORMED, 0xC0, 0x01, 0x00);
    EXPECT(cli(5), ST_EMALFORMED, 0xD0, 0x01, 0x00);
    /* 3.1.1 UNSUBACK has no payload; SUBACK needs at least one code */
    EXPECT(cli(4), ST_EMALFORMED, 0xB0, 0x03, 0, 1, 0);
    EXPECT(cli(4), OK_LEN(4), 0xB0, 0x02, 0, 1);
    EXPECT(cli(4), ST_EPROTO, 0x90, 0x02, 0, 1);
    EXPECT(cli(5), ST_EPROTO, 0xB0, 0x03, 0, 1, 0);
    /* CONNACK: reserved acknowledge flags; v3 exact length; v5 needs property length */
    EXPECT(cli(4), ST_EMALFORMED, 0x20, 0x02, 0x02, 0x00);
    EXPECT(cli(4), ST_EMALFORMED, 0x20, 0x03, 0x00, 0x00, 0x00);
    EXPECT(cli(5), ST_EMALFORMED, 0x20, 0x02, 0x00, 0x00);
    EXPECT(cli(5), OK_LEN(5), 0x20, 0x03, 0x01, 0x00, 0x00);
}

static void test_size_limit(void)
{
    mqtt_dec_opts o = srv(4);
    o.max_packet_size = 10;
    mqtt_packet out;
    /* header announces 100 bytes: too large, although only 3 bytes are here */
    static const uint8_t big[] = {0x30, 100, 0};
    CHECK_EQ(mqtt_decode(big, sizeof big, &o, &out), ST_ETOOLARGE);
    static const uint8_t at[] = {0x30, 8, 0, 1, 'a', 1, 2, 3, 4, 5}; /* exactly 10 */
    CHECK_EQ(mqtt_decode(at, sizeof at, &o, &out), 10);
    static const uint8_t over[] = {0x30, 9, 0, 1, 'a', 1, 2, 3, 4, 5, 6}; /* 11 */
    CHECK_EQ(mqtt_decode(over, 2, &o, &out), ST_ETOOLARGE);
    o.max_packet_size = 0; /* protocol max */
    CHECK_EQ(mqtt_decode(big, sizeof big, &o, &out), 0);
}

int main(void)
{
    RUN(test_connect_versions);
    RUN(test_connect_flags);
    RUN(test_before_connect_and_direction);
    RUN(test_fixed_header_flags);
    RUN(test_remaining_length);
    RUN(test_packet_id_zero);
    RUN(test_publish_topic);
    RUN(test_subscribe_rules);
    RUN(test_unsubscribe_rules);
    RUN(test_short_forms);
    RUN(test_size_limit);
    return TEST_END();
}

/* test_mqtt_validate.c — UTF-8 rules, topic name and topic filter syntax ($share, $queue), and the
 * reason-code mappings of reason.c. */
#include "mqtt_test_util.h"

static int utf8(const char *s, uint32_t n)
{
    return mqtt_utf8_check((const uint8_t *)s, n);
}

static int name(const char *s)
{
    return mqtt_topic_name_check((const uint8_t *)s, (uint32_t)strlen(s));
}

static int filt(const char *s)
{
    return mqtt_topic_filter_check((const uint8_t *)s, (uint32_t)strlen(s));
}

static void test_utf8(void)
{
    CHECK_EQ(utf8("", 0), 0);
    CHECK_EQ(utf8("plain ascii", 11), 0);
    CHECK_EQ(utf8("\xC3\xA9", 2), 0);                /* U+00E9 */
    CHECK_EQ(utf8("\xE2\x82\xAC", 3), 0);            /* U+20AC */
    CHECK_EQ(utf8("\xEF\xBB\xBF", 3), 0);            /* BOM is allowed [MQTT-1.5.4-3] */
    CHECK_EQ(utf8("\xED\x9F\xBF", 3), 0);            /* U+D7FF, just below surrogates */
    CHECK_EQ(utf8("\xEE\x80\x80", 3), 0);            /* U+E000, just above */
    CHECK_EQ(utf8("\xF0\x9F\x98\x80", 4), 0);        /* U+1F600 */
    CHECK_EQ(utf8("\xF4\x8F\xBF\xBF", 4), 0);        /* U+10FFFF */
    CHECK_EQ(utf8("\x01\x1F\x7F", 3), 0);            /* control chars: SHOULD NOT, not MUST */
    CHECK_EQ(utf8("a\0b", 3), ST_EUTF8);             /* U+0000 */
    CHECK_EQ(utf8("\xC0\x80", 2), ST_EUTF8);         /* overlong U+0000 */
    CHECK_EQ(utf8("\xC1\xBF", 2), ST_EUTF8);         /* overlong */
    CHECK_EQ(utf8("\xE0\x80\xAF", 3), ST_EUTF8);     /* overlong '/' */
    CHECK_EQ(utf8("\xE0\x9F\xBF", 3), ST_EUTF8);     /* overlong U+07FF */
    CHECK_EQ(utf8("\xF0\x8F\xBF\xBF", 4), ST_EUTF8); /* overlong U+FFFF */
    CHECK_EQ(utf8("\xED\xA0\x80", 3), ST_EUTF8);     /* U+D800 */
    CHECK_EQ(utf8("\xED\xBF\xBF", 3), ST_EUTF8);     /* U+DFFF */
    CHECK_EQ(utf8("\xF4\x90\x80\x80", 4), ST_EUTF8); /* U+110000 */
    CHECK_EQ(utf8("\xF5\x80\x80\x80", 4), ST_EUTF8);
    CHECK_EQ(utf8("\xFF", 1), ST_EUTF8);
    CHECK_EQ(utf8("\x80", 1), ST_EUTF8); /* lone continuation */
    CHECK_EQ(utf8("\xC3", 1), ST_EUTF8); /* truncated */
    CHECK_EQ(utf8("\xE2\x82", 2), ST_EUTF8);
    CHECK_EQ(utf8("\xF0\x9F\x98", 3), ST_EUTF8);
    CHECK_EQ(utf8("\xC3\x28", 2), ST_EUTF8); /* bad continuation */
    CHECK_EQ(utf8("\xE2\x28\xA1", 3), ST_EUTF8);
    /* the length bounds the check: a bad byte past it is not looked at */
    CHECK_EQ(utf8("ab\xFF", 2), 0);
}

static void test_topic_name(void)
{
    CHECK_EQ(name("a"), 0);
    CHECK_EQ(name("a/b/c"), 0);
    CHECK_EQ(name("/"), 0);
    CHECK_EQ(name("a//b/"), 0);
    CHECK_EQ(name("$SYS/uptime"), 0);
    CHECK_EQ(name("caf\xC3\xA9"), 0);
    CHECK_EQ(name(""), ST_ETOPIC);
    CHECK_EQ(name("a/+"), ST_ETOPIC);
    CHECK_EQ(name("a/#"), ST_ETOPIC);
    CHECK_EQ(name("a+b"), ST_ETOPIC);
    CHECK_EQ(name("#"), ST_ETOPIC);
    CHECK_EQ(name("a/\xC0\xAF"), ST_EUTF8);
}

static void test_topic_filter(void)
{
    const char *good[] = {"a",
                          "#",
                          "+",
                          "a/b",
                          "a/+/c",
                          "a/#",
                          "+/+",
                          "/+",
                          "+/",
                          "/#",
                          "a//b",
                          "$SYS/#",
                          "+/tennis/#",
                          "sport/+/player1",
                          "$share/g/a/b",
                          "$share/g/#",
                          "$share/grp/+/x",
                          "$share/g//",
                          "$queue/a/#",
                          "$queue/+",
                          "$share",
                          "$sharex/a",
                          "$queue",
                          "a/$share/b/c"};
    for (unsigned i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (filt(good[i]) != 0) {
            CHECK(0);
            fprintf(stderr, "  filter \"%s\" should be valid\n", good[i]);
        }
    }
    const char *bad[] = {
        "",           "a#",          "a/#/b",     "#/",          "##",          "a/b#",
        "a+",         "+a",          "a/+b/c",    "a/b+",        "++",          "$share/",
        "$share//a",  "$share/g",    "$share/g/", "$share/g+/a", "$share/g#/a", "$share/+/a",
        "$share/#/a", "$share/g/a#", "$queue/",   "$queue/a/#/b"};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (filt(bad[i]) != ST_ETOPIC) {
            CHECK(0);
            fprintf(stderr, "  filter \"%s\" should be ST_ETOPIC, got %d\n", bad[i], filt(bad[i]));
        }
    }
    CHECK_EQ(filt("a/\xED\xA0\x80"), ST_EUTF8);
    CHECK_EQ(mqtt_topic_filter_check((const uint8_t *)"a\0b", 3), ST_EUTF8);
}

static void test_reason_mapping(void)
{
    CHECK_EQ(mqtt_err_reason(0), MQTT_RC_SUCCESS);
    CHECK_EQ(mqtt_err_reason(ST_EMALFORMED), 0x81);
    CHECK_EQ(mqtt_err_reason(ST_EUTF8), 0x81);
    CHECK_EQ(mqtt_err_reason(ST_EPROTO), 0x82);
    CHECK_EQ(mqtt_err_reason(ST_ETOOLARGE), 0x95);
    CHECK_EQ(mqtt_err_reason(ST_ETOPIC), 0x90);
    CHECK_EQ(mqtt_err_reason(ST_EVERSION), 0x84);
    CHECK_EQ(mqtt_err_reason(ST_EFULL), 0x97);
    CHECK_EQ(mqtt_err_reason(ST_ENOMEM), 0x89);
    CHECK_EQ(mqtt_err_reason(ST_EIO), 0x80);
    CHECK_EQ(mqtt_err_reason(-1), 0x80);

    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_SUCCESS), MQTT_V3_ACCEPTED);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_UNSUPPORTED_VERSION), MQTT_V3_BAD_VERSION);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_CLIENT_ID_INVALID), MQTT_V3_ID_REJECTED);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_SERVER_UNAVAILABLE), MQTT_V3_SERVER_UNAVAILABLE);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_SERVER_BUSY), MQTT_V3_SERVER_UNAVAILABLE);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_BAD_USER_OR_PASS), MQTT_V3_BAD_USER_OR_PASS);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_NOT_AUTHORIZED), MQTT_V3_NOT_AUTHORIZED);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_BANNED), MQTT_V3_NOT_AUTHORIZED);
    CHECK_EQ(mqtt_connack_v3_code(MQTT_RC_UNSPECIFIED), MQTT_V3_SERVER_UNAVAILABLE);

    CHECK_STR(mqtt_type_name(MQTT_CONNECT), "CONNECT");
    CHECK_STR(mqtt_type_name(MQTT_PUBLISH), "PUBLISH");
    CHECK_STR(mqtt_type_name(MQTT_UNSUBACK), "UNSUBACK");
    CHECK_STR(mqtt_type_name(MQTT_AUTH), "AUTH");
    CHECK_STR(mqtt_type_name(0), "?");
    CHECK_STR(mqtt_type_name(16), "?");
    CHECK_STR(mqtt_type_name(255), "?");
}

int main(void)
{
    RUN(test_utf8);
    RUN(test_topic_name);
    RUN(test_topic_filter);
    RUN(test_reason_mapping);
    return TEST_END();
}
